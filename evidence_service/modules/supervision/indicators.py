"""Efficiency indicators (效能评价) per region, city, department and officer, and the summary
the cockpit reads them from.

**Why a summary table.** The cockpit must answer in well under 200 ms over a million records;
joining records, officers, evidence links, clues, disposals and reviews per request cannot.
:func:`refresh_summary` rebuilds ``supervision_cockpit_cell`` whole, in one transaction, from
set-based ``GROUP BY`` queries (no record is looked at in Python): per level, department, key
and month of 立案 it keeps the counts each indicator's ratio is made of. :func:`cockpit` then
sums a few hundred (officers: a few thousand) cells. The summary is refreshed after a model run
(the runner calls :func:`refresh_summary`), and by the cockpit route in the background when it
is older than ``cockpit_max_age_s``; an empty summary is built before the first answer.

Indicators (each a ratio in [0, 1], ``None`` when its denominator is 0):

- ``timeliness``: records decided within 90 days of 立案 and served within 7 days of the
  decision (行政处罚法 arts. 60, 61) / records with both dates;
- ``evidence_completeness``: linked evidence that is signed, anchored and listed with a
  purpose on the record's core case / linked evidence;
- ``clue_free``: 1 − records with a clue / records (the clue rate, turned so higher is better);
- ``correction``: disposals closed with the department's rectification report / disposals;
- ``review_score``: the mean score of final case-file reviews / 100.

The composite is ``100 × Σ wᵢ·vᵢ / Σ wᵢ`` over the indicators that have data.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    and_,
    case,
    delete,
    distinct,
    exists,
    func,
    insert,
    literal,
    select,
    union_all,
)

from evidence_service.modules.kit.db import write_transaction
from evidence_service.modules.supervision.models import (
    clue_link,
    cockpit_cell,
    cockpit_refresh,
    disposal,
    evidence,
    evidence_case,
    record,
    record_link,
    record_officer,
    review,
)

LEVELS = ("department", "region", "city", "officer")
INDICATORS = ("timeliness", "evidence_completeness", "clue_free", "correction", "review_score")
COUNTS = (
    "records",
    "decided",
    "timely",
    "clued",
    "evidence",
    "evidence_complete",
    "disposals",
    "corrected",
    "reviews",
    "review_points",
)
DECISION_DAYS, SERVICE_DAYS = 90, 7
CLOSED = "closed"  # a disposal's final state (disposal.py); with a reply: corrected
PERIOD = re.compile(r"^(\d{4})(?:-(0[1-9]|1[0-2]))?$")
_refreshing = threading.Lock()
#: The ``month`` of a key's all-time cell (sorts before any YYYY-MM, so no period takes it).
ALL_TIME = "*"


# --------------------------------------------------------------------------- SQL pieces


def _month(conn: Connection, column: Any) -> ColumnElement[str]:
    """``YYYY-MM`` of a date or UTC timestamp column ('' when null), on either database."""
    if conn.dialect.name == "postgresql":
        return func.coalesce(func.to_char(column, "YYYY-MM"), "")
    return func.coalesce(func.substr(column, 1, 7), "")


def _days(conn: Connection, later: Any, earlier: Any) -> ColumnElement[Any]:
    if conn.dialect.name == "postgresql":
        return later - earlier  # type: ignore[no-any-return]
    return func.julianday(later) - func.julianday(earlier)


def _key(level: str) -> ColumnElement[Any]:
    return {
        "department": record.c.department_id,
        "region": func.coalesce(record.c.region, ""),
        "city": record.c.city,
        "officer": record_officer.c.cert_no,
    }[level]


def _from(level: str, base: Any) -> Any:
    if level != "officer":
        return base
    return base.join(record_officer, record_officer.c.record_id == record.c.id)


def _where(level: str) -> list[ColumnElement[bool]]:
    return [record_officer.c.cert_no.is_not(None)] if level == "officer" else []


def _sum(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _counts(level: str, dept: Any, key: Any, month: Any, **given: Any) -> list[Any]:
    """The columns every part of the union selects: the cell's key, then each count (0 where
    this part does not count it)."""
    head = [literal(level).label("level"), dept.label("department_id"), key.label("key"),
            month.label("month")]  # fmt: skip
    return head + [given.get(name, literal(0)).label(name) for name in COUNTS]


def _record_part(conn: Connection, level: str) -> Any:
    month = _month(conn, record.c.filing_on)
    decided = and_(record.c.filing_on.is_not(None), record.c.decision_on.is_not(None))
    timely = and_(
        decided,
        _days(conn, record.c.decision_on, record.c.filing_on) <= DECISION_DAYS,
        record.c.service_on.is_not(None),
        _days(conn, record.c.service_on, record.c.decision_on) <= SERVICE_DAYS,
    )
    clued = exists().where(clue_link.c.kind == "record", clue_link.c.ref == record.c.id)
    key = _key(level)
    columns = _counts(
        level, record.c.department_id, key, month,
        records=func.count(), decided=_sum(decided), timely=_sum(timely), clued=_sum(clued),
    )  # fmt: skip
    return (
        select(*columns)
        .select_from(_from(level, record))
        .where(*_where(level))
        .group_by(record.c.department_id, key, month)
    )


def _evidence_part(conn: Connection, level: str) -> Any:
    month = _month(conn, record.c.filing_on)
    complete = and_(
        evidence.c.signed.is_(True),
        evidence.c.anchored_at.is_not(None),
        func.coalesce(evidence_case.c.purpose, "") != "",
    )
    base = (
        record_link.join(record, record.c.id == record_link.c.record_id)
        .outerjoin(evidence, evidence.c.id == record_link.c.evidence_id)
        .outerjoin(
            evidence_case,
            and_(
                evidence_case.c.evidence_id == record_link.c.evidence_id,
                evidence_case.c.case_id == record.c.core_case_id,
            ),
        )
    )
    key = _key(level)
    columns = _counts(
        level, record.c.department_id, key, month,
        evidence=func.count(), evidence_complete=_sum(complete),
    )  # fmt: skip
    return (
        select(*columns)
        .select_from(_from(level, base))
        .where(record_link.c.role == "evidence", *_where(level))
        .group_by(record.c.department_id, key, month)
    )


def _review_part(conn: Connection, level: str) -> Any:
    month = _month(conn, record.c.filing_on)
    key = _key(level)
    columns = _counts(
        level, record.c.department_id, key, month,
        reviews=func.count(), review_points=func.coalesce(func.sum(review.c.score), 0),
    )  # fmt: skip
    return (
        select(*columns)
        .select_from(_from(level, review.join(record, record.c.id == review.c.record_id)))
        .where(review.c.status == "final", *_where(level))
        .group_by(record.c.department_id, key, month)
    )


def _disposal_part(conn: Connection, level: str) -> Any:
    """Disposals by the month they opened; a department's are its own (``department_id``),
    the other levels reach the records through the clue's ``record`` links."""
    month = _month(conn, disposal.c.opened_at)
    corrected = and_(disposal.c.state == CLOSED, disposal.c.reply_evidence_id.is_not(None))
    if level == "department":
        columns = _counts(
            level, disposal.c.department_id, disposal.c.department_id, month,
            disposals=func.count(), corrected=_sum(corrected),
        )  # fmt: skip
        return select(*columns).group_by(disposal.c.department_id, month)
    key = _key(level)
    base = disposal.join(
        clue_link,
        and_(clue_link.c.clue_id == disposal.c.clue_id, clue_link.c.kind == "record"),
    ).join(record, record.c.id == clue_link.c.ref)
    columns = _counts(
        level, record.c.department_id, key, month,
        disposals=func.count(distinct(disposal.c.id)),
        corrected=func.count(distinct(case((corrected, disposal.c.id), else_=literal(None)))),
    )  # fmt: skip
    return (
        select(*columns)
        .select_from(_from(level, base))
        .where(*_where(level))
        .group_by(record.c.department_id, key, month)
    )


