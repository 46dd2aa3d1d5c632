"""The auditor's inputs: ``evidence verify``, ``verify-list`` and ``verify-package`` read files
and open a chain reader here, then take the verdict of :mod:`~evidence_service.verify`.

No database, no service: a file (or its SHA-256) and its proof document, an issued evidence list
(and the digest on its paper) or a package ZIP, and read access to a chain — a JSON-RPC URL, or
an embedded chain's data dir. The CLI prints the verdicts."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from web3 import HTTPProvider, Web3

from chain.embedded import EmbeddedChain
from chain.errors import ChainError
from chain.rpc_bridge import FunctionProvider
from evidence_service.verify.list_steps import (
    MAX_LIST_DOCUMENT_BYTES,
    ListDocument,
    ListFormatError,
    list_verdict,
    typed_digest,
)
from evidence_service.verify.package import package_verdict
from evidence_service.verify.package_format import PackageFormatError
from evidence_service.verify.proof import ProofDocument, ProofFormatError
from evidence_service.verify.proof_steps import Content, Pins, proof_verdict
from evidence_service.verify.verdict import Verdict

READ_CHUNK = 1024 * 1024


class AuditUsageError(Exception):
    """Bad input to the tool itself (missing file, malformed proof, unusable chain option)."""


def file_content(path: Path) -> Content:
    def chunks() -> Iterator[bytes]:
        with path.open("rb") as f:
            while chunk := f.read(READ_CHUNK):
                yield chunk

    return Content.of_chunks(chunks())


@contextlib.contextmanager
def chain_reader(rpc: str | None, data_dir: Path | None, timeout: float) -> Iterator[Web3]:
    if rpc:
        yield Web3(HTTPProvider(rpc, request_kwargs={"timeout": timeout}))
        return
    if data_dir is None:
        raise AuditUsageError("give --rpc URL (any node of the chain) or --data-dir DIR")
    chain_dir = data_dir / "chain"
    if not chain_dir.is_dir():
        raise AuditUsageError(f"{data_dir} holds no embedded chain (no {chain_dir})")
    try:
        embedded = EmbeddedChain.open(chain_dir, create=False)
    except ChainError as exc:
        raise AuditUsageError(
            f"cannot open the embedded chain in {chain_dir}: {exc} — while the service runs, "
            "use --rpc http://HOST:PORT/api/v1/chain/rpc"
        ) from exc
    try:
        yield Web3(FunctionProvider(embedded.rpc))
    finally:
        embedded.close()


def load_pins(trust_file: Path | None, chain_id: int | None, contract: str | None) -> Pins:
    contracts: set[str] = set()
    cas: tuple[bytes, ...] = ()
    crls: tuple[bytes, ...] = ()
    if trust_file is not None:
        try:
            bundle = json.loads(trust_file.read_text())
            chain_id = chain_id if chain_id is not None else int(bundle["chain_id"])
            contracts.add(str(bundle["contract"]))
            cas = tuple(str(pem).encode() for pem in bundle.get("ca_certificates", []))
            crls = tuple(str(pem).encode() for pem in bundle.get("crls", []))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise AuditUsageError(f"{trust_file} is not a trust bundle: {exc}") from exc
    if contract:
        contracts.add(contract)
    return Pins(chain_id, frozenset(contracts), cas, crls)


@dataclass(frozen=True)
class AuditRequest:
    proof: Path
    file: Path | None
    sha256: str | None
    rpc: str | None
    data_dir: Path | None
    pins: Pins
    timeout: float = 10.0
    require_signature: bool = False  # an unsigned statement fails step 4


def proof_verdict_from(request: AuditRequest) -> Verdict:
    """The proof's verdict; raises AuditUsageError for bad input."""
    try:
        proof = ProofDocument.from_json(request.proof.read_bytes())
    except OSError as exc:
        raise AuditUsageError(f"cannot read the proof: {exc}") from exc
    except ProofFormatError as exc:
        raise AuditUsageError(str(exc)) from exc
    if request.sha256 is not None:
        digest = request.sha256.strip().lower()
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise AuditUsageError("--sha256 must be 64 hex digits")
        content = Content(digest)
    elif request.file is not None:
        try:
            content = file_content(request.file)
        except OSError as exc:
            raise AuditUsageError(f"cannot read the file: {exc}") from exc
    else:
        raise AuditUsageError("give the evidence FILE or --sha256 HEX")
    with chain_reader(request.rpc, request.data_dir, request.timeout) as w3:
        return proof_verdict(
            proof, content, w3=w3, pins=request.pins, require_signature=request.require_signature
        )


@dataclass(frozen=True)
class ListAuditRequest:
    document: Path
    digest: str | None  # as typed off the printed list
    rpc: str | None
    data_dir: Path | None
    pins: Pins
    timeout: float = 10.0


def list_verdict_from(request: ListAuditRequest) -> Verdict:
    """Verify an issued list document (GET /api/v1/evidence-lists/{id}), optionally against the
    digest printed on the paper; raises AuditUsageError for bad input."""
    try:
        with request.document.open("rb") as f:
            raw = f.read(MAX_LIST_DOCUMENT_BYTES + 1)
    except OSError as exc:
        raise AuditUsageError(f"cannot read the list document: {exc}") from exc
    try:
        document = ListDocument.from_json(raw)
    except ListFormatError as exc:
        raise AuditUsageError(str(exc)) from exc
    typed = None
    if request.digest is not None:
        try:
            typed = typed_digest(request.digest)
        except ValueError as exc:
            raise AuditUsageError(f"--digest: {exc}") from exc
    with chain_reader(request.rpc, request.data_dir, request.timeout) as w3:
        return list_verdict(document, w3=w3, pins=request.pins, typed=typed)


@dataclass(frozen=True)
class PackageAuditRequest:
    package: Path
    rpc: str | None
    data_dir: Path | None
    pins: Pins | None  # None: trust the package's own trust/ (and say so)
    timeout: float = 10.0
    require_signature: bool = False  # an item with an unsigned statement fails


def package_verdict_from(request: PackageAuditRequest) -> Verdict:
    """The package's verdict; raises AuditUsageError for bad input (not a file, not a ZIP)."""
    if not request.package.is_file():
        raise AuditUsageError(f"{request.package} is not a file")
    with chain_reader(request.rpc, request.data_dir, request.timeout) as w3:
        try:
            return package_verdict(
                request.package,
                w3=w3,
                pins=request.pins,
                require_signature=request.require_signature,
            )
        except PackageFormatError as exc:
            raise AuditUsageError(f"{request.package}: {exc.detail}") from exc
