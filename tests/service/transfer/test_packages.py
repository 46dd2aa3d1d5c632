"""Court evidence packages: the streamed ZIP, ``evidence verify-package``, the service's own
verdict and ``POST /api/v1/packages/verify``, on both chain columns with real anchoring."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from evidence_service.access.trust import service_pins
from evidence_service.anchoring.proofs import build_proof
from evidence_service.api import packages as packages_api
from evidence_service.capture.models import Evidence
from evidence_service.capture.reaper import request_spool_dir
from evidence_service.cli import app as cli_app
from evidence_service.core.clock import rfc3339
from evidence_service.core.ids import new_id
from evidence_service.custody.models import CustodyEvent
from evidence_service.transfer.packages import (
    build_manifest,
    manifest_digest,
    service_verdict,
    stream_package,
)
from evidence_service.verify.manifest import (
    is_jcs,
)
from evidence_service.verify.package import package_verdict
from signing.jcs import canonicalize
from tests.fixtures.service import Api
from tests.service.anchoring_helpers import chain_rpc_url, wait_anchored
from tests.service.helpers import assert_problem, upload

FILENAMES = ["冷库温度记录.csv", "report: v1?*<>.txt", "现场 照片 (1).jpg"]


# --------------------------------------------------------------------------- helpers


@dataclass
class Built:
    """A package as the lead's route would make it, and what went into it."""

    manifest: dict[str, Any]
    seal_json: str
    ids: list[str]
    contents: dict[str, bytes]
    zip_bytes: bytes
    chunks: int
    evidence_list: dict[str, Any] | None


def flip_last_bit(data: bytes) -> bytes:
    """A changed file, whatever its last byte was (its last 64 bytes are random)."""
    return data[:-1] + bytes([data[-1] ^ 1])


def item_bytes(n: int) -> bytes:
    return f"item {n}\n".encode() * 200 + os.urandom(64)


def capture_items(
    api: Api, count: int, *, signed: bool = True
) -> tuple[list[str], dict[str, bytes]]:
    if signed:
        api.services.pki.issue(api.users["officer"]["id"])  # custodial: captures are signed
    ids, contents = [], {}
    for n in range(count):
        data = item_bytes(n)
        response = upload(
            api,
            "electronic",
            data,
            metadata={"title": f"电子数据 {n + 1}"},
            filename=FILENAMES[n % len(FILENAMES)],
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
        contents[ids[-1]] = data
    return ids, contents


def department(api: Api, code: str) -> dict[str, Any]:
    return next(d for d in api.departments if d["code"] == code)


def open_case(api: Api, ids: list[str]) -> dict[str, Any]:
    case = api.client.post(
        "/api/v1/cases",
        json={"case_number": "杭市监罚〔2026〕12号", "kind": "penalty", "title": "冷库温度超标"},
        headers=api.auth(),
    )
    assert case.status_code == 201, case.text
    for evidence_id in ids:
        attached = api.client.post(
            f"/api/v1/cases/{case.json()['id']}/evidence",
            json={"evidence_id": evidence_id, "purpose": "证明温度超标"},
            headers=api.auth(),
        )
        assert attached.status_code == 201, attached.text
    body: dict[str, Any] = case.json()
    return body


def issued_list(api: Api, case_id: str) -> tuple[bytes, dict[str, Any]]:
    issued = api.client.post(
        f"/api/v1/cases/{case_id}/evidence-lists", headers=api.auth("reviewer")
    )
    assert issued.status_code == 201, issued.text
    later = upload(api, "electronic", item_bytes(99)).json()["id"]
    wait_anchored(api, later)  # the list's batch is anchored by now
    document = api.client.get(f"/api/v1/evidence-lists/{issued.json()['id']}", headers=api.auth())
    pdf = api.client.get(f"/api/v1/cases/{case_id}/evidence-list.pdf", headers=api.auth())
    assert document.json()["anchor"] is not None and pdf.status_code == 200
    return pdf.content, document.json()


def transfer_of(api: Api, case: dict[str, Any] | None) -> dict[str, Any]:
    sender, court = department(api, "HZ-SCJG"), department(api, "HZ-XHFY")
    return {
        "id": new_id(),
        "sender": {k: sender[k] for k in ("id", "name", "code")},
        "recipient": {k: court[k] for k in ("id", "name", "code")},
        "case": {k: case[k] for k in ("id", "case_number", "title")} if case else None,
        "created_at": api.services.clock(),
        "created_by": api.users["officer"]["id"],
    }


def stream_over_http(
    api: Api,
    manifest: dict[str, Any],
    seal_json: str,
    evidence_list: tuple[bytes, dict[str, Any]] | None = None,
) -> tuple[bytes, int]:
    """The ZIP through a StreamingResponse of a tiny app (until the lead's route exists)."""
    app = FastAPI()
    sender = manifest["transfer"]["sender"]["id"]

    @app.get("/package.zip")
    def package() -> StreamingResponse:
        return StreamingResponse(
            stream_package(
                api.services,
                manifest,
                seal_json,
                department_id=sender,
                actor_id=api.users["officer"]["id"],
                evidence_list=evidence_list,
                public_verify_url="https://evidence.example/api/v1/packages/verify",
            ),
            media_type="application/zip",
        )

    with TestClient(app) as client, client.stream("GET", "/package.zip") as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/zip"
        chunks = list(response.iter_raw())
    return b"".join(chunks), len(chunks)


def build_package(api: Api, count: int = 3, *, with_list: bool = True, wait: bool = True) -> Built:
    ids, contents = capture_items(api, count)
    if wait:
        for evidence_id in ids:
            wait_anchored(api, evidence_id)
    case = open_case(api, ids) if with_list else None
    evidence_list = issued_list(api, case["id"]) if case else None
    with Session(api.services.engine) as session:
        manifest = build_manifest(session, ids, transfer=transfer_of(api, case))
    record = api.services.pki.seal_digest(
        manifest["transfer"]["sender"]["id"],
        manifest_digest(manifest),
        actor_id=api.users["reviewer"]["id"],
    )
    seal_json = record.as_json()
    data, chunks = stream_over_http(api, manifest, seal_json, evidence_list)
    return Built(
        manifest,
        seal_json,
        ids,
        contents,
        data,
        chunks,
        evidence_list[1] if evidence_list else None,
    )


def verify_cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli_app, ["verify-package", *args])
    return result.exit_code, result.stdout, result.stderr


