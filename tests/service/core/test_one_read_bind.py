"""One-query reads on PostgreSQL run in autocommit (``core/db.one_read_bind``): no BEGIN and no
ROLLBACK around the query. The pool's connections go back to transactions afterwards, so a
write on the same connection is still one atomic transaction."""

from __future__ import annotations

from pathlib import Path

from psycopg.pq import TransactionStatus
from sqlalchemy import text

from evidence_service.core.db import make_engine, one_read_bind


def test_a_one_query_read_opens_no_transaction_and_leaves_the_pool_transactional(
    postgres_url: str,
) -> None:
    engine = make_engine(postgres_url)
    engine.pool.dispose()
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
        with one_read_bind(engine).connect() as conn:
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
        assert one_read_bind(engine) is engine  # SQLite begins its reads on the driver, cheaply
    finally:
        engine.dispose()
