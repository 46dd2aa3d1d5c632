"""``RpcChain`` against a real Hardhat node: connecting, confirmations, and a node that is down
or hung (SIGSTOP) — the client must say "unavailable" within its request timeout and, once the
node is back, anchor each root exactly once."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from eth_utils import keccak

from chain.base import AnchorReceipt
from chain.errors import AlreadyAnchoredError, ChainError, ChainUnavailableError, ContractError
from chain.rpc import RpcChain
from tests.fixtures.hardhat import HardhatNode

REQUEST_TIMEOUT = 1.0


def _connect(node: HardhatNode, key: int = 0, **options: Any) -> RpcChain:
    options.setdefault("poll_interval", 0.02)
    options.setdefault("request_timeout", REQUEST_TIMEOUT)
    return RpcChain.connect(node.url, private_key=node.private_keys[key], **options)


@pytest.fixture
def node(hardhat_node: HardhatNode) -> Iterator[HardhatNode]:
    """The session's node, resumed and automining again whatever the test did to it."""
    try:
        yield hardhat_node
    finally:
        hardhat_node.resume()
        hardhat_node.set_automine(True)


@pytest.fixture
def registry_address(node: HardhatNode) -> str:
    deployer = _connect(node)
    try:
        return deployer.deploy()
    finally:
        deployer.close()


def _anchored_logs_for(node: HardhatNode, contract: str, root: bytes) -> list[object]:
    logs: list[object] = node.rpc(
        "eth_getLogs",
        [
            {
                "address": contract,
                "fromBlock": "0x0",
                "toBlock": "latest",
                "topics": [
                    "0x" + keccak(text="Anchored(bytes32,uint256,uint256,address)").hex(),
                    "0x" + root.hex(),
                ],
            }
        ],
    )
    return logs


def test_connect_deploy_and_anchor(node: HardhatNode) -> None:
    chain = _connect(node)
    assert chain.chain_id == node.chain_id == 31337
    assert chain.endpoint == node.url
    assert chain.contract_address is None
    address = chain.deploy()
    root = keccak(text="rpc: connect, deploy, anchor")
    receipt = chain.anchor(root, 3, 11)
    assert (receipt.contract, receipt.root, receipt.tree_size, receipt.batch_id) == (
        address,
        root,
        3,
        11,
    )
    assert receipt.block_number == chain.block_number() == int(node.rpc("eth_blockNumber"), 16)
    assert chain.find_anchor(root) == receipt
    chain.close()


def test_connect_checks_a_given_contract(node: HardhatNode, registry_address: str) -> None:
    chain = _connect(node, 1, contract_address=registry_address.lower())
    assert chain.contract_address == registry_address
    chain.close()
    with pytest.raises(ContractError, match="no contract code"):
        _connect(node, contract_address="0x" + "22" * 20)


def test_confirmations_wait_for_later_blocks(node: HardhatNode, registry_address: str) -> None:
    chain = _connect(node, confirmations=1, contract_address=registry_address)
    root = keccak(text="rpc: one confirmation")
    done: list[AnchorReceipt | BaseException] = []

    def run() -> None:
        try:
            done.append(chain.anchor(root, 4, 2))
        except BaseException as exc:  # noqa: BLE001 — reported below
            done.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 10
    while chain.anchored_at(root) == 0:  # automine: mined at once …
        assert time.monotonic() < deadline
        time.sleep(0.02)
    mined_in = chain.anchored_at(root)
    time.sleep(0.5)
    assert done == [], "returned before its confirmation block"  # … but not yet confirmed
    node.mine()
    thread.join(timeout=10)
    assert len(done) == 1 and isinstance(done[0], AnchorReceipt), done
    assert done[0].block_number == mined_in
    assert chain.block_number() == mined_in + 1
    chain.close()


