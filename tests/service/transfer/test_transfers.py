"""Transfers (移送): sending a sealed, anchored manifest; opening, accepting with a sealed
receipt, rejecting and withdrawing; what each grants; the package; the public check."""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session, func, select

from evidence_service.access.models import TransferGrant
from evidence_service.access.trust import service_pins
from evidence_service.anchoring.models import AnchorLeaf, LeafKind
from evidence_service.capture.models import IdempotencyRecord
from evidence_service.custody.models import CustodyEvent
from evidence_service.transfer import transfers
from evidence_service.transfer.models import Transfer
from evidence_service.verify.package import package_verdict
from signing.jcs import canonicalize
from tests.fixtures.service import Api
from tests.service.anchoring_helpers import wait_anchored
from tests.service.helpers import assert_problem, counts, upload

A, B, PENALTY, COURT = "HZ-SCJG", "HZ-ZHZF", "HZ-CFK", "HZ-XHFY"
URL = "/api/v1/transfers"


# --------------------------------------------------------------------------- helpers


def dept(api: Api, code: str) -> str:
    return next(d["id"] for d in api.departments if d["code"] == code)


def capture(api: Api, count: int, *, auth: dict[str, str] | None = None) -> list[str]:
    ids = []
    for n in range(count):
        data = f"transfer item {n}\n".encode() * 40 + os.urandom(16)
        response = upload(
            api,
            "electronic",
            data,
            metadata={"title": f"电子数据 {n + 1}"},
            filename=f"温度记录-{n + 1}.csv",
            headers=auth,
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


def open_case(api: Api, ids: list[str], *, number: str = "杭市监罚〔2026〕7号") -> str:
    case = api.client.post(
        "/api/v1/cases",
        json={"case_number": number, "kind": "penalty", "title": "冷库温度超标"},
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
    return str(case.json()["id"])


def send(
    api: Api, body: dict[str, Any], *, key: str | None = None, auth: dict[str, str] | None = None
) -> httpx.Response:
    headers = {**(auth or api.auth("reviewer")), **({"Idempotency-Key": key} if key else {})}
    return api.client.post(URL, json=body, headers=headers)


def sent(api: Api, ids: list[str], to: str = PENALTY) -> dict[str, Any]:
    response = send(api, {"to_department_id": dept(api, to), "evidence_ids": ids})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def tally(api: Api) -> dict[str, int]:
    """Every row a transfer request may write (the custody log counts its events)."""
    with Session(api.services.engine) as session:
        extra = {
            model.__name__: session.exec(select(func.count()).select_from(model)).one()
            for model in (Transfer, TransferGrant, AnchorLeaf, IdempotencyRecord)
        }
    return {**counts(api), **extra}


def events(api: Api, action: str) -> list[CustodyEvent]:
    with Session(api.services.engine) as session:
        query = select(CustodyEvent).where(CustodyEvent.action == action)
        return list(session.exec(query.order_by(CustodyEvent.seq)).all())  # type: ignore[arg-type]


def row(api: Api, transfer_id: str) -> Transfer:
    with Session(api.services.engine) as session:
        found = session.get(Transfer, transfer_id)
    assert found is not None
    return found


def leaf(api: Api, seq: int | None) -> AnchorLeaf:
    with Session(api.services.engine) as session:
        found = session.get(AnchorLeaf, seq)
    assert found is not None
    return found


def grants(api: Api) -> set[tuple[str, str, str]]:
    with Session(api.services.engine) as session:
        rows = session.exec(select(TransferGrant)).all()
    return {(g.department_id, g.evidence_id, g.transfer_id) for g in rows}


def leaf_hex(body: dict[str, Any]) -> str:
    return hashlib.sha256(b"\x00" + canonicalize(body)).hexdigest()


def seal_verdict(api: Api, record: dict[str, Any], digest: str) -> dict[str, Any]:
    response = api.client.post("/api/v1/seals/verify", json={"record": record, "digest": digest})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def get(api: Api, path: str, auth: dict[str, str]) -> httpx.Response:
    return api.client.get(f"{URL}/{path}", headers=auth)


def post(api: Api, path: str, auth: dict[str, str], body: Any = None) -> httpx.Response:
    return api.client.post(f"{URL}/{path}", json=body, headers=auth)


# --------------------------------------------------------------------------- sending


def test_a_case_transfer_is_sealed_anchored_and_recorded(api: Api) -> None:
    ids = capture(api, 2)
    case_id = open_case(api, [ids[1], ids[0]])  # the list order, not the capture order
    body = {"to_department_id": dept(api, PENALTY), "case_id": case_id, "note": "请审查"}
    response = send(api, body, key="send-1")
    assert response.status_code == 201, response.text
    transfer = response.json()
    assert transfer["status"] == "pending" and transfer["note"] == "请审查"
    assert [i["evidence_id"] for i in transfer["items"]] == [ids[1], ids[0]]
    assert transfer["from_department"]["code"] == A
    assert transfer["to_department"]["id"] == dept(api, PENALTY)
    assert transfer["case"]["id"] == case_id and transfer["evidence_list"] is None
    assert transfer["manifest_anchor"]["state"] == "pending"

    # the row: the manifest, its digest, the sender's seal over it, its leaf
    stored = row(api, transfer["id"])
    manifest = stored.manifest
    assert manifest["format"] == "evidence-package/1"
    assert manifest["transfer"]["id"] == transfer["id"]
    assert manifest["transfer"]["case"]["case_number"] == "杭市监罚〔2026〕7号"
    assert manifest["transfer"]["created_by"] == api.users["reviewer"]["id"]
    digest = hashlib.sha256(canonicalize(manifest)).hexdigest()
    assert stored.manifest_digest == transfer["manifest_digest"] == digest
    assert stored.seal == transfer["seal"] and stored.seal["digest"] == digest
    seal = seal_verdict(api, stored.seal, digest)
    assert seal["valid"] is True and seal["department_id"] == dept(api, A)
    manifest_leaf = leaf(api, stored.manifest_leaf_seq)
    assert manifest_leaf.kind == LeafKind.transfer_manifest
    assert manifest_leaf.leaf_hash == leaf_hex(manifest) == transfer["manifest_anchor"]["leaf_hash"]

    # one custody event per item, naming the transfer and the recipient
    recorded = events(api, "transferred")
    assert [e.evidence_id for e in recorded] == [ids[1], ids[0]]
    for event in recorded:
        assert event.actor_id == api.users["reviewer"]["id"]
        assert event.details["transfer_id"] == transfer["id"]
        assert event.details["to_department_id"] == dept(api, PENALTY)

    # the same key and request: the same answer, nothing new; another request: refused
    before = tally(api)
    again = send(api, body, key="send-1")
    assert again.status_code == 201 and again.json() == transfer
    changed = send(api, {**body, "note": "另一份"}, key="send-1")
    assert_problem(changed, 422, "idempotency-conflict")
    assert tally(api) == before

    # both ends see it; a third department does not
    penalty = api.auth("penalty")
    assert get(api, transfer["id"], penalty).json()["manifest_digest"] == digest
    inbox = api.client.get(URL, params={"direction": "in"}, headers=penalty).json()
    assert [t["id"] for t in inbox["items"]] == [transfer["id"]]
    assert_problem(get(api, transfer["id"], api.auth_as(B, "reviewer")), 404, "not-found")


def test_refused_requests_write_nothing(api: Api) -> None:
    mine = capture(api, 1)[0]
    theirs = capture(api, 1, auth=api.auth_as(B, "officer"))[0]
    empty_case = open_case(api, [], number="A-empty")
    their_case = api.client.post(
        "/api/v1/cases",
        json={"case_number": "B-1", "kind": "inspection", "title": "t"},
        headers=api.auth_as(B, "officer"),
    ).json()["id"]
    to = dept(api, PENALTY)
    unknown = "01JZZZZZZZZZZZZZZZZZZZZZZZ"
    refused: list[tuple[dict[str, Any], int]] = [
        ({"to_department_id": to, "case_id": empty_case, "evidence_ids": [mine]}, 400),
        ({"to_department_id": to}, 400),
        ({"to_department_id": dept(api, A), "evidence_ids": [mine]}, 400),  # itself
        ({"to_department_id": unknown, "evidence_ids": [mine]}, 404),
        ({"to_department_id": to, "evidence_ids": [theirs]}, 404),  # not ours: unknown
        ({"to_department_id": to, "evidence_ids": [mine, unknown]}, 404),
        ({"to_department_id": to, "evidence_ids": []}, 400),
        ({"to_department_id": to, "evidence_ids": [mine, mine]}, 400),
        ({"to_department_id": to, "case_id": their_case}, 404),
        ({"to_department_id": to, "case_id": empty_case}, 400),
    ]
    before = tally(api)
    for n, (body, status) in enumerate(refused):
        slug = {400: "bad-request", 404: "not-found"}[status]
        assert_problem(send(api, body, key=f"refused-{n}"), status, slug)
    assert_problem(
        send(api, {"to_department_id": to, "evidence_ids": [mine], "extra": 1}),
        422,
        "invalid-request",
    )
    assert tally(api) == before


def test_a_failure_while_writing_leaves_no_transfer(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = capture(api, 2)
    calls = []
    real = transfers.append_event

    def failing(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs["evidence_id"])
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(transfers, "append_event", failing)
    before = tally(api)
    body = {"to_department_id": dept(api, PENALTY), "evidence_ids": ids}
    with pytest.raises(RuntimeError):
        send(api, body, key="half")
    after = tally(api)
    # no transfer, seal event, leaf, item event or stored answer
    assert after == before
    assert events(api, "transferred") == [] and events(api, "sealed") == []
    monkeypatch.setattr(transfers, "append_event", real)
    retried = send(api, body, key="half")  # the key was not used up
    assert retried.status_code == 201, retried.text


# --------------------------------------------------------------------------- deciding


def test_accepting_seals_a_receipt_and_grants_exactly_the_items(api: Api) -> None:
    ids = capture(api, 3)
    transfer = sent(api, ids[:2])
    tid, penalty, sender = transfer["id"], api.auth("penalty"), api.auth("reviewer")
    problem = assert_problem(post(api, f"{tid}/accept", sender), 403, "forbidden")
    assert "receiving department" in problem["detail"]
    assert_problem(post(api, f"{tid}/accept", api.auth_as(B, "reviewer")), 404, "not-found")
    assert_problem(get(api, f"{tid}/receipt", sender), 404, "not-found")
    hidden = api.client.get(f"/api/v1/evidence/{ids[0]}", headers=penalty)
    assert hidden.status_code == 404  # nothing granted while pending

    accepted = post(api, f"{tid}/accept", penalty)
    assert accepted.status_code == 200, accepted.text
    answer = accepted.json()
    receipt = answer["receipt"]
    stored = row(api, tid)
    assert stored.verdict is not None and stored.opened_at is not None  # opened first
    assert stored.verdict["valid"] is False  # nothing is anchored here: pending, not valid
    first = receipt["verdict"]["first_failure"]
    assert receipt["verdict"]["valid"] is False and first["status"] in ("pending", "error")
    assert {k: receipt[k] for k in receipt if k not in ("accepted_at", "verdict")} == {
        "format": "evidence-transfer-receipt/1",
        "transfer_id": tid,
        "manifest_digest": transfer["manifest_digest"],
        "from_department_id": dept(api, A),
        "to_department_id": dept(api, PENALTY),
        "accepted_by": api.users["penalty"]["id"],
    }
    digest = hashlib.sha256(canonicalize(receipt)).hexdigest()
    assert answer["digest"] == stored.receipt_digest == digest
    seal = seal_verdict(api, answer["seal"], digest)
    assert seal["valid"] is True and seal["department_id"] == dept(api, PENALTY)
    receipt_leaf = leaf(api, stored.receipt_leaf_seq)
    assert receipt_leaf.kind == LeafKind.transfer_receipt
    assert receipt_leaf.leaf_hash == leaf_hex(receipt) == answer["anchor"]["leaf_hash"]

    assert stored.status == "accepted" and stored.decided_by == api.users["penalty"]["id"]
    assert grants(api) == {(dept(api, PENALTY), i, tid) for i in ids[:2]}
    opened = events(api, "transfer_opened")
    assert [(e.evidence_id, e.details["transfer_id"]) for e in opened] == [(None, tid)]
    assert [e.evidence_id for e in events(api, "transfer_accepted")] == ids[:2]
    granted = api.client.get(f"/api/v1/evidence/{ids[0]}", headers=penalty)
    assert granted.status_code == 200, granted.text
    not_sent = api.client.get(f"/api/v1/evidence/{ids[2]}", headers=penalty)
    assert not_sent.status_code == 404

    # the sender reads the receipt; the auditor reads every transfer's record
    assert get(api, f"{tid}/receipt", sender).json() == answer
    auditor = api.auth_as("ZJ-SFT", "auditor")
    assert get(api, tid, auditor).json()["receipt"] == answer
    assert get(api, tid, sender).json()["status"] == "accepted"

    # decided: nothing more can happen to it
    before = tally(api)
    assert_problem(post(api, f"{tid}/accept", penalty), 409, "transfer-state")
    assert_problem(post(api, f"{tid}/reject", penalty, {"reason": "晚了"}), 409, "transfer-state")
    assert_problem(post(api, f"{tid}/withdraw", sender), 409, "transfer-state")
    assert tally(api) == before


def test_rejected_and_withdrawn_transfers_grant_nothing(api: Api) -> None:
    ids = capture(api, 1)
    first, second = sent(api, ids, PENALTY)["id"], sent(api, ids, COURT)["id"]
    penalty, court, sender = api.auth("penalty"), api.auth("court"), api.auth("reviewer")

    before = tally(api)
    assert_problem(post(api, f"{first}/reject", sender, {"reason": "x"}), 403, "forbidden")
    assert_problem(post(api, f"{first}/reject", penalty, {}), 422, "invalid-request")
    assert_problem(post(api, f"{first}/reject", penalty, {"reason": "  "}), 400, "bad-request")
    assert_problem(post(api, f"{second}/withdraw", court), 403, "forbidden")
    assert tally(api) == before

    rejected = post(api, f"{first}/reject", penalty, {"reason": "证据不全"})
    assert rejected.status_code == 200, rejected.text
    assert (rejected.json()["status"], rejected.json()["reason"]) == ("rejected", "证据不全")
    withdrawn = post(api, f"{second}/withdraw", sender, {"reason": "发错部门"})
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["status"] == "withdrawn"
    assert [e.details["transfer_id"] for e in events(api, "transfer_rejected")] == [first]
    assert [e.details["transfer_id"] for e in events(api, "transfer_withdrawn")] == [second]

    # closed: the recipient can no longer open, accept or fetch it; nothing was granted
    before = tally(api)
    assert_problem(post(api, f"{first}/open", penalty), 409, "transfer-state")
    assert_problem(post(api, f"{second}/accept", court), 409, "transfer-state")
    assert_problem(get(api, f"{first}/package.zip", penalty), 409, "transfer-state")
    assert_problem(get(api, f"{second}/package.zip", court), 409, "transfer-state")
    assert_problem(post(api, f"{first}/withdraw", sender), 409, "transfer-state")
    assert tally(api) == before
    assert grants(api) == set()
    for auth in (penalty, court):
        assert api.client.get(f"/api/v1/evidence/{ids[0]}", headers=auth).status_code == 404

    # the sender still has its package: a valid ZIP of the manifest it sealed
    package = get(api, f"{second}/package.zip", sender)
    assert package.status_code == 200, package.text
    assert package.headers["content-type"] == "application/zip"
    assert f'filename="transfer-{second}.zip"' in package.headers["content-disposition"]
    raw = zipfile.ZipFile(io.BytesIO(package.content)).read("manifest.json")
    assert hashlib.sha256(raw).hexdigest() == row(api, second).manifest_digest
    downloaded = events(api, "downloaded")
    assert [(e.evidence_id, e.details["transfer_id"]) for e in downloaded] == [(ids[0], second)]


def test_a_third_department_sees_nothing(api: Api) -> None:
    tid = sent(api, capture(api, 1))["id"]
    before = tally(api)
    # another inspection department's reviewer, and a court it was not sent to (which may
    # not withdraw anything at all: the access policy refuses that by role)
    for auth, may_withdraw in ((api.auth_as(B, "reviewer"), True), (api.auth("court"), False)):
        responses = [
            get(api, tid, auth),
            get(api, f"{tid}/receipt", auth),
            get(api, f"{tid}/package.zip", auth),
            post(api, f"{tid}/open", auth),
            post(api, f"{tid}/accept", auth),
            post(api, f"{tid}/reject", auth, {"reason": "x"}),
        ]
        if may_withdraw:
            responses.append(post(api, f"{tid}/withdraw", auth))
        for response in responses:
            assert_problem(response, 404, "not-found")
        listed = api.client.get(URL, headers=auth).json()
        assert listed["items"] == []
    assert tally(api) == before


def test_the_inbox_and_outbox_page_newest_first(api: Api) -> None:
    ids = capture(api, 1)
    t1, t2 = sent(api, ids, PENALTY)["id"], sent(api, ids, PENALTY)["id"]
    t3 = sent(api, ids, COURT)["id"]
    sender, penalty = api.auth("reviewer"), api.auth("penalty")

    def page(auth: dict[str, str], **params: Any) -> dict[str, Any]:
        response = api.client.get(URL, params=params, headers=auth)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    first = page(sender, direction="out", limit=2)
    assert [t["id"] for t in first["items"]] == [t3, t2]
    rest = page(sender, direction="out", limit=2, cursor=first["next_cursor"])
    assert [t["id"] for t in rest["items"]] == [t1] and rest["next_cursor"] is None
    assert [t["id"] for t in page(penalty, direction="in")["items"]] == [t2, t1]
    assert [t["id"] for t in page(api.auth("court"), direction="in")["items"]] == [t3]
    assert page(penalty, direction="out")["items"] == []
    assert post(api, f"{t1}/withdraw", sender).status_code == 200
    pending = page(penalty, direction="in", status="pending")["items"]
    assert [(t["id"], t["status"], t["item_count"]) for t in pending] == [(t2, "pending", 1)]
    assert {t["id"] for t in page(api.auth_as("ZJ-SFT", "auditor"))["items"]} == {t1, t2, t3}
    bad = api.client.get(URL, params={"cursor": "not-a-cursor"}, headers=sender)
    assert_problem(bad, 400, "bad-request")


# --------------------------------------------------------------------------- anchored


def test_a_transfer_opens_valid_and_its_package_verifies(anchored: Api, tmp_path: Path) -> None:
    api = anchored
    api.services.pki.issue(api.users["officer"]["id"])  # custodial key: captures are signed
    ids = capture(api, 2)
    case_id = open_case(api, ids)
    issued = api.client.post(
        f"/api/v1/cases/{case_id}/evidence-lists", headers=api.auth("reviewer")
    )
    assert issued.status_code == 201, issued.text
    wait_anchored(api, capture(api, 1)[0])  # items and list are in an anchored batch now
    response = send(api, {"to_department_id": dept(api, COURT), "case_id": case_id})
    assert response.status_code == 201, response.text
    transfer = response.json()
    tid, digest, court = transfer["id"], transfer["manifest_digest"], api.auth("court")
    assert transfer["evidence_list"]["id"] == issued.json()["id"]
    wait_anchored(api, capture(api, 1)[0])  # and the manifest's leaf

    opened = post(api, f"{tid}/open", court)
    assert opened.status_code == 200, opened.text
    assert opened.json()["valid"] is True, opened.json()["problems"]
    accepted = post(api, f"{tid}/accept", court)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["receipt"]["verdict"] == {"valid": True, "first_failure": None}

    with api.client.stream("GET", f"{URL}/{tid}/package.zip", headers=court) as streamed:
        assert streamed.status_code == 200
        data = b"".join(streamed.iter_raw())
    path = tmp_path / "transfer.zip"
    path.write_bytes(data)
    archive = zipfile.ZipFile(path)
    assert hashlib.sha256(archive.read("manifest.json")).hexdigest() == digest
    assert {"evidence-list.json", "evidence-list.pdf", "report.html"} <= set(archive.namelist())
    verdict = package_verdict(
        path, w3=api.services.chain_reader(), pins=service_pins(api.services)
    ).as_json()
    assert verdict["valid"] is True, verdict["problems"]
    assert verdict["manifest_sha256"] == digest and verdict["items"] == 2
    assert {e.evidence_id for e in events(api, "downloaded")} == set(ids)

    # anyone with the digest: the verdict, the status, the anchors; no titles or file names
    public = api.client.get(f"{URL}/verify/{digest}")
    assert public.status_code == 200, public.text
    answer = public.json()
    assert answer["verdict"]["valid"] is True and answer["status"] == "accepted"
    assert answer["manifest_anchor"]["state"] == "anchored"
    assert answer["receipt"]["digest"] == accepted.json()["digest"]
    for private in ("电子数据", "温度记录", "冷库温度超标"):
        assert private not in public.text
    posted = api.client.post(f"{URL}/verify", json={"manifest_digest": digest})
    assert posted.status_code == 200 and posted.json()["verdict"]["valid"] is True
    mine = get(api, f"verify/{digest}", court).json()  # an end of it sees the titles
    assert mine["verdict"]["transfer"]["case"]["title"] == "冷库温度超标"
    assert_problem(api.client.get(f"{URL}/verify/{'0' * 64}"), 404, "not-found")
    assert_problem(api.client.get(f"{URL}/verify/not-a-digest"), 400, "bad-request")
    assert json.loads(archive.read("evidence-list.json"))["id"] == issued.json()["id"]


def test_the_public_check_reuses_a_recent_verdict(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A check hashes every file: callers outside the transfer get a verdict at most five
    minutes old, its two ends a fresh one."""
    digest = sent(api, capture(api, 1))["manifest_digest"]
    checks: list[str] = []
    real = transfers.service_verdict

    def counted(*args: Any, **kwargs: Any) -> Any:
        checks.append("checked")
        return real(*args, **kwargs)

    monkeypatch.setattr(transfers, "service_verdict", counted)
    first = api.client.get(f"{URL}/verify/{digest}")
    second = api.client.get(f"{URL}/verify/{digest}", headers=api.auth_as(B, "officer"))
    assert first.status_code == second.status_code == 200
    assert len(checks) == 1
    assert first.json()["verdict"]["checked_at"] == second.json()["verdict"]["checked_at"]
    assert get(api, f"verify/{digest}", api.auth("penalty")).status_code == 200
    assert len(checks) == 2  # the recipient is checked afresh
    monkeypatch.setattr(transfers, "PUBLIC_VERDICT_SECONDS", 0.0)
    assert api.client.get(f"{URL}/verify/{digest}").status_code == 200
    assert len(checks) == 3
