#!/usr/bin/env python3
"""Anchoring benchmark: one batch's Merkle tree, its proofs and their checks, in one process.

(a) build the RFC 9162 tree over --leaves 200-byte statements (leaf hashing included), in leaves/s,
    vs a plain-hashlib level-by-level build written here, in the same run: ratio (goal >= 0.7)
    and rate (goal >= ~1M leaves/s);
(b) generate every leaf's inclusion proof (goal <= 5 s for 1M leaves);
(c) verify_inclusion per proof, averaged over --verify proofs (goal <= 15 us), and the JSON size
    of one proof's `merkle` object as PROOF_FORMAT.md defines it (goal <= 1.5 KB for 1M leaves).

Each part is `part_x(args) -> dict` registered in PARTS; parts d and e are added there later. A part
returns its figures as a dict; under the key "goals" it maps each goal's text to whether it was met.
The summary lists every goal; the exit status is 1 if any was missed.

Usage: python scripts/bench_anchor.py [--only a,b,c] [--leaves 1000000] [--verify 100000]
"""

from __future__ import annotations

import argparse
import functools
import gc
import hashlib
import json
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from chain.merkle import MerkleTree, verify_inclusion  # noqa: E402

STATEMENT_SIZE = 200
KB = 1024


@functools.cache
def statements(count: int) -> list[bytes]:
    """`count` distinct statement-shaped entries of STATEMENT_SIZE bytes each."""
    head = (
        b'{"evidence_id":"01JD%022d","port":"physical","media_type":"image/jpeg",'
        b'"captured_at":"2026-11-28T08:00:00Z","size":%d,"note":"'
    )
    tail = b'"}'
    out = [(head % (i, i)).ljust(STATEMENT_SIZE - len(tail), b"x") + tail for i in range(count)]
    assert all(len(entry) == STATEMENT_SIZE for entry in out[:1000])
    return out


@functools.cache
def _tree(count: int) -> MerkleTree:
    return MerkleTree.from_leaves(statements(count))


@functools.cache
def _proofs(count: int) -> list[list[bytes]]:
    return _tree(count).inclusion_proofs()


def reference_root(entries: list[bytes]) -> bytes:
    """RFC 6962 root the plain way: hash the leaves, then pair each level up with hashlib, an odd
    last node moving up as it is."""
    level = [hashlib.sha256(b"\x00" + entry).digest() for entry in entries]
    while len(level) > 1:
        parents = [
            hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest()
            for i in range(0, len(level) - 1, 2)
        ]
        if len(level) % 2:
            parents.append(level[-1])
        level = parents
    return level[0] if level else hashlib.sha256(b"").digest()


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def part_a(args: argparse.Namespace) -> dict[str, Any]:
    entries = statements(args.leaves)
    ours_s, ref_s = float("inf"), float("inf")
    for _ in range(args.repeat):  # interleaved, best of --repeat for each
        elapsed, tree = _timed(lambda: MerkleTree.from_leaves(entries))
        ours_s = min(ours_s, elapsed)
        elapsed, root = _timed(lambda: reference_root(entries))
        ref_s = min(ref_s, elapsed)
        if tree.root != root:
            raise SystemExit(f"root mismatch: {tree.root.hex()} vs reference {root.hex()}")
        del tree
    ours, ref = args.leaves / ours_s, args.leaves / ref_s
    ratio = ours / ref
    print(f"(a) tree over {args.leaves:,} leaves of {STATEMENT_SIZE} B, leaf hashing included")
    print(f"    MerkleTree.from_leaves: {ours_s:.3f} s = {ours:,.0f} leaves/s")
    print(f"    plain hashlib build:    {ref_s:.3f} s = {ref:,.0f} leaves/s")
    print(f"    ratio {ratio:.2f}x (goal >= 0.7x); rate goal >= 1,000,000 leaves/s")
    return {
        "leaves": args.leaves,
        "build_s": ours_s,
        "leaves_per_s": ours,
        "reference_leaves_per_s": ref,
        "ratio": ratio,
        "goals": {
            "(a) build >= 0.7x plain hashlib": ratio >= 0.7,
            "(a) build >= 1M leaves/s": ours >= 1_000_000,
        },
    }