def _level_cells(conn: Connection, level: str) -> Any:
    """One level's cells: the four parts' counts added up per cell, in SQL."""
    parts = union_all(
        _record_part(conn, level),
        _evidence_part(conn, level),
        _review_part(conn, level),
        _disposal_part(conn, level),
    ).subquery("parts")
    cell = [parts.c.level, parts.c.department_id, parts.c.key, parts.c.month]
    sums = [func.sum(parts.c[name]) for name in COUNTS]
    return select(*cell, *sums).group_by(*cell)


def refresh_summary(engine: Engine, *, now: datetime) -> int:
    """Rebuild the cockpit's summary whole, in SQL (``INSERT … SELECT`` of a ``GROUP BY``
    over a ``UNION ALL``: no record comes to Python), in one transaction: readers see the old
    summary until it commits. Answers the number of cells; calls in one process run one at a
    time."""
    with _refreshing:
        return _rebuild(engine, now=now)


def _rebuild(engine: Engine, *, now: datetime) -> int:
    with write_transaction(engine) as conn:
        conn.execute(delete(cockpit_cell))
        names = ["level", "department_id", "key", "month", *COUNTS]
        for level in LEVELS:
            conn.execute(insert(cockpit_cell).from_select(names, _level_cells(conn, level)))
        # each key's all-time totals once more, as month ALL_TIME: a cockpit without a period
        # sums one row per key, not one per key and month (officers × months are many)
        sums = [func.sum(getattr(cockpit_cell.c, c)) for c in COUNTS]
        keys = (cockpit_cell.c.level, cockpit_cell.c.department_id, cockpit_cell.c.key)
        all_time = select(*keys, literal(ALL_TIME), *sums).group_by(*keys)
        conn.execute(insert(cockpit_cell).from_select(names, all_time))
        cells = conn.execute(select(func.count()).select_from(cockpit_cell)).scalar_one()
        conn.execute(delete(cockpit_refresh))
        conn.execute(insert(cockpit_refresh).values(id=1, refreshed_at=now, cells=cells))
    return int(cells)


