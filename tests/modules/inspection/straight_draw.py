"""draw/1 §1–§4 written again from docs/draw-format.md alone, as an outside verifier would.

Straight-line on purpose: full copies, list scans, no shortcuts, nothing imported from the
service (plain hashlib and its own JCS for the JSON a commitment holds: strings, integers,
arrays, objects). The tests hold the service's draw to the same bytes.
"""

from __future__ import annotations

import hashlib
from typing import Any

_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n"}
_SHORT_ESCAPES.update({"\f": "\\f", "\r": "\\r"})


def jcs(value: Any) -> bytes:
    """RFC 8785 for strings, integers, arrays and objects."""
    return _serialize(value).encode("utf-8")


def _serialize(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        raise TypeError("a commitment holds no booleans or nulls")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        out = []
        for ch in value:
            if ch in _SHORT_ESCAPES:
                out.append(_SHORT_ESCAPES[ch])
            elif ord(ch) < 0x20:
                out.append(f"\\u{ord(ch):04x}")
            else:
                out.append(ch)
        return '"' + "".join(out) + '"'
    if isinstance(value, list):
        return "[" + ",".join(_serialize(v) for v in value) + "]"
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: k.encode("utf-16-be"))  # UTF-16 code units
        return "{" + ",".join(_serialize(k) + ":" + _serialize(value[k]) for k in keys) + "}"
    raise TypeError(f"not in a commitment: {type(value)}")


def straight_result(commitment: dict[str, Any], block_hash: bytes) -> dict[str, Any]:
    digest = hashlib.sha256(jcs(commitment)).digest()
    seed = hashlib.sha256(block_hash + digest).digest()
    counters: dict[str, int] = {}

    def uniform(tag: str, bound: int) -> int:
        i = counters.get(tag, 0)
        while True:
            data = seed + tag.encode("utf-8") + b"\x00" + i.to_bytes(8, "big")
            x = int.from_bytes(hashlib.sha256(data).digest(), "big")
            i += 1
            counters[tag] = i
            limit = 2**256 - (2**256 % bound)
            if x < limit:
                return x % bound

    def shuffle(items: list[str], k: int, tag: str) -> list[str]:
        a = list(items)
        n = len(a)
        for j in range(k):
            r = j + uniform(tag, n - j)
            a[j], a[r] = a[r], a[j]
        return a[0:k]

    selected = []
    for s in commitment["strata"]:
        for e in shuffle(s["population"], s["k"], "enterprise/" + s["name"]):
            selected.append({"stratum": s["name"], "enterprise": e})
    assignments = []
    for pick in selected:
        e = pick["enterprise"]
        for d in commitment["departments"]:
            eligible = [o for o in commitment["pools"][d] if [e, o] not in commitment["conflicts"]]
            inspectors = shuffle(eligible, commitment["per_department"], "inspector/" + e + "/" + d)
            assignments.append({"enterprise": e, "department": d, "inspectors": inspectors})
    return {
        "format": "draw-result/1",
        "draw_id": commitment["draw_id"],
        "commitment_digest": digest.hex(),
        "target_block": commitment["target_block"],
        "block_hash": "0x" + block_hash.hex(),
        "seed": seed.hex(),
        "selected": selected,
        "assignments": assignments,
    }
