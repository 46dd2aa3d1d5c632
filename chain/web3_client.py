"""The AnchorRegistry client over any web3 ``Web3``: a JSON-RPC node or an in-process chain.

All contract logic lives here, so the embedded chain and a real node behave the same. What it
guarantees:

* Transactions are signed locally with the anchoring key and sent raw, with explicit gas, fees
  (EIP-1559 from the node's base fee, legacy ``gasPrice`` where there is none) and the
  ``pending`` nonce; nothing is left to the node to fill in.
* ``anchor`` never sends for a root that is already anchored, and rehearses the call first, so a
  refused anchor (not an anchorer, empty tree) costs no gas. If a transaction still reverts (a
  race with another sender), the reason is read back and reported.
* Every web3 / requests / eth-tester exception is translated here into ``chain.errors``:
  no answer or a timeout is ``ChainUnavailableError`` (try later), a revert is ``RevertedError``
  (an ``AnchorFailedError``) with the decoded custom error, a missing tx/block ``NotFoundError``.
* The private key is held only by the eth-account signer and never appears in repr or messages.
"""

from __future__ import annotations

import ast
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, cast

import requests
from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress, HexStr
from eth_utils.address import to_checksum_address
from eth_utils.exceptions import ValidationError as EthValidationError
from web3 import Web3
from web3.exceptions import (
    BadFunctionCallOutput,
    BlockNotFound,
    ContractLogicError,
    ProviderConnectionError,
    RequestTimedOut,
    TimeExhausted,
    TooManyRequests,
    TransactionNotFound,
    Web3Exception,
    Web3RPCError,
)
from web3.types import TxParams, TxReceipt

from chain.artifact import ANCHORED_TOPIC, Revert, load_artifact
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

# 247,224 gas with solc 0.8.30 (optimizer, 200 runs); the margin covers a costlier fork.
DEPLOY_GAS_LIMIT = 400_000
_UNAVAILABLE = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.HTTPError,
    ProviderConnectionError,
    RequestTimedOut,
    TimeExhausted,
    TooManyRequests,
    OSError,  # sockets, IPC paths; ConnectionRefusedError and TimeoutError among them
)
_ZERO_ROOT = bytes(32)


def _hex(value: bytes | str) -> str:
    """0x-prefixed lowercase hex of a hash, however web3 handed it over."""
    if isinstance(value, str):
        return "0x" + value.removeprefix("0x").lower()
    return "0x" + bytes(value).hex()


def _revert_payload(exc: BaseException) -> bytes | str | None:
    """The revert data carried by a web3 / eth-tester exception: bytes for an ABI payload, a
    str for an already-decoded reason, None if ``exc`` is not a revert."""
    data: object = None
    if isinstance(exc, ContractLogicError):
        data = exc.data if exc.data is not None else exc.message
    elif isinstance(exc, Web3RPCError) and isinstance(exc.rpc_response, Mapping):
        error = exc.rpc_response.get("error")
        if isinstance(error, Mapping):
            data = error.get("data")
            if isinstance(data, Mapping):  # some nodes nest {"data": "0x…"}
                data = data.get("data")
            if data is None and error.get("code") != 3:
                return None
            if data is None:
                data = error.get("message")
    elif type(exc).__name__ == "TransactionFailed" and type(exc).__module__.startswith(
        "eth_tester"
    ):
        # eth-tester (directly, or re-raised by web3's provider) puts the revert in the
        # message: "execution reverted: b'\x91…'" or a decoded Error(string) reason.
        data = str(exc.args[0]) if exc.args else ""
    if data is None:
        return None
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    text = str(data).removeprefix("execution reverted: ").removeprefix("execution reverted")
    if text.startswith("0x"):
        try:
            return bytes.fromhex(text[2:])
        except ValueError:
            return text
    if text.startswith(("b'", 'b"')):
        try:
            literal = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return text
        if isinstance(literal, bytes):
            return literal
    return text


