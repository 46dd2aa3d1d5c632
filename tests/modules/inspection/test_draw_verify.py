"""§6: a published draw verifies against a real (embedded py-evm) chain, and each tampering
names its step; bad input is refused; the CLI exits 0/1/2/3 like ``evidence verify``."""

from __future__ import annotations

import copy
import json
import random
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_utils import keccak
from typer.testing import CliRunner
from web3 import Web3

from chain.anchor_check import AnchorClaim
from chain.embedded import EmbeddedChain
from chain.merkle import MerkleTree, leaf_hash
from chain.rpc_bridge import FunctionProvider
from evidence_service.cli import app as cli_app
from evidence_service.modules.inspection.draw import (
    Commitment,
    commitment_digest,
    compute_result,
    document_leaf,
)
from evidence_service.modules.inspection.draw_document import (
    DrawDocument,
    DrawInputError,
)
from evidence_service.modules.inspection.draw_verify import (
    DrawPins,
    DrawVerdict,
    RpcDrawChain,
    StepStatus,
    verify_draw,
)
from tests.modules.inspection import samples

FAST = 10**6  # max_clock_lead: mine many blocks without waiting for their slots
STEPS = ["commitment", "rules", "inclusion", "anchor", "anchor-time", "block", "result"]


@dataclass(frozen=True)
class Published:
    data_dir: Path
    registry: str
    good: dict[str, Any]  # a draw anchored before its target block, with its result
    void: dict[str, Any]  # a draw whose target block passed before its anchor: published void
    late: dict[str, Any]  # the same late draw, published with a result as if it were valid
    at_target: dict[str, Any]  # anchored in its target block itself: too late (not strictly before)


def advance_to(chain: EmbeddedChain, block: int) -> None:
    """Mine (unrelated anchors) until ``block`` exists: the service advances the chain so."""
    while chain.block_number() < block:
        chain.anchor(keccak(text=f"filler {chain.block_number()}"), 1, 1)