def trust_file(api: Api, tmp_path: Path) -> Path:
    path = tmp_path / "trust.json"
    path.write_text(json.dumps(api.client.get("/api/v1/trust").json()))
    return path


def problems(verdict: dict[str, Any]) -> list[tuple[str, str]]:
    return [(p["subject"], p["failure"]) for p in verdict["problems"]]


# --------------------------------------------------------------------------- tests


def test_a_package_streams_with_its_layout_and_verifies_offline(
    anchored: Api, tmp_path: Path
) -> None:
    built = build_package(anchored)
    path = tmp_path / "package.zip"
    path.write_bytes(built.zip_bytes)
    archive = zipfile.ZipFile(path)
    names = archive.namelist()
    items = built.manifest["items"]

    # layout, in order: small documents first, proofs, files, custody, the list, the report,
    # and last the contents seal over every member before it
    assert names[:4] == [
        "manifest.json",
        "seal/manifest-seal.json",
        "seal/seal.png",
        "trust/trust.json",
    ]
    assert [n for n in names if n.startswith("proofs/")] == [f"proofs/{i}.json" for i in built.ids]
    assert [n for n in names if n.startswith("files/")] == [i["file"] for i in items]
    assert names[-6:] == [
        "custody.json",
        "evidence-list.pdf",
        "evidence-list.json",
        "report.html",
        "seal/contents.json",
        "seal/contents-seal.json",
    ]
    assert any(n.startswith("trust/ca/") for n in names)
    assert [i["file"] for i in items] == [
        f"files/01-{built.ids[0]}-冷库温度记录.csv",
        f"files/02-{built.ids[1]}-report_v1.txt",
        f"files/03-{built.ids[2]}-现场_照片_1.jpg",
    ]
    for info in archive.infolist():  # streamed: STORED, sizes in a data descriptor
        assert info.compress_type == zipfile.ZIP_STORED
        assert info.flag_bits & 0x08, info.filename

    # the manifest: JCS bytes, sealed by the sender; the files are the captured bytes
    raw = archive.read("manifest.json")
    assert raw == canonicalize(built.manifest)
    manifest = json.loads(raw)
    assert manifest["format"] == "evidence-package/1"
    assert manifest["transfer"]["created_at"] == built.manifest["transfer"]["created_at"]
    first = manifest["items"][0]
    assert set(first) == {
        "evidence_id", "title", "port", "file", "sha256", "sm3", "size", "media_type",
        "statement", "statement_sha256", "proof",
    }  # fmt: skip
    seal = json.loads(archive.read("seal/manifest-seal.json"))
    assert seal["digest"] == hashlib.sha256(raw).hexdigest() == manifest_digest(built.manifest)
    assert seal["department_id"] == manifest["transfer"]["sender"]["id"]
    assert archive.read("seal/seal.png").startswith(b"\x89PNG")

    # the contents seal: the same department, over every member's digest and size (/2)
    contents_raw = archive.read("seal/contents.json")
    contents = json.loads(contents_raw)
    assert contents_raw == canonicalize(contents)
    sha = {n: hashlib.sha256(archive.read(n)).hexdigest() for n in names}
    sealed = set(names) - {"seal/contents.json", "seal/contents-seal.json"}
    assert contents == {
        "format": "evidence-package-contents/2",
        "members": {
            n: {"sha256": sha[n], "size": archive.getinfo(n).file_size} for n in sorted(sealed)
        },
        "packaged_at": contents["packaged_at"],
    }
    assert {"report.html", "evidence-list.pdf", "seal/seal.png"} <= set(contents["members"])
    contents_seal = json.loads(archive.read("seal/contents-seal.json"))
    assert contents_seal["digest"] == hashlib.sha256(contents_raw).hexdigest()
    assert contents_seal["department_id"] == seal["department_id"]
    with Session(anchored.services.engine) as session:
        sealed = session.exec(
            select(CustodyEvent)
            .where(CustodyEvent.action == "sealed")
            .order_by(col(CustodyEvent.id))  # arrival order
        ).all()
    assert [(e.actor_id, e.details["digest"]) for e in sealed][-1] == (
        anchored.users["officer"]["id"],
        contents_seal["digest"],
    )
    for item in items:
        data = archive.read(item["file"])
        assert data == built.contents[item["evidence_id"]]
        assert hashlib.sha256(data).hexdigest() == item["sha256"]
        assert hashlib.new("sm3", data).hexdigest() == item["sm3"]
        proof = json.loads(archive.read(item["proof"]))
        assert proof["statement"] == item["statement"] and proof["anchor"] is not None
        assert proof["signature"] is not None
        with Session(anchored.services.engine) as session:
            evidence = session.get(Evidence, item["evidence_id"])
        assert evidence is not None  # the proof is what GET …/proof serves
        assert proof == json.loads(
            json.dumps(build_proof(anchored.services.engine, evidence, anchored.services.trees))
        )

    # custody: every event of every item, each hash recomputable, with the head at packaging
    custody = json.loads(archive.read("custody.json"))
    assert custody["format"] == "evidence-custody/1"
    with Session(anchored.services.engine) as session:
        rows = session.exec(
            select(CustodyEvent).where(CustodyEvent.evidence_id.in_(built.ids))  # type: ignore[union-attr]
        ).all()
    assert sorted(e["seq"] for e in custody["events"]) == sorted(r.seq for r in rows)
    assert {e["action"] for e in custody["events"]} >= {"captured"}
    assert custody["head"]["seq"] >= max(r.seq for r in rows)

    trust = json.loads(archive.read("trust/trust.json"))
    assert trust == {
        k: v
        for k, v in anchored.client.get("/api/v1/trust").json().items()
        if k not in ("chain", "chain_rpc")
    }
    listed = json.loads(archive.read("evidence-list.json"))
    assert listed["id"] == built.evidence_list["id"] if built.evidence_list else False
    assert archive.read("evidence-list.pdf").startswith(b"%PDF")

    # the report: the service's verdict at packaging, the digest, a QR code
    report = archive.read("report.html").decode()
    digest = manifest_digest(built.manifest)
    not_passed = re.findall(
        r"<tr>(?:(?!</tr>).)*?(?:fail|error|pending)(?:(?!</tr>).)*</tr>", report
    )
    assert "有效 VALID" in report, not_passed
    assert digest in report and "<svg" in report
    assert f"packages/verify?manifest_sha256={digest}" in report
    assert "电子数据 1" in report and "冷库温度超标" in report
    assert "seal/contents.json" in report  # how the contents are sealed (after the report)

    with chain_rpc_url(anchored) as rpc:
        trust_path = trust_file(anchored, tmp_path)
        code, out, err = verify_cli(str(path), "--rpc", rpc, "--trust", str(trust_path), "--json")
        assert code == 0, out + err
        verdict = json.loads(out)
        assert verdict["valid"] is True and verdict["failure"] is None
        assert verdict["format"] == "evidence-package/2"
        assert verdict["trust_source"] == "pinned" and verdict["items"] == 3
        assert verdict["manifest_sha256"] == digest
        assert verdict["hashed_bytes"] == sum(len(c) for c in built.contents.values())
        steps = {(c["subject"], c["step"]) for c in verdict["checks"] if c["status"] == "pass"}
        for item in items:
            assert (item["file"], "content") in steps
            for step in ("statement", "leaf", "inclusion", "signature", "anchor"):
                assert (item["proof"], step) in steps
        for subject, step in [
            ("seal", "signature"), ("manifest", "digest"), ("custody", "chain"),
            ("evidence-list.json", "seal"), ("evidence-list.json", "anchor"),
            ("seal/contents-seal.json", "signature"), ("seal/contents.json", "digest"),
            ("seal/contents.json", "listing"),
            ("manifest.json", "contents"), ("trust/trust.json", "contents"),
            ("custody.json", "contents"), ("evidence-list.json", "contents"),
            ("evidence-list.pdf", "contents"), ("report.html", "contents"),
            ("seal/seal.png", "contents"), ("seal/manifest-seal.json", "contents"),
            ("trust/ca/01.pem", "contents"),
        ]:  # fmt: skip
            assert (subject, step) in steps
        for item in items:
            assert (item["proof"], "contents") in steps

        # without --trust: trust from the package itself, and the tool says so
        code, out, err = verify_cli(str(path), "--rpc", rpc)
        assert code == 0, out + err
        assert "VALID" in out and "trust: package" in out
        assert "trust came from the package itself" in " ".join(err.split())

    # the same checks in the service, without a ZIP (a recipient opening the transfer)
    verdict_here = service_verdict(anchored.services, built.manifest, built.seal_json)
    assert verdict_here.valid, verdict_here.problems()
    assert verdict_here.trust_source == "service"
    skipped = [(c.subject, c.step) for c in verdict_here.checks if c.status == "skipped"]
    assert ("seal/contents.json", "seal") in skipped  # sealed per download, not here
    assert verdict_here.hashed_bytes == sum(len(c) for c in built.contents.values())


