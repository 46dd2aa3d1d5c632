"""The verify page's own JCS, Merkle and anchor modules (`evidence_service/web/static/js/jcs.js`,
`merkle.js`, `anchor.js`), run under Node and held to the Python implementations the service and
`evidence verify` use: a statement whose leaf the page computes must be byte for byte the one the
service put in the tree, and an audit path the page accepts must be one `chain.merkle` accepts."""

from __future__ import annotations

import base64
import hashlib
import json
import random
from pathlib import Path
from typing import Any

import pytest

from chain.anchor_check import ANCHORED_AT_SELECTOR
from chain.artifact import ANCHORED_TOPIC
from chain.errors import InclusionProofError
from chain.merkle import MerkleTree, leaf_hash, root_from_inclusion_proof, verify_inclusion
from signing.jcs import canonicalize, loads
from tests.web.node import JS, requires_node, run_node

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "chain" / "vectors" / "rfc6962" / "inclusion"
pytestmark = requires_node

#: Runs tasks against the modules and prints one JSON result per task. `jcs` canonicalizes the
#: JSON text as the page reads it (JSON.parse); `inclusion` takes hex hashes and decimal
#: index/size (as BigInts, or as Numbers with `numbers`); `leaf` hashes hex data.
RUNNER = """
import { readFileSync } from "node:fs";

const [jsDir, tasksPath] = process.argv.slice(2);
const jcs = await import(new URL("jcs.js", jsDir));
const merkle = await import(new URL("merkle.js", jsDir));
const anchor = await import(new URL("anchor.js", jsDir));
const hex = merkle.bytesToHex;
const bytes = merkle.hexToBytes;

function attempt(action) {
  try {
    return { ok: action() };
  } catch (error) {
    return { error: error.name, message: error.message };
  }
}

function run(task) {
  switch (task.kind) {
    case "jcs":
      return attempt(() => hex(jcs.canonicalBytes(JSON.parse(task.text))));
    case "leaf":
      return { ok: hex(merkle.leafHash(bytes(task.data))) };
    case "inclusion": {
      const count = (text) => (task.numbers ? Number(text) : BigInt(text));
      const args = [count(task.index), count(task.size), bytes(task.leaf), task.path.map(bytes)];
      return {
        root: attempt(() => hex(merkle.rootFromInclusionProof(...args))),
        verify: attempt(() => merkle.verifyInclusion(...args, bytes(task.root)) ?? null),
      };
    }
    case "constants":
      return { selector: anchor.ANCHORED_AT_SELECTOR, topic: anchor.ANCHORED_TOPIC };
    default:
      throw new Error(`unknown task kind ${task.kind}`);
  }
}

const tasks = JSON.parse(readFileSync(tasksPath, "utf8"));
process.stdout.write(JSON.stringify(tasks.map(run)));
"""


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("verify-js") / "runner.mjs"
    path.write_text(RUNNER)
    return path


def run_tasks(runner: Path, workdir: Path, tasks: list[dict[str, Any]]) -> list[Any]:
    results: list[Any] = run_node(runner, JS.as_uri() + "/", tasks)
    return results


# ------------------------------------------------------------------------------------ JCS

#: RFC 8785 §3.2.2 and §3.2.3: the standard's own examples, byte for byte.
RFC_8785_EXAMPLES = [
    (
        '{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],'
        '"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
        '"literals":[null,true,false]}',
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    ),
    (
        '{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew Letter Dalet With '
        'Dagesh","1":"One","\\ud83d\\ude00":"Emoji: Grinning Face","\\u0080":"Control",'
        '"\\u00f6":"Latin Small Letter O With Diaeresis"}',
        '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O '
        'With Diaeresis","\u20ac":"Euro Sign","\U0001f600":"Emoji: Grinning Face","\ufb33":'
        '"Hebrew Letter Dalet With Dagesh"}',
    ),
]

ALPHABET = (
    "abcXYZ019 _-:/.\"\\'\b\t\n\f\r\x00\x01\x1f\x7f\x80\xa0é中文证据\u2028\u2029\ufeff\ufffd"
    "😀𝄞🀄\U0010ffff"
)


def random_text(rng: random.Random, longest: int = 12) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, longest)))


def random_number(rng: random.Random) -> int | float:
    roll = rng.random()
    if roll < 0.5:
        return rng.randint(-(2**53) + 1, 2**53 - 1)
    if roll < 0.7:
        return rng.randint(-1000, 1000)
    if roll < 0.85:
        return rng.uniform(-1e6, 1e6)
    return rng.choice([0.1, 1e21, 1e-7, 5e-324, 1.7976931348623157e308, 123.456, -0.5, 1e20])