def refresh_if_idle(engine: Engine, *, now: datetime) -> bool:
    """Rebuild the summary unless this process is rebuilding it already (the cockpit's
    background refresh: a burst of stale reads starts one rebuild, not one each)."""
    if not _refreshing.acquire(blocking=False):
        return False
    try:
        _rebuild(engine, now=now)
    finally:
        _refreshing.release()
    return True


def refreshed_at(engine: Engine) -> datetime | None:
    """When the summary was last rebuilt (UTC; None: never)."""
    with engine.connect() as conn:
        return conn.execute(select(cockpit_refresh.c.refreshed_at)).scalar()


# --------------------------------------------------------------------------- figures


def period_bounds(period: str | None) -> tuple[str, str] | None:
    """``YYYY`` or ``YYYY-MM`` as the first and last month it covers; ValueError otherwise."""
    if period is None:
        return None
    found = PERIOD.match(period)
    if found is None:
        raise ValueError("period is YYYY or YYYY-MM")
    year, month = found.groups()
    return (f"{year}-{month}", f"{year}-{month}") if month else (f"{year}-01", f"{year}-12")


def _ratio(num: int, den: int) -> float | None:
    return None if den == 0 else num / den


def figures(counts: Mapping[str, int], weights: Mapping[str, float]) -> dict[str, Any]:
    """The indicators and the composite of one row's counts (rounded to 4 and 2 places)."""
    clue_rate = _ratio(counts["clued"], counts["records"])
    mean_review = _ratio(counts["review_points"], counts["reviews"])
    values: dict[str, float | None] = {
        "timeliness": _ratio(counts["timely"], counts["decided"]),
        "evidence_completeness": _ratio(counts["evidence_complete"], counts["evidence"]),
        "clue_free": None if clue_rate is None else 1 - clue_rate,
        "correction": _ratio(counts["corrected"], counts["disposals"]),
        "review_score": None if mean_review is None else mean_review / 100,
    }
    used = {name: w for name, w in weights.items() if w > 0 and values.get(name) is not None}
    total = sum(used.values())
    composite = (
        None if total == 0 else 100 * sum(w * (values[n] or 0.0) for n, w in used.items()) / total
    )
    return {
        "counts": dict(counts),
        "clue_rate": None if clue_rate is None else round(clue_rate, 4),
        "indicators": {n: None if v is None else round(v, 4) for n, v in values.items()},
        "composite": None if composite is None else round(composite, 2),
    }


@dataclass(frozen=True)
class CockpitQuery:
    level: str
    period: tuple[str, str] | None
    department_id: str | None  # None: every department (the office, auditors)
    limit: int


def _months(query: CockpitQuery) -> ColumnElement[bool]:
    """The cells of the query's period, or the all-time cells without one."""
    if query.period is None:
        return cockpit_cell.c.month == ALL_TIME
    return cockpit_cell.c.month.between(*query.period)


def _summed(query: CockpitQuery, level: str, *, by_key: bool) -> Any:
    sums = [func.coalesce(func.sum(getattr(cockpit_cell.c, c)), 0).label(c) for c in COUNTS]
    columns = [cockpit_cell.c.key, *sums] if by_key else sums
    stmt = select(*columns).where(cockpit_cell.c.level == level, _months(query))
    if query.department_id is not None:
        stmt = stmt.where(cockpit_cell.c.department_id == query.department_id)
    if not by_key:
        return stmt
    # the busiest keys (most records) when there are more than ``limit`` (officers may be
    # many); the answer then orders them by their composite
    records = func.sum(cockpit_cell.c.records)
    return (
        stmt.group_by(cockpit_cell.c.key)
        .order_by(records.desc(), cockpit_cell.c.key)
        .limit(query.limit)
    )


def _key_count(query: CockpitQuery) -> Any:
    stmt = select(func.count(distinct(cockpit_cell.c.key))).where(
        cockpit_cell.c.level == query.level, _months(query)
    )
    if query.department_id is not None:
        stmt = stmt.where(cockpit_cell.c.department_id == query.department_id)
    return stmt


def cockpit(engine: Engine, query: CockpitQuery, weights: Mapping[str, float]) -> dict[str, Any]:
    """The figures of ``query.level``'s rows (highest composite first; at most ``limit``,
    the keys with the most records) and the total (from the department level, where nothing
    is counted twice)."""
    with engine.connect() as conn:
        rows = conn.execute(_summed(query, query.level, by_key=True)).all()
        total = conn.execute(_summed(query, "department", by_key=False)).one()
        as_of = conn.execute(select(cockpit_refresh.c.refreshed_at)).scalar()
        row_count = len(rows)
        if row_count >= query.limit:
            row_count = int(conn.execute(_key_count(query)).scalar_one())
    shown = []
    for row in rows:
        counts = {name: int(getattr(row, name)) for name in COUNTS}
        shown.append({"key": row.key, **figures(counts, weights)})
    shown.sort(key=lambda r: (r["composite"] is None, -(r["composite"] or 0.0), r["key"]))
    return {
        "level": query.level,
        "as_of": as_of,
        "rows": shown,
        "row_count": row_count,
        "total": figures({name: int(getattr(total, name)) for name in COUNTS}, weights),
    }
