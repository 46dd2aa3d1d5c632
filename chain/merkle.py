"""RFC 9162 Merkle trees over SHA-256: build a batch's tree, prove, verify.

Pure: bytes in, bytes or an exception out, no I/O. The tree and the proofs are those of RFC 9162
§2.1 (the same as RFC 6962): leaf hash = SHA-256(0x00 ‖ data), node hash = SHA-256(0x01 ‖ left ‖
right), a tree of n > 1 leaves splits at the largest power of two smaller than n, and the empty
tree's root is SHA-256(""). Verifiers follow the RFC's algorithms step by step (§2.1.3.2 for
inclusion, §2.1.4.2 for consistency); every `verify_*` returns None or raises a `ProofError`
subclass whose message says what did not check out.
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Iterable, Sequence
from typing import Any, NoReturn

from chain.errors import ConsistencyProofError, InclusionProofError, ProofError

HASH_SIZE = 32
"""Bytes in every leaf hash, node hash, root and proof element (SHA-256)."""

MAX_PROOF_DEPTH = 64
"""Longest audit or consistency path accepted: RFC 9162 sizes and indexes are uint64."""

MAX_TREE_SIZE = 1 << MAX_PROOF_DEPTH
"""Largest tree size whose paths fit in MAX_PROOF_DEPTH hashes."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""Root of the tree with no leaves (RFC 9162 §2.1.1)."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
_sha256 = hashlib.sha256
# SHA-256 states that have absorbed the prefix byte. The hot loops copy one and add the rest,
# ~15% cheaper per hash than concatenating the prefix and building a fresh hash each time.
_LEAF_STATE = _sha256(_LEAF_PREFIX)
_NODE_STATE = _sha256(_NODE_PREFIX)


