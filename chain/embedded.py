"""`EmbeddedChain`: the chain `evidence serve` runs by default, in-process and on disk.

An eth-tester `PyEVMBackend` chain behind web3's `EthereumTesterProvider`, with py-evm's
database on SQLite under one directory (the service passes `<data_dir>/chain`):

    <dir>/chain.sqlite3   every header, body, receipt, tx index entry and state trie node
    <dir>/anchor.key      the anchoring account's secp256k1 key, hex, mode 0600
    <dir>/LOCK            flock'ed while a process has the chain open

What is guaranteed:
- Durable blocks: each write request (the `eth_sendRawTransaction` that auto-mines a block) is
  committed, with the state it produced, before it returns; kill -9 after that loses nothing.
  A crash before the commit loses the whole block and nothing else.
- Reopening continues the chain: same chain id (`CHAIN_ID`), same blocks, receipts, logs and
  contract storage, numbering carries on. Genesis is written only on the very first open.
- Wall-clock timestamps: a block is stamped with the time it is mined, in whole seconds,
  strictly increasing across restarts. With `max_clock_lead=0` (the default) a block is not
  stamped ahead of the clock, so at most one block is mined per second: a write waits (up to a
  second, without holding the lock) for the next second. A larger lead lets bursts run ahead of
  the clock by that much. Only if the clock is set back does the chain run ahead of it, one
  second per block, rather than stall until the clock catches up.
- One owner: a second open of the same directory, from any process, raises ChainInUseError.
- Thread safety: every use of the web3 / eth-tester / py-evm objects, through `w3`, through
  `rpc()` or internally, is serialised by one re-entrant lock.

Only signed raw transactions change the chain: eth-tester's unlocked test accounts are gone
(the genesis funds the anchoring account alone), as are snapshots, reverts and time travel.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, cast

import rlp
from eth.abc import (
    AtomicDatabaseAPI,
    BlockHeaderAPI,
    TransactionBuilderAPI,
    VirtualMachineAPI,
)
from eth.chains.base import MiningChain
from eth.exceptions import CanonicalHeadNotFound
from eth.exceptions import TransactionNotFound as EVMTransactionNotFound
from eth.typing import AccountDetails, AccountState
from eth.vm.forks.prague import PragueVM
from eth_keys.datatypes import PrivateKey
from eth_tester import EthereumTester, PyEVMBackend
from eth_tester.backends.pyevm.serializers import (
    serialize_transaction,
    serialize_transaction_receipt,
)
from eth_tester.exceptions import TransactionNotFound
from eth_typing import Address, BlockNumber, Hash32
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from web3 import EthereumTesterProvider, Web3
from web3.providers.eth_tester.defaults import API_ENDPOINTS
from web3.types import RPCEndpoint, RPCResponse

from chain.embedded_rpc import READ_ONLY_METHODS, ReadOnlyRpc, RpcLimits
from chain.errors import ChainError, ChainInUseError, ChainStoreError
from chain.pyevm_db import SqliteKeyValueStore, open_atomic_db
from chain.web3_client import Web3AnchorChain

__all__ = ["CHAIN_ID", "READ_ONLY_METHODS", "EmbeddedChain", "RpcLimits"]

CHAIN_ID = 1337
"""The embedded chain's id (EIP-155), fixed for every embedded chain and every restart. It is
the id local development chains use, so no public network or wallet mistakes it for value."""

GENESIS_BALANCE_WEI = 10**24  # 1,000,000 ether: ~10^10 anchors at today's gas use

DB_FILE = "chain.sqlite3"
KEY_FILE = "anchor.key"
LOCK_FILE = "LOCK"

_SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_MAX_SLOT_WAIT = 1.0  # seconds; see EmbeddedChain._wait_for_block_slot
_WRITE_METHODS = frozenset({"eth_sendRawTransaction", "eth_sendTransaction", "evm_mine"})


class _EmbeddedPyEVMChain(MiningChain):
    """eth-tester's post-merge tester chain (Prague from genesis), with our chain id."""

    chain_id = CHAIN_ID
    vm_configuration: tuple[tuple[BlockNumber, type[VirtualMachineAPI]], ...] = (
        (BlockNumber(0), PragueVM),
    )

    def create_header_from_parent(
        self, parent_header: BlockHeaderAPI, **header_params: Any
    ) -> BlockHeaderAPI:
        header_params["gas_limit"] = parent_header.gas_limit  # constant, as in eth-tester
        return super().create_header_from_parent(parent_header, **header_params)

    def get_transaction_builder(self) -> type[TransactionBuilderAPI]:
        """eth-tester's backend builds call/estimate transactions through the chain."""
        return self.get_vm().get_transaction_builder()