def random_value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random() if depth < 4 else rng.random() * 0.6
    if roll < 0.25:
        return random_text(rng)
    if roll < 0.45:
        return random_number(rng)
    if roll < 0.55:
        return rng.choice([True, False, None])
    if roll < 0.75:
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {random_text(rng, 6): random_value(rng, depth + 1) for _ in range(rng.randint(0, 5))}


def statement(rng: random.Random) -> dict[str, Any]:
    """A capture statement as PROOF_FORMAT.md shapes it, with unicode in its free text."""
    digest = lambda: rng.randbytes(32).hex()  # noqa: E731
    ulid = "".join(rng.choice("0123456789ABCDEFGHJKMNPQRSTVWXYZ") for _ in range(22))
    return {
        "evidence_id": "01JD" + ulid,
        "port": rng.choice(["physical", "documentary", "electronic", "audiovisual"]),
        "sha256": digest(),
        "sm3": digest(),
        "size": rng.randint(0, 2**40),
        "media_type": rng.choice(["image/jpeg", "视频/mp4", 'text/plain; q="x"']),
        "captured_at": "2026-11-28T08:00:00Z",
        "received_at": "2026-11-28T08:00:03Z",
        "officer_id": random_text(rng) or "officer",
        "department_id": "部门-" + random_text(rng),
        "metadata_sha256": digest(),
    }


def python_jcs(text: str) -> dict[str, str]:
    try:
        return {"ok": canonicalize(loads(text)).hex()}
    except ValueError as exc:
        return {"error": type(exc).__name__, "message": str(exc)}


def test_jcs_matches_the_rfc_8785_examples(runner: Path, tmp_path: Path) -> None:
    tasks = [{"kind": "jcs", "text": given} for given, _ in RFC_8785_EXAMPLES]

    results = run_tasks(runner, tmp_path, tasks)

    assert [r["ok"] for r in results] == [want.encode().hex() for _, want in RFC_8785_EXAMPLES]
    assert [python_jcs(given)["ok"] for given, _ in RFC_8785_EXAMPLES] == [
        want.encode().hex() for _, want in RFC_8785_EXAMPLES
    ]


def test_jcs_of_statements_is_the_services(runner: Path, tmp_path: Path) -> None:
    rng = random.Random(8785)
    texts = [json.dumps(statement(rng), ensure_ascii=rng.random() < 0.5) for _ in range(200)]

    results = run_tasks(runner, tmp_path, [{"kind": "jcs", "text": t} for t in texts])

    assert results == [python_jcs(t) for t in texts]


def test_jcs_of_random_json_is_the_services(runner: Path, tmp_path: Path) -> None:
    rng = random.Random(1)
    values = [random_value(rng) for _ in range(600)]
    texts = [json.dumps(v, ensure_ascii=i % 2 == 0) for i, v in enumerate(values)]

    results = run_tasks(runner, tmp_path, [{"kind": "jcs", "text": t} for t in texts])

    expected = [python_jcs(t) for t in texts]
    assert all("ok" in e for e in expected)
    assert results == expected


@pytest.mark.parametrize(
    "text",
    [
        "0", "-0", "1", "-1", "9007199254740991", "-9007199254740991", "1.0", "1e0", "100e-2",
        "0.1", "1e21", "1e20", "1e-6", "1e-7", "123456789012345680000", "5e-324",
        "1.7976931348623157e308", '""', '"\\u0000"', '"\\u001f\\u007f"', '"\\ud834\\udd1e"',
        '"\\u2028\\u2029"', "[]", "{}", '{"b":[],"a":{}}', '{"a":1,"A":2,"_":3,"é":4,"中":5}',
        "true", "null", '[[[["deep"]]]]',
    ],
)  # fmt: skip
def test_jcs_scalars_and_edges(runner: Path, tmp_path: Path, text: str) -> None:
    (result,) = run_tasks(runner, tmp_path, [{"kind": "jcs", "text": text}])

    assert result == python_jcs(text)


@pytest.mark.parametrize("text", ['"\\ud800"', '{"\\udc00":1}', '["a\\ud83d"]'])
def test_jcs_refuses_a_lone_surrogate_as_the_service_does(
    runner: Path, tmp_path: Path, text: str
) -> None:
    (result,) = run_tasks(runner, tmp_path, [{"kind": "jcs", "text": text}])

    assert result["error"] == "JcsError"
    assert "error" in python_jcs(text)


# --------------------------------------------------------------------------------- Merkle


def _b64_hex(value: str) -> str:
    return base64.b64decode(value).hex()


def inclusion_task(
    index: int, size: int, leaf: bytes, path: list[bytes], root: bytes, *, numbers: bool = False
) -> dict[str, Any]:
    return {
        "kind": "inclusion",
        "index": str(index),
        "size": str(size),
        "leaf": leaf.hex(),
        "path": [p.hex() for p in path],
        "root": root.hex(),
        "numbers": numbers,
    }


