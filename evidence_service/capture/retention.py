"""Legal hold and disposal: the only ways an item's lock state changes after finalize.

Retention itself is set at finalize (``Ingestor.finalize``: years per capture category from
``Settings.retention_years``, recorded as ``Evidence.retention_until``). Here:

* an admin places or lifts a legal hold, with a reason, on the evidence object and every derived
  object (custody events ``legal_hold_set`` / ``legal_hold_cleared``);
* an admin disposes of an item whose retention has run out and that is not held: the stored
  bytes are removed; the row, statement and Merkle proof stay, ``disposed_at`` is set and a
  ``disposed`` event is appended. Anything else is refused (409) and changes nothing.
* the items held now are listed, with who placed each hold, when and why (``held_items``,
  the admin's holds page).

Invariant: while the row says ``legal_hold`` the store holds every object of the item. The
store may hold more than the row says (a placement that failed before its commit, a release
interrupted after the record was cleared); that is safe, and lifting the hold again finishes it.

Every change locks the evidence row (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's single
writer) and makes its store calls while holding it, so a hold and a release of the same item
never interleave. These are rare admin actions on a handful of objects, so holding the lock
across a few store calls costs little.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from evidence_service.access.identity import Actor
from evidence_service.capture.models import DerivedObject, Evidence
from evidence_service.core.clock import rfc3339
from evidence_service.core.cursors import keyset_page
from evidence_service.core.db import session_scope
from evidence_service.core.errors import EvidenceError, NotFoundError, StoreUnavailableError
from evidence_service.custody.log import CustodyAction, append_event
from evidence_service.custody.models import CustodyEvent
from storage.errors import ObjectLockedError, ObjectNotFoundError, StorageError

if TYPE_CHECKING:
    from evidence_service.capture.ingest import Ingestor

#: Custody action of a disposal (the bytes removed after retention ran out).
DISPOSED = "disposed"
CONTENT_ROLE = "content"
MAX_REASON_CHARS = 1000


class LegalHoldError(EvidenceError):
    slug, title, status = "legal-hold", "The evidence is under legal hold", 409


class RetentionActiveError(EvidenceError):
    slug, title, status = "retention-active", "The evidence is still under retention", 409


class HoldStateError(EvidenceError):
    slug, title, status = (
        "legal-hold-state",
        "The legal hold is not in the state this action needs",
        409,
    )


class DisposedError(EvidenceError):
    slug, title, status = "disposed", "The evidence bytes were disposed of", 410


def refuse_disposed(evidence: Evidence) -> None:
    """Raise ``DisposedError`` (410) if the item's bytes were removed after its retention."""
    if evidence.disposed_at is not None:
        raise DisposedError(
            f"evidence {evidence.id} was disposed of at {rfc3339(evidence.disposed_at)} after "
            "its retention ran out; its record, statement and proof remain",
            disposed_at=rfc3339(evidence.disposed_at),
        )


@dataclass(frozen=True)
class StoredObject:
    role: str  # "content" or the derived role
    key: str


@dataclass(frozen=True)
class ObjectLock:
    """The store's own view of one object's lock (``stat``); ``present`` False once removed."""

    role: str
    present: bool
    retain_until: datetime | None
    legal_hold: bool

    def public(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "present": self.present,
            "retain_until": rfc3339(self.retain_until) if self.retain_until else None,
            "legal_hold": self.legal_hold,
        }


@contextlib.contextmanager
def _store_errors(action: str) -> Iterator[None]:
    try:
        yield
    except StorageError as exc:
        raise StoreUnavailableError(f"{action}: {exc}") from exc


