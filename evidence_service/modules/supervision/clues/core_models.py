"""Problem models over what the evidence core knows that no other system does: who captured
an item and when, whether it is signed and anchored, what case list it is on and for what
purpose, where it was transferred, who was refused — read from the module's read models of the
core's feeds (``sync.py``), the 执法证 register and the case centre's records.

Each model is one or two set-based queries (joins and anti-joins on indexed keys, no query per
row), so a run over a million records stays a few seconds per model on PostgreSQL. Dates of
capture are local dates: an instant is shifted by ``tz_offset_hours`` (default 8, China
Standard Time) before its date is taken. Models whose hits appear with the mere passing of
time (overdue anchors, overdue court transfers, refusals in a window) read their whole table
in an incremental run too; the others look only at rows synced or records updated after
``scope.since``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, Date, DateTime, bindparam, text
from sqlalchemy.sql.elements import BindParameter, TextClause

from evidence_service.modules.supervision.clues.base import Hit, LinkKind, ProblemModel, Scope

LAW = "《中华人民共和国行政处罚法》"
TZ_HOURS = 8


# ------------------------------------------------------------------ portable SQL fragments


def _pg(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def _local_day(conn: Connection, column: str, hours: int) -> str:
    """The local date of a UTC instant column."""
    if _pg(conn):
        return f"(({column} AT TIME ZONE 'UTC') + interval '{hours} hours')::date"
    return f"date({column}, '+{hours} hours')"


def _day_start(conn: Connection, day_sql: str, plus_days: int, hours: int) -> str:
    """The UTC instant local midnight of ``day_sql + plus_days`` begins at."""
    if _pg(conn):
        return (
            f"((({day_sql}) + {plus_days})::timestamp - interval '{hours} hours') "
            "AT TIME ZONE 'UTC'"
        )
    return f"datetime({day_sql}, '+{plus_days} days', '-{hours} hours')"


def _plus_hours(conn: Connection, column: str, hours: int) -> str:
    if _pg(conn):
        return f"({column} + interval '{hours} hours')"
    return f"datetime({column}, '+{hours} hours')"


def _sql(statement: str, **params: Any) -> TextClause:
    """A text query with typed binds (dates and instants stored the way each database does)."""
    clause = text(statement)
    binds: list[BindParameter[Any]] = []
    for name, value in params.items():
        if isinstance(value, datetime):
            binds.append(bindparam(name, value, type_=DateTime(timezone=True)))
        elif isinstance(value, date):
            binds.append(bindparam(name, value, type_=Date()))
        else:
            binds.append(bindparam(name, value))
    return clause.bindparams(*binds)


def _instant(value: Any) -> datetime | None:
    """A timestamp column's value as an aware UTC datetime (SQLite hands back naive text)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return _instant(value).isoformat()  # type: ignore[union-attr]
    return value.isoformat() if isinstance(value, date) else str(value)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def _hours(scope: Scope) -> int:
    return int(scope.param("tz_offset_hours", TZ_HOURS))


def _since(column: str, scope: Scope) -> str:
    return f" AND {column} > :since" if scope.since is not None else ""


def _since_params(scope: Scope) -> dict[str, Any]:
    return {"since": scope.since} if scope.since is not None else {}


