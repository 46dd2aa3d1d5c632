"""What the transfer wing needs from the wiring, and nothing more.

``evidence_service.services.Services`` provides it; tests may pass anything shaped alike. The
wing never imports the wiring (it sits above every wing).
"""

from __future__ import annotations

from typing import Protocol

from web3 import Web3

from evidence_service.access.trust import TrustSources
from evidence_service.anchoring.proofs import TreeCache
from evidence_service.capture.ingest import Ingestor
from evidence_service.core.clock import Clock
from storage.base import ObjectStore


class TransferNeeds(TrustSources, Protocol):
    """What the trust bundle comes from (settings, the database, department seals in ``pki``),
    and the object store, the clock, cached Merkle trees for proofs, idempotent replays
    (``ingestor``) and a chain reader."""

    @property
    def store(self) -> ObjectStore: ...

    @property
    def ingestor(self) -> Ingestor: ...

    @property
    def trees(self) -> TreeCache: ...

    @property
    def clock(self) -> Clock: ...

    def chain_reader(self) -> Web3 | None: ...
