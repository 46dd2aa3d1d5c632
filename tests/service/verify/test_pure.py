"""``evidence_service.verify`` is pure: with SQLAlchemy, SQLModel, FastAPI, Starlette and uvicorn
made unimportable, a full proof verification and a full package verification still pass, in the
library and through ``evidence verify`` / ``evidence verify-package``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.fixtures.service import Api
from tests.service.anchoring_helpers import chain_rpc_url, proof_of
from tests.service.transfer.test_packages import build_package, trust_file

BLOCKED = ("sqlalchemy", "sqlmodel", "fastapi", "starlette", "uvicorn")
ROOT = Path(__file__).resolve().parents[3]

BLOCKER = textwrap.dedent(
    f"""
    import importlib.abc
    import sys

    BLOCKED = {BLOCKED!r}


    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{{name}} is blocked: the verifier must not need it")
            return None


    assert not [m for m in sys.modules if m.split(".")[0] in BLOCKED]
    sys.meta_path.insert(0, Blocker())
    """
)

LIBRARY = textwrap.dedent(
    """
    import json
    from pathlib import Path

    from web3 import HTTPProvider, Web3

    import evidence_service.verify as verify
    from evidence_service.verify.audit import load_pins

    rpc, proof, file, package, trust = sys.argv[1:6]
    w3 = Web3(HTTPProvider(rpc, request_kwargs={"timeout": 10}))
    pins = load_pins(Path(trust), None, None)
    document = verify.ProofDocument.from_json(Path(proof).read_bytes())
    content = verify.Content.of_chunks([Path(file).read_bytes()])
    proved = verify.proof_verdict(document, content, w3=w3, pins=pins)
    packaged = verify.package_verdict(Path(package), w3=w3, pins=pins)
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
    print(json.dumps({"proof": proved.as_json(), "package": packaged.as_json(), "loaded": loaded}))
    """
)

CLI = textwrap.dedent(
    """
    import runpy

    sys.argv = ["evidence", *sys.argv[1:]]
    runpy.run_module("evidence_service.cli", run_name="__main__")
    """
)


def run_blocked(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-c", BLOCKER + code, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )


def test_the_blocker_blocks() -> None:
    done = run_blocked("import sqlalchemy.orm\n")
    assert done.returncode != 0 and "is blocked" in done.stderr


def test_proofs_and_packages_verify_without_database_or_web_stack(
    anchored: Api, tmp_path: Path
) -> None:
    built = build_package(anchored)  # waits until every item (and the list) is anchored
    package = tmp_path / "package.zip"
    package.write_bytes(built.zip_bytes)
    evidence_id = built.ids[0]
    proof = tmp_path / "proof.json"
    proof.write_text(json.dumps(proof_of(anchored, evidence_id)))
    file = tmp_path / "item.bin"
    file.write_bytes(built.contents[evidence_id])
    trust = str(trust_file(anchored, tmp_path))

    with chain_rpc_url(anchored) as rpc:
        done = run_blocked(LIBRARY, rpc, str(proof), str(file), str(package), trust)
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        assert result["loaded"] == []
        assert result["proof"]["valid"], result["proof"]
        assert [s["status"] for s in result["proof"]["steps"]] == ["pass"] * 5
        assert result["package"]["valid"], result["package"]["problems"]
        assert result["package"]["trust_source"] == "pinned"
        assert result["package"]["items"] == len(built.ids)

        chain = ["--rpc", rpc, "--trust", trust, "--json"]
        done = run_blocked(CLI, "verify", str(file), str(proof), *chain)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["valid"] is True
        done = run_blocked(CLI, "verify-package", str(package), *chain)
        assert done.returncode == 0, done.stderr
        verdict = json.loads(done.stdout)
        assert verdict["valid"] is True and verdict["problems"] == []
        done = run_blocked(CLI, "verify", str(file), str(proof), "--rpc", rpc, "--trust", trust)
        assert done.returncode == 0, done.stderr
        assert "VALID" in done.stdout