class Web3AnchorChain:
    """``AnchorChain`` over a ``Web3`` instance; the anchoring account is ``private_key``'s.

    The constructor does no I/O: ``contract_address`` is taken as given (``use_contract``
    checks the code there). ``confirmations`` blocks must follow a transaction's block before
    it counts as mined; ``receipt_timeout`` bounds that wait (then ChainUnavailableError: the
    transaction may still be mined, and ``find_anchor`` will find it).
    """

    def __init__(
        self,
        w3: Web3,
        *,
        private_key: bytes,
        contract_address: str | None = None,
        confirmations: int = 0,
        receipt_timeout: float = 120.0,
        poll_interval: float = 0.1,
        gas_limit: int = 200_000,
    ) -> None:
        if not isinstance(private_key, bytes) or len(private_key) != 32:
            raise ValueError("private_key must be 32 raw bytes")
        if confirmations < 0 or receipt_timeout <= 0 or poll_interval <= 0 or gas_limit <= 0:
            raise ValueError("confirmations must be >= 0; timeouts, poll interval and gas > 0")
        try:
            signer: LocalAccount = Account.from_key(private_key)
        except Exception:  # eth-keys' message may quote the key; never chain it
            raise ValueError("private_key is not a valid secp256k1 private key") from None
        self._w3 = w3
        self._signer = signer
        self._artifact = load_artifact()
        self._registry = w3.eth.contract(abi=list(self._artifact.abi))
        self._contract_address = _checksum(contract_address) if contract_address else None
        self._confirmations = confirmations
        self._receipt_timeout = receipt_timeout
        self._poll_interval = poll_interval
        self._gas_limit = gas_limit
        self._chain_id: int | None = None
        self._send_lock = threading.Lock()  # nonce read → send must not interleave
        self._closed = False

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(account={self.address}, contract={self._contract_address}, "
            f"chain_id={self._chain_id}, confirmations={self._confirmations})"
        )

    __str__ = __repr__

    # -- facts ---------------------------------------------------------------------------------

    @property
    def address(self) -> ChecksumAddress:
        """The checksummed address of the anchoring account (the key's)."""
        return self._signer.address

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            with self._boundary("read the chain id"):
                self._chain_id = int(self._w3.eth.chain_id)
        return self._chain_id

    @property
    def contract_address(self) -> str | None:
        return self._contract_address

    def block_number(self) -> int:
        with self._boundary("read the block number"):
            return int(self._w3.eth.block_number)

    def balance(self) -> int:
        """The anchoring account's balance in wei (what is left to pay for anchors)."""
        with self._boundary("read the anchoring account's balance"):
            return int(self._w3.eth.get_balance(self.address))

    def gas_price(self) -> int:
        """The node's current gas price in wei (``eth_gasPrice``)."""
        with self._boundary("read the gas price"):
            return int(self._w3.eth.gas_price)

    @property
    def gas_limit(self) -> int:
        """The gas an anchor transaction is sent with (its most costly case)."""
        return self._gas_limit

    def block(self, number: int) -> BlockFacts:
        with self._boundary(f"read block {number}"):
            block = self._w3.eth.get_block(number)
        return BlockFacts(
            number=int(block["number"]), hash=_hex(block["hash"]), timestamp=int(block["timestamp"])
        )

    # -- the registry --------------------------------------------------------------------------

    def deploy(self) -> str:
        """Deploy a fresh AnchorRegistry owned by (and allowing) this account; waits for the
        configured confirmations, checks the code and points this client at it."""
        action = "deploy AnchorRegistry"
        tx_hash = self._send(None, self._artifact.bytecode, DEPLOY_GAS_LIMIT, action)
        receipt = self._wait_for_receipt(tx_hash, action)
        if receipt["status"] != 1 or not receipt.get("contractAddress"):
            raise ContractError(
                f"{action}: transaction {tx_hash} failed in block {receipt['blockNumber']} "
                f"(gas used {receipt['gasUsed']} of {DEPLOY_GAS_LIMIT})"
            )
        self.use_contract(str(receipt["contractAddress"]))
        assert self._contract_address is not None
        return self._contract_address

    def use_contract(self, address: str) -> None:
        """Point at an existing registry after checking that its runtime code is exactly the
        packaged artifact's, with the one immutable (``owner``) filled in.

        A registry that merely answers ``anchoredAt`` is not enough: the proofs rely on its
        rules (a root anchors once, only anchorers anchor), so foreign code is refused.
        """
        checksummed = _checksum(address)
        with self._boundary(f"read the code at {checksummed}"):
            code = bytes(self._w3.eth.get_code(checksummed))
        if not code:
            raise ContractError(f"no contract code at {checksummed} on chain {self.chain_id}")
        try:
            with self._boundary(f"call owner() at {checksummed}"):
                raw_owner = self._w3.eth.call(
                    {"to": checksummed, "data": self._registry.encode_abi("owner", args=[])}
                )
            (owner,) = abi_decode(["address"], bytes(raw_owner))
        except (RevertedError, DecodingError, ValueError, TypeError) as exc:
            raise ContractError(f"the contract at {checksummed} has no owner(): {exc}") from exc
        owner_word = bytes(12) + bytes.fromhex(str(owner)[2:])
        if code.replace(owner_word, bytes(32)) != self._artifact.deployed_bytecode:
            raise ContractError(
                f"the code at {checksummed} is not AnchorRegistry as built from source sha256 "
                f"{self._artifact.source_sha256} ({len(code)} bytes, expected "
                f"{len(self._artifact.deployed_bytecode)})"
            )
        self._contract_address = checksummed

    def add_anchorer(self, address: str) -> None:
        """Allow ``address`` to anchor (owner only: RevertedError ``NotOwner`` otherwise)."""
        who = _checksum(address)
        action = f"addAnchorer({who})"
        data = self._registry.encode_abi("addAnchorer", args=[who])
        self._rehearse(data, action)
        tx_hash = self._send(self._require_contract(), data, self._gas_limit, action)
        receipt = self._wait_for_receipt(tx_hash, action)
        if receipt["status"] != 1:
            raise self._reverted(receipt, data, action)

    def is_anchorer(self, address: str) -> bool:
        contract = self._require_contract()
        data = self._registry.encode_abi("isAnchorer", args=[_checksum(address)])
        with self._boundary(f"call isAnchorer({address})"):
            raw = self._w3.eth.call({"to": contract, "data": data})
        return bool(abi_decode(["bool"], bytes(raw))[0])

    def anchored_at(self, root: bytes) -> int:
        contract = self._require_contract()
        data = self._registry.encode_abi("anchoredAt", args=[_root(root)])
        with self._boundary(f"call anchoredAt(0x{root.hex()})"):
            raw = self._w3.eth.call({"to": contract, "data": data})
        try:
            return int(abi_decode(["uint256"], bytes(raw))[0])
        except (DecodingError, ValueError, TypeError) as exc:
            raise ContractError(f"anchoredAt at {contract} returned {bytes(raw).hex()!r}") from exc

    # -- anchoring -----------------------------------------------------------------------------

    def anchor(self, root: bytes, tree_size: int, batch_id: int) -> AnchorReceipt:
        root = _root(root)
        if tree_size < 0 or batch_id < 0:
            raise ValueError("tree_size and batch_id must be non-negative")
        contract = self._require_contract()
        root_hex = "0x" + root.hex()
        action = f"anchor {root_hex} (tree size {tree_size}, batch {batch_id})"
        data = self._registry.encode_abi("anchor", args=[root, tree_size, batch_id])
        try:
            # The rehearsal is also the check for an earlier anchor: the contract reverts
            # with AlreadyAnchored(root, blockNumber), and nothing is sent.
            self._rehearse(data, action)
            tx_hash = self._send(contract, data, self._gas_limit, action)
            receipt = self._wait_for_receipt(tx_hash, action)
            if receipt["status"] != 1:
                raise self._reverted(receipt, data, action)
        except RevertedError as exc:
            if exc.error_name == "AlreadyAnchored":  # another sender's transaction won
                raise AlreadyAnchoredError(root_hex, int(cast(int, exc.error_args[1]))) from exc
            raise
        logs = [log for log in self._decode_logs(receipt) if log.root == root]
        if len(logs) != 1:
            raise AnchorFailedError(f"{action}: transaction {tx_hash} has no Anchored log")
        return self._receipt_from(logs[0], int(receipt["gasUsed"]))

    def find_anchor(self, root: bytes) -> AnchorReceipt | None:
        root = _root(root)
        number = self.anchored_at(root)
        if number == 0:
            return None
        contract = self._require_contract()
        with self._boundary(f"read the Anchored log of 0x{root.hex()} in block {number}"):
            raw_logs = self._w3.eth.get_logs(
                {
                    "address": contract,
                    "fromBlock": number,
                    "toBlock": number,
                    "topics": ["0x" + ANCHORED_TOPIC.hex(), "0x" + root.hex()],
                }
            )
        decoded = [self._decode_log(raw) for raw in raw_logs]
        logs = [log for log in decoded if log is not None and log.root == root]
        if not logs:
            raise NotFoundError(
                f"anchoredAt(0x{root.hex()}) is block {number}, but that block has no Anchored "
                f"log for it from {contract} (does the node keep logs that old?)"
            )
        log = logs[0]
        with self._boundary(f"read the receipt of {log.tx_hash}"):
            receipt = self._w3.eth.get_transaction_receipt(HexStr(log.tx_hash))
        return self._receipt_from(log, int(receipt["gasUsed"]))

    def anchored_logs(self, tx_hash: str) -> list[AnchoredLog]:
        """The ``Anchored`` logs of this client's registry (of any contract before one is set)
        in the receipt of ``tx_hash``: NotFoundError if there is no such mined transaction,
        an empty list if it emitted none."""
        with self._boundary(f"read the receipt of {tx_hash}"):
            receipt = self._w3.eth.get_transaction_receipt(HexStr(tx_hash))
        return self._decode_logs(receipt)

    def close(self) -> None:
        """Stop using this client; later calls raise ChainError. Idempotent."""
        self._closed = True

    # -- internals -----------------------------------------------------------------------------

    @contextmanager
    def _boundary(self, action: str, *, refused: type[ChainError] = ChainError) -> Iterator[None]:
        """Translate whatever web3 and its providers raise into ``chain.errors``; ``refused``
        is the class for a node that answered but would not do it (a send: AnchorFailedError)."""
        if self._closed:
            raise ChainError(f"{action}: this chain client is closed")
        try:
            yield
        except ChainError:
            raise
        except _UNAVAILABLE as exc:
            detail = self._describe(exc)
            raise ChainUnavailableError(
                f"{action}: the chain node did not answer: {detail}"
            ) from exc
        except (TransactionNotFound, BlockNotFound) as exc:
            raise NotFoundError(f"{action}: {self._describe(exc)}") from exc
        except BadFunctionCallOutput as exc:
            detail = self._describe(exc)
            raise ContractError(f"{action}: no usable contract there: {detail}") from exc
        except Exception as exc:
            payload = _revert_payload(exc)
            if payload is not None:
                raise self._revert_error(action, payload) from exc
            if isinstance(exc, (Web3Exception, EthValidationError)) or _from_eth_tester(exc):
                detail = self._describe(exc)
                raise refused(f"{action}: the chain node refused: {detail}") from exc
            raise  # not from the chain stack: a bug here, not a chain condition

    def _describe(self, exc: BaseException) -> str:
        """How a third-party exception is quoted in our messages (RpcChain hides the secrets
        an endpoint URL may hold)."""
        return str(exc)

    def _revert_error(self, action: str, payload: bytes | str) -> RevertedError:
        if isinstance(payload, str):
            revert = Revert("Error", (payload,), b"") if payload else Revert("", (), b"")
        else:
            revert = self._artifact.decode_revert(payload)
        return RevertedError(
            f"{action} reverted: {revert}", error_name=revert.name, error_args=revert.args
        )

    def _require_contract(self) -> ChecksumAddress:
        if self._contract_address is None:
            raise ContractError("no AnchorRegistry yet: call deploy() or use_contract() first")
        return self._contract_address

    def _as_call(self, data: str) -> TxParams:
        """A registry transaction of ours as ``eth_call`` params (same sender, data and gas)."""
        return {
            "from": self.address,
            "to": self._require_contract(),
            "data": HexStr(data),
            "gas": self._gas_limit,
        }

    def _rehearse(self, data: str, action: str) -> None:
        """``eth_call`` the transaction first: a revert raises RevertedError and costs no gas."""
        with self._boundary(action, refused=AnchorFailedError):
            self._w3.eth.call(self._as_call(data))

    def _fee_fields(self) -> dict[str, int]:
        latest = self._w3.eth.get_block("latest")
        base_fee = latest.get("baseFeePerGas")
        if base_fee is None:  # a pre-London chain
            return {"gasPrice": int(self._w3.eth.gas_price)}
        tip = int(self._w3.eth.max_priority_fee)
        return {"maxPriorityFeePerGas": tip, "maxFeePerGas": 2 * int(base_fee) + tip}

    def _send(self, to: ChecksumAddress | None, data: str | bytes, gas: int, action: str) -> str:
        """Sign and send one transaction with explicit nonce, gas and fees; its 0x hash."""
        with self._boundary(action, refused=AnchorFailedError), self._send_lock:
            tx: dict[str, Any] = {
                "chainId": self.chain_id,
                "nonce": self._w3.eth.get_transaction_count(self.address, "pending"),
                "gas": gas,
                "value": 0,
                "data": data if isinstance(data, str) else "0x" + data.hex(),
                **self._fee_fields(),
            }
            if to is not None:
                tx["to"] = to
            signed = self._signer.sign_transaction(tx)
            self._w3.eth.send_raw_transaction(signed.raw_transaction)
            return _hex(signed.hash)

    def _wait_for_receipt(self, tx_hash: str, action: str) -> TxReceipt:
        """The receipt once ``confirmations`` blocks follow it (re-read, so a reorg that moves
        the transaction is seen); ChainUnavailableError after ``receipt_timeout``."""
        deadline = time.monotonic() + self._receipt_timeout
        while True:
            with self._boundary(f"{action}: wait for {tx_hash}"):
                try:
                    receipt: TxReceipt | None = self._w3.eth.get_transaction_receipt(
                        HexStr(tx_hash)
                    )
                except TransactionNotFound:
                    receipt = None
                if receipt is not None and (
                    self._confirmations == 0
                    or self._w3.eth.block_number - receipt["blockNumber"] >= self._confirmations
                ):
                    return receipt
            if time.monotonic() >= deadline:
                state = "not mined" if receipt is None else "not confirmed"
                raise ChainUnavailableError(
                    f"{action}: transaction {tx_hash} {state} within {self._receipt_timeout:g}s "
                    f"({self._confirmations} confirmations wanted); it may still be mined"
                )
            time.sleep(self._poll_interval)

    def _reverted(self, receipt: TxReceipt, data: str, action: str) -> AnchorFailedError:
        """Why a mined transaction failed: out of gas, or the revert its replay gives."""
        tx_hash = _hex(receipt["transactionHash"])
        block = int(receipt["blockNumber"])
        where = f"{action}: transaction {tx_hash} reverted in block {block}"
        if int(receipt["gasUsed"]) >= self._gas_limit:
            return AnchorFailedError(f"{where}: out of gas (limit {self._gas_limit})")
        try:
            # At the end of the block the state holds whatever made it revert (an earlier
            # transaction that anchored the same root, most likely).
            with self._boundary(where, refused=AnchorFailedError):
                self._w3.eth.call(self._as_call(data), block_identifier=block)
        except RevertedError as exc:
            return exc
        return AnchorFailedError(f"{where} (the replay did not revert; reason unknown)")

    def _decode_logs(self, receipt: TxReceipt) -> list[AnchoredLog]:
        decoded = [self._decode_log(log) for log in receipt["logs"]]
        return [
            log
            for log in decoded
            if log is not None
            and (self._contract_address is None or log.contract == self._contract_address)
        ]

    def _decode_log(self, log: Mapping[str, Any]) -> AnchoredLog | None:
        topics = [bytes(t) for t in log["topics"]]
        if len(topics) != 4 or topics[0] != ANCHORED_TOPIC:
            return None
        try:
            (tree_size,) = abi_decode(["uint256"], bytes(log["data"]))
        except DecodingError:
            return None  # same topic, different event: not the registry's
        return AnchoredLog(
            root=topics[1],
            tree_size=int(tree_size),
            batch_id=int.from_bytes(topics[2], "big"),
            anchorer=to_checksum_address(topics[3][-20:]),
            contract=to_checksum_address(log["address"]),
            tx_hash=_hex(log["transactionHash"]),
            block_number=int(log["blockNumber"]),
            block_hash=_hex(log["blockHash"]),
            log_index=int(log["logIndex"]),
        )

    def _receipt_from(self, log: AnchoredLog, gas_used: int) -> AnchorReceipt:
        block = self.block(log.block_number)
        if block.hash != log.block_hash:
            raise ChainUnavailableError(
                f"block {log.block_number} changed under us (reorg): {block.hash} is not "
                f"{log.block_hash}; try again"
            )
        return AnchorReceipt(
            chain_id=self.chain_id,
            contract=log.contract,
            tx_hash=log.tx_hash,
            block_number=log.block_number,
            block_hash=block.hash,
            block_timestamp=block.timestamp,
            root=log.root,
            tree_size=log.tree_size,
            batch_id=log.batch_id,
            gas_used=gas_used,
        )


def _from_eth_tester(exc: BaseException) -> bool:
    return type(exc).__module__.startswith(("eth_tester", "eth.", "eth_utils"))


def _checksum(address: str) -> ChecksumAddress:
    try:
        return to_checksum_address(address)
    except (ValueError, TypeError) as exc:
        raise ContractError(f"{address!r} is not an Ethereum address") from exc


def _root(root: bytes) -> bytes:
    if not isinstance(root, bytes) or len(root) != 32:
        raise ValueError("a Merkle root is exactly 32 bytes")
    return root
