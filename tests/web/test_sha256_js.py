"""The browser's incremental SHA-256 (`evidence_service/web/static/js/sha256.js`), run under Node
and held to hashlib: a digest the capture page computes must equal the one the server computes,
however the file was cut into chunks."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path
from typing import Any

import pytest

from tests.web.node import JS, requires_node, run_node

MODULE = JS / "sha256.js"

pytestmark = requires_node

#: Runs a list of tasks against the module and prints one JSON result per task. Task kinds:
#: `updates` feeds the input as views of the given chunk sizes; `file` hashes it as a Blob with
#: sha256File; `finished` probes what a hasher does once its digest has been taken.
RUNNER = """
import { readFileSync } from "node:fs";

const [moduleUrl, tasksPath] = process.argv.slice(2);
const { Sha256, sha256File } = await import(moduleUrl);
const toHex = (bytes) => Buffer.from(bytes).toString("hex");
const errorOf = (action) => {
  try { action(); return null; } catch (error) { return `${error.name}: ${error.message}`; }
};

async function run(task) {
  const data = new Uint8Array(readFileSync(task.input));
  switch (task.kind) {
    case "updates": {
      const hasher = new Sha256();
      let position = 0;
      for (const size of task.chunks) {
        hasher.update(data.subarray(position, position + size));
        position += size;
      }
      if (position !== data.length) throw new Error(`plan covers ${position} of ${data.length}`);
      return { hex: hasher.hex() };
    }
    case "views": {
      const padded = new Uint8Array(data.length + 16);
      padded.set(data, 7);
      const hasher = new Sha256();
      hasher.update(data.slice().buffer.slice(0, 3));
      hasher.update(new DataView(padded.buffer, 7 + 3, Math.max(0, data.length - 3)));
      return { hex: hasher.hex() };
    }
    case "file": {
      const progress = [];
      const options = { onProgress: (done, total) => progress.push([done, total]) };
      if (task.chunkSize !== undefined) options.chunkSize = task.chunkSize;
      const hex = await sha256File(new Blob([data]), options);
      return { hex, progress };
    }
    case "finished": {
      const byDigest = new Sha256().update(data);
      const digest = byDigest.digest();
      digest.fill(0);
      const byHex = new Sha256().update(data);
      const hex = byHex.hex();
      return {
        hex,
        digestAgain: toHex(byDigest.digest()),
        hexAgain: byDigest.hex(),
        updateAfterDigest: errorOf(() => byDigest.update(data)),
        emptyUpdateAfterDigest: errorOf(() => byDigest.update(new Uint8Array(0))),
        updateAfterHex: errorOf(() => byHex.update(data)),
        hexAfterRefusedUpdate: byDigest.hex(),
        updateWithString: errorOf(() => new Sha256().update("abc")),
      };
    }
    case "badChunkSize": {
      try {
        await sha256File(new Blob([data]), { chunkSize: task.chunkSize });
        return { error: null };
      } catch (error) {
        return { error: error.name };
      }
    }
    default:
      throw new Error(`unknown task kind ${task.kind}`);
  }
}

