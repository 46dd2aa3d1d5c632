"""The capture statement (PROOF_FORMAT.md): the exact fields every signature and leaf is over."""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from chain.merkle import leaf_hash
from evidence_service.core.digests import HEX64
from signing.jcs import canonicalize


class CaptureStatement(BaseModel):
    """Frozen; its JCS bytes are what the officer signs and what becomes a Merkle leaf."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    evidence_id: str
    port: str
    sha256: str = Field(pattern=HEX64)
    sm3: str = Field(pattern=HEX64)
    size: int = Field(ge=0)
    media_type: str
    captured_at: str  # RFC 3339, Z
    received_at: str  # RFC 3339, Z
    officer_id: str
    department_id: str
    metadata_sha256: str = Field(pattern=HEX64)

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def jcs(self) -> bytes:
        return canonicalize(self.as_json())

    def sha256_hex(self) -> str:
        return hashlib.sha256(self.jcs()).hexdigest()

    def leaf_hash(self) -> bytes:
        """Its RFC 9162 Merkle leaf hash, SHA-256(0x00 ‖ JCS bytes) (PROOF_FORMAT.md step 2)."""
        return leaf_hash(self.jcs())
