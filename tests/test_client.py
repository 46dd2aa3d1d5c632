"""The typed client against a real app: capture → get → case → evidence list → transfer →
the recipient's inbox → accept or reject, seals and the feeds — blocking over HTTP to a live
server, and async in-process through ``httpx.ASGITransport`` on both backends."""

from __future__ import annotations

import asyncio
import hashlib
import inspect

import httpx
import pytest

from evidence_service.client import (
    ApiError,
    AsyncEvidenceClient,
    Case,
    EvidenceClient,
    SealRecord,
    Transfer,
)
from tests import samples
from tests.fixtures.live_server import LiveServer
from tests.fixtures.service import Api

A, B = "HZ-SCJG", "HZ-ZHZF"
PDF = samples.pdf(1)


def test_both_clients_offer_the_same_calls() -> None:
    def calls(cls: type) -> set[str]:
        return {name for name, _ in inspect.getmembers(cls, inspect.isfunction) if name[0] != "_"}

    sync, asynchronous = calls(EvidenceClient), calls(AsyncEvidenceClient)
    assert sync - {"close", "upload"} == asynchronous - {"aclose"}


def test_a_blocking_round_trip_against_a_live_server(live_server: LiveServer) -> None:
    token = lambda role: live_server.users[role]["token"]  # noqa: E731
    with (
        EvidenceClient(live_server.url, token("reviewer")) as sender,
        EvidenceClient(live_server.url, token("penalty")) as recipient,
        EvidenceClient(live_server.url, token("officer")) as officer,
    ):
        me = sender.me()
        assert me["role"] == "reviewer"
        assert {d["code"] for d in sender.departments()} >= {A, B}
        item = sender.capture(PDF, port="documentary", metadata={"title": "现场检查笔录"})
        assert item.sha256 == hashlib.sha256(PDF).hexdigest()
        assert item.department_id == me["department_id"] and item.raw["finalized"] is True
        assert sender.get_evidence(item.id) == item
        assert sender.proof(item.id)["format"] == "evidence-proof/1"
        assert [e.id for e in sender.list_evidence(port="documentary").items] == [item.id]

        case = sender.create_case("SCJG-2026-7", kind="inspection", title="无证经营")
        assert isinstance(case, Case) and case.status == "open" and case.evidence_ids == []
        linked = sender.link_evidence(case.id, item.id, purpose="证明现场情况")
        assert linked.evidence_ids == [item.id] and sender.get_case(case.id) == linked
        issued = sender.issue_evidence_list(case.id)
        assert issued["body"]["items"][0]["purpose"] == "证明现场情况"

        to = recipient.me()["department_id"]
        sent = sender.create_transfer(to, case_id=case.id, note="请依法处理")
        assert isinstance(sent, Transfer) and sent.status == "pending"
        assert sent.note == "请依法处理" and sent.to_department_id == to
        assert sent.evidence_ids == [item.id] and sender.get_transfer(sent.id) == sent
        with pytest.raises(ApiError) as hidden:  # not theirs until accepted
            recipient.get_evidence(item.id)
        assert hidden.value.status == 404
        assert [t.id for t in recipient.inbox().items] == [sent.id]
        receipt = recipient.accept_transfer(sent.id)
        assert receipt["transfer_id"] == sent.id
        assert recipient.get_transfer(sent.id).status == "accepted"
        assert recipient.inbox().items == []
        assert recipient.get_evidence(item.id).sha256 == item.sha256

        digest = hashlib.sha256(b"a notice").hexdigest()
        record = sender.seal(me["department_id"], digest)
        assert isinstance(record, SealRecord) and record.digest == digest
        assert sender.verify_seal(record, digest)["valid"] is True
        assert sender.verify_seal(record, "0" * 64)["valid"] is False

        page = sender.evidence_feed()
        assert page.complete and [line["id"] for line in page.items] == [item.id]
        assert page.items[0]["case_ids"] == [case.id]
        assert sender.evidence_feed(after=page.next_cursor).items == []
        with pytest.raises(ApiError) as refused:
            officer.refusals_feed()
        assert refused.value.status == 403 and refused.value.problem["type"].endswith("/forbidden")
    with EvidenceClient(live_server.url, token("auditor")) as auditor:
        refusals = auditor.refusals_feed()
        assert {(r["status"], r["route"]) for r in refusals.items} >= {
            (404, "/api/v1/evidence/{evidence_id}"),
            (403, "/api/v1/feeds/refusals"),
        }
        assert [line["id"] for line in auditor.follow_evidence_feed(limit=1)] == [item.id]


def test_an_async_round_trip_in_process(api: Api) -> None:
    transport = httpx.ASGITransport(app=api.client.app)
    url = "http://core"

    async def run() -> None:
        async with (
            AsyncEvidenceClient(
                url, api.auth_as(A, "reviewer")["Authorization"][7:], transport=transport
            ) as sender,
            AsyncEvidenceClient(
                url, api.auth_as(B, "reviewer")["Authorization"][7:], transport=transport
            ) as recipient,
        ):
            item = await sender.capture(PDF, port="documentary", metadata={"title": "询问笔录"})
            assert (await sender.get_evidence(item.id)).sha256 == item.sha256
            case = await sender.create_case("SCJG-2026-8", kind="penalty", title="虚假宣传")
            await sender.link_evidence(case.id, item.id, purpose="证明违法事实")
            assert (await sender.get_case(case.id)).evidence_ids == [item.id]
            to = (await recipient.me())["department_id"]
            sent = await sender.create_transfer(to, evidence_ids=[item.id], note="移送")
            inbox = await recipient.inbox()
            assert [t.id for t in inbox.items] == [sent.id]
            rejected = await recipient.reject_transfer(sent.id, "不属本机关管辖")
            assert rejected.status == "rejected" and rejected.raw["reason"] == "不属本机关管辖"
            assert [line["id"] async for line in sender.follow_evidence_feed()] == [item.id]
            assert (await recipient.evidence_feed()).items == []
            with pytest.raises(ApiError) as bad:
                await sender.evidence_feed(limit=100_001)
            assert bad.value.status == 422
            # a module's commitment, anchored: the same document answers the same anchor
            anchored = await sender.anchor_document({"format": "draw-commitment/1", "k": 2})
            assert anchored["state"] == "pending" and anchored["merkle"] is None
            assert (await recipient.get_anchor(anchored["id"]))["digest"] == anchored["digest"]
            assert (await recipient.anchor_document({"k": 2, "format": "draw-commitment/1"}))[
                "id"
            ] == anchored["id"]

    asyncio.run(run())
