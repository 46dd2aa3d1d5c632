"""Signals in, warnings out (智能预警): what the module knows of each enterprise, and the
warnings its risk score opens.

A signal is stored once: re-posting the same ``(source, ref)`` changes nothing (a hotline
system or the catering module may send again after a timeout). After a post, each enterprise
it named is scored again (``risk.py``); one whose score reaches the threshold and has no open
warning gets one, listing the signals that contributed most, by id. An open warning's score is
kept current; it closes when the inspection it led to is done (the tasks' concern) or when the
office dismisses it with a note, never by itself. :func:`refresh_all` scores every enterprise
in one pass (after a change of weights or risk classes, and on demand).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from evidence_service.modules.inspection import models as m
from evidence_service.modules.inspection import risk
from evidence_service.modules.inspection.common import new_id
from evidence_service.modules.inspection.directory_store import CHUNK, chunks, existing

#: A warning in one of these states stands for the enterprise (no second one opens).
STANDING = ("open", "tasked")


@dataclass(frozen=True)
class SignalIn:
    credit_code: str
    kind: str
    severity: int
    at: datetime
    source: str
    ref: str
    note: str | None = None


@dataclass(frozen=True)
class Posted:
    created: list[str]  # ids of the new signals, in the post's order
    repeated: list[str]  # ids of signals posted before under the same (source, ref)
    opened: list[str]  # warnings opened by this post


def unknown_enterprises(conn: Connection, codes: Iterable[str]) -> list[str]:
    wanted = sorted(set(codes))
    known = existing(conn, m.enterprise, "credit_code", wanted)
    return [code for code in wanted if code not in known]


def _known_refs(conn: Connection, items: Sequence[SignalIn]) -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    by_source: dict[str, list[str]] = {}
    for item in items:
        by_source.setdefault(item.source, []).append(item.ref)
    for source, refs in by_source.items():
        for part in chunks(sorted(set(refs))):
            rows = conn.execute(
                select(m.signal.c.ref, m.signal.c.id).where(
                    m.signal.c.source == source, m.signal.c.ref.in_(part)
                )
            )
            found.update({(source, ref): sid for ref, sid in rows})
    return found


def record(
    conn: Connection,
    items: Sequence[SignalIn],
    *,
    posted_by: str,
    now: datetime,
    settings: risk.RiskSettings,
) -> Posted:
    """Store the new signals and score their enterprises again, in the caller's transaction."""
    known = _known_refs(conn, items)
    created: list[str] = []
    repeated: list[str] = []
    rows: list[dict[str, Any]] = []
    for item in items:
        key = (item.source, item.ref)
        if key in known:
            repeated.append(known[key])
            continue
        known[key] = signal_id = new_id()
        created.append(signal_id)
        rows.append(
            {
                "id": signal_id,
                "credit_code": item.credit_code,
                "kind": item.kind,
                "severity": item.severity,
                "at": item.at,
                "source": item.source,
                "ref": item.ref,
                "note": item.note,
                "posted_by": posted_by,
                "received_at": now,
            }
        )
    for part in chunks(rows):
        conn.execute(m.signal.insert(), list(part))
    touched = sorted({row["credit_code"] for row in rows})
    opened = rescore(conn, touched, now=now, settings=settings)
    return Posted(created=created, repeated=repeated, opened=opened)


@dataclass(frozen=True)
class Scored:
    credit_code: str
    total: float
    contributions: list[dict[str, Any]]  # the strongest signals, with their row ids


def _scored(
    scorer: risk.RiskScorer, code: str, risk_class: str, signals: list[tuple[str, risk.Signal]]
) -> Scored:
    ids = {id(signal): sid for sid, signal in signals}
    score = scorer.score(risk_class, (signal for _, signal in signals))
    return Scored(
        code,
        score.total,
        [
            {
                "signal_id": ids[id(c.signal)],
                "kind": c.signal.kind,
                "at": c.signal.at.isoformat(),
                "severity": c.signal.severity,
                "points": round(c.points, 4),
            }
            for c in score.contributions
        ],
    )


_SIGNAL_COLUMNS = (
    m.signal.c.credit_code,
    m.signal.c.id,
    m.signal.c.kind,
    m.signal.c.at,
    m.signal.c.severity,
)


