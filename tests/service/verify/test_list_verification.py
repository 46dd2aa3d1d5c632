"""Checking a printed evidence list (证据清单) against its seal and the chain: ``evidence
verify-list`` and ``POST /api/v1/evidence-lists/verify``, on both chain columns."""

from __future__ import annotations

import copy
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from sqlmodel import Session, select
from typer.testing import CliRunner

from evidence_service.cli import app as cli_app
from evidence_service.custody.models import CustodyEvent
from evidence_service.render.evidence_list_pdf import (
    EvidenceListDocument,
    EvidenceListFormatError,
    EvidenceListItem,
    render_evidence_list_pdf,
)
from evidence_service.verify.list_steps import ListDocument, ListFormatError
from tests import samples
from tests.fixtures.live_server import free_port
from tests.fixtures.service import Api
from tests.service.anchoring_helpers import chain_rpc_url, wait_anchored
from tests.service.helpers import assert_problem, upload

USCC = "91350100M000100Y43"
PARTY = "某某冷链物流有限公司"
STEPS = ["digest", "seal", "leaf", "inclusion", "anchor"]


# --------------------------------------------------------------------------- helpers


def issue_list(api: Api) -> dict[str, Any]:
    """A case with two items and a party; its list issued (sealed, queued for anchoring)."""
    case = api.client.post(
        "/api/v1/cases",
        json={"case_number": "杭市监罚〔2026〕7号", "kind": "penalty", "title": "冷库温度超标"},
        headers=api.auth(),
    ).json()
    party = api.client.post(
        "/api/v1/parties",
        json={"kind": "organisation", "name": PARTY, "identifier_kind": "uscc", "identifier": USCC},
        headers=api.auth(),
    )
    assert party.status_code == 201, party.text
    attached = api.client.post(
        f"/api/v1/cases/{case['id']}/parties",
        json={"party_id": party.json()["id"]},
        headers=api.auth(),
    )
    assert attached.status_code in (200, 201), attached.text
    for title, purpose in (("冷库温度记录", "证明温度超标"), ("现场照片", "证明现场状况")):
        evidence_id = upload(api, "documentary", samples.pdf(), metadata={"title": title}).json()[
            "id"
        ]
        response = api.client.post(
            f"/api/v1/cases/{case['id']}/evidence",
            json={"evidence_id": evidence_id, "purpose": purpose},
            headers=api.auth(),
        )
        assert response.status_code == 201, response.text
    issued = api.client.post(
        f"/api/v1/cases/{case['id']}/evidence-lists", headers=api.auth("reviewer")
    )
    assert issued.status_code == 201, issued.text
    document: dict[str, Any] = issued.json()
    return document


def fetch_list(api: Api, list_id: str) -> dict[str, Any]:
    response = api.client.get(f"/api/v1/evidence-lists/{list_id}", headers=api.auth())
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


def anchored_list(api: Api) -> dict[str, Any]:
    """An issued list whose batch is anchored (an item captured after it is anchored)."""
    issued = issue_list(api)
    later = upload(api, "documentary", samples.pdf()).json()["id"]
    wait_anchored(api, later)
    document = fetch_list(api, issued["id"])
    assert document["anchor"] is not None and document["merkle"]["path"]
    return document


def write_json(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value, ensure_ascii=False))
    return path


def verify_list_cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli_app, ["verify-list", *args])
    return result.exit_code, result.output


def flip_hex(value: str, position: int = 10) -> str:
    raw = bytearray(bytes.fromhex(value.removeprefix("0x")))
    raw[position % len(raw)] ^= 0x01
    return ("0x" if value.startswith("0x") else "") + raw.hex()


def verified_events(api: Api) -> list[CustodyEvent]:
    with Session(api.services.engine) as session:
        return list(
            session.exec(select(CustodyEvent).where(CustodyEvent.action == "verified")).all()
        )


def pdf_pages_text(pdf: bytes) -> list[str]:
    """Page texts without whitespace and NULs (pypdf splits CID-keyed CFF glyphs oddly)."""
    return [
        re.sub(r"[\s\x00]+", "", page.extract_text()) for page in PdfReader(io.BytesIO(pdf)).pages
    ]


# --------------------------------------------------------------------------- the CLI

Tamper = Callable[[dict[str, Any]], None]


def _flip_seal(document: dict[str, Any]) -> None:
    value = document["seal"]["value"]
    document["seal"]["value"] = ("B" if value[0] == "A" else "A") + value[1:]