def leaf_hash(data: bytes) -> bytes:
    """SHA-256(0x00 ‖ data): the hash of one leaf entry."""
    return _sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 ‖ left ‖ right): the hash of an interior node."""
    return _sha256(_NODE_PREFIX + left + right).digest()


def mth(leaf_hashes: Sequence[bytes]) -> bytes:
    """The Merkle Tree Hash by RFC 9162's recursive definition, over leaf hashes.

    A slow, obviously-correct reference for tests; `MerkleTree` computes the same root level by
    level.
    """
    n = len(leaf_hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaf_hashes[0]
    k = _split(n)
    return node_hash(mth(leaf_hashes[:k]), mth(leaf_hashes[k:]))


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1): where RFC 9162 splits a tree of n."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleTree:
    """An immutable Merkle tree over a batch of leaf hashes, with every interior node kept.

    Level 0 holds the leaf hashes; each level above pairs neighbours and carries an odd last node
    up unchanged, which yields exactly the RFC 9162 tree (and root) without recursion. Node j of
    level h is then the root of leaves [j·2^h, min((j+1)·2^h, size)), so any subtree the RFC's
    proofs name is one lookup.
    """

    __slots__ = ("_levels", "_root")

    _levels: tuple[tuple[bytes, ...], ...]
    _root: bytes

    def __init__(self, leaf_hashes: Sequence[bytes]) -> None:
        """The tree over these leaf hashes; ValueError unless each is 32 bytes."""
        leaves = tuple(leaf_hashes)
        if leaves and (set(map(type, leaves)) != {bytes} or set(map(len, leaves)) != {HASH_SIZE}):
            _reject_leaf_hashes(leaves)
        self._build(leaves)

    def _build(self, leaves: tuple[bytes, ...]) -> None:
        if len(leaves) > MAX_TREE_SIZE:
            raise ValueError(f"a tree holds at most {MAX_TREE_SIZE} leaves")
        levels = [leaves]
        level = leaves
        new_node = _NODE_STATE.copy
        while len(level) > 1:
            parents: list[bytes] = []
            append = parents.append
            pairs = iter(level)  # zip(pairs, pairs) yields neighbours (0, 1), (2, 3), ...
            for left, right in zip(pairs, pairs, strict=False):
                h = new_node()
                h.update(left)
                h.update(right)
                append(h.digest())
            if len(level) & 1:
                parents.append(level[-1])
            level = tuple(parents)
            levels.append(level)
        object.__setattr__(self, "_levels", tuple(levels))
        object.__setattr__(self, "_root", level[0] if leaves else EMPTY_ROOT)

    @classmethod
    def from_leaf_hashes(cls, hashes: Sequence[bytes]) -> MerkleTree:
        """The tree over these leaf hashes (each 32 bytes), in this order."""
        return cls(hashes)

    @classmethod
    def from_leaves(cls, data: Iterable[bytes]) -> MerkleTree:
        """The tree over these leaf entries, hashing each as SHA-256(0x00 ‖ entry)."""
        hashes: list[bytes] = []
        append, new_leaf = hashes.append, _LEAF_STATE.copy
        for entry in data:
            h = new_leaf()
            h.update(entry)
            append(h.digest())
        tree = cls.__new__(cls)
        tree._build(tuple(hashes))  # hashes made here need no checking
        return tree

    @property
    def size(self) -> int:
        """Number of leaves."""
        return len(self._levels[0])

    @property
    def root(self) -> bytes:
        """The Merkle Tree Hash of all leaves (SHA-256("") for the empty tree)."""
        return self._root

    @property
    def leaf_hashes(self) -> tuple[bytes, ...]:
        """The leaf hashes, in leaf order."""
        return self._levels[0]

    def leaf_hash(self, index: int) -> bytes:
        """The hash of leaf `index`."""
        self._check_index(index)
        return self._levels[0][index]

    def inclusion_proof(self, index: int) -> list[bytes]:
        """The RFC 9162 §2.1.3.1 audit path of leaf `index`, ordered from the leaf to the root."""
        self._check_index(index)
        path = []
        for level in self._levels[:-1]:
            sibling = index ^ 1
            if sibling < len(level):
                path.append(level[sibling])
            index >>= 1
        return path

    def inclusion_proofs(self) -> list[list[bytes]]:
        """Every leaf's audit path, in leaf order; equal to `inclusion_proof(i)` for each i.

        Built top-down one level at a time: a node's path is its sibling followed by its parent's
        path, so each level is a few C-level passes instead of a Python loop per leaf and level.
        The cyclic garbage collector is paused meanwhile (and restored as it was): the build makes
        no cycles, but its millions of new lists would otherwise trigger collections that cost
        several times the build itself.
        """
        if not self.size:
            return []
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._all_paths()
        finally:
            if collecting:
                gc.enable()

    def _all_paths(self) -> list[list[bytes]]:
        paths: list[list[bytes]] = [[]]  # the root's path
        for level in reversed(self._levels[:-1]):
            full_pairs = len(level) // 2
            lefts, rights = level[0 : 2 * full_pairs : 2], level[1::2]
            parents = paths[:full_pairs]
            below: list[list[bytes]] = [[]] * len(level)
            below[0 : 2 * full_pairs : 2] = map(list.__add__, map(list, zip(rights)), parents)
            below[1 : 2 * full_pairs : 2] = map(list.__add__, map(list, zip(lefts)), parents)
            if len(level) & 1:  # the odd last node was carried up: its path is its parent's
                below[-1] = list(paths[-1])
            paths = below
        return paths

    def consistency_proof(self, old_size: int) -> list[bytes]:
        """The RFC 9162 §2.1.4.1 proof that the first `old_size` leaves are a prefix of this tree.

        Empty when `old_size == size`. A proof from the empty tree proves nothing, so 0 is refused.
        """
        size = self.size
        if not 0 < old_size <= size:
            raise ValueError(f"old size {old_size} is not in 1..{size}")
        # SUBPROOF(m, D[start:start+n], whole), unrolled from the root down. Each step appends
        # the hash of the subtree the recursion does not enter; they are emitted innermost first.
        m, start, n, whole = old_size, 0, size, True
        outer_first: list[bytes] = []
        while m != n:
            k = _split(n)
            if m <= k:
                outer_first.append(self._subtree_root(start + k, n - k))
                n = k
            else:
                outer_first.append(self._subtree_root(start, k))
                m, start, n, whole = m - k, start + k, n - k, False
        if not whole:
            outer_first.append(self._subtree_root(start, n))
        outer_first.reverse()
        return outer_first

    def _subtree_root(self, start: int, count: int) -> bytes:
        """MTH(D[start:start+count]) for a subtree RFC 9162's recursion visits (start is a
        multiple of 2^ceil(log2 count), and the subtree is full or ends at the last leaf)."""
        height = (count - 1).bit_length()
        return self._levels[height][start >> height]

    def _check_index(self, index: int) -> None:
        if not 0 <= index < self.size:
            raise ValueError(f"leaf index {index} is not in a tree of size {self.size}")

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MerkleTree):
            return NotImplemented
        return self._levels[0] == other._levels[0]

    def __hash__(self) -> int:
        return hash((self.size, self._root))

    def __repr__(self) -> str:
        return f"MerkleTree(size={self.size}, root={self._root.hex()})"


def _reject_leaf_hashes(leaves: tuple[object, ...]) -> NoReturn:
    for position, value in enumerate(leaves):
        if not isinstance(value, bytes):
            raise ValueError(f"leaf hash {position} is a {type(value).__name__}, not bytes")
        if len(value) != HASH_SIZE:
            raise ValueError(f"leaf hash {position} is {len(value)} bytes, not {HASH_SIZE}")
    raise AssertionError("unreachable: every leaf hash is valid")


def _hashes(count: int) -> str:
    return "1 hash" if count == 1 else f"{count} hashes"


def _check_hash(what: str, value: bytes, error: type[ProofError]) -> None:
    if len(value) != HASH_SIZE:
        raise error(f"{what} is {len(value)} bytes, not {HASH_SIZE}")


def _check_path_length(got: int, error: type[ProofError]) -> None:
    if got > MAX_PROOF_DEPTH:
        raise error(f"the proof has {_hashes(got)}; at most {MAX_PROOF_DEPTH} are accepted")


def _check_path_hashes(what: str, path: Sequence[bytes], error: type[ProofError]) -> None:
    if path and set(map(len, path)) != {HASH_SIZE}:  # one C-level pass; the loop names the culprit
        for position, value in enumerate(path):
            _check_hash(f"{what} {position}", value, error)


def _inclusion_path_length(index: int, size: int) -> int:
    """Hashes in the audit path of leaf `index` in a tree of `size` (0 <= index < size): one per
    level where the paths to `index` and to the last leaf differ, plus one per left sibling
    above that (the set bits of `index` there)."""
    inner = (index ^ (size - 1)).bit_length()
    return inner + (index >> inner).bit_count()


def root_from_inclusion_proof(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes]
) -> bytes:
    """The root that the audit path `proof` gives for leaf `index` of a tree of `size` leaves.

    RFC 9162 §2.1.3.2, steps 1-5 without the final root comparison. Raises InclusionProofError if
    the index is outside the tree, the path has the wrong number of hashes for that index and
    size, or a hash is not 32 bytes.
    """
    if not 0 <= index < size:
        raise InclusionProofError(f"leaf index {index} is not in a tree of size {size}")
    if size > MAX_TREE_SIZE:
        raise InclusionProofError(f"tree size {size} exceeds the limit of {MAX_TREE_SIZE}")
    _check_path_length(len(proof), InclusionProofError)
    expected = _inclusion_path_length(index, size)
    if len(proof) != expected:
        raise InclusionProofError(
            f"the audit path has {_hashes(len(proof))}; leaf {index} of a tree of size {size} "
            f"needs {expected}"
        )
    _check_hash("the leaf hash", leaf_hash, InclusionProofError)
    _check_path_hashes("audit path hash", proof, InclusionProofError)
    # Step 4a (stop if sn reaches 0 early) cannot fire once the length matched; step 5 still runs.
    new_node = _NODE_STATE.copy
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        h = new_node()
        if fn & 1 or fn == sn:  # r = HASH(0x01 || p || r)
            h.update(p)
            h.update(r)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:  # r = HASH(0x01 || r || p)
            h.update(r)
            h.update(p)
        r = h.digest()
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise InclusionProofError("the audit path does not reach the root of the tree")
    return r


def verify_inclusion(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that `leaf_hash` is leaf `index` of the tree of `size` leaves whose root is `root`.

    Returns None; raises InclusionProofError saying why otherwise.
    """
    _check_hash("the root", root, InclusionProofError)
    computed = root_from_inclusion_proof(index, size, leaf_hash, proof)
    if computed != root:
        raise InclusionProofError(
            f"the audit path gives root {computed.hex()}, not the claimed {root.hex()}"
        )