class RetentionKeeper:
    """Legal holds and disposal for the items of one service (engine, store and clock of its
    ``Ingestor``, whose ``finalize`` it runs first for an item not yet finalized)."""

    def __init__(self, ingestor: Ingestor) -> None:
        self._ingestor = ingestor
        self._engine = ingestor.engine
        self._store = ingestor.store

    # -- legal hold ----------------------------------------------------------------------------

    def place_hold(self, evidence_id: str, *, actor: Actor, reason: str) -> None:
        """Hold every object of the item; 409 ``legal-hold-state`` if it is held already."""
        self._ensure_finalized(evidence_id)
        with session_scope(self._engine) as session:
            evidence = _lock_row(session, evidence_id)
            refuse_disposed(evidence)
            if evidence.legal_hold:
                raise HoldStateError(
                    f"evidence {evidence_id} is already under legal hold", legal_hold=True
                )
            objects = _stored_objects(session, evidence)
            # Store first, then row + event: a failure or crash in between leaves the store
            # holding what the record calls free (safe; placing again completes it), never the
            # record claiming a hold the store does not enforce.
            self._set_holds(objects, on=True)
            evidence.legal_hold = True
            session.add(evidence)
            self._record(
                session,
                evidence,
                actor,
                CustodyAction.legal_hold_set,
                reason=reason,
                objects=len(objects),
            )

    def lift_hold(self, evidence_id: str, *, actor: Actor, reason: str) -> None:
        """Release the hold: the record first, then the store (the reverse order of placing).

        409 ``legal-hold-state`` when neither the record nor the store holds the item. When only
        the store does (an interrupted placement or release), the store is released and that is
        recorded with ``store_only``.
        """
        with session_scope(self._engine) as session:
            evidence = _lock_row(session, evidence_id)
            refuse_disposed(evidence)
            objects = _stored_objects(session, evidence)
            if not evidence.legal_hold:
                locks = zip(objects, self._locks(objects), strict=True)
                leftover = [item for item, lock in locks if lock.legal_hold]
                if not leftover:
                    raise HoldStateError(
                        f"evidence {evidence_id} is not under legal hold", legal_hold=False
                    )
                self._set_holds(leftover, on=False)
                self._record(
                    session,
                    evidence,
                    actor,
                    CustodyAction.legal_hold_cleared,
                    reason=reason,
                    store_only=True,
                )
                return
            evidence.legal_hold = False
            session.add(evidence)
            self._record(session, evidence, actor, CustodyAction.legal_hold_cleared, reason=reason)
        # The record says "free" and is committed; a crash before the store is released leaves
        # the store holding more than the record (safe), and lifting again finishes it.
        with session_scope(self._engine) as session:
            evidence = _lock_row(session, evidence_id)
            if evidence.legal_hold or evidence.disposed_at is not None:
                return  # held again meanwhile: that placement already holds the store
            self._set_holds(_stored_objects(session, evidence), on=False)

    # -- disposal ------------------------------------------------------------------------------

    def dispose(self, evidence_id: str, *, actor: Actor) -> None:
        """Remove the item's bytes once retention has run out and no hold remains.

        409 ``legal-hold`` while held (by the record or the store), 409 ``retention-active``
        until the latest retention date (the record's or the store's) has passed by the
        service's clock and the store's own. 410 when already disposed of.
        """
        self._ensure_finalized(evidence_id)
        now = self._ingestor.clock()
        with session_scope(self._engine) as session:
            evidence = _lock_row(session, evidence_id)
            refuse_disposed(evidence)
            if evidence.legal_hold:
                raise LegalHoldError(
                    f"evidence {evidence_id} is under legal hold; an admin must clear it first"
                )
            objects = _stored_objects(session, evidence)
            locks = self._locks(objects)
            if any(lock.legal_hold for lock in locks):
                raise LegalHoldError(
                    f"the object store still holds evidence {evidence_id} under legal hold; "
                    "DELETE its legal-hold to release it"
                )
            dates = [d for d in (evidence.retention_until, *(x.retain_until for x in locks)) if d]
            retained_until = max(dates, default=None)
            if retained_until is None:
                raise RetentionActiveError(
                    f"evidence {evidence_id} has no retention date recorded; it is kept"
                )
            if retained_until > now:
                raise _retained(evidence_id, retained_until)
            # Bytes first, then the record: a crash in between leaves an item whose bytes are
            # gone but which is not yet marked disposed; disposing again finishes it (removing
            # a missing object is a no-op). The content goes first, so a store that refuses
            # (its own clock says retained) refuses before anything is removed.
            for item in objects:
                try:
                    self._store.discard(item.key)
                except ObjectLockedError as exc:
                    raise RetentionActiveError(
                        f"the object store still retains evidence {evidence_id} ({exc})",
                        retention_until=rfc3339(retained_until),
                    ) from exc
                except StorageError as exc:
                    raise StoreUnavailableError(
                        f"could not dispose of evidence {evidence_id}: {exc}"
                    ) from exc
            evidence.disposed_at = now
            session.add(evidence)
            self._record(
                session,
                evidence,
                actor,
                DISPOSED,
                retention_until=rfc3339(retained_until),
                sha256=evidence.sha256,
                objects=len(objects),
            )

    # -- reading -------------------------------------------------------------------------------

    def status(self, evidence_id: str) -> dict[str, Any]:
        """The record's retention, hold and disposal, beside the store's view of each object."""
        with Session(self._engine) as session:
            evidence = session.get(Evidence, evidence_id)
            if evidence is None:
                raise NotFoundError(f"no evidence {evidence_id}")
            objects = _stored_objects(session, evidence)
        return {
            "evidence_id": evidence.id,
            "port": evidence.port,
            "finalized": evidence.finalized,
            "retention_until": _time(evidence.retention_until),
            "legal_hold": evidence.legal_hold,
            "disposed_at": _time(evidence.disposed_at),
            "store": [lock.public() for lock in self._locks(objects)],
        }

    # -- internals -----------------------------------------------------------------------------

    def _ensure_finalized(self, evidence_id: str) -> None:
        """404 for an unknown item; finish a finalize a crash interrupted (retention first)."""
        with Session(self._engine) as session:
            evidence = session.get(Evidence, evidence_id)
            if evidence is None:
                raise NotFoundError(f"no evidence {evidence_id}")
            finalized = evidence.finalized
        if not finalized:
            with _store_errors(f"could not finalize {evidence_id}"):
                self._ingestor.finalize(evidence_id)

    def _set_holds(self, objects: list[StoredObject], *, on: bool) -> None:
        with _store_errors("could not change the legal hold in the object store"):
            for item in objects:
                self._store.set_legal_hold(item.key, on)

    def _locks(self, objects: list[StoredObject]) -> list[ObjectLock]:
        locks = []
        with _store_errors("could not read the object store's lock state"):
            for item in objects:
                try:
                    info = self._store.stat(item.key)
                except ObjectNotFoundError:
                    locks.append(ObjectLock(item.role, False, None, False))
                    continue
                locks.append(ObjectLock(item.role, True, info.retain_until, info.legal_hold))
        return locks

    def _record(
        self,
        session: Session,
        evidence: Evidence,
        actor: Actor,
        action: CustodyAction | str,
        **details: Any,
    ) -> None:
        append_event(
            session,
            action=action,
            at=self._ingestor.clock(),
            evidence_id=evidence.id,
            actor_id=actor.officer_id,
            department_id=actor.department_id,
            details=details,
        )


