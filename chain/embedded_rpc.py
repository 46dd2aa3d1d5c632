"""Read-only Ethereum JSON-RPC answered straight from a py-evm chain, as a real node answers.

Auditors point a plain web3 `HTTPProvider` at the service's `/api/v1/chain/rpc`; this module is
what answers behind it. It reads py-evm's own records (canonical headers, block bodies, the
receipt tries, the transaction-hash index) and writes them in the JSON a geth node returns:
hex quantities without leading zeros, 0x-hex data, lowercase addresses, `null` for what is
unknown, block-wide `logIndex`, `removed: false`. eth-tester's serializers are not used here:
they pad `extraData`, return `logsBloom` as an integer and number logs per transaction.

Only `READ_ONLY_METHODS` exist; everything else, and above all `eth_sendRawTransaction`, raises
`MethodNotAllowedError`. Params are parsed strictly and every request is bounded by `RpcLimits`.
No locking here: the caller serialises access to the py-evm chain.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import rlp
from eth.abc import (
    BlockAPI,
    BlockHeaderAPI,
    ChainAPI,
    LegacyTransactionFieldsAPI,
    ReceiptAPI,
    SignedTransactionAPI,
)
from eth.exceptions import HeaderNotFound, Revert, TransactionNotFound, VMError
from eth.vm.spoof import SpoofTransaction
from eth_bloom.bloom import BloomFilter
from eth_typing import Address, BlockNumber, Hash32
from eth_utils.crypto import keccak
from eth_utils.exceptions import ValidationError

from chain.errors import (
    ExecutionRevertedError,
    InvalidRequestError,
    MethodNotAllowedError,
    RpcError,
)

READ_ONLY_METHODS = frozenset(
    {
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
)

Json = Any  # what json.dumps accepts: dict / list / str / bool / None


@dataclass(frozen=True)
class RpcLimits:
    """Bounds on one read-only request, so an outside caller cannot hold the chain for long."""

    max_call_gas: int = 1_000_000  # `anchoredAt` needs ~3k; this keeps an eth_call well < 1 s
    max_call_data_bytes: int = 64 * 1024
    max_log_block_range: int = 10_000
    max_logs: int = 10_000


_QUANTITY = re.compile(r"0x(0|[1-9a-fA-F][0-9a-fA-F]{0,63})")
_DATA = re.compile(r"0x(?:[0-9a-fA-F]{2})*")
_BLOCK_TAGS_HEAD = frozenset({"latest", "safe", "finalized", "pending"})
_ZERO_ADDRESS = Address(b"\x00" * 20)
_CALL_KEYS = frozenset(
    {
        "from", "to", "gas", "value", "data", "input",
        # accepted and ignored: an eth_call is free, and nonce/type/chain come from the chain
        "gasPrice", "maxFeePerGas", "maxPriorityFeePerGas", "nonce", "type", "chainId",
        "accessList",
    }
)  # fmt: skip
_FILTER_KEYS = frozenset({"fromBlock", "toBlock", "address", "topics", "blockHash"})


# --- encoding -------------------------------------------------------------------------------


def _quantity(value: int) -> str:
    return hex(value)


def _data(value: bytes) -> str:
    return "0x" + value.hex()


def _address_or_null(value: bytes) -> str | None:
    return _data(value) if value else None


def _word(value: int) -> str:
    return _data(value.to_bytes(32, "big"))


def _bloom(value: int) -> str:
    return _data(value.to_bytes(256, "big"))


# --- parsing --------------------------------------------------------------------------------


def _parse_quantity(value: object, what: str) -> int:
    if not isinstance(value, str) or _QUANTITY.fullmatch(value) is None:
        raise InvalidRequestError(f"{what} must be a hex quantity like 0x1a, got {value!r:.80}")
    return int(value, 16)


def _parse_data(value: object, what: str, *, size: int | None = None, limit: int = 0) -> bytes:
    if not isinstance(value, str) or _DATA.fullmatch(value) is None:
        raise InvalidRequestError(f"{what} must be 0x-prefixed hex bytes, got {value!r:.80}")
    raw = bytes.fromhex(value[2:])
    if size is not None and len(raw) != size:
        raise InvalidRequestError(f"{what} must be {size} bytes, got {len(raw)}")
    if limit and len(raw) > limit:
        raise InvalidRequestError(f"{what} is {len(raw)} bytes, more than the limit of {limit}")
    return raw


def _parse_address(value: object, what: str) -> Address:
    return Address(_parse_data(value, what, size=20))


def _parse_hash(value: object, what: str) -> Hash32:
    return Hash32(_parse_data(value, what, size=32))


def _parse_bool(value: object, what: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidRequestError(f"{what} must be true or false, got {value!r:.80}")
    return value


def _arguments(params: Sequence[Json], required: int, optional: int) -> list[Json]:
    if len(params) < required or len(params) > required + optional:
        expected = str(required) if not optional else f"{required} to {required + optional}"
        raise InvalidRequestError(f"expected {expected} params, got {len(params)}")
    return list(params) + [None] * (required + optional - len(params))


def _parse_topics(value: object) -> list[list[bytes] | None]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > 4:
        raise InvalidRequestError("topics must be an array of at most 4 entries")
    topics: list[list[bytes] | None] = []
    for position, entry in enumerate(value):
        what = f"topics[{position}]"
        if entry is None or entry == []:
            topics.append(None)
        elif isinstance(entry, list):
            topics.append([_parse_hash(item, what) for item in entry])
        else:
            topics.append([_parse_hash(entry, what)])
    return topics


def _parse_addresses(value: object) -> list[bytes] | None:
    if value is None:
        return None
    if isinstance(value, list):
        return [_parse_address(item, "address") for item in value]
    return [_parse_address(value, "address")]


# --- the answering object -------------------------------------------------------------------


class ReadOnlyRpc:
    """Answers `READ_ONLY_METHODS` from `chain`; `answer()` returns the JSON `result` member."""

    def __init__(self, chain: ChainAPI, *, chain_id: int, limits: RpcLimits | None = None):
        self._chain = chain
        self._chain_id = chain_id
        self._limits = limits or RpcLimits()
        self._handlers: dict[str, Callable[[Sequence[Json]], Json]] = {
            "eth_chainId": self._chain_id_method,
            "net_version": self._net_version,
            "eth_blockNumber": self._block_number,
            "eth_getBlockByNumber": self._get_block_by_number,
            "eth_getBlockByHash": self._get_block_by_hash,
            "eth_getTransactionByHash": self._get_transaction_by_hash,
            "eth_getTransactionReceipt": self._get_transaction_receipt,
            "eth_call": self._call,
            "eth_getLogs": self._get_logs,
            "eth_getCode": self._get_code,
        }
        assert frozenset(self._handlers) == READ_ONLY_METHODS

    def answer(self, method: object, params: object) -> Json:
        """The `result` for one request; raises an `RpcError` subclass carrying the error code."""
        if not isinstance(method, str) or method not in READ_ONLY_METHODS:
            raise MethodNotAllowedError(
                f"method {method!r:.80} is not available: this endpoint is read-only and "
                f"serves only {', '.join(sorted(READ_ONLY_METHODS))}"
            )
        if params is None:
            params = []
        if not isinstance(params, list | tuple):
            raise InvalidRequestError("params must be a JSON array")
        return self._handlers[method](params)

    # -- chain lookups

    def _head(self) -> BlockHeaderAPI:
        return self._chain.chaindb.get_canonical_head()

    def _header_by_number(self, number: int) -> BlockHeaderAPI | None:
        if number > self._head().block_number:
            return None
        try:
            return self._chain.chaindb.get_canonical_block_header_by_number(BlockNumber(number))
        except HeaderNotFound:
            return None

    def _header_by_hash(self, block_hash: Hash32) -> BlockHeaderAPI | None:
        chaindb = self._chain.chaindb
        try:
            header = chaindb.get_block_header_by_hash(block_hash)
            canonical = chaindb.get_canonical_block_hash(header.block_number)
        except HeaderNotFound:
            return None
        return header if canonical == block_hash else None

    def _resolve_block(self, value: object, what: str) -> BlockHeaderAPI | None:
        """A block tag, a quantity or an EIP-1898 object -> its canonical header, or None."""
        if value is None or (isinstance(value, str) and value in _BLOCK_TAGS_HEAD):
            return self._head()
        if value == "earliest":
            return self._header_by_number(0)
        if isinstance(value, dict):
            if set(value) <= {"blockHash", "requireCanonical"} and "blockHash" in value:
                return self._header_by_hash(_parse_hash(value["blockHash"], f"{what}.blockHash"))
            if set(value) == {"blockNumber"}:
                return self._resolve_block(value["blockNumber"], what)
            raise InvalidRequestError(f"{what} must name a blockHash or a blockNumber")
        return self._header_by_number(_parse_quantity(value, what))

    def _existing_block(self, value: object, what: str) -> BlockHeaderAPI:
        header = self._resolve_block(value, what)
        if header is None:
            raise RpcError("header not found")
        return header

    def _receipts(self, header: BlockHeaderAPI) -> tuple[ReceiptAPI, ...]:
        builder = self._chain.get_vm_class(header).get_receipt_builder()
        return tuple(self._chain.chaindb.get_receipts(header, builder))

    def _locate_transaction(
        self, tx_hash: Hash32
    ) -> tuple[BlockHeaderAPI, SignedTransactionAPI, int] | None:
        chaindb = self._chain.chaindb
        try:
            number, index = chaindb.get_transaction_index(tx_hash)
            header = chaindb.get_canonical_block_header_by_number(number)
        except (TransactionNotFound, HeaderNotFound):
            return None
        builder = self._chain.get_vm_class(header).get_transaction_builder()
        transaction = chaindb.get_transaction_by_index(number, index, builder)
        if transaction.hash != tx_hash:  # the index outlived a reorganisation: not canonical
            return None
        return header, transaction, index

    # -- JSON shapes

    def _transaction_json(
        self, header: BlockHeaderAPI, transaction: SignedTransactionAPI, index: int
    ) -> dict[str, Json]:
        """Transaction types 0-2 in full: only the anchoring client sends, and it sends type 2
        (blob and set-code extras would be left out)."""
        tx_type = transaction.type_id or 0
        out: dict[str, Json] = {
            "blockHash": _data(header.hash),
            "blockNumber": _quantity(header.block_number),
            "from": _data(transaction.sender),
            "gas": _quantity(transaction.gas),
            "gasPrice": _quantity(_effective_gas_price(transaction, header)),
            "hash": _data(transaction.hash),
            "input": _data(transaction.data),
            "nonce": _quantity(transaction.nonce),
            "to": _address_or_null(transaction.to),
            "transactionIndex": _quantity(index),
            "value": _quantity(transaction.value),
            "type": _quantity(tx_type),
        }
        if tx_type >= 1:
            out["chainId"] = _quantity(transaction.chain_id or 0)
            out["accessList"] = [
                {"address": _data(address), "storageKeys": [_word(slot) for slot in slots]}
                for address, slots in transaction.access_list
            ]
        if tx_type >= 2:
            out["maxFeePerGas"] = _quantity(transaction.max_fee_per_gas)
            out["maxPriorityFeePerGas"] = _quantity(transaction.max_priority_fee_per_gas)
        if isinstance(transaction, LegacyTransactionFieldsAPI):
            out["v"] = _quantity(transaction.v)
            if transaction.chain_id is not None:
                out["chainId"] = _quantity(transaction.chain_id)
        else:
            out["v"] = _quantity(transaction.y_parity)
            out["yParity"] = _quantity(transaction.y_parity)
        out["r"] = _quantity(transaction.r)
        out["s"] = _quantity(transaction.s)
        return out

    def _block_json(self, block: BlockAPI, full_transactions: bool) -> dict[str, Json]:
        header = block.header
        transactions: list[Json] = [
            self._transaction_json(header, tx, i) if full_transactions else _data(tx.hash)
            for i, tx in enumerate(block.transactions)
        ]
        out: dict[str, Json] = {
            "number": _quantity(header.block_number),
            "hash": _data(header.hash),
            "parentHash": _data(header.parent_hash),
            "nonce": _data(header.nonce),
            "mixHash": _data(header.mix_hash),
            "sha3Uncles": _data(header.uncles_hash),
            "logsBloom": _bloom(header.bloom),
            "transactionsRoot": _data(header.transaction_root),
            "stateRoot": _data(header.state_root),
            "receiptsRoot": _data(header.receipt_root),
            "miner": _data(header.coinbase),
            "difficulty": _quantity(header.difficulty),
            "extraData": _data(header.extra_data),
            "size": _quantity(len(rlp.encode(block))),
            "gasLimit": _quantity(header.gas_limit),
            "gasUsed": _quantity(header.gas_used),
            "timestamp": _quantity(header.timestamp),
            "transactions": transactions,
            "uncles": [_data(uncle.hash) for uncle in block.uncles],
        }
        if header.base_fee_per_gas is not None:
            out["baseFeePerGas"] = _quantity(header.base_fee_per_gas)
        if header.withdrawals_root is not None:
            out["withdrawalsRoot"] = _data(header.withdrawals_root)
            out["withdrawals"] = [
                {
                    "index": _quantity(w.index),
                    "validatorIndex": _quantity(w.validator_index),
                    "address": _data(w.address),
                    "amount": _quantity(w.amount),
                }
                for w in block.withdrawals
            ]
        if header.parent_beacon_block_root is not None:
            out["parentBeaconBlockRoot"] = _data(header.parent_beacon_block_root)
            out["blobGasUsed"] = _quantity(header.blob_gas_used)
            out["excessBlobGas"] = _quantity(header.excess_blob_gas)
        requests_hash = getattr(header, "requests_hash", None)
        if isinstance(requests_hash, bytes):
            out["requestsHash"] = _data(requests_hash)
        return out

    def _logs_json(
        self,
        header: BlockHeaderAPI,
        tx_hash: bytes,
        tx_index: int,
        receipt: ReceiptAPI,
        first_log_index: int,
    ) -> list[dict[str, Json]]:
        return [
            {
                "address": _data(log.address),
                "topics": [_word(topic) for topic in log.topics],
                "data": _data(log.data),
                "blockNumber": _quantity(header.block_number),
                "transactionHash": _data(tx_hash),
                "transactionIndex": _quantity(tx_index),
                "blockHash": _data(header.hash),
                "logIndex": _quantity(first_log_index + offset),
                "removed": False,
            }
            for offset, log in enumerate(receipt.logs)
        ]

    # -- methods

    def _chain_id_method(self, params: Sequence[Json]) -> Json:
        _arguments(params, 0, 0)
        return _quantity(self._chain_id)

    def _net_version(self, params: Sequence[Json]) -> Json:
        _arguments(params, 0, 0)
        return str(self._chain_id)

    def _block_number(self, params: Sequence[Json]) -> Json:
        _arguments(params, 0, 0)
        return _quantity(self._head().block_number)

    def _get_block_by_number(self, params: Sequence[Json]) -> Json:
        tag, full = _arguments(params, 1, 1)
        if isinstance(tag, dict):
            raise InvalidRequestError("block must be a tag or a hex quantity")
        header = self._resolve_block(tag, "block")
        if header is None:
            return None
        full_transactions = False if full is None else _parse_bool(full, "full transactions")
        return self._block_json(self._chain.get_block_by_header(header), full_transactions)

    def _get_block_by_hash(self, params: Sequence[Json]) -> Json:
        block_hash, full = _arguments(params, 1, 1)
        header = self._header_by_hash(_parse_hash(block_hash, "block hash"))
        if header is None:
            return None
        full_transactions = False if full is None else _parse_bool(full, "full transactions")
        return self._block_json(self._chain.get_block_by_header(header), full_transactions)

    def _get_transaction_by_hash(self, params: Sequence[Json]) -> Json:
        (tx_hash,) = _arguments(params, 1, 0)
        found = self._locate_transaction(_parse_hash(tx_hash, "transaction hash"))
        if found is None:
            return None
        return self._transaction_json(*found)

    def _get_transaction_receipt(self, params: Sequence[Json]) -> Json:
        (tx_hash,) = _arguments(params, 1, 0)
        found = self._locate_transaction(_parse_hash(tx_hash, "transaction hash"))
        if found is None:
            return None
        header, transaction, index = found
        receipts = self._receipts(header)
        receipt = receipts[index]
        earlier_gas = receipts[index - 1].gas_used if index else 0
        first_log_index = sum(len(r.logs) for r in receipts[:index])
        contract_address = (
            _data(keccak(rlp.encode([transaction.sender, transaction.nonce]))[12:])
            if not transaction.to
            else None
        )
        return {
            "blockHash": _data(header.hash),
            "blockNumber": _quantity(header.block_number),
            "contractAddress": contract_address,
            "cumulativeGasUsed": _quantity(receipt.gas_used),
            "effectiveGasPrice": _quantity(_effective_gas_price(transaction, header)),
            "from": _data(transaction.sender),
            "gasUsed": _quantity(receipt.gas_used - earlier_gas),
            "logs": self._logs_json(header, transaction.hash, index, receipt, first_log_index),
            "logsBloom": _bloom(receipt.bloom),
            "status": _quantity(1 if receipt.state_root == b"\x01" else 0),
            "to": _address_or_null(transaction.to),
            "transactionHash": _data(transaction.hash),
            "transactionIndex": _quantity(index),
            "type": _quantity(transaction.type_id or 0),
        }

    def _get_code(self, params: Sequence[Json]) -> Json:
        address, block = _arguments(params, 1, 1)
        account = _parse_address(address, "address")
        header = self._existing_block(block, "block")
        return _data(self._chain.get_vm(header).state.get_code(account))

    def _call(self, params: Sequence[Json]) -> Json:
        call, block = _arguments(params, 1, 1)
        if not isinstance(call, dict):
            raise InvalidRequestError("the call must be a JSON object")
        unknown = set(call) - _CALL_KEYS
        if unknown:
            raise InvalidRequestError(f"unknown call fields: {', '.join(sorted(unknown))}")
        limits = self._limits
        data = b""
        for key in ("input", "data"):
            if call.get(key) is not None:
                given = _parse_data(call[key], key, limit=limits.max_call_data_bytes)
                if key == "data" and "input" in call and call["input"] is not None:
                    if given != data:
                        raise InvalidRequestError("input and data differ")
                data = given
        sender = _ZERO_ADDRESS if call.get("from") is None else _parse_address(call["from"], "from")
        to = b"" if call.get("to") is None else _parse_address(call["to"], "to")
        value = 0 if call.get("value") is None else _parse_quantity(call["value"], "value")
        header = self._existing_block(block, "block")
        gas = min(limits.max_call_gas, header.gas_limit)
        if call.get("gas") is not None:
            gas = _parse_quantity(call["gas"], "gas")
            if gas > limits.max_call_gas:
                raise InvalidRequestError(
                    f"gas {gas} is above this endpoint's eth_call limit of {limits.max_call_gas}"
                )
        vm = self._chain.get_vm(header)
        unsigned = vm.get_transaction_builder().create_unsigned_transaction(
            nonce=vm.state.get_nonce(sender),
            gas_price=0,
            gas=gas,
            to=Address(to),
            value=value,
            data=data,
        )
        try:
            output = self._chain.get_transaction_result(
                cast(SignedTransactionAPI, SpoofTransaction(unsigned, from_=sender)), header
            )
        except Revert as exc:
            payload = exc.args[0] if exc.args and isinstance(exc.args[0], bytes) else b""
            raise ExecutionRevertedError("execution reverted", data=_data(payload)) from exc
        except VMError as exc:
            raise RpcError(f"execution failed: {exc}") from exc
        except ValidationError as exc:
            raise InvalidRequestError(f"invalid call: {exc}") from exc
        return _data(output)

    def _get_logs(self, params: Sequence[Json]) -> Json:
        (criteria,) = _arguments(params, 1, 0)
        if not isinstance(criteria, dict):
            raise InvalidRequestError("the filter must be a JSON object")
        unknown = set(criteria) - _FILTER_KEYS
        if unknown:
            raise InvalidRequestError(f"unknown filter fields: {', '.join(sorted(unknown))}")
        addresses = _parse_addresses(criteria.get("address"))
        topics = _parse_topics(criteria.get("topics"))
        headers = self._filter_range(criteria)
        matches: list[dict[str, Json]] = []
        for header in headers:
            if not _bloom_may_match(header.bloom, addresses, topics):
                continue
            receipts = self._receipts(header)
            tx_hashes = self._chain.chaindb.get_block_transaction_hashes(header)
            log_index = 0
            for tx_index, (tx_hash, receipt) in enumerate(zip(tx_hashes, receipts, strict=True)):
                for log in self._logs_json(header, tx_hash, tx_index, receipt, log_index):
                    if _log_matches(log, addresses, topics):
                        matches.append(log)
                log_index += len(receipt.logs)
            if len(matches) > self._limits.max_logs:
                raise InvalidRequestError(
                    f"more than {self._limits.max_logs} logs match: narrow the block range"
                )
        return matches

    def _filter_range(self, criteria: dict[str, Json]) -> list[BlockHeaderAPI]:
        if criteria.get("blockHash") is not None:
            if criteria.get("fromBlock") is not None or criteria.get("toBlock") is not None:
                raise InvalidRequestError("blockHash cannot be combined with fromBlock/toBlock")
            header = self._header_by_hash(_parse_hash(criteria["blockHash"], "blockHash"))
            if header is None:
                raise RpcError("unknown block")
            return [header]
        head = self._head().block_number
        bounds = []
        for key in ("fromBlock", "toBlock"):
            value = criteria.get(key)
            if isinstance(value, dict):
                raise InvalidRequestError(f"{key} must be a tag or a hex quantity")
            header = self._resolve_block(value, key)
            # a bound past the head is clamped to the head, as nodes do
            bounds.append(head if header is None else header.block_number)
        first, last = bounds
        if first > last:
            raise InvalidRequestError("invalid block range: fromBlock is after toBlock")
        if last - first + 1 > self._limits.max_log_block_range:
            raise InvalidRequestError(
                f"block range {first}..{last} is more than "
                f"{self._limits.max_log_block_range} blocks: query it in pieces"
            )
        chaindb = self._chain.chaindb
        return [
            chaindb.get_canonical_block_header_by_number(BlockNumber(n))
            for n in range(first, last + 1)
        ]


def _effective_gas_price(transaction: SignedTransactionAPI, header: BlockHeaderAPI) -> int:
    if (transaction.type_id or 0) >= 2:
        return min(
            transaction.max_fee_per_gas,
            transaction.max_priority_fee_per_gas + (header.base_fee_per_gas or 0),
        )
    return transaction.gas_price


def _bloom_may_match(
    bloom_value: int, addresses: list[bytes] | None, topics: list[list[bytes] | None]
) -> bool:
    """False only when the block's logs bloom proves no log can match (no false negatives)."""
    bloom = BloomFilter(bloom_value)
    if addresses is not None and not any(a in bloom for a in addresses):
        return False
    return all(choices is None or any(t in bloom for t in choices) for choices in topics)


def _log_matches(
    log: dict[str, Json], addresses: list[bytes] | None, topics: list[list[bytes] | None]
) -> bool:
    if addresses is not None and log["address"] not in {_data(a) for a in addresses}:
        return False
    log_topics: list[str] = log["topics"]
    if len(topics) > len(log_topics):
        return False
    return all(
        choices is None or log_topics[i] in {_data(t) for t in choices}
        for i, choices in enumerate(topics)
    )
