"""EmbeddedChain: persistence across restarts and kill -9, ownership, timestamps, the read-only
JSON-RPC (also through a real HTTP server and a plain web3 HTTPProvider), concurrency."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_utils import keccak
from web3 import HTTPProvider, Web3
from web3.exceptions import TransactionNotFound, Web3RPCError

from chain.artifact import ANCHORED_TOPIC, load_artifact
from chain.base import AnchorReceipt
from chain.embedded import CHAIN_ID, GENESIS_BALANCE_WEI, READ_ONLY_METHODS, EmbeddedChain
from chain.embedded_rpc import RpcLimits
from chain.errors import (
    ChainInUseError,
    ChainStoreError,
    ExecutionRevertedError,
    InvalidRequestError,
    MethodNotAllowedError,
    RpcError,
)
from chain.pyevm_db import SqliteKeyValueStore, open_atomic_db
from chain.web3_client import Web3AnchorChain

REPO_ROOT = Path(__file__).resolve().parents[2]
FAST = 10**6  # max_clock_lead for tests that mine many blocks and do not look at timestamps
NOT_ANCHORER = keccak(text="NotAnchorer()")[:4]


def root_of(i: int) -> bytes:
    return keccak(i.to_bytes(8, "big"))


def run_python(script: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def anchored(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[EmbeddedChain, list[AnchorReceipt]]]:
    """A chain with a registry and three anchors, shared by the read-only tests."""
    chain = EmbeddedChain.open(tmp_path_factory.mktemp("shared") / "chain", max_clock_lead=FAST)
    chain.deploy()
    receipts = [chain.anchor(root_of(i), 10 + i, i) for i in range(3)]
    yield chain, receipts
    chain.close()


def chain_facts(chain: EmbeddedChain, receipts: list[AnchorReceipt]) -> dict[str, Any]:
    """Everything a verifier could read, as the JSON-RPC answers it."""
    head = int(chain.rpc("eth_blockNumber", []), 16)
    contract = chain.contract_address
    return {
        "chain_id": chain.rpc("eth_chainId", []),
        "net_version": chain.rpc("net_version", []),
        "head": head,
        "blocks": [chain.rpc("eth_getBlockByNumber", [hex(n), True]) for n in range(head + 1)],
        "receipts": [chain.rpc("eth_getTransactionReceipt", [r.tx_hash]) for r in receipts],
        "transactions": [chain.rpc("eth_getTransactionByHash", [r.tx_hash]) for r in receipts],
        "logs": chain.rpc("eth_getLogs", [{"fromBlock": "earliest", "toBlock": "latest"}]),
        "code": chain.rpc("eth_getCode", [contract, "latest"]),
        "anchored_at": [chain.anchored_at(r.root) for r in receipts],
        "found": [chain.find_anchor(r.root) for r in receipts],
        "w3_receipts": [dict(chain.w3.eth.get_transaction_receipt(r.tx_hash)) for r in receipts],
        "balance": chain.w3.eth.get_balance(chain.address),
    }


# --- persistence ------------------------------------------------------------------------------


def test_reopen_keeps_every_block_receipt_log_and_contract_state(tmp_path: Path) -> None:
    directory = tmp_path / "chain"
    with EmbeddedChain.open(directory) as chain:  # the defaults `evidence serve` uses
        contract = chain.deploy()
        receipts = [chain.anchor(root_of(i), 100 + i, 7 + i) for i in range(3)]
        before = chain_facts(chain, receipts)
    assert before["chain_id"] == hex(CHAIN_ID) and before["net_version"] == str(CHAIN_ID)
    assert [r.block_number for r in receipts] == [2, 3, 4] and before["head"] == 4
    assert before["anchored_at"] == [2, 3, 4]
    assert before["found"] == receipts
    assert len(before["logs"]) == 1 + 3  # AnchorerAdded at deploy, then one Anchored each

    with EmbeddedChain.open(directory, create=False) as chain:
        assert chain.contract_address == contract  # found again: the account's first contract
        assert chain_facts(chain, receipts) == before
        after = chain.anchor(root_of(3), 200, 10)

    assert after.block_number == before["head"] + 1  # numbering continues
    last = int(before["blocks"][-1]["timestamp"], 16)
    assert after.block_timestamp > last
    timestamps = [int(b["timestamp"], 16) for b in before["blocks"]] + [after.block_timestamp]
    assert timestamps == sorted(set(timestamps))  # strictly increasing, across the restart
    with EmbeddedChain.open(directory) as chain:
        block = chain.rpc("eth_getBlockByNumber", [hex(after.block_number), False])
        assert block["parentHash"] == before["blocks"][-1]["hash"]
        assert chain.find_anchor(root_of(3)) == after


KILL_AFTER_ANCHOR = """
import json, os, signal, sys
from pathlib import Path
from chain.embedded import EmbeddedChain
chain = EmbeddedChain.open(Path(sys.argv[1]))
if chain.contract_address is None:
    chain.deploy()
