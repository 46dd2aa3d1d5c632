"""The access matrix: every role × every route × its own / another department's records.

Expected answers come from the route's rule in evidence_service/policy.py: a role the route
refuses gets 403 whatever the ids; a record of another department answers 404 exactly as an
unknown id does; a record every department sees (a party, a department) or a transfer's other
end answers 403 where only its keeper or one end may act; otherwise the route runs. Refusals
are checked for every method (and must write nothing); allowed calls are then made too, with an
empty body, and must get the route's own answer (a write's effects are what the feature tests
check). The routes come from the app's OpenAPI document, so a new route without a rule fails.
It runs on both backends.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, func, select

from evidence_service.access.models import Role
from evidence_service.api.policy import RESOLVERS, RULES, rule_for
from evidence_service.capture.models import Evidence
from evidence_service.cases.models import GraphEdge
from evidence_service.custody.models import CustodyEvent
from tests import samples
from tests.fixtures.service import Api
from tests.service.helpers import assert_problem, upload

A, B, P = "HZ-SCJG", "HZ-ZHZF", "HZ-CFK"  # two inspection departments and a penalty one
#: (department, role) of every caller; the demo seeds one user of each.
CALLERS = [
    (A, "officer"),
    (A, "reviewer"),
    (B, "officer"),
    (B, "reviewer"),
    (P, "penalty"),
    ("HZ-XHFY", "court"),
    ("ZJ-SFT", "auditor"),
    ("ZJ-SFT", "admin"),
]
#: Whose records a caller's "own" are (departments whose people can create records).
OWNER_OF = {A: A, B: B, P: P}
OTHER_OF = {A: B, B: A, P: A, "HZ-XHFY": A, "ZJ-SFT": A}
#: Path parameters that are not a department's record: any well-formed value will do.
FREE_PARAMS = {
    "role": "thumbnail",
    "serial": "1",
    "code": "FS-ACCESS",
    "cosignature_id": "01JZZZZZZZZZZZZZZZZZZZZZZZ",
    "batch_id": "1",
    "manifest_digest": "0" * 64,
    # the joint-inspection module's own records (its own 404s; the core's policy by role)
    "task_id": "01JZZZZZZZZZZZZZZZZZZZZZZZ",
    "warning_id": "01JZZZZZZZZZZZZZZZZZZZZZZZ",
    "follow_up_id": "01JZZZZZZZZZZZZZZZZZZZZZZZ",
    "draw_id": "01JZZZZZZZZZZZZZZZZZZZZZZZ",
    "credit_code": "91330400000000019M",
    "item_code": "fire.exits",
}


@dataclass
class Records:
    """One department's records, by the path parameter that names them."""

    ids: dict[str, str] = field(default_factory=dict)
    transfer_to: str | None = None  # the department the records' transfer was sent to


