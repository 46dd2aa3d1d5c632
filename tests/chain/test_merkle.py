"""chain.merkle: RFC 6962 / 9162 vectors, known answers, and prove/verify round trips."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chain.errors import ConsistencyProofError, InclusionProofError
from chain.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    MAX_PROOF_DEPTH,
    MerkleTree,
    leaf_hash,
    mth,
    node_hash,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)

# --- the transparency-dev/merkle vectors, copied in (see vectors/rfc6962/README.md) -----------

VECTORS = Path(__file__).resolve().parent / "vectors" / "rfc6962"
EXPECTED_CASES = {"inclusion": 98, "consistency": 98}


def _cases(kind: str) -> list[tuple[str, dict[str, Any]]]:
    folder = VECTORS / kind
    return [
        (path.relative_to(VECTORS).as_posix(), json.loads(path.read_text(encoding="utf-8")))
        for path in sorted(folder.rglob("*.json"))
    ]


INCLUSION_CASES = _cases("inclusion")
CONSISTENCY_CASES = _cases("consistency")


def _b64(value: str) -> bytes:
    return base64.b64decode(value, validate=True)


def _b64_list(values: list[str] | None) -> list[bytes]:
    return [_b64(value) for value in values or []]


@pytest.mark.parametrize(
    ("kind", "cases"), [("inclusion", INCLUSION_CASES), ("consistency", CONSISTENCY_CASES)]
)
def test_vector_folder_holds_every_case(kind: str, cases: list[tuple[str, Any]]) -> None:
    assert VECTORS.is_dir(), f"test vectors missing: {VECTORS}"
    assert len(cases) == EXPECTED_CASES[kind], f"{kind}: found {len(cases)} cases in {VECTORS}"
    assert any(not case["wantErr"] for _, case in cases)
    assert any(case["wantErr"] for _, case in cases)


@pytest.mark.parametrize(
    "case", [c for _, c in INCLUSION_CASES], ids=[i for i, _ in INCLUSION_CASES]
)
def test_inclusion_vector(case: dict[str, Any]) -> None:
    args = (case["leafIdx"], case["treeSize"], _b64(case["leafHash"]), _b64_list(case["proof"]))
    root = _b64(case["root"])
    if case["wantErr"]:
        with pytest.raises(InclusionProofError):
            verify_inclusion(*args, root)
    else:
        assert root_from_inclusion_proof(*args) == root
        assert verify_inclusion(*args, root) is None


@pytest.mark.parametrize(
    "case", [c for _, c in CONSISTENCY_CASES], ids=[i for i, _ in CONSISTENCY_CASES]
)
def test_consistency_vector(case: dict[str, Any]) -> None:
    args = (case["size1"], case["size2"], _b64(case["root1"]), _b64(case["root2"]))
    proof = _b64_list(case["proof"])
    if case["wantErr"]:
        with pytest.raises(ConsistencyProofError):
            verify_consistency(*args, proof)
    else:
        assert verify_consistency(*args, proof) is None


# --- known answers: RFC 6962's reference leaves ----------------------------------------------

REFERENCE_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]  # fmt: skip
REFERENCE_ROOTS = [  # MTH of the first n reference leaves, n = 0..8
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# (size, index) -> audit path and (size1, size2) -> consistency proof, from the same reference.
REFERENCE_INCLUSION = {
    (8, 0): ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    (8, 5): ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
    (3, 2): ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    (5, 1): ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"],
    (1, 0): [],
}  # fmt: skip
REFERENCE_CONSISTENCY = {
    (1, 8): ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    (6, 8): ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
    (2, 5): ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"],
    (6, 7): ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
             "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
    (3, 8): ["0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
             "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
             "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    (4, 4): [],
}  # fmt: skip


def test_hash_primitives_are_domain_separated_sha256() -> None:
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert leaf_hash(b"") == bytes.fromhex(REFERENCE_ROOTS[1])
    assert (
        node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    )
    assert len(leaf_hash(b"x")) == HASH_SIZE


@pytest.mark.parametrize("size", range(len(REFERENCE_ROOTS)))
def test_reference_roots(size: int) -> None:
    expected = bytes.fromhex(REFERENCE_ROOTS[size])
    tree = MerkleTree.from_leaves(REFERENCE_LEAVES[:size])
    assert tree.size == size
    assert tree.root == expected
    assert mth([leaf_hash(d) for d in REFERENCE_LEAVES[:size]]) == expected


def test_empty_tree() -> None:
    tree = MerkleTree.from_leaf_hashes([])
    assert tree.root == EMPTY_ROOT == hashlib.sha256(b"").digest()
    assert tree.size == 0
    assert tree.inclusion_proofs() == []
    with pytest.raises(ValueError, match="not in a tree of size 0"):
        tree.inclusion_proof(0)


@pytest.mark.parametrize(("size", "index"), sorted(REFERENCE_INCLUSION))
def test_reference_inclusion_proofs(size: int, index: int) -> None:
    tree = MerkleTree.from_leaves(REFERENCE_LEAVES[:size])
    expected = [bytes.fromhex(h) for h in REFERENCE_INCLUSION[size, index]]
    assert tree.inclusion_proof(index) == expected
    assert tree.inclusion_proofs()[index] == expected


@pytest.mark.parametrize(("size1", "size2"), sorted(REFERENCE_CONSISTENCY))
def test_reference_consistency_proofs(size1: int, size2: int) -> None:
    tree = MerkleTree.from_leaves(REFERENCE_LEAVES[:size2])
    expected = [bytes.fromhex(h) for h in REFERENCE_CONSISTENCY[size1, size2]]
    assert tree.consistency_proof(size1) == expected
    root1 = bytes.fromhex(REFERENCE_ROOTS[size1])
    assert verify_consistency(size1, size2, root1, tree.root, expected) is None


def test_generated_proofs_equal_every_happy_path_vector() -> None:
    happy = [
        (i, c) for i, c in INCLUSION_CASES + CONSISTENCY_CASES if i.endswith("/happy-path.json")
    ]
    assert len(happy) == 10
    for ident, case in happy:
        if "leafIdx" in case:
            tree = MerkleTree.from_leaves(REFERENCE_LEAVES[: case["treeSize"]])
            assert tree.root == _b64(case["root"]), ident
            assert tree.inclusion_proof(case["leafIdx"]) == _b64_list(case["proof"]), ident
        else:
            tree = MerkleTree.from_leaves(REFERENCE_LEAVES[: case["size2"]])
            assert tree.root == _b64(case["root2"]), ident
            assert tree.consistency_proof(case["size1"]) == _b64_list(case["proof"]), ident


# --- independent recursive references (RFC 9162 §2.1.3.1 PATH, §2.1.4.1 PROOF) -----------------


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def reference_path(index: int, leaves: list[bytes]) -> list[bytes]:
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return reference_path(index, leaves[:k]) + [mth(leaves[k:])]
    return reference_path(index - k, leaves[k:]) + [mth(leaves[:k])]


def reference_sides(index: int, size: int) -> list[bool]:
    """For each audit-path hash, leaf to root: True if it is hashed on the left."""
    if size == 1:
        return []
    k = _split(size)
    if index < k:
        return reference_sides(index, k) + [False]
    return reference_sides(index - k, size - k) + [True]


def reference_consistency(m: int, leaves: list[bytes], whole: bool = True) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if whole else [mth(leaves)]
    k = _split(n)
    if m <= k:
        return reference_consistency(m, leaves[:k], whole) + [mth(leaves[k:])]
    return reference_consistency(m - k, leaves[k:], False) + [mth(leaves[:k])]


def _leaves(size: int, salt: bytes = b"") -> list[bytes]:
    return [leaf_hash(salt + i.to_bytes(4, "big")) for i in range(size)]


def _flip(value: bytes, bit: int) -> bytes:
    bit %= len(value) * 8
    out = bytearray(value)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


@pytest.mark.parametrize("size", range(131))
def test_level_build_equals_recursive_mth(size: int) -> None:
    leaves = _leaves(size)
    tree = MerkleTree.from_leaf_hashes(leaves)
    assert tree.root == mth(leaves)
    assert tree.leaf_hashes == tuple(leaves)


def test_all_proofs_at_once_equal_one_by_one() -> None:
    for size in range(1, 70):
        tree = MerkleTree.from_leaf_hashes(_leaves(size))
        assert tree.inclusion_proofs() == [tree.inclusion_proof(i) for i in range(size)], size


sizes = st.integers(min_value=1, max_value=300)


@st.composite
def tree_and_index(draw: st.DrawFn) -> tuple[list[bytes], MerkleTree, int]:
    leaves = _leaves(draw(sizes), draw(st.binary(max_size=4)))
    return leaves, MerkleTree.from_leaf_hashes(leaves), draw(st.integers(0, len(leaves) - 1))


@given(tree_and_index())
def test_inclusion_round_trip(case: tuple[list[bytes], MerkleTree, int]) -> None:
    leaves, tree, index = case
    proof = tree.inclusion_proof(index)
    assert proof == reference_path(index, leaves)
    assert tree.root == mth(leaves)
    assert root_from_inclusion_proof(index, tree.size, leaves[index], proof) == tree.root
    assert verify_inclusion(index, tree.size, leaves[index], proof, tree.root) is None
    assert tree.leaf_hash(index) == leaves[index]


@given(tree_and_index(), st.data())
def test_inclusion_rejects_any_flipped_bit(
    case: tuple[list[bytes], MerkleTree, int], data: st.DataObject
) -> None:
    leaves, tree, index = case
    proof = tree.inclusion_proof(index)
    target = data.draw(st.integers(-2, len(proof) - 1))  # -2 leaf hash, -1 root, else a path hash
    bit = data.draw(st.integers(0, HASH_SIZE * 8 - 1))
    leaf, root = leaves[index], tree.root
    if target == -2:
        leaf = _flip(leaf, bit)
    elif target == -1:
        root = _flip(root, bit)
    else:
        proof[target] = _flip(proof[target], bit)
    with pytest.raises(InclusionProofError, match="root"):
        verify_inclusion(index, tree.size, leaf, proof, root)


@given(tree_and_index(), st.integers(0, 400))
def test_inclusion_rejects_another_index(
    case: tuple[list[bytes], MerkleTree, int], other: int
) -> None:
    leaves, tree, index = case
    if other == index:
        other = index + 1
    proof = tree.inclusion_proof(index)
    with pytest.raises(InclusionProofError):
        verify_inclusion(other, tree.size, leaves[index], proof, tree.root)


@given(tree_and_index(), st.integers(0, 600))
def test_inclusion_rejects_another_size_unless_the_path_shape_is_the_same(
    case: tuple[list[bytes], MerkleTree, int], other: int
) -> None:
    """The audit path binds the shape of the leaf's path, not the size: a size whose path has the
    same hashes on the same sides gives the same root (the anchor must vouch for tree_size)."""
    leaves, tree, index = case
    if other == tree.size:
        other += 1
    proof = tree.inclusion_proof(index)
    args = (index, other, leaves[index], proof, tree.root)
    if index < other and reference_sides(index, other) == reference_sides(index, tree.size):
        assert verify_inclusion(*args) is None
    else:
        with pytest.raises(InclusionProofError):
            verify_inclusion(*args)


def test_inclusion_proof_does_not_fix_the_tree_size() -> None:
    tree = MerkleTree.from_leaves(REFERENCE_LEAVES)
    leaf = leaf_hash(REFERENCE_LEAVES[0])
    assert verify_inclusion(0, 7, leaf, tree.inclusion_proof(0), tree.root) is None
    with pytest.raises(InclusionProofError, match="needs 2"):
        verify_inclusion(0, 4, leaf, tree.inclusion_proof(0), tree.root)


@st.composite
def two_sizes(draw: st.DrawFn) -> tuple[list[bytes], int]:
    leaves = _leaves(draw(sizes), draw(st.binary(max_size=4)))
    return leaves, draw(st.integers(1, len(leaves)))


@given(two_sizes())
def test_consistency_round_trip(case: tuple[list[bytes], int]) -> None:
    leaves, size1 = case
    tree = MerkleTree.from_leaf_hashes(leaves)
    proof = tree.consistency_proof(size1)
    assert proof == reference_consistency(size1, leaves)
    root1 = MerkleTree.from_leaf_hashes(leaves[:size1]).root
    assert root1 == mth(leaves[:size1])
    assert verify_consistency(size1, tree.size, root1, tree.root, proof) is None


@given(two_sizes(), st.data())
def test_consistency_rejects_any_flipped_bit(
    case: tuple[list[bytes], int], data: st.DataObject
) -> None:
    leaves, size1 = case
    tree = MerkleTree.from_leaf_hashes(leaves)
    proof = tree.consistency_proof(size1)
    root1, root2 = mth(leaves[:size1]), tree.root
    target = data.draw(st.integers(-2, len(proof) - 1))  # -2 old root, -1 new root, else proof
    bit = data.draw(st.integers(0, HASH_SIZE * 8 - 1))
    if target == -2:
        root1 = _flip(root1, bit)
    elif target == -1:
        root2 = _flip(root2, bit)
    else:
        proof[target] = _flip(proof[target], bit)
    with pytest.raises(ConsistencyProofError, match="root"):
        verify_consistency(size1, tree.size, root1, root2, proof)


@given(two_sizes(), st.sampled_from(["drop", "append", "prepend"]))
def test_consistency_rejects_a_reshaped_proof(case: tuple[list[bytes], int], how: str) -> None:
    leaves, size1 = case
    tree = MerkleTree.from_leaf_hashes(leaves)
    proof = tree.consistency_proof(size1)
    if how == "drop" and proof:
        proof = proof[:-1]
    elif how == "prepend":
        proof = [tree.root, *proof]
    else:
        proof = [*proof, tree.root]
    with pytest.raises(ConsistencyProofError, match="hash"):
        verify_consistency(size1, tree.size, mth(leaves[:size1]), tree.root, proof)


# --- one named case per refusal ---------------------------------------------------------------


def test_tree_refuses_leaf_hashes_of_the_wrong_length() -> None:
    with pytest.raises(ValueError, match="leaf hash 1 is 31 bytes"):
        MerkleTree.from_leaf_hashes([b"\x00" * 32, b"\x00" * 31])
    with pytest.raises(ValueError, match="leaf hash 0 is a str"):
        MerkleTree.from_leaf_hashes(["00" * 32])  # type: ignore[list-item]


@pytest.mark.parametrize("index", [-1, 5, 6])
def test_tree_refuses_an_index_outside_it(index: int) -> None:
    tree = MerkleTree.from_leaf_hashes(_leaves(5))
    with pytest.raises(ValueError, match=f"leaf index {index} is not in a tree of size 5"):
        tree.inclusion_proof(index)
    with pytest.raises(ValueError):
        tree.leaf_hash(index)


@pytest.mark.parametrize("old_size", [-1, 0, 6])
def test_tree_refuses_a_consistency_size_outside_1_to_size(old_size: int) -> None:
    with pytest.raises(ValueError, match=r"not in 1\.\.5"):
        MerkleTree.from_leaf_hashes(_leaves(5)).consistency_proof(old_size)


def test_tree_is_an_immutable_value() -> None:
    tree = MerkleTree.from_leaves(REFERENCE_LEAVES)
    with pytest.raises(AttributeError):
        tree._root = b"\x00" * 32
    assert tree.root == bytes.fromhex(REFERENCE_ROOTS[8])
    assert tree == MerkleTree.from_leaf_hashes([leaf_hash(d) for d in REFERENCE_LEAVES])
    assert tree != MerkleTree.from_leaves(REFERENCE_LEAVES[:7])
    assert repr(tree) == f"MerkleTree(size=8, root={REFERENCE_ROOTS[8]})"


def test_inclusion_refuses_a_path_longer_than_the_depth_limit() -> None:
    leaf = leaf_hash(b"x")
    with pytest.raises(InclusionProofError, match=f"at most {MAX_PROOF_DEPTH}"):
        verify_inclusion(0, 2**64, leaf, [leaf] * (MAX_PROOF_DEPTH + 1), leaf)
    with pytest.raises(InclusionProofError, match="exceeds the limit"):
        verify_inclusion(0, 2**64 + 1, leaf, [leaf] * MAX_PROOF_DEPTH, leaf)


def test_consistency_refuses_a_path_longer_than_the_depth_limit() -> None:
    root = leaf_hash(b"x")
    with pytest.raises(ConsistencyProofError, match=f"at most {MAX_PROOF_DEPTH}"):
        verify_consistency(3, 2**63, root, root, [root] * (MAX_PROOF_DEPTH + 1))


def test_inclusion_names_a_short_path_hash() -> None:
    tree = MerkleTree.from_leaves(REFERENCE_LEAVES)
    proof = tree.inclusion_proof(3)
    proof[1] = proof[1][:20]
    with pytest.raises(InclusionProofError, match="audit path hash 1 is 20 bytes, not 32"):
        verify_inclusion(3, 8, tree.leaf_hash(3), proof, tree.root)


def test_inclusion_names_a_short_root() -> None:
    tree = MerkleTree.from_leaves(REFERENCE_LEAVES)
    with pytest.raises(InclusionProofError, match="the root is 31 bytes"):
        verify_inclusion(3, 8, tree.leaf_hash(3), tree.inclusion_proof(3), tree.root[:31])


def test_inclusion_names_a_root_mismatch() -> None:
    tree = MerkleTree.from_leaves(REFERENCE_LEAVES)
    other = MerkleTree.from_leaves(REFERENCE_LEAVES[:7]).root
    with pytest.raises(InclusionProofError, match=f"gives root {tree.root.hex()}, not the claimed"):
        verify_inclusion(3, 8, tree.leaf_hash(3), tree.inclusion_proof(3), other)


def test_consistency_refuses_a_shrinking_log() -> None:
    with pytest.raises(ConsistencyProofError, match="only grows"):
        verify_consistency(5, 4, EMPTY_ROOT, EMPTY_ROOT, [])


def test_consistency_refuses_the_empty_tree() -> None:
    with pytest.raises(ConsistencyProofError, match="empty tree proves nothing"):
        verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])


def test_consistency_names_a_short_proof_hash() -> None:
    tree = MerkleTree.from_leaves(REFERENCE_LEAVES)
    proof = tree.consistency_proof(3)
    proof[2] = b""
    root3 = bytes.fromhex(REFERENCE_ROOTS[3])
    with pytest.raises(ConsistencyProofError, match="proof hash 2 is 0 bytes, not 32"):
        verify_consistency(3, 8, root3, tree.root, proof)


@settings(max_examples=50)
@given(st.integers(1, 2**64 - 1), st.data())
def test_inclusion_refuses_a_wrong_path_for_any_uint64_size(size: int, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, size - 1))
    depth = len(reference_sides(index, size)) if size < 2**12 else None
    leaf = leaf_hash(b"x")
    with pytest.raises(InclusionProofError) as raised:
        verify_inclusion(index, size, leaf, [leaf] * MAX_PROOF_DEPTH, leaf)
    if depth is not None:
        assert f"needs {depth}" in str(raised.value)
