"""Which custodial certificate signs an officer's capture, and when the service may not sign.

The service signs a capture statement with the officer's custodial key (kept here encrypted) so
that a court never sees an unsigned statement. The rules, read here and acted on by
:meth:`evidence_service.access.pki.Pki.signing_certificate`:

- the newest unrevoked custodial certificate valid at the capture time signs — unless it is due
  for renewal (it expires within ``EVIDENCE_OFFICER_CERT_RENEW_DAYS``, or within the second half
  of its validity if that is shorter, or the department CA that issued it has since been
  rotated): then a fresh one is issued from the department's current CA first;
- with none valid: a newest custodial certificate that simply aged out (expired, never revoked)
  is renewed; a revoked one means the service signs nothing more for the officer until an admin
  issues a new certificate;
- an officer with no certificate at all (made before certificates came with every officer, or
  seeded without the PKI) gets a first custodial certificate;
- an officer with only certificates for keys they hold themselves is never signed for here:
  they capture in two steps (prepare, sign on their device, upload with the signature).

A department with ``require_signed_captures`` (the default) refuses a capture the service cannot
sign (:func:`unsigned_capture_refusal`); otherwise that statement stays unsigned. Everything here
only reads.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Executable, bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from evidence_service.access.models import Department, DepartmentCA, Officer, OfficerCertificate
from evidence_service.core import driver
from evidence_service.core.clock import rfc3339
from evidence_service.core.errors import SigningCertificateChangedError
from signing.cert_codec import authority_key_id, load_certificate, subject_key_id

#: How a capture is signed when the officer holds their own key.
TWO_STEP = "POST /api/v1/evidence/prepare, sign the payload, upload with the signature"


@dataclass(frozen=True)
class CustodialPlan:
    """What signing a capture of an officer at a time takes.

    ``current`` signs unless ``issue`` asks for a fresh custodial certificate first (replacing
    ``renews``, when there is one); with neither, ``why_not`` says why nothing can sign."""

    current: OfficerCertificate | None
    issue: bool = False
    renews: str | None = None
    why_not: str | None = None

    @property
    def signable(self) -> bool:
        return self.issue or self.current is not None


#: Of the officer, custodial, unrevoked and valid at ``at`` (:func:`_validity`'s parameters);
#: the queries are built once, as every signed capture runs one.
_VALID_CUSTODIAL = (
    col(OfficerCertificate.officer_id) == bindparam("officer_id"),
    col(OfficerCertificate.custodial).is_(True),
    col(OfficerCertificate.revoked_at).is_(None),
    col(OfficerCertificate.not_before) <= bindparam("at"),
    col(OfficerCertificate.not_after) > bindparam("valid_past"),
)
_NEWEST_FIRST = col(OfficerCertificate.not_before).desc()
_CUSTODIAL = select(OfficerCertificate).where(*_VALID_CUSTODIAL).order_by(_NEWEST_FIRST).limit(1)
_CUSTODIAL_WITH_CA = (
    select(col(OfficerCertificate.serial), col(DepartmentCA.certificate))
    .outerjoin(
        DepartmentCA,
        col(DepartmentCA.department_id) == col(OfficerCertificate.department_id),
    )
    .where(*_VALID_CUSTODIAL)
    .order_by(_NEWEST_FIRST)
    .limit(1)
)


def _validity(officer_id: str, at: datetime) -> dict[str, Any]:
    return {"officer_id": officer_id, "at": at, "valid_past": at + timedelta(seconds=1)}


def custodial_certificate(
    session: Session, officer_id: str, at: datetime
) -> OfficerCertificate | None:
    """The newest unrevoked custodial certificate of the officer valid at ``at``."""
    return session.exec(_CUSTODIAL, params=_validity(officer_id, at)).first()


def _custodial_with_ca(
    connection: Connection, officer_id: str, at: datetime
) -> tuple[OfficerCertificate | None, str | None]:
    """:func:`custodial_certificate` and its department's current CA certificate PEM. Each
    capture asks, and the query runs fresh every time (a revocation must bite at once); only
    the chosen certificate's row, which revocation does not otherwise change, is remembered."""
    # On the driver's cursor: a select of columns needs none of the ORM's execution path,
    # nor that of Connection.execute (core/driver.py).
    row = driver.first(connection, _CUSTODIAL_WITH_CA, _validity(officer_id, at))
    if row is None:
        return None, None
    serial, ca_pem = row
    return _issued(connection, serial), ca_pem