const results = [];
for (const task of JSON.parse(readFileSync(tasksPath, "utf8"))) results.push(await run(task));
process.stdout.write(JSON.stringify(results));
"""

#: FIPS 180-4 / NIST CSHS examples, byte-exact: the module must agree with the standard, not
#: only with hashlib.
KNOWN_ANSWERS = {
    b"": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    b"abc": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    # 56 bytes: the length no longer fits the first block, so padding spills into a second.
    b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq": (
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    ),
}

#: Lengths around the 64-byte block and the 8-byte length field (55 is the last that pads in
#: one block, 56 the first that needs two, 64 a whole block).
BOUNDARY_LENGTHS = (1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129)


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sha256-js") / "runner.mjs"
    path.write_text(RUNNER)
    return path


def run_tasks(runner: Path, workdir: Path, tasks: list[tuple[bytes, dict[str, Any]]]) -> list[Any]:
    """Run `(input bytes, task)` pairs in one Node process; return the results in order."""
    specs = []
    for index, (data, task) in enumerate(tasks):
        input_path = workdir / f"input-{index}.bin"
        input_path.write_bytes(data)
        specs.append({**task, "input": str(input_path)})
    results: list[Any] = run_node(runner, MODULE.as_uri(), specs, timeout=60)
    return results


def whole(data: bytes) -> dict[str, Any]:
    return {"kind": "updates", "chunks": [len(data)]}


def byte_by_byte_with_empty_updates(data: bytes) -> dict[str, Any]:
    chunks = [0]
    for _ in data:
        chunks += [1, 0]
    return {"kind": "updates", "chunks": chunks}


def random_chunks(total: int, rng: random.Random, max_chunk: int = 65_536) -> list[int]:
    """Sizes summing to `total`: empty updates, cuts inside a block, a few blocks, long runs."""
    sizes = [0]
    remaining = total
    while remaining:
        roll = rng.random()
        if roll < 0.1:
            size = 0
        elif roll < 0.4:
            size = rng.randint(1, 64)
        elif roll < 0.7:
            size = rng.randint(65, 1_000)
        else:
            size = rng.randint(1_001, max_chunk)
        size = min(size, remaining)
        sizes.append(size)
        remaining -= size
    return [*sizes, 0]


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("message", list(KNOWN_ANSWERS), ids=["empty", "abc", "448-bit"])
def test_known_answers(runner: Path, tmp_path: Path, message: bytes) -> None:
    results = run_tasks(
        runner,
        tmp_path,
        [(message, whole(message)), (message, byte_by_byte_with_empty_updates(message))],
    )

    assert [result["hex"] for result in results] == [KNOWN_ANSWERS[message]] * 2
    assert KNOWN_ANSWERS[message] == sha256_hex(message)


def test_block_boundaries_whole_and_byte_by_byte(runner: Path, tmp_path: Path) -> None:
    rng = random.Random(56)
    messages = [rng.randbytes(length) for length in BOUNDARY_LENGTHS]
    tasks = [(m, plan(m)) for m in messages for plan in (whole, byte_by_byte_with_empty_updates)]

    results = run_tasks(runner, tmp_path, tasks)

    expected = [sha256_hex(m) for m in messages for _ in (whole, byte_by_byte_with_empty_updates)]
    assert [result["hex"] for result in results] == expected


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_one_mebibyte_in_random_chunks(runner: Path, tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    data = rng.randbytes(1 << 20)
    plans = [random_chunks(len(data), rng) for _ in range(2)]
    tasks = [(data, {"kind": "updates", "chunks": chunks}) for chunks in plans]

    results = run_tasks(runner, tmp_path, tasks)

    assert all(0 in chunks and 1 < len(chunks) for chunks in plans)
    assert [result["hex"] for result in results] == [sha256_hex(data)] * 2


def test_short_input_in_single_bytes_between_random_empty_updates(
    runner: Path, tmp_path: Path
) -> None:
    rng = random.Random(7)
    data = rng.randbytes(300)
    chunks = []
    for _ in data:
        chunks += [0] * rng.randint(0, 2) + [1]

    (result,) = run_tasks(runner, tmp_path, [(data, {"kind": "updates", "chunks": chunks})])

    assert result["hex"] == sha256_hex(data)


def test_ten_megabytes(runner: Path, tmp_path: Path) -> None:
    data = random.Random(10).randbytes(10_000_000)

    results = run_tasks(runner, tmp_path, [(data, whole(data)), (data, {"kind": "file"})])

    assert [result["hex"] for result in results] == [sha256_hex(data)] * 2
    mib = 1 << 20
    assert results[1]["progress"] == [[4 * mib, len(data)], [8 * mib, len(data)], [len(data)] * 2]


def test_update_takes_any_byte_view(runner: Path, tmp_path: Path) -> None:
    data = random.Random(3).randbytes(200)

    (result,) = run_tasks(runner, tmp_path, [(data, {"kind": "views"})])

    assert result["hex"] == sha256_hex(data)


def test_finished_hasher_refuses_updates_and_repeats_its_digest(
    runner: Path, tmp_path: Path
) -> None:
    data = b"evidence"

    (result,) = run_tasks(runner, tmp_path, [(data, {"kind": "finished"})])

    expected = sha256_hex(data)
    assert result["hex"] == result["digestAgain"] == result["hexAgain"] == expected
    assert result["hexAfterRefusedUpdate"] == expected
    for key in ("updateAfterDigest", "emptyUpdateAfterDigest", "updateAfterHex"):
        assert result[key] is not None and "finished" in result[key], key
    assert result["updateWithString"] is not None
    assert result["updateWithString"].startswith("TypeError")


@pytest.mark.parametrize(
    ("size", "chunk_size", "progress"),
    [
        (0, 4, [[0, 0]]),
        (10, 4, [[4, 10], [8, 10], [10, 10]]),
        (8, 4, [[4, 8], [8, 8]]),
        (3, 64, [[3, 3]]),
    ],
)
def test_sha256_file_reports_progress_per_chunk(
    runner: Path, tmp_path: Path, size: int, chunk_size: int, progress: list[list[int]]
) -> None:
    data = random.Random(size).randbytes(size)

    (result,) = run_tasks(runner, tmp_path, [(data, {"kind": "file", "chunkSize": chunk_size})])

    assert result == {"hex": sha256_hex(data), "progress": progress}


@pytest.mark.parametrize("chunk_size", [0, -1, 1.5])
def test_sha256_file_refuses_a_chunk_size_that_is_not_a_positive_integer(
    runner: Path, tmp_path: Path, chunk_size: float
) -> None:
    (result,) = run_tasks(
        runner, tmp_path, [(b"abc", {"kind": "badChunkSize", "chunkSize": chunk_size})]
    )

    assert result == {"error": "RangeError"}
