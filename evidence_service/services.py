"""Wiring: build the engine, the object store and the domain services from Settings, once."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine
from web3 import HTTPProvider, Web3

from chain.rpc_bridge import FunctionProvider
from evidence_service.access import models as access_tables
from evidence_service.access import refusals as refusal_tables
from evidence_service.access.pki import Pki
from evidence_service.anchoring import models as anchoring_tables
from evidence_service.anchoring.chain_link import ChainHolder, open_anchor_chain
from evidence_service.anchoring.proofs import TreeCache
from evidence_service.anchoring.worker import AnchorWorker
from evidence_service.capture import models as capture_tables
from evidence_service.capture.callers import RememberedTokens
from evidence_service.capture.ingest import Ingestor
from evidence_service.capture.upload_claims import settle_upload_session
from evidence_service.capture.uploads import UploadManager
from evidence_service.cases import models as cases_tables
from evidence_service.cases.capture_edges import capture_edges
from evidence_service.core.clock import Clock, utcnow
from evidence_service.core.config import Settings
from evidence_service.core.db import create_schema, make_engine
from evidence_service.cosign import models as cosign_tables
from evidence_service.cosign.cosignatures import CoSigner
from evidence_service.custody import models as custody_tables
from evidence_service.transfer import models as transfer_tables
from storage.base import ObjectStore
from storage.local import LocalStore
from storage.minio_store import MinioStore

#: Every wing's tables, registered on ``SQLModel.metadata`` before ``create_schema`` runs.
TABLE_MODULES = (
    access_tables,
    refusal_tables,
    anchoring_tables,
    capture_tables,
    cases_tables,
    cosign_tables,
    custody_tables,
    transfer_tables,
)


def build_store(settings: Settings) -> ObjectStore:
    if settings.object_store == "minio":
        store = MinioStore(
            endpoint=settings.minio_endpoint,
            access_key=settings.minio_access_key,
            secret_key=settings.minio_secret_key.get_secret_value(),
            bucket=settings.minio_bucket,
            secure=settings.minio_secure,
            region=settings.minio_region,
            part_size=settings.minio_part_size_mib * 1024 * 1024,
        )
        store.ensure_bucket()
        return store
    settings.objects_dir.mkdir(parents=True, exist_ok=True)
    return LocalStore(settings.objects_dir)


@dataclass
class Services:
    settings: Settings
    engine: Engine
    store: ObjectStore
    ingestor: Ingestor
    uploads: UploadManager
    pki: Pki
    cosigner: CoSigner
    callers: RememberedTokens
    chain_holder: ChainHolder = field(default_factory=ChainHolder)
    trees: TreeCache = field(default_factory=TreeCache)
    clock: Clock = utcnow

    def anchor_worker(self) -> AnchorWorker:
        """A worker that anchors for this service (not started) and shares its open chain."""
        return AnchorWorker(
            engine=self.engine,
            settings=self.settings,
            open_chain=lambda: open_anchor_chain(self.settings),
            holder=self.chain_holder,
            clock=self.clock,
        )

    def chain_reader(self) -> Web3 | None:
        """A read-only web3 for verification: the JSON-RPC node, or the embedded chain when
        this process holds it (None otherwise)."""
        if self.settings.chain_url:
            return Web3(
                HTTPProvider(
                    self.settings.chain_url,
                    request_kwargs={"timeout": self.settings.chain_timeout_seconds},
                )
            )
        embedded = self.chain_holder.embedded()
        return Web3(FunctionProvider(embedded.rpc)) if embedded is not None else None

    def close(self) -> None:
        self.ingestor.close()
        self.engine.dispose()


def build_services(
    settings: Settings, *, store: ObjectStore | None = None, clock: Clock = utcnow
) -> Services:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_db_url)
    create_schema(engine)
    store = store or build_store(settings)
    pki = Pki(engine, settings, clock)
    ingestor = Ingestor(
        engine=engine,
        store=store,
        settings=settings,
        clock=clock,
        signer=pki.sign_capture,
        capture_hooks=(capture_edges, settle_upload_session),
    )
    return Services(
        settings,
        engine,
        store,
        ingestor,
        UploadManager(ingestor),
        pki=pki,
        cosigner=CoSigner(pki),
        callers=RememberedTokens(engine),
        clock=clock,
    )
