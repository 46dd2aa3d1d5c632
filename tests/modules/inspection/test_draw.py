"""draw/1 §1–§4: the §7 test vector, every §1 rule refused by number, and agreement with an
independent straight-line implementation of the page."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from typing import Any

import pytest

from chain.merkle import leaf_hash
from evidence_service.modules.inspection.draw import (
    BadCommitmentError,
    Commitment,
    RandomStream,
    commitment_digest,
    compute_result,
    document_leaf,
)
from tests.modules.inspection import samples
from tests.modules.inspection.straight_draw import jcs, straight_result


def test_the_test_vector() -> None:
    commitment = Commitment.from_json(samples.vector())
    result = compute_result(commitment, samples.VECTOR_BLOCK_HASH)
    assert commitment.digest().hex() == samples.VECTOR_DIGEST
    assert result == {
        "format": "draw-result/1",
        "draw_id": "01JDRAW0000000000000000000",
        "commitment_digest": samples.VECTOR_DIGEST,
        "target_block": 10,
        "block_hash": "0x71ef3a5978d42554d3721aba212f9a9462130eb19e7018770c3799289c98afd0",
        "seed": samples.VECTOR_SEED,
        "selected": samples.VECTOR_SELECTED,
        "assignments": samples.VECTOR_ASSIGNMENTS,
    }


def test_the_straight_implementation_reproduces_the_vector() -> None:
    result = straight_result(samples.vector(), samples.VECTOR_BLOCK_HASH)
    assert result["commitment_digest"] == samples.VECTOR_DIGEST
    assert result["seed"] == samples.VECTOR_SEED
    assert result["selected"] == samples.VECTOR_SELECTED
    assert result["assignments"] == samples.VECTOR_ASSIGNMENTS


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_both_implementations_agree_on_random_draws(seed: int) -> None:
    rng = random.Random(seed)
    document = samples.random_commitment(rng)
    commitment = Commitment.from_json(document)
    assert jcs(document) == commitment.jcs()
    for i in range(4):
        block_hash = hashlib.sha256(f"block {seed}/{i}".encode()).digest()
        ours = compute_result(commitment, block_hash)
        assert ours == straight_result(document, block_hash)
    assert len(ours["selected"]) == sum(s["k"] for s in document["strata"])
    assert len(ours["assignments"]) == len(ours["selected"]) * 3


def test_conflicted_officers_are_never_drawn() -> None:
    """Only two eligible in a pool of four: per_department 2 must draw exactly those two."""
    document = samples.vector()
    document["pools"]["D1"] = ["o1", "o2", "o3", "o4"]
    document["per_department"] = 2
    document["conflicts"] = [["91330100A1", "o1"], ["91330100A1", "o3"]]
    for i in range(20):
        result = compute_result(Commitment.from_json(document), bytes([i]) * 32)
        for a in result["assignments"]:
            if a["enterprise"] == "91330100A1" and a["department"] == "D1":
                assert sorted(a["inspectors"]) == ["o2", "o4"]
        assert result == straight_result(document, bytes([i]) * 32)


def test_uniform_rejects_at_and_above_the_limit() -> None:
    """bound 3 · 2^254 leaves limit 3 · 2^254: a draw of x ≥ limit is thrown away, counted."""
    seed = b"\x07" * 32
    stream = RandomStream(seed)
    bound = 3 << 254
    draws = [stream.uniform("t", bound) for _ in range(5)]

    def r(i: int) -> int:
        data = seed + b"t\x00" + i.to_bytes(8, "big")
        return int.from_bytes(hashlib.sha256(data).digest(), "big")

    expected, i = [], 0
    while len(expected) < 5:
        x, i = r(i), i + 1
        if x < bound:
            expected.append(x)
    assert draws == expected
    assert i > 5  # a quarter of the draws fall at or above the limit: some were rejected


def test_counters_are_per_tag() -> None:
    a, b = RandomStream(b"\x01" * 32), RandomStream(b"\x01" * 32)
    first = a.uniform("x", 1000)
    a.uniform("y", 1000)
    assert b.uniform("x", 1000) == first
    assert a.uniform("x", 1000) == b.uniform("x", 1000)


def test_document_leaf_is_the_rfc9162_leaf_of_the_jcs_bytes() -> None:
    document = samples.vector()
    assert document_leaf(document) == leaf_hash(jcs(document))
    assert document_leaf(document) == hashlib.sha256(b"\x00" + jcs(document)).digest()
    assert commitment_digest(document).hex() == samples.VECTOR_DIGEST


def test_block_hash_must_be_32_bytes() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        compute_result(Commitment.from_json(samples.vector()), b"\x00" * 31)


Edit = Callable[[dict[str, Any]], Any]


def _set(path: str, value: Any) -> Edit:
    def edit(d: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = d
        for p in parents:
            target = target[int(p)] if p.isdigit() else target[p]
        target[int(last) if last.isdigit() else last] = value

    return edit


BROKEN: list[tuple[str, int, Edit]] = [
    ("stratum names repeat", 1, _set("strata.1.name", "high")),
    ("population unsorted", 1, _set("strata.0.population", ["91330100A2", "91330100A1"])),
    ("population duplicate", 1, _set("strata.1.population", ["91330200B1", "91330200B1"])),
    ("populations overlap", 1, _set("strata.1.population", ["91330100A5", "91330200B1"])),
    ("pool unsorted", 1, _set("pools.D1", ["o2", "o1", "o3"])),
    ("pool duplicate", 1, _set("pools.D2", ["p1", "p1", "p2"])),
    ("pools overlap", 1, _set("pools.D2", ["o3", "p2"])),
    ("k above population", 2, _set("strata.1.k", 4)),
    ("per_department zero", 2, _set("per_department", 0)),
    ("one inspector only", 2, lambda d: (d.update(departments=["D1"]), d["pools"].pop("D2"))),
    ("department twice", 3, _set("departments", ["D1", "D2", "D1"])),
    ("department without pool", 3, _set("departments", ["D1", "D3"])),
    ("pool without department", 3, _set("pools.D3", ["q1"])),
    ("conflict enterprise unknown", 4, _set("conflicts", [["91330999Z9", "o1"]])),
    ("conflict officer unknown", 4, _set("conflicts", [["91330100A1", "x9"]])),
    ("slash in stratum", 5, _set("strata.0.name", "hi/gh")),
    ("slash in enterprise", 5, _set("strata.1.population", ["9133/B1"])),
    (
        "slash in department",
        5,
        lambda d: (
            d.update(departments=["D/1", "D2"]),
            d["pools"].update({"D/1": d["pools"].pop("D1")}),
        ),
    ),
    ("slash in officer", 5, _set("pools.D2", ["p/1", "p2"])),
    ("no eligible officer", 6, _set("conflicts", [["91330200B1", "p1"], ["91330200B1", "p2"]])),
    ("small pool, no conflict", 6, _set("per_department", 3)),
    ("unknown field", 7, _set("note", "x")),
    ("missing field", 7, lambda d: d.pop("task")),
    ("wrong format", 7, _set("format", "draw-commitment/2")),
    ("boolean k", 7, _set("strata.0.k", True)),
    ("fractional block", 7, _set("target_block", 10.0)),
    ("block beyond 2^53", 7, _set("target_block", 2**53)),
    ("negative chain", 7, _set("chain_id", -1)),
    ("numeric id", 7, _set("strata.1.population", [91330200])),
    ("draw id not a string", 7, _set("draw_id", 1)),
    ("lowercase registry", 7, _set("registry", "0x5fbdb2315678afecb367f032d93f642f64180aa3")),
    ("short registry", 7, _set("registry", "0x5FbDB2315678afecb367f032d93F642f64180a")),
    ("stratum extra field", 7, _set("strata.0.weight", 1)),
    ("conflict of three", 7, _set("conflicts", [["91330100A1", "o1", "o2"]])),
    ("pools not an object", 7, _set("pools", [["o1"]])),
    ("lone surrogate", 7, _set("task", "\ud800")),
]


@pytest.mark.parametrize(("case", "rule", "edit"), BROKEN, ids=[c for c, _, _ in BROKEN])
def test_a_commitment_breaking_a_rule_is_refused_naming_it(
    case: str, rule: int, edit: Edit
) -> None:
    document = samples.vector()
    edit(document)
    with pytest.raises(BadCommitmentError, match=f"^rule {rule}: ") as caught:
        Commitment.from_json(document)
    assert caught.value.rule == rule


def test_not_an_object_is_refused() -> None:
    with pytest.raises(BadCommitmentError, match="^rule 7: "):
        Commitment.from_json([samples.vector()])


def test_edge_cases_the_rules_allow() -> None:
    """k = 0 and k = len(population), one department with two per enterprise, conflicts that
    leave exactly per_department officers."""
    document = samples.vector()
    document["strata"][0]["k"] = 0
    document["strata"][1]["k"] = 3
    document["departments"] = ["D1"]
    document["pools"] = {"D1": ["o1", "o2", "o3"]}
    document["per_department"] = 2
    document["conflicts"] = [["91330200B2", "o2"]]
    result = compute_result(Commitment.from_json(document), samples.VECTOR_BLOCK_HASH)
    assert (
        sorted(s["enterprise"] for s in result["selected"])
        == samples.vector()["strata"][1]["population"]
    )
    b2 = next(a for a in result["assignments"] if a["enterprise"] == "91330200B2")
    assert sorted(b2["inspectors"]) == ["o1", "o3"]
    assert result == straight_result(document, samples.VECTOR_BLOCK_HASH)