@functools.cache
def _revoked_at(slots: int) -> Executable:
    """Serial and ``revoked_at`` of up to ``slots`` certificates (:func:`certificates_revoked`)."""
    serial = col(OfficerCertificate.serial)
    return sa_select(serial, col(OfficerCertificate.revoked_at)).where(
        driver.in_slots(serial, "serial", slots)
    )


def certificates_revoked(connection: Connection, serials: Collection[str]) -> dict[str, Exception]:
    """The certificates of ``serials`` that are revoked (or unknown), each with the error a
    capture signed with it gets: one query for them all, in the caller's transaction (a
    capture confirms its signing certificate in the one that records it)."""
    query = _revoked_at(driver.slots(serials))
    found = dict(driver.every(connection, query, driver.slot_values(serials, "serial")))
    return {
        serial: SigningCertificateChangedError(
            f"certificate {serial}, which signed this capture's statement, was revoked before "
            "the capture was recorded; nothing was kept: send it again",
            serial=serial,
        )
        for serial in serials
        if serial not in found or found[serial] is not None
    }


def signing_as_is(
    connection: Connection, officer_id: str, at: datetime, *, renew_within: timedelta
) -> tuple[OfficerCertificate, str | None] | None:
    """The certificate that signs a capture of ``officer_id`` at ``at`` when nothing is to be
    issued first (:func:`custodial_plan`'s ``current`` when it plans no issue), with its
    department's current CA certificate PEM. This is every signed capture but the first after
    a renewal falls due, so it is one query on a plain connection, without an ORM session.
    None: ask :func:`custodial_plan` (none valid, renewal due, revoked, or the officer holds
    their own key)."""
    current, ca_pem = _custodial_with_ca(connection, officer_id, at)
    if current is None or not signs_as_is(current, ca_pem, at, renew_within=renew_within):
        return None
    return current, ca_pem


def signs_as_is(
    cert: OfficerCertificate, ca_pem: str | None, at: datetime, *, renew_within: timedelta
) -> bool:
    """Whether ``cert`` (unrevoked, as last read) signs a capture at ``at`` with nothing to
    issue first: valid then, not due for renewal against the department's CA ``ca_pem``."""
    valid = cert.not_before <= at and cert.not_after > at + timedelta(seconds=1)
    return valid and not _due_for_renewal(cert, ca_pem, at, renew_within)


_ISSUED_MAX = 4096
_issued_rows: dict[str, OfficerCertificate] = {}
_issued_guard = threading.Lock()


def _issued(connection: Connection, serial: str) -> OfficerCertificate | None:
    """The certificate row of ``serial``, as a copy attached to no session (callers only read
    it), read once per process. Only ``revoked_at`` of a certificate row ever changes, and the
    callers' query refuses revoked ones before asking; the copy's ``revoked_at`` means
    nothing."""
    with _issued_guard:
        known = _issued_rows.get(serial)
    if known is not None:
        return known
    with Session(bind=connection) as session:  # on the caller's connection and transaction
        row = session.get(OfficerCertificate, serial)
        if row is None:
            return None
        copy = OfficerCertificate.model_validate(row.model_dump())
    with _issued_guard:
        if len(_issued_rows) >= _ISSUED_MAX:
            _issued_rows.clear()
        _issued_rows[serial] = copy
    return copy