def test_the_public_endpoint_verifies_an_uploaded_package(
    anchored: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = build_package(anchored, 2, with_list=False)
    verify_url = "/api/v1/packages/verify"

    good = anchored.client.post(
        verify_url, content=built.zip_bytes, headers={"content-type": "application/zip"}
    )
    assert good.status_code == 200, good.text
    body = good.json()
    assert body["valid"] is True and body["failure"] is None and body["items"] == 2
    assert body["manifest_sha256"] == manifest_digest(built.manifest)

    as_form = anchored.client.post(
        verify_url,
        files={"package": ("package.zip", built.zip_bytes, "application/zip")},
        headers=anchored.auth("court"),
    )
    assert as_form.status_code == 200 and as_form.json()["valid"] is True
    with Session(anchored.services.engine) as session:
        recorded = session.exec(
            select(CustodyEvent).where(CustodyEvent.action == "package_verified")
        ).all()
    assert [(e.actor_id, e.details["valid"]) for e in recorded] == [
        (anchored.users["court"]["id"], True)
    ]

    # a file changed: the verdict names the file and the step
    source = zipfile.ZipFile(io.BytesIO(built.zip_bytes))
    tampered = io.BytesIO()
    first_file = built.manifest["items"][0]["file"]
    with zipfile.ZipFile(tampered, "w") as out:
        for info in source.infolist():
            data = source.read(info)
            changed = flip_last_bit(data) if info.filename == first_file else data
            out.writestr(info.filename, changed)
    bad = anchored.client.post(
        verify_url, content=tampered.getvalue(), headers={"content-type": "application/zip"}
    )
    assert bad.status_code == 200
    assert bad.json()["valid"] is False
    assert (bad.json()["failure"], bad.json()["subject"]) == ("content-mismatch", first_file)
    assert problems(bad.json()) == [(first_file, "content-mismatch")]

    before = len(recorded)
    not_zip = anchored.client.post(
        verify_url, content=b"%PDF-1.7 not a zip", headers={"content-type": "application/zip"}
    )
    assert_problem(not_zip, 422, "bad-package")
    wrong_type = anchored.client.post(
        verify_url, content=b"{}", headers={"content-type": "application/json"}
    )
    assert_problem(wrong_type, 400, "bad-request")
    empty_form = anchored.client.post(verify_url, data={"note": "no file"})
    assert_problem(empty_form, 400, "bad-request")
    monkeypatch.setattr(packages_api, "MAX_PACKAGE_BYTES", 1000)
    too_big = anchored.client.post(
        verify_url, content=built.zip_bytes, headers={"content-type": "application/zip"}
    )
    assert_problem(too_big, 413, "oversize")
    with Session(anchored.services.engine) as session:
        after = session.exec(
            select(CustodyEvent).where(CustodyEvent.action == "package_verified")
        ).all()
    assert len(after) == before  # refused uploads record nothing
    assert list(request_spool_dir(anchored.services.settings).iterdir()) == []  # none left


def test_items_not_yet_anchored_are_pending_not_forged(anchored: Api, tmp_path: Path) -> None:
    anchored.services.settings.anchor_interval = 3600.0  # the batch stays open
    built = build_package(anchored, 2, with_list=False, wait=False)
    verdict = service_verdict(anchored.services, built.manifest, built.seal_json)
    assert not verdict.valid
    assert verdict.failure == "not-anchored"
    assert {c.status for c in verdict.checks} <= {"pass", "skipped", "pending"}
    pending = [c for c in verdict.checks if c.status == "pending"]
    assert [c.subject for c in pending] == [i["proof"] for i in built.manifest["items"]]
    assert all("download the package again later" in c.detail for c in pending)
    report = zipfile.ZipFile(io.BytesIO(built.zip_bytes)).read("report.html").decode()
    assert "未定 UNDECIDED" in report and "待上链" in report

    path = tmp_path / "pending.zip"
    path.write_bytes(built.zip_bytes)
    with chain_rpc_url(anchored) as rpc:
        code, out, err = verify_cli(str(path), "--rpc", rpc, "--json")
    assert code == 3, out + err  # undecided, not invalid
    assert json.loads(out)["failure"] == "not-anchored"


def test_bad_input_to_the_library_and_the_cli(api: Api, tmp_path: Path) -> None:
    ids, _ = capture_items(api, 2, signed=False)
    transfer = transfer_of(api, None)
    with Session(api.services.engine) as session:
        for wrong, status in (([], 400), ([ids[0], ids[0]], 400), ([ids[0], "01NOPE"], 404)):
            with pytest.raises(Exception) as raised:
                build_manifest(session, wrong, transfer=transfer)
            assert getattr(raised.value, "status", None) == status, raised.value
        manifest = build_manifest(session, ids, transfer=transfer)
    assert [i["evidence_id"] for i in manifest["items"]] == ids
    assert manifest["transfer"]["created_at"] == rfc3339(transfer["created_at"])
    with pytest.raises(Exception) as unknown:
        stream_package(api.services, manifest, "{}", department_id="01NOPE", actor_id="x")
    assert getattr(unknown.value, "status", None) == 404  # refused before a byte is sent
    sender = manifest["transfer"]["sender"]["id"]
    with Session(api.services.engine) as session:
        events_before = len(session.exec(select(CustodyEvent)).all())
    with pytest.raises(Exception) as not_sealed:  # the manifest seal is not the sender's
        stream_package(api.services, manifest, "{}", department_id=sender, actor_id="x")
    assert getattr(not_sealed.value, "status", None) == 409
    with Session(api.services.engine) as session:
        assert len(session.exec(select(CustodyEvent)).all()) == events_before  # no seal made

    not_zip = tmp_path / "not.zip"
    not_zip.write_bytes(b"PK\x03\x04 but truncated")
    code, out, err = verify_cli(str(not_zip), "--rpc", "http://127.0.0.1:9")
    assert code == 2 and "not a ZIP" in " ".join(err.split())
    code, out, err = verify_cli(str(tmp_path / "missing.zip"), "--rpc", "http://127.0.0.1:9")
    assert code == 2 and "is not a file" in " ".join(err.split())
    with pytest.raises(Exception) as raised:
        package_verdict(not_zip, w3=None, pins=service_pins(api.services))
    assert getattr(raised.value, "slug", None) == "bad-package"


@pytest.mark.parametrize(
    "value",
    [
        {"b": [1, -(2**53 - 1), {"z": 'x\n\u0001"\\é中\U0001f600'}], "a": None, "t": True},
        {"\U0001f600": 1, "\uffff": 2},  # UTF-16 and code-point orders differ
        {"f": 1.0, "g": 1e16, "h": 0.1},  # numbers in ES6 form
    ],
)
def test_the_manifest_jcs_check_agrees_with_rfc_8785(value: dict[str, Any]) -> None:
    exact = canonicalize(value)
    python_form = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert is_jcs(value, exact)
    assert is_jcs(value, python_form.encode()) is (python_form.encode() == exact)
    assert not is_jcs(value, exact + b" ")
