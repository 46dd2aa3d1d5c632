"""SQLite transactions begin on the driver (``core/db.py``): reads with BEGIN, writes with
BEGIN IMMEDIATE, and a BEGIN that fails surfaces as SQLAlchemy's error, as the API expects."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from evidence_service.core.db import WRITE_OPTION, make_engine, write_connection


def _table_t(tmp_path: Path) -> tuple[Path, Engine]:
    """A new SQLite database with an empty table ``t``, and an engine on it."""
    database = tmp_path / "t.db"
    engine = make_engine(f"sqlite:///{database}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    return database, engine


def test_reads_begin_deferred_and_writes_take_the_write_lock_at_begin(tmp_path: Path) -> None:
    database, engine = _table_t(tmp_path)
    other = sqlite3.connect(database, isolation_level=None)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT count(*) FROM t"))
            assert conn.connection.driver_connection.in_transaction
            other.execute("BEGIN IMMEDIATE")  # a read transaction does not hold the write lock
            other.execute("ROLLBACK")
        with engine.execution_options(**{WRITE_OPTION: True}).connect() as conn:
            conn.execute(text("SELECT count(*) FROM t"))
            other.execute("PRAGMA busy_timeout=0")
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")  # the writer holds it from its BEGIN on
    finally:
        other.close()
        engine.dispose()


def test_a_begin_refused_by_a_locked_database_is_sqlalchemys_operational_error(
    tmp_path: Path,
) -> None:
    database, engine = _table_t(tmp_path)
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with engine.execution_options(**{WRITE_OPTION: True}).connect() as conn:
            conn.connection.driver_connection.execute("PRAGMA busy_timeout=0")
            with pytest.raises(OperationalError, match="BEGIN IMMEDIATE") as caught:
                conn.execute(text("INSERT INTO t VALUES (1)"))
            assert isinstance(caught.value.orig, sqlite3.OperationalError)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        engine.dispose()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar_one() == 0


def test_a_write_connection_holds_the_write_lock_and_commits_or_keeps_nothing(
    tmp_path: Path,
) -> None:
    database, engine = _table_t(tmp_path)
    other = sqlite3.connect(database, isolation_level=None)
    other.execute("PRAGMA busy_timeout=0")
    try:
        with write_connection(engine) as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        with pytest.raises(RuntimeError, match="refused"), write_connection(engine) as conn:
            conn.execute(text("INSERT INTO t VALUES (2)"))
            raise RuntimeError("refused")
        assert other.execute("SELECT x FROM t").fetchall() == [(1,)]
    finally:
        other.close()
        engine.dispose()