@functools.lru_cache(maxsize=512)
def _key_ids(pem: str) -> tuple[bytes | None, bytes | None]:
    """(subject key id, authority key id) of a certificate: pure facts of its bytes."""
    cert = load_certificate(pem)
    return subject_key_id(cert), authority_key_id(cert)


def issued_by(certificate_pem: str, ca_certificate_pem: str) -> bool:
    """Whether the certificate names the CA's key as its issuer (the CAs here always set the
    key identifiers; a rotated CA keeps the department's name but not its key)."""
    authority = _key_ids(certificate_pem)[1]
    return authority is not None and authority == _key_ids(ca_certificate_pem)[0]


def _due_for_renewal(
    cert: OfficerCertificate, ca_pem: str | None, at: datetime, renew_within: timedelta
) -> bool:
    window = min(renew_within, (cert.not_after - cert.not_before) / 2)
    if cert.not_after - at <= window:
        return True
    return ca_pem is not None and not issued_by(cert.certificate, ca_pem)


def custodial_plan(
    session: Session, officer_id: str, at: datetime, *, renew_within: timedelta = timedelta(0)
) -> CustodialPlan:
    """How a capture of ``officer_id`` at ``at`` gets signed (the module's rules)."""
    if renew_within > timedelta(0):
        current, ca_pem = _custodial_with_ca(session.connection(), officer_id, at)
    else:
        current, ca_pem = custodial_certificate(session, officer_id, at), None
    if current is not None:
        if renew_within > timedelta(0) and _due_for_renewal(current, ca_pem, at, renew_within):
            return CustodialPlan(current, issue=True, renews=current.serial)
        return CustodialPlan(current)
    newest = session.exec(
        select(OfficerCertificate)
        .where(
            OfficerCertificate.officer_id == officer_id,
            col(OfficerCertificate.custodial).is_(True),
        )
        .order_by(col(OfficerCertificate.not_before).desc())
        .limit(1)
    ).first()
    if newest is not None and newest.revoked_at is None:
        return CustodialPlan(None, issue=True, renews=newest.serial)  # it aged: renew
    if newest is not None:
        assert newest.revoked_at is not None
        return CustodialPlan(
            None,
            why_not=f"officer {officer_id}'s custodial certificate {newest.serial} was revoked "
            f"{rfc3339(newest.revoked_at)} and the service signs nothing more with it; an admin "
            f"issues a new one (POST /api/v1/officers/{officer_id}/certificates)",
        )
    own_key = session.exec(
        select(OfficerCertificate.serial).where(OfficerCertificate.officer_id == officer_id)
    ).first()
    if own_key is not None:
        return CustodialPlan(
            None,
            why_not=f"officer {officer_id} holds their own signing key (no custodial key "
            f"here): capture in two steps ({TWO_STEP})",
        )
    return CustodialPlan(None, issue=True)  # no certificate yet: their first


def unsigned_capture_refusal(
    engine: Engine, officer_id: str, at: datetime, *, signing: bool = True
) -> str | None:
    """Why a capture of ``officer_id`` at ``at`` must be refused, or None: its department does
    not require signed captures, or the service can sign it (perhaps after renewing or issuing
    the officer's custodial certificate). ``signing`` False: the caller signs nothing at all."""
    with Session(engine) as session:
        officer = session.get(Officer, officer_id)
        department = session.get(Department, officer.department_id) if officer else None
        if department is None or not department.require_signed_captures:
            return None
        if signing:
            plan = custodial_plan(session, officer_id, at)
            if plan.signable:
                return None
            why = plan.why_not
        else:
            why = "this service is not set up to sign capture statements"
    return (
        f"the statement of this capture cannot be signed: {why}. Department {department.code} "
        "requires signed captures (an admin may turn that off with PATCH "
        f'/api/v1/departments/{department.id} {{"require_signed_captures": false}})'
    )
