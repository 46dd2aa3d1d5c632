"""Intake rows written ahead (``capture/reserved.py``): every id handed out has its intake row
committed first, and only once; a busy stream of captures shares the writes; a row that aged
unused is dropped, never handed out; a failed write hands out nothing; unused rows are dropped
on shutdown and left alone by this process's reaper."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import Session

from evidence_service.capture.ingest import final_key
from evidence_service.capture.models import PendingIntake
from evidence_service.capture.reaper import reap
from evidence_service.capture.reserved import IntakeReservations
from evidence_service.core.clock import utcnow
from evidence_service.services import Services
from tests.concurrently import all_at_once
from tests.service.helpers import intake_ids


def test_every_id_has_its_row_committed_before_it_is_handed_out_and_takes_share_writes(
    services: Services,
) -> None:
    reserved = services.ingestor.reserved
    written: list[int] = []
    dropped: list[int] = []  # rows that aged unused: a loaded machine may take 2 s to hand out

    def executed(_conn: Any, _cursor: Any, sql: str, params: Any, _ctx: Any, many: bool) -> None:
        rows = len(params) if many else 1
        if sql.lower().startswith("insert into pendingintake"):
            written.append(rows)
        elif sql.lower().startswith("delete from pendingintake"):
            dropped.append(rows)

    def take(_: int) -> tuple[str, str, PendingIntake | None]:
        evidence_id, key = reserved.take()
        with Session(services.engine) as session:  # another connection: sees only commits
            return evidence_id, key, session.get(PendingIntake, evidence_id)

    event.listen(services.engine, "before_cursor_execute", executed)
    try:
        outcomes = all_at_once(take, range(40))
    finally:
        event.remove(services.engine, "before_cursor_execute", executed)
    taken = [o for o in outcomes.values() if not isinstance(o, Exception)]
    assert len(taken) == 40
    assert len({evidence_id for evidence_id, _, _ in taken}) == 40  # each id once
    for evidence_id, key, row in taken:
        assert row is not None and row.object_key == key
        assert key == final_key(evidence_id, row.started_at)
    # A row for each id handed out, each row written once: the rest are not handed out yet or
    # were dropped unused, and the handed-out ids' rows are all still there.
    assert sum(written) == 40 + len(reserved.unused()) + sum(dropped)
    assert intake_ids(services.engine) == {e for e, _, _ in taken} | reserved.unused()
    assert len(written) < 40 and max(written) > 1  # several ids to a transaction


def test_unused_rows_are_dropped_on_shutdown_and_kept_from_this_process_s_reaper(
    services: Services,
) -> None:
    ingestor = services.ingestor
    handed_out = {ingestor.reserved.take()[0] for _ in range(5)}  # a stream: later writes grow
    unused = ingestor.reserved.unused()
    assert unused and not unused & handed_out
    assert intake_ids(services.engine) == handed_out | unused

    # The handed-out ids are captures that died without a row; the rest may still be handed out.
    report = reap(ingestor, temp_ttl=timedelta(0))
    assert report.abandoned_intakes == len(handed_out)
    assert intake_ids(services.engine) == unused

    ingestor.close()
    assert intake_ids(services.engine) == set() and ingestor.reserved.unused() == set()


class _Recorder:
    """A write that records what it was asked, and fails while ``failing``."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], list[str]]] = []
        self.failing = False

    def __call__(self, rows: list[dict[str, Any]], dropped: list[str]) -> None:
        if self.failing:
            raise RuntimeError("the database is away")
        self.calls.append(([row["id"] for row in rows], list(dropped)))


def _stream(reserved: IntakeReservations, count: int) -> set[str]:
    return {reserved.take()[0] for _ in range(count)}


def test_a_row_that_aged_unused_is_dropped_with_the_next_write_and_never_handed_out() -> None:
    write = _Recorder()
    reserved = IntakeReservations(write, utcnow, final_key, seconds=0.2)
    handed_out = _stream(reserved, 5)
    aged = reserved.unused()
    assert aged  # written ahead for a stream that stopped

    time.sleep(0.25)
    evidence_id, _ = reserved.take()
    assert evidence_id not in aged and not aged & handed_out
    new_rows, dropped = write.calls[-1]
    assert set(dropped) == aged and evidence_id in new_rows
    assert reserved.unused() == set(new_rows) - {evidence_id}

    reserved.release()
    assert write.calls[-1] == ([], sorted(set(new_rows) - {evidence_id}, key=new_rows.index))
    assert reserved.unused() == set()


def test_a_failed_write_hands_out_nothing_and_its_drops_wait_for_the_next() -> None:
    write = _Recorder()
    reserved = IntakeReservations(write, utcnow, final_key, seconds=0.2)
    _stream(reserved, 5)
    aged = reserved.unused()
    time.sleep(0.25)

    write.failing = True
    with pytest.raises(RuntimeError, match="away"):
        reserved.take()
    assert reserved.unused() == aged  # nothing new; the aged ids still to drop

    write.failing = False
    evidence_id, _ = reserved.take()
    new_rows, dropped = write.calls[-1]
    assert set(dropped) == aged and new_rows[0] == evidence_id
