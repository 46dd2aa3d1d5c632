"""Evidence lists (证据清单): a case's items in order, with what each proves; issued lists are
sealed by the department and anchored, so a printed list can be checked against the chain.

The list body is canonical JSON (``evidence-list/1``); its SHA-256 is what the department seal
signs, and SHA-256(0x00 ‖ JCS(body)) is its Merkle leaf in the next anchor batch.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta, timezone
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select
from web3 import Web3

from evidence_service.access.identity import Actor
from evidence_service.access.models import Department, Officer
from evidence_service.access.pki import Pki
from evidence_service.access.trust import TrustSources, service_pins
from evidence_service.anchoring.batches import queue_document_leaf
from evidence_service.anchoring.models import AnchorLeaf, LeafKind
from evidence_service.anchoring.proofs import TreeCache, merkle_and_anchor
from evidence_service.capture.ingest import new_id
from evidence_service.capture.models import Evidence
from evidence_service.cases.list_document import EvidenceListDocument, EvidenceListItem
from evidence_service.cases.models import Case, CaseEvidenceEntry, EvidenceList, GraphEdge, Party
from evidence_service.core.clock import rfc3339
from evidence_service.core.db import session_scope
from evidence_service.core.errors import NotFoundError
from evidence_service.custody.log import append_event
from evidence_service.verify.list_steps import ListDocument, list_verdict
from evidence_service.verify.verdict import Verdict
from signing.jcs import canonicalize

LIST_FORMAT = "evidence-list/1"
CHINA_TIME = timezone(timedelta(hours=8))


def list_body(session: Session, case_id: str) -> dict[str, Any]:
    case = session.get(Case, case_id)
    if case is None:
        raise NotFoundError(f"no case {case_id}")
    department = session.get(Department, case.department_id)
    assert department is not None
    entries = session.exec(
        select(CaseEvidenceEntry, Evidence)
        .join(Evidence, Evidence.id == CaseEvidenceEntry.evidence_id)  # type: ignore[arg-type]
        .where(CaseEvidenceEntry.case_id == case_id)
        .order_by(col(CaseEvidenceEntry.position))
    ).all()
    officers = {
        o.id: o.name
        for o in session.exec(
            select(Officer).where(col(Officer.id).in_({e.officer_id for _, e in entries}))
        ).all()
    }
    party_ids = session.exec(
        select(GraphEdge.target_id).where(
            GraphEdge.kind == "concerns_party", GraphEdge.source_id == case_id
        )
    ).all()
    parties = session.exec(
        select(Party).where(col(Party.id).in_(party_ids)).order_by(col(Party.name))
    ).all()
    return {
        "format": LIST_FORMAT,
        "case": {
            "id": case.id,
            "case_number": case.case_number,
            "title": case.title,
            "kind": str(case.kind),
            "department_id": department.id,
            "department": department.name,
        },
        "parties": [{"name": p.name, "identifier": p.identifier_masked} for p in parties],
        "items": [
            {
                "number": number,
                "evidence_id": evidence.id,
                "name": evidence.title,
                "source": {
                    "officer": officers.get(evidence.officer_id, evidence.officer_id),
                    "captured_at": rfc3339(evidence.captured_at),
                    "place": evidence.location_address,
                    "port": evidence.port,
                },
                "purpose": entry.purpose,
                "size": evidence.size,
                "pages": evidence.extracted.get("page_count"),
                "sha256": evidence.sha256,
            }
            for number, (entry, evidence) in enumerate(entries, start=1)
        ],
    }


def list_digest(body: dict[str, Any]) -> str:
    return hashlib.sha256(canonicalize(body)).hexdigest()


def issue_list(pki: Pki, case_id: str, *, actor: Actor) -> EvidenceList:
    """Seal the case's current list with the department seal and queue it for anchoring."""
    with Session(pki.engine) as session:
        body = list_body(session, case_id)
    body["issued_at"] = rfc3339(pki.clock())
    body["issued_by"] = actor.officer_id
    digest = list_digest(body)
    now = pki.clock()
    with session_scope(pki.engine) as session:  # the seal commits with the list, or neither
        record = pki.seal_digest(
            body["case"]["department_id"], digest, actor_id=actor.officer_id, session=session
        )
        leaf_seq = queue_document_leaf(session, LeafKind.evidence_list, body, now)
        issued = EvidenceList(
            id=new_id(),
            case_id=case_id,
            body=body,
            digest=digest,
            seal=json.loads(record.as_json()),
            leaf_seq=leaf_seq,
            issued_by=actor.officer_id,
            issued_at=now,
        )
        session.add(issued)
        append_event(
            session,
            action="evidence_list_issued",
            at=now,
            actor_id=actor.officer_id,
            department_id=actor.department_id,
            details={"case_id": case_id, "list_id": issued.id, "digest": digest},
        )
    return issued


