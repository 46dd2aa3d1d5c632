"""The AnchorRegistry contract and ``Web3AnchorChain``, against two real EVMs.

The artifact checks are pure. The behaviour runs twice: on an in-memory eth-tester chain
(py-evm, the EVM the embedded chain uses) and on a Hardhat node (EDR/revm over JSON-RPC, the way
a production node is reached), with the same client code.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_utils import keccak, to_checksum_address
from web3 import EthereumTesterProvider, HTTPProvider, Web3
from web3.types import RPCEndpoint, RPCResponse

from chain import artifact as artifact_module
from chain.artifact import ANCHORED_TOPIC, check_artifact_current, load_artifact
from chain.base import AnchoredLog, AnchorReceipt, BlockFacts
from chain.errors import (
    AlreadyAnchoredError,
    AnchorFailedError,
    ChainError,
    ChainUnavailableError,
    ContractError,
    NotFoundError,
    RevertedError,
)
from chain.web3_client import Web3AnchorChain
from tests.fixtures.hardhat import HardhatNode

ETH_DIR = Path(__file__).resolve().parents[2] / "scripts" / "eth"
HASH_RE = re.compile(r"^0x[0-9a-f]{64}$")
ROOT_A = keccak(text="root A")
ROOT_B = keccak(text="root B")
UNFUNDED_KEY = keccak(text="evidence-custody test key without funds")


# -- the artifact (pure) -------------------------------------------------------------------------


def test_artifact_is_built_from_the_packaged_source() -> None:
    assert check_artifact_current() is None


def test_a_stale_artifact_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    real = artifact_module._package_file

    def edited(name: str) -> bytes:
        data = real(name)
        return data + b"\n// an edit without a rebuild\n" if name.endswith(".sol") else data

    monkeypatch.setattr(artifact_module, "_package_file", edited)
    with pytest.raises(ContractError, match="stale.*scripts/compile_contracts"):
        check_artifact_current()


def test_artifact_records_the_pinned_compiler() -> None:
    artifact = load_artifact()
    pinned = json.loads((ETH_DIR / "package.json").read_text())["dependencies"]["solc"]
    assert artifact.contract_name == "AnchorRegistry"
    assert artifact.compiler_version.startswith(f"{pinned}+commit.")
    assert artifact.evm_version == "prague"
    assert artifact.bytecode.endswith(artifact.deployed_bytecode[-32:])
    assert len(artifact.deployed_bytecode) > 0


def _signature(item: dict[str, Any]) -> str:
    return f"{item['name']}({','.join(i['type'] for i in item['inputs'])})"


def test_abi_is_the_public_interface_of_proof_format() -> None:
    abi = load_artifact().abi
    functions = {_signature(i): i for i in abi if i["type"] == "function"}
    events = {_signature(i): i for i in abi if i["type"] == "event"}
    errors = {_signature(i) for i in abi if i["type"] == "error"}
    # PROOF_FORMAT.md, plus the two public getters Solidity generates for owner / isAnchorer.
    assert set(functions) == {
        "anchor(bytes32,uint256,uint256)",
        "anchoredAt(bytes32)",
        "addAnchorer(address)",
        "owner()",
        "isAnchorer(address)",
    }
    assert functions["anchor(bytes32,uint256,uint256)"]["stateMutability"] == "nonpayable"
    assert functions["anchor(bytes32,uint256,uint256)"]["outputs"] == []
    anchored_at = functions["anchoredAt(bytes32)"]
    assert anchored_at["stateMutability"] == "view"
    assert [o["type"] for o in anchored_at["outputs"]] == ["uint256"]
    assert functions["addAnchorer(address)"]["stateMutability"] == "nonpayable"
    assert [o["type"] for o in functions["owner()"]["outputs"]] == ["address"]
    anchored = events["Anchored(bytes32,uint256,uint256,address)"]
    assert [(i["name"], i["indexed"]) for i in anchored["inputs"]] == [
        ("root", True),
        ("treeSize", False),
        ("batchId", True),
        ("anchorer", True),
    ]
    assert anchored["anonymous"] is False
    assert keccak(text="Anchored(bytes32,uint256,uint256,address)") == ANCHORED_TOPIC
    assert set(events) == {"Anchored(bytes32,uint256,uint256,address)", "AnchorerAdded(address)"}
    assert errors == {
        "NotOwner()",
        "NotAnchorer()",
        "AlreadyAnchored(bytes32,uint256)",
        "EmptyTree()",
    }


def test_revert_payloads_decode_to_their_custom_errors() -> None:
    artifact = load_artifact()
    already = (
        keccak(text="AlreadyAnchored(bytes32,uint256)")[:4] + ROOT_A + (42).to_bytes(32, "big")
    )
    revert = artifact.decode_revert(already)
    assert (revert.name, revert.args) == ("AlreadyAnchored", (ROOT_A, 42))
    assert str(revert) == f"AlreadyAnchored(0x{ROOT_A.hex()}, 42)"
    assert str(artifact.decode_revert(bytes.fromhex("d46c4215"))) == "NotAnchorer()"
    assert artifact.decode_revert(keccak(text="NotOwner()")[:4]).name == "NotOwner"
    panic = keccak(text="Panic(uint256)")[:4] + (0x11).to_bytes(32, "big")
    assert str(artifact.decode_revert(panic)) == "Panic(17)"
    unknown = artifact.decode_revert(b"\xde\xad\xbe\xef")
    assert (unknown.name, str(unknown)) == ("", "unknown error (return data 0xdeadbeef)")


# -- two EVMs ------------------------------------------------------------------------------------


class _Observed:
    """A provider mixin that serialises requests (py-evm is not thread-safe) and counts sent
    transactions, so a test can wait until its senders' transactions are in the pool."""

    lock: threading.RLock
    sent: int

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        with self.lock:
            response: RPCResponse = super().make_request(method, params)  # type: ignore[misc]
        if method == "eth_sendRawTransaction" and "result" in response:
            self.sent += 1
        return response