r = chain.anchor(bytes.fromhex(sys.argv[2]), 5, int(sys.argv[3]))
print(json.dumps([r.tx_hash, r.block_number, r.block_hash, r.block_timestamp]), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.slow
def test_kill_9_right_after_anchor_returns_loses_nothing(tmp_path: Path) -> None:
    directory = tmp_path / "chain"
    seen = []
    for i in range(2):  # the second run reopens a chain whose last owner was killed
        done = run_python(KILL_AFTER_ANCHOR, str(directory), root_of(i).hex(), str(i))
        assert done.returncode == -signal.SIGKILL, done.stderr
        seen.append(json.loads(done.stdout))

    with EmbeddedChain.open(directory, create=False) as chain:  # the lock died with them
        assert chain.block_number() == seen[-1][1] == seen[0][1] + 1
        for i, (tx_hash, number, block_hash, timestamp) in enumerate(seen):
            found = chain.find_anchor(root_of(i))
            assert found is not None
            assert (found.tx_hash, found.block_number, found.block_hash) == (
                tx_hash,
                number,
                block_hash,
            )
            assert found.block_timestamp == timestamp and found.batch_id == i
        assert chain.anchor(root_of(9), 1, 9).block_number == seen[-1][1] + 1


ANCHOR_FOREVER = """
import json, sys
from pathlib import Path
from chain.embedded import EmbeddedChain
chain = EmbeddedChain.open(Path(sys.argv[1]), max_clock_lead=10**6)
chain.deploy()
for i in range(100000):
    r = chain.anchor(i.to_bytes(32, "big"), 1, i)
    print(json.dumps([i, r.block_number]), flush=True)
"""


@pytest.mark.slow
def test_kill_9_in_the_middle_of_anchoring_leaves_a_consistent_chain(tmp_path: Path) -> None:
    directory = tmp_path / "chain"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", ANCHOR_FOREVER, str(directory)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    reported = [json.loads(child.stdout.readline()) for _ in range(20)]
    child.send_signal(signal.SIGKILL)  # somewhere inside the 21st or 22nd anchor
    child.wait(timeout=30)

    with EmbeddedChain.open(directory) as chain:
        head = chain.block_number()
        assert head >= reported[-1][1]
        for i, number in reported:
            assert chain.anchored_at(i.to_bytes(32, "big")) == number
        # every block up to the head is whole: its receipt and its state are there
        for number in range(2, head + 1):
            block = chain.w3.eth.get_block(number)
            (tx_hash,) = block["transactions"]
            (log,) = chain.anchored_logs(tx_hash.to_0x_hex())
            assert chain.anchored_at(log.root) == number
        assert chain.anchor(b"\xee" * 32, 1, 1).block_number == head + 1


# --- ownership, key, opening ------------------------------------------------------------------


def test_a_second_open_of_the_same_directory_is_refused(tmp_path: Path) -> None:
    directory = tmp_path / "chain"
    first = EmbeddedChain.open(directory, max_clock_lead=FAST)
    with pytest.raises(ChainInUseError, match="already open") as refused:
        EmbeddedChain.open(directory)
    assert str(directory) in str(refused.value) and str(os.getpid()) in str(refused.value)
    other = run_python(
        "import sys; from pathlib import Path; from chain.embedded import EmbeddedChain\n"
        "EmbeddedChain.open(Path(sys.argv[1]))",
        str(directory),
    )
    assert other.returncode != 0 and "ChainInUseError" in other.stderr
    assert first.block_number() == 0  # the refused opens did not disturb the owner
    first.close()
    first.close()  # idempotent
    with EmbeddedChain.open(directory, create=False) as second:
        assert second.block_number() == 0


def test_anchor_key_is_private_to_the_owner_and_never_shown(tmp_path: Path) -> None:
    directory = tmp_path / "chain"
    with EmbeddedChain.open(directory) as chain:
        key_file = directory / "anchor.key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        key_hex = key_file.read_text().strip()
        assert len(key_hex) == 64 and Account.from_key(bytes.fromhex(key_hex)).address == (
            chain.address
        )
        for shown in (repr(chain), str(chain), repr(chain.w3.provider), repr(vars(chain))):
            assert key_hex not in shown.lower()
        # the genesis funds the anchoring account and nobody else (no eth-tester accounts)
        assert chain.w3.eth.get_balance(chain.address) == GENESIS_BALANCE_WEI
        assert chain.w3.eth.accounts == [chain.address]
        assert chain.w3.eth.chain_id == chain.chain_id == CHAIN_ID
        eth_tester_account_1 = Account.from_key(b"\x00" * 31 + b"\x01").address
        assert chain.w3.eth.get_balance(eth_tester_account_1) == 0
    with EmbeddedChain.open(directory) as chain:
        assert (
            key_file.read_text().strip() == key_hex
            and chain.address == Account.from_key(bytes.fromhex(key_hex)).address
        )
    with EmbeddedChain.open(tmp_path / "other") as other:
        assert other.address != chain.address  # a fresh random key per chain


def test_opening_needs_a_chain_or_create_and_refuses_a_chain_without_its_key(
    tmp_path: Path,
) -> None:
    with pytest.raises(ChainStoreError, match="no embedded chain"):
        EmbeddedChain.open(tmp_path / "missing", create=False)
    assert not (tmp_path / "missing").exists()
    directory = tmp_path / "chain"
    EmbeddedChain.open(directory).close()
    (directory / "anchor.key").unlink()
    with pytest.raises(ChainStoreError, match="anchor.key is missing"):
        EmbeddedChain.open(directory)
    EmbeddedChain.open(directory / "sub").close()  # the lock of a refused open was released
    (directory / "anchor.key").write_text("not hex\n")
    with pytest.raises(ChainStoreError, match="cannot read the anchoring key"):
        EmbeddedChain.open(directory)


def test_a_closed_chain_refuses_work(tmp_path: Path) -> None:
    chain = EmbeddedChain.open(tmp_path / "chain")
    chain.close()
    with pytest.raises(ChainStoreError, match="closed"):
        chain.rpc("eth_blockNumber", [])
    with pytest.raises(ChainStoreError, match="closed"):
        chain.w3.eth.block_number  # noqa: B018
    assert "closed" in repr(chain)


# --- timestamps -------------------------------------------------------------------------------


def test_block_timestamps_are_wall_clock_seconds_never_ahead(tmp_path: Path) -> None:
    with EmbeddedChain.open(tmp_path / "chain") as chain:
        chain.deploy()
        start = time.time()
        first = chain.anchor(root_of(1), 1, 1)
        second = chain.anchor(root_of(2), 1, 2)  # waits for the next second
        assert int(start) <= first.block_timestamp < second.block_timestamp <= int(time.time())
        time.sleep(2.1)
        idle_start = time.time()
        third = chain.anchor(root_of(3), 1, 3)
        # stamped when mined, not when the pending block was opened 2 s earlier
        assert int(idle_start) <= third.block_timestamp <= int(time.time())


def test_a_clock_set_back_does_not_stall_and_timestamps_still_increase(tmp_path: Path) -> None:
    directory = tmp_path / "chain"
    with EmbeddedChain.open(directory) as chain:
        chain.deploy()
        last = chain.block(chain.block_number()).timestamp
    hour_ago = lambda: time.time() - 3600  # noqa: E731
    with EmbeddedChain.open(directory, clock=hour_ago) as chain:
        start = time.monotonic()
        receipts = [chain.anchor(root_of(i), 1, i) for i in range(3)]
        assert time.monotonic() - start < 30  # a stall would wait out the hour
    assert [r.block_timestamp for r in receipts] == [last + 1, last + 2, last + 3]


# --- the read-only JSON-RPC -------------------------------------------------------------------


@pytest.mark.parametrize(
    "method",
    [
        "eth_sendRawTransaction",
        "eth_sendTransaction",
        "eth_sign",
        "eth_accounts",
        "eth_getBalance",
        "eth_newFilter",
        "evm_mine",
        "evm_revert",
        "evm_snapshot",
        "testing_timeTravel",
        "personal_unlockAccount",
        "debug_traceTransaction",
        "ETH_CHAINID",
        "",
    ],
)
def test_rpc_refuses_every_method_off_the_allow_list(
    anchored: tuple[EmbeddedChain, list[AnchorReceipt]], method: str
) -> None:
    chain, _ = anchored
    head = chain.block_number()
    with pytest.raises(MethodNotAllowedError, match="read-only") as refused:
        chain.rpc(method, [])
    assert refused.value.code == -32601
    assert chain.block_number() == head


def test_rpc_refuses_a_valid_signed_anchor_transaction(
    anchored: tuple[EmbeddedChain, list[AnchorReceipt]],
) -> None:
    chain, _ = anchored
    key = bytes.fromhex((chain.directory / "anchor.key").read_text())
    registry = chain.w3.eth.contract(address=chain.contract_address, abi=list(load_artifact().abi))
    tx = registry.functions.anchor(root_of(99), 1, 99).build_transaction(
        {
            "from": chain.address,
            "chainId": CHAIN_ID,
            "nonce": chain.w3.eth.get_transaction_count(chain.address),
            "gas": 200_000,
            "maxFeePerGas": 10**10,
            "maxPriorityFeePerGas": 10**9,
        }
    )
    raw = Account.sign_transaction(tx, key).raw_transaction
    head = chain.block_number()
    with pytest.raises(MethodNotAllowedError):
        chain.rpc("eth_sendRawTransaction", ["0x" + raw.hex()])
    assert chain.block_number() == head and chain.anchored_at(root_of(99)) == 0


def test_rpc_allow_list_is_exactly_the_read_methods() -> None:
    assert READ_ONLY_METHODS == {
        "eth_chainId",
        "eth_blockNumber",
        "eth_getBlockByNumber",
        "eth_getBlockByHash",
        "eth_getTransactionByHash",
        "eth_getTransactionReceipt",
        "eth_call",
        "eth_getLogs",
        "eth_getCode",
        "net_version",
    }


ZERO_HASH = "0x" + "00" * 32


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("eth_chainId", ["extra"]),
        ("eth_blockNumber", {"not": "a list"}),
        ("eth_getBlockByNumber", []),
        ("eth_getBlockByNumber", ["0x01", False]),  # leading zero
        ("eth_getBlockByNumber", [1, False]),  # a JSON number, not a quantity
        ("eth_getBlockByNumber", ["newest", False]),
        ("eth_getBlockByNumber", ["latest", "yes"]),
        ("eth_getBlockByNumber", [["latest"], False]),
        ("eth_getBlockByNumber", [{"blockHash": ZERO_HASH}, False]),
        ("eth_call", [{"to": "0x" + "11" * 20}, {"blockNumber": "latest", "x": 1}]),
        ("eth_getBlockByHash", ["0x1234", False]),
        ("eth_getTransactionByHash", ["0x" + "zz" * 32]),
        ("eth_getTransactionReceipt", [ZERO_HASH, ZERO_HASH]),
        ("eth_getCode", ["0x1234", "latest"]),
        ("eth_call", ["not an object", "latest"]),
        ("eth_call", [{"to": "0x" + "11" * 20, "data": "0x123"}, "latest"]),  # odd hex
        ("eth_call", [{"to": "0x" + "11" * 20, "gas": hex(10**8)}, "latest"]),  # over the cap
        ("eth_call", [{"to": "0x" + "11" * 20, "bogus": "0x1"}, "latest"]),
        ("eth_call", [{"to": "0x" + "11" * 20, "data": "0x" + "00" * 70_000}, "latest"]),
        ("eth_getLogs", [{"topics": "0x" + "00" * 32}]),
        ("eth_getLogs", [{"topics": [None, None, None, None, None]}]),
        ("eth_getLogs", [{"blockHash": ZERO_HASH, "fromBlock": "0x0"}]),
        ("eth_getLogs", [{"fromBlock": "0x3", "toBlock": "0x1"}]),
        ("eth_getLogs", [{"address": "0x12"}]),
        ("eth_getLogs", [{"fromblock": "0x0"}]),
    ],
)
def test_rpc_rejects_malformed_params(
    anchored: tuple[EmbeddedChain, list[AnchorReceipt]], method: str, params: Any
) -> None:
    chain, _ = anchored
    with pytest.raises(InvalidRequestError) as rejected:
        chain.rpc(method, params)
    assert rejected.value.code == -32602


