"""The proof document (PROOF_FORMAT.md, ``evidence-proof/1``), parsed strictly.

``ProofDocument.from_json`` parses then checks shape: a proof with an unknown field, a number
where a string belongs, or a path longer than ``MAX_PROOF_DEPTH`` is refused before any step
runs, so the statement verified is byte for byte the statement in the file. The service builds
proofs from its rows in :mod:`evidence_service.anchoring.proofs`.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chain.merkle import MAX_PROOF_DEPTH
from evidence_service.core.digests import HEX64
from evidence_service.core.errors import EvidenceError
from evidence_service.verify.statement import CaptureStatement
from signing.jcs import TooDeepError, check_depth

PROOF_FORMAT = "evidence-proof/1"
MERKLE_HASH = "sha256-rfc9162"
MAX_PROOF_BYTES = 256 * 1024
ADDRESS = r"^0x[0-9a-fA-F]{40}$"
HASH32 = r"^0x[0-9a-fA-F]{64}$"


class ProofFormatError(EvidenceError):
    slug, title, status = "malformed-proof", "The proof document is malformed", 422


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class SignatureSection(_Frozen):
    alg: Literal["Ed25519", "ES256"]
    signer: str
    certificate: str
    value: str


class MerkleSection(_Frozen):
    hash: Literal["sha256-rfc9162"]
    leaf_index: int = Field(ge=0)
    tree_size: int = Field(ge=1)
    leaf_hash: str = Field(pattern=HEX64)
    path: list[str] = Field(max_length=MAX_PROOF_DEPTH)
    root: str = Field(pattern=HEX64)

    def path_bytes(self) -> list[bytes]:
        for element in self.path:
            if len(element) != 64:
                raise ValueError("every path element must be 64 hex digits")
        return [bytes.fromhex(h) for h in self.path]


class AnchorSection(_Frozen):
    chain_id: int = Field(ge=1)
    contract: str = Field(pattern=ADDRESS)
    tx_hash: str = Field(pattern=HASH32)
    block_number: int = Field(ge=1)
    block_hash: str = Field(pattern=HASH32)
    block_timestamp: int = Field(ge=0)
    batch_id: int = Field(ge=1)


class ProofDocument(_Frozen):
    format: Literal["evidence-proof/1"]
    statement: CaptureStatement
    signature: SignatureSection | None
    merkle: MerkleSection | None
    anchor: AnchorSection | None

    @classmethod
    def from_json(cls, data: bytes | str | dict[str, Any]) -> ProofDocument:
        try:
            if isinstance(data, bytes | str):
                if len(data) > MAX_PROOF_BYTES:
                    raise ProofFormatError(f"a proof is at most {MAX_PROOF_BYTES} bytes")
                check_depth(data)
                data = json.loads(data)
            if not isinstance(data, dict):
                raise ProofFormatError("a proof is a JSON object")
            return cls.model_validate(data, strict=True)
        except (json.JSONDecodeError, TooDeepError, UnicodeDecodeError) as exc:
            raise ProofFormatError(f"the proof is not JSON: {exc}") from exc
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(document)"
            raise ProofFormatError(
                f"the proof does not follow {PROOF_FORMAT}: {where}: {first['msg']}",
                errors=[
                    {"loc": ".".join(str(p) for p in e["loc"]), "msg": e["msg"]}
                    for e in exc.errors()
                ],
            ) from exc

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
