"""Typed tags on evidence (party, time, place, cause, inspection_no, penalty_no, free).

The tags given at capture are part of the signed capture metadata and are copied here; tags added
or removed later are custody events and never touch the statement.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from evidence_service.access.identity import Actor
from evidence_service.capture.metadata import Tag
from evidence_service.capture.models import Evidence, EvidenceTag
from evidence_service.core.clock import Clock
from evidence_service.core.db import session_scope
from evidence_service.core.errors import ConflictError, NotFoundError
from evidence_service.core.rows import built
from evidence_service.custody.log import append_event


def capture_tags(evidence: Evidence, at: datetime) -> list[EvidenceTag]:
    """The rows for the tags an item was captured with (deduplicated)."""
    seen = {(t["type"], t["value"]) for t in evidence.tags}
    return [
        built(
            EvidenceTag,
            evidence_id=evidence.id,
            type=kind,
            value=value,
            created_by=evidence.officer_id,
            created_at=at,
        )
        for kind, value in sorted(seen)
    ]


def current_tags(session: Session, evidence_id: str) -> list[dict[str, Any]]:
    rows = session.exec(
        select(EvidenceTag)
        .where(EvidenceTag.evidence_id == evidence_id)
        .order_by(col(EvidenceTag.type), col(EvidenceTag.value))
    ).all()
    return [{"type": r.type, "value": r.value, "created_at": r.created_at} for r in rows]


def add_tag(session: Session, evidence_id: str, tag: Tag, *, actor: Actor, at: datetime) -> None:
    if session.get(Evidence, evidence_id) is None:
        raise NotFoundError(f"no evidence {evidence_id}")
    session.add(
        EvidenceTag(
            evidence_id=evidence_id,
            type=tag.type.value,
            value=tag.value,
            created_by=actor.officer_id,
            created_at=at,
        )
    )
    try:
        session.flush()
    except IntegrityError as exc:
        raise ConflictError(
            f"evidence {evidence_id} already has tag {tag.type}={tag.value}"
        ) from exc
    _custody(session, "tagged", evidence_id, tag, actor=actor, at=at)


def remove_tag(session: Session, evidence_id: str, tag: Tag, *, actor: Actor, at: datetime) -> None:
    result = session.execute(
        delete(EvidenceTag).where(
            col(EvidenceTag.evidence_id) == evidence_id,
            col(EvidenceTag.type) == tag.type.value,
            col(EvidenceTag.value) == tag.value,
        )
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFoundError(f"evidence {evidence_id} has no tag {tag.type}={tag.value}")
    _custody(session, "untagged", evidence_id, tag, actor=actor, at=at)


def _custody(
    session: Session, action: str, evidence_id: str, tag: Tag, *, actor: Actor, at: datetime
) -> None:
    append_event(
        session,
        action=action,
        at=at,
        evidence_id=evidence_id,
        actor_id=actor.officer_id,
        department_id=actor.department_id,
        details={"type": tag.type.value, "value": tag.value},
    )


# --- one transaction each, as the routes ask ----------------------------------------------------


def item_tags(engine: Engine, evidence_id: str) -> list[dict[str, Any]]:
    """The item's tags as they stand now (:func:`current_tags`), or :class:`NotFoundError`."""
    with Session(engine) as session:
        if session.get(Evidence, evidence_id) is None:
            raise NotFoundError(f"no evidence {evidence_id}")
        return current_tags(session, evidence_id)


def tag_item(
    engine: Engine, evidence_id: str, tag: Tag, *, actor: Actor, clock: Clock
) -> list[dict[str, Any]]:
    """:func:`add_tag` in a transaction of its own; answers the item's tags afterwards."""
    with session_scope(engine) as session:
        add_tag(session, evidence_id, tag, actor=actor, at=clock())
    with Session(engine) as session:
        return current_tags(session, evidence_id)


def untag_item(
    engine: Engine, evidence_id: str, tag: Tag, *, actor: Actor, clock: Clock
) -> list[dict[str, Any]]:
    """:func:`remove_tag` in a transaction of its own; answers the item's tags afterwards."""
    with session_scope(engine) as session:
        remove_tag(session, evidence_id, tag, actor=actor, at=clock())
    with Session(engine) as session:
        return current_tags(session, evidence_id)
