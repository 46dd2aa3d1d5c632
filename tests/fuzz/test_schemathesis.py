"""Schema-based fuzzing: schemathesis against /openapi.json of a real server, as each role.

Every answer must be documented (status code, content type, JSON schema) and none may be a
server error. The seed is fixed; the time budget is ``EVIDENCE_FUZZ_SECONDS`` per role (70 s
in CI for seven roles, 20 s otherwise), so the whole run stays within the 10 minutes CI allows
it. The server runs its anchoring worker, so the embedded chain answers ``/chain/rpc``. The figures
(requests, 5xx, violations) are printed for the record.

Operations that would revoke the fuzzing caller's own credentials are left out: revoking one's
own token or disabling one's own account is allowed, and would turn the rest of the run into
401s that test nothing.
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.live_server import LiveServer, make_live_server

SEED = 20261203
ROLES = ["anonymous", "officer", "reviewer", "penalty", "court", "auditor", "admin"]
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
]
#: Operations that take the caller's own credentials away (see the module docstring).
EXCLUDED = [
    ("DELETE", "/api/v1/tokens/{token_id}"),
    ("PATCH", "/api/v1/officers/{officer_id}"),
]


def budget_seconds() -> int:
    default = 70 if os.environ.get("CI") else 20
    return int(os.environ.get("EVIDENCE_FUZZ_SECONDS", default))


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Any:
    tmp_path = tmp_path_factory.mktemp("fuzz")
    server = make_live_server(
        tmp_path, request, "sqlite-local", rate_limits=False, anchor_worker=True
    )
    server.start()
    yield server
    server.stop()


def run_schemathesis(server: LiveServer, role: str, report_dir: Path) -> Path:
    headers = (
        []
        if role == "anonymous"
        else ["-H", f"Authorization: Bearer {server.users[role]['token']}"]
    )
    excluded: list[str] = []
    for method, path in EXCLUDED:
        excluded += ["--exclude-by", f'method == "{method}" and path == "{path}"']
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        server.url + "/openapi.json",
        *headers,
        "--checks",
        ",".join(CHECKS),
        "--seed",
        str(SEED),
        "--phases",
        "examples,coverage,fuzzing",
        "--max-time",
        str(budget_seconds()),
        "--max-examples",
        "50",
        "--workers",
        "2",
        "--request-timeout",
        "60",
        "--generation-database",
        "none",  # the seed alone decides what is sent
        "--no-color",
        "--output-sanitize",
        "false",
        "--report",
        "ndjson",
        "--report-dir",
        str(report_dir),
        *excluded,
    ]
    subprocess.run(command, check=False, capture_output=True, timeout=budget_seconds() + 240)
    [report] = report_dir.glob("*.ndjson")
    return report


def tally(report: Path) -> dict[str, Any]:
    """Requests, status codes and failed checks (with one example each) from the report."""
    statuses: collections.Counter[int] = collections.Counter()
    failures: dict[str, list[str]] = collections.defaultdict(list)
    for line in report.read_text().splitlines():
        event = json.loads(line)
        finished = event.get("ScenarioFinished")
        if not finished or "interactions" not in finished["recorder"]:
            continue
        recorder = finished["recorder"]
        interactions = recorder["interactions"]
        for interaction in interactions.values():
            if interaction.get("response"):
                statuses[interaction["response"]["status_code"]] += 1
        for case_id, checks in recorder["checks"].items():
            for check in checks:
                if check["status"] == "failure":
                    seen = interactions.get(case_id, {})
                    request, response = seen.get("request", {}), seen.get("response") or {}
                    failures[check["name"]].append(
                        f"{request.get('method')} {request.get('uri')} -> "
                        f"{response.get('status_code')}: {check.get('failure_info') or ''}"[:400]
                    )
    return {"requests": sum(statuses.values()), "statuses": statuses, "failures": failures}


@pytest.mark.parametrize("role", ROLES)
def test_no_server_error_and_every_answer_documented(
    fuzzed_server: LiveServer, role: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = tally(run_schemathesis(fuzzed_server, role, tmp_path))
    server_errors = sum(n for status, n in result["statuses"].items() if status >= 500)
    with capsys.disabled():  # the figures belong in every run's output, not only a failure's
        print(
            f"\nschemathesis as {role}: {result['requests']} requests, {server_errors} 5xx, "
            f"failed checks { ({name: len(f) for name, f in result['failures'].items()}) }"
        )
    assert result["requests"] > 100
    summary = {name: found[:3] for name, found in result["failures"].items()}
    assert server_errors == 0 and not summary, json.dumps(summary, indent=1, ensure_ascii=False)
