"""The web app's case work: a department's cases, one case, and the transfer inbox and outbox.

Each page reads through the same wing functions as the API route serving the same data and
shows only what that route's access rule lets the signed-in officer see (``actor_may``): a case
of another department is the 404 page, a role the route refuses gets the page's refusal.
Nothing here writes: creating a case, linking evidence, issuing a list, transferring,
accepting and rejecting are done by the page scripts through the API, so its policy,
idempotency and custody events apply.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import Response

from evidence_service.access.identity import Actor
from evidence_service.access.people import all_departments
from evidence_service.api import policy
from evidence_service.api.deps import ServicesDep, actor_may
from evidence_service.capture.visibility import evidence_clause
from evidence_service.cases.cases import CaseFilter, case_page, read_case
from evidence_service.cases.causes import cause_catalogue
from evidence_service.cases.evidence_lists import current_list_document, issued_lists
from evidence_service.cases.models import CaseKind
from evidence_service.cases.places import read_place
from evidence_service.cases.search import EvidenceFilter, evidence_page
from evidence_service.services import Services
from evidence_service.transfer.documents import transfer_page
from evidence_service.transfer.models import TransferStatus
from evidence_service.web.pages import render, require_actor, templates

router = APIRouter(include_in_schema=False)

CASES = "/api/v1/cases"
CASE = "/api/v1/cases/{case_id}"
TRANSFERS = "/api/v1/transfers"
TRANSFER = "/api/v1/transfers/{transfer_id}"
#: How many rows a page shows (the API pages further; these pages show the newest).
PAGE_ROWS = 50
MAX_ID = 26
CLOSED = frozenset({str(TransferStatus.rejected), str(TransferStatus.withdrawn)})


def role_may(actor: Actor | None, method: str, path: str) -> bool:
    """Whether the actor's role may call the route at all (records aside): for the nav."""
    if actor is None:
        return False
    roles = policy.rule_for(method, path).roles
    return roles is None or actor.role in roles


templates.env.globals["role_may"] = role_may


def pending_inbox_count(services: Services, actor: Actor) -> int | None:
    """Transfers waiting for the department's decision (at most a page of them), or None for a
    role the inbox route refuses."""
    if not role_may(actor, "GET", TRANSFERS):
        return None
    page = transfer_page(
        services.engine,
        actor,
        direction="in",
        status=TransferStatus.pending,
        limit=PAGE_ROWS,
        cursor=None,
    )
    return len(page["items"])


@router.get("/cases")
def cases_page(request: Request, services: ServicesDep) -> Response:
    actor = require_actor(request, services)
    if not actor_may(services, actor, "GET", CASES):
        return render(request, services, "cases.html", actor, status_code=403, refused=True)
    rows, _ = case_page(
        services.engine, CaseFilter(actor.department_id), limit=PAGE_ROWS, cursor=None
    )
    return render(
        request,
        services,
        "cases.html",
        actor,
        cases=rows,
        kinds=list(CaseKind),
        causes=cause_catalogue(services.engine),
        may_create=role_may(actor, "POST", CASES),
    )


@router.get("/cases/{case_id}")
def case_detail(case_id: str, request: Request, services: ServicesDep) -> Response:
    actor = require_actor(request, services)
    if len(case_id) > MAX_ID or not actor_may(services, actor, "GET", CASE, case_id=case_id):
        return render(request, services, "missing.html", actor, status_code=404)
    case = read_case(services.engine, case_id)
    evidence_list = current_list_document(services.engine, case_id)
    places = [
        read_place(services.engine, place_id)
        for place_id in case["place_ids"]
        if actor_may(services, actor, "GET", "/api/v1/places/{place_id}", place_id=place_id)
    ]
    linked = set(case["evidence_ids"])
    mine = evidence_page(
        services.engine,
        EvidenceFilter(officer_id=actor.officer_id, visible=evidence_clause(actor)),
        limit=PAGE_ROWS,
        cursor=None,
        sort="-received_at",
    )["items"]
    issued = issued_lists(services.engine, case_id)
    departments = [d for d in all_departments(services.engine) if d.id != actor.department_id]
    return render(
        request,
        services,
        "case.html",
        actor,
        case=jsonable_encoder(case),
        items=evidence_list["body"]["items"],
        parties=evidence_list["body"]["parties"],
        places=jsonable_encoder(places),
        linkable=[item for item in mine if item["id"] not in linked],
        issued=issued,
        departments=departments,
        may_link=actor_may(services, actor, "POST", CASE + "/evidence", case_id=case_id),
        may_issue=actor_may(services, actor, "POST", CASE + "/evidence-lists", case_id=case_id),
        may_print=bool(issued)
        and actor_may(services, actor, "GET", CASE + "/evidence-list.pdf", case_id=case_id),
        may_transfer=role_may(actor, "POST", TRANSFERS),
    )


def _transfers(request: Request, services: ServicesDep, name: str, direction: str) -> Response:
    actor = require_actor(request, services)
    if not actor_may(services, actor, "GET", TRANSFERS):
        return render(request, services, name, actor, status_code=403, refused=True)
    rows = transfer_page(
        services.engine,
        actor,
        direction="in" if direction == "in" else "out",
        status=None,
        limit=PAGE_ROWS,
        cursor=None,
    )["items"]
    for row in rows:  # what the page offers is what the API would allow this caller
        found = {"transfer_id": row["id"]}
        row["may_decide"] = row["status"] == "pending" and actor_may(
            services, actor, "POST", TRANSFER + "/accept", **found
        )
        # a rejected or withdrawn transfer's package is no longer the recipient's (409)
        usable = direction == "out" or row["status"] not in CLOSED
        row["may_download"] = usable and actor_may(
            services, actor, "GET", TRANSFER + "/package.zip", **found
        )
        row["may_receipt"] = row["status"] == "accepted" and actor_may(
            services, actor, "GET", TRANSFER + "/receipt", **found
        )
    return render(request, services, name, actor, transfers=rows)


@router.get("/inbox")
def inbox_page(request: Request, services: ServicesDep) -> Response:
    return _transfers(request, services, "inbox.html", "in")


@router.get("/outbox")
def outbox_page(request: Request, services: ServicesDep) -> Response:
    return _transfers(request, services, "outbox.html", "out")
