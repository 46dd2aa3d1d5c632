"""Run the web app's ES modules under Node (the same engine family as Chromium) to test them
against the Python implementations: a test writes a small runner script and hands it a JSON
file of tasks; the runner prints a JSON answer."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

JS = Path(__file__).resolve().parents[2] / "evidence_service" / "web" / "static" / "js"
NODE = shutil.which("node")

#: Marks a module of tests that need `node` on PATH (Node.js 20+; it is here and in CI).
requires_node = pytest.mark.skipif(
    NODE is None, reason="`node` (Node.js 20+) is not on PATH: cannot run the page's modules"
)


def run_node(runner: Path, target: str, tasks: Any, *, timeout: float = 120) -> Any:
    """``node RUNNER TARGET TASKS.json`` (the tasks written beside the runner); the parsed
    JSON the runner prints. A failing runner fails the test with Node's stderr."""
    assert NODE is not None
    tasks_path = runner.with_name(f"{runner.stem}-tasks.json")
    tasks_path.write_text(json.dumps(tasks))
    completed = subprocess.run(
        [NODE, str(runner), target, str(tasks_path)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert completed.returncode == 0, f"node failed:\n{completed.stderr}"
    return json.loads(completed.stdout)
