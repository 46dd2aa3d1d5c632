#!/usr/bin/env python3
"""Double-random draw benchmark (draw/1): a draw of --share of --enterprises, and its check.

The commitment: --enterprises ids in three strata, each drawing --share of its population;
two departments with --officers each; --conflicts (enterprise, officer) pairs. Timed, each the
best of --repeat runs:

1. the baseline: SHA-256 of the commitment's JCS bytes (the least any recomputation does);
2. the §1 rules (``Commitment.from_json``);
3. ``compute_result`` (§2–§4), the draw itself (goal: well under 2 s);
4. verifying the published DRAW.json (``DrawDocument.from_json`` + ``verify_draw``) against an
   embedded chain (a temporary data dir) on which its commitment is anchored.

Each time is printed with its ratio to the baseline, measured in the same run. Exit 1 if the
draw misses its goal.

Usage: python scripts/bench_draw.py [--enterprises 100000] [--share 0.05] [--officers 2500]
           [--conflicts 4000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from web3 import Web3  # noqa: E402

from chain.embedded import EmbeddedChain  # noqa: E402
from chain.merkle import MerkleTree, leaf_hash  # noqa: E402
from chain.rpc_bridge import FunctionProvider  # noqa: E402
from evidence_service.modules.inspection.draw import (  # noqa: E402
    Commitment,
    compute_result,
    document_leaf,
)
from evidence_service.modules.inspection.draw_document import (  # noqa: E402
    DrawDocument,
)
from evidence_service.modules.inspection.draw_verify import (  # noqa: E402
    RpcDrawChain,
    verify_draw,
)
from signing.jcs import canonicalize  # noqa: E402

DRAW_GOAL_SECONDS = 2.0


def make_commitment(args: argparse.Namespace, registry: str, target: int) -> dict[str, Any]:
    rng = random.Random(20261205)
    ids = sorted(f"91330{i:08d}{rng.choice('ABCDEFGH')}" for i in range(args.enterprises))
    thirds = [ids[0::3], ids[1::3], ids[2::3]]
    pools = {
        d: sorted(f"{d}-{i:06d}" for i in range(args.officers))
        for d in ("市场监管局", "应急管理局")
    }
    conflicts = sorted(
        {
            (rng.choice(ids), rng.choice(pools[rng.choice(list(pools))]))
            for _ in range(args.conflicts)
        }
    )
    return {
        "format": "draw-commitment/1",
        "draw_id": "01JDRAWBENCH00000000000000",
        "task": "bench",
        "chain_id": 1337,
        "registry": registry,
        "target_block": target,
        "strata": [
            {"name": name, "population": sorted(group), "k": round(len(group) * args.share)}
            for name, group in zip(("high", "medium", "low"), thirds, strict=True)
        ],
        "departments": list(pools),
        "per_department": 2,
        "pools": pools,
        "conflicts": [list(pair) for pair in conflicts],
    }


def best_of(repeat: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def published_draw(chain: EmbeddedChain, args: argparse.Namespace) -> bytes:
    """Anchor a commitment among 1,000 other leaves, mine past its target, publish it."""
    registry = Web3.to_checksum_address(chain.deploy())
    document = make_commitment(args, registry, chain.block_number() + 2)
    leaves = [leaf_hash(b"other %d" % i) for i in range(1000)] + [document_leaf(document)]
    tree = MerkleTree.from_leaf_hashes(leaves)
    receipt = chain.anchor(tree.root, tree.size, 1)
    chain.anchor(hashlib.sha256(b"filler").digest(), 1, 2)
    block_hash = bytes.fromhex(chain.block(document["target_block"]).hash[2:])
    draw = {
        "format": "draw/1",
        "commitment": document,
        "merkle": {
            "hash": "sha256-rfc9162",
            "leaf_index": 1000,
            "tree_size": tree.size,
            "leaf_hash": leaves[1000].hex(),
            "path": [h.hex() for h in tree.inclusion_proof(1000)],
            "root": tree.root.hex(),
        },
        "anchor": {
            "chain_id": receipt.chain_id,
            "contract": receipt.contract,
            "tx_hash": receipt.tx_hash,
            "block_number": receipt.block_number,
            "block_hash": receipt.block_hash,
            "block_timestamp": receipt.block_timestamp,
            "batch_id": receipt.batch_id,
        },
        "result": compute_result(Commitment.from_json(document), block_hash),
    }
    return json.dumps(draw, ensure_ascii=False).encode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--enterprises", type=int, default=100_000)
    parser.add_argument("--share", type=float, default=0.05)
    parser.add_argument("--officers", type=int, default=2500)
    parser.add_argument("--conflicts", type=int, default=4000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        with EmbeddedChain.open(Path(tmp) / "chain", max_clock_lead=10**6) as chain:
            data = published_draw(chain, args)
            document = json.loads(data)["commitment"]
            jcs = canonicalize(document)
            commitment = Commitment.from_json(document)
            block_hash = bytes.fromhex(json.loads(data)["result"]["block_hash"][2:])
            reader = RpcDrawChain(Web3(FunctionProvider(chain.rpc)))
            verdict = verify_draw(DrawDocument.from_json(data), reader)
            if not verdict.valid:
                print(f"the published draw does not verify: {verdict.first_problem}")
                return 1
            base = best_of(args.repeat, lambda: hashlib.sha256(jcs).digest())
            rules = best_of(args.repeat, lambda: Commitment.from_json(document))
            draw = best_of(args.repeat, lambda: compute_result(commitment, block_hash))
            check = best_of(args.repeat, lambda: verify_draw(DrawDocument.from_json(data), reader))
    selected = sum(s["k"] for s in document["strata"])
    print(
        f"draw/1: {args.enterprises:,} enterprises, {selected:,} selected, "
        f"{len(document['departments'])} departments × {args.officers:,} officers, "
        f"{len(document['conflicts']):,} conflicts; DRAW.json {len(data) / 1e6:.1f} MB"
    )
    print(
        f"baseline SHA-256 of the commitment's JCS ({len(jcs) / 1e6:.1f} MB): {base * 1e3:.2f} ms"
    )
    for what, seconds in (
        ("§1 rules (Commitment.from_json)", rules),
        ("compute_result (§2–§4)", draw),
        ("verify DRAW.json (parse + §6, embedded chain)", check),
    ):
        print(f"{what:48} {seconds * 1e3:9.1f} ms  {seconds / base:8.1f}x baseline")
    met = draw < DRAW_GOAL_SECONDS
    print(f"goal: compute_result under {DRAW_GOAL_SECONDS:.0f} s: {'met' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