def python_inclusion(index: int, size: int, leaf: bytes, path: list[bytes], root: bytes) -> bool:
    try:
        verify_inclusion(index, size, leaf, path, root)
    except InclusionProofError:
        return False
    return True


def test_inclusion_agrees_with_every_rfc_6962_vector(runner: Path, tmp_path: Path) -> None:
    cases = [json.loads(p.read_text("utf-8")) for p in sorted(VECTORS.rglob("*.json"))]
    assert len(cases) == 98
    tasks = []
    for case in cases:
        path = [base64.b64decode(p) for p in case["proof"] or []]
        leaf, root = base64.b64decode(case["leafHash"]), base64.b64decode(case["root"])
        tasks.append(inclusion_task(case["leafIdx"], case["treeSize"], leaf, path, root))

    results = run_tasks(runner, tmp_path, tasks)

    for case, task, result in zip(cases, tasks, results, strict=True):
        accepted = "ok" in result["verify"]
        assert accepted is not case["wantErr"], (case["desc"], result)
        args = (int(task["index"]), int(task["size"]), bytes.fromhex(task["leaf"]))
        path = [bytes.fromhex(p) for p in task["path"]]
        assert accepted is python_inclusion(*args, path, bytes.fromhex(task["root"]))
        if accepted:
            assert result["root"]["ok"] == _b64_hex(case["root"])
        else:
            assert result["verify"]["error"] == "InclusionProofError"


def test_every_audit_path_of_generated_trees(runner: Path, tmp_path: Path) -> None:
    rng = random.Random(9162)
    tasks, expected = [], []
    for size in [*range(1, 34), 63, 64, 65, 100, 127, 128, 129, 200, 1000]:
        tree = MerkleTree.from_leaves(rng.randbytes(rng.randint(0, 40)) for _ in range(size))
        indexes = range(size) if size <= 129 else rng.sample(range(size), 40)
        for index in indexes:
            path = tree.inclusion_proof(index)
            tasks.append(
                inclusion_task(
                    index, size, tree.leaf_hash(index), path, tree.root, numbers=index % 2 == 0
                )
            )
            expected.append(tree.root.hex())

    results = run_tasks(runner, tmp_path, tasks)

    assert [r["root"].get("ok") for r in results] == expected
    assert all(r["verify"] == {"ok": None} for r in results)


def test_tampered_paths_fail_in_both(runner: Path, tmp_path: Path) -> None:
    rng = random.Random(6962)
    tasks, python_says = [], []
    for _ in range(150):
        size = rng.randint(2, 300)
        tree = MerkleTree.from_leaves(rng.randbytes(8) for _ in range(size))
        index = rng.randrange(size)
        path, leaf, root = tree.inclusion_proof(index), tree.leaf_hash(index), tree.root
        how = rng.choice(["flip-path", "flip-leaf", "flip-root", "drop", "extra", "index", "size"])
        if how == "flip-path":
            at = rng.randrange(len(path))
            path[at] = bytes([path[at][0] ^ 1]) + path[at][1:]
        elif how == "flip-leaf":
            leaf = bytes([leaf[0] ^ 0x80]) + leaf[1:]
        elif how == "flip-root":
            root = root[:-1] + bytes([root[-1] ^ 1])
        elif how == "drop":
            path = path[:-1]
        elif how == "extra":
            path = [*path, hashlib.sha256(b"extra").digest()]
        elif how == "index":
            index = (index + 1) % size
        else:
            size += rng.choice([-1, 1]) if index < size - 1 else 1
        tasks.append(inclusion_task(index, size, leaf, path, root))
        python_says.append(python_inclusion(index, size, leaf, path, root))

    results = run_tasks(runner, tmp_path, tasks)

    assert ["ok" in r["verify"] for r in results] == python_says
    for task, result in zip(tasks, results, strict=True):
        if "ok" in result["root"]:  # a path of the right shape: the same (wrong) root as Python's
            args = (int(task["index"]), int(task["size"]), bytes.fromhex(task["leaf"]))
            path = [bytes.fromhex(p) for p in task["path"]]
            assert result["root"]["ok"] == root_from_inclusion_proof(*args, path).hex()


def test_leaf_hash_is_rfc_9162s(runner: Path, tmp_path: Path) -> None:
    rng = random.Random(0)
    data = [b"", b"\x00", *(rng.randbytes(n) for n in (1, 55, 63, 64, 65, 1000, 70_000))]

    results = run_tasks(runner, tmp_path, [{"kind": "leaf", "data": d.hex()} for d in data])

    assert [r["ok"] for r in results] == [leaf_hash(d).hex() for d in data]


def test_anchor_constants_are_the_contracts(runner: Path, tmp_path: Path) -> None:
    (result,) = run_tasks(runner, tmp_path, [{"kind": "constants"}])

    assert result == {"selector": ANCHORED_AT_SELECTOR.hex(), "topic": "0x" + ANCHORED_TOPIC.hex()}
