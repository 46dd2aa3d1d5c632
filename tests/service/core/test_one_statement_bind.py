"""One-statement work on PostgreSQL runs in autocommit (``core/db.one_statement_bind``, and
``write_connection`` with ``one_statement``): no BEGIN, ROLLBACK or COMMIT around the statement.
The pool's connections go back to transactions afterwards, so a write on the same connection
is still one atomic transaction."""

from __future__ import annotations

from pathlib import Path

import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from evidence_service.core.db import make_engine, one_statement_bind, write_connection


def test_a_one_query_read_opens_no_transaction_and_leaves_the_pool_transactional(
    postgres_url: str,
) -> None:
    engine = make_engine(postgres_url)
    engine.pool.dispose()
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
        with one_statement_bind(engine).connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 0
            driver = conn.connection.driver_connection
            assert driver.info.transaction_status == TransactionStatus.IDLE  # no BEGIN sent
        with engine.connect() as conn:  # the same pooled connection (the pool holds one)
            assert conn.connection.driver_connection is driver
            assert not driver.autocommit
            conn.execute(text("INSERT INTO t VALUES (1)"))
            assert driver.info.transaction_status == TransactionStatus.INTRANS
            conn.rollback()
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 0  # rolled back
    finally:
        engine.dispose()


def test_on_sqlite_a_one_query_read_is_the_engine_itself(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        assert one_statement_bind(engine) is engine  # SQLite begins reads on the driver, cheaply
    finally:
        engine.dispose()


def test_a_one_statement_write_commits_alone_and_a_failed_one_keeps_nothing(
    postgres_url: str,
) -> None:
    engine = make_engine(postgres_url)
    other = make_engine(postgres_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER PRIMARY KEY)"))
        with write_connection(engine, one_statement=True) as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))
            driver = conn.connection.driver_connection
            assert driver.info.transaction_status == TransactionStatus.IDLE  # committed already
            with other.connect() as seen:  # visible before the block ends: no COMMIT to wait for
                assert seen.execute(text("SELECT x FROM t")).scalars().all() == [1]
        with pytest.raises(IntegrityError), write_connection(engine, one_statement=True) as conn:
            conn.execute(text("INSERT INTO t VALUES (1), (2)"))  # one statement: all or nothing
        with write_connection(engine) as conn:  # a transaction again, on the same connection
            conn.execute(text("INSERT INTO t VALUES (3)"))
            assert conn.connection.driver_connection.info.transaction_status == (
                TransactionStatus.INTRANS
            )
        with other.connect() as seen:
            assert seen.execute(text("SELECT x FROM t ORDER BY x")).scalars().all() == [1, 3]
    finally:
        engine.dispose()
        other.dispose()
