"""The capture metadata an officer sends with every upload, parsed then checked."""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from evidence_service.core.clock import UtcDatetime, parse_rfc3339, rfc3339
from evidence_service.core.errors import BadMetadataError, BadRequestError
from evidence_service.core.json_input import parse_json
from evidence_service.core.text import check_text_tree
from signing.jcs import canonicalize


class TagType(StrEnum):
    party = "party"
    time = "time"
    place = "place"
    cause = "cause"
    inspection_no = "inspection_no"
    penalty_no = "penalty_no"
    free = "free"


class Tag(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    type: TagType
    value: str = Field(min_length=1, max_length=200)


class Location(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    address: str | None = Field(default=None, max_length=500)


class CaptureMetadata(BaseModel):
    """What the officer states about a capture. Unknown fields are refused, not dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)
    captured_at: UtcDatetime | None = None  # zoned, within years 0001-9999 in UTC
    location: Location | None = None
    tags: tuple[Tag, ...] = Field(default=(), max_length=100)

    @field_validator("captured_at", mode="before")
    @classmethod
    def _zoned(cls, value: Any) -> Any:
        if isinstance(value, int | float):  # seconds or milliseconds? pydantic guesses by size
            raise ValueError("captured_at must be an RFC 3339 text with a zone, not a number")
        if isinstance(value, str):
            try:
                return parse_rfc3339(value)
            except ValueError as exc:
                raise ValueError(f"captured_at must be RFC 3339 with a zone: {exc}") from exc
        return value

    def as_json(self) -> dict[str, Any]:
        """The JSON form hashed into ``metadata_sha256`` (timestamps in the one RFC 3339 form)."""
        data = self.model_dump(mode="json", exclude_none=True)
        if self.captured_at is not None:
            data["captured_at"] = rfc3339(self.captured_at)
        return data

    def sha256(self) -> str:
        return hashlib.sha256(canonicalize(self.as_json())).hexdigest()


def parse_capture_metadata(raw: bytes | str | dict[str, Any], *, max_bytes: int) -> CaptureMetadata:
    """Parse metadata from the JSON text of a form field (or an already-decoded object):
    ``BadMetadataError`` (422) for what does not fit, ``UnsafeTextError`` (422) for text with
    a control or bidirectional-override character."""
    if isinstance(raw, (bytes, str)):
        if len(raw) > max_bytes:
            raise BadMetadataError(f"metadata exceeds {max_bytes} bytes")
        try:  # bounded: depth, number lengths, no NaN (core/json_input.py)
            raw = parse_json(raw, what="metadata")
        except BadRequestError as exc:
            raise BadMetadataError(f"metadata is not valid JSON: {exc.detail}") from exc
    if not isinstance(raw, dict):
        raise BadMetadataError("metadata must be a JSON object")
    check_text_tree(raw, "metadata")  # titles, tags and addresses are shown to people
    try:
        return CaptureMetadata.model_validate(raw)
    except ValidationError as exc:
        errors = [
            {"loc": ".".join(str(p) for p in e["loc"]), "msg": e["msg"]} for e in exc.errors()
        ]
        first = errors[0]
        raise BadMetadataError(f"{first['loc']}: {first['msg']}", errors=errors) from exc