def part_b(args: argparse.Namespace) -> dict[str, Any]:
    tree = _tree(args.leaves)
    _proofs.cache_clear()
    elapsed, proofs = _timed(lambda: _proofs(args.leaves))  # kept for (c)
    collect_s, _ = _timed(gc.collect)
    rng = random.Random(args.seed)
    for index in [0, tree.size - 1, *rng.sample(range(tree.size), min(1000, tree.size))]:
        if proofs[index] != tree.inclusion_proof(index):
            raise SystemExit(f"inclusion_proofs()[{index}] differs from inclusion_proof({index})")
    hashes = sum(map(len, proofs))
    print(f"(b) all {tree.size:,} inclusion proofs: {elapsed:.3f} s (goal <= 5 s)")
    rate = tree.size / elapsed
    print(f"    {hashes:,} path hashes ({hashes / tree.size:.2f} per proof), {rate:,.0f} proofs/s")
    print(
        f"    one full gc.collect() with them alive afterwards: {collect_s:.3f} s (not in the goal)"
    )
    return {
        "proofs": tree.size,
        "generate_s": elapsed,
        "gc_collect_s": collect_s,
        "goals": {"(b) all proofs <= 5 s": elapsed <= 5.0},
    }


SAMPLE_STATEMENT = {  # a real statement's shape and field lengths (PROOF_FORMAT.md)
    "evidence_id": "01JDQ8Z3K9V7W2X4Y6A8B0C2D4",
    "port": "physical",
    "sha256": "ab" * 32,
    "sm3": "cd" * 32,
    "size": 1048576,
    "media_type": "image/jpeg",
    "captured_at": "2026-11-28T08:00:00Z",
    "received_at": "2026-11-28T08:00:03Z",
    "officer_id": "01JDQ8Z3K9V7W2X4Y6A8B0C2D5",
    "department_id": "01JDQ8Z3K9V7W2X4Y6A8B0C2D6",
    "metadata_sha256": "ef" * 32,
}
SAMPLE_ANCHOR = {
    "chain_id": 1337,
    "contract": "0x" + "12" * 20,
    "tx_hash": "0x" + "34" * 32,
    "block_number": 123456,
    "block_hash": "0x" + "56" * 32,
    "block_timestamp": 1795852800,
    "batch_id": 7,
}


def merkle_object(tree: MerkleTree, index: int, path: list[bytes]) -> dict[str, Any]:
    """The proof document's `merkle` member (PROOF_FORMAT.md, evidence-proof/1)."""
    return {
        "hash": "sha256-rfc9162",
        "leaf_index": index,
        "tree_size": tree.size,
        "leaf_hash": tree.leaf_hash(index).hex(),
        "path": [node.hex() for node in path],
        "root": tree.root.hex(),
    }


def part_c(args: argparse.Namespace) -> dict[str, Any]:
    tree, proofs = _tree(args.leaves), _proofs(args.leaves)
    size, root, leaves = tree.size, tree.root, tree.leaf_hashes
    sample = random.Random(args.seed).choices(range(size), k=args.verify)
    work = [(i, leaves[i], proofs[i]) for i in sample]

    def verify_all() -> None:
        for index, leaf, path in work:
            verify_inclusion(index, size, leaf, path, root)

    elapsed, _ = _timed(verify_all)
    per_proof_us = elapsed / len(work) * 1e6
    deepest = max(range(size), key=lambda i: len(proofs[i]))
    compact = json.dumps(merkle_object(tree, deepest, proofs[deepest]), separators=(",", ":"))
    spaced = json.dumps(merkle_object(tree, deepest, proofs[deepest]))
    mean_path = sum(len(proofs[i]) for i in sample) / len(sample)
    print(
        f"(c) verify_inclusion: {per_proof_us:.2f} us per proof over {len(work):,} proofs"
        f" (goal <= 15 us)"
    )
    print(
        f"    `merkle` JSON for leaf {deepest} ({len(proofs[deepest])} path hashes, the most"
        f" here): {len(compact):,} B compact, {len(spaced):,} B with json.dumps defaults"
        f" (goal <= 1.5 KB = {int(1.5 * KB):,} B)"
    )
    document = {
        "format": "evidence-proof/1",
        "statement": SAMPLE_STATEMENT,
        "signature": None,
        "merkle": merkle_object(tree, deepest, proofs[deepest]),
        "anchor": SAMPLE_ANCHOR,
    }
    full = len(json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode())
    print(f"    whole proof document (no signature block): {full:,} B compact")
    print(f"    mean path length over the sample: {mean_path:.2f} hashes")
    return {
        "verify_us": per_proof_us,
        "merkle_json_bytes": len(compact),
        "goals": {
            "(c) verify <= 15 us per proof": per_proof_us <= 15.0,
            "(c) merkle JSON <= 1.5 KB": len(compact) <= 1.5 * KB,
            "(c) whole proof without certificate <= 1.5 KB": full <= 1.5 * KB,
        },
    }


