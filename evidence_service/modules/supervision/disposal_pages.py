"""The disposal centre's pages (处置中心): the list with its lights, one disposal with the
actions the caller may take, and the supervised department's side of a general procedure —
sign for the notice (签收) and send the written rectification report back.

The report form does in one step what a client of the API does in three: it captures the
uploaded file through the core's documentary port (stored, signed, anchored like any
evidence), transfers it to the supervision office, and registers that transfer as the reply.
Each core call carries an idempotency key made of the disposal, its version and the file's
digest, so a form sent again after a failure (the network, the core) makes no second item or
transfer: it finishes what the first attempt began. Nothing is captured when the disposal
cannot take the reply (its state, the caller's capacity, an unsigned notice).

Forms are guarded as in ``pages.py`` (double-submit token, Origin, Sec-Fetch-Site).
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from evidence_service.client import ApiError, Transfer
from evidence_service.modules.supervision import disposal as machine
from evidence_service.modules.supervision.api import INGESTERS, READERS, Caller, _require, state_of
from evidence_service.modules.supervision.disposal_api import (
    NOTE,
    ActionIn,
    OpenIn,
    ReplyIn,
    act,
    clock,
    core_step,
    decision_of,
    get_disposal,
    held_by,
    list_disposals,
    notice_pdf,
    open_disposal,
    reply,
)
from evidence_service.modules.supervision.page_kit import (
    PROCEDURES,
    STATES,
    FormText,
    Signed,
    SignedForm,
    SignedIn,
    as_bearer,
    blank,
    department_names,
    form_fields,
    render_page,
    see_other,
)
from evidence_service.modules.supervision.problems import BadQueryError, SupervisionProblem

disposal_pages_router = APIRouter(include_in_schema=False)

KiB, MiB = 1024, 1024 * 1024
#: The largest rectification report the form takes (a scanned report of some pages).
MAX_REPORT_BYTES = 32 * MiB
#: Bodies of the module's pages that may exceed the core's JSON limit: (method, path
#: pattern, bytes). The app hands them to its body-limit middleware (``app.py``).
BODY_LIMITS = (("POST", r"/supervision/disposals/[^/]+/report", MAX_REPORT_BYTES + 64 * KiB),)
TRANSFER_STATES = {"pending": "待签收", "accepted": "已签收", "rejected": "已拒收"}


class ReportTooLargeError(SupervisionProblem):
    slug, title, status = "payload-too-large", "The report is larger than the form takes", 413


async def _detail(request: Request, signed: SignedIn, disposal_id: str) -> dict[str, Any]:
    """The disposal as its API shows it to the caller (404 when not visible to them)."""
    _require(signed.who, READERS, "read disposals")
    answer = await get_disposal(
        as_bearer(request, signed.token), disposal_id[:64], signed.who, clock()
    )
    return dict(json.loads(bytes(answer.body)))


def _to_disposal(disposal_id: str) -> Response:
    return see_other(f"/supervision/disposals/{quote(disposal_id[:64])}")


@disposal_pages_router.get("/supervision/disposals", response_class=HTMLResponse)
async def disposals_page(
    request: Request,
    signed: Signed,
    state: Annotated[str | None, Query(max_length=16)] = None,
    procedure: Annotated[str | None, Query(max_length=16)] = None,
    department_id: Annotated[str | None, Query(max_length=64)] = None,
    overdue: Annotated[str | None, Query(max_length=1)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    who = signed.who
    chosen = {
        "state": blank(state),
        "procedure": blank(procedure),
        "department_id": blank(department_id),
        "overdue": blank(overdue),
    }
    _require(who, READERS, "read disposals")
    if chosen["state"] not in (None, *STATES):
        raise BadQueryError(f"state: one of {', '.join(STATES)}")
    if chosen["procedure"] not in (None, *machine.PROCEDURES):
        raise BadQueryError(f"procedure: one of {', '.join(machine.PROCEDURES)}")
    if chosen["overdue"] not in (None, "1"):
        raise BadQueryError("overdue: 1 or nothing")
    listed = await list_disposals(
        as_bearer(request, signed.token),
        who,
        clock(),
        state=chosen["state"],
        procedure=chosen["procedure"],  # type: ignore[arg-type]
        department_id=chosen["department_id"],
        clue_id=None,
        overdue=True if chosen["overdue"] else None,
        limit=50,
        cursor=blank(cursor),
    )
    names = await department_names(request, signed.token)
    more = listed["next_cursor"]
    query = {k: v for k, v in chosen.items() if v} | {"cursor": more} if more else None
    context = {
        "disposals": listed["items"],
        "chosen": chosen,
        "names": names,
        "departments": sorted(names.items(), key=lambda kv: kv[1]) if who.sees_all else [],
        "procedures": PROCEDURES,
        "next_link": f"/supervision/disposals?{urlencode(query)}" if query else None,
    }
    return render_page(request, "disposals.html", who, context)


@disposal_pages_router.post("/supervision/clues/{clue_id}/disposal", response_class=HTMLResponse)
async def open_disposal_page(
    request: Request,
    clue_id: str,
    signed: SignedForm,
    procedure: Annotated[str, Form(max_length=16)] = "",
    note: FormText = "",
) -> Response:
    body = form_fields(OpenIn, {"clue_id": clue_id[:64], "procedure": procedure, "note": note})
    opened = await open_disposal(as_bearer(request, signed.token), body, signed.who, clock())
    return _to_disposal(json.loads(bytes(opened.body))["id"])


async def _notice_transfer(
    request: Request, signed: SignedIn, detail: dict[str, Any]
) -> Transfer | None:
    """The notice's transfer as the core shows it to the caller (None: not sent, or not theirs
    to see — the office's auditors read the disposal, the core decides on the transfer)."""
    transfer_id = detail.get("notice_transfer_id")
    if not transfer_id:
        return None
    try:
        async with state_of(request).core_client(signed.token) as core:
            return await core.get_transfer(transfer_id)
    except ApiError:
        return None