#: The order of the held-items listing (a keyset cursor names it).
HELD_ORDER = "-received_at"


def held_items(
    engine: Engine, *, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """The items under a legal hold now, latest received first (one keyset page and the next
    page's cursor), each with the time, officer and reason of the ``legal_hold_set`` event
    that placed its hold. Only records-management facts (id, port, department, retention):
    an admin places holds on any department's items but does not read them, so no title."""
    with Session(engine) as session:
        query = select(Evidence).where(col(Evidence.legal_hold).is_(True))
        rows, next_cursor = keyset_page(
            session, query, Evidence, HELD_ORDER, limit=limit, cursor=cursor
        )
        placed = _hold_placements(session, [row.id for row in rows])
    return [_held_public(row, placed.get(row.id)) for row in rows], next_cursor


def _hold_placements(session: Session, evidence_ids: list[str]) -> dict[str, CustodyEvent]:
    """The latest ``legal_hold_set`` event of each item (by arrival: pending events count)."""
    if not evidence_ids:
        return {}
    events = session.exec(
        select(CustodyEvent)
        .where(
            col(CustodyEvent.evidence_id).in_(evidence_ids),
            CustodyEvent.action == CustodyAction.legal_hold_set,
        )
        .order_by(col(CustodyEvent.id))
    ).all()
    return {str(event.evidence_id): event for event in events}  # the latest wins


def _held_public(evidence: Evidence, placed: CustodyEvent | None) -> dict[str, Any]:
    return {
        "evidence_id": evidence.id,
        "port": evidence.port,
        "department_id": evidence.department_id,
        "received_at": rfc3339(evidence.received_at),
        "retention_until": _time(evidence.retention_until),
        "held_at": rfc3339(placed.at) if placed else None,
        "held_by": placed.actor_id if placed else None,
        "reason": str(placed.details.get("reason", "")) if placed else "",
    }


def _lock_row(session: Session, evidence_id: str) -> Evidence:
    evidence = session.exec(
        select(Evidence).where(Evidence.id == evidence_id).with_for_update()
    ).first()
    if evidence is None:
        raise NotFoundError(f"no evidence {evidence_id}")
    return evidence


def _stored_objects(session: Session, evidence: Evidence) -> list[StoredObject]:
    derived = session.exec(
        select(DerivedObject)
        .where(DerivedObject.evidence_id == evidence.id)
        .order_by(DerivedObject.role)  # type: ignore[arg-type]
    ).all()
    return [StoredObject(CONTENT_ROLE, evidence.object_key)] + [
        StoredObject(d.role, d.object_key) for d in derived
    ]


def _retained(evidence_id: str, until: datetime) -> RetentionActiveError:
    return RetentionActiveError(
        f"evidence {evidence_id} is retained until {rfc3339(until)}; it cannot be removed before",
        retention_until=rfc3339(until),
    )


def _time(value: datetime | None) -> str | None:
    return rfc3339(value) if value is not None else None
