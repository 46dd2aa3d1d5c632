"""py-evm's key-value database on one SQLite file, so the embedded chain survives restarts.

py-evm stores everything (headers, bodies, receipts, the transaction index, state tries, the
canonical head) as opaque bytes under opaque keys. `SqliteKeyValueStore` is that store;
`open_atomic_db` wraps it in py-evm's own `AtomicDB`, which buffers each `atomic_batch()` and
applies it only if the batch finishes without raising.

Durability is explicit: every write joins one open SQLite transaction, and `commit()` makes all
of them durable together (WAL, `synchronous=FULL`, so one fsync). A crash before `commit()`
loses the uncommitted writes and nothing else, which is what the embedded chain wants: it
commits once per write request, so a mined block is on disk, with the state it produced,
before the request returns, or none of it is.

Not thread-safe by itself: the caller serialises every access (the embedded chain's lock).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from eth.db.atomic import AtomicDB
from eth.db.backends.base import BaseDB

from chain.errors import ChainStoreError

_SCHEMA = "CREATE TABLE IF NOT EXISTS kv (key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID"


class SqliteKeyValueStore(BaseDB):
    """get/set/delete/exists over table `kv(key BLOB PRIMARY KEY, value BLOB)`."""

    def __init__(self, path: Path) -> None:
        try:
            # isolation_level=None: no implicit transactions; writes BEGIN one, commit() ends it.
            self._conn: sqlite3.Connection | None = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False
            )
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute(_SCHEMA)
        except sqlite3.Error as exc:
            raise ChainStoreError(f"cannot open chain store {path}: {exc}") from exc
        self.path = path

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ChainStoreError(f"chain store {self.path} is closed")
        return self._conn

    def _begin_if_needed(self, conn: sqlite3.Connection) -> None:
        if not conn.in_transaction:
            conn.execute("BEGIN IMMEDIATE")

    def __getitem__(self, key: bytes) -> bytes:
        try:
            row = (
                self._connection().execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
            )
        except sqlite3.Error as exc:
            raise ChainStoreError(f"chain store read failed: {exc}") from exc
        if row is None:
            raise KeyError(key)
        value: bytes = row[0]
        return value

    def __setitem__(self, key: bytes, value: bytes) -> None:
        conn = self._connection()
        try:
            self._begin_if_needed(conn)
            conn.execute("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", (key, value))
        except sqlite3.Error as exc:
            raise ChainStoreError(f"chain store write failed: {exc}") from exc

    def __delitem__(self, key: bytes) -> None:
        conn = self._connection()
        try:
            self._begin_if_needed(conn)
            deleted = conn.execute("DELETE FROM kv WHERE key = ?", (key,)).rowcount
        except sqlite3.Error as exc:
            raise ChainStoreError(f"chain store write failed: {exc}") from exc
        if deleted == 0:
            raise KeyError(key)

    def _exists(self, key: bytes) -> bool:
        try:
            row = self._connection().execute("SELECT 1 FROM kv WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error as exc:
            raise ChainStoreError(f"chain store read failed: {exc}") from exc
        return row is not None

    def __len__(self) -> int:
        try:
            (count,) = self._connection().execute("SELECT COUNT(*) FROM kv").fetchone()
        except sqlite3.Error as exc:
            raise ChainStoreError(f"chain store read failed: {exc}") from exc
        return int(count)

    @property
    def has_uncommitted_writes(self) -> bool:
        return self._conn is not None and self._conn.in_transaction

    def commit(self) -> None:
        """Make every write since the last commit durable (one fsync); no-op if there are none."""
        conn = self._connection()
        if conn.in_transaction:
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise ChainStoreError(f"chain store commit failed: {exc}") from exc

    def close(self) -> None:
        """Commit what is pending and close the file; later use raises ChainStoreError."""
        if self._conn is None:
            return
        try:
            self.commit()
        finally:
            self._conn.close()
            self._conn = None

    def __repr__(self) -> str:
        return f"SqliteKeyValueStore({str(self.path)!r})"


def open_atomic_db(path: Path) -> tuple[AtomicDB, SqliteKeyValueStore]:
    """py-evm's `AtomicDB` over a `SqliteKeyValueStore`; keep the store to `commit()`/`close()`."""
    store = SqliteKeyValueStore(path)
    return AtomicDB(store), store