def test_rpc_answers_null_for_what_does_not_exist(
    anchored: tuple[EmbeddedChain, list[AnchorReceipt]],
) -> None:
    chain, _ = anchored
    head = chain.block_number()
    assert chain.rpc("eth_getTransactionByHash", [ZERO_HASH]) is None
    assert chain.rpc("eth_getTransactionReceipt", [ZERO_HASH]) is None
    assert chain.rpc("eth_getBlockByNumber", [hex(head + 1), False]) is None
    assert chain.rpc("eth_getBlockByHash", [ZERO_HASH, False]) is None
    assert chain.rpc("eth_getCode", ["0x" + "11" * 20, "latest"]) == "0x"
    with pytest.raises(RpcError, match="header not found"):
        chain.rpc("eth_getCode", ["0x" + "11" * 20, hex(head + 1)])


def test_rpc_eth_call_reads_history_and_reports_reverts_like_a_node(
    anchored: tuple[EmbeddedChain, list[AnchorReceipt]],
) -> None:
    chain, receipts = anchored
    registry = chain.w3.eth.contract(address=chain.contract_address, abi=list(load_artifact().abi))
    first = receipts[0]
    call = {"to": chain.contract_address, "data": registry.encode_abi("anchoredAt", [first.root])}
    at = {
        n: int(chain.rpc("eth_call", [call, hex(n)]), 16)
        for n in (first.block_number - 1, first.block_number)
    }
    assert at == {first.block_number - 1: 0, first.block_number: first.block_number}
    by_hash = chain.rpc("eth_call", [call, {"blockHash": first.block_hash}])
    assert int(by_hash, 16) == first.block_number

    stranger = {
        "from": "0x" + "de" * 20,
        "to": chain.contract_address,
        "data": registry.encode_abi("anchor", [root_of(50), 1, 1]),
    }
    with pytest.raises(ExecutionRevertedError) as reverted:
        chain.rpc("eth_call", [stranger, "latest"])
    assert reverted.value.code == 3 and reverted.value.data == "0x" + NOT_ANCHORER.hex()


