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
The wire format (encoding and strict parsing) is :mod:`chain.rpc_json`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

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
from chain.rpc_json import (
    Json,
    encode_address_or_null,
    encode_bloom,
    encode_data,
    encode_quantity,
    encode_word,
    parse_address,
    parse_addresses,
    parse_arguments,
    parse_bool,
    parse_data,
    parse_hash,
    parse_quantity,
    parse_topics,
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


@dataclass(frozen=True)
class RpcLimits:
    """Bounds on one read-only request, so an outside caller cannot hold the chain for long."""

    max_call_gas: int = 1_000_000  # `anchoredAt` needs ~3k; this keeps an eth_call well < 1 s
    max_call_data_bytes: int = 64 * 1024
    max_log_block_range: int = 10_000
    max_logs: int = 10_000


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
                return self._header_by_hash(parse_hash(value["blockHash"], f"{what}.blockHash"))
            if set(value) == {"blockNumber"}:
                return self._resolve_block(value["blockNumber"], what)
            raise InvalidRequestError(f"{what} must name a blockHash or a blockNumber")
        return self._header_by_number(parse_quantity(value, what))

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
            "blockHash": encode_data(header.hash),
            "blockNumber": encode_quantity(header.block_number),
            "from": encode_data(transaction.sender),
            "gas": encode_quantity(transaction.gas),
            "gasPrice": encode_quantity(_effective_gas_price(transaction, header)),
            "hash": encode_data(transaction.hash),
            "input": encode_data(transaction.data),
            "nonce": encode_quantity(transaction.nonce),
            "to": encode_address_or_null(transaction.to),
            "transactionIndex": encode_quantity(index),
            "value": encode_quantity(transaction.value),
            "type": encode_quantity(tx_type),
        }
        if tx_type >= 1:
            out["chainId"] = encode_quantity(transaction.chain_id or 0)
            out["accessList"] = [
                {
                    "address": encode_data(address),
                    "storageKeys": [encode_word(slot) for slot in slots],
                }
                for address, slots in transaction.access_list
            ]
        if tx_type >= 2:
            out["maxFeePerGas"] = encode_quantity(transaction.max_fee_per_gas)
            out["maxPriorityFeePerGas"] = encode_quantity(transaction.max_priority_fee_per_gas)
        if isinstance(transaction, LegacyTransactionFieldsAPI):
            out["v"] = encode_quantity(transaction.v)
            if transaction.chain_id is not None:
                out["chainId"] = encode_quantity(transaction.chain_id)
        else:
            out["v"] = encode_quantity(transaction.y_parity)
            out["yParity"] = encode_quantity(transaction.y_parity)
        out["r"] = encode_quantity(transaction.r)
        out["s"] = encode_quantity(transaction.s)
        return out

    def _block_json(self, block: BlockAPI, full_transactions: bool) -> dict[str, Json]:
        header = block.header
        transactions: list[Json] = [
            self._transaction_json(header, tx, i) if full_transactions else encode_data(tx.hash)
            for i, tx in enumerate(block.transactions)
        ]
        out: dict[str, Json] = {
            "number": encode_quantity(header.block_number),
            "hash": encode_data(header.hash),
            "parentHash": encode_data(header.parent_hash),
            "nonce": encode_data(header.nonce),
            "mixHash": encode_data(header.mix_hash),
            "sha3Uncles": encode_data(header.uncles_hash),
            "logsBloom": encode_bloom(header.bloom),
            "transactionsRoot": encode_data(header.transaction_root),
            "stateRoot": encode_data(header.state_root),
            "receiptsRoot": encode_data(header.receipt_root),
            "miner": encode_data(header.coinbase),
            "difficulty": encode_quantity(header.difficulty),
            "extraData": encode_data(header.extra_data),
            "size": encode_quantity(len(rlp.encode(block))),
            "gasLimit": encode_quantity(header.gas_limit),
            "gasUsed": encode_quantity(header.gas_used),
            "timestamp": encode_quantity(header.timestamp),
            "transactions": transactions,
            "uncles": [encode_data(uncle.hash) for uncle in block.uncles],
        }
        if header.base_fee_per_gas is not None:
            out["baseFeePerGas"] = encode_quantity(header.base_fee_per_gas)
        if header.withdrawals_root is not None:
            out["withdrawalsRoot"] = encode_data(header.withdrawals_root)
            out["withdrawals"] = [
                {
                    "index": encode_quantity(w.index),
                    "validatorIndex": encode_quantity(w.validator_index),
                    "address": encode_data(w.address),
                    "amount": encode_quantity(w.amount),
                }
                for w in block.withdrawals
            ]
        if header.parent_beacon_block_root is not None:
            out["parentBeaconBlockRoot"] = encode_data(header.parent_beacon_block_root)
            out["blobGasUsed"] = encode_quantity(header.blob_gas_used)
            out["excessBlobGas"] = encode_quantity(header.excess_blob_gas)
        requests_hash = getattr(header, "requests_hash", None)
        if isinstance(requests_hash, bytes):
            out["requestsHash"] = encode_data(requests_hash)
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
                "address": encode_data(log.address),
                "topics": [encode_word(topic) for topic in log.topics],
                "data": encode_data(log.data),
                "blockNumber": encode_quantity(header.block_number),
                "transactionHash": encode_data(tx_hash),
                "transactionIndex": encode_quantity(tx_index),
                "blockHash": encode_data(header.hash),
                "logIndex": encode_quantity(first_log_index + offset),
                "removed": False,
            }
            for offset, log in enumerate(receipt.logs)
        ]

    # -- methods

    def _chain_id_method(self, params: Sequence[Json]) -> Json:
        parse_arguments(params, 0, 0)
        return encode_quantity(self._chain_id)

    def _net_version(self, params: Sequence[Json]) -> Json:
        parse_arguments(params, 0, 0)
        return str(self._chain_id)

    def _block_number(self, params: Sequence[Json]) -> Json:
        parse_arguments(params, 0, 0)
        return encode_quantity(self._head().block_number)

    def _get_block_by_number(self, params: Sequence[Json]) -> Json:
        tag, full = parse_arguments(params, 1, 1)
        if isinstance(tag, dict):
            raise InvalidRequestError("block must be a tag or a hex quantity")
        header = self._resolve_block(tag, "block")
        if header is None:
            return None
        full_transactions = False if full is None else parse_bool(full, "full transactions")
        return self._block_json(self._chain.get_block_by_header(header), full_transactions)

    def _get_block_by_hash(self, params: Sequence[Json]) -> Json:
        block_hash, full = parse_arguments(params, 1, 1)
        header = self._header_by_hash(parse_hash(block_hash, "block hash"))
        if header is None:
            return None
        full_transactions = False if full is None else parse_bool(full, "full transactions")
        return self._block_json(self._chain.get_block_by_header(header), full_transactions)

    def _get_transaction_by_hash(self, params: Sequence[Json]) -> Json:
        (tx_hash,) = parse_arguments(params, 1, 0)
        found = self._locate_transaction(parse_hash(tx_hash, "transaction hash"))
        if found is None:
            return None
        return self._transaction_json(*found)

    def _get_transaction_receipt(self, params: Sequence[Json]) -> Json:
        (tx_hash,) = parse_arguments(params, 1, 0)
        found = self._locate_transaction(parse_hash(tx_hash, "transaction hash"))
        if found is None:
            return None
        header, transaction, index = found
        receipts = self._receipts(header)
        receipt = receipts[index]
        earlier_gas = receipts[index - 1].gas_used if index else 0
        first_log_index = sum(len(r.logs) for r in receipts[:index])
        contract_address = (
            encode_data(keccak(rlp.encode([transaction.sender, transaction.nonce]))[12:])
            if not transaction.to
            else None
        )
        return {
            "blockHash": encode_data(header.hash),
            "blockNumber": encode_quantity(header.block_number),
            "contractAddress": contract_address,
            "cumulativeGasUsed": encode_quantity(receipt.gas_used),
            "effectiveGasPrice": encode_quantity(_effective_gas_price(transaction, header)),
            "from": encode_data(transaction.sender),
            "gasUsed": encode_quantity(receipt.gas_used - earlier_gas),
            "logs": self._logs_json(header, transaction.hash, index, receipt, first_log_index),
            "logsBloom": encode_bloom(receipt.bloom),
            "status": encode_quantity(1 if receipt.state_root == b"\x01" else 0),
            "to": encode_address_or_null(transaction.to),
            "transactionHash": encode_data(transaction.hash),
            "transactionIndex": encode_quantity(index),
            "type": encode_quantity(transaction.type_id or 0),
        }

    def _get_code(self, params: Sequence[Json]) -> Json:
        address, block = parse_arguments(params, 1, 1)
        account = parse_address(address, "address")
        header = self._existing_block(block, "block")
        return encode_data(self._chain.get_vm(header).state.get_code(account))

    def _call(self, params: Sequence[Json]) -> Json:
        call, block = parse_arguments(params, 1, 1)
        if not isinstance(call, dict):
            raise InvalidRequestError("the call must be a JSON object")
        unknown = set(call) - _CALL_KEYS
        if unknown:
            raise InvalidRequestError(f"unknown call fields: {', '.join(sorted(unknown))}")
        limits = self._limits
        data = b""
        for key in ("input", "data"):
            if call.get(key) is not None:
                given = parse_data(call[key], key, limit=limits.max_call_data_bytes)
                if key == "data" and "input" in call and call["input"] is not None:
                    if given != data:
                        raise InvalidRequestError("input and data differ")
                data = given
        sender = _ZERO_ADDRESS if call.get("from") is None else parse_address(call["from"], "from")
        to = b"" if call.get("to") is None else parse_address(call["to"], "to")
        value = 0 if call.get("value") is None else parse_quantity(call["value"], "value")
        header = self._existing_block(block, "block")
        gas = min(limits.max_call_gas, header.gas_limit)
        if call.get("gas") is not None:
            gas = parse_quantity(call["gas"], "gas")
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
            raise ExecutionRevertedError("execution reverted", data=encode_data(payload)) from exc
        except VMError as exc:
            raise RpcError(f"execution failed: {exc}") from exc
        except ValidationError as exc:
            raise InvalidRequestError(f"invalid call: {exc}") from exc
        return encode_data(output)

    def _get_logs(self, params: Sequence[Json]) -> Json:
        (criteria,) = parse_arguments(params, 1, 0)
        if not isinstance(criteria, dict):
            raise InvalidRequestError("the filter must be a JSON object")
        unknown = set(criteria) - _FILTER_KEYS
        if unknown:
            raise InvalidRequestError(f"unknown filter fields: {', '.join(sorted(unknown))}")
        addresses = parse_addresses(criteria.get("address"))
        topics = parse_topics(criteria.get("topics"))
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
            header = self._header_by_hash(parse_hash(criteria["blockHash"], "blockHash"))
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
    if addresses is not None and log["address"] not in {encode_data(a) for a in addresses}:
        return False
    log_topics: list[str] = log["topics"]
    if len(topics) > len(log_topics):
        return False
    return all(
        choices is None or log_topics[i] in {encode_data(t) for t in choices}
        for i, choices in enumerate(topics)
    )
