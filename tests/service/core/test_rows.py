"""core/rows.py: a table-model instance built without validation holds what the model's own
constructor gives, defaults included, and behaves as one afterwards."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect

from evidence_service.anchoring.models import AnchorLeaf, LeafKind
from evidence_service.capture.models import Evidence
from evidence_service.core.rows import built

AT = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
EVIDENCE = {
    "id": "01JEVIDENCE000000000000000",
    "port": "electronic",
    "title": "现场照片",
    "captured_at": AT,
    "received_at": AT,
    "officer_id": "01JOFFICER0000000000000000",
    "department_id": "01JDEPARTMENT0000000000000",
    "capture_metadata": {"title": "现场照片"},
    "metadata_sha256": "a" * 64,
    "media_type": "application/pdf",
    "size": 100_000,
    "sha256": "b" * 64,
    "sm3": "c" * 64,
    "statement": {"evidence_id": "01JEVIDENCE000000000000000"},
    "statement_sha256": "d" * 64,
    "object_key": "evidence/2026/12/01JEVIDENCE000000000000000",
}


def test_it_holds_what_the_constructor_gives_with_the_defaults() -> None:
    fast, usual = built(Evidence, **EVIDENCE), Evidence(**EVIDENCE)
    for name in Evidence.model_fields:
        assert getattr(fast, name) == getattr(usual, name), name
    assert fast.description == "" and fast.tags == [] and fast.extracted == {}
    assert fast.finalized is False and fast.legal_hold is False
    assert fast.signature is None and fast.retention_until is None  # nullable: None
    assert fast.model_dump()["title"] == "现场照片"
    assert inspect(fast).transient  # an instrumented instance, in no session


def test_defaults_made_by_a_factory_are_fresh_per_instance() -> None:
    first, second = built(Evidence, **EVIDENCE), built(Evidence, **EVIDENCE)
    first.tags.append({"type": "cause", "value": "X"})
    assert second.tags == []


def test_an_attribute_set_afterwards_reads_back() -> None:
    fast = built(Evidence, **EVIDENCE)
    fast.signature = {"alg": "Ed25519", "value": "c2ln"}
    assert fast.signature == {"alg": "Ed25519", "value": "c2ln"}
    leaf = built(AnchorLeaf, kind=LeafKind.statement, leaf_hash="e" * 64, created_at=AT)
    assert leaf.seq is None and leaf.batch_id is None and leaf.evidence_id is None


def test_a_missing_field_or_an_unknown_name_is_refused() -> None:
    with pytest.raises(TypeError, match="AnchorLeaf needs created_at, leaf_hash"):
        built(AnchorLeaf, kind=LeafKind.statement)
    with pytest.raises(TypeError, match="AnchorLeaf has no field colour"):
        built(AnchorLeaf, kind=LeafKind.statement, leaf_hash="e", created_at=AT, colour=1)