def test_rpc_log_queries_are_bounded(tmp_path: Path) -> None:
    limits = RpcLimits(max_log_block_range=2, max_logs=1)
    with EmbeddedChain.open(tmp_path / "chain", max_clock_lead=FAST, rpc_limits=limits) as chain:
        chain.deploy()
        chain.anchor(root_of(1), 1, 1)
        chain.anchor(root_of(2), 1, 2)
        with pytest.raises(InvalidRequestError, match="more than 2 blocks"):
            chain.rpc("eth_getLogs", [{"fromBlock": "0x0", "toBlock": "latest"}])
        with pytest.raises(InvalidRequestError, match="more than 1 logs"):
            chain.rpc("eth_getLogs", [{"fromBlock": "0x2", "toBlock": "0x3"}])
        assert len(chain.rpc("eth_getLogs", [{"fromBlock": "0x3", "toBlock": "0x3"}])) == 1


def test_rpc_and_the_in_process_web3_view_agree(
    anchored: tuple[EmbeddedChain, list[AnchorReceipt]],
) -> None:
    chain, receipts = anchored
    for n in range(chain.block_number() + 1):
        answered = chain.rpc("eth_getBlockByNumber", [hex(n), False])
        seen = chain.w3.eth.get_block(n)
        assert answered["hash"] == seen["hash"].to_0x_hex()
        assert int(answered["timestamp"], 16) == seen["timestamp"]
        assert answered["stateRoot"] == seen["stateRoot"].to_0x_hex()
        assert answered["transactions"] == [t.to_0x_hex() for t in seen["transactions"]]
    for r in receipts:
        (log,) = chain.rpc("eth_getTransactionReceipt", [r.tx_hash])["logs"]
        assert log["topics"] == [
            "0x" + ANCHORED_TOPIC.hex(),
            "0x" + r.root.hex(),
            "0x" + r.batch_id.to_bytes(32, "big").hex(),
            "0x" + bytes(12).hex() + chain.address[2:].lower(),
        ]
        assert int(log["data"], 16) == r.tree_size and log["blockHash"] == r.block_hash