def _certificates_of(
    conn: Connection, column: str, keys: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    """The register's certificates by officer id or number, for the facts of a hit."""
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    unique = sorted({k for k in keys if k})
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        names = ", ".join(f":k{i}" for i in range(len(chunk)))
        rows = conn.execute(
            _sql(
                "SELECT cert_no, officer_id, valid_from, valid_to, revoked_on "
                f"FROM supervision_certificate WHERE {column} IN ({names}) ORDER BY cert_no",
                **{f"k{i}": k for i, k in enumerate(chunk)},
            )
        ).all()
        for row in rows:
            m = row._mapping
            out[str(m[column])].append(
                {
                    "cert_no": m["cert_no"],
                    "valid_from": _iso(m["valid_from"]),
                    "valid_to": _iso(m["valid_to"]),
                    "revoked_on": _iso(m["revoked_on"]),
                }
            )
    return out


def _why(certs: list[dict[str, Any]], day: str) -> str:
    """In words: why none of the certificates held is valid on ``day``."""
    if not certs:
        return "未在执法证登记册中"
    if any(c["revoked_on"] and c["revoked_on"] <= day for c in certs):
        return "执法证已吊销"
    if all(c["valid_from"] > day for c in certs):
        return "执法证尚未生效"
    return "执法证已过期"


def _valid_on(alias: str, day_sql: str) -> str:
    return (
        f"{alias}.valid_from <= {day_sql} AND {alias}.valid_to >= {day_sql} "
        f"AND ({alias}.revoked_on IS NULL OR {alias}.revoked_on > {day_sql})"
    )


# ------------------------------------------------------------------ the models


def find_capture_without_valid_certificate(conn: Connection, scope: Scope) -> Iterable[Hit]:
    """Items captured by an officer who held no 执法证 valid that day (unknown to the register,
    expired, not yet valid or revoked) — counted for departments whose certificates the
    register keeps (a department with none registered is not judged)."""
    day = _local_day(conn, "e.captured_at", _hours(scope))
    query = (
        "SELECT e.id, e.department_id, e.officer_id, e.captured_at, "
        f"{day} AS captured_on FROM supervision_evidence e "
        "WHERE e.officer_id IS NOT NULL "
        "AND EXISTS (SELECT 1 FROM supervision_certificate d "
        "WHERE d.department_id = e.department_id) "
        "AND NOT EXISTS (SELECT 1 FROM supervision_certificate c "
        f"WHERE c.officer_id = e.officer_id AND {_valid_on('c', day)})"
    )
    if scope.since is None:
        rows = list(conn.execute(_sql(query)).all())
    else:  # two indexed reads: items synced since, items of officers re-registered since
        changed = (
            " AND e.officer_id IN (SELECT u.officer_id FROM supervision_certificate u"
            " WHERE u.updated_at > :since AND u.officer_id IS NOT NULL)"
        )
        found = {}
        for extra in (" AND e.synced_at > :since", changed):
            for row in conn.execute(_sql(query + extra, since=scope.since)).all():
                found[row.id] = row
        rows = [found[k] for k in sorted(found)]
    held = _certificates_of(conn, "officer_id", [r.officer_id for r in rows])
    hits = []
    for r in rows:
        on = _iso(r.captured_on) or ""
        certs = held.get(r.officer_id, [])
        why = _why(certs, on)
        links: list[tuple[LinkKind, str]] = [("evidence", r.id), ("officer", r.officer_id)]
        links += [("certificate", c["cert_no"]) for c in certs]
        hits.append(
            Hit(
                subject=r.id,
                department_id=r.department_id,
                summary=f"证据 {r.id} 取证时（{on}）取证人员{why}",
                facts={
                    "captured_at": _iso(r.captured_at),
                    "captured_on": on,
                    "officer_id": r.officer_id,
                    "reason": why,
                    "certificates": certs,
                },
                links=tuple(links),
            )
        )
    return hits


def find_record_officer_certificate_invalid(conn: Connection, scope: Scope) -> Iterable[Hit]:
    """Records naming an officer whose 执法证 number is missing, unknown to the register or
    not valid on the filing date (for departments whose certificates the register keeps)."""
    rows = conn.execute(
        _sql(
            "SELECT r.id, r.department_id, r.case_number, r.filing_on, o.position, o.name, "
            "o.cert_no FROM supervision_record r "
            "JOIN supervision_record_officer o ON o.record_id = r.id "
            "WHERE r.filing_on IS NOT NULL "
            "AND EXISTS (SELECT 1 FROM supervision_certificate d "
            "WHERE d.department_id = r.department_id) "
            "AND NOT EXISTS (SELECT 1 FROM supervision_certificate c "
            f"WHERE c.cert_no = o.cert_no AND {_valid_on('c', 'r.filing_on')})"
            + _since("r.updated_at", scope)
            + " ORDER BY r.id, o.position",
            **_since_params(scope),
        )
    ).all()
    held = _certificates_of(conn, "cert_no", [r.cert_no for r in rows if r.cert_no])
    by_record: dict[str, list[Any]] = defaultdict(list)
    for r in rows:
        by_record[r.id].append(r)
    hits = []
    for rid, officers in by_record.items():
        first = officers[0]
        filed = _iso(first.filing_on) or ""
        bad = [
            {
                "name": o.name,
                "cert_no": o.cert_no,
                "reason": _why(held.get(o.cert_no, []), filed) if o.cert_no else "未填执法证号",
            }
            for o in officers
        ]
        links: list[tuple[LinkKind, str]] = [("record", rid)]
        links += [("certificate", o.cert_no) for o in officers if o.cert_no]
        text_ = "；".join(f"{b['name']}（{b['cert_no'] or '无证号'}）{b['reason']}" for b in bad)
        hits.append(
            Hit(
                subject=rid,
                department_id=first.department_id,
                summary=f"{first.case_number}：立案日 {filed} {text_}"[:500],
                facts={"case_number": first.case_number, "filing_on": filed, "officers": bad},
                links=tuple(links),
            )
        )
    return hits


def find_evidence_after_decision(conn: Connection, scope: Scope) -> Iterable[Hit]:
    """Records citing as evidence an item captured after the day of their decision: the
    decision cannot have rested on it."""
    start = _day_start(conn, "r.decision_on", 1, _hours(scope))
    query = (
        "SELECT r.id, r.department_id, r.case_number, r.decision_on, l.evidence_id, "
        "e.captured_at FROM supervision_record r "
        "JOIN supervision_record_link l ON l.record_id = r.id AND l.role = 'evidence' "
        "JOIN supervision_evidence e ON e.id = l.evidence_id "
        f"WHERE r.decision_on IS NOT NULL AND e.captured_at >= {start}"
    )
    if scope.since is None:
        rows = list(conn.execute(_sql(query)).all())
    else:  # records updated since, items synced since: each its own (indexed) read
        found = {}
        for extra in (" AND r.updated_at > :since", " AND e.synced_at > :since"):
            for row in conn.execute(_sql(query + extra, since=scope.since)).all():
                found[(row.id, row.evidence_id)] = row
        rows = [found[k] for k in sorted(found)]
    by_record: dict[str, list[Any]] = defaultdict(list)
    for r in rows:
        by_record[r.id].append(r)
    hits = []
    for rid, items in by_record.items():
        first = items[0]
        decided = _iso(first.decision_on)
        links: list[tuple[LinkKind, str]] = [("record", rid)]
        links += [("evidence", i.evidence_id) for i in items]
        late = [{"evidence_id": i.evidence_id, "captured_at": _iso(i.captured_at)} for i in items]
        hits.append(
            Hit(
                subject=rid,
                department_id=first.department_id,
                summary=f"{first.case_number}：{len(items)} 件证据取证于决定日 {decided} 之后"[
                    :500
                ],
                facts={"case_number": first.case_number, "decision_on": decided, "late": late},
                links=tuple(links),
            )
        )
    return hits


def find_evidence_not_anchored(conn: Connection, scope: Scope) -> Iterable[Hit]:
    """Items not anchored within ``anchor_within_hours`` (default 24) of capture: anchored
    later, or still unanchored when that time has passed (measured from the start of
    ``scope.today``, UTC)."""
    hours = int(scope.param("anchor_within_hours", 24))
    cutoff = _midnight(scope.today) - timedelta(hours=hours)
    rows = conn.execute(
        _sql(
            "SELECT e.id, e.department_id, e.captured_at, e.anchored_at "
            "FROM supervision_evidence e WHERE "
            "(e.anchored_at IS NULL AND e.captured_at < :cutoff) OR "
            f"(e.anchored_at > {_plus_hours(conn, 'e.captured_at', hours)})",
            cutoff=cutoff,
        )
    ).all()
    hits = []
    for r in rows:
        captured, anchored = _instant(r.captured_at), _instant(r.anchored_at)
        assert captured is not None
        late = (anchored - captured) if anchored else None
        what = (
            f"取证后 {late.total_seconds() / 3600:.1f} 小时才上链存证"
            if late is not None
            else f"取证后超过 {hours} 小时仍未上链存证"
        )
        hits.append(
            Hit(
                subject=r.id,
                department_id=r.department_id,
                summary=f"证据 {r.id} {what}",
                facts={
                    "captured_at": _iso(captured),
                    "anchored_at": _iso(anchored),
                    "limit_hours": hours,
                    "hours": round(late.total_seconds() / 3600, 1) if late is not None else None,
                },
                links=(("evidence", r.id),),
            )
        )
    return hits


def find_unsigned_evidence(conn: Connection, scope: Scope) -> Iterable[Hit]:
    """Items whose capture statement the core could not sign (no usable custodial certificate
    of the capturing officer): their origin is not attested."""
    rows = conn.execute(
        _sql(
            "SELECT e.id, e.department_id, e.officer_id, e.captured_at "
            "FROM supervision_evidence e WHERE e.signed = :no" + _since("e.synced_at", scope),
            no=False,
            **_since_params(scope),
        )
    ).all()
    return [
        Hit(
            subject=r.id,
            department_id=r.department_id,
            summary=f"证据 {r.id} 取证声明未签名",
            facts={"captured_at": _iso(r.captured_at), "officer_id": r.officer_id},
            links=(("evidence", r.id),) + ((("officer", r.officer_id),) if r.officer_id else ()),
        )
        for r in rows
    ]


def _synced_scopes(conn: Connection) -> tuple[bool, list[str], datetime | None]:
    """Whether the evidence feed was read for every department, which departments' own
    readings there are, and when the earliest relevant reading last ran."""
    rows = conn.execute(
        text("SELECT feed, synced_at FROM supervision_sync WHERE feed LIKE 'evidence@%'")
    ).all()
    scopes = {str(r.feed).split("@", 1)[1]: _instant(r.synced_at) for r in rows}
    if "all" in scopes:
        return True, [], scopes["all"]
    return False, sorted(scopes), None


def find_record_cites_unknown_evidence(conn: Connection, scope: Scope) -> Iterable[Hit]:
    """Records citing evidence ids the core does not have (or the department may not see) —
    judged only once the evidence feed has been read for the record's department (or for all),
    and only for records ingested before that reading."""
    everyone, departments, at = _synced_scopes(conn)
    if not everyone and not departments:
        return []
    params: dict[str, Any] = _since_params(scope)
    if everyone:
        where = "r.created_at <= :read_at"
        params["read_at"] = at
    else:
        names = ", ".join(f":d{i}" for i in range(len(departments)))
        where = f"r.department_id IN ({names})"
        params.update({f"d{i}": d for i, d in enumerate(departments)})
    rows = conn.execute(
        _sql(
            "SELECT r.id, r.department_id, r.case_number, l.role, l.evidence_id "
            "FROM supervision_record r JOIN supervision_record_link l ON l.record_id = r.id "
            f"WHERE {where} AND NOT EXISTS (SELECT 1 FROM supervision_evidence e "
            "WHERE e.id = l.evidence_id)" + _since("r.updated_at", scope) + " ORDER BY r.id",
            **params,
        )
    ).all()
    by_record: dict[str, list[Any]] = defaultdict(list)
    for r in rows:
        by_record[r.id].append(r)
    hits = []
    for rid, missing in by_record.items():
        first = missing[0]
        hits.append(
            Hit(
                subject=rid,
                department_id=first.department_id,
                summary=f"{first.case_number}：引用的 {len(missing)} 件证据在证据库中不存在"[:500],
                facts={
                    "case_number": first.case_number,
                    "missing": [{"role": m.role, "id": m.evidence_id} for m in missing],
                },
                links=(("record", rid),),
            )
        )
    return hits


def find_court_transfer_not_accepted(conn: Connection, scope: Scope) -> Iterable[Hit]:
    """Transfers to a court still pending ``court_accept_days`` (default 15) days after they
    were sent, or accepted later than that."""
    days = int(scope.param("court_accept_days", 15))
    cutoff = _midnight(scope.today) - timedelta(days=days)
    rows = conn.execute(
        _sql(
            "SELECT id, from_department_id, to_department_id, status, sent_at, decided_at, "
            "evidence_ids FROM supervision_transfer WHERE to_kind = 'court' AND "
            "((status = 'pending' AND sent_at < :cutoff) OR status = 'accepted') ORDER BY id",
            cutoff=cutoff,
        )
    ).all()
    hits = []
    limit = timedelta(days=days)
    for r in rows:
        sent, decided = _instant(r.sent_at), _instant(r.decided_at)
        assert sent is not None
        if r.status == "accepted" and (decided is None or decided - sent <= limit):
            continue
        waited = ((decided or _midnight(scope.today)) - sent).days
        what = f"移送法院 {waited} 日后才受理" if decided else f"移送法院已 {waited} 日未受理"
        ids = json.loads(r.evidence_ids) if isinstance(r.evidence_ids, str) else r.evidence_ids
        items = [str(i) for i in (ids or [])]
        links: list[tuple[LinkKind, str]] = [("transfer", r.id)]
        links += [("evidence", i) for i in items[:50]]
        hits.append(
            Hit(
                subject=r.id,
                department_id=r.from_department_id,
                summary=f"移送 {r.id}：{what}（时限 {days} 日）",
                facts={
                    "to_department_id": r.to_department_id,
                    "status": r.status,
                    "sent_at": _iso(sent),
                    "decided_at": _iso(decided),
                    "days": waited,
                    "limit_days": days,
                    "items": len(items),
                },
                links=tuple(links),
            )
        )
    return hits


def find_evidence_without_purpose(conn: Connection, scope: Scope) -> Iterable[Hit]:
    """Items on a case's evidence list (证据清单) without the purpose they prove (证明目的)."""
    rows = conn.execute(
        _sql(
            "SELECT ec.evidence_id, ec.case_id, e.department_id FROM supervision_evidence_case ec "
            "JOIN supervision_evidence e ON e.id = ec.evidence_id WHERE trim(ec.purpose) = ''"
            + _since("e.synced_at", scope)
            + " ORDER BY ec.case_id, ec.evidence_id",
            **_since_params(scope),
        )
    ).all()
    return [
        Hit(
            subject=f"{r.case_id}/{r.evidence_id}",
            department_id=r.department_id,
            summary=f"案件 {r.case_id} 证据清单中的证据 {r.evidence_id} 未写明证明目的",
            facts={"case_id": r.case_id, "evidence_id": r.evidence_id},
            links=(("case", r.case_id), ("evidence", r.evidence_id)),
        )
        for r in rows
    ]


def find_same_file_different_parties(conn: Connection, scope: Scope) -> Iterable[Hit]:
    """One file (the same SHA-256) cited as evidence in records of different parties — one
    item cited twice, or two captures of identical bytes: evidence reused across cases."""
    if scope.since is None:  # hashes used more than once: by two items, or by two records
        candidates = (
            "SELECT sha256 FROM supervision_evidence GROUP BY sha256 HAVING COUNT(*) > 1"
            " UNION"
            " SELECT e.sha256 FROM (SELECT evidence_id FROM supervision_record_link"
            "  WHERE role = 'evidence' GROUP BY evidence_id HAVING COUNT(*) > 1) m"
            "  JOIN supervision_evidence e ON e.id = m.evidence_id"
        )
    else:  # hashes of items synced, or cited by records updated, since: used twice or more
        candidates = (
            "SELECT c.sha256 FROM ("
            " SELECT sha256 FROM supervision_evidence WHERE synced_at > :since"
            " UNION"
            " SELECT e.sha256 FROM supervision_record r"
            "  JOIN supervision_record_link l ON l.record_id = r.id AND l.role = 'evidence'"
            "  JOIN supervision_evidence e ON e.id = l.evidence_id WHERE r.updated_at > :since"
            ") c JOIN supervision_evidence x ON x.sha256 = c.sha256"
            " JOIN supervision_record_link u ON u.evidence_id = x.id AND u.role = 'evidence'"
            " GROUP BY c.sha256 HAVING COUNT(*) > 1"
        )
    hashes = sorted(conn.execute(_sql(candidates, **_since_params(scope))).scalars())
    # then each candidate's uses, a bounded list at a time (the planner, told the few
    # hashes, walks the indexes instead of joining whole tables)
    rows: list[Any] = []
    for start in range(0, len(hashes), 500):
        chunk = hashes[start : start + 500]
        names = ", ".join(f":h{i}" for i in range(len(chunk)))
        rows += conn.execute(
            _sql(
                "WITH h AS ("
                " SELECT e.sha256, r.party_digest, r.id AS record_id, r.department_id,"
                "  r.case_number, e.id AS evidence_id"
                " FROM supervision_evidence e"
                " JOIN supervision_record_link l ON l.evidence_id = e.id AND l.role = 'evidence'"
                " JOIN supervision_record r ON r.id = l.record_id"
                f" WHERE r.party_digest IS NOT NULL AND e.sha256 IN ({names})"
                "), g AS ("
                " SELECT sha256 FROM h GROUP BY sha256 HAVING COUNT(DISTINCT party_digest) > 1"
                ") SELECT h.* FROM h JOIN g ON g.sha256 = h.sha256"
                " ORDER BY h.sha256, h.record_id, h.evidence_id",
                **{f"h{i}": v for i, v in enumerate(chunk)},
            )
        ).all()
    by_hash: dict[str, list[Any]] = defaultdict(list)
    for r in rows:
        by_hash[r.sha256].append(r)
    hits = []
    for sha, uses in by_hash.items():
        records = sorted({u.record_id for u in uses})
        parties = sorted({u.party_digest for u in uses})
        items = sorted({u.evidence_id for u in uses})
        links: list[tuple[LinkKind, str]] = [("record", r) for r in records]
        links += [("evidence", i) for i in items]
        links += [("party", p) for p in parties]
        hits.append(
            Hit(
                subject=sha,
                department_id=min(u.department_id for u in uses),
                summary=(
                    f"同一文件（SHA-256 {sha[:12]}…）作为证据出现在 {len(parties)} 个不同当事人"
                    f"的 {len(records)} 份案卷中"
                ),
                facts={
                    "sha256": sha,
                    "parties": len(parties),
                    "records": [
                        {
                            "id": u.record_id,
                            "case_number": u.case_number,
                            "evidence_id": u.evidence_id,
                        }
                        for u in uses[:50]
                    ],
                },
                links=tuple(links),
            )
        )
    return hits


def find_repeated_refusals(conn: Connection, scope: Scope) -> Iterable[Hit]:
    """Officers refused by the core's access policy at least ``refusal_min`` times (default
    5) in the ``refusal_window_days`` days (default 7) up to and including ``scope.today``:
    someone trying records that are not theirs."""
    least = int(scope.param("refusal_min", 5))
    days = int(scope.param("refusal_window_days", 7))
    start = _midnight(scope.today) - timedelta(days=days - 1)
    end = _midnight(scope.today) + timedelta(days=1)
    rows = conn.execute(
        _sql(
            "SELECT actor_id, MAX(department_id) AS department_id, SUM(count) AS refused, "
            "COUNT(*) AS rows_, MIN(at) AS first_at, MAX(at) AS last_at, "
            "COUNT(DISTINCT route) AS routes FROM supervision_refusal "
            "WHERE actor_id IS NOT NULL AND at >= :start AND at < :end "
            "GROUP BY actor_id HAVING SUM(count) >= :least ORDER BY actor_id",
            start=start,
            end=end,
            least=least,
        )
    ).all()
    return [
        Hit(
            subject=r.actor_id,
            department_id=r.department_id or "",
            summary=(
                f"执法人员 {r.actor_id} 在 {days} 日内被拒绝访问 {int(r.refused)} 次"
                f"（涉及 {int(r.routes)} 个接口）"
            ),
            facts={
                "refused": int(r.refused),
                "routes": int(r.routes),
                "first_at": _iso(_instant(r.first_at)),
                "last_at": _iso(_instant(r.last_at)),
                "window_days": days,
                "min": least,
            },
            links=(("officer", r.actor_id),),
        )
        for r in rows
    ]


MODELS: list[ProblemModel] = [
    ProblemModel(
        code="capture_without_valid_certificate",
        name="取证人员执法证无效",
        basis=f"{LAW}第四十二条、第五十五条",
        severity="high",
        description="证据的取证人员在取证当日没有有效的执法证（未登记、过期、未生效或已吊销）。",
        find=find_capture_without_valid_certificate,
        reads=("evidence", "certificates"),
    ),
    ProblemModel(
        code="record_officer_certificate_invalid",
        name="办案人员执法证无效",
        basis=f"{LAW}第四十二条",
        severity="high",
        description="案卷中的执法人员未填执法证号，或其执法证不在登记册中、立案日不在有效期内或已吊销。",
        find=find_record_officer_certificate_invalid,
        reads=("records", "certificates"),
    ),
    ProblemModel(
        code="evidence_after_decision",
        name="证据取得晚于处罚决定",
        basis=f"{LAW}第四十条、第四十六条",
        severity="high",
        description="案卷作为定案证据引用的证据，其取证时间晚于处罚决定日。",
        find=find_evidence_after_decision,
        reads=("records", "evidence"),
    ),
    ProblemModel(
        code="evidence_not_anchored",
        name="证据未及时上链存证",
        basis=f"{LAW}第四十七条；《优化营商环境条例》第五十八条",
        severity="medium",
        description="证据在取证后规定时限（默认 24 小时）内未完成区块链锚定。",
        find=find_evidence_not_anchored,
        reads=("evidence",),
    ),
    ProblemModel(
        code="unsigned_evidence",
        name="取证声明未签名",
        basis=f"{LAW}第四十一条、第四十六条；《中华人民共和国电子签名法》第十四条",
        severity="high",
        description="证据的取证声明没有取证人员的电子签名，来源无法证明。",
        find=find_unsigned_evidence,
        reads=("evidence",),
    ),
    ProblemModel(
        code="record_cites_unknown_evidence",
        name="案卷引用证据库中不存在的证据",
        basis=f"{LAW}第四十六条、第四十七条",
        severity="high",
        description="案卷引用的证据编号在证据库中不存在（或本部门无权查看），只在证据库同步之后判断。",
        find=find_record_cites_unknown_evidence,
        reads=("records", "evidence"),
    ),
    ProblemModel(
        code="court_transfer_not_accepted",
        name="移送法院逾期未受理",
        basis=(
            "《中华人民共和国行政强制法》第五十六条（参照：法院五日内受理强制执行申请）；"
            "证据移送的受理日数按地方规定配置，默认 15 日"
        ),
        severity="medium",
        description="移送法院的证据包超过规定日数仍未受理，或受理晚于规定日数。",
        find=find_court_transfer_not_accepted,
        reads=("transfers",),
    ),
    ProblemModel(
        code="evidence_without_purpose",
        name="证据清单缺证明目的",
        basis=f"{LAW}第四十六条；案卷评查标准（证据清单应载明证明目的）",
        severity="low",
        description="案件证据清单中的证据没有写明证明目的。",
        find=find_evidence_without_purpose,
        reads=("evidence",),
    ),
    ProblemModel(
        code="same_file_different_parties",
        name="同一证据文件用于不同当事人",
        basis=f"{LAW}第四十条、第四十六条",
        severity="high",
        description="内容完全相同（SHA-256 相同）的证据文件被不同当事人的案卷作为证据引用。",
        find=find_same_file_different_parties,
        reads=("records", "evidence"),
    ),
    ProblemModel(
        code="repeated_refusals",
        name="多次越权访问被拒",
        basis=f"{LAW}第五十条；《中华人民共和国个人信息保护法》第十条",
        severity="medium",
        description=(
            "同一执法人员在时间窗口内（默认 7 日）被证据库访问策略拒绝达到阈值次数（默认 5 次）。"
        ),
        find=find_repeated_refusals,
        reads=("refusals",),
    ),
]