TAMPERS: list[tuple[str, Tamper, str]] = [
    (
        "a purpose",
        lambda d: d["body"]["items"][0].update(purpose=d["body"]["items"][0]["purpose"] + "（改）"),
        "digest-mismatch",
    ),
    ("the digest", lambda d: d.update(digest=flip_hex(d["digest"])), "digest-mismatch"),
    ("the seal signature", _flip_seal, "bad-seal"),
    (
        "the leaf hash",
        lambda d: d["merkle"].update(leaf_hash=flip_hex(d["merkle"]["leaf_hash"])),
        "leaf-mismatch",
    ),
    (
        "a path element",
        lambda d: d["merkle"]["path"].__setitem__(0, flip_hex(d["merkle"]["path"][0])),
        "inclusion-failed",
    ),
    (
        "the root",
        lambda d: d["merkle"].update(root=flip_hex(d["merkle"]["root"])),
        "inclusion-failed",
    ),
    (
        "the tx hash",
        lambda d: d["anchor"].update(tx_hash=flip_hex(d["anchor"]["tx_hash"])),
        "not-anchored",
    ),
    (
        "the block number",
        lambda d: d["anchor"].update(block_number=d["anchor"]["block_number"] + 1),
        "not-anchored",
    ),
]


def test_a_printed_list_verifies_and_every_flipped_field_fails_its_step(
    anchored: Api, tmp_path: Path
) -> None:
    document = anchored_list(anchored)
    trust = write_json(tmp_path / "trust.json", anchored.client.get("/api/v1/trust").json())
    good = write_json(tmp_path / f"{document['id']}.json", document)
    digest = document["digest"]
    with chain_rpc_url(anchored) as rpc:
        chain = ["--rpc", rpc, "--trust", str(trust)]
        code, output = verify_list_cli(str(good), "--digest", digest.upper(), *chain, "--json")
        assert code == 0, output
        verdict = json.loads(output)
        assert verdict["valid"] is True and verdict["failure"] is None
        assert [(s["name"], s["status"]) for s in verdict["steps"]] == [
            (name, "pass") for name in STEPS
        ]
        assert "digest typed off the paper" in verdict["steps"][0]["detail"]
        assert "valid and unrevoked at the anchor's block time" in verdict["steps"][1]["detail"]

        code, output = verify_list_cli(str(good), "--digest", digest, *chain)
        assert code == 0 and "VALID" in output and "evidence-list/1" in output

        code, output = verify_list_cli(str(good), "--digest", flip_hex(digest), *chain, "--json")
        assert code == 1, output
        assert json.loads(output)["failure"] == "digest-mismatch"
        assert "not the printed list" in json.loads(output)["steps"][0]["detail"]

        for what, tamper, failure in TAMPERS:
            tampered = copy.deepcopy(document)
            tamper(tampered)
            path = write_json(tmp_path / "tampered.json", tampered)
            code, output = verify_list_cli(str(path), *chain, "--json")
            assert code == 1, (what, output)
            verdict = json.loads(output)
            assert verdict["valid"] is False and verdict["failure"] == failure, (what, verdict)
            failed = [s for s in verdict["steps"] if s["status"] == "fail"]
            assert failed[0]["failure"] == failure and failed[0]["detail"], (what, verdict)

        tampered = copy.deepcopy(document)
        _flip_seal(tampered)
        code, output = verify_list_cli(str(write_json(tmp_path / "t.json", tampered)), *chain)
        assert code == 1 and "failure: bad-seal" in output

        # a registry the verifier does not trust: not-anchored, without asking the chain
        forged = {**json.loads(trust.read_text()), "contract": "0x" + "22" * 20}
        other = write_json(tmp_path / "other-trust.json", forged)
        code, output = verify_list_cli(str(good), "--rpc", rpc, "--trust", str(other), "--json")
        assert code == 1 and json.loads(output)["failure"] == "not-anchored"
        assert "not a trusted registry" in json.loads(output)["steps"][4]["detail"]

    # no chain node answers: undecided
    code, output = verify_list_cli(
        str(good), "--rpc", f"http://127.0.0.1:{free_port()}", "--trust", str(trust), "--json"
    )
    assert code == 3, output
    verdict = json.loads(output)
    assert [s["status"] for s in verdict["steps"]] == ["pass", "pass", "pass", "pass", "error"]
    # no trust bundle: the seal cannot be checked (undecided), the rest still runs
    with chain_rpc_url(anchored) as rpc:
        code, output = verify_list_cli(str(good), "--rpc", rpc, "--json")
    assert code == 3, output
    assert [s["status"] for s in json.loads(output)["steps"]] == [
        "pass",
        "error",
        "pass",
        "pass",
        "pass",
    ]