def _ok(response: Any, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def make_records(api: Api, dept: str, worker: str, reviewer: str | None) -> Records:
    auth = api.auth_as(dept, worker)
    item = _ok(upload(api, "documentary", samples.pdf(), headers=auth))["id"]
    case = _ok(
        api.client.post(
            "/api/v1/cases",
            json={"case_number": f"{dept}-2026-1", "kind": "inspection", "title": "access"},
            headers=auth,
        )
    )["id"]
    _ok(api.client.post(f"/api/v1/cases/{case}/evidence", json={"evidence_id": item}, headers=auth))
    sealer = api.auth_as(dept, reviewer or worker)  # an issued list carries the seal: reviewers
    listed = _ok(api.client.post(f"/api/v1/cases/{case}/evidence-lists", headers=sealer))
    party = _ok(
        api.client.post(
            "/api/v1/parties", json={"kind": "organisation", "name": f"{dept} 相对人"}, headers=auth
        )
    )["id"]
    place = _ok(api.client.post("/api/v1/places", json={"address": f"{dept} 现场"}, headers=auth))[
        "id"
    ]
    data = samples.mp4(1000)
    upload_session = _ok(
        api.client.post(
            "/api/v1/uploads",
            json={"port": "remote_video", "metadata": {"title": "t"}, "total_size": len(data)},
            headers=auth,
        )
    )["id"]
    ids = {
        "evidence_id": item,
        "case_id": case,
        "list_id": listed["id"],
        "party_id": party,
        "place_id": place,
        "upload_id": upload_session,
        "node_id": item,
        "officer_id": api.person(dept, worker)["id"],
        "department_id": next(d["id"] for d in api.departments if d["code"] == dept),
    }
    if reviewer and ("POST", "/api/v1/transfers") in routes(api):
        to = next(d["id"] for d in api.departments if d["code"] == "HZ-XHFY")
        sent = api.client.post(
            "/api/v1/transfers",
            json={"to_department_id": to, "evidence_ids": [item]},
            headers=api.auth_as(dept, reviewer),
        )
        assert sent.status_code == 201, sent.text
        ids["transfer_id"] = sent.json()["id"]
        return Records(ids, transfer_to="HZ-XHFY")
    return Records(ids)


def routes(api: Api) -> list[tuple[str, str]]:
    out = []
    for path, operations in api.client.app.openapi()["paths"].items():  # type: ignore[attr-defined]
        out += [(method.upper(), path) for method in operations]
    return sorted(out)


def fill(path: str, records: Records) -> tuple[str, list[str]] | None:
    """The path with ids of ``records``; the parameters that name a department's record. None
    when the records have no such id (a court owns no upload)."""
    named = []
    for name in re.findall(r"{(\w+)}", path):
        value = records.ids.get(name) or FREE_PARAMS.get(name)
        if value is None:
            return None
        if name in RESOLVERS and name in records.ids:
            named.append(name)
        path = path.replace("{" + name + "}", value)
    return path, named


def call(api: Api, method: str, url: str, auth: dict[str, str]) -> Any:
    body = None if method in ("GET", "HEAD", "DELETE") else {}
    return api.client.request(method, url, json=body, headers=auth)


def totals(api: Api) -> tuple[int, int, int]:
    with Session(api.services.engine) as session:
        return (
            session.exec(select(func.count()).select_from(Evidence)).one(),
            session.exec(select(func.count()).select_from(CustodyEvent)).one(),
            session.exec(select(func.count()).select_from(GraphEdge)).one(),
        )


#: Records every department sees: the party register, the departments themselves.
SHARED = {"party_id", "department_id"}


def test_every_route_has_a_rule(api: Api) -> None:
    for method, path in routes(api):
        rule_for(method, path)  # raises PolicyGapError for a route nobody gave a rule
    stale = set(RULES) - set(routes(api))
    assert not stale, f"rules for routes that do not exist: {sorted(stale)}"
    gap = api.client.get("/api/v1/ports")  # a public route answers without a token
    assert gap.status_code == 200


def expected(
    method: str, path: str, role: str, relation: str, named: list[str], side: str | None = None
) -> int | None:
    """403 or 404 when the policy refuses; None when the route should run."""
    rule = rule_for(method, path)
    assert rule.roles is not None
    if Role(role) not in rule.roles:
        return 403
    if Role(role) in rule.oversight:
        return None
    personal = {"upload_id", "officer_id"} & set(named)  # the records' are their worker's
    if personal and (relation == "other" or role not in ("officer", "penalty")):
        return 404
    if relation == "other" and set(named) - SHARED:
        return 404
    if relation == "other" and rule.keeper and Role(role) not in rule.oversight:
        return 403  # a record all see (a party, a department): acted on by its keeper alone
    if side is not None and rule.side is not None and rule.side != side:
        return 403  # the other end of a transfer
    return None


def test_access_matrix(api: Api) -> None:
    records = {
        A: make_records(api, A, "officer", "reviewer"),
        B: make_records(api, B, "officer", "reviewer"),
        P: make_records(api, P, "penalty", "penalty"),
    }
    allowed: list[tuple[str, str, dict[str, str], str]] = []
    refusals = 0
    before = totals(api)
    for (dept, role), (method, path) in itertools.product(CALLERS, routes(api)):
        if rule_for(method, path).roles is None:
            continue  # public: checked by the public-endpoint tests
        auth = api.auth_as(dept, role)
        for relation, owner in (("own", OWNER_OF.get(dept)), ("other", OTHER_OF[dept])):
            filled = fill(path, records[owner]) if owner else None
            if filled is None:
                continue
            url, named = filled
            side = None
            if "transfer_id" in named and records[owner].transfer_to == dept:
                relation, side = "own", "receiving"  # the receiving end is a party to it
            elif "transfer_id" in named and relation == "own":
                side = "sending"
            where = f"{dept}/{role} {method} {url} ({relation})"
            status = expected(method, path, role, relation, named, side)
            if status is None:
                allowed.append((method, url, auth, where))
                continue
            response = call(api, method, url, auth)
            assert response.status_code == status, f"{where}: {response.text}"
            if status == 403 and method != "HEAD":
                detail = response.json()["detail"]
                other_end = "yours sent" if side == "sending" else "yours received"
                assert role in detail or other_end in detail, where
            refusals += 1
    assert totals(api) == before, "a refused request wrote something"
    assert refusals > 500
    # Allowed calls run: reads first, then writes (deletions last), each with an empty body —
    # the policy lets it through, so the answer is the route's own (2xx, 409 or 422), never a
    # refusal and never "no such record" for a record the caller may see.
    allowed.sort(key=lambda call: (call[0] not in ("GET", "HEAD"), call[0] == "DELETE"))
    deleted: set[str] = set()
    for method, url, auth, where in allowed:
        response = call(api, method, url, auth)
        assert response.status_code not in (401, 403), f"{where}: {response.text}"
        if response.status_code == 404 and method != "HEAD" and url not in deleted:
            detail = response.json()["detail"]
            assert not detail.startswith(("no evidence", "no case", "no list", "no transfer")), (
                f"{where}: {detail}"
            )
        if method == "DELETE" and response.is_success:
            deleted.add(url)
    assert sum(method not in ("GET", "HEAD") for method, *_ in allowed) > 50


def test_lists_show_only_what_the_department_may_see(api: Api) -> None:
    mine = upload(api, "documentary", samples.pdf()).json()["id"]
    theirs = upload(api, "documentary", samples.pdf(), headers=api.auth_as(B, "officer")).json()[
        "id"
    ]

    def listed(auth: dict[str, str]) -> set[str]:
        body = _ok(api.client.get("/api/v1/evidence", headers=auth), 200)
        return {item["id"] for item in body["items"]}

    assert listed(api.auth_as(A, "officer")) == {mine}
    assert listed(api.auth_as(B, "reviewer")) == {theirs}
    assert listed(api.auth_as("HZ-XHFY", "court")) == set()
    assert listed(api.auth_as("ZJ-SFT", "auditor")) == {mine, theirs}
    # Asking for the other department by name changes nothing.
    other = next(d["id"] for d in api.departments if d["code"] == B)
    named = api.client.get(
        "/api/v1/evidence", params={"department_id": other}, headers=api.auth_as(A, "officer")
    )
    assert _ok(named, 200)["items"] == []
    # The auditor reads the proof and custody of anything, never the bytes.
    auditor = api.auth_as("ZJ-SFT", "auditor")
    assert api.client.get(f"/api/v1/evidence/{theirs}/proof", headers=auditor).status_code == 200
    custody = api.client.get(f"/api/v1/evidence/{theirs}/custody", headers=auditor)
    assert custody.status_code == 200
    assert_problem(
        api.client.get(f"/api/v1/evidence/{theirs}/content", headers=auditor), 404, "not-found"
    )
    # Another department's item in a request body is as unknown as a made-up id.
    case = _ok(
        api.client.post(
            "/api/v1/cases",
            json={"case_number": "A-1", "kind": "inspection", "title": "t"},
            headers=api.auth(),
        )
    )["id"]
    before = totals(api)
    attach = api.client.post(
        f"/api/v1/cases/{case}/evidence", json={"evidence_id": theirs}, headers=api.auth()
    )
    assert_problem(attach, 404, "not-found")
    relate = api.client.post(
        f"/api/v1/evidence/{mine}/relations",
        json={"kind": "corroborates", "evidence_id": theirs},
        headers=api.auth(),
    )
    assert relate.status_code in (404, 422), relate.text
    assert totals(api) == before


def test_the_graph_hides_other_departments(api: Api) -> None:
    party = _ok(
        api.client.post(
            "/api/v1/parties",
            json={"kind": "organisation", "name": "共同相对人"},
            headers=api.auth(),
        )
    )["id"]
    mine = upload(api, "documentary", samples.pdf()).json()["id"]
    b_auth = api.auth_as(B, "officer")
    theirs = upload(api, "documentary", samples.pdf(), headers=b_auth).json()["id"]
    for item, auth in ((mine, api.auth()), (theirs, b_auth)):
        linked = api.client.post(
            f"/api/v1/evidence/{item}/parties", json={"party_id": party}, headers=auth
        )
        assert linked.status_code == 201, linked.text
    seen_by_a = _ok(api.client.get(f"/api/v1/graph/{party}", headers=api.auth()), 200)
    ids = {n["id"] for n in seen_by_a["nodes"]}
    assert mine in ids and theirs not in ids
    assert all(theirs not in (e["source"], e["target"]) for e in seen_by_a["edges"])
    auditor = api.auth_as("ZJ-SFT", "auditor")
    assert_problem(api.client.get(f"/api/v1/graph/{party}", headers=auditor), 403, "forbidden")
    no_path = api.client.get(
        "/api/v1/graph/path", params={"from": mine, "to": theirs}, headers=api.auth()
    )
    assert_problem(no_path, 404, "not-found")


def test_an_accepted_transfer_opens_exactly_its_items_to_the_recipient(api: Api) -> None:
    sent_item, kept_item = (upload(api, "documentary", samples.pdf()).json()["id"] for _ in "ab")
    audit = next(d["id"] for d in api.departments if d["code"] == "ZJ-SFT")
    auditor = api.auth_as("ZJ-SFT", "auditor")
    content = f"/api/v1/evidence/{sent_item}/content"
    transfer = _ok(
        api.client.post(
            "/api/v1/transfers",
            json={"to_department_id": audit, "evidence_ids": [sent_item]},
            headers=api.auth("reviewer"),
        )
    )
    assert_problem(api.client.get(content, headers=auditor), 404, "not-found")  # pending
    accepted = api.client.post(f"/api/v1/transfers/{transfer['id']}/accept", headers=auditor)
    assert accepted.status_code == 200, accepted.text
    opened = api.client.get(content, headers=auditor)
    assert opened.status_code == 200 and opened.content == samples.pdf()
    other = api.client.get(f"/api/v1/evidence/{kept_item}/content", headers=auditor)
    assert_problem(other, 404, "not-found")
    # The grant is for reading: the audit department cannot tag or relate the item.
    tag = api.client.post(
        f"/api/v1/evidence/{sent_item}/tags", json={"type": "free", "value": "x"}, headers=auditor
    )
    assert_problem(tag, 403, "forbidden")