def issued_list_document(
    session: Session, issued: EvidenceList, trees: TreeCache
) -> dict[str, Any]:
    """The issued list with everything needed to check it: body, digest, seal, Merkle path and
    anchor (null until its batch closes / is mined)."""
    leaf = session.get(AnchorLeaf, issued.leaf_seq)
    assert leaf is not None
    merkle, anchor = merkle_and_anchor(session, leaf, trees)
    return {
        "id": issued.id,
        "body": issued.body,
        "digest": issued.digest,
        "seal": issued.seal,
        "merkle": merkle,
        "anchor": anchor,
    }


def pdf_document(session: Session, issued: EvidenceList, trees: TreeCache) -> EvidenceListDocument:
    """The printable form of an issued list (with its anchor, once mined)."""
    body = issued.body
    leaf = session.get(AnchorLeaf, issued.leaf_seq)
    assert leaf is not None
    _, anchor = merkle_and_anchor(session, leaf, trees)
    officer = session.get(Officer, issued.issued_by)
    issued_local = issued.issued_at.astimezone(CHINA_TIME)
    return EvidenceListDocument(
        case_number=body["case"]["case_number"],
        case_title=body["case"]["title"],
        party="、".join(
            f"{p['name']}（{p['identifier']}）" if p["identifier"] else p["name"]
            for p in body["parties"]
        )
        or "—",
        department=body["case"]["department"],
        officer=officer.name if officer else issued.issued_by,
        date=issued_local.date().isoformat(),
        items=[
            EvidenceListItem(
                number=item["number"],
                name=item["name"],
                source=" ".join(
                    s
                    for s in (
                        item["source"]["officer"],
                        item["source"]["captured_at"],
                        item["source"]["place"] or "",
                    )
                    if s
                ),
                purpose=item["purpose"] or "—",
                size_or_pages=(
                    f"{item['pages']} 页" if item["pages"] else f"{item['size']:,} 字节"
                ),
                sha256=item["sha256"],
            )
            for item in body["items"]
        ],
        list_digest=issued.digest,
        list_id=issued.id,
        anchor_note=(
            f"批次 batch {anchor['batch_id']} · 区块 block {anchor['block_number']} · "
            f"交易 tx {anchor['tx_hash']} · chain {anchor['chain_id']}"
            if anchor
            else "待上链 anchor pending — 稍后重新下载 fetch again later"
        ),
    )


# ------------------------------------------------------------------------------ for the API


def current_list_document(engine: Engine, case_id: str) -> dict[str, Any]:
    """The case's list as it stands (not sealed) and its digest: SHA-256 of the body's JCS."""
    with Session(engine) as session:
        body = list_body(session, case_id)
    return {"body": body, "digest": list_digest(body)}


def issue_list_document(
    pki: Pki, trees: TreeCache, case_id: str, *, actor: Actor
) -> dict[str, Any]:
    """Issue the case's list (:func:`issue_list`) and answer the issued document."""
    issued = issue_list(pki, case_id, actor=actor)
    with Session(pki.engine) as session:
        return issued_list_document(session, issued, trees)