def test_a_list_not_yet_anchored_is_not_anchored(anchored: Api, tmp_path: Path) -> None:
    wait_anchored(anchored, upload(anchored, "documentary", samples.pdf()).json()["id"])
    anchored.client.app.state.anchor_worker.stop()  # type: ignore[attr-defined]
    document = fetch_list(anchored, issue_list(anchored)["id"])
    assert document["merkle"] is None and document["anchor"] is None
    trust = write_json(tmp_path / "trust.json", anchored.client.get("/api/v1/trust").json())
    path = write_json(tmp_path / "list.json", document)
    unused = f"http://127.0.0.1:{free_port()}"  # nothing to ask the chain about
    code, output = verify_list_cli(str(path), "--rpc", unused, "--trust", str(trust), "--json")
    assert code == 1, output
    verdict = json.loads(output)
    assert verdict["failure"] == "not-anchored"
    assert [s["status"] for s in verdict["steps"]] == ["pass", "pass", "skipped", "skipped", "fail"]
    assert "at the seal's signing time" in verdict["steps"][1]["detail"]
    assert "fetch the list again later" in verdict["steps"][4]["detail"]

    answer = anchored.client.post(
        "/api/v1/evidence-lists/verify", json={"digest": document["digest"]}
    ).json()
    assert answer["valid"] is False and answer["failure"] == "not-anchored"


@pytest.mark.parametrize("backend", ["sqlite-local"])  # the CLI reads a file, not the service
@pytest.mark.parametrize(
    "content, args, message",
    [
        ("{", (), "not JSON"),
        ("[]", (), "JSON object"),
        ('{"id": "x", "id": "y"}', (), "duplicate"),
        (None, ("--digest", "abc"), "--digest"),
        (None, ("--digest", "g" * 64), "--digest"),
        ("extra", (), "extra"),
        ("format", (), "evidence-list/1"),
        ("seal", (), "seal"),
        ("missing", (), "no such file"),
    ],
    ids=[
        "truncated",
        "array",
        "duplicate-key",
        "short-digest",
        "non-hex-digest",
        "extra-field",
        "wrong-format",
        "seal-fields",
        "missing-file",
    ],
)
def test_bad_input_exits_2(
    api: Api, tmp_path: Path, content: str | None, args: tuple[str, ...], message: str
) -> None:
    document = issue_list(api) if content in (None, "extra", "format", "seal") else {}
    if content == "extra":
        document["note"] = "x"
    elif content == "format":
        document["body"]["format"] = "evidence-list/9"
    elif content == "seal":
        del document["seal"]["signed_at"]
    path = tmp_path / "list.json"
    if content == "missing":
        path = tmp_path / "nowhere.json"
    elif content in (None, "extra", "format", "seal"):
        write_json(path, document)
    else:
        path.write_text(content)
    code, output = verify_list_cli(str(path), "--rpc", "http://127.0.0.1:9", *args)
    assert code == 2, output
    assert message.lower() in " ".join(output.split()).lower(), output
    if content is None:
        code, output = verify_list_cli(str(path))  # no chain given
        assert code == 2 and "--rpc" in output


def test_list_documents_are_parsed_strictly() -> None:
    with pytest.raises(ListFormatError, match="at most"):
        ListDocument.from_json(b" " * (4 * 1024 * 1024 + 1))
    with pytest.raises(ListFormatError, match="not JSON"):
        ListDocument.from_json('{"body": NaN}')
    with pytest.raises(ListFormatError, match="seal record fields wrong") as refused:
        ListDocument.from_json(
            {
                "id": "L",
                "body": {"format": "evidence-list/1"},
                "digest": "00" * 32,
                "seal": {},
                "merkle": {"hash": "sha256-rfc9162"},
                "anchor": None,
            }
        )
    assert {e["loc"].split(".")[0] for e in refused.value.extra["errors"]} == {"seal", "merkle"}


# --------------------------------------------------------------------------- the endpoint


