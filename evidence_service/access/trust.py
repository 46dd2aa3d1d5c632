"""This service's trust bundle and the pins it verifies against: its chain deployment, the
department CAs and their CRLs. One source for ``GET /api/v1/trust``, the ``trust.json`` of a
court package, and every verification the service runs on a caller's behalf."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import Engine
from sqlmodel import Session

from evidence_service.access.pki import Pki
from evidence_service.anchoring.chain_link import current_deployment
from evidence_service.core.config import Settings
from evidence_service.verify.proof import MERKLE_HASH, PROOF_FORMAT
from evidence_service.verify.proof_steps import Pins


class TrustSources(Protocol):
    """Where the bundle comes from: the chain deployment (settings, database) and the
    department CAs (``pki``). ``evidence_service.services.Services`` is one."""

    @property
    def settings(self) -> Settings: ...

    @property
    def engine(self) -> Engine: ...

    @property
    def pki(self) -> Pki: ...


def published_trust(sources: TrustSources) -> dict[str, Any]:
    """:func:`trust_document` read in a session of its own (``GET /api/v1/trust``)."""
    with Session(sources.engine) as session:
        return trust_document(session, sources)


def trust_document(session: Session, services: TrustSources) -> dict[str, Any]:
    """The trust bundle: what ``GET /api/v1/trust`` serves, less how to reach this service's
    chain (a package carries the chain id and contract; its reader brings a node)."""
    deployment = current_deployment(session, services.settings)
    bundle = services.pki.trust_bundle(session)
    return {
        "proof_format": PROOF_FORMAT,
        "merkle_hash": MERKLE_HASH,
        "chain_id": deployment.chain_id if deployment else None,
        "contract": deployment.contract if deployment else None,
        "ca_certificates": bundle.ca_certificates,
        "crls": bundle.crls,
    }


def service_pins(services: TrustSources, session: Session | None = None) -> Pins:
    """Pins for checks the service makes itself: its own registry and trust bundle (read in
    ``session``, or in a session of its own)."""
    if session is None:
        with Session(services.engine) as own:
            return service_pins(services, own)
    deployment = current_deployment(session, services.settings)
    cas, crls = services.pki.trust_bundle(session).as_bytes()
    return Pins(
        deployment.chain_id if deployment else None,
        frozenset({deployment.contract}) if deployment else frozenset(),
        tuple(cas),
        tuple(crls),
    )