# --- a plain web3 HTTPProvider through a real HTTP server -------------------------------------


class _RpcHandler(BaseHTTPRequestHandler):
    """The smallest JSON-RPC-over-HTTP front for EmbeddedChain.rpc (the service's route)."""

    def do_POST(self) -> None:  # noqa: N802
        chain: EmbeddedChain = self.server.chain  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length", "0"))
        request = json.loads(self.rfile.read(min(length, 1 << 20)))
        response: dict[str, Any] = {"jsonrpc": "2.0", "id": request.get("id")}
        try:
            response["result"] = chain.rpc(request["method"], request.get("params", []))
        except RpcError as exc:
            error: dict[str, Any] = {"code": exc.code, "message": exc.message}
            if exc.data is not None:
                error["data"] = exc.data
            response["error"] = error
        body = json.dumps(response).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@pytest.fixture
def http_web3(anchored: tuple[EmbeddedChain, list[AnchorReceipt]]) -> Iterator[Web3]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RpcHandler)
    server.chain = anchored[0]  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield Web3(HTTPProvider(f"http://{host!s}:{port}", request_kwargs={"timeout": 10}))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_a_plain_web3_http_client_reads_the_chain_through_rpc(
    anchored: tuple[EmbeddedChain, list[AnchorReceipt]], http_web3: Web3
) -> None:
    chain, receipts = anchored
    w3 = http_web3
    assert w3.eth.chain_id == chain.chain_id == CHAIN_ID
    assert w3.net.version == str(CHAIN_ID)
    assert w3.eth.block_number == chain.block_number()
    registry = w3.eth.contract(address=chain.contract_address, abi=list(load_artifact().abi))
    assert w3.eth.get_code(chain.contract_address) == chain.w3.eth.get_code(chain.contract_address)
    for r in receipts:
        block = w3.eth.get_block(r.block_number)
        assert (block["hash"].to_0x_hex(), block["timestamp"]) == (r.block_hash, r.block_timestamp)
        assert w3.eth.get_block(r.block_hash) == block
        assert chain.block(r.block_number).hash == r.block_hash

        receipt = w3.eth.get_transaction_receipt(r.tx_hash)
        assert receipt["status"] == 1 and receipt["blockHash"].to_0x_hex() == r.block_hash
        (event,) = registry.events.Anchored().process_receipt(receipt)
        assert (event.args.root, event.args.treeSize, event.args.batchId) == (
            r.root,
            r.tree_size,
            r.batch_id,
        )
        assert event.args.anchorer == chain.address
        assert registry.functions.anchoredAt(r.root).call() == r.block_number

        logs = w3.eth.get_logs(
            {
                "address": chain.contract_address,
                "fromBlock": 0,
                "toBlock": "latest",
                "topics": ["0x" + ANCHORED_TOPIC.hex(), "0x" + r.root.hex()],
            }
        )
        assert [log["transactionHash"].to_0x_hex() for log in logs] == [r.tx_hash]

        tx = w3.eth.get_transaction(r.tx_hash)
        local = chain.w3.eth.get_transaction(r.tx_hash)
        for field in ("hash", "from", "to", "input", "nonce", "blockHash", "r", "s", "v", "gas"):
            assert tx[field] == local[field], field

    # the anchoring client itself, reading only through the HTTP endpoint, finds every anchor
    reader = Web3AnchorChain(w3, private_key=b"\x01" * 32, contract_address=chain.contract_address)
    assert [reader.find_anchor(r.root) for r in receipts] == receipts
    with pytest.raises(TransactionNotFound):
        w3.eth.get_transaction(ZERO_HASH)
    with pytest.raises(Web3RPCError, match="read-only"):
        w3.eth.send_raw_transaction(b"\x02" + b"\x00" * 40)