class _DurableBackend(PyEVMBackend):  # type: ignore[misc]  # eth-tester is untyped
    """PyEVMBackend over an already-open py-evm chain, stamping blocks with the wall clock.

    Transactions and receipts are found through py-evm's tx-hash index instead of eth-tester's
    scan of every block; history-rewriting calls (snapshot revert, time travel, reset to
    genesis) are refused.
    """

    def __init__(
        self, evm_chain: _EmbeddedPyEVMChain, anchorer: bytes, clock: Callable[[], float]
    ) -> None:
        # PyEVMBackend.__init__ would build a fresh in-memory genesis chain: not wanted.
        self.chain = evm_chain
        self.account_keys = ()  # no unlocked accounts: only signed raw transactions
        self._anchorer = anchorer
        self._clock = clock

    def get_accounts(self) -> tuple[bytes, ...]:
        # The default `from` of eth_call / eth_estimateGas: an account that can pay for gas.
        return (self._anchorer,)

    def reset_to_genesis(self, *args: object, **kwargs: object) -> None:
        raise ChainError("refused: the embedded chain keeps its history")

    def revert_to_snapshot(self, snapshot: object) -> None:
        raise ChainError("refused: the embedded chain keeps its history")

    def time_travel(self, to_timestamp: int) -> None:
        raise ChainError("refused: the embedded chain stamps blocks with the wall clock")

    def _stamp_pending_block(self) -> None:
        """Give the empty pending block the current time (it was made when its parent was
        mined, possibly long ago), keeping timestamps strictly increasing."""
        if self.chain.get_block().transactions:
            return
        parent = self.chain.get_canonical_head()
        timestamp = max(parent.timestamp + 1, int(self._clock()))
        self.chain.header = self.chain.header.copy(timestamp=timestamp)

    def send_raw_transaction(self, raw_transaction: bytes) -> bytes:
        self._stamp_pending_block()
        return cast(bytes, super().send_raw_transaction(raw_transaction))

    def send_signed_transaction(self, signed_transaction: Any, block_number: Any = "latest") -> Any:
        self._stamp_pending_block()
        return super().send_signed_transaction(signed_transaction, block_number)

    def mine_blocks(self, num_blocks: int = 1, coinbase: bytes = b"\x00" * 20) -> tuple[Any, ...]:
        hashes: list[Any] = []
        for _ in range(num_blocks):
            self._stamp_pending_block()
            hashes.extend(super().mine_blocks(1, coinbase))
        return tuple(hashes)

    def _find_transaction(self, tx_hash: bytes) -> tuple[Any, Any, int]:
        pending = self.chain.get_block()
        for index, transaction in enumerate(pending.transactions):
            if transaction.hash == tx_hash:
                return pending, transaction, index
        try:
            number, index = self.chain.chaindb.get_transaction_index(Hash32(tx_hash))
        except EVMTransactionNotFound as exc:
            raise TransactionNotFound(f"no transaction 0x{tx_hash.hex()}") from exc
        block = self.chain.get_canonical_block_by_number(number)
        return block, block.transactions[index], index

    def get_transaction_by_hash(self, transaction_hash: bytes) -> Any:
        block, transaction, index = self._find_transaction(transaction_hash)
        is_pending = block.number == self.chain.get_block().number
        return serialize_transaction(block, transaction, index, is_pending)

    def get_transaction_receipt(self, transaction_hash: bytes) -> Any:
        block, transaction, index = self._find_transaction(transaction_hash)
        is_pending = block.number == self.chain.get_block().number
        receipts = block.get_receipts(self.chain.chaindb)
        return serialize_transaction_receipt(
            block, receipts, transaction, index, is_pending, self.chain.get_vm()
        )


def _api_endpoints() -> dict[str, dict[str, Any]]:
    endpoints = {namespace: dict(methods) for namespace, methods in API_ENDPOINTS.items()}
    endpoints["eth"]["chainId"] = lambda tester, params: CHAIN_ID
    endpoints["net"]["version"] = lambda tester, params: str(CHAIN_ID)
    return endpoints