class _TesterProvider(_Observed, EthereumTesterProvider):
    def __init__(self) -> None:
        super().__init__()
        self.lock, self.sent = threading.RLock(), 0


class _HardhatProvider(_Observed, HTTPProvider):
    def __init__(self, url: str) -> None:
        super().__init__(url, request_kwargs={"timeout": 10})
        self.lock, self.sent = threading.RLock(), 0


@dataclass
class Backend:
    name: str
    w3: Web3
    keys: list[bytes]  # funded; keys[0] deploys the registry
    mine: Callable[[], None]
    set_automine: Callable[[bool], None]

    @property
    def provider(self) -> _Observed:
        provider = self.w3.provider
        assert isinstance(provider, _Observed)
        return provider

    def client(self, key: bytes | int = 0, **options: Any) -> Web3AnchorChain:
        private_key = self.keys[key] if isinstance(key, int) else key
        options.setdefault("poll_interval", 0.02)
        options.setdefault("receipt_timeout", 30.0)
        return Web3AnchorChain(self.w3, private_key=private_key, **options)

    def wait_until_sent(self, count: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self.provider.sent < count:
            assert time.monotonic() < deadline, f"only {self.provider.sent} of {count} sent"
            time.sleep(0.01)


def _tester_backend() -> Backend:
    provider = _TesterProvider()
    w3 = Web3(provider)
    tester = provider.ethereum_tester
    keys = [keccak(text=f"evidence-custody test key {i}") for i in range(3)]
    for key in keys:  # fund fresh local keys from eth-tester's first (unlocked) account
        address = Account.from_key(key).address
        w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": address, "value": 10**19})

    def mine() -> None:
        with provider.lock:
            tester.mine_blocks(1)

    def set_automine(enabled: bool) -> None:
        with provider.lock:
            if enabled:
                tester.enable_auto_mine_transactions()
            else:
                tester.disable_auto_mine_transactions()

    return Backend("eth-tester", w3, keys, mine, set_automine)


def _hardhat_backend(node: HardhatNode) -> Backend:
    w3 = Web3(_HardhatProvider(node.url))
    return Backend("hardhat", w3, list(node.private_keys), node.mine, node.set_automine)


@pytest.fixture(params=["eth-tester", "hardhat"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "hardhat":
        built = _hardhat_backend(request.getfixturevalue("hardhat_node"))
    else:
        built = _tester_backend()
    try:
        yield built
    finally:
        built.set_automine(True)


@pytest.fixture
def registry(backend: Backend) -> Web3AnchorChain:
    """A fresh AnchorRegistry, deployed by (and owned by) ``backend.keys[0]``."""
    chain = backend.client(0)
    chain.deploy()
    return chain


def _deploy_code(w3: Web3, init_code: bytes) -> str:
    tx = w3.eth.send_transaction({"from": w3.eth.accounts[0], "data": init_code, "gas": 1_000_000})
    receipt = w3.eth.wait_for_transaction_receipt(tx, timeout=10)
    assert receipt["status"] == 1
    return str(receipt["contractAddress"])


# -- deployment and the code check ---------------------------------------------------------------


def test_deploy_makes_the_deployer_owner_and_anchorer(
    backend: Backend, registry: Web3AnchorChain
) -> None:
    address = registry.contract_address
    assert address is not None and address == to_checksum_address(address)
    code = bytes(backend.w3.eth.get_code(address))
    owner_word = bytes(12) + bytes.fromhex(registry.address[2:])
    assert owner_word in code  # the immutable owner, filled in by the constructor
    assert code.replace(owner_word, bytes(32)) == load_artifact().deployed_bytecode
    assert registry.is_anchorer(registry.address) is True
    assert registry.is_anchorer(Account.from_key(backend.keys[1]).address) is False
    assert registry.chain_id == backend.w3.eth.chain_id


def test_use_contract_accepts_a_registry_of_another_owner(backend: Backend) -> None:
    theirs = backend.client(1)
    address = theirs.deploy()
    ours = backend.client(0)
    ours.use_contract(address.lower())
    assert ours.contract_address == address


def test_use_contract_refuses_an_address_without_code(backend: Backend) -> None:
    chain = backend.client(0)
    with pytest.raises(ContractError, match="no contract code"):
        chain.use_contract("0x" + "11" * 20)
    assert chain.contract_address is None
    with pytest.raises(ContractError, match="not an Ethereum address"):
        chain.use_contract("0x1234")


def test_use_contract_refuses_foreign_code(backend: Backend) -> None:
    # Runtime 60206000f3 answers every call with 32 zero bytes: anchoredAt would say "0".
    init_code = bytes.fromhex("6460206000f36000526005601bf3")
    address = _deploy_code(backend.w3, init_code)
    assert bytes(backend.w3.eth.get_code(address)) == bytes.fromhex("60206000f3")
    chain = backend.client(0)
    with pytest.raises(ContractError, match="is not AnchorRegistry"):
        chain.use_contract(address)
    assert chain.contract_address is None


def test_use_contract_refuses_a_tampered_registry(backend: Backend) -> None:
    bytecode = bytearray(load_artifact().bytecode)
    bytecode[-1] ^= 0x01  # the runtime code's last byte
    address = _deploy_code(backend.w3, bytes(bytecode))
    with pytest.raises(ContractError, match="not AnchorRegistry|no owner"):
        backend.client(0).use_contract(address)


def test_anchoring_without_a_registry_is_a_contract_error(backend: Backend) -> None:
    chain = backend.client(0)
    with pytest.raises(ContractError, match="deploy"):
        chain.anchor(ROOT_A, 1, 1)
    with pytest.raises(ContractError):
        chain.anchored_at(ROOT_A)


# -- anchoring -----------------------------------------------------------------------------------


def test_anchor_returns_the_facts_the_chain_holds(
    backend: Backend, registry: Web3AnchorChain
) -> None:
    receipt = registry.anchor(ROOT_A, 1000, 7)

    tx = backend.w3.eth.get_transaction_receipt(receipt.tx_hash)  # type: ignore[arg-type]
    block = backend.w3.eth.get_block(tx["blockNumber"])
    assert receipt == AnchorReceipt(
        chain_id=backend.w3.eth.chain_id,
        contract=registry.contract_address,  # type: ignore[arg-type]
        tx_hash="0x" + bytes(tx["transactionHash"]).hex(),
        block_number=tx["blockNumber"],
        block_hash="0x" + bytes(block["hash"]).hex(),
        block_timestamp=block["timestamp"],
        root=ROOT_A,
        tree_size=1000,
        batch_id=7,
        gas_used=tx["gasUsed"],
    )
    assert HASH_RE.match(receipt.tx_hash) and HASH_RE.match(receipt.block_hash)
    assert tx["status"] == 1
    # The transaction carried explicit gas and EIP-1559 fees, not the node's defaults.
    sent = backend.w3.eth.get_transaction(receipt.tx_hash)  # type: ignore[arg-type]
    assert sent["gas"] == 200_000 and sent["type"] == 2
    assert sent["maxFeePerGas"] >= sent["maxPriorityFeePerGas"] > 0
    # 48,889 with solc 0.8.30 on both EVMs: 21,000 + calldata + a fresh slot + the log.
    assert 40_000 < receipt.gas_used < 60_000
    assert registry.anchored_at(ROOT_A) == receipt.block_number
    assert registry.anchored_at(ROOT_B) == 0


def test_the_receipt_log_decodes_to_root_size_batch_and_anchorer(
    backend: Backend, registry: Web3AnchorChain
) -> None:
    receipt = registry.anchor(ROOT_A, 12, 3)
    assert registry.anchored_logs(receipt.tx_hash) == [
        AnchoredLog(
            root=ROOT_A,
            tree_size=12,
            batch_id=3,
            anchorer=registry.address,
            contract=receipt.contract,
            tx_hash=receipt.tx_hash,
            block_number=receipt.block_number,
            block_hash=receipt.block_hash,
            log_index=0,
        )
    ]
    raw = backend.w3.eth.get_transaction_receipt(receipt.tx_hash)["logs"]  # type: ignore[arg-type]
    assert [bytes(t) for t in raw[0]["topics"]] == [
        ANCHORED_TOPIC,
        ROOT_A,
        (3).to_bytes(32, "big"),
        bytes(12) + bytes.fromhex(registry.address[2:]),
    ]
    assert bytes(raw[0]["data"]) == (12).to_bytes(32, "big")


def test_anchored_logs_of_a_transaction_without_anchors(
    backend: Backend, registry: Web3AnchorChain
) -> None:
    tx = backend.w3.eth.send_transaction(
        {"from": backend.w3.eth.accounts[0], "to": backend.w3.eth.accounts[1], "value": 1}
    )
    backend.w3.eth.wait_for_transaction_receipt(tx, timeout=10)
    assert registry.anchored_logs("0x" + bytes(tx).hex()) == []
    with pytest.raises(NotFoundError):
        registry.anchored_logs("0x" + "ab" * 32)


def test_find_anchor_reproduces_the_receipt_exactly(
    backend: Backend, registry: Web3AnchorChain
) -> None:
    receipt = registry.anchor(ROOT_A, 5, 1)
    registry.anchor(ROOT_B, 6, 2)  # another anchor must not confuse it
    assert registry.find_anchor(ROOT_A) == receipt
    # A fresh client (a restarted process) rebuilds the same facts from the chain alone.
    restarted = backend.client(0)
    restarted.use_contract(registry.contract_address)  # type: ignore[arg-type]
    assert restarted.find_anchor(ROOT_A) == receipt
    assert restarted.find_anchor(keccak(text="never anchored")) is None


def test_a_root_anchors_once(backend: Backend, registry: Web3AnchorChain) -> None:
    first = registry.anchor(ROOT_A, 5, 1)
    sent = backend.provider.sent
    with pytest.raises(AlreadyAnchoredError) as raised:
        registry.anchor(ROOT_A, 5, 1)
    assert raised.value.block_number == first.block_number
    assert raised.value.root_hex == "0x" + ROOT_A.hex()
    cause = raised.value.__cause__  # the rehearsal's revert: no transaction was sent
    assert isinstance(cause, RevertedError) and cause.error_name == "AlreadyAnchored"
    assert backend.provider.sent == sent
    # Another anchorer, another batch: still refused, and the first anchor stands.
    other = backend.client(1, contract_address=registry.contract_address)
    registry.add_anchorer(other.address)
    with pytest.raises(AlreadyAnchoredError) as raised:
        other.anchor(ROOT_A, 9, 2)
    assert raised.value.block_number == first.block_number
    assert registry.find_anchor(ROOT_A) == first


def test_only_anchorers_may_anchor(backend: Backend, registry: Web3AnchorChain) -> None:
    outsider = backend.client(1, contract_address=registry.contract_address)
    nonce = backend.w3.eth.get_transaction_count(outsider.address)
    with pytest.raises(RevertedError) as raised:
        outsider.anchor(ROOT_A, 5, 1)
    assert isinstance(raised.value, AnchorFailedError)
    assert raised.value.error_name == "NotAnchorer"
    assert "NotAnchorer()" in str(raised.value)
    assert registry.anchored_at(ROOT_A) == 0
    # Refused by rehearsal: no transaction was sent, no gas spent.
    assert backend.w3.eth.get_transaction_count(outsider.address) == nonce

    registry.add_anchorer(outsider.address)
    assert registry.is_anchorer(outsider.address) is True
    receipt = outsider.anchor(ROOT_A, 5, 1)
    assert [log.anchorer for log in outsider.anchored_logs(receipt.tx_hash)] == [outsider.address]


def test_only_the_owner_may_add_anchorers(backend: Backend, registry: Web3AnchorChain) -> None:
    outsider = backend.client(1, contract_address=registry.contract_address)
    third = Account.from_key(backend.keys[2]).address
    with pytest.raises(RevertedError) as raised:
        outsider.add_anchorer(outsider.address)
    assert raised.value.error_name == "NotOwner"
    registry.add_anchorer(outsider.address)
    with pytest.raises(RevertedError) as raised:  # an anchorer is not an owner
        outsider.add_anchorer(third)
    assert raised.value.error_name == "NotOwner"
    assert registry.is_anchorer(third) is False


def test_an_empty_tree_is_refused(registry: Web3AnchorChain) -> None:
    with pytest.raises(RevertedError) as raised:
        registry.anchor(ROOT_A, 0, 1)
    assert raised.value.error_name == "EmptyTree"
    assert registry.anchored_at(ROOT_A) == 0


def test_an_account_without_funds_is_refused_not_reverted(
    backend: Backend, registry: Web3AnchorChain
) -> None:
    broke = backend.client(UNFUNDED_KEY, contract_address=registry.contract_address)
    registry.add_anchorer(broke.address)
    with pytest.raises(AnchorFailedError) as raised:
        broke.anchor(ROOT_A, 5, 1)
    assert not isinstance(raised.value, RevertedError)
    assert registry.anchored_at(ROOT_A) == 0


def test_bad_arguments_are_caller_errors(registry: Web3AnchorChain) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        registry.anchor(b"\x01" * 31, 5, 1)
    with pytest.raises(ValueError):
        registry.anchor(ROOT_A, -1, 1)


def test_a_root_raced_by_two_senders_anchors_once(
    backend: Backend, registry: Web3AnchorChain
) -> None:
    """Both rehearse before either is mined; the loser's transaction is mined and reverts
    (receipt.status == 0), and it learns where the winner anchored."""
    second = backend.client(1, contract_address=registry.contract_address)
    registry.add_anchorer(second.address)
    backend.set_automine(False)
    results: dict[str, AnchorReceipt | Exception] = {}

    def run(name: str, chain: Web3AnchorChain) -> None:
        try:
            results[name] = chain.anchor(ROOT_A, 5, 1)
        except Exception as exc:  # noqa: BLE001 — the test inspects it
            results[name] = exc

    sent = backend.provider.sent
    threads = [threading.Thread(target=run, args=item) for item in [("a", registry), ("b", second)]]
    for thread in threads:
        thread.start()
    backend.wait_until_sent(sent + 2)
    backend.mine()
    for thread in threads:
        thread.join(timeout=30)
    winners = [r for r in results.values() if isinstance(r, AnchorReceipt)]
    losers = [r for r in results.values() if isinstance(r, AlreadyAnchoredError)]
    assert len(winners) == 1 and len(losers) == 1, results
    assert losers[0].block_number == winners[0].block_number
    cause = losers[0].__cause__
    assert isinstance(cause, RevertedError) and cause.error_name == "AlreadyAnchored"
    block = backend.w3.eth.get_block(winners[0].block_number, full_transactions=False)
    statuses = sorted(
        backend.w3.eth.get_transaction_receipt(tx)["status"] for tx in block["transactions"]
    )
    assert statuses == [0, 1]
    assert registry.find_anchor(ROOT_A) == winners[0]


def test_a_transaction_mined_after_the_timeout_is_found_later(
    backend: Backend, registry: Web3AnchorChain
) -> None:
    """The crash-recovery path: the sender gave up (or died) before the receipt; the chain
    still anchored the root, and ``find_anchor`` rebuilds the receipt."""
    impatient = backend.client(0, contract_address=registry.contract_address, receipt_timeout=0.3)
    backend.set_automine(False)
    with pytest.raises(ChainUnavailableError, match="not mined within"):
        impatient.anchor(ROOT_A, 5, 1)
    assert impatient.find_anchor(ROOT_A) is None
    backend.mine()
    found = impatient.find_anchor(ROOT_A)
    assert found is not None
    assert (found.root, found.tree_size, found.batch_id) == (ROOT_A, 5, 1)
    assert found.block_number == backend.w3.eth.block_number
    with pytest.raises(AlreadyAnchoredError):
        impatient.anchor(ROOT_A, 5, 1)


# -- reads ---------------------------------------------------------------------------------------


def test_block_facts_and_missing_blocks(backend: Backend, registry: Web3AnchorChain) -> None:
    number = registry.block_number()
    assert number == backend.w3.eth.block_number
    block = backend.w3.eth.get_block(number)
    assert registry.block(number) == BlockFacts(
        number, "0x" + bytes(block["hash"]).hex(), block["timestamp"]
    )
    with pytest.raises(NotFoundError):
        registry.block(number + 1000)


def test_repr_shows_the_account_never_the_key(backend: Backend, registry: Web3AnchorChain) -> None:
    key = backend.keys[0]
    for text in (repr(registry), str(registry)):
        assert registry.address in text
        assert key.hex() not in text.lower() and repr(key) not in text


def test_a_closed_client_refuses_work(registry: Web3AnchorChain) -> None:
    registry.close()
    registry.close()
    with pytest.raises(ChainError, match="closed"):
        registry.anchored_at(ROOT_A)
