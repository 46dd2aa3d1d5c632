"""The sequencer: events recorded pending, chained in arrival order by one integrator at a time."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from evidence_service.anchoring.batches import close_batch, queue_document_leaf
from evidence_service.anchoring.models import LeafKind
from evidence_service.core.db import session_scope
from evidence_service.custody.log import (
    REPEAT_CHECK_WINDOW,
    CustodyAction,
    append_event,
    chain_head,
    iter_records,
    pending_event,
    record_event,
)
from evidence_service.custody.models import CustodyEvent
from evidence_service.custody.sequencer import integrate_pending
from evidence_service.verify.custody import GENESIS_HASH, link_hash, verify_records

T0 = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)


def append(engine: Engine, marker: str, at: datetime = T0, **kw: object) -> int:
    with session_scope(engine) as session:
        return append_event(session, action="viewed", at=at, details={"m": marker}, **kw)  # type: ignore[arg-type]


def rows(engine: Engine) -> list[CustodyEvent]:
    with Session(engine) as session:
        return list(session.exec(select(CustodyEvent).order_by(col(CustodyEvent.id))).all())


def chained(engine: Engine) -> list[dict[str, object]]:
    with Session(engine) as session:
        return list(iter_records(session))


def test_an_append_writes_a_pending_row_and_leaves_the_head_alone(engine: Engine) -> None:
    append(engine, "a")
    [row] = rows(engine)
    assert (row.seq, row.prev_hash, row.hash) == (None, None, None)
    with Session(engine) as session:
        assert chain_head(session).seq == 0 and chain_head(session).hash == GENESIS_HASH
    assert chained(engine) == []  # the chained form holds no pending event


def test_pending_events_are_chained_in_arrival_order(engine: Engine) -> None:
    # times out of order: the log orders by arrival, and `at` need not follow it
    ids = [append(engine, m, T0 - timedelta(minutes=i)) for i, m in enumerate("abcde")]
    assert integrate_pending(engine, limit=2) == 5  # three rounds of at most two
    records = chained(engine)
    assert [r["details"] for r in records] == [{"m": m} for m in "abcde"]
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5]
    assert verify_records(records) == (5, records[-1]["hash"])
    assert records[0]["prev_hash"] == GENESIS_HASH
    body = {k: records[2][k] for k in records[2] if k not in ("prev_hash", "hash")}
    assert link_hash(str(records[1]["hash"]), body) == records[2]["hash"]
    assert [r.id for r in sorted(rows(engine), key=lambda r: r.seq or 0)] == ids
    assert integrate_pending(engine) == 0  # nothing left, nothing rewritten
    assert chained(engine) == records


def test_events_appended_after_integration_extend_the_chain(engine: Engine) -> None:
    append(engine, "a")
    integrate_pending(engine)
    head = chained(engine)[-1]
    append(engine, "b")
    integrate_pending(engine)
    records = chained(engine)
    assert records[0] == head and records[1]["prev_hash"] == head["hash"]
    assert verify_records(records)[0] == 2


def test_concurrent_writers_and_integrators_make_one_gap_free_chain(engine: Engine) -> None:
    writers, each = 8, 25
    errors: list[BaseException] = []

    def write(k: int) -> None:
        try:
            for i in range(each):
                append(engine, f"{k}-{i}", evidence_id=f"E{k:025d}")
                if i % 5 == 0:
                    integrate_pending(engine, limit=7)  # integrators race the writers
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(k,)) for k in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    integrate_pending(engine)
    records = chained(engine)
    assert verify_records(records) == (writers * each, records[-1]["hash"])
    markers = [r["details"]["m"] for r in records]  # type: ignore[index]
    assert sorted(markers) == sorted(f"{k}-{i}" for k in range(writers) for i in range(each))
    for k in range(writers):  # each writer's events keep their order in the log
        mine = [m for m in markers if m.startswith(f"{k}-")]
        assert mine == [f"{k}-{i}" for i in range(each)]


def test_an_event_committed_late_is_chained_in_the_next_round(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite admits one writer at a time: no transaction can commit late")
    late = Session(engine)
    try:
        late_id = append_event(late, action="viewed", at=T0, details={"m": "late"})
        # its arrival id is taken now; it commits after the next one
        early_id = append(engine, "early")
        assert integrate_pending(engine) == 1
        late.commit()
    finally:
        late.close()
    assert integrate_pending(engine) == 1
    records = chained(engine)
    assert [r["details"] for r in records] == [{"m": "early"}, {"m": "late"}]
    assert verify_records(records)[0] == 2
    assert late_id < early_id


def test_a_repeated_check_is_recorded_once_whether_pending_or_chained(engine: Engine) -> None:
    times = iter([T0, T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)])

    def check(outcome: str = "valid") -> None:
        record_event(
            engine,
            action=CustodyAction.verified,
            clock=lambda: next(times, T0 + timedelta(minutes=3)),
            evidence_id="E" * 26,
            actor_id="A" * 26,
            details={"outcome": outcome},
        )

    check()
    check()  # the first is still pending: found among pending rows
    assert len(rows(engine)) == 1
    integrate_pending(engine)
    check()  # now chained: found among chained rows
    assert len(rows(engine)) == 1
    check("broken")  # another outcome is recorded at once
    assert len(rows(engine)) == 2
    record_event(
        engine,
        action=CustodyAction.verified,
        clock=lambda: T0 + REPEAT_CHECK_WINDOW + timedelta(minutes=5),
        evidence_id="E" * 26,
        actor_id="A" * 26,
        details={"outcome": "valid"},
    )
    assert len(rows(engine)) == 3  # after the window, recorded again


def test_a_closing_batch_anchors_a_head_covering_every_committed_event(engine: Engine) -> None:
    for m in "abc":
        append(engine, m)
    with session_scope(engine) as session:
        queue_document_leaf(session, LeafKind.evidence_list, {"n": 1}, T0)
    batch = close_batch(engine, max_leaves=16, now=T0)
    assert batch is not None
    records = chained(engine)
    assert batch.custody_seq == 3 == len(records)
    assert batch.custody_head == records[-1]["hash"]
    with Session(engine) as session:
        pending = session.exec(
            select(func.count()).select_from(CustodyEvent).where(col(CustodyEvent.seq).is_(None))
        ).one()
    assert pending == 0


def test_pending_event_is_the_row_append_event_writes_and_refuses_a_check(engine: Engine) -> None:
    statement, parameters = pending_event(
        action=CustodyAction.captured, at=T0, evidence_id=None, details={"m": "batched"}
    )
    with session_scope(engine) as session:
        session.connection().execute(statement, [parameters, {**parameters, "details": {}}])
    integrate_pending(engine)
    assert [(e.action, e.details, e.seq is not None) for e in rows(engine)] == [
        ("captured", {"m": "batched"}, True),
        ("captured", {}, True),
    ]
    records = chained(engine)
    assert verify_records(records) == (2, records[-1]["hash"])
    with pytest.raises(ValueError, match="is a check"):
        pending_event(action=CustodyAction.verified, at=T0, actor_id="someone")
