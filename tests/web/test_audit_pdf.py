"""The audit trail as a sealed PDF, and the export limits: what the paper says, that its seal
verifies over the bytes received (and is recorded), who may export it, and that a period over
an export's limit is refused with the page before anything is rendered, sealed or streamed."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader
from sqlmodel import Session, select

from evidence_service.custody.models import CustodyEvent
from evidence_service.verify.custody import GENESIS_HASH, link_hash
from evidence_service.web import audit_pages
from tests.fixtures.service import Api
from tests.web.test_audit_page import sign_in, today


def _text(pdf: bytes) -> str:
    """The PDF's text without whitespace and NULs (pypdf's spacing of CID fonts varies)."""
    reader = PdfReader(io.BytesIO(pdf))
    return "".join(re.sub(r"[\s\x00]+", "", page.extract_text()) for page in reader.pages)


def _capture(web: Api, n: int) -> list[str]:
    ids = []
    for i in range(n):
        made = web.client.post(
            "/api/v1/evidence",
            headers=web.auth("officer"),
            data={"port": "electronic", "metadata": json.dumps({"title": f"pdf {i}"})},
            files={"file": ("a.txt", f"audit pdf {i}".encode(), "text/plain")},
        )
        assert made.status_code == 201, made.text
        ids.append(made.json()["id"])
    return ids


def _events(web: Api, action: str) -> list[CustodyEvent]:
    with Session(web.services.engine) as session:
        return list(session.exec(select(CustodyEvent).where(CustodyEvent.action == action)))


def test_the_sealed_pdf_reads_as_the_period_and_its_seal_verifies(web: Api) -> None:
    ids = _capture(web, 3)
    auditor = web.users["auditor"]
    sign_in(web, "auditor")
    trail = web.client.get("/audit/trail.csv", params={"from": today(), "to": today()})
    rows = list(csv.reader(io.StringIO(trail.text)))[1:]
    assert rows, "the CSV of the same period, exported just before"
    answer = web.client.get("/audit/trail.pdf", params={"from": today(), "to": today()})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-disposition"] == (
        f'attachment; filename="custody-{today()}-{today()}.pdf"'
    )
    pdf = answer.content
    text = _text(pdf)
    day = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    assert "保管事件审计记录" in text
    chinese = f"{day.year}年{day.month}月{day.day}日"
    assert f"{chinese}00:00至{chinese}24:00" in text
    assert auditor["id"] in text
    assert "通过：每行的哈希" in text  # the chain check over the exported rows holds
    for evidence_id in ids:
        assert evidence_id in text
    for row in rows:  # every event of the CSV is in the PDF: seq, action and hash prefix
        seq, action, hash_ = row[0], row[3], row[8]
        assert action in text and f"{seq}" in text and hash_[:16] in text
    assert f"captured{len(ids)}" in text  # the summary counts events per action
    assert f"{rows[-1][8]}（序号{rows[-1][0]}之后）" in text  # the head at the period's end
    last_page: Any = PdfReader(io.BytesIO(pdf)).pages[-1]  # the seal stamped on it
    xobjects = last_page["/Resources"]["/XObject"].get_object()
    assert any(xobjects[name].get_object()["/Subtype"] == "/Image" for name in xobjects)

    # the seal record: its id in a header, the record at the page's URL, verifying publicly
    export_id = answer.headers["seal-record-id"]
    record = web.client.get(f"/audit/seals/{export_id}.json")
    assert record.status_code == 200 and record.headers["content-type"] == "application/json"
    digest = hashlib.sha256(pdf).hexdigest()
    seal = record.json()
    assert seal["digest"] == digest and seal["department_id"] == auditor["department_id"]
    web.client.cookies.clear()  # anyone, signed in or not
    verdict = web.client.post("/api/v1/seals/verify", json={"record": seal, "digest": digest})
    assert verdict.status_code == 200 and verdict.json()["valid"] is True
    tampered = hashlib.sha256(pdf + b"\n").hexdigest()
    refused = web.client.post("/api/v1/seals/verify", json={"record": seal, "digest": tampered})
    assert refused.json()["valid"] is False

    # recorded: the seal (by the auditor, of the auditor's department) and the export
    (sealed,) = _events(web, "sealed")
    assert sealed.actor_id == auditor["id"]
    assert sealed.department_id == auditor["department_id"]
    assert sealed.details["digest"] == digest
    (export,) = _events(web, audit_pages.SEALED_EXPORT)
    assert str(export.id) == export_id
    assert export.details["seal"] == seal and export.details["events"] == len(rows)
    sign_in(web, "auditor")
    page = web.client.get("/audit")
    assert f'data-digest="{digest}"' in page.text and f"/audit/seals/{export_id}.json" in page.text


def test_an_empty_period_is_a_sealed_pdf_saying_so(web: Api) -> None:
    sign_in(web, "admin")
    answer = web.client.get("/audit/trail.pdf", params={"from": "2001-01-01", "to": "2001-01-02"})
    assert answer.status_code == 200
    text = _text(answer.content)
    assert "0个" in text and "本期间无保管事件" in text
    (sealed,) = _events(web, "sealed")
    assert sealed.department_id == web.users["admin"]["department_id"]


def test_only_auditors_and_admins_export_and_read_seal_records(web: Api) -> None:
    sign_in(web, "auditor")
    made = web.client.get("/audit/trail.pdf", params={"from": today(), "to": today()})
    export_id = made.headers["seal-record-id"]
    for role in ("officer", "reviewer"):
        sign_in(web, role)
        pdf = web.client.get("/audit/trail.pdf", params={"from": today(), "to": today()})
        assert pdf.status_code == 403
        assert web.client.get(f"/audit/seals/{export_id}.json").status_code == 403
    assert len(_events(web, "sealed")) == 1
    web.client.cookies.clear()
    signed_out = web.client.get("/audit/trail.pdf", params={"from": today(), "to": today()})
    assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/login")
    sign_in(web, "auditor")
    for missing in ("999999", "x", "0", str(_events(web, "sealed")[0].id)):
        assert web.client.get(f"/audit/seals/{missing}.json").status_code == 404, missing


def test_an_auditor_seals_only_the_audit_trail(web: Api) -> None:
    """The narrow extension: an auditor's seal covers the PDF the service rendered for them,
    never a digest they bring to the seal API."""
    auditor = web.users["auditor"]
    url = f"/api/v1/departments/{auditor['department_id']}/seals"
    digest = hashlib.sha256(b"anything").hexdigest()
    refused = web.client.post(url, json={"digest": digest}, headers=web.auth("auditor"))
    assert refused.status_code == 403
    assert _events(web, "sealed") == []


def test_a_cross_site_export_is_refused(web: Api) -> None:
    sign_in(web, "auditor")
    answer = web.client.get(
        "/audit/trail.pdf",
        params={"from": today(), "to": today()},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert answer.status_code == 403
    assert _events(web, "sealed") == []


def test_a_period_over_the_pdf_limit_is_refused_before_rendering(
    web: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    _capture(web, 3)
    web.client.get("/api/v1/custody/verify", headers=web.auth("auditor"))  # chain them
    monkeypatch.setattr(audit_pages, "MAX_PDF_EVENTS", 2)
    rendered: list[object] = []
    monkeypatch.setattr(audit_pages, "render_audit_trail_pdf", lambda *a, **k: rendered.append(a))
    sign_in(web, "auditor")
    answer = web.client.get("/audit/trail.pdf", params={"from": today(), "to": today()})
    assert answer.status_code == 422
    assert 'data-testid="audit-error"' in answer.text and "上限： 2" in answer.text
    assert rendered == [] and _events(web, "sealed") == []
    assert _events(web, audit_pages.SEALED_EXPORT) == []


def test_a_bad_period_for_the_pdf_is_refused_on_the_page(web: Api) -> None:
    sign_in(web, "auditor")
    for start, end in (("x", "y"), (today(), "2000-01-01"), ("2020-01-01", "2021-01-01")):
        answer = web.client.get("/audit/trail.pdf", params={"from": start, "to": end})
        assert answer.status_code == 422 and 'data-testid="audit-error"' in answer.text
    assert _events(web, "sealed") == []


def test_a_period_over_the_csv_limit_is_refused_before_streaming(
    web: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    _capture(web, 3)
    web.client.get("/api/v1/custody/verify", headers=web.auth("auditor"))
    monkeypatch.setattr(audit_pages, "MAX_EVENTS", 2)
    sign_in(web, "auditor")
    answer = web.client.get("/audit/trail.csv", params={"from": today(), "to": today()})
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("text/html")
    assert 'data-testid="audit-error"' in answer.text
    yesterday = (datetime.now(ZoneInfo("Asia/Shanghai")).date() - timedelta(days=1)).isoformat()
    quiet = web.client.get("/audit/trail.csv", params={"from": yesterday, "to": yesterday})
    assert quiet.status_code == 200  # a period under the limit still streams


def test_the_limit_counts_the_period_not_the_seq_range(
    web: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A seq range longer than the limit is counted: events outside the period do not count."""
    _capture(web, 4)
    web.client.get("/api/v1/custody/verify", headers=web.auth("auditor"))
    with Session(web.services.engine) as session:
        total = len(session.exec(select(CustodyEvent.seq).where(CustodyEvent.seq != None)).all())  # noqa: E711
    begin = datetime.now(ZoneInfo("Asia/Shanghai")).replace(hour=0, minute=0, second=0)
    begin = begin.replace(microsecond=0)
    with Session(web.services.engine) as session:
        low, high = audit_pages._bounded_period(
            session, begin, begin + timedelta(days=1), limit=total
        )
        assert (low, high) == (1, total)
        with pytest.raises(audit_pages.TooManyForExport):
            audit_pages._bounded_period(session, begin, begin + timedelta(days=1), limit=total - 1)
        # the same seq range, but a period that holds none of them: counted, not refused
        past = begin - timedelta(days=30)
        audit_pages._bounded_period(session, past, past + timedelta(days=1), limit=0)


def _linked(prev_hash: str, seq: int, action: str = "captured") -> dict[str, Any]:
    body: dict[str, Any] = {
        "seq": seq,
        "evidence_id": None,
        "action": action,
        "actor_id": "A",
        "department_id": "D",
        "at": "2026-05-01T00:00:00Z",
        "details": {},
    }
    return {**body, "prev_hash": prev_hash, "hash": link_hash(prev_hash, body)}


def test_the_chain_check_over_the_rows_names_a_broken_row() -> None:
    first = _linked(GENESIS_HASH, 1)
    second = _linked(first["hash"], 2)
    assert audit_pages.chain_problem([first, second]) is None
    assert audit_pages.chain_problem([first]) is None
    edited = {**second, "action": "viewed"}
    assert "序号 2：事件内容" in (audit_pages.chain_problem([first, edited]) or "")
    unlinked = _linked("11" * 32, 2)
    assert "序号 2：prev_hash" in (audit_pages.chain_problem([first, unlinked]) or "")
    later = _linked("11" * 32, 3)  # not next in the chain (seq 2 fell outside the period)
    assert audit_pages.chain_problem([first, later]) is None
