"""The repository is self-contained: a copy of it alone, with nothing beside it, collects every
test, and no file in it points outside the repository at the shared checkout."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Collection takes ~10 s on an idle machine; the limit leaves room for a busy CI runner.
COLLECT_TIMEOUT = 120
MIN_TESTS = 1000
# Built from parts so that this file does not match itself.
FORBIDDEN = (b"../" + b"shared", b"/work/" + b"shared")
IGNORED = (
    ".git",
    "__pycache__",
    "*.pyc",
    "*.egg-info",
    "evidence-data",
    "node_modules",
    ".venv",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    ".import_linter_cache",
    ".benchmarks",
    "build",
    "dist",
)


def _git_files() -> list[str] | None:
    """Tracked plus untracked-but-not-ignored files (what the next commit can hold), or None
    when this is not a git work tree."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        return None
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=False,
        timeout=60,
    )
    if listing.returncode != 0:
        return None
    return sorted({name for name in listing.stdout.decode().split("\0") if name})


def _copy_repository(dest: Path) -> Path:
    files = _git_files()
    if files is None:
        shutil.copytree(ROOT, dest, symlinks=True, ignore=shutil.ignore_patterns(*IGNORED))
        return dest
    dest.mkdir()
    for name in files:
        source = ROOT / name
        if not source.exists() and not source.is_symlink():
            continue  # deleted in the work tree, not yet committed
        if any(part in {"node_modules", "__pycache__"} for part in Path(name).parts):
            continue
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)
    return dest


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository copied alone into a fresh directory (no ``shared`` beside it)."""
    dest = _copy_repository(tmp_path_factory.mktemp("self-contained") / "repo")
    assert [p.name for p in dest.parent.iterdir()] == ["repo"]  # nothing beside it
    return dest


def _env(copy: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    # The project is pip-installed in editable mode pointing at the original tree; PYTHONPATH puts
    # the copy first so the copy's packages are the ones imported.
    env["PYTHONPATH"] = os.pathsep.join([str(copy), *filter(None, [env.get("PYTHONPATH")])])
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def test_copy_imports_its_own_packages(copy: Path) -> None:
    probe = "import chain, evidence_service, signing, storage; print(chain.__file__)"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=copy,
        env=_env(copy),
        capture_output=True,
        text=True,
        timeout=COLLECT_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).resolve().is_relative_to(copy.resolve())


def test_copy_collects_every_test(copy: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=copy,
        env=_env(copy),
        capture_output=True,
        text=True,
        timeout=COLLECT_TIMEOUT,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    summary = [line for line in result.stdout.splitlines() if " collected" in line]
    assert summary, output[-4000:]
    assert "error" not in summary[-1].lower(), output[-4000:]
    match = re.match(r"(\d+) tests? collected", summary[-1].strip())
    assert match, summary[-1]
    assert int(match.group(1)) > MIN_TESTS, summary[-1]


def test_copy_reads_its_own_merkle_vectors(copy: Path) -> None:
    """The RFC 6962 vectors are read from the copy (a missing folder only fails at run time)."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "vector"]
        + ["tests/chain/test_merkle.py"],
        cwd=copy,
        env=_env(copy),
        capture_output=True,
        text=True,
        timeout=COLLECT_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    passed = re.search(r"(\d+) passed", result.stdout)
    assert passed and int(passed.group(1)) >= 196, result.stdout[-2000:]  # 98 + 98 vectors


def test_no_file_points_at_the_shared_checkout(copy: Path) -> None:
    """No file, code or docs, names the shared checkout beside the repository."""
    offenders = []
    for path in sorted(copy.rglob("*")):
        if path.is_symlink() or not path.is_file() or ".git" in path.relative_to(copy).parts:
            continue
        data = path.read_bytes()
        if not any(needle in data for needle in FORBIDDEN):
            continue
        for number, line in enumerate(data.splitlines(), start=1):
            offenders += [
                f"{path.relative_to(copy)}:{number}: {needle.decode()}"
                for needle in FORBIDDEN
                if needle in line
            ]
    assert not offenders, "files pointing outside the repository:\n" + "\n".join(offenders)
