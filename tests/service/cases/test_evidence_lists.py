"""Evidence lists: ordered items with their purpose; issued lists sealed and anchored."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlmodel import Session, func, select

from chain.merkle import leaf_hash, verify_inclusion
from evidence_service.custody.models import CustodyEvent
from signing.jcs import canonicalize
from tests import samples
from tests.fixtures.service import Api
from tests.service.anchoring_helpers import wait_anchored
from tests.service.helpers import assert_problem, upload


def case_with_items(api: Api) -> tuple[str, list[str]]:
    case = api.client.post(
        "/api/v1/cases",
        json={"case_number": "L-1", "kind": "penalty", "title": "冷库温度超标"},
        headers=api.auth(),
    ).json()
    items = []
    for title, purpose in (("冷库温度记录", "证明温度超标"), ("现场照片", "证明现场状况")):
        evidence_id = upload(api, "documentary", samples.pdf(), metadata={"title": title}).json()[
            "id"
        ]
        response = api.client.post(
            f"/api/v1/cases/{case['id']}/evidence",
            json={"evidence_id": evidence_id, "purpose": purpose},
            headers=api.auth(),
        )
        assert response.status_code == 201
        items.append(evidence_id)
    return case["id"], items


def test_the_current_list_is_ordered_with_purposes(api: Api) -> None:
    case_id, items = case_with_items(api)
    current = api.client.get(
        f"/api/v1/cases/{case_id}/evidence-list.json", headers=api.auth()
    ).json()
    body = current["body"]
    assert body["format"] == "evidence-list/1" and body["case"]["case_number"] == "L-1"
    assert [(i["number"], i["evidence_id"], i["purpose"]) for i in body["items"]] == [
        (1, items[0], "证明温度超标"),
        (2, items[1], "证明现场状况"),
    ]
    assert body["items"][0]["name"] == "冷库温度记录" and body["items"][0]["pages"] == 3
    assert current["digest"] == hashlib.sha256(canonicalize(body)).hexdigest()
    assert_problem(
        api.client.get("/api/v1/cases/01NOPE/evidence-list.json", headers=api.auth()),
        404,
        "not-found",
    )


def test_an_issued_list_is_sealed_and_anchored(anchored: Api) -> None:
    case_id, _ = case_with_items(anchored)
    issued = anchored.client.post(
        f"/api/v1/cases/{case_id}/evidence-lists", headers=anchored.auth("reviewer")
    )
    assert issued.status_code == 201, issued.text
    document: dict[str, Any] = issued.json()
    assert document["digest"] == hashlib.sha256(canonicalize(document["body"])).hexdigest()
    seal = anchored.client.post(
        "/api/v1/seals/verify", json={"record": document["seal"], "digest": document["digest"]}
    ).json()
    assert seal["valid"] is True
    # anchored with the next batch: wait for an item captured after it
    later = upload(anchored, "documentary", samples.pdf()).json()["id"]
    wait_anchored(anchored, later)
    fetched = anchored.client.get(
        f"/api/v1/evidence-lists/{document['id']}", headers=anchored.auth()
    ).json()
    merkle, anchor = fetched["merkle"], fetched["anchor"]
    assert anchor is not None
    assert merkle["leaf_hash"] == leaf_hash(canonicalize(fetched["body"])).hex()
    verify_inclusion(
        merkle["leaf_index"],
        merkle["tree_size"],
        bytes.fromhex(merkle["leaf_hash"]),
        [bytes.fromhex(h) for h in merkle["path"]],
        bytes.fromhex(merkle["root"]),
    )
    batch = anchored.client.get(
        f"/api/v1/batches/{anchor['batch_id']}", headers=anchored.auth()
    ).json()
    assert batch["root"] == merkle["root"] and batch["status"] == "anchored"


def test_the_issued_list_downloads_as_a_sealed_pdf(api: Api) -> None:
    import io

    from pypdf import PdfReader

    case_id, _ = case_with_items(api)
    url = f"/api/v1/cases/{case_id}/evidence-list.pdf"
    assert_problem(api.client.get(url, headers=api.auth()), 404, "not-found")
    issued = api.client.post(
        f"/api/v1/cases/{case_id}/evidence-lists", headers=api.auth("reviewer")
    ).json()
    response = api.client.get(url, headers=api.auth())
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    text = "".join("".join(page.extract_text().split()) for page in reader.pages).replace(
        "\x00", ""
    )
    assert "证据清单" in text and "L-1" in text and "冷库温度记录" in text
    assert issued["digest"] in text
    assert "待上链" in text  # not anchored yet: the worker is off in this fixture
    last = reader.pages[-1]
    assert last["/Resources"]["/XObject"]  # the stamped seal image


def test_a_digest_opens_no_other_departments_list_nor_its_log(api: Api) -> None:
    """Issue 14, defect 7: a signed-in stranger gets the verdict, not the document (with its
    parties), and writes nothing into the log; the case's own department gets both."""
    case_id, _ = case_with_items(api)
    issued = api.client.post(
        f"/api/v1/cases/{case_id}/evidence-lists", headers=api.auth("reviewer")
    ).json()

    def verified_events() -> int:
        with Session(api.services.engine) as session:
            return session.exec(
                select(func.count())
                .select_from(CustodyEvent)
                .where(CustodyEvent.action == "verified")
            ).one()

    stranger = api.client.post(
        "/api/v1/evidence-lists/verify",
        json={"digest": issued["digest"]},
        headers=api.auth_as("HZ-ZHZF", "officer"),
    )
    assert stranger.status_code == 200 and "document" not in stranger.json()
    assert verified_events() == 0
    own = api.client.post(
        "/api/v1/evidence-lists/verify", json={"digest": issued["digest"]}, headers=api.auth()
    )
    assert own.status_code == 200 and own.json()["document"]["body"] == issued["body"]
    assert verified_events() == 1
