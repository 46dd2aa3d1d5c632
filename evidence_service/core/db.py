"""Engine and session set-up for SQLite (embedded) and PostgreSQL, and the custody write lock.

Writers that extend the custody hash chain must be serialised: on PostgreSQL a transaction-scoped
advisory lock; on SQLite a write transaction (``session_scope``) takes an in-process lock and then
begins IMMEDIATE (one writer at a time, no forks of the chain head, and no busy-wait sleeps inside
SQLite). Read-only sessions begin DEFERRED and never wait for writers (WAL).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from typing import Any

from alembic.migration import MigrationContext
from alembic.util import CommandError as AlembicError
from sqlalchemy import BigInteger, Column, Connection, Engine, Integer, event, inspect, text
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.types import DateTime, TypeDecorator
from sqlmodel import Field, Session, SQLModel, create_engine

from evidence_service.migrations import head_revision, script_directory

CUSTODY_LOCK_KEY = 0x45564944  # "EVID"
CUSTODY_CHECK_LOCK_CLASS = 0x45564943  # "EVIC": the first key of a repeat check's lock


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both databases (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


#: A 64-bit integer key that SQLite still treats as its auto-incrementing rowid.
AutoBigInt = BigInteger().with_variant(Integer(), "sqlite")


def utc_column(**kw: Any) -> Any:
    """A model field stored as a timezone-aware UTC datetime column."""
    return Field(sa_column=Column(UTCDateTime(), **kw))


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=8,
            max_overflow=8,
        )
        _configure_sqlite(engine)
    else:
        engine = create_engine(
            url, pool_size=10, max_overflow=10, pool_recycle=PG_POOL_RECYCLE_SECONDS
        )
        _ping_after_idle(engine, PG_PING_AFTER_IDLE_SECONDS)
    return engine


#: A pooled PostgreSQL connection idle this long is pinged before use (a busy pool is not: a
#: ping per checkout cost ~10 % of a small capture's time).
PG_PING_AFTER_IDLE_SECONDS = 10.0
#: and none is kept longer than this (firewalls and proxies drop long-lived connections).
PG_POOL_RECYCLE_SECONDS = 1800


def _ping_after_idle(engine: Engine, idle_seconds: float) -> None:
    """Pessimistic disconnect handling only where it pays: a connection that sat idle (the
    database may have restarted meanwhile) is pinged at checkout and replaced if dead. A
    connection that dies while busy fails its statement once; SQLAlchemy then marks it and
    every older pooled connection invalid, and the API answers 503 ``database-unavailable``
    (``api/problems.py``) — the next request gets a fresh connection."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return
        try:
            with dbapi_conn.cursor() as cursor:
                cursor.execute("SELECT 1")
            dbapi_conn.rollback()  # out of the ping's transaction: an autocommit read follows
        except Exception as exc:  # any failure: let the pool connect afresh
            raise DisconnectionError(f"pooled connection is dead: {exc}") from exc


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let us issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Straight to the driver: every transaction begins here, and a statement through
        # SQLAlchemy's execution path costs several times the BEGIN itself. Errors are wrapped
        # as that path would wrap them (a locked database is an OperationalError: 503).
        begin = "BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE_OPTION) else "BEGIN"
        try:
            conn.connection.driver_connection.execute(begin)
        except sqlite3.Error as exc:
            raise DBAPIError.instance(begin, None, exc, sqlite3.Error) from exc


class SchemaOutdatedError(RuntimeError):
    """The database is not at this version's schema revision (older, newer or unrecorded)."""


#: What to run on a database an older version made.
UPGRADE_COMMAND = "evidence db upgrade"
SCHEMA_LOCK_KEY = 0x45564453  # "EVDS": one process creates an empty database's tables


def create_schema(engine: Engine) -> None:
    """Create an empty database at the head revision; open one at head; refuse anything else.

    An empty database gets every table at once (``create_all``) and is stamped with the head
    revision, in one transaction: the schema the migrations build, which a test checks. A
    database at another revision, or with the service's tables and no revision (made before
    migrations shipped), raises SchemaOutdatedError naming ``evidence db upgrade`` before any
    request half-works on it. A database at head costs one read of ``alembic_version``.
    Processes starting together on an empty database queue (PostgreSQL: an advisory lock;
    SQLite: BEGIN IMMEDIATE) so one creates and the others find it at head.

    The tables are those registered on ``SQLModel.metadata`` by the wings' ``models`` modules;
    ``evidence_service.services`` imports every one of them before it calls this."""
    head = head_revision()
    where = engine.url.render_as_string(hide_password=True)
    with _schema_transaction(engine) as conn:
        revision = _recorded_revision(conn)
        if revision == head:
            return
        if revision is not None and not _known(revision):
            raise SchemaOutdatedError(
                f"the database at {where} is at schema revision {revision}, which this version "
                f"does not know (its newest is {head}): it was upgraded by a newer version; run "
                "that version"
            )
        if revision is not None:
            raise SchemaOutdatedError(
                f"the database at {where} is at schema revision {revision} and this version "
                f"needs {head}: run `{UPGRADE_COMMAND}` (after a backup), then start again"
            )
        tables = set(inspect(conn).get_table_names()) & set(SQLModel.metadata.tables)
        if tables:
            raise SchemaOutdatedError(
                f"the database at {where} has the service's tables but no schema revision (made "
                f"before migrations shipped): run `{UPGRADE_COMMAND}` (after a backup), which "
                "recognises it, then start again"
            )
        SQLModel.metadata.create_all(conn)
        MigrationContext.configure(conn).stamp(script_directory(), head)


def _known(revision: str) -> bool:
    try:
        return script_directory().get_revision(revision) is not None
    except AlembicError:
        return False


