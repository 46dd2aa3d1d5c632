"""The capture path's fixed write statements on the driver's cursor (``core/driver.py``): the
same rows as ``Connection.execute`` writes, SQLAlchemy's errors, and everything it cannot take
left to ``Connection.execute``. On SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    delete,
    event,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError

from evidence_service.core import driver
from evidence_service.core.db import UTCDateTime, make_engine

T0 = datetime(2026, 12, 7, 8, 30, 15, 123456, tzinfo=UTC)


def _table(meta: MetaData, name: str) -> Table:
    return Table(
        name,
        meta,
        Column("id", String(26), primary_key=True),
        Column("at", UTCDateTime(), nullable=False),
        Column("doc", JSON, nullable=True),
        Column("size", Integer, nullable=False),
        Column("done", Boolean, nullable=False),
        Column("until", UTCDateTime(), nullable=True),
    )


META = MetaData()
VIA_DRIVER = _table(META, "via_driver")
VIA_SQLALCHEMY = _table(META, "via_sqlalchemy")
INSERTS = {t.name: insert(t) for t in (VIA_DRIVER, VIA_SQLALCHEMY)}
MARKS = {
    t.name: update(t).where(t.c.id == bindparam("mark_id")).values(done=True, until=bindparam("u"))
    for t in (VIA_DRIVER, VIA_SQLALCHEMY)
}
DROPS = {
    t.name: delete(t).where(t.c.id == bindparam("drop_id")) for t in (VIA_DRIVER, VIA_SQLALCHEMY)
}


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    META.create_all(engine)
    try:
        yield engine
    finally:
        engine.dispose()


def _rows(n: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"R{i:02d}",
            "at": T0 + timedelta(seconds=i),
            "doc": {"title": f"标题 {i}", "tags": [i, None], "ok": i % 2 == 0} if i else None,
            "size": 100_000 + i,
            "done": False,
            "until": None,
        }
        for i in range(n)
    ]


def _stored(conn: Connection, table: Table) -> list[tuple[Any, ...]]:
    """The rows as the database holds them (the driver's own values, no type processing)."""
    return list(conn.exec_driver_sql(f"SELECT * FROM {table.name} ORDER BY id").all())


def test_the_driver_stores_what_connection_execute_stores(engine: Engine) -> None:
    rows = _rows(5)
    for statement, names in (
        (INSERTS["via_driver"], tuple(rows[0])),
        (MARKS["via_driver"], ("mark_id", "u")),
        (DROPS["via_driver"], ("drop_id",)),
    ):  # the statements under test do take the driver path
        assert driver._compile(engine.dialect, statement, names) is not None  # noqa: SLF001
    with engine.begin() as conn:
        driver.execute(conn, INSERTS["via_driver"], rows[:1])  # one row: execute
        driver.execute(conn, INSERTS["via_driver"], rows[1:])  # several: executemany
        conn.execute(insert(VIA_SQLALCHEMY), rows)
    marks = [{"mark_id": "R01", "u": T0 + timedelta(days=3650)}, {"mark_id": "R03", "u": T0}]
    with engine.begin() as conn:
        driver.execute(conn, MARKS["via_driver"], marks)
        conn.execute(MARKS["via_sqlalchemy"], marks)
        driver.execute(conn, DROPS["via_driver"], [{"drop_id": "R04"}])
        conn.execute(DROPS["via_sqlalchemy"], {"drop_id": "R04"})
    with engine.connect() as conn:
        stored = _stored(conn, VIA_DRIVER)
        assert stored == _stored(conn, VIA_SQLALCHEMY)
        assert len(stored) == 4
        read = conn.execute(select(VIA_DRIVER).order_by(VIA_DRIVER.c.id)).mappings().all()
    assert [dict(r) for r in read] == [
        {**row, **({"done": True, "until": mark["u"]} if mark else {})}
        for row in rows[:4]
        for mark in [next((m for m in marks if m["mark_id"] == row["id"]), None)]
    ]


def test_a_duplicate_is_sqlalchemys_integrity_error_and_its_transaction_keeps_nothing(
    engine: Engine,
) -> None:
    rows = _rows(3)
    with engine.begin() as conn:
        driver.execute(conn, INSERTS["via_driver"], rows[:1])
    with pytest.raises(IntegrityError), engine.begin() as conn:
        driver.execute(conn, INSERTS["via_driver"], rows[1:])
        driver.execute(conn, INSERTS["via_driver"], [rows[0]])  # R00 again
    with engine.connect() as conn:
        assert [r[0] for r in _stored(conn, VIA_DRIVER)] == ["R00"]  # R01, R02 rolled back


def test_what_it_cannot_take_goes_through_sqlalchemy(engine: Engine) -> None:
    meta = MetaData()
    defaulted = Table(
        "defaulted",
        meta,
        Column("id", Integer, primary_key=True),
        Column("label", String(20), nullable=False, default="from-python"),
    )
    meta.create_all(engine)
    returning = insert(defaulted).returning(defaulted.c.id)
    with engine.begin() as conn:
        # A Python-side default is computed by SQLAlchemy at execution: the driver path
        # declines, and the row still gets it.
        driver.execute(conn, insert(defaulted), [{"id": 1}])
        driver.execute(conn, returning, [{"id": 2, "label": "given"}])
        driver.execute(
            conn, text("INSERT INTO defaulted (id, label) VALUES (:i, :l)"), [{"i": 3, "l": "text"}]
        )
    with engine.connect() as conn:
        assert conn.execute(select(defaulted).order_by(defaulted.c.id)).all() == [
            (1, "from-python"),
            (2, "given"),
            (3, "text"),
        ]
    assert driver._compile(engine.dialect, insert(defaulted), ("id",)) is None  # noqa: SLF001
    assert driver._compile(engine.dialect, returning, ("id", "label")) is None  # noqa: SLF001


def test_a_listener_to_the_engines_statements_sees_every_statement(engine: Engine) -> None:
    seen: list[str] = []

    def executed(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement.split()[0].upper() + " " + statement.split()[2])

    event.listen(engine, "before_cursor_execute", executed)
    try:
        with engine.begin() as conn:
            driver.execute(conn, INSERTS["via_driver"], _rows(2))
            driver.execute(conn, DROPS["via_driver"], [{"drop_id": "R00"}])
    finally:
        event.remove(engine, "before_cursor_execute", executed)
    assert seen == ["INSERT via_driver", "DELETE via_driver"]


def test_a_query_reads_what_connection_execute_reads(engine: Engine) -> None:
    rows = _rows(3)
    with engine.begin() as conn:
        conn.execute(insert(VIA_DRIVER), rows)
    query = (
        select(VIA_DRIVER.c.id, VIA_DRIVER.c.at, VIA_DRIVER.c.doc, VIA_DRIVER.c.done)
        .where(VIA_DRIVER.c.size >= bindparam("least"))
        .order_by(VIA_DRIVER.c.at.desc())
        .limit(1)
    )
    assert driver._compile(engine.dialect, query, ("least",)) is not None  # noqa: SLF001
    with engine.connect() as conn:
        for least in (100_000, 100_001, 100_002, 999_999):
            expected = conn.execute(query, {"least": least}).first()
            got = driver.first(conn, query, {"least": least})
            assert got == (tuple(expected) if expected is not None else None)
        got = driver.first(conn, query, {"least": 0})
    assert got == ("R02", rows[2]["at"], rows[2]["doc"], False)
    assert got[1].tzinfo is not None  # UTCDateTime's own result processing ran


def test_every_row_of_an_in_list_of_fixed_slots_reads_what_an_expanding_in_reads(
    engine: Engine,
) -> None:
    rows = _rows(6)
    with engine.begin() as conn:
        conn.execute(insert(VIA_DRIVER), rows)
    expanding = select(VIA_DRIVER.c.id, VIA_DRIVER.c.at).where(
        VIA_DRIVER.c.id.in_(bindparam("ids", expanding=True))
    )

    def slotted(slots: int) -> Any:
        return select(VIA_DRIVER.c.id, VIA_DRIVER.c.at).where(
            driver.in_slots(VIA_DRIVER.c.id, "id", slots)
        )

    assert [driver.slots(range(n)) for n in range(1, 10)] == [1, 2, 4, 4, 8, 8, 8, 8, 16]
    assert driver.slot_values(["a", "b", "c"], "id") == {
        "id0": "a",
        "id1": "b",
        "id2": "c",
        "id3": "c",
    }
    assert driver._compile(engine.dialect, slotted(4), ("id0", "id1", "id2", "id3"))  # noqa: SLF001
    with engine.connect() as conn:
        for keys in (["R00"], ["R01", "R04", "NONE"], ["R05", "R00", "R02", "R03", "R01"], ["X"]):
            query = slotted(driver.slots(keys))
            got = sorted(driver.every(conn, query, driver.slot_values(keys, "id")))
            assert got == sorted(tuple(r) for r in conn.execute(expanding, {"ids": keys}))
            assert {r[0] for r in got} == {k for k in keys if k.startswith("R")}
            assert all(r[1].tzinfo is not None for r in got)