def _grouped(rows: Iterable[Any]) -> Iterator[tuple[str, list[tuple[str, risk.Signal]]]]:
    """Rows of (credit code, id, kind, at, severity) sorted by credit code, by enterprise."""
    current: str | None = None
    signals: list[tuple[str, risk.Signal]] = []
    for code, sid, kind, at, severity in rows:
        if code != current:
            if current is not None:
                yield current, signals
            current, signals = code, []
        signals.append((sid, risk.Signal(kind, at, severity)))
    if current is not None:
        yield current, signals


def score_enterprises(
    conn: Connection, codes: Sequence[str], *, now: datetime, settings: risk.RiskSettings
) -> list[Scored]:
    """The current score of each enterprise named, with its strongest signals' row ids."""
    scorer = risk.RiskScorer(now, settings)
    out: list[Scored] = []
    for part in chunks(list(codes), CHUNK // 4):
        classes = dict(
            conn.execute(
                select(m.enterprise.c.credit_code, m.enterprise.c.risk_class).where(
                    m.enterprise.c.credit_code.in_(part)
                )
            ).all()
        )
        rows = conn.execute(
            select(*_SIGNAL_COLUMNS)
            .where(m.signal.c.credit_code.in_(part), m.signal.c.at <= now)
            .order_by(m.signal.c.credit_code, m.signal.c.at)
        )
        seen: set[str] = set()
        for code, signals in _grouped(rows):
            seen.add(code)
            out.append(_scored(scorer, code, classes[code], signals))
        out.extend(
            _scored(scorer, code, rc, []) for code, rc in classes.items() if code not in seen
        )
    return out


def rescore(
    conn: Connection, codes: Sequence[str], *, now: datetime, settings: risk.RiskSettings
) -> list[str]:
    """Score ``codes`` again: update each standing warning's score, open one where the
    threshold is reached and none stands. Returns the ids of the warnings opened."""
    if not codes:
        return []
    return _apply(conn, score_enterprises(conn, codes, now=now, settings=settings), now, settings)


def _standing(conn: Connection, codes: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for part in chunks(list(codes)):
        rows = conn.execute(
            select(m.warning.c.credit_code, m.warning.c.id).where(
                m.warning.c.credit_code.in_(part), m.warning.c.state.in_(STANDING)
            )
        )
        found.update(dict(rows.all()))
    return found


def _apply(
    conn: Connection, scored: Iterable[Scored], now: datetime, settings: risk.RiskSettings
) -> list[str]:
    scored = list(scored)
    standing = _standing(conn, [s.credit_code for s in scored])
    opened: list[dict[str, Any]] = []
    for s in scored:
        warning_id = standing.get(s.credit_code)
        if warning_id is not None:
            conn.execute(
                m.warning.update()
                .where(m.warning.c.id == warning_id)
                .values(score=s.total, updated_at=now)
            )
        elif s.total >= settings.threshold:
            opened.append(
                {
                    "id": new_id(),
                    "credit_code": s.credit_code,
                    "state": "open",
                    "score": s.total,
                    "threshold": settings.threshold,
                    "contributions": s.contributions,
                    "opened_at": now,
                    "updated_at": now,
                    "task_id": None,
                    "closed_note": None,
                }
            )
    for part in chunks(opened):
        conn.execute(m.warning.insert(), list(part))
    return [w["id"] for w in opened]


def refresh_all(conn: Connection, *, now: datetime, settings: risk.RiskSettings) -> list[str]:
    """Score every enterprise in one pass over its signals (streamed in credit-code order)
    and open the warnings due; returns their ids."""
    scorer = risk.RiskScorer(now, settings)
    classes = dict(
        conn.execute(select(m.enterprise.c.credit_code, m.enterprise.c.risk_class)).all()
    )
    rows = conn.execute(
        select(*_SIGNAL_COLUMNS)
        .where(m.signal.c.at <= now)
        .order_by(m.signal.c.credit_code, m.signal.c.at)
        .execution_options(yield_per=10_000)  # streamed; read whole before any write
    )
    scored: list[Scored] = []
    for code, signals in _grouped(rows):
        risk_class = classes.pop(code, None)
        if risk_class is not None:
            scored.append(_scored(scorer, code, risk_class, signals))
    # the rest have no signal: their base alone (a base over the threshold still warns)
    scored.extend(_scored(scorer, code, rc, []) for code, rc in classes.items())
    opened: list[str] = []
    for part in chunks(scored, 5 * CHUNK):
        opened.extend(_apply(conn, part, now, settings))
    return opened
