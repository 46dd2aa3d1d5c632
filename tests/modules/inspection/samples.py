"""Commitments for the draw tests: the §7 test vector and seeded random ones."""

from __future__ import annotations

import copy
import hashlib
import json
import random
from typing import Any

VECTOR_COMMITMENT: dict[str, Any] = json.loads(
    """{"format":"draw-commitment/1","draw_id":"01JDRAW0000000000000000000","task":"example",
 "chain_id":1337,"registry":"0x5FbDB2315678afecb367f032d93F642f64180aa3","target_block":10,
 "strata":[{"name":"high","population":["91330100A1","91330100A2","91330100A3","91330100A4",
 "91330100A5"],"k":2},{"name":"low","population":["91330200B1","91330200B2","91330200B3"],"k":1}],
 "departments":["D1","D2"],"per_department":1,"pools":{"D1":["o1","o2","o3"],"D2":["p1","p2"]},
 "conflicts":[["91330100A1","o1"]]}"""
)
VECTOR_BLOCK_HASH = hashlib.sha256(b"draw/1 example block").digest()
VECTOR_DIGEST = "ed9d75066e977eb5889f8ababc0e1becc294bb38643e530c7eb2fbed0a4eba15"
VECTOR_SEED = "a72038c115bb1c9d4b5364212c15e4815f1c347527d0dbf891863beca4d52e53"
VECTOR_SELECTED = [
    {"stratum": "high", "enterprise": "91330100A1"},
    {"stratum": "high", "enterprise": "91330100A2"},
    {"stratum": "low", "enterprise": "91330200B3"},
]
VECTOR_ASSIGNMENTS = [
    {"enterprise": e, "department": d, "inspectors": [o]}
    for e, d, o in [
        ("91330100A1", "D1", "o3"),
        ("91330100A1", "D2", "p2"),
        ("91330100A2", "D1", "o2"),
        ("91330100A2", "D2", "p2"),
        ("91330200B3", "D1", "o2"),
        ("91330200B3", "D2", "p2"),
    ]
]


def vector() -> dict[str, Any]:
    return copy.deepcopy(VECTOR_COMMITMENT)


def random_commitment(
    rng: random.Random,
    *,
    strata: int = 3,
    enterprises: int = 300,
    departments: int = 3,
    officers: int = 12,
    per_department: int = 2,
    conflicts: int = 150,
    registry: str = "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    target_block: int = 10,
) -> dict[str, Any]:
    """A valid commitment: ids with non-ASCII text, pools sorted by UTF-8 bytes, conflicts that
    leave every enterprise at least ``per_department`` officers in each pool."""
    ids = sorted({f"9133{rng.randrange(10**8):08d}企{i}" for i in range(enterprises)})
    rng.shuffle(ids)
    cuts = sorted(rng.sample(range(1, len(ids)), strata - 1))
    groups = [ids[a:b] for a, b in zip([0, *cuts], [*cuts, len(ids)], strict=True)]
    depts = [f"部门{d}" for d in range(departments)]
    pools = {d: sorted(f"{d}-o{rng.randrange(10**6)}-{i}" for i in range(officers)) for d in depts}
    pairs: set[tuple[str, str]] = set()
    for _ in range(conflicts):
        e, d = rng.choice(ids), rng.choice(depts)
        barred = sum(1 for pe, po in pairs if pe == e and po in pools[d])
        if officers - barred > per_department:
            pairs.add((e, rng.choice(pools[d])))
    return {
        "format": "draw-commitment/1",
        "draw_id": f"01JDRAW{rng.randrange(10**19):019d}",
        "task": 'random "plan"\n\t\x01\x1f é 検査 \\',  # JCS escapes
        "chain_id": 1337,
        "registry": registry,
        "target_block": target_block,
        "strata": [
            {"name": f"s{i}", "population": sorted(g), "k": rng.randint(0, len(g))}
            for i, g in enumerate(groups)
        ],
        "departments": depts,
        "per_department": per_department,
        "pools": pools,
        "conflicts": [list(p) for p in sorted(pairs)],
    }