def issued_lists(engine: Engine, case_id: str) -> list[dict[str, Any]]:
    """The lists issued for a case, oldest first: id, digest, when and by whom."""
    with Session(engine) as session:
        rows = session.exec(
            select(EvidenceList)
            .where(EvidenceList.case_id == case_id)
            .order_by(col(EvidenceList.issued_at))
        ).all()
        return [
            {"id": r.id, "digest": r.digest, "issued_at": r.issued_at, "issued_by": r.issued_by}
            for r in rows
        ]


def issued_list(engine: Engine, trees: TreeCache, list_id: str) -> dict[str, Any]:
    """An issued list's document (:func:`issued_list_document`); NotFoundError for no list."""
    with Session(engine) as session:
        issued = session.get(EvidenceList, list_id)
        if issued is None:
            raise NotFoundError(f"no evidence list {list_id}")
        return issued_list_document(session, issued, trees)


@dataclass(frozen=True)
class PrintableList:
    """An issued list ready for the PDF: the printed document and the department whose seal
    is stamped on it."""

    list_id: str
    document: EvidenceListDocument
    department: Department


def _printable(session: Session, issued: EvidenceList, trees: TreeCache) -> PrintableList:
    document = pdf_document(session, issued, trees)
    department = session.get(Department, issued.body["case"]["department_id"])
    assert department is not None
    return PrintableList(issued.id, document, department)


def latest_printable_list(engine: Engine, trees: TreeCache, case_id: str) -> PrintableList:
    """The case's latest issued list, to print; NotFoundError when none was issued yet."""
    with Session(engine) as session:
        issued = session.exec(
            select(EvidenceList)
            .where(EvidenceList.case_id == case_id)
            .order_by(col(EvidenceList.issued_at).desc())
            .limit(1)
        ).first()
        if issued is None:
            raise NotFoundError(f"case {case_id} has no issued evidence list; issue one first")
        return _printable(session, issued, trees)


def issued_list_to_send(
    engine: Engine, trees: TreeCache, list_id: str
) -> tuple[dict[str, Any], PrintableList] | None:
    """An issued list as a package carries it: its checkable document and its printable form,
    read together; None when there is no such list."""
    with Session(engine) as session:
        issued = session.get(EvidenceList, list_id)
        if issued is None:
            return None
        document = issued_list_document(session, issued, trees)
        return document, _printable(session, issued, trees)


@dataclass(frozen=True)
class IssuedListCheck:
    """A list checked against the one issued here with its digest: which list, the issued
    document as stored, and the verdict."""

    issued: EvidenceList
    document: dict[str, Any]
    verdict: Verdict

    def as_json(self) -> dict[str, Any]:
        """Every step, ``valid``, the first failure, and the list's id, case number and issue
        time."""
        return {
            **self.verdict.as_json(),
            "list": {
                "id": self.issued.id,
                "case_number": self.issued.body["case"]["case_number"],
                "issued_at": self.issued.body["issued_at"],
            },
        }


def check_issued_list(
    sources: TrustSources,
    trees: TreeCache,
    digest: str,
    *,
    sent: ListDocument | None,
    chain_reader: Callable[[], Web3 | None],
) -> IssuedListCheck:
    """Check the list issued here with ``digest`` (the one issued first): the document ``sent``
    whole as sent, else the issued one — digest, seal, Merkle leaf and path, and its anchor on
    this service's chain, pinned to its registry and trust bundle. NotFoundError when no list
    has the digest."""
    with Session(sources.engine) as session:
        issued = session.exec(
            select(EvidenceList)
            .where(EvidenceList.digest == digest)
            .order_by(col(EvidenceList.issued_at))
            .limit(1)
        ).first()
        if issued is None:
            raise NotFoundError(f"no evidence list issued here has the digest {digest}")
        stored = issued_list_document(session, issued, trees)
        pins = service_pins(sources, session)
    document = sent or ListDocument.from_json(stored)
    verdict = list_verdict(document, w3=chain_reader(), pins=pins, typed=digest)
    return IssuedListCheck(issued, stored, verdict)