def publish(chain: EmbeddedChain, commitment: dict[str, Any], batch_id: int) -> dict[str, Any]:
    """Anchor the commitment's leaf among others; the DRAW.json without its result."""
    leaves = [leaf_hash(f"other {batch_id}/{i}".encode()) for i in range(4)]
    leaves.insert(2, document_leaf(commitment))
    tree = MerkleTree.from_leaf_hashes(leaves)
    receipt = chain.anchor(tree.root, tree.size, batch_id)
    return {
        "format": "draw/1",
        "commitment": commitment,
        "merkle": {
            "hash": "sha256-rfc9162",
            "leaf_index": 2,
            "tree_size": tree.size,
            "leaf_hash": leaves[2].hex(),
            "path": [h.hex() for h in tree.inclusion_proof(2)],
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
    }


def with_result(chain: EmbeddedChain, draw: dict[str, Any]) -> dict[str, Any]:
    commitment = Commitment.from_json(draw["commitment"])
    block_hash = bytes.fromhex(chain.block(commitment.target_block).hash[2:])
    return {**draw, "result": compute_result(commitment, block_hash)}


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Published:
    data_dir = tmp_path_factory.mktemp("draw") / "data"
    with EmbeddedChain.open(data_dir / "chain", max_clock_lead=FAST) as chain:
        registry = Web3.to_checksum_address(chain.deploy())
        head = chain.block_number()
        good = samples.random_commitment(random.Random(7), registry=registry, target_block=head + 3)
        late = {**samples.vector(), "registry": registry, "target_block": head + 1}
        advance_to(chain, head + 1)
        good_draw = publish(chain, good, batch_id=1)  # block head + 2 < target
        late_draw = publish(chain, late, batch_id=2)  # after its target block
        edge = {**samples.vector(), "registry": registry, "target_block": chain.block_number() + 1}
        at_target = publish(chain, edge, batch_id=3)
        assert at_target["anchor"]["block_number"] == edge["target_block"]
        advance_to(chain, head + 6)
        return Published(
            data_dir,
            registry,
            with_result(chain, good_draw),
            {**late_draw, "result": None, "void": "anchored-too-late"},
            with_result(chain, late_draw),
            with_result(chain, at_target),
        )


@pytest.fixture
def chain(published: Published) -> Iterator[RpcDrawChain]:
    """The chain of the data dir, read as ``--data-dir`` reads it."""
    with EmbeddedChain.open(published.data_dir / "chain", create=False) as embedded:
        yield RpcDrawChain(Web3(FunctionProvider(embedded.rpc)))


def check(draw: dict[str, Any], chain: RpcDrawChain | None, **pins: Any) -> DrawVerdict:
    data = json.dumps(draw, ensure_ascii=False).encode()
    return verify_draw(DrawDocument.from_json(data), chain, DrawPins(**pins))


def statuses(verdict: DrawVerdict) -> list[str]:
    return [str(s.status) for s in verdict.steps]


def test_a_published_draw_verifies(published: Published, chain: RpcDrawChain) -> None:
    verdict = check(
        published.good, chain, chain_id=1337, registries=frozenset([published.registry])
    )
    assert verdict.valid, verdict
    assert [s.name for s in verdict.steps] == STEPS
    assert [s.number for s in verdict.steps] == [1, 1, 2, 2, 2, 3, 4]
    assert statuses(verdict) == ["pass"] * 7


def tampered(draw: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    copied = copy.deepcopy(draw)
    *parents, last = path.split(".")
    target: Any = copied
    for p in parents:
        target = target[int(p)] if p.isdigit() else target[p]
    target[int(last) if last.isdigit() else last] = value
    return copied


def other_enterprise(draw: dict[str, Any]) -> str:
    chosen = {s["enterprise"] for s in draw["result"]["selected"]}
    stratum = draw["commitment"]["strata"][0]
    return next(e for e in stratum["population"] if e not in chosen)


TAMPERINGS = [
    (
        "selected enterprise",
        "result-mismatch",
        lambda d: tampered(d, "result.selected.0.enterprise", other_enterprise(d)),
    ),
    (
        "inspector order",
        "result-mismatch",
        lambda d: tampered(
            d, "result.assignments.0.inspectors", d["result"]["assignments"][0]["inspectors"][::-1]
        ),
    ),
    (
        "one assignment dropped",
        "result-mismatch",
        lambda d: tampered(d, "result.assignments", d["result"]["assignments"][:-1]),
    ),
    (
        "wrong block hash",
        "block-mismatch",
        lambda d: tampered(d, "result.block_hash", "0x" + "ab" * 32),
    ),
    (
        "uppercase block hash",
        "block-mismatch",
        lambda d: tampered(
            d, "result.block_hash", d["result"]["block_hash"].upper().replace("0X", "0x")
        ),
    ),
    ("wrong seed", "block-mismatch", lambda d: tampered(d, "result.seed", "00" * 32)),
    (
        "commitment edited",
        "commitment-mismatch",
        lambda d: tampered(d, "commitment.task", "another plan"),
    ),
    (
        "digest uppercase",
        "commitment-mismatch",
        lambda d: tampered(d, "result.commitment_digest", d["result"]["commitment_digest"].upper()),
    ),
    ("result draw id", "commitment-mismatch", lambda d: tampered(d, "result.draw_id", "01JOTHER")),
    (
        "result target",
        "commitment-mismatch",
        lambda d: tampered(d, "result.target_block", d["result"]["target_block"] + 1),
    ),
    ("audit path", "inclusion-failed", lambda d: tampered(d, "merkle.path.0", "00" * 32)),
    ("leaf index", "inclusion-failed", lambda d: tampered(d, "merkle.leaf_index", 1)),
    ("leaf hash", "inclusion-failed", lambda d: tampered(d, "merkle.leaf_hash", "11" * 32)),
    (
        "anchor block",
        "not-anchored",
        lambda d: tampered(d, "anchor.block_number", d["anchor"]["block_number"] + 1),
    ),
    ("anchor registry", "not-anchored", lambda d: tampered(d, "anchor.contract", "0x" + "22" * 20)),
    ("anchor chain", "not-anchored", lambda d: tampered(d, "anchor.chain_id", 1)),
]


@pytest.mark.parametrize(("case", "failure", "tamper"), TAMPERINGS, ids=[t[0] for t in TAMPERINGS])
def test_each_tampering_names_its_step(
    published: Published, chain: RpcDrawChain, case: str, failure: str, tamper: Any
) -> None:
    verdict = check(tamper(published.good), chain)
    assert not verdict.valid
    assert verdict.failure == failure, verdict.first_problem


def test_an_edited_commitment_breaking_a_rule_is_bad_commitment(
    published: Published, chain: RpcDrawChain
) -> None:
    """Re-digested so step 1's digest holds: the rules still refuse it."""
    draw = tampered(published.good, "commitment.per_department", 0)
    draw["result"]["commitment_digest"] = commitment_digest(draw["commitment"]).hex()
    verdict = check(draw, chain)
    assert verdict.failure == "bad-commitment"
    assert "rule 2" in verdict.steps[1].detail
    assert verdict.steps[6].status == StepStatus.skipped


def test_an_untrusted_registry_is_not_anchored(published: Published, chain: RpcDrawChain) -> None:
    verdict = check(published.good, chain, registries=frozenset(["0x" + "33" * 20]))
    assert verdict.failure == "not-anchored"
    assert "not a trusted registry" in verdict.steps[3].detail
    assert check(published.good, chain, chain_id=5).failure == "not-anchored"


def test_a_result_for_a_late_anchor_is_anchored_too_late(
    published: Published, chain: RpcDrawChain
) -> None:
    verdict = check(published.late, chain)
    assert verdict.failure == "anchored-too-late"
    assert statuses(verdict)[:4] == ["pass"] * 4


def test_an_anchor_in_the_target_block_itself_is_too_late(
    published: Published, chain: RpcDrawChain
) -> None:
    verdict = check(published.at_target, chain)
    assert verdict.failure == "anchored-too-late"
    assert statuses(verdict) == ["pass"] * 4 + ["fail", "pass", "pass"]


def test_a_void_draw_is_confirmed_anchored_too_late(
    published: Published, chain: RpcDrawChain
) -> None:
    verdict = check(published.void, chain)
    assert verdict.failure == "anchored-too-late"
    assert statuses(verdict) == ["pass", "pass", "pass", "pass", "fail", "skipped", "skipped"]
    assert "published void" in verdict.steps[4].detail


def test_a_void_draw_anchored_in_time_is_a_result_mismatch(
    published: Published, chain: RpcDrawChain
) -> None:
    void = {**published.good, "result": None, "void": "anchored-too-late"}
    verdict = check(void, chain)
    assert verdict.failure == "result-mismatch"
    assert statuses(verdict)[:5] == ["pass"] * 5


def test_a_target_block_not_yet_mined_is_block_mismatch(
    published: Published, chain: RpcDrawChain
) -> None:
    """Re-committed with a far target; the leaf then differs, so only the block step is
    looked at here."""
    draw = tampered(published.good, "commitment.target_block", 10**6)
    verdict = check(draw, chain)
    assert verdict.steps[5].status == StepStatus.failed
    assert "not on this chain yet" in verdict.steps[5].detail


def test_without_a_chain_the_chain_steps_are_undecided(published: Published) -> None:
    verdict = check(published.good, None)
    assert statuses(verdict) == ["pass", "pass", "pass", "error", "error", "error", "pass"]
    assert verdict.failure == "not-anchored"


class SilentChain:
    """A chain that never answers (a node down): every read raises as RpcDrawChain's do."""

    def _down(self) -> Any:
        from chain.errors import ChainUnavailableError

        raise ChainUnavailableError("the chain node did not answer")

    def chain_id(self) -> int:
        return self._down()  # type: ignore[no-any-return]

    def anchored_at(self, registry: str, root: bytes) -> int:
        return self._down()  # type: ignore[no-any-return]

    def block_hash(self, number: int) -> bytes | None:
        return self._down()  # type: ignore[no-any-return]

    def verify_anchor(self, claim: AnchorClaim) -> None:
        self._down()


def test_a_silent_chain_leaves_the_draw_undecided(published: Published) -> None:
    verdict = verify_draw(
        DrawDocument.from_json(json.dumps(published.good).encode()), SilentChain()
    )
    assert statuses(verdict) == ["pass", "pass", "pass", "error", "error", "error", "pass"]


BAD_INPUTS = [
    ("not UTF-8", lambda d: b"\xff\xfe" + d),
    ("not JSON", lambda d: d[:-1]),
    ("duplicate key", lambda d: d[:-1] + b',"format":"draw/1"}'),
    ("not an object", lambda d: b"[" + d + b"]"),
    (
        "missing member",
        lambda d: json.dumps({k: v for k, v in json.loads(d).items() if k != "anchor"}).encode(),
    ),
    ("unknown member", lambda d: json.dumps({**json.loads(d), "note": 1}).encode()),
    ("other format", lambda d: json.dumps({**json.loads(d), "format": "draw/2"}).encode()),
    (
        "void with result",
        lambda d: json.dumps({**json.loads(d), "void": "anchored-too-late"}).encode(),
    ),
    ("void without reason", lambda d: json.dumps({**json.loads(d), "result": None}).encode()),
    (
        "merkle malformed",
        lambda d: json.dumps({**json.loads(d), "merkle": {"root": "00"}}).encode(),
    ),
    (
        "anchor block a string",
        lambda d: json.dumps(tampered(json.loads(d), "anchor.block_number", "7")).encode(),
    ),
    (
        "result malformed",
        lambda d: json.dumps(tampered(json.loads(d), "result.selected", {})).encode(),
    ),
    (
        "result format",
        lambda d: json.dumps(tampered(json.loads(d), "result.format", "draw-result/2")).encode(),
    ),
]


@pytest.mark.parametrize(("case", "mangle"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_is_refused(published: Published, case: str, mangle: Any) -> None:
    with pytest.raises(DrawInputError):
        DrawDocument.from_json(mangle(json.dumps(published.good).encode()))


# -- the command line --------------------------------------------------------------------------


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli_app, ["inspection", "verify-draw", *args])
    return result.exit_code, result.output


def write(tmp_path: Path, name: str, draw: dict[str, Any] | bytes) -> str:
    path = tmp_path / name
    path.write_bytes(draw if isinstance(draw, bytes) else json.dumps(draw).encode())
    return str(path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_cli_exit_codes(published: Published, tmp_path: Path) -> None:
    data_dir = ["--data-dir", str(published.data_dir)]
    trust = write(tmp_path, "trust.json", {"chain_id": 1337, "contract": published.registry})  # type: ignore[arg-type]
    good = write(tmp_path, "good.json", published.good)

    code, output = run(good, *data_dir, "--trust", trust, "--json")
    assert code == 0, output
    verdict = json.loads(output)
    assert verdict["valid"] is True and verdict["failure"] is None
    assert [s["name"] for s in verdict["steps"]] == STEPS

    code, output = run(good, *data_dir)
    assert code == 0 and "VALID" in output

    wrong = write(
        tmp_path, "wrong.json", tampered(published.good, "result.block_hash", "0x" + "ab" * 32)
    )
    code, output = run(wrong, *data_dir, "--json")
    assert code == 1 and json.loads(output)["failure"] == "block-mismatch"

    void = write(tmp_path, "void.json", published.void)
    code, output = run(void, *data_dir)
    assert code == 1 and "anchored-too-late" in output

    for bad in (b"\xff", b"{}", b"not json"):
        code, output = run(write(tmp_path, "bad.json", bad), *data_dir)
        assert code == 2 and "cannot verify" in output
    code, output = run(str(tmp_path / "absent.json"), *data_dir)
    assert code == 2
    code, output = run(good)  # no chain to ask
    assert code == 2 and "--rpc" in output


def test_cli_exits_3_when_the_chain_does_not_answer(published: Published, tmp_path: Path) -> None:
    good = write(tmp_path, "good.json", published.good)
    code, output = run(good, "--rpc", f"http://127.0.0.1:{free_port()}", "--timeout", "2", "--json")
    assert code == 3, output
    verdict = json.loads(output)
    assert verdict["valid"] is False and verdict["failure"] == "not-anchored"
    assert [s["status"] for s in verdict["steps"]][3:6] == ["error", "error", "error"]
