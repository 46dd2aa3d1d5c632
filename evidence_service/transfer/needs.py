"""What the transfer wing needs from the wiring, and nothing more.

``evidence_service.services.Services`` provides it; tests may pass anything shaped alike. The
wing never imports the wiring (it sits above every wing).
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import Engine
from web3 import Web3

from evidence_service.access.pki import Pki
from evidence_service.anchoring.proofs import TreeCache
from evidence_service.capture.ingest import Ingestor
from evidence_service.core.clock import Clock
from evidence_service.core.config import Settings
from storage.base import ObjectStore


class TransferNeeds(Protocol):
    """The database, the object store, the clock, department seals (``pki``), cached Merkle
    trees for proofs, idempotent replays (``ingestor``), settings and a chain reader."""

    @property
    def settings(self) -> Settings: ...

    @property
    def engine(self) -> Engine: ...

    @property
    def store(self) -> ObjectStore: ...

    @property
    def ingestor(self) -> Ingestor: ...

    @property
    def pki(self) -> Pki: ...

    @property
    def trees(self) -> TreeCache: ...

    @property
    def clock(self) -> Clock: ...

    def chain_reader(self) -> Web3 | None: ...