class _SerialisedProvider(EthereumTesterProvider):
    """EthereumTesterProvider whose every request holds the chain's lock and whose writes are
    committed to disk before they return."""

    def __init__(self, owner: EmbeddedChain, tester: EthereumTester) -> None:
        super().__init__(tester, api_endpoints=_api_endpoints())
        self._owner = owner

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        if method in _WRITE_METHODS:
            self._owner._wait_for_block_slot()
        with self._owner._lock:
            store = self._owner._open_store()
            try:
                return super().make_request(method, params)
            finally:
                store.commit()


class EmbeddedChain(Web3AnchorChain):
    """`Web3AnchorChain` over an in-process chain persisted under one directory (module doc).

    Build with `EmbeddedChain.open(directory)`; use as a context manager or call `close()`.
    All the `AnchorChain` methods (`deploy`, `anchor`, `anchored_at`, `find_anchor`, ...) are
    `Web3AnchorChain`'s, so the embedded chain and a real node behave the same.
    """

    def __init__(
        self,
        *,
        directory: Path,
        lock_fd: int,
        store: SqliteKeyValueStore,
        evm_chain: _EmbeddedPyEVMChain,
        private_key: bytes,
        clock: Callable[[], float],
        max_clock_lead: int,
        rpc_limits: RpcLimits,
    ) -> None:
        """Private: use `open()`."""
        self._directory = directory
        self._lock = threading.RLock()
        self._lock_fd: int | None = lock_fd
        self._store: SqliteKeyValueStore | None = store
        self._evm_chain = evm_chain
        self._clock = clock
        self._max_clock_lead = max_clock_lead
        anchorer = PrivateKey(private_key).public_key.to_canonical_address()
        backend = _DurableBackend(evm_chain, anchorer, clock)
        tester = EthereumTester(backend=backend, auto_mine_transactions=True)
        self._rpc = ReadOnlyRpc(evm_chain, chain_id=CHAIN_ID, limits=rpc_limits)
        super().__init__(
            Web3(_SerialisedProvider(self, tester)),
            private_key=private_key,
            contract_address=_registry_address(evm_chain, anchorer),
            confirmations=0,  # a block is final here: nothing can reorganise it
            poll_interval=0.01,  # the receipt exists once the send returns (auto-mining)
        )

    @classmethod
    def open(
        cls,
        directory: Path,
        *,
        create: bool = True,
        clock: Callable[[], float] = time.time,
        max_clock_lead: int = 0,
        rpc_limits: RpcLimits | None = None,
    ) -> EmbeddedChain:
        """Open the chain in `directory`, or with `create` make it (and the directory) first.

        `contract_address` is the registry the anchoring account deployed first (nonce 0), if
        there is one: after a restart the chain points at its registry again by itself.
        Raises ChainInUseError if another open holds the directory, ChainStoreError if there is
        no chain and `create` is false, or the store / key file is unusable.
        """
        directory = Path(directory)
        if create:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        elif not (directory / DB_FILE).is_file():
            raise ChainStoreError(f"no embedded chain in {directory} (and create=False)")
        lock_fd = _lock_directory(directory)
        try:
            db, store = open_atomic_db(directory / DB_FILE)
            try:
                has_head = _has_canonical_head(db)
                key = _load_key(directory / KEY_FILE, may_create=not has_head)
                if has_head:
                    evm_chain = _EmbeddedPyEVMChain(db)
                else:
                    evm_chain = _create_genesis(db, key, timestamp=int(clock()))
                store.commit()
                return cls(
                    directory=directory,
                    lock_fd=lock_fd,
                    store=store,
                    evm_chain=evm_chain,
                    private_key=key,
                    clock=clock,
                    max_clock_lead=max_clock_lead,
                    rpc_limits=rpc_limits or RpcLimits(),
                )
            except BaseException:
                store.close()
                raise
        except BaseException:
            os.close(lock_fd)
            raise

    # -- the public surface beyond Web3AnchorChain

    @property
    def w3(self) -> Web3:
        """web3 over this chain; every request is serialised with the chain's other users."""
        return self._w3

    @property
    def chain_id(self) -> int:
        return CHAIN_ID

    @property
    def directory(self) -> Path:
        return self._directory

    def rpc(self, method: str, params: list[Any]) -> Any:
        """Answer one read-only JSON-RPC request (`READ_ONLY_METHODS`) with the JSON `result` a
        node would return. Raises MethodNotAllowedError for any other method (writes above
        all), InvalidRequestError for bad params, other RpcError subclasses for failures."""
        with self._lock:
            self._open_store()
            return self._rpc.answer(method, params)

    def close(self) -> None:
        """Commit, close the store and release the directory; idempotent."""
        super().close()
        with self._lock:
            store, self._store = self._store, None
            lock_fd, self._lock_fd = self._lock_fd, None
            try:
                if store is not None:
                    store.close()
            finally:
                if lock_fd is not None:
                    os.close(lock_fd)  # closing the descriptor releases the flock

    def __enter__(self) -> EmbeddedChain:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._store is None else "open"
        return (
            f"EmbeddedChain(directory={str(self._directory)!r}, chain_id={CHAIN_ID}, "
            f"account={self.address}, contract={self.contract_address}, {state})"
        )

    __str__ = __repr__

    # -- internals shared with the provider

    def _open_store(self) -> SqliteKeyValueStore:
        if self._store is None:
            raise ChainStoreError(f"the embedded chain in {self._directory} is closed")
        return self._store

    def _wait_for_block_slot(self) -> None:
        """Sleep, without the lock, until the next block can carry a timestamp no more than
        `max_clock_lead` seconds ahead of the clock: at most about a second, when the last
        block was mined in this very second. If the chain is further ahead (the clock was set
        back, or an earlier run allowed a larger lead) waiting could take arbitrarily long, so
        blocks go on at one second past their parent instead, until the clock catches up."""
        while True:
            with self._lock:
                self._open_store()
                head_timestamp = self._evm_chain.get_canonical_head().timestamp
            delay = head_timestamp + 1 - self._max_clock_lead - self._clock()
            if delay <= 0 or delay > _MAX_SLOT_WAIT:
                return
            time.sleep(delay)