def _recorded_revision(conn: Connection) -> str | None:
    """The revision in ``alembic_version`` (None: no such table), read without Alembic's
    start-up logging."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return ", ".join(sorted(rows)) or None


@contextmanager
def _schema_transaction(engine: Engine) -> Iterator[Connection]:
    if engine.dialect.name == "sqlite":
        with engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
            yield conn
        return
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SCHEMA_LOCK_KEY})
        yield conn


WRITE_OPTION = "evidence_writes"
_sqlite_writer_locks: dict[str, _WriterQueue] = {}
_locks_guard = threading.Lock()


class _WriterQueue:
    """The queue SQLite writers wait in before BEGIN IMMEDIATE: a thread lock for this process,
    then an exclusive ``flock`` on a file beside the database for the other processes on it
    (``evidence serve`` with several workers). The kernel wakes the next writer the moment the
    lock is free, where SQLite's own busy handler would poll with growing sleeps."""

    def __init__(self, database: str) -> None:
        self._thread_lock = threading.Lock()
        self._path = f"{database}-writer.lock" if database not in ("", ":memory:") else None
        self._fd: int | None = None

    def __enter__(self) -> None:
        self._thread_lock.acquire()
        if self._path is None:
            return
        try:
            if self._fd is None:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._thread_lock.release()
            raise

    def __exit__(self, *exc: object) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()


def _sqlite_writer_lock(engine: Engine) -> _WriterQueue:
    """One writer queue per SQLite database file in this process, shared by every engine on
    it (and, through its lock file, with every process on it)."""
    database = str(engine.url.database or "")
    with _locks_guard:
        queue = _sqlite_writer_locks.get(database)
        if queue is None:
            queue = _sqlite_writer_locks[database] = _WriterQueue(database)
        return queue


_write_binds: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


def _writer(engine: Engine) -> tuple[_WriterQueue | nullcontext[None], Engine]:
    """The in-process queue and the bind of a write transaction (built once per engine)."""
    if engine.dialect.name != "sqlite":
        return nullcontext(), engine
    bind = _write_binds.get(engine)
    if bind is None:
        bind = _write_binds[engine] = engine.execution_options(**{WRITE_OPTION: True})
    return _sqlite_writer_lock(engine), bind


_autocommit_binds: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


def one_statement_bind(engine: Engine) -> Engine:
    """The bind of a read that is one query (or of queries that need no common snapshot).

    On PostgreSQL its connections run in autocommit: the query goes alone, without the
    ``BEGIN`` before it and the ``ROLLBACK`` after, two round trips that cost about as much
    Python in the driver as the query itself. SQLite begins its reads on the driver, at no
    such cost, so there it is the engine itself. (Writes of one statement: ``write_connection``
    with ``one_statement``.)"""
    if engine.dialect.name == "sqlite":
        return engine
    bind = _autocommit_binds.get(engine)
    if bind is None:
        bind = _autocommit_binds[engine] = engine.execution_options(isolation_level="AUTOCOMMIT")
    return bind


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A write transaction: commits on success, rolls back on any exception.

    On SQLite the writers of this process queue on a lock before BEGIN IMMEDIATE, so they wait
    in order instead of in SQLite's sleeping busy handler.
    """
    guard, bind = _writer(engine)
    with guard, Session(bind, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def write_connection(engine: Engine, *, one_statement: bool = False) -> Iterator[Connection]:
    """:func:`session_scope`'s write transaction on a plain connection, for writers that need
    no ORM session (an ORM session costs about half as much again as the connection itself).

    ``one_statement``: the block runs one statement with one set of parameters, atomic by
    itself. On PostgreSQL it then commits alone (autocommit): one round trip where ``BEGIN``,
    the statement and ``COMMIT`` take three, and as durable (``synchronous_commit`` holds for
    it as for a ``COMMIT``). SQLite writes still queue and ``BEGIN IMMEDIATE``."""
    if one_statement and engine.dialect.name != "sqlite":
        with one_statement_bind(engine).connect() as connection:
            yield connection
        return
    guard, bind = _writer(engine)
    with guard, bind.begin() as conn:
        yield conn


def lock_custody_chain(session: Session) -> None:
    """Serialise custody-chain writers (the sequencer, a batch closing on the head) for the
    rest of this transaction. Requests appending events do not take it."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.exec(text("SELECT pg_advisory_xact_lock(:k)").bindparams(k=CUSTODY_LOCK_KEY))  # type: ignore[call-overload]
    # SQLite: the transaction already began IMMEDIATE, so it holds the single write lock.


ISSUERS_LOCK_KEY = 0x45564944_43410000  # "EVIDCA": department CAs and officer certificates


def lock_issuers(session: Session) -> None:
    """Serialise issuers of department CAs and officer certificates for the rest of this
    transaction (a department's first CA is made once, a certificate renewed once). On SQLite
    the transaction already holds the single write lock."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.exec(text("SELECT pg_advisory_xact_lock(:k)").bindparams(k=ISSUERS_LOCK_KEY))  # type: ignore[call-overload]


def lock_custody_check(session: Session, key: str) -> None:
    """Serialise writers of one kind of custody event (``key``) for the rest of this
    transaction — so two identical checks at once are recorded once — and nobody else. On
    PostgreSQL an advisory lock in the two-key space (apart from :data:`CUSTODY_LOCK_KEY`)."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        digest = hashlib.sha256(key.encode()).digest()
        session.exec(  # type: ignore[call-overload]
            text("SELECT pg_advisory_xact_lock(:c, :k)").bindparams(
                c=CUSTODY_CHECK_LOCK_CLASS, k=int.from_bytes(digest[:4], "big", signed=True)
            )
        )
    # SQLite: the transaction already holds the single write lock.
