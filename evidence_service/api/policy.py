"""Who may call what, on whose records: one table for every route, enforced before the route.

Each route (method and path template) has a :class:`Rule`: the roles that may call it at all
(else 403, whatever the ids — a refusal by role tells nothing about a record), and, for each
record named in the path, whose it must be. A record of another department answers 404, the
same as one that does not exist, so ids leak nothing. Records are the department's that
created them. Parties and causes are shared registers: every department links the same
行政相对人, and only the registering department changes one. Evidence transferred to a
department (an accepted transfer) is readable there where a rule says ``granted``; roles in
``oversight`` (the auditor) reach every department's records on that route. A route missing
from the table answers 500 and fails the matrix test, so a new route cannot slip out unguarded.

Queries that list records (evidence search, cases, places, transfers, graph walks) narrow
themselves with :func:`evidence_clause` and :func:`visible_nodes`; ids inside request bodies go
through :func:`check_evidence_visible`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from fastapi import Request
from sqlmodel import Session

from evidence_service.access.identity import Actor
from evidence_service.access.models import Role
from evidence_service.cases.models import Case, Party, Place
from evidence_service.core.errors import EvidenceError, ForbiddenError, NotFoundError
from evidence_service.cosign.workflow import cosignature_audience
from evidence_service.transfer.owners import (
    Owner,
    OwnerLookup,
    department_owner,
    evidence_owner,
    list_owner,
    may_see,
    node_owner,
    officer_owner,
    owned_by,
    shared_owner,
    token_owner,
    transfer_owner,
    upload_owner,
)
from evidence_service.transfer.owners import (  # graph walks are narrowed with it
    visible_nodes as visible_nodes,
)

#: Officers, reviewers and penalty officers work cases: capture, tag, relate, issue lists.
WORKERS = frozenset({Role.officer, Role.reviewer, Role.penalty})
#: Who may read an item's record, bytes and proof (in their department, or transferred to it).
READERS = WORKERS | {Role.court}
#: Reviewers approve what leaves the department (transfers, issued lists, seals); a penalty
#: department may send on to a court.
SENDERS = frozenset({Role.reviewer, Role.penalty})
#: Who decides on a transfer arriving at the department (an audit department may receive one
#: to examine the items' contents, which its auditors otherwise never read).
RECEIVERS = frozenset({Role.reviewer, Role.penalty, Role.court, Role.auditor})
AUDITOR = frozenset({Role.auditor})
ADMIN = frozenset({Role.admin})
EVERYONE = frozenset(Role)


@dataclass(frozen=True)
class Rule:
    roles: frozenset[Role] | None  # None: public, no token needed
    oversight: frozenset[Role] = frozenset()  # roles that reach every department's records
    granted: bool = False  # transferred evidence counts as the caller department's own
    keeper: bool = False  # a record everyone sees is acted on only by its keeping department
    side: Literal["sending", "receiving"] | None = None  # which end of a transfer acts on it
    scrape: bool = False  # also open to the metrics scraper (core.metrics.may_scrape)
    page: bool = False  # a web page: it signs the caller in itself (web/pages.py)
    # The route runs the check itself, in the worker thread that does its work, before it reads
    # the body (api.deps.check_in_route): one thread hop instead of two on the busiest route.
    in_route: bool = False
    # The route's effect counts only if the caller's token is still valid in the transaction
    # that records it (a capture: capture/ingest.py), so the caller may be taken as a token
    # stood for a moment ago (capture.callers.RememberedTokens) instead of read afresh.
    confirmed: bool = False


PUBLIC = Rule(None)
SIGNED_IN = Rule(EVERYONE)


def _rules() -> dict[tuple[str, str], Rule]:
    ev = "/api/v1/evidence/{evidence_id}"
    case = "/api/v1/cases/{case_id}"
    upload = "/api/v1/uploads/{upload_id}"
    tus = "/api/v1/tus/{upload_id}"
    transfer = "/api/v1/transfers/{transfer_id}"
    cosign = "/api/v1/cosignatures/{cosignature_id}"
    item_meta = Rule(READERS | AUDITOR, oversight=AUDITOR, granted=True)
    item_bytes = Rule(READERS | AUDITOR, granted=True)  # an auditor only when transferred to
    item_facts = Rule(WORKERS)  # later facts about an item: its own department's workers
    case_work = Rule(WORKERS)
    register_work = Rule(WORKERS, keeper=True)  # everyone links a party; its registrar edits
    rules = {
        # system and public verification
        ("GET", "/healthz"): PUBLIC,
        ("GET", "/readyz"): PUBLIC,
        # metrics: the scraper's token (or EVIDENCE_METRICS_PUBLIC), else admins and auditors
        ("GET", "/metrics"): Rule(ADMIN | AUDITOR, scrape=True),
        ("GET", "/api/v1/ports"): PUBLIC,
        ("POST", "/api/v1/verify"): PUBLIC,
        ("GET", "/api/v1/trust"): PUBLIC,
        ("POST", "/api/v1/chain/rpc"): PUBLIC,
        ("POST", "/api/v1/seals/verify"): PUBLIC,
        ("POST", "/api/v1/packages/verify"): PUBLIC,
        ("POST", "/api/v1/evidence-lists/verify"): PUBLIC,
        ("GET", "/api/v1/departments/{department_id}/seal.png"): PUBLIC,
        ("GET", "/api/v1/batches/{batch_id}"): SIGNED_IN,
        # any JSON document anchored (a module's commitment, e.g. a draw's inputs)
        ("POST", "/api/v1/anchors"): Rule(WORKERS),
        ("GET", "/api/v1/anchors/{anchor_id}"): SIGNED_IN,
        # capture
        ("POST", "/api/v1/evidence"): Rule(WORKERS, in_route=True, confirmed=True),
        ("POST", "/api/v1/evidence/prepare"): Rule(WORKERS),
        ("POST", "/api/v1/uploads"): Rule(WORKERS),
        ("HEAD", upload): Rule(WORKERS),
        ("GET", upload): Rule(WORKERS),
        ("PATCH", upload): Rule(WORKERS),
        ("DELETE", upload): Rule(WORKERS),
        ("POST", upload + "/complete"): Rule(WORKERS),
        # tus uploads: the same sessions; OPTIONS only tells what the server supports
        ("OPTIONS", "/api/v1/tus/"): PUBLIC,
        ("POST", "/api/v1/tus/"): Rule(WORKERS),
        ("HEAD", tus): Rule(WORKERS),
        ("PATCH", tus): Rule(WORKERS),
        ("DELETE", tus): Rule(WORKERS),
        # reading evidence
        ("GET", "/api/v1/evidence"): item_meta,
        ("GET", ev): item_meta,
        ("GET", ev + "/content"): item_bytes,
        ("GET", ev + "/derived/{role}"): item_bytes,
        ("GET", ev + "/custody"): item_meta,
        ("GET", ev + "/proof"): item_meta,
        ("GET", ev + "/tags"): item_meta,
        ("GET", ev + "/relations"): item_meta,
        ("GET", ev + "/parties"): item_meta,
        ("GET", ev + "/retention"): item_meta,
        ("GET", "/api/v1/custody/verify"): SIGNED_IN,  # valid or not, and counts: no records
        ("POST", "/api/v1/custody/verify-jobs"): SIGNED_IN,  # the same check, in full
        ("GET", "/api/v1/custody/verify-jobs/{job_id}"): SIGNED_IN,
        # later facts about an item
        ("POST", ev + "/tags"): item_facts,
        ("DELETE", ev + "/tags"): item_facts,
        ("POST", ev + "/relations"): item_facts,
        ("DELETE", ev + "/relations"): item_facts,
        ("POST", ev + "/parties"): item_facts,
        ("DELETE", ev + "/parties/{party_id}"): item_facts,
        # records management: legal holds and disposal are the admin's, on any department's
        # items (a hold follows a court's order, whoever captured the item); never their bytes
        ("PUT", ev + "/legal-hold"): Rule(ADMIN, oversight=ADMIN),
        ("DELETE", ev + "/legal-hold"): Rule(ADMIN, oversight=ADMIN),
        ("DELETE", ev): Rule(ADMIN, oversight=ADMIN),
        ("GET", "/api/v1/legal-holds"): Rule(ADMIN),  # ids, reasons, retention: no contents
        # people, keys and seals
        ("GET", "/api/v1/me"): SIGNED_IN,
        ("GET", "/api/v1/departments"): SIGNED_IN,
        ("POST", "/api/v1/departments"): Rule(ADMIN),
        # a department's settings (e.g. require_signed_captures) and its CA: the admin's
        ("PATCH", "/api/v1/departments/{department_id}"): Rule(ADMIN, oversight=ADMIN),
        ("POST", "/api/v1/departments/{department_id}/ca/rotate"): Rule(ADMIN, oversight=ADMIN),
        ("POST", "/api/v1/officers"): Rule(ADMIN),
        ("PATCH", "/api/v1/officers/{officer_id}"): Rule(ADMIN, oversight=ADMIN),
        # an admin issues device and service tokens, and a person's one-time enrolment code,
        # never a person's own token: that comes from the code, to the person alone
        ("POST", "/api/v1/officers/{officer_id}/tokens"): Rule(ADMIN, oversight=ADMIN),
        ("GET", "/api/v1/officers/{officer_id}/tokens"): Rule(EVERYONE, oversight=ADMIN),
        ("DELETE", "/api/v1/tokens/{token_id}"): Rule(EVERYONE, oversight=ADMIN),
        ("POST", "/api/v1/officers/{officer_id}/enrolment"): Rule(ADMIN, oversight=ADMIN),
        ("POST", "/api/v1/auth/enrol"): PUBLIC,
        ("POST", "/api/v1/officers/{officer_id}/certificates"): Rule(ADMIN, oversight=ADMIN),
        ("GET", "/api/v1/officers/{officer_id}/certificates"): Rule(  # one's own, or oversight
            EVERYONE, oversight=ADMIN | AUDITOR
        ),
        ("POST", "/api/v1/certificates/{serial}/revoke"): Rule(ADMIN),
        ("POST", "/api/v1/departments/{department_id}/seals"): Rule(
            SENDERS | ADMIN, oversight=ADMIN, keeper=True
        ),
        # co-signatures: a department signs by its reviewers' approval, never an admin's; one is
        # seen where its subject is seen and by the departments it names (cosign/workflow.py)
        ("POST", "/api/v1/cosignatures"): Rule(SENDERS),
        ("GET", cosign): Rule(EVERYONE, oversight=AUDITOR, granted=True),
        ("POST", cosign + "/approve"): Rule(SENDERS, granted=True),
        ("POST", cosign + "/decline"): Rule(SENDERS, granted=True),
        ("POST", cosign + "/verify"): Rule(EVERYONE, oversight=AUDITOR, granted=True),
        # parties, causes, places, cases
        ("POST", "/api/v1/parties"): case_work,
        ("GET", "/api/v1/parties"): case_work,
        ("GET", "/api/v1/parties/{party_id}"): case_work,
        ("PATCH", "/api/v1/parties/{party_id}"): register_work,
        ("DELETE", "/api/v1/parties/{party_id}"): register_work,
        ("GET", "/api/v1/causes"): SIGNED_IN,
        ("POST", "/api/v1/causes"): Rule(ADMIN),
        ("PATCH", "/api/v1/causes/{code}"): Rule(ADMIN),
        ("DELETE", "/api/v1/causes/{code}"): Rule(ADMIN),
        ("POST", "/api/v1/places"): case_work,
        ("GET", "/api/v1/places"): case_work,
        ("GET", "/api/v1/places/{place_id}"): case_work,
        ("PATCH", "/api/v1/places/{place_id}"): case_work,
        ("DELETE", "/api/v1/places/{place_id}"): case_work,
        ("POST", "/api/v1/cases"): case_work,
        ("GET", "/api/v1/cases"): case_work,
        ("GET", case): case_work,
        ("PATCH", case): case_work,
        ("POST", case + "/evidence"): case_work,
        ("DELETE", case + "/evidence/{evidence_id}"): case_work,
        ("POST", case + "/parties"): case_work,
        ("DELETE", case + "/parties/{party_id}"): case_work,
        ("POST", case + "/places"): case_work,
        ("DELETE", case + "/places/{place_id}"): case_work,
        ("GET", case + "/evidence-list.json"): case_work,
        # an issued list leaves under the department's seal: reviewers approve it, as transfers
        ("POST", case + "/evidence-lists"): Rule(SENDERS),
        ("GET", case + "/evidence-lists"): case_work,
        ("GET", case + "/evidence-list.pdf"): case_work,
        ("GET", "/api/v1/evidence-lists/{list_id}"): Rule(WORKERS | AUDITOR, oversight=AUDITOR),
        # the relation graph: the walk is narrowed to what the caller may see
        ("GET", "/api/v1/graph/path"): case_work,
        ("GET", "/api/v1/graph/{node_id}.svg"): case_work,
        ("GET", "/api/v1/graph/{node_id}.png"): case_work,
        ("GET", "/api/v1/graph/{node_id}/component"): case_work,
        ("GET", "/api/v1/graph/{node_id}"): case_work,
        # transfers (移送): the sending and receiving departments; the auditor reads records
        ("POST", "/api/v1/transfers"): Rule(SENDERS),
        ("GET", "/api/v1/transfers"): Rule(READERS | AUDITOR),
        ("GET", "/api/v1/transfers/verify/{manifest_digest}"): PUBLIC,
        ("POST", "/api/v1/transfers/verify"): PUBLIC,
        ("GET", transfer): Rule(READERS | AUDITOR, oversight=AUDITOR),
        ("GET", transfer + "/receipt"): Rule(READERS | AUDITOR, oversight=AUDITOR),
        ("POST", transfer + "/open"): Rule(RECEIVERS, side="receiving"),
        ("POST", transfer + "/accept"): Rule(RECEIVERS, side="receiving"),
        ("POST", transfer + "/reject"): Rule(RECEIVERS, side="receiving"),
        ("POST", transfer + "/withdraw"): Rule(SENDERS, side="sending"),
        ("GET", transfer + "/package.zip"): Rule(SENDERS | RECEIVERS),
        # bulk reads for business modules (NDJSON): the items an item_meta reader may list —
        # the department's own and granted ones, every department's for an auditor
        ("GET", "/api/v1/feeds/evidence"): item_meta,
        # the refused-request log: who was turned away, where — oversight's, never a worker's
        ("GET", "/api/v1/feeds/refusals"): Rule(AUDITOR | ADMIN),
        # transfers with their status and item ids: as GET /api/v1/transfers lists them — each
        # department's own (sent or received), every department's for an auditor
        ("GET", "/api/v1/feeds/transfers"): Rule(READERS | AUDITOR),
        # supervision module (modules/supervision): workers ingest and read their department's
        # records, the supervision office (an audit department) every department's; auditors
        # read all. The module narrows by department itself, from what the core says of the caller
        ("POST", "/api/v1/supervision/records"): Rule(WORKERS),
        ("GET", "/api/v1/supervision/records"): Rule(WORKERS | AUDITOR),
        ("GET", "/api/v1/supervision/records/{record_id}"): Rule(WORKERS | AUDITOR),
        # -- supervision: clue centre (problem models, runs, clues)
        ("GET", "/api/v1/supervision/models"): Rule(WORKERS | AUDITOR),
        ("POST", "/api/v1/supervision/runs"): Rule(WORKERS | AUDITOR),
        ("GET", "/api/v1/supervision/runs"): Rule(WORKERS | AUDITOR),
        ("GET", "/api/v1/supervision/runs/{run_id}"): Rule(WORKERS | AUDITOR),
        ("GET", "/api/v1/supervision/clues"): Rule(WORKERS | AUDITOR),
        ("GET", "/api/v1/supervision/clues/{clue_id}"): Rule(WORKERS | AUDITOR),
        # -- supervision: 执法证 register and the read models of the core's feeds
        ("GET", "/api/v1/supervision/certificates"): Rule(WORKERS | AUDITOR),
        ("POST", "/api/v1/supervision/certificates"): Rule(WORKERS),
        ("GET", "/api/v1/supervision/certificates/{cert_no}"): Rule(WORKERS | AUDITOR),
        ("POST", "/api/v1/supervision/sync"): Rule(WORKERS | AUDITOR),
        # -- supervision: disposal centre
        ("POST", "/api/v1/supervision/disposals"): Rule(WORKERS),
        ("GET", "/api/v1/supervision/disposals"): Rule(WORKERS | AUDITOR),
        ("GET", "/api/v1/supervision/disposals/{disposal_id}"): Rule(WORKERS | AUDITOR),
        ("POST", "/api/v1/supervision/disposals/{disposal_id}/actions"): Rule(WORKERS),
        ("GET", "/api/v1/supervision/disposals/{disposal_id}/notice.pdf"): Rule(WORKERS | AUDITOR),
        ("POST", "/api/v1/supervision/disposals/{disposal_id}/reply"): Rule(WORKERS),
        # -- supervision: case-file review and the cockpit
        ("POST", "/api/v1/supervision/reviews"): Rule(WORKERS),
        ("GET", "/api/v1/supervision/reviews"): Rule(WORKERS | AUDITOR),
        ("GET", "/api/v1/supervision/reviews/{review_id}"): Rule(WORKERS | AUDITOR),
        ("PUT", "/api/v1/supervision/reviews/{review_id}/items/{code}"): Rule(WORKERS),
        ("POST", "/api/v1/supervision/reviews/{review_id}/finalize"): Rule(WORKERS),
        ("GET", "/api/v1/supervision/reviews/{review_id}/result.pdf"): Rule(WORKERS | AUDITOR),
        ("GET", "/api/v1/supervision/cockpit"): Rule(WORKERS | AUDITOR),
        # joint-inspection module (modules/inspection): its published rules, the scenario
        # library and the draws are public (双随机、一公开); the coordinating office imports
        # the directory and runs draws (the module checks the department), any department
        # posts signals and joins tasks; admins map departments onto the scenarios' kinds
        ("GET", "/api/v1/inspection/rules"): PUBLIC,
        ("GET", "/api/v1/inspection/scenarios"): PUBLIC,
        ("GET", "/api/v1/inspection/scenarios/{code}"): PUBLIC,
        ("GET", "/api/v1/inspection/departments"): SIGNED_IN,
        ("PUT", "/api/v1/inspection/departments/{department_id}"): Rule(ADMIN),
        ("POST", "/api/v1/inspection/enterprises"): Rule(WORKERS),
        ("GET", "/api/v1/inspection/enterprises"): Rule(WORKERS | AUDITOR),
        ("GET", "/api/v1/inspection/enterprises/{credit_code}"): Rule(WORKERS | AUDITOR),
        ("POST", "/api/v1/inspection/inspectors"): Rule(WORKERS),
        ("GET", "/api/v1/inspection/inspectors"): Rule(WORKERS | AUDITOR),
        ("POST", "/api/v1/inspection/signals"): Rule(WORKERS),
        ("GET", "/api/v1/inspection/warnings"): Rule(WORKERS | AUDITOR),
        ("GET", "/api/v1/inspection/warnings/{warning_id}"): Rule(WORKERS | AUDITOR),
        ("POST", "/api/v1/inspection/warnings/{warning_id}/dismiss"): Rule(WORKERS),
        ("POST", "/api/v1/inspection/tasks"): Rule(WORKERS),
        ("GET", "/api/v1/inspection/tasks"): Rule(WORKERS | AUDITOR),
        ("GET", "/api/v1/inspection/tasks/{task_id}"): Rule(WORKERS | AUDITOR),
        ("POST", "/api/v1/inspection/tasks/{task_id}/actions"): Rule(WORKERS),
        ("POST", "/api/v1/inspection/draws"): Rule(WORKERS),
        ("GET", "/api/v1/inspection/draws"): PUBLIC,
        ("GET", "/api/v1/inspection/draws/{draw_id}"): PUBLIC,
        ("POST", "/api/v1/inspection/draws/{draw_id}/advance"): Rule(WORKERS),
        # -- inspection: the visit (findings, shared evidence, the co-signed record),
        # follow-up, and the published results (结果公示)
        ("PUT", "/api/v1/inspection/tasks/{task_id}/findings/{item_code}"): Rule(WORKERS),
        ("POST", "/api/v1/inspection/tasks/{task_id}/share"): Rule(SENDERS),
        ("POST", "/api/v1/inspection/tasks/{task_id}/record"): Rule(SENDERS),
        ("GET", "/api/v1/inspection/tasks/{task_id}/record"): Rule(WORKERS | AUDITOR),
        ("POST", "/api/v1/inspection/tasks/{task_id}/record/approve"): Rule(SENDERS),
        ("GET", "/api/v1/inspection/follow-ups"): Rule(WORKERS | AUDITOR),
        ("POST", "/api/v1/inspection/follow-ups/{follow_up_id}/close"): Rule(WORKERS),
        ("POST", "/api/v1/inspection/follow-ups/{follow_up_id}/case"): Rule(WORKERS),
        ("GET", "/api/v1/inspection/feedback"): Rule(WORKERS | AUDITOR),
        ("GET", "/api/v1/inspection/results"): PUBLIC,
        ("GET", "/api/v1/inspection/results/{task_id}"): PUBLIC,
        # catering module (modules/catering): the factor table is public; workers register
        # restaurants and devices (their own department's: the module checks) and post frames
        # (a device token posts as its officer); workers and auditors read the rest
        ("GET", "/api/v1/catering/factors"): PUBLIC,
        ("POST", "/api/v1/catering/restaurants"): Rule(WORKERS),
        ("GET", "/api/v1/catering/restaurants"): Rule(WORKERS | AUDITOR),
        ("POST", "/api/v1/catering/devices"): Rule(WORKERS),
        ("GET", "/api/v1/catering/devices"): Rule(WORKERS | AUDITOR),
        ("GET", "/api/v1/catering/devices/{mn}"): Rule(WORKERS | AUDITOR),
        ("GET", "/api/v1/catering/devices/{mn}/readings"): Rule(WORKERS | AUDITOR),
        ("POST", "/api/v1/catering/frames"): Rule(WORKERS),
        ("GET", "/api/v1/catering/alarms"): Rule(WORKERS | AUDITOR),
        ("GET", "/api/v1/catering/status"): Rule(WORKERS | AUDITOR),
        ("POST", "/api/v1/catering/hours/flush"): Rule(WORKERS),
        # -- catering: inspections, the problem list (the restaurant rectifies with its own key,
        # which the module checks: the restaurant has no role in the core), escalation by
        # transfer, the public's feedback (posted on the public page, moderated here), the index
        ("POST", "/api/v1/catering/inspections"): Rule(WORKERS),
        ("GET", "/api/v1/catering/inspections"): Rule(WORKERS | AUDITOR),
        ("POST", "/api/v1/catering/restaurants/{restaurant_id}/key"): Rule(WORKERS),
        ("GET", "/api/v1/catering/restaurants/{restaurant_id}/index"): PUBLIC,
        ("GET", "/api/v1/catering/problems"): Rule(WORKERS | AUDITOR),
        ("GET", "/api/v1/catering/problems/{problem_id}"): Rule(WORKERS | AUDITOR),
        ("POST", "/api/v1/catering/problems/{problem_id}/rectification"): PUBLIC,
        ("POST", "/api/v1/catering/problems/{problem_id}/transfer"): Rule(SENDERS),
        ("POST", "/api/v1/catering/problems/{problem_id}/penalty"): Rule(WORKERS),
        ("GET", "/api/v1/catering/feedback"): Rule(WORKERS | AUDITOR),
        ("POST", "/api/v1/catering/feedback/{feedback_id}/moderate"): Rule(WORKERS),
    }
    return rules


RULES: dict[tuple[str, str], Rule] = _rules()
#: FastAPI's own pages (API docs) are public.
OPEN_PATHS = frozenset({"/openapi.json", "/docs", "/docs/init.js"})
#: The web app's pages (web/pages.py): each reads the session cookie itself and redirects to
#: /login without one; what it shows passes the rule of the API route serving the same data.
PAGE = Rule(None, page=True)
PAGES = frozenset(
    {
        ("GET", "/"),
        ("GET", "/login"),
        ("POST", "/login"),
        ("GET", "/enrol"),
        ("POST", "/enrol"),
        ("POST", "/logout"),
        ("GET", "/capture"),
        ("GET", "/search"),
        ("GET", "/audit"),
        ("GET", "/admin"),
        ("GET", "/admin/officers/{officer_id}"),
        ("GET", "/admin/causes"),
        ("GET", "/admin/holds"),
        ("GET", "/notifications"),
        ("GET", "/audit/trail.csv"),
        ("GET", "/audit/trail.pdf"),
        ("GET", "/audit/seals/{export_id}.json"),
        ("GET", "/cases"),
        ("GET", "/cases/{case_id}"),
        ("GET", "/inbox"),
        ("GET", "/outbox"),
        ("GET", "/verify"),
        ("GET", "/evidence/{evidence_id}"),
        ("GET", "/evidence/{evidence_id}/proof-qr.svg"),
        ("GET", "/supervision/cockpit"),  # modules/supervision/pages.py
        ("GET", "/supervision/clues"),  # modules/supervision/pages.py (clues.html)
        ("POST", "/supervision/runs"),  # the clue list's "run the models now" form
        ("GET", "/supervision/clues/{clue_id}"),  # clue.html
        ("POST", "/supervision/clues/{clue_id}/disposal"),  # clue.html's "open a disposal"
        ("GET", "/supervision/disposals"),  # disposal_pages.py (disposals.html)
        ("GET", "/supervision/disposals/{disposal_id}"),  # disposal.html
        ("POST", "/supervision/disposals/{disposal_id}/actions"),  # disposal.html's actions
        ("POST", "/supervision/disposals/{disposal_id}/notice/accept"),  # the department signs
        ("POST", "/supervision/disposals/{disposal_id}/report"),  # and sends its report
        ("GET", "/supervision/disposals/{disposal_id}/notice.pdf"),  # the notice, for a link
        ("GET", "/supervision/records"),  # review_pages.py (records.html)
        ("GET", "/supervision/records/{record_id}"),  # record.html
        ("POST", "/supervision/reviews"),  # record.html's "start a review"
        ("GET", "/supervision/reviews"),  # reviews.html
        ("GET", "/supervision/reviews/{review_id}"),  # review.html
        ("POST", "/supervision/reviews/{review_id}/items/{code}"),  # review.html's items
        ("POST", "/supervision/reviews/{review_id}/finalize"),  # and its finalize form
        ("GET", "/supervision/reviews/{review_id}/result.pdf"),  # the result, for a link
        ("GET", "/inspection/warnings"),  # modules/inspection/pages.py (warnings.html)
        ("POST", "/inspection/warnings/{warning_id}/task"),  # the office's "draft a task"
        ("GET", "/inspection/tasks"),  # the task board (tasks.html)
        ("GET", "/inspection/tasks/{task_id}"),  # one task (task.html) and its forms:
        ("POST", "/inspection/tasks/{task_id}/actions"),  # consultation steps
        ("POST", "/inspection/tasks/{task_id}/findings/{item_code}"),
        ("POST", "/inspection/tasks/{task_id}/share"),
        ("POST", "/inspection/tasks/{task_id}/record"),
        ("POST", "/inspection/tasks/{task_id}/record/approve"),
        ("GET", "/inspection/feedback"),  # feedback.html
        ("GET", "/inspection/draws"),  # public: every draw (draws.html)
        ("GET", "/inspection/draws/{draw_id}"),  # public: one draw (draw.html)
        ("GET", "/inspection/results/{task_id}"),  # public: a published result
        ("GET", "/catering/r/{restaurant_id}"),  # modules/catering/pages.py: public QR page
        ("POST", "/catering/r/{restaurant_id}/feedback"),  # public: the feedback form
        ("GET", "/catering/r/{restaurant_id}/qr.svg"),  # public: the QR code to print
        ("GET", "/catering/map"),  # the layout map (一张布局图)
        ("GET", "/catering/restaurants"),  # the registry with scores and alarm states
        ("GET", "/catering/restaurants/{restaurant_id}"),  # one restaurant (一户一档)
        ("POST", "/catering/restaurants/{restaurant_id}/feedback/{feedback_id}"),  # moderate
        ("GET", "/catering/alarms"),  # alarms
        ("GET", "/catering/problems"),  # the problem list and the reviewers' queue
        ("POST", "/catering/problems/{problem_id}/transfer"),  # its 一键移送 button
    }
)


def rule_for(method: str, path: str) -> Rule:
    if path in OPEN_PATHS:
        return PUBLIC
    if (method, path) in PAGES or (method == "HEAD" and ("GET", path) in PAGES):
        return PAGE
    rule = RULES.get((method, path)) or (RULES.get(("GET", path)) if method == "HEAD" else None)
    if rule is None:
        raise PolicyGapError(f"no access rule for {method} {path}")
    return rule


class PolicyGapError(EvidenceError):
    """A route nobody gave an access rule: refused until one is written (a programming error)."""

    slug, title, status = "policy-gap", "Route without an access rule", 500


# ------------------------------------------------------------------------------ records


def cosignature_owner(session: Session, cosignature_id: str) -> Owner | None:
    """A co-signature: its subject item's department's and the named departments' (and where
    the item was transferred to); a batch root's is everyone's."""
    audience = cosignature_audience(session, cosignature_id)
    if audience is None:
        return None
    return Owner(audience.departments, evidence_id=audience.evidence_id)


#: Path parameters that name a department's record, and how to find whose it is (the lookups
#: are the transfer wing's, ``transfer/owners.py``: the lowest wing that sees every such table).
RESOLVERS: dict[str, OwnerLookup] = {
    "evidence_id": evidence_owner,
    "case_id": owned_by(Case),
    "party_id": shared_owner(Party),  # one register for the province; changed by its registrar
    "place_id": owned_by(Place),
    "list_id": list_owner,
    "transfer_id": transfer_owner,
    "upload_id": upload_owner,
    "officer_id": officer_owner,
    "token_id": token_owner,
    "node_id": node_owner,
    "department_id": department_owner,
    "cosignature_id": cosignature_owner,
}


def _visible(session: Session, actor: Actor, rule: Rule, owner: Owner) -> bool:
    return may_see(session, actor, owner, oversight=rule.oversight, through_grants=rule.granted)


def _refusal(actor: Actor, rule: Rule, owner: Owner, what: str) -> str | None:
    """Why a caller who may see the record may still not act on it, or None."""
    if actor.role in rule.oversight:
        return None
    if rule.keeper and owner.keeper not in (None, actor.department_id):
        return f"only the department keeping {what} acts on it, not a {actor.role} of another"
    if rule.side and owner.sender is not None:
        end = owner.sender if rule.side == "sending" else owner.recipient
        if actor.department_id != end:
            yours = "received" if rule.side == "sending" else "sent"
            return f"only the {rule.side} department acts on {what} here; yours {yours} it"
    return None


@dataclass
class Decision:
    rule: Rule
    actor: Actor | None
    checked: list[str] = field(default_factory=list)  # the path parameters resolved


def decide(
    session: Session,
    actor: Actor | None,
    method: str,
    path: str,
    path_params: dict[str, str],
) -> Decision:
    """Allow, or raise 403 (the role may never call this) or 404 (a named record is not the
    caller's to see). ``actor`` is None for a caller without a token (public routes only)."""
    rule = rule_for(method, path)
    if rule.roles is None:
        return Decision(rule, actor)
    if actor is None:
        raise AssertionError("signed-in routes resolve the actor first")
    if actor.role not in rule.roles:
        raise ForbiddenError(
            f"role {actor.role} may not call {method} {path} "
            f"(allowed: {', '.join(sorted(rule.roles))})"
        )
    decision = Decision(rule, actor)
    for name, value in path_params.items():
        resolve = RESOLVERS.get(name)
        if resolve is None:
            continue
        owner = resolve(session, value)
        if owner is None or not _visible(session, actor, rule, owner):
            raise NotFoundError(f"no {name.removesuffix('_id')} {value}")
        refusal = _refusal(actor, rule, owner, f"{name.removesuffix('_id')} {value}")
        if refusal:  # the caller knows the record exists, so saying so leaks nothing
            raise ForbiddenError(refusal)
        decision.checked.append(name)
    return decision


def route_template(request: Request) -> str:
    path = getattr(request.scope.get("route"), "path", None)
    return str(path) if path is not None else request.url.path  # the URL only when needed


# ------------------------------------------------------------------------------ queries


def sees_everything(actor: Actor, rule: Rule | None = None) -> bool:
    return actor.role in (rule.oversight if rule else AUDITOR)
