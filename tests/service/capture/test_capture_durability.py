"""A capture answered 201 survives a power cut: the order of its fsyncs and commits.

The crash ordering of ``capture/ingest.py``: the intake row is committed before the bytes are
stored; the bytes (file, then directory entry) are fsynced before the row that records them
commits; the retention sidecar (file, then directory entry) is fsynced before the finalized mark
commits; all of it before the 201. The one-statement transactions share commits with other
captures (``capture/group_commit.py``), and a failure anywhere keeps nothing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import bindparam, delete, event, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from evidence_service.capture.group_commit import GroupCommitter, Later, _run_merged, _Statement
from evidence_service.capture.models import Evidence, PendingIntake
from evidence_service.capture.reaper import reap
from evidence_service.core.clock import utcnow
from evidence_service.core.db import session_scope
from evidence_service.core.errors import BadRequestError
from evidence_service.services import Services, build_services
from tests import samples
from tests.concurrently import all_at_once
from tests.fixtures.service import Api, make_settings, running_api
from tests.service.helpers import (
    assert_no_intake_left,
    assert_problem,
    counts,
    stored_keys,
    upload,
)


@pytest.fixture
def local_api(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Api]:
    services = build_services(make_settings(tmp_path, "sqlite-local", request))
    try:
        with running_api(services, "sqlite-local") as api:
            yield api
    finally:
        services.close()


def _record_effects(api: Api, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every fsync (by path) and every commit (by the statements it committed), in order."""
    effects: list[tuple[str, str]] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        effects.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    engine = api.services.engine
    statements: dict[int, list[str]] = {}

    def executed(conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        statements.setdefault(id(conn), []).append(sql.split("(")[0].strip().lower())

    def committed(conn: Any) -> None:
        done = statements.pop(id(conn), [])
        if done:
            effects.append(("commit", " | ".join(done)))

    event.listen(engine, "before_cursor_execute", executed)
    event.listen(engine, "commit", committed)
    event.listen(engine, "rollback", lambda conn: statements.pop(id(conn), None))
    return effects


def _first(effects: list[tuple[str, str]], kind: str, *parts: str) -> int:
    for index, (what, detail) in enumerate(effects):
        if what == kind and all(part in detail for part in parts):
            return index
    raise AssertionError(f"no {kind} with {parts} in {effects}")


def test_bytes_row_and_retention_are_durable_in_order_before_the_201(
    local_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    effects = _record_effects(local_api, monkeypatch)
    response = upload(local_api, "electronic", b"evidence bytes " * 1000)
    assert response.status_code == 201, response.text
    body = response.json()
    evidence_id = body["id"]
    assert body["finalized"] is True
    root = local_api.services.settings.objects_dir.resolve()
    with Session(local_api.services.engine) as session:
        row = session.get(Evidence, evidence_id)
        assert row is not None and row.finalized and row.retention_until is not None
        key_dir = str(root / Path(row.object_key).parent)
        meta_dir = str(root / ".meta" / Path(row.object_key).parent)

    intake = _first(effects, "commit", "insert into pendingintake")
    object_file = _first(effects, "fsync", key_dir + "/." + evidence_id)
    object_dir = next(
        i for i, e in enumerate(effects) if i > object_file and e == ("fsync", key_dir)
    )
    recorded = _first(effects, "commit", "insert into evidence")
    sidecar_file = _first(effects, "fsync", meta_dir + "/." + evidence_id + ".json")
    sidecar_dir = next(
        i for i, e in enumerate(effects) if i > sidecar_file and e == ("fsync", meta_dir)
    )
    finalized = _first(effects, "commit", "update evidence")
    assert intake < object_file < object_dir < recorded < sidecar_file < sidecar_dir < finalized
    # the row, its leaf, its custody event and the intake row's removal are one transaction
    row_commit = effects[recorded][1]
    assert "insert into anchorleaf" in row_commit and "delete from pendingintake" in row_commit


def test_concurrent_captures_finalize_together_each_in_order_before_its_201(
    local_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Concurrent captures share the sidecars' directory fsync and the finalized marks' UPDATE
    (``Ingestor.finalize``), and each still has its retention durable before its 201."""
    effects = _record_effects(local_api, monkeypatch)
    recorded_fsync = os.fsync

    def slow_fsync(fd: int) -> None:  # let the captures pile up behind each other
        recorded_fsync(fd)
        time.sleep(0.005)

    monkeypatch.setattr(os, "fsync", slow_fsync)
    callers = 12

    def capture(n: int) -> dict[str, Any]:
        response = upload(local_api, "electronic", f"concurrent {n} ".encode() * 500)
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    outcomes = all_at_once(capture, range(callers))
    bodies = [body for body in outcomes.values() if isinstance(body, dict)]
    assert len(bodies) == callers and all(body["finalized"] for body in bodies)

    store = local_api.services.store
    root = local_api.services.settings.objects_dir.resolve()
    with Session(local_api.services.engine) as session:
        rows = [session.get(Evidence, body["id"]) for body in bodies]
    meta_dirs = set()
    for row in rows:
        assert row is not None and row.finalized and row.retention_until is not None
        assert store.stat(row.object_key).retain_until == row.retention_until
        meta_dir = str(root / ".meta" / Path(row.object_key).parent)
        meta_dirs.add(meta_dir)
        sidecar = _first(effects, "fsync", meta_dir + "/." + row.id + ".json")
        synced = next(i for i, e in enumerate(effects) if i > sidecar and e == ("fsync", meta_dir))
        assert synced < _first_after(effects, synced, "commit", "update evidence")
    (meta_dir,) = meta_dirs
    assert effects.count(("fsync", meta_dir)) < callers  # shared, not one per capture
    marks = [e for e in effects if e[0] == "commit" and "update evidence" in e[1]]
    assert len(marks) < callers


def _first_after(effects: list[tuple[str, str]], after: int, kind: str, *parts: str) -> int:
    return after + 1 + _first(effects[after + 1 :], kind, *parts)


def test_a_failure_before_the_row_commits_keeps_no_row_and_no_object(api: Api) -> None:
    def refuse(*_: Any) -> list[Any]:
        raise BadRequestError("refused by the test, after the bytes were stored")

    assert upload(api, "electronic", b"a first capture").status_code == 201
    before, keys = counts(api), stored_keys(api)
    api.services.ingestor.capture_hooks += (refuse,)
    response = upload(api, "electronic", b"bytes that never get a row")
    assert_problem(response, 400, "bad-request")
    assert counts(api) == before and stored_keys(api) == keys
    assert_no_intake_left(api)


def test_a_crash_before_the_row_commits_leaves_an_intake_the_reaper_clears(
    local_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingestor = local_api.services.ingestor

    def crash(*_: Any) -> list[Any]:
        raise BadRequestError("the process dies here")

    assert upload(local_api, "electronic", b"a first capture").status_code == 201
    before, keys = counts(local_api), stored_keys(local_api)
    ingestor.capture_hooks += (crash,)
    monkeypatch.setattr(ingestor, "abandon", lambda *_: None)  # a dead process cleans nothing
    assert upload(local_api, "electronic", samples.pdf()).status_code == 400
    left = sorted(set(stored_keys(local_api)) - set(keys))
    assert len(left) == 1 and left[0].startswith("evidence/")  # unlocked, and named by…
    unused = ingestor.reserved.unused()  # rows written ahead for ids not handed out yet
    with Session(local_api.services.engine) as session:
        (intake,) = [i for i in session.exec(select(PendingIntake)).all() if i.id not in unused]
    assert intake.object_key == left[0]  # …the intake row committed before the bytes

    report = reap(ingestor, temp_ttl=timedelta(0))
    assert report.abandoned_intakes == 1
    assert stored_keys(local_api) == keys and counts(local_api) == before


def _intake(evidence_id: str) -> dict[str, Any]:
    return {"id": evidence_id, "object_key": f"evidence/x/{evidence_id}", "started_at": utcnow()}


def test_group_commit_commits_every_caller_and_fails_only_the_bad_one(services: Services) -> None:
    committer = GroupCommitter(services.engine, max_group=4)
    statement = insert(PendingIntake)  # one object: the callers' rows are merged
    committer.run(statement, _intake("TAKEN"))
    ids = [f"ID{n:02d}" for n in range(15)] + ["TAKEN"]
    outcomes = all_at_once(lambda i: committer.run(statement, _intake(i)), ids)
    errors = {i: o for i, o in outcomes.items() if isinstance(o, Exception)}
    assert list(errors) == ["TAKEN"] and isinstance(errors["TAKEN"], IntegrityError)
    with Session(services.engine) as session:
        stored = set(session.exec(select(PendingIntake.id)).all())
    assert stored == set(ids)


def test_a_group_runs_each_statement_once_with_every_callers_rows_in_its_first_place(
    services: Services,
) -> None:
    statement = insert(PendingIntake)
    seen: list[list[str]] = []

    def look(session: Session, _later: Later) -> None:  # another caller's, between the intakes
        seen.append(sorted(session.exec(select(PendingIntake.id)).all()))

    with session_scope(services.engine) as session:
        outcomes = _run_merged(
            session,
            [
                _Statement(statement, [_intake("A1")]),
                look,
                _Statement(statement, [_intake("A2"), _intake("A3")]),
                look,
            ],
        )
    assert outcomes == [None, None, None, None]
    assert seen == [["A1", "A2", "A3"]] * 2  # all three rows went in at the first place


_DROP = delete(PendingIntake).where(col(PendingIntake.id) == bindparam("drop_id"))


def _later_work(*steps: tuple[Any, dict[str, Any]]) -> Any:
    """A caller's work that leaves ``steps`` (statement, parameters) for the group's end."""

    def work(_session: Session, later: Later) -> None:
        for statement, parameters in steps:
            later.execute(statement, parameters)

    return work


def _executions(services: Services) -> tuple[list[tuple[str, int]], Any]:
    seen: list[tuple[str, int]] = []

    def executed(_conn: Any, _cursor: Any, sql: str, params: Any, _ctx: Any, many: bool) -> None:
        seen.append((sql.split()[0].upper(), len(params) if many else 1))

    return seen, executed


def test_later_statements_run_once_each_for_the_whole_group_in_every_callers_order(
    services: Services,
) -> None:
    added = insert(PendingIntake)
    seen, executed = _executions(services)
    event.listen(services.engine, "before_cursor_execute", executed)
    try:
        with session_scope(services.engine) as session:
            outcomes = _run_merged(
                session,
                [
                    _later_work((added, _intake("L1")), (_DROP, {"drop_id": "L1"})),
                    _later_work((added, _intake("L2")), (added, _intake("L3"))),
                    _later_work((added, _intake("L4")), (_DROP, {"drop_id": "L4"})),
                ],
            )
    finally:
        event.remove(services.engine, "before_cursor_execute", executed)
    assert outcomes == [None, None, None]
    # each statement once: every INSERT before the DELETEs, as each caller gave them
    assert seen == [("INSERT", 4), ("DELETE", 2)]
    with Session(services.engine) as session:
        assert sorted(session.exec(select(PendingIntake.id)).all()) == ["L2", "L3"]


@pytest.mark.parametrize(
    "second",
    [
        "drops then adds",  # the reverse of the first caller's order
        "adds, drops, adds",  # returns to a statement after another
    ],
)
def test_later_statements_no_merge_can_order_run_each_callers_own_way(
    services: Services, second: str
) -> None:
    added = insert(PendingIntake)
    with session_scope(services.engine) as session:
        session.connection().execute(added, _intake("B1"))
    first = _later_work((added, _intake("A1")), (_DROP, {"drop_id": "A1"}))
    if second == "drops then adds":
        other = _later_work((_DROP, {"drop_id": "B1"}), (added, _intake("B1")))
    else:
        other = _later_work(  # merged, B2 would go in twice before its drop
            (added, _intake("B2")), (_DROP, {"drop_id": "B2"}), (added, _intake("B2"))
        )
    with session_scope(services.engine) as session:
        assert _run_merged(session, [first, other]) == [None, None]
    with Session(services.engine) as session:
        stored = sorted(session.exec(select(PendingIntake.id)).all())
    assert stored == (["B1"] if second == "drops then adds" else ["B1", "B2"])


def test_a_later_statement_that_fails_fails_only_its_own_caller(services: Services) -> None:
    committer = GroupCommitter(services.engine, max_group=4)
    added = insert(PendingIntake)
    committer.run(added, _intake("TAKEN"))
    ids = [f"LT{n:02d}" for n in range(11)] + ["TAKEN"]

    def capture(intake_id: str) -> str:
        return committer.run_work(
            lambda session, later: (later.execute(added, _intake(intake_id)), intake_id)[1]
        )

    outcomes = all_at_once(capture, ids)
    errors = {i: o for i, o in outcomes.items() if isinstance(o, Exception)}
    assert list(errors) == ["TAKEN"] and isinstance(errors["TAKEN"], IntegrityError)
    assert all(outcomes[i] == i for i in ids if i != "TAKEN")
    with Session(services.engine) as session:
        assert set(session.exec(select(PendingIntake.id)).all()) == set(ids)


def test_a_confirmation_runs_once_per_group_and_fails_only_its_own_caller(
    services: Services,
) -> None:
    committer = GroupCommitter(services.engine, max_group=4)
    added = insert(PendingIntake)
    asked: list[frozenset[str]] = []

    class Facts:  # a check is often a method: named anew by each caller, one all the same
        def still_holds(self, _connection: Any, keys: frozenset[str]) -> dict[str, Exception]:
            asked.append(keys)
            time.sleep(0.005)  # let the next group pile up behind this one
            return {key: BadRequestError(f"{key} no longer holds") for key in keys if "X" in key}

    facts = Facts()

    def capture(intake_id: str) -> str:
        def work(_session: Session, later: Later) -> str:
            later.confirm(facts.still_holds, intake_id)
            later.execute(added, _intake(intake_id))
            return intake_id

        return committer.run_work(work)

    ids = [f"CF{n:02d}" for n in range(11)] + ["CFX"]
    outcomes = all_at_once(capture, ids)
    errors = {i: o for i, o in outcomes.items() if isinstance(o, Exception)}
    assert list(errors) == ["CFX"] and str(errors["CFX"]) == "CFX no longer holds"
    assert all(outcomes[i] == i for i in ids if i != "CFX")
    with Session(services.engine) as session:
        assert set(session.exec(select(PendingIntake.id)).all()) == set(ids) - {"CFX"}
    assert max(len(keys) for keys in asked) > 1  # one check for several callers' keys
    assert frozenset({"CFX"}) in asked  # and again alone, which gave it its own error


def test_concurrent_intakes_share_an_insert_and_only_a_duplicate_fails(services: Services) -> None:
    ingestor = services.ingestor
    ingestor.begin_intake("TAKEN")
    rows: list[int] = []

    def executed(_conn: Any, _cursor: Any, sql: str, params: Any, _ctx: Any, many: bool) -> None:
        if sql.lower().startswith("insert into pendingintake"):
            rows.append(len(params) if many else 1)
        time.sleep(0.005)  # let the intakes pile up behind the group in progress

    event.listen(services.engine, "before_cursor_execute", executed)
    try:
        ids = [f"IN{n:02d}" for n in range(15)] + ["TAKEN"]
        outcomes = all_at_once(ingestor.begin_intake, ids)
    finally:
        event.remove(services.engine, "before_cursor_execute", executed)
    errors = {i: o for i, o in outcomes.items() if isinstance(o, Exception)}
    keys = {i: o for i, o in outcomes.items() if isinstance(o, str)}
    assert list(errors) == ["TAKEN"] and isinstance(errors["TAKEN"], IntegrityError)
    with Session(services.engine) as session:
        stored = {row.id: row.object_key for row in session.exec(select(PendingIntake)).all()}
    assert set(stored) == set(ids)
    assert all(stored[i] == keys[i] and keys[i].endswith("/" + i) for i in keys)
    assert max(rows) > 1  # several intakes in one INSERT
