"""Revision 0004_custody_sequencer on a log written by the version before it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, text
from sqlmodel import Session

from evidence_service.core.db import make_engine, session_scope
from evidence_service.custody.log import append_event, iter_records
from evidence_service.custody.sequencer import integrate_pending
from evidence_service.migrations.commands import alembic_config, migration_connection
from evidence_service.verify.custody import GENESIS_HASH, link_hash, verify_records

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def old_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database at 0003_hardening."""
    url = (
        f"sqlite:///{tmp_path / 'old.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    engine = make_engine(url)
    migrate(engine, "0003_hardening")
    try:
        yield engine
    finally:
        engine.dispose()


def migrate(engine: Engine, revision: str, *, down: bool = False) -> None:
    with migration_connection(engine) as connection:
        config = alembic_config(connection)
        (command.downgrade if down else command.upgrade)(config, revision)
        connection.commit()


def old_records(n: int) -> list[dict[str, Any]]:
    """A chain as the old append wrote it (seq, prev_hash, hash in the same row)."""
    records, prev = [], GENESIS_HASH
    for seq in range(1, n + 1):
        body = {
            "seq": seq,
            "evidence_id": None,
            "action": "viewed",
            "actor_id": None,
            "department_id": None,
            "at": (T0 + timedelta(seconds=seq)).isoformat().replace("+00:00", "Z"),
            "details": {"n": seq},
        }
        link = link_hash(prev, body)
        records.append({**body, "prev_hash": prev, "hash": link})
        prev = link
    return records


def test_existing_rows_keep_their_place_and_new_events_follow(old_engine: Engine) -> None:
    records = old_records(5)
    with old_engine.begin() as conn:
        for r in records:
            conn.execute(
                text(
                    "INSERT INTO custodyevent (seq, action, at, details, prev_hash, hash)"
                    " VALUES (:seq, :action, :at, :details, :prev_hash, :hash)"
                ),
                {**r, "at": T0 + timedelta(seconds=r["seq"]), "details": json.dumps(r["details"])},
            )
    migrate(old_engine, "0004_custody_sequencer")

    with old_engine.connect() as conn:
        ids = conn.execute(text("SELECT id, seq FROM custodyevent ORDER BY seq")).all()
    assert [tuple(row) for row in ids] == [(s, s) for s in range(1, 6)]
    with Session(old_engine) as session:
        assert list(iter_records(session)) == records  # every byte that is hashed, unchanged

    with session_scope(old_engine) as session:
        new_id = append_event(session, action="viewed", at=T0, details={"n": 6})
    assert new_id == 6  # arrival ids continue after the old rows
    assert integrate_pending(old_engine) == 1
    with Session(old_engine) as session:
        chained = list(iter_records(session))
    assert verify_records(chained) == (6, chained[-1]["hash"])
    assert chained[5]["prev_hash"] == records[-1]["hash"]

    migrate(old_engine, "0003_hardening", down=True)
    with old_engine.connect() as conn:
        back = conn.execute(text("SELECT seq, hash FROM custodyevent ORDER BY seq")).all()
    assert [tuple(r) for r in back] == [(r["seq"], r["hash"]) for r in chained]


def test_downgrade_refuses_while_events_are_pending(old_engine: Engine) -> None:
    migrate(old_engine, "0004_custody_sequencer")
    with session_scope(old_engine) as session:
        append_event(session, action="viewed", at=T0)
    with pytest.raises(RuntimeError, match="custody events are pending"):
        migrate(old_engine, "0003_hardening", down=True)