def _per_chain(
    args: argparse.Namespace, title: str, run: Callable[[str], dict[str, Any]]
) -> dict[str, Any]:
    print(title)
    results = {chain: run(chain) for chain in args.chains}
    goals = {goal: met for result in results.values() for goal, met in result["goals"].items()}
    return {**results, "goals": goals}


def part_d(args: argparse.Namespace) -> dict[str, Any]:
    from anchor_e2e import run_d

    title = f"(d) {args.statements:,} statements end to end (interval 5 s)"
    return _per_chain(args, title, lambda chain: run_d(chain, args.statements))


def part_e(args: argparse.Namespace) -> dict[str, Any]:
    from anchor_e2e import run_e

    title = f"(e) single items at {args.rate:g}/s over {args.e_seconds:g} s through evidence serve"
    return _per_chain(args, title, lambda chain: run_e(chain, args.e_seconds, args.rate))


PARTS: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "a": part_a,
    "b": part_b,
    "c": part_c,
    "d": part_d,
    "e": part_e,
}


def parse_parts(value: str) -> list[str]:
    parts = [p.strip() for p in value.split(",") if p.strip()]
    unknown = [p for p in parts if p not in PARTS]
    if unknown or not parts:
        raise argparse.ArgumentTypeError(
            f"unknown part(s) {', '.join(unknown) or '(none given)'}; known: {', '.join(PARTS)}"
        )
    return parts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument(
        "--only",
        type=parse_parts,
        default=None,
        metavar="PARTS",
        help=f"comma list of parts to run (default: all of {','.join(PARTS)})",
    )
    parser.add_argument("--leaves", type=int, default=1_000_000, help="leaves in the batch")
    parser.add_argument("--verify", type=int, default=100_000, help="proofs to verify in (c)")
    parser.add_argument("--repeat", type=int, default=3, help="builds to time in (a), best kept")
    parser.add_argument("--seed", type=int, default=1, help="seed of the proof samples")
    parser.add_argument("--statements", type=int, default=100_000, help="statements in (d)")
    parser.add_argument("--rate", type=float, default=50.0, help="items per second in (e)")
    parser.add_argument("--e-seconds", type=float, default=60.0, help="duration of (e)")
    parser.add_argument(
        "--chains",
        type=lambda v: [c.strip() for c in v.split(",") if c.strip()],
        default=["embedded", "hardhat"],
        help="chains for (d) and (e): embedded,hardhat",
    )
    args = parser.parse_args(argv)
    if args.leaves < 1:
        parser.error("--leaves must be at least 1")

    results: dict[str, dict[str, Any]] = {}
    for name in args.only or list(PARTS):
        results[name] = PARTS[name](args)
        print()
    goals = {goal: met for result in results.values() for goal, met in result["goals"].items()}
    print("summary:")
    for goal, met in goals.items():
        print(f"  {'PASS' if met else 'MISS'}  {goal}")
    return 0 if all(goals.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
