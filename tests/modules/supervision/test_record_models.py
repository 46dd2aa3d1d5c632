"""The problem models over the case centre's records, on SQLite and PostgreSQL: each finds
exactly the records planted with its problem (one hit per record, linking the record and its
evidence) and nothing in the clean ones; thresholds come from the scope; an incremental scope
looks only at records touched since; the demo data is found with full recall and no false
hit; two runs at once never duplicate a clue."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, func, select

from evidence_service.modules.kit.db import make_engine
from evidence_service.modules.supervision import demo, pii, records, schema
from evidence_service.modules.supervision.clues import record_models, registry, runner
from evidence_service.modules.supervision.clues.base import Hit, ProblemModel, Scope
from evidence_service.modules.supervision.models import clue, clue_link, record
from tests.modules.supervision.helpers import ORG_ID, PERSON_ID

TODAY = date(2026, 6, 1)
SECRET = b"s" * 32
A, B = "D-A", "D-B"


def _person(n: int) -> str:
    first = f"330102199001{n:02d}{n:03d}"[:17]
    return first + pii.resident_id_check(first)


def clean(number: str, **over: Any) -> dict[str, Any]:
    """A lawful penalty: every stage in order and in time, two certified officers, evidence."""
    row: dict[str, Any] = {
        "kind": "penalty",
        "department_id": A,
        "case_number": number,
        "title": "销售过期食品",
        "city": "杭州",
        "procedure": "general",
        "stages": {
            "filing": "2026-01-05",
            "investigation": "2026-01-08",
            "notice": "2026-02-01",
            "decision": "2026-03-01",
            "service": "2026-03-03",
            "execution": "2026-03-20",
            "closing": "2026-03-25",
        },
        "occurred_on": "2025-12-20",
        "notified_amount": "5000",
        "decided_amount": "5000",
        "party": {"kind": "person", "identifier": PERSON_ID},
        "officers": [
            {"name": "张明", "cert_no": "33010012345"},
            {"name": "李华", "cert_no": "33010012346"},
        ],
        "evidence_ids": [f"EV-{number}-1", f"EV-{number}-2"],
        "document_ids": [f"DOC-{number}"],
        "core_case_id": f"CASE-{number}",
    }
    stages = over.pop("stages", {})
    row.update(over)
    row["stages"] = {k: v for k, v in {**row["stages"], **stages}.items() if v is not None}
    return row


def inspection(number: str, dept: str, day: str, party: str) -> dict[str, Any]:
    return clean(
        number,
        kind="inspection",
        department_id=dept,
        title="食品经营日常检查",
        stages={
            "filing": day,
            "investigation": day,
            "notice": None,
            "decision": None,
            "service": None,
            "execution": None,
            "closing": day,
        },
        notified_amount=None,
        decided_amount=None,
        occurred_on=None,
        party={"kind": "person", "identifier": party},
    )


#: name → (record, the model codes planted in it)
CASES: dict[str, tuple[dict[str, Any], set[str]]] = {
    "clean": (clean("C-1"), set()),
    "clean-simple": (
        clean("C-2", procedure="simple", notified_amount="150", decided_amount="150"),
        set(),
    ),
    "clean-hearing-waived": (
        clean("C-3", notified_amount="20000", decided_amount="20000", hearing_offered=True),
        set(),
    ),
    "clean-major": (
        clean(
            "C-4",
            party={"kind": "organisation", "identifier": ORG_ID},
            notified_amount="150000",
            decided_amount="150000",
            stages={"hearing": "2026-02-10", "legal_review": "2026-02-25"},
        ),
        set(),
    ),
    "clean-preserved": (
        clean("C-5", stages={"preservation": "2026-01-10", "preservation_decision": "2026-01-16"}),
        set(),
    ),
    "clean-inspection": (inspection("C-6", A, "2026-02-01", _person(1)), set()),
    "clean-inspection-later": (inspection("C-7", B, "2026-04-15", _person(1)), set()),
    "clean-inspection-same-dept": (inspection("C-8", A, "2026-02-20", _person(1)), set()),
    "late": (
        clean(
            "P-1",
            stages={
                "decision": "2026-04-10",
                "service": "2026-04-12",
                "execution": "2026-04-20",
                "closing": "2026-04-25",
            },
        ),
        {"decision_after_90_days"},
    ),
    "overdue": (
        clean(
            "P-2",
            stages={
                "filing": "2026-02-01",
                "notice": None,
                "decision": None,
                "service": None,
                "execution": None,
                "closing": None,
            },
        ),
        {"decision_after_90_days"},
    ),
    "uncertified": (
        clean("P-3", officers=[{"name": "张明", "cert_no": "33010012345"}, {"name": "王五"}]),
        {"single_officer"},
    ),
    "unnotified": (clean("P-4", stages={"notice": None}), {"decision_without_notice"}),
    "raised": (clean("P-5", decided_amount="6000"), {"penalty_above_notice"}),
    "no-hearing": (
        clean("P-6", notified_amount="20000", decided_amount="20000", hearing_offered=False),
        {"no_hearing_offer"},
    ),
    "simple-too-high": (
        clean("P-7", procedure="simple", notified_amount="500", decided_amount="500"),
        {"simple_procedure_over_limit"},
    ),
    "preserved-too-long": (
        clean("P-8", stages={"preservation": "2026-01-10", "preservation_decision": "2026-01-20"}),
        {"preservation_over_7_days"},
    ),
    "served-late": (clean("P-9", stages={"service": "2026-03-12"}), {"service_after_7_days"}),
    "major-unreviewed": (
        clean(
            "P-10",
            party={"kind": "organisation", "identifier": ORG_ID},
            notified_amount="150000",
            decided_amount="150000",
            stages={"hearing": "2026-02-10"},
        ),
        {"major_without_legal_review"},
    ),
    "time-barred": (clean("P-11", occurred_on="2023-12-01"), {"time_barred"}),
    "inverted": (clean("P-12", stages={"notice": "2026-03-05"}), {"stages_out_of_order"}),
    "unexecuted": (clean("P-13", stages={"execution": None}), {"closed_without_execution"}),
    "no-evidence": (clean("P-14", evidence_ids=[], document_ids=[]), {"no_linked_evidence"}),
    "inspected-by-a": (inspection("P-15", A, "2026-02-01", _person(2)), {"repeated_inspection"}),
    "inspected-by-b": (inspection("P-16", B, "2026-02-20", _person(2)), {"repeated_inspection"}),
}


def _ingest(engine: Engine, rows: list[dict[str, Any]], now: datetime | None = None) -> list[str]:
    valid = records.validate_rows(rows)
    return records.ingest(engine, valid, secret=SECRET, ingested_by="t", fmt="json", now=now).ids


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def loaded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Engine, dict[str, str]]]:
    """Every case ingested once per backend: (engine, record id by case name)."""
    admin = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('models') / 'm.db'}"
    else:
        admin = request.getfixturevalue("postgres_admin_dsn")
        name = f"evidence_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/" + name
    engine = make_engine(url)
    try:
        schema.ensure_schema(engine)
        ids = _ingest(engine, [row for row, _ in CASES.values()])
        yield engine, dict(zip(CASES, ids, strict=True))
    finally:
        engine.dispose()
        if admin is not None:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _find(engine: Engine, model: ProblemModel, scope: Scope | None = None) -> list[Hit]:
    with engine.connect() as conn:
        return list(model.find(conn, scope or Scope(today=TODAY)))


def _records(hit: Hit) -> set[str]:
    return {ref for kind, ref in hit.links if kind == "record"}


@pytest.mark.parametrize("model", record_models.MODELS, ids=lambda m: m.code)
def test_a_model_finds_each_planted_record_once_with_its_links(
    loaded: tuple[Engine, dict[str, str]], model: ProblemModel
) -> None:
    engine, ids = loaded
    hits = _find(engine, model)
    planted = {ids[name] for name, (_, codes) in CASES.items() if model.code in codes}
    assert planted, f"no case plants {model.code}"
    assert set().union(*(_records(h) for h in hits)) == planted
    assert len({h.subject for h in hits}) == len(hits)
    by_name = {v: k for k, v in ids.items()}
    for hit in hits:
        assert hit.department_id in (A, B) and hit.summary and hit.facts
        for rid in _records(hit):
            row = CASES[by_name[rid]][0]
            if model.code == "repeated_inspection":
                assert ("party", hit.subject.split(":")[0]) in hit.links
                continue
            assert hit.subject == rid  # one hit per record, about that record
            want = {("evidence", e) for e in row["evidence_ids"] + row["document_ids"]}
            assert want <= set(hit.links) and ("case", row["core_case_id"]) in hit.links


@pytest.mark.parametrize("model", record_models.MODELS, ids=lambda m: m.code)
def test_a_clean_record_raises_nothing(
    loaded: tuple[Engine, dict[str, str]], model: ProblemModel
) -> None:
    engine, ids = loaded
    clean_ids = {ids[name] for name, (_, codes) in CASES.items() if not codes}
    found = set().union(*(_records(h) for h in _find(engine, model)))
    assert not found & clean_ids
    other = {ids[n] for n, (_, codes) in CASES.items() if codes and model.code not in codes}
    assert not found & other  # a record planted with another problem is not this one's


def test_thresholds_come_from_the_scope(loaded: tuple[Engine, dict[str, str]]) -> None:
    engine, ids = loaded
    late = registry.get("decision_after_90_days")
    lenient = Scope(today=TODAY, params={"decision_days": 100})
    assert {h.subject for h in _find(engine, late, lenient)} == {ids["overdue"]}
    strict = Scope(today=TODAY, params={"hearing_person_fen": 5_000_00})
    hearing = {h.subject for h in _find(engine, registry.get("no_hearing_offer"), strict)}
    assert ids["clean"] in hearing and ids["no-hearing"] in hearing
    window = Scope(today=TODAY, params={"inspection_window_days": 90})
    repeated = _find(engine, registry.get("repeated_inspection"), window)
    assert len(repeated) == 2  # C-6/C-7 now fall in one window too
    # measured against today: before the decision was due, nothing is overdue yet
    early = Scope(today=date(2026, 3, 1))
    assert {h.subject for h in _find(engine, late, early)} == {ids["late"]}


def test_an_incremental_scope_looks_only_at_touched_records(
    loaded: tuple[Engine, dict[str, str]],
) -> None:
    engine, ids = loaded
    with engine.connect() as conn:
        latest = conn.execute(select(func.max(record.c.updated_at))).scalar_one()
    since = latest if latest.tzinfo else latest.replace(tzinfo=UTC)
    for model in record_models.MODELS:
        assert _find(engine, model, Scope(today=TODAY, since=since)) == []
    earlier = since - timedelta(seconds=1)
    assert {
        h.subject for h in _find(engine, registry.get("time_barred"), Scope(TODAY, earlier))
    } == {ids["time-barred"]}


def test_the_registry_has_unique_codes_and_every_model_states_its_law() -> None:
    assert len(record_models.MODELS) >= 13
    assert len(registry.MODELS) == len(registry.BY_CODE) >= 13
    for model in registry.MODELS:
        assert model.basis.startswith("《") and model.severity in ("high", "medium", "low")
        assert model.public()["code"] == model.code
    with pytest.raises(ValueError, match="single_officer"):
        registry.check_unique([*record_models.MODELS, record_models.MODELS[1]])
    with pytest.raises(registry.UnknownModelError) as err:
        registry.select_models(["time_barred", "nope", "nada"])
    assert err.value.codes == ["nope", "nada"]
    assert [m.code for m in registry.select_models(["time_barred"])] == ["time_barred"]


def test_the_demo_data_is_found_with_full_recall_and_no_false_hit(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    try:
        schema.ensure_schema(engine)
        made = demo.load_demo(engine, SECRET, 4000, seed=7, planted_share=0.03)
        codes = [m.code for m in record_models.MODELS]
        done = runner.run_models(engine, codes=codes, today=date(2027, 1, 1))
        assert done["status"] == "done" and done["opened"] == done["hits"] > 0
        with engine.connect() as conn:
            planted = {
                rid: set(p)
                for rid, p in conn.execute(
                    select(record.c.id, record.c.planted).where(record.c.planted.is_not(None))
                )
            }
            found: dict[str, set[str]] = {}
            for model, ref in conn.execute(
                select(clue.c.model, clue_link.c.ref)
                .join(clue_link, clue_link.c.clue_id == clue.c.id)
                .where(clue_link.c.kind == "record")
            ):
                found.setdefault(ref, set()).add(model)
    finally:
        engine.dispose()
    assert made.planted == len(planted) and set().union(*planted.values()) == set(demo.PLANTED)
    assert found == planted  # every planted record found by its model, nothing else found


def test_two_runs_at_once_never_duplicate_a_clue(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'twice.db'}")
    try:
        schema.ensure_schema(engine)
        demo.load_demo(engine, SECRET, 1500, seed=3, planted_share=0.05)
        answers: list[dict[str, Any]] = []
        threads = [
            threading.Thread(
                target=lambda: answers.append(runner.run_models(engine, today=date(2027, 1, 1)))
            )
            for _ in range(2)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with engine.connect() as conn:
            clues = conn.execute(select(func.count()).select_from(clue)).scalar_one()
    finally:
        engine.dispose()
    assert [a["status"] for a in answers] == ["done", "done"]
    assert answers[0]["hits"] == answers[1]["hits"] == clues
    # the runs interleave model by model; each clue is opened by one of them, once
    assert sum(a["opened"] for a in answers) == clues and not any(a["closed"] for a in answers)


def test_the_schedule_runs_incrementally_and_fully_once_a_day(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'schedule.db'}")
    try:
        schema.ensure_schema(engine)
        _ingest(engine, [CASES["raised"][0]])
        first = runner.run_scheduled(engine)
        assert (first["trigger"], first["mode"], first["opened"]) == ("schedule", "full", 1)
        second = runner.run_scheduled(engine)
        assert (second["mode"], second["hits"], second["closed"]) == ("incremental", 0, 0)
        tomorrow = datetime.now(UTC) + timedelta(days=1, minutes=1)
        assert runner.scheduled_mode(engine, tomorrow) == "full"
        assert runner.scheduled_mode(engine, datetime.now(UTC)) == "incremental"
    finally:
        engine.dispose()


def test_the_new_record_fields_arrive_by_csv_and_json_and_are_shown() -> None:
    text = (
        "kind,department_id,case_number,title,city,filing,preservation,preservation_decision,"
        "occurred_on,hearing_offered\n"
        "penalty,D-A,CSV-1,无照经营,杭州,2026-02-01,2026-02-03,2026-02-08,2025-11-30,true\n"
    )
    (row,) = records.validate_rows(records.csv_rows(text))
    assert row.stages["preservation"] == date(2026, 2, 3)
    assert row.stages["preservation_decision"] == date(2026, 2, 8)
    assert (row.occurred_on, row.hearing_offered) == (date(2025, 11, 30), True)
    with pytest.raises(records.BatchInvalid) as bad:
        records.validate_rows([clean("J-1", occurred_on="2025-02-30", hearing_offered="maybe")])
    assert {e["loc"] for e in bad.value.rows[0].errors} == {"occurred_on", "hearing_offered"}