# --- concurrency ------------------------------------------------------------------------------


def test_reads_from_many_threads_stay_correct_while_anchoring(tmp_path: Path) -> None:
    with EmbeddedChain.open(tmp_path / "chain", max_clock_lead=FAST) as chain:
        chain.deploy()
        roots = [root_of(i) for i in range(25)]
        observed: list[tuple[bytes, int]] = []
        failures: list[BaseException] = []
        done = threading.Event()

        def read() -> None:
            try:
                while not done.is_set():
                    head = int(chain.rpc("eth_blockNumber", []), 16)
                    block = chain.rpc("eth_getBlockByNumber", [hex(head), False])
                    assert block["number"] == hex(head)
                    assert chain.rpc("eth_getBlockByHash", [block["hash"], False]) == block
                    assert chain.block(head).hash == block["hash"]
                    assert chain.w3.eth.get_block(head)["hash"].to_0x_hex() == block["hash"]
                    for root in roots[::6]:
                        observed.append((root, chain.anchored_at(root)))
            except BaseException as exc:  # reported below, in the test's thread
                failures.append(exc)

        readers = [threading.Thread(target=read) for _ in range(4)]
        for thread in readers:
            thread.start()
        try:
            receipts = {root: chain.anchor(root, 1, i) for i, root in enumerate(roots)}
        finally:
            done.set()
            for thread in readers:
                thread.join(timeout=60)
        assert not failures, failures
        assert len(observed) > len(readers)
        for root, number in observed:
            assert number in (0, receipts[root].block_number)
        assert [r.block_number for r in receipts.values()] == list(range(2, 2 + len(roots)))