def _lock_directory(directory: Path) -> int:
    fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
        os.close(fd)
        raise ChainInUseError(
            f"the embedded chain in {directory} is already open (holder pid {holder}); "
            "only one process may use a chain directory: stop the other one first"
        ) from None
    except BaseException:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _has_canonical_head(db: AtomicDatabaseAPI) -> bool:
    try:
        _EmbeddedPyEVMChain.get_chaindb_class()(db).get_canonical_head()
    except CanonicalHeadNotFound:
        return False
    return True


def _load_key(path: Path, *, may_create: bool) -> bytes:
    """Read the anchoring key; on a brand-new chain create it first (0600, fsync'ed)."""
    if path.exists():
        try:
            key = bytes.fromhex(path.read_text(encoding="ascii").strip())
        except (OSError, ValueError) as exc:
            raise ChainStoreError(f"cannot read the anchoring key file {path}") from exc
        if len(key) != 32 or not 0 < int.from_bytes(key, "big") < _SECP256K1_ORDER:
            raise ChainStoreError(f"{path} does not hold a valid secp256k1 private key")
        return key
    if not may_create:
        raise ChainStoreError(
            f"{path} is missing: the chain exists but its anchoring account cannot sign"
        )
    while True:
        key = secrets.token_bytes(32)
        if 0 < int.from_bytes(key, "big") < _SECP256K1_ORDER:
            break
    partial = path.with_name(path.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, key.hex().encode("ascii") + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(partial, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return key


def _create_genesis(db: AtomicDatabaseAPI, key: bytes, *, timestamp: int) -> _EmbeddedPyEVMChain:
    anchorer = PrivateKey(key).public_key.to_canonical_address()
    params = PyEVMBackend.generate_genesis_params(overrides={"timestamp": timestamp})
    account = AccountDetails(balance=GENESIS_BALANCE_WEI, nonce=0, code=b"", storage={})
    state: AccountState = {Address(anchorer): account}
    _EmbeddedPyEVMChain.from_genesis(db, params, state)
    return _EmbeddedPyEVMChain(db)


def _registry_address(evm_chain: _EmbeddedPyEVMChain, anchorer: bytes) -> str | None:
    candidate = Address(keccak(rlp.encode([anchorer, 0]))[12:])
    if not evm_chain.get_vm(evm_chain.get_canonical_head()).state.get_code(candidate):
        return None
    return to_checksum_address(candidate)