def _consistency_path_length(size1: int, size2: int) -> int:
    """Hashes in the consistency proof between sizes 0 < size1 < size2: the audit path of leaf
    size1 - 1 without the levels inside the largest full subtree ending there, plus that
    subtree's root unless it is the whole old tree (size1 a power of two)."""
    shift = (size1 & -size1).bit_length() - 1
    length = _inclusion_path_length(size1 - 1, size2) - shift
    return length if size1 == 1 << shift else length + 1


def verify_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree of `size1` leaves with `root1` is a prefix of the tree of `size2`
    leaves with `root2` (RFC 9162 §2.1.4.2).

    Equal sizes need an empty proof and byte-equal roots (their length is not checked then: the
    transparency-dev vectors accept any equal pair). A proof from the empty tree (size1 = 0)
    proves nothing and is refused, as RFC 9162 defines consistency only for 0 < size1.
    Returns None; raises ConsistencyProofError saying why otherwise.
    """
    if size1 < 0 or size2 < 0:
        raise ConsistencyProofError(f"tree sizes cannot be negative (got {size1} and {size2})")
    if size1 > size2:
        raise ConsistencyProofError(
            f"the old tree size {size1} is larger than the new size {size2}; a log only grows"
        )
    if size2 > MAX_TREE_SIZE:
        raise ConsistencyProofError(f"tree size {size2} exceeds the limit of {MAX_TREE_SIZE}")
    if size1 == 0:
        raise ConsistencyProofError(
            "a consistency proof from the empty tree proves nothing (RFC 9162 needs size1 > 0)"
        )
    if size1 == size2:
        if proof:
            raise ConsistencyProofError(
                f"the sizes are equal, so the proof must be empty; it has {_hashes(len(proof))}"
            )
        if root1 != root2:
            raise ConsistencyProofError(
                f"the sizes are equal ({size1}) but the roots differ: {root1.hex()} and "
                f"{root2.hex()}"
            )
        return
    _check_path_length(len(proof), ConsistencyProofError)
    expected = _consistency_path_length(size1, size2)
    if len(proof) != expected:
        raise ConsistencyProofError(
            f"the proof has {_hashes(len(proof))}; sizes {size1} and {size2} need {expected}"
        )
    _check_hash("the old root", root1, ConsistencyProofError)
    _check_hash("the new root", root2, ConsistencyProofError)
    _check_path_hashes("proof hash", proof, ConsistencyProofError)

    # RFC 9162 §2.1.4.2. Step 1 (empty path) cannot happen after the length check.
    path = [root1, *proof] if size1 & (size1 - 1) == 0 else list(proof)  # step 2
    fn, sn = size1 - 1, size2 - 1  # step 3
    while fn & 1:  # step 4
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]  # step 5
    for c in path[1:]:  # step 6
        if sn == 0:
            raise ConsistencyProofError("the proof is longer than the new tree is deep")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:  # step 7
        raise ConsistencyProofError("the proof is shorter than the new tree is deep")
    if fr != root1:
        raise ConsistencyProofError(
            f"the proof gives old root {fr.hex()}, not the claimed {root1.hex()}"
        )
    if sr != root2:
        raise ConsistencyProofError(
            f"the proof gives new root {sr.hex()}, not the claimed {root2.hex()}"
        )