@disposal_pages_router.get("/supervision/disposals/{disposal_id}", response_class=HTMLResponse)
async def disposal_page(request: Request, disposal_id: str, signed: Signed) -> Response:
    who = signed.who
    detail = await _detail(request, signed, disposal_id)
    held = held_by(who, detail)
    steps = machine.TRANSITIONS[detail["procedure"]]
    actions = [
        (action, step.needs_note)
        for action, step in steps.items()
        if step.route == "actions"
        and detail["state"] in step.source
        and step.who in held
        and who.role in INGESTERS
    ]
    awaiting_reply = detail["state"] == "rectifying" and "reply" in steps
    answers = awaiting_reply and machine.DEPARTMENT_REVIEWER in held
    context = {
        "d": detail,
        "actions": actions,
        "names": await department_names(request, signed.token),
        "awaiting_reply": awaiting_reply,
        "answers": answers,
        "notice": await _notice_transfer(request, signed, detail) if answers else None,
        "transfer_states": TRANSFER_STATES,
        "max_report_mib": MAX_REPORT_BYTES // MiB,
    }
    return render_page(request, "disposal.html", who, context)


@disposal_pages_router.get("/supervision/disposals/{disposal_id}/notice.pdf")
async def notice_pdf_page(request: Request, disposal_id: str, signed: Signed) -> Response:
    """The notice's PDF for a signed-in browser (the API's route wants a bearer token, which
    a link cannot send): the same bytes, the same checks."""
    bearer = as_bearer(request, signed.token)
    return await notice_pdf(bearer, disposal_id[:64], signed.who, clock())


