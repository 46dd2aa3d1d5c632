"""What inquiry and on-site records share: schema validation, the period check, common fields."""

from __future__ import annotations

from typing import Any

from evidence_service.capture.ports.json_documents import validate_document
from evidence_service.capture.ports.timestamps import parse_rfc3339
from evidence_service.core.errors import BadContentError


def validate_record(document: Any, schema_name: str) -> dict[str, Any]:
    """The record if it matches ``schemas/<schema_name>.json`` and does not end before it starts."""
    validate_document(document, schema_name)
    assert isinstance(document, dict)  # the schema requires an object
    started = parse_rfc3339(document["started_at"])
    ended = parse_rfc3339(document["ended_at"])
    if ended < started:
        raise BadContentError(
            f"$.ended_at: the record ends ({document['ended_at']}) "
            f"before it starts ({document['started_at']})",
            json_path="$.ended_at",
        )
    return document


def common_fields(record: dict[str, Any]) -> dict[str, Any]:
    """The facts every record has, for the evidence row."""
    fields: dict[str, Any] = {
        "started_at": record["started_at"],
        "ended_at": record["ended_at"],
        "place_address": record["place"]["address"],
    }
    if "case_ref" in record:
        fields["case_ref"] = record["case_ref"]
    return fields