# --- the SQLite store under py-evm --------------------------------------------------------------


def test_sqlite_store_behaves_as_a_py_evm_key_value_db(tmp_path: Path) -> None:
    atomic, store = open_atomic_db(tmp_path / "kv.sqlite3")
    atomic[b"a"] = b"1"
    assert atomic[b"a"] == b"1" and atomic.exists(b"a") and not atomic.exists(b"b")
    with pytest.raises(KeyError):
        atomic[b"b"]  # noqa: B018
    with pytest.raises(KeyError):
        del atomic[b"b"]
    atomic.delete(b"b")  # delete() of a missing key is a no-op
    with pytest.raises(RuntimeError), atomic.atomic_batch() as batch:
        batch[b"c"] = b"3"
        del batch[b"a"]
        assert batch[b"c"] == b"3" and not batch.exists(b"a")
        raise RuntimeError("abandon the batch")
    assert atomic[b"a"] == b"1" and not atomic.exists(b"c")  # nothing of it was applied
    with atomic.atomic_batch() as batch:
        batch[b"c"] = b"3"
        del batch[b"a"]
    assert atomic[b"c"] == b"3" and not atomic.exists(b"a") and len(store) == 1


def test_sqlite_store_writes_are_durable_at_commit_and_only_then(tmp_path: Path) -> None:
    path = tmp_path / "kv.sqlite3"
    store = SqliteKeyValueStore(path)

    def on_disk() -> list[tuple[bytes, bytes]]:
        with sqlite3.connect(path) as other:  # what another process (or a restart) would see
            return other.execute("SELECT key, value FROM kv").fetchall()

    store[b"k"] = b"v"
    assert store.has_uncommitted_writes and on_disk() == []
    store.commit()
    assert not store.has_uncommitted_writes and on_disk() == [(b"k", b"v")]
    store.commit()  # nothing pending: a no-op
    store[b"k"] = b"w"
    store.close()  # commits what is pending
    assert on_disk() == [(b"k", b"w")]
    with pytest.raises(ChainStoreError, match="closed"):
        store[b"k"]  # noqa: B018
    reopened = SqliteKeyValueStore(path)
    assert reopened[b"k"] == b"w"
    reopened.close()
