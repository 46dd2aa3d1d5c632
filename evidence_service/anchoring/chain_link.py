"""The service's link to its chain: which client to open, which registry to anchor into.

Settings decide the client (the embedded chain under the data dir, or a JSON-RPC node). The
registry address is, in order: ``EVIDENCE_CHAIN_CONTRACT``; the deployment recorded for this
chain id; a new deployment (recorded, so every later start reuses it).
"""

from __future__ import annotations

import threading
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from chain.base import AnchorChain
from chain.embedded import EmbeddedChain
from chain.rpc import RpcChain
from evidence_service.anchoring.models import ChainDeployment
from evidence_service.core.config import Settings
from evidence_service.core.db import session_scope


def open_anchor_chain(settings: Settings) -> AnchorChain:
    """Open the configured chain; raises ``chain.errors.ChainError`` (unavailable, locked)."""
    if settings.chain_url:
        assert settings.chain_key is not None  # Settings refuses a URL without a key
        key = settings.chain_key.get_secret_value().removeprefix("0x")
        return RpcChain.connect(
            settings.chain_url,
            private_key=bytes.fromhex(key),
            confirmations=settings.chain_confirmations,
            request_timeout=settings.chain_timeout_seconds,
        )
    return EmbeddedChain.open(settings.chain_dir)


def ensure_registry(
    engine: Engine, chain: AnchorChain, settings: Settings, *, now: datetime
) -> str:
    """Point ``chain`` at the registry (deploying one if none is known) and record it."""
    chain_id = chain.chain_id
    with Session(engine) as session:
        recorded = session.get(ChainDeployment, chain_id)
    address = settings.chain_contract or (recorded.contract if recorded else None)
    if address:
        chain.use_contract(address)
    else:
        address = chain.deploy()
    if recorded is None or recorded.contract != address:
        try:
            with session_scope(engine) as session:
                row = session.get(ChainDeployment, chain_id)
                if row is None:
                    session.add(
                        ChainDeployment(chain_id=chain_id, contract=address, created_at=now)
                    )
                else:
                    row.contract = address
                    row.created_at = now
                    session.add(row)
        except IntegrityError:  # another process recorded it first; theirs is as good
            pass
    return address


def current_deployment(session: Session, settings: Settings) -> ChainDeployment | None:
    """The registry the trust bundle names: the configured one, else the newest recorded."""
    query = select(ChainDeployment).order_by(col(ChainDeployment.created_at).desc())
    if settings.chain_contract:
        query = query.where(ChainDeployment.contract == settings.chain_contract)
    return session.exec(query.limit(1)).first()


class ChainHolder:
    """The chain this process has open (the anchoring worker's), shared with the API."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._chain: AnchorChain | None = None

    def set(self, chain: AnchorChain | None) -> None:
        with self._lock:
            self._chain = chain

    def get(self) -> AnchorChain | None:
        with self._lock:
            return self._chain

    def embedded(self) -> EmbeddedChain | None:
        chain = self.get()
        return chain if isinstance(chain, EmbeddedChain) else None
