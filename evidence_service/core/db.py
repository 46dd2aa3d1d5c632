"""Engine and session set-up for SQLite (embedded) and PostgreSQL, and the custody write lock.

Writers that extend the custody hash chain must be serialised: on PostgreSQL a transaction-scoped
advisory lock; on SQLite a write transaction (``session_scope``) takes an in-process lock and then
begins IMMEDIATE (one writer at a time, no forks of the chain head, and no busy-wait sleeps inside
SQLite). Read-only sessions begin DEFERRED and never wait for writers (WAL).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Engine, Integer, event, inspect, text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import DateTime, TypeDecorator
from sqlmodel import Field, Session, SQLModel, create_engine

CUSTODY_LOCK_KEY = 0x45564944  # "EVID"


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
        engine = create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)
    return engine


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
        writes = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


class SchemaOutdatedError(RuntimeError):
    """The database was made by an older version: tables lack columns this version writes."""


def create_schema(engine: Engine) -> None:
    """Create missing tables; refuse a database whose existing tables lack columns (made by
    an older version — no migrations ship yet), before any request half-works on it.

    The tables are those registered on ``SQLModel.metadata`` by the wings' ``models`` modules;
    ``evidence_service.services`` imports every one of them before it calls this."""
    SQLModel.metadata.create_all(engine)
    inspector = inspect(engine)
    missing = []
    for table in SQLModel.metadata.sorted_tables:
        present = {c["name"] for c in inspector.get_columns(table.name)}
        missing += [f"{table.name}.{c.name}" for c in table.columns if c.name not in present]
    if missing:
        raise SchemaOutdatedError(
            f"the database at {engine.url.render_as_string(hide_password=True)} was created by "
            f"an older version and lacks {', '.join(missing)}; export its evidence and start on "
            "a new database (schema migrations are not shipped yet)"
        )


WRITE_OPTION = "evidence_writes"
_sqlite_writer_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _sqlite_writer_lock(engine: Engine) -> threading.Lock:
    """One lock per SQLite database file in this process, shared by every engine on it."""
    with _locks_guard:
        return _sqlite_writer_locks.setdefault(str(engine.url.database), threading.Lock())


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A write transaction: commits on success, rolls back on any exception.

    On SQLite the writers of this process queue on a lock before BEGIN IMMEDIATE, so they wait
    in order instead of in SQLite's sleeping busy handler.
    """
    guard: threading.Lock | nullcontext[None] = nullcontext()
    bind = engine
    if engine.dialect.name == "sqlite":
        guard = _sqlite_writer_lock(engine)
        bind = engine.execution_options(**{WRITE_OPTION: True})
    with guard, Session(bind, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def lock_custody_chain(session: Session) -> None:
    """Serialise custody-chain writers for the rest of this transaction."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.exec(text("SELECT pg_advisory_xact_lock(:k)").bindparams(k=CUSTODY_LOCK_KEY))  # type: ignore[call-overload]
    # SQLite: the transaction already began IMMEDIATE, so it holds the single write lock.