def test_an_unreachable_node_is_unavailable_at_once(node: HardhatNode) -> None:
    started = time.monotonic()
    with pytest.raises(ChainUnavailableError, match="did not answer"):
        RpcChain.connect("http://127.0.0.1:9", private_key=node.private_keys[0])
    assert time.monotonic() - started < 2.0


def test_an_api_key_in_the_url_is_not_quoted(node: HardhatNode) -> None:
    secret = "v3/0123456789abcdef0123456789abcdef"
    with pytest.raises(ChainUnavailableError) as raised:
        RpcChain.connect(
            f"http://user:pa55w0rd@127.0.0.1:9/{secret}?key=s3cr3t",
            private_key=node.private_keys[0],
        )
    for text in (str(raised.value), repr(raised.value)):
        assert "0123456789abcdef" not in text and "s3cr3t" not in text and "pa55w0rd" not in text


def test_a_hung_node_is_unavailable_within_the_request_timeout(
    node: HardhatNode, registry_address: str
) -> None:
    chain = _connect(node, contract_address=registry_address)
    root = keccak(text="rpc: node hung")
    node.pause()
    started = time.monotonic()
    with pytest.raises(ChainUnavailableError, match="did not answer"):
        chain.anchor(root, 8, 5)
    elapsed = time.monotonic() - started
    assert REQUEST_TIMEOUT * 0.9 <= elapsed < REQUEST_TIMEOUT + 1.5
    node.resume()

    receipt = chain.anchor(root, 8, 5)
    with pytest.raises(AlreadyAnchoredError) as raised:
        chain.anchor(root, 8, 5)
    assert raised.value.block_number == receipt.block_number
    assert chain.find_anchor(root) == receipt
    assert len(_anchored_logs_for(node, registry_address, root)) == 1
    chain.close()


def test_a_node_that_hangs_after_the_send_anchors_once(
    node: HardhatNode, registry_address: str
) -> None:
    """The transaction reached the node, then the node hung while we waited for the receipt:
    unavailable, and after the node is back the root is found, not sent again."""
    chain = _connect(node, contract_address=registry_address)
    root = keccak(text="rpc: node hung after the send")
    node.set_automine(False)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            chain.anchor(root, 6, 9)
        except BaseException as exc:  # noqa: BLE001 — inspected below
            errors.append(exc)

    nonce = int(node.rpc("eth_getTransactionCount", [chain.address, "pending"]), 16)
    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 10
    while int(node.rpc("eth_getTransactionCount", [chain.address, "pending"]), 16) == nonce:
        assert time.monotonic() < deadline, "the anchor transaction was never sent"
        time.sleep(0.02)
    node.pause()
    thread.join(timeout=REQUEST_TIMEOUT + 5)
    assert not thread.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], ChainUnavailableError), errors
    assert "wait for 0x" in str(errors[0])  # it failed waiting for the receipt, after the send
    node.resume()
    node.mine()

    found = chain.find_anchor(root)
    assert found is not None and (found.tree_size, found.batch_id) == (6, 9)
    with pytest.raises(AlreadyAnchoredError):
        chain.anchor(root, 6, 9)
    assert len(_anchored_logs_for(node, registry_address, root)) == 1
    chain.close()


def test_the_key_never_shows(node: HardhatNode, registry_address: str) -> None:
    key = node.private_keys[0]
    chain = _connect(node, contract_address=registry_address)
    node.pause()
    try:
        with pytest.raises(ChainUnavailableError) as raised:
            chain.anchor(keccak(text="rpc: key never shows"), 1, 1)
    finally:
        node.resume()
    shown = [repr(chain), str(chain), str(raised.value), repr(raised.value)]
    for text in shown:
        assert key.hex() not in text.lower()
        assert repr(key) not in text
    assert chain.address in repr(chain) and registry_address in repr(chain)


def test_close_releases_the_session(node: HardhatNode) -> None:
    chain = _connect(node)
    chain.close()
    chain.close()
    with pytest.raises(ChainError, match="closed"):
        chain.block_number()