@disposal_pages_router.post(
    "/supervision/disposals/{disposal_id}/actions", response_class=HTMLResponse
)
async def act_page(
    request: Request,
    disposal_id: str,
    signed: SignedForm,
    action: Annotated[str, Form(max_length=16)] = "",
    version: Annotated[str, Form(max_length=9)] = "",
    note: FormText = "",
    facts: FormText = "",
    basis: Annotated[str, Form(max_length=1000)] = "",
    decision: FormText = "",
    correction_days: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    fields: dict[str, Any] = {"action": action, "note": note}
    if action == "decide":
        fields |= {"facts": facts, "basis": basis, "decision": decision}
        if correction_days.strip():
            fields["correction_days"] = correction_days.strip()
    await act(
        as_bearer(request, signed.token),
        disposal_id[:64],
        form_fields(ActionIn, fields),
        signed.who,
        clock(),
        if_match=f'"{version}"' if version.strip() else None,
    )
    return _to_disposal(disposal_id)


def _answering(who: Caller, detail: dict[str, Any], version: str | None) -> None:
    """Refuse, before anything is written, a reply the disposal cannot take now."""
    if version is not None and not version.isdigit():
        raise BadQueryError("version: the disposal's version number")
    machine.check_transition(
        detail,
        "reply",
        held_by(who, detail),
        expected_version=int(version) if version else None,
        route="reply",
    )
    if not detail.get("notice_transfer_id"):
        raise machine.IllegalTransitionError("the notice was not sent", state=detail["state"])


@disposal_pages_router.post(
    "/supervision/disposals/{disposal_id}/notice/accept", response_class=HTMLResponse
)
async def accept_notice_page(
    request: Request,
    disposal_id: str,
    signed: SignedForm,
    version: Annotated[str, Form(max_length=9)] = "",
) -> Response:
    """The department signs for the notice: the core's acceptance of its transfer (the core
    seals the receipt); only then may the department answer."""
    detail = await _detail(request, signed, disposal_id)
    _answering(signed.who, detail, blank(version))
    async with state_of(request).core_client(signed.token) as core:
        await core_step(
            lambda: core.accept_transfer(detail["notice_transfer_id"]), "signing for the notice"
        )
    return _to_disposal(detail["id"])


async def _read_report(upload: UploadFile) -> bytes:
    content = await upload.read(MAX_REPORT_BYTES + 1)
    if len(content) > MAX_REPORT_BYTES:
        raise ReportTooLargeError(f"the report may be at most {MAX_REPORT_BYTES // MiB} MiB")
    if not content:
        raise BadQueryError("file: choose the report to send")
    return content


def _filename(upload: UploadFile) -> str:
    name = (upload.filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    printable = "".join(c for c in name if c.isprintable() and c not in '"<>')
    return printable[:120] or "report.bin"


@disposal_pages_router.post(
    "/supervision/disposals/{disposal_id}/report", response_class=HTMLResponse
)
async def report_page(
    request: Request,
    disposal_id: str,
    signed: SignedForm,
    file: Annotated[UploadFile | None, File()] = None,
    note: Annotated[str, Form(max_length=NOTE)] = "",
    version: Annotated[str, Form(max_length=9)] = "",
) -> Response:
    """The department's written report: captured, transferred to the office, registered."""
    if file is None:
        raise BadQueryError("file: choose the report to send")
    content = await _read_report(file)
    detail = await _detail(request, signed, disposal_id)
    _answering(signed.who, detail, blank(version))
    key = f"supervision-report-{detail['id']}-v{detail['version']}-"
    key += hashlib.sha256(content).hexdigest()[:32]
    async with state_of(request).core_client(signed.token) as core:
        notice = await core_step(
            lambda: core.get_transfer(detail["notice_transfer_id"]), "the notice's transfer"
        )
        if notice.status != "accepted":
            raise machine.IllegalTransitionError(
                "sign for the notice first (签收通知书)", state=detail["state"]
            )
        captured = await core_step(
            lambda: core.capture(
                content,
                port="documentary",
                metadata={
                    "title": "整改情况报告",
                    "description": f"supervision disposal {detail['id']}: written report",
                    "tags": [{"type": "free", "value": "整改报告"}],
                },
                filename=_filename(file),
                media_type=file.content_type or "application/octet-stream",
                idempotency_key=f"{key}-capture",
            ),
            "capturing the report",
        )
        back = await core_step(
            lambda: core.create_transfer(
                decision_of(detail)["office_id"],
                evidence_ids=[captured.id],
                note=f"整改情况报告（处置 {detail['id']}）",
                idempotency_key=f"{key}-transfer",
            ),
            "transferring the report to the office",
        )
    await reply(
        as_bearer(request, signed.token),
        detail["id"],
        ReplyIn(transfer_id=back.id, note=note.strip()),
        signed.who,
        clock(),
        if_match=f'"{detail["version"]}"',
    )
    return _to_disposal(detail["id"])