def test_the_service_checks_a_list_by_its_digest(anchored: Api) -> None:
    document = anchored_list(anchored)
    before = len(verified_events(anchored))
    response = anchored.client.post(
        "/api/v1/evidence-lists/verify", json={"digest": document["digest"].upper()}
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["valid"] is True, answer
    assert [(s["name"], s["status"]) for s in answer["steps"]] == [(name, "pass") for name in STEPS]
    assert answer["list"] == {
        "id": document["id"],
        "case_number": "杭市监罚〔2026〕7号",
        "issued_at": document["body"]["issued_at"],
    }
    assert set(answer) == {"valid", "failure", "steps", "list"}
    assert PARTY not in response.text and USCC[-4:] not in response.text
    assert len(verified_events(anchored)) == before  # anonymous checks are not recorded

    signed_in = anchored.client.post(
        "/api/v1/evidence-lists/verify", json=document, headers=anchored.auth("auditor")
    ).json()
    assert signed_in["valid"] is True
    assert signed_in["document"] == document
    assert signed_in["document"]["body"]["parties"][0]["name"] == PARTY
    events = verified_events(anchored)
    assert len(events) == before + 1
    assert events[-1].actor_id == anchored.users["auditor"]["id"]
    assert events[-1].details["list_id"] == document["id"] and events[-1].details["valid"]

    # a document sent whole is checked as sent
    tampered = copy.deepcopy(document)
    tampered["body"]["items"][1]["purpose"] = "证明当事人无违法行为"
    answer = anchored.client.post("/api/v1/evidence-lists/verify", json=tampered).json()
    assert answer["valid"] is False and answer["failure"] == "digest-mismatch"
    assert answer["list"]["id"] == document["id"] and "document" not in answer
    tampered = copy.deepcopy(document)
    tampered["anchor"]["block_number"] += 1
    answer = anchored.client.post("/api/v1/evidence-lists/verify", json=tampered).json()
    assert answer["failure"] == "not-anchored"


# Refusals: both backends answer a real list (test_the_service_checks_a_list_by_its_digest).
@pytest.mark.parametrize("backend", ["sqlite-local"])
@pytest.mark.parametrize(
    "kwargs, status, slug",
    [
        ({"json": {"digest": "ab" * 32}}, 404, "not-found"),
        ({"json": {"digest": "abc"}}, 400, "bad-request"),
        ({"json": {"digest": 7}}, 400, "bad-request"),
        ({"json": {"digest": "zz" * 32}}, 400, "bad-request"),
        ({"json": ["ab" * 32]}, 400, "bad-request"),
        ({"content": b"{", "headers": {"content-type": "application/json"}}, 400, "bad-request"),
        ({"json": {"digest": "ab" * 32, "id": "x"}}, 422, "malformed-list"),
    ],
    ids=["unknown", "short", "number", "non-hex", "array", "not-json", "partial-document"],
)
def test_the_endpoint_refuses_bad_input(
    api: Api, kwargs: dict[str, Any], status: int, slug: str
) -> None:
    before = len(verified_events(api))
    assert_problem(api.client.post("/api/v1/evidence-lists/verify", **kwargs), status, slug)
    signed_in = {**kwargs, "headers": {**kwargs.get("headers", {}), **api.auth("auditor")}}
    assert_problem(api.client.post("/api/v1/evidence-lists/verify", **signed_in), status, slug)
    assert len(verified_events(api)) == before  # nothing written


def test_a_document_that_is_not_issued_here_is_404(api: Api) -> None:
    document = fetch_list(api, issue_list(api)["id"])
    document["digest"] = flip_hex(document["digest"])
    response = api.client.post("/api/v1/evidence-lists/verify", json=document)
    assert_problem(response, 404, "not-found")


# --------------------------------------------------------------------------- the PDF


def test_every_page_tells_how_to_check_the_paper(api: Api) -> None:
    issued = issue_list(api)
    response = api.client.get(
        f"/api/v1/cases/{issued['body']['case']['id']}/evidence-list.pdf", headers=api.auth()
    )
    assert response.status_code == 200
    pages = pdf_pages_text(response.content)
    hint = f"核验verify:evidenceverify-list{issued['id']}.json--digest"
    for page in pages:
        assert f"清单摘要SHA-256:{issued['digest']}" in page and hint in page
    command = f"evidenceverify-list{issued['id']}.json--digest{issued['digest']}--rpc"
    assert command in pages[-1]  # the closing notes give the whole command
    assert f"GET/api/v1/evidence-lists/{issued['id']}" in pages[-1]


def test_a_long_list_has_the_hint_on_every_page() -> None:
    digest = "3f" * 32
    items = [
        EvidenceListItem(
            number=n,
            name=f"现场照片 IMG_{n:04d}.jpg",
            source="执法人员张三 2026-05-01",
            purpose="证明当事人销售过期食品",
            size_or_pages="2 页",
            sha256=f"{n:064x}",
        )
        for n in range(1, 120)
    ]
    document = EvidenceListDocument(
        case_number="杭市监罚〔2026〕12号",
        case_title="某某超市销售过期食品案",
        party="—",
        department="杭州市市场监督管理局",
        officer="张三",
        date="2026-05-01",
        items=items,
        list_digest=digest,
        list_id="01JD8X3K9Q2W5E7R1T4Y6U8I0P",
    )
    pages = pdf_pages_text(render_evidence_list_pdf(document))
    assert len(pages) > 3
    for number, page in enumerate(pages, start=1):
        assert "evidenceverify-list01JD8X3K9Q2W5E7R1T4Y6U8I0P.json--digest" in page, number
        assert f"第{number}页/共{len(pages)}页" in page
    with pytest.raises(EvidenceListFormatError, match="list_id"):
        EvidenceListDocument(
            case_number="1",
            case_title="t",
            party="p",
            department="d",
            officer="o",
            date="2026-05-01",
            list_digest=digest,
            list_id="01J; rm -rf /",
        )
