"""Problem models over the case centre's records (行政处罚法 2021 and 国办发〔2024〕54号).

Each model is one set-based SELECT over ``supervision_record`` (with its officers and links),
never a Python loop over every row: the database does the filtering, Python only shapes the
hits. A second query per model fetches the evidence ids of the hit records (by their ids, in
``IN`` lists of ``CHUNK``), so each clue links its record and the evidence the record cites —
ids, never copies. Date arithmetic goes through :func:`plus_days` / :func:`plus_years`, written for
SQLite and PostgreSQL alike.

Thresholds are ``Scope.param`` values with the law's numbers as defaults (amounts in fen):
``decision_days`` 90, ``min_certified_officers`` 2, ``hearing_person_fen`` ¥10,000 and
``hearing_organisation_fen`` ¥100,000 (the 较大数额 of 《市场监督管理行政处罚听证办法》第五条),
``simple_person_fen`` ¥200 and ``simple_organisation_fen`` ¥3,000, ``preservation_days`` 7,
``service_days`` 7, ``major_fen`` ¥100,000 (重大, a locality's choice), ``limitation_years``
2, ``inspection_window_days`` 30.

An incremental run (``Scope.since``) looks only at records updated after it (for the repeated
inspections model: at the parties of those records). The models measured against ``today``
(a decision or a service still missing) find records that grew overdue without a change only
in a full run, which the schedule makes once a day.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Date,
    Integer,
    Select,
    and_,
    case,
    exists,
    func,
    literal_column,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.sql.elements import ColumnElement

from evidence_service.modules.supervision.clues.base import Hit, LinkKind, ProblemModel, Scope
from evidence_service.modules.supervision.models import record, record_link, record_officer

LAW = "《中华人民共和国行政处罚法》"
YUAN = 100  # fen per yuan
CHUNK = 500  # ids in one IN list


# ------------------------------------------------------------------ portable date arithmetic


def plus_days(conn: Connection, column: Any, days: int) -> ColumnElement[Any]:
    """``column + days`` as a date, on SQLite (ISO text) and PostgreSQL (date)."""
    days = int(days)
    if conn.dialect.name == "sqlite":
        return func.date(column, f"{days:+d} days")
    return type_coerce(column + literal_column(str(days), Integer), Date)


def plus_years(conn: Connection, column: Any, years: int) -> ColumnElement[Any]:
    """``column + years`` calendar years (29 February goes to 1 March on both databases)."""
    years = int(years)
    if conn.dialect.name == "sqlite":
        return func.date(column, f"{years:+d} years")
    return type_coerce(column + literal_column(f"INTERVAL '{years} years'"), Date)


# ------------------------------------------------------------------ shared shaping


def _touched(stmt: Select[Any], scope: Scope) -> Select[Any]:
    return stmt if scope.since is None else stmt.where(record.c.updated_at > scope.since)


def _iso(value: Any) -> str | None:
    """A date column's value as ISO text (SQLite may hand back text, PostgreSQL a date)."""
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date) else str(value)


def _day(value: Any) -> date | None:
    return None if value is None else date.fromisoformat(_iso(value) or "")


def _yuan(fen: int | None) -> str | None:
    return None if fen is None else f"{fen / YUAN:.2f}"


def _evidence_of(conn: Connection, ids: Sequence[str]) -> dict[str, list[str]]:
    """The evidence and document ids the hit records cite (``IN`` lists of ``CHUNK``: hits
    are few, so this never re-runs the model's scan)."""
    out: dict[str, list[str]] = defaultdict(list)
    for start in range(0, len(ids), CHUNK):
        rows = conn.execute(
            select(record_link.c.record_id, record_link.c.evidence_id)
            .where(record_link.c.record_id.in_(ids[start : start + CHUNK]))
            .order_by(record_link.c.record_id, record_link.c.evidence_id)
        )
        for rid, evidence_id in rows:
            out[rid].append(evidence_id)
    return out


def _record_hits(
    conn: Connection,
    stmt: Select[Any],
    describe: Any,
) -> Iterable[Hit]:
    """One hit per selected record (``stmt`` selects ``id``, ``department_id``,
    ``case_number``, ``core_case_id`` first): ``describe(row)`` gives (summary, facts)."""
    rows = conn.execute(stmt).all()
    if not rows:
        return []
    evidence = _evidence_of(conn, [row.id for row in rows])
    hits = []
    for row in rows:
        summary, facts = describe(row._mapping)
        links: list[tuple[LinkKind, str]] = [("record", row.id)]
        links += [("evidence", e) for e in evidence.get(row.id, [])]
        if row.core_case_id:
            links.append(("case", row.core_case_id))
        facts = {"case_number": row.case_number, **facts}
        hits.append(
            Hit(
                subject=row.id,
                department_id=row.department_id,
                summary=f"{row.case_number}：{summary}"[:500],
                facts=facts,
                links=tuple(links),
            )
        )
    return hits


def _base(*columns: Any, kinds: Sequence[str] = ("penalty",)) -> Select[Any]:
    return select(
        record.c.id, record.c.department_id, record.c.case_number, record.c.core_case_id, *columns
    ).where(record.c.kind.in_(kinds))


def _amount() -> ColumnElement[Any]:
    """The amount a penalty is about: the decided one, else the notified one."""
    return func.coalesce(record.c.decided_fen, record.c.notified_fen)


def _by_party(scope: Scope, person: tuple[str, int], organisation: tuple[str, int]) -> Any:
    return case(
        (record.c.party_kind == "organisation", scope.param(*organisation)),
        else_=scope.param(*person),
    )


# ------------------------------------------------------------------ the models


def find_decision_after_90_days(conn: Connection, scope: Scope) -> Iterable[Hit]:
    days = int(scope.param("decision_days", 90))
    late = and_(
        record.c.decision_on.is_not(None),
        record.c.decision_on > plus_days(conn, record.c.filing_on, days),
    )
    overdue = and_(
        record.c.decision_on.is_(None),
        record.c.closing_on.is_(None),
        record.c.filing_on < scope.today - timedelta(days=days),
    )
    stmt = _base(record.c.filing_on, record.c.decision_on).where(
        record.c.filing_on.is_not(None), or_(late, overdue)
    )

    def describe(row: Any) -> tuple[str, dict[str, Any]]:
        filed, decided = _day(row["filing_on"]), _day(row["decision_on"])
        assert filed is not None
        if decided is None:
            waited = (scope.today - filed).days
            text = f"立案 {filed} 已 {waited} 日仍未作出处罚决定（期限 {days} 日）"
        else:
            waited = (decided - filed).days
            text = f"立案 {filed} 至决定 {decided} 历时 {waited} 日，超过 {days} 日"
        facts = {"filing": _iso(filed), "decision": _iso(decided), "days": waited, "limit": days}
        return text, facts

    return _record_hits(conn, _touched(stmt, scope), describe)


def find_single_officer(conn: Connection, scope: Scope) -> Iterable[Hit]:
    least = int(scope.param("min_certified_officers", 2))
    certified = (
        select(func.count())
        .where(record_officer.c.record_id == record.c.id, record_officer.c.cert_no.is_not(None))
        .scalar_subquery()
    )
    everyone = (
        select(func.count()).where(record_officer.c.record_id == record.c.id).scalar_subquery()
    )
    if scope.since is None:
        # a full run: one pass over the officers, grouped, then an anti-join
        staffed = (
            select(record_officer.c.record_id)
            .where(record_officer.c.cert_no.is_not(None))
            .group_by(record_officer.c.record_id)
            .having(func.count() >= least)
            .subquery()
        )
        short: Any = ~exists().where(staffed.c.record_id == record.c.id)
    else:  # an incremental run: an index probe per touched record (the key starts with it)
        short = certified < least
    stmt = _base(
        certified.label("certified"),
        everyone.label("officers"),
        kinds=("inspection", "penalty"),
    ).where(short)

    def describe(row: Any) -> tuple[str, dict[str, Any]]:
        text = (
            f"持执法证的执法人员 {row['certified']} 人（共 {row['officers']} 人），少于 {least} 人"
        )
        return text, {"certified": row["certified"], "officers": row["officers"], "min": least}

    return _record_hits(conn, _touched(stmt, scope), describe)


def find_decision_without_notice(conn: Connection, scope: Scope) -> Iterable[Hit]:
    stmt = _base(record.c.decision_on).where(
        record.c.decision_on.is_not(None), record.c.notice_on.is_(None)
    )

    def describe(row: Any) -> tuple[str, dict[str, Any]]:
        decided = _iso(row["decision_on"])
        return f"{decided} 作出处罚决定，无事先告知记录", {"decision": decided}

    return _record_hits(conn, _touched(stmt, scope), describe)


def find_penalty_above_notice(conn: Connection, scope: Scope) -> Iterable[Hit]:
    stmt = _base(record.c.notified_fen, record.c.decided_fen).where(
        record.c.decided_fen > record.c.notified_fen
    )

    def describe(row: Any) -> tuple[str, dict[str, Any]]:
        notified, decided = _yuan(row["notified_fen"]), _yuan(row["decided_fen"])
        text = f"决定罚款 ¥{decided} 高于告知的 ¥{notified}"
        return text, {"notified_amount": notified, "decided_amount": decided}

    return _record_hits(conn, _touched(stmt, scope), describe)


def find_no_hearing_offer(conn: Connection, scope: Scope) -> Iterable[Hit]:
    threshold = _by_party(
        scope, ("hearing_person_fen", 10_000 * YUAN), ("hearing_organisation_fen", 100_000 * YUAN)
    )
    amount = func.coalesce(record.c.notified_fen, record.c.decided_fen)
    stmt = _base(amount.label("fen"), threshold.label("threshold"), record.c.party_kind).where(
        record.c.decision_on.is_not(None),
        amount >= threshold,
        record.c.hearing_on.is_(None),
        or_(record.c.hearing_offered.is_(None), record.c.hearing_offered.is_(False)),
    )

    def describe(row: Any) -> tuple[str, dict[str, Any]]:
        fen, limit = _yuan(row["fen"]), _yuan(row["threshold"])
        text = f"罚款 ¥{fen} 达到较大数额 ¥{limit}，未告知听证权利"
        return text, {"amount": fen, "threshold": limit, "party_kind": row["party_kind"]}

    return _record_hits(conn, _touched(stmt, scope), describe)


def find_simple_procedure_over_limit(conn: Connection, scope: Scope) -> Iterable[Hit]:
    limit = _by_party(
        scope, ("simple_person_fen", 200 * YUAN), ("simple_organisation_fen", 3_000 * YUAN)
    )
    stmt = _base(_amount().label("fen"), limit.label("limit"), record.c.party_kind).where(
        record.c.procedure == "simple", _amount() > limit
    )

    def describe(row: Any) -> tuple[str, dict[str, Any]]:
        fen, cap = _yuan(row["fen"]), _yuan(row["limit"])
        text = f"简易程序罚款 ¥{fen}，超过 ¥{cap}"
        return text, {"amount": fen, "limit": cap, "party_kind": row["party_kind"]}

    return _record_hits(conn, _touched(stmt, scope), describe)


def find_preservation_over_7_days(conn: Connection, scope: Scope) -> Iterable[Hit]:
    days = int(scope.param("preservation_days", 7))
    late = record.c.preservation_decision_on > plus_days(conn, record.c.preservation_on, days)
    missing = and_(
        record.c.preservation_decision_on.is_(None),
        record.c.preservation_on < scope.today - timedelta(days=days),
    )
    stmt = _base(
        record.c.preservation_on, record.c.preservation_decision_on, kinds=("inspection", "penalty")
    ).where(record.c.preservation_on.is_not(None), or_(late, missing))

    def describe(row: Any) -> tuple[str, dict[str, Any]]:
        saved, decided = _day(row["preservation_on"]), _day(row["preservation_decision_on"])
        assert saved is not None
        waited = ((decided or scope.today) - saved).days
        text = f"{saved} 先行登记保存，{waited} 日{'后' if decided else '仍未'}作出处理决定"
        facts = {"preservation": _iso(saved), "decision": _iso(decided), "days": waited}
        return text, facts | {"limit": days}

    return _record_hits(conn, _touched(stmt, scope), describe)


def find_service_after_7_days(conn: Connection, scope: Scope) -> Iterable[Hit]:
    days = int(scope.param("service_days", 7))
    late = record.c.service_on > plus_days(conn, record.c.decision_on, days)
    missing = and_(
        record.c.service_on.is_(None), record.c.decision_on < scope.today - timedelta(days=days)
    )
    stmt = _base(record.c.decision_on, record.c.service_on).where(
        record.c.decision_on.is_not(None), or_(late, missing)
    )

    def describe(row: Any) -> tuple[str, dict[str, Any]]:
        decided, served = _day(row["decision_on"]), _day(row["service_on"])
        assert decided is not None
        waited = ((served or scope.today) - decided).days
        text = f"{decided} 作出决定，{waited} 日{'后送达' if served else '仍未送达'}"
        return text, {"decision": _iso(decided), "service": _iso(served), "days": waited}

    return _record_hits(conn, _touched(stmt, scope), describe)


def find_major_without_legal_review(conn: Connection, scope: Scope) -> Iterable[Hit]:
    major = int(scope.param("major_fen", 100_000 * YUAN))
    stmt = _base(_amount().label("fen"), record.c.decision_on).where(
        record.c.decision_on.is_not(None), _amount() >= major, record.c.legal_review_on.is_(None)
    )

    def describe(row: Any) -> tuple[str, dict[str, Any]]:
        fen = _yuan(row["fen"])
        text = f"罚款 ¥{fen} 属重大执法决定，无法制审核记录"
        return text, {"amount": fen, "major_from": _yuan(major)}

    return _record_hits(conn, _touched(stmt, scope), describe)


def find_time_barred(conn: Connection, scope: Scope) -> Iterable[Hit]:
    years = int(scope.param("limitation_years", 2))
    stmt = _base(record.c.occurred_on, record.c.filing_on).where(
        record.c.occurred_on.is_not(None),
        record.c.filing_on > plus_years(conn, record.c.occurred_on, years),
    )

    def describe(row: Any) -> tuple[str, dict[str, Any]]:
        happened, filed = _iso(row["occurred_on"]), _iso(row["filing_on"])
        text = f"违法行为发生于 {happened}，{filed} 才立案，超过 {years} 年"
        return text, {"occurred": happened, "filing": filed, "years": years}

    return _record_hits(conn, _touched(stmt, scope), describe)


#: Stage pairs that must run in this order (the first not after the second) when both are set.
ORDER = (
    ("filing", "decision"),
    ("notice", "decision"),
    ("hearing", "decision"),
    ("legal_review", "decision"),
    ("preservation", "preservation_decision"),
    ("decision", "service"),
    ("decision", "execution"),
    ("service", "execution"),
    ("decision", "closing"),
    ("execution", "closing"),
    ("filing", "closing"),
)
_ORDER_STAGES = tuple(dict.fromkeys(s for pair in ORDER for s in pair))


def find_stages_out_of_order(conn: Connection, scope: Scope) -> Iterable[Hit]:
    col = {s: record.c[f"{s}_on"] for s in _ORDER_STAGES}
    stmt = _base(*col.values(), kinds=("inspection", "penalty")).where(
        or_(*(col[a] > col[b] for a, b in ORDER))
    )

    def describe(row: Any) -> tuple[str, dict[str, Any]]:
        days = {s: _day(row[f"{s}_on"]) for s in _ORDER_STAGES}
        wrong = [
            (a, b)
            for a, b in ORDER
            if days[a] and days[b] and days[a] > days[b]  # type: ignore[operator]
        ]
        text = "；".join(f"{a} {days[a]} 晚于 {b} {days[b]}" for a, b in wrong)
        return f"程序倒置：{text}", {
            "inverted": [[a, _iso(days[a]), b, _iso(days[b])] for a, b in wrong]
        }

    return _record_hits(conn, _touched(stmt, scope), describe)


def find_closed_without_execution(conn: Connection, scope: Scope) -> Iterable[Hit]:
    stmt = _base(record.c.decision_on, record.c.closing_on, record.c.decided_fen).where(
        record.c.closing_on.is_not(None),
        record.c.decision_on.is_not(None),
        record.c.execution_on.is_(None),
        record.c.decided_fen > 0,
    )

    def describe(row: Any) -> tuple[str, dict[str, Any]]:
        closed = _iso(row["closing_on"])
        text = f"{closed} 结案，罚款 ¥{_yuan(row['decided_fen'])} 无执行记录"
        return text, {"closing": closed, "decided_amount": _yuan(row["decided_fen"])}

    return _record_hits(conn, _touched(stmt, scope), describe)


def find_no_linked_evidence(conn: Connection, scope: Scope) -> Iterable[Hit]:
    cited = exists().where(record_link.c.record_id == record.c.id)
    stmt = _base(record.c.kind, kinds=("inspection", "penalty")).where(~cited)

    def describe(row: Any) -> tuple[str, dict[str, Any]]:
        return "案卷未关联任何证据", {"kind": row["kind"]}

    return _record_hits(conn, _touched(stmt, scope), describe)


def find_repeated_inspection(conn: Connection, scope: Scope) -> Iterable[Hit]:
    """A party inspected by more than one department within the window: one hit per window,
    anchored at an inspection that another department's follows within the window and that no
    earlier such inspection of the party precedes within the window (a chain of back-to-back
    windows is flagged from its first)."""
    window = int(scope.param("inspection_window_days", 30))
    a, b, c, d = record.alias("a"), record.alias("b"), record.alias("c"), record.alias("d")

    def day(t: Any) -> Any:
        return func.coalesce(t.c.investigation_on, t.c.filing_on)

    def same_party(t: Any) -> Any:
        return and_(
            t.c.kind == "inspection", t.c.party_digest == a.c.party_digest, t.c.id != a.c.id
        )

    later = exists().where(
        same_party(b),
        b.c.department_id != a.c.department_id,
        day(b) >= day(a),
        day(b) <= plus_days(conn, day(a), window),
    )
    # an earlier inspection of the party within the window that opens a window itself
    earlier = exists().where(
        same_party(c),
        or_(
            and_(day(c) < day(a), day(c) >= plus_days(conn, day(a), -window)),
            and_(day(c) == day(a), c.c.id < a.c.id),
        ),
        exists().where(
            d.c.kind == "inspection",
            d.c.party_digest == c.c.party_digest,
            d.c.id != c.c.id,
            d.c.department_id != c.c.department_id,
            day(d) >= day(c),
            day(d) <= plus_days(conn, day(c), window),
        ),
    )
    anchors = select(a.c.id, a.c.department_id, a.c.party_digest, day(a).label("day")).where(
        a.c.kind == "inspection",
        a.c.party_digest.is_not(None),
        day(a).is_not(None),
        later,
        ~earlier,
    )
    if scope.since is not None:
        touched = select(record.c.party_digest).where(
            record.c.kind == "inspection", record.c.updated_at > scope.since
        )
        anchors = anchors.where(a.c.party_digest.in_(touched))
    found = conn.execute(anchors).all()
    if not found:
        return []
    members = (
        select(
            b.c.id, b.c.department_id, b.c.case_number, day(b).label("day"), a.c.id.label("anchor")
        )
        .select_from(
            a.join(b, and_(b.c.party_digest == a.c.party_digest, b.c.kind == "inspection"))
        )
        .where(
            a.c.id.in_(anchors.with_only_columns(a.c.id).subquery().select()),
            day(b) >= day(a),
            day(b) <= plus_days(conn, day(a), window),
        )
        .order_by(a.c.id, day(b), b.c.id)
    )
    grouped: dict[str, list[Any]] = defaultdict(list)
    for row in conn.execute(members):
        grouped[row.anchor].append(row)
    hits = []
    for anchor in found:
        rows = grouped.get(anchor.id, [])
        first = _iso(anchor.day)
        departments = sorted({r.department_id for r in rows})
        links: list[tuple[LinkKind, str]] = [("party", anchor.party_digest)]
        links += [("record", r.id) for r in rows]
        hits.append(
            Hit(
                subject=f"{anchor.party_digest}:{first}",
                department_id=anchor.department_id,
                summary=(
                    f"同一当事人自 {first} 起 {window} 日内被 {len(departments)} 个部门检查"
                    f" {len(rows)} 次"
                ),
                facts={
                    "from": first,
                    "window_days": window,
                    "inspections": [[r.case_number, _iso(r.day), r.department_id] for r in rows],
                    "departments": departments,
                },
                links=tuple(links),
            )
        )
    return hits


def _model(
    code: str, name: str, articles: str, severity: Any, description: str, find: Any
) -> ProblemModel:
    return ProblemModel(
        code=code,
        name=name,
        basis=f"{LAW}{articles}" if articles.startswith("第") else articles,
        severity=severity,
        description=description,
        find=find,
        reads=("records",),
    )


MODELS: list[ProblemModel] = [
    _model(
        "decision_after_90_days",
        "超期作出处罚决定",
        "第六十条",
        "medium",
        "立案后超过 90 日才作出处罚决定，或立案已超过 90 日仍无决定也未结案。",
        find_decision_after_90_days,
    ),
    _model(
        "single_officer",
        "执法人员不足两人或无执法证",
        "第四十二条",
        "high",
        "检查或处罚案件中持有执法证号的执法人员少于两人。",
        find_single_officer,
    ),
    _model(
        "decision_without_notice",
        "未经事先告知作出处罚决定",
        "第四十四条",
        "high",
        "作出处罚决定前没有告知当事人拟处罚的内容及陈述、申辩、听证等权利的记录。",
        find_decision_without_notice,
    ),
    _model(
        "penalty_above_notice",
        "决定罚款高于告知金额",
        "第四十五条、第六十二条",
        "high",
        "决定的罚款金额高于事先告知的金额（不得因当事人陈述申辩而加重处罚）。",
        find_penalty_above_notice,
    ),
    _model(
        "no_hearing_offer",
        "应告知听证而未告知",
        "第六十三条",
        "high",
        "拟罚款达到较大数额（默认个人 1 万元、单位 10 万元），既无听证也无告知听证权利的记录。",
        find_no_hearing_offer,
    ),
    _model(
        "simple_procedure_over_limit",
        "简易程序超出适用范围",
        "第五十一条",
        "medium",
        "按简易程序处罚，但罚款超过个人 200 元、单位 3000 元。",
        find_simple_procedure_over_limit,
    ),
    _model(
        "preservation_over_7_days",
        "先行登记保存超过 7 日未处理",
        "第五十六条",
        "medium",
        "先行登记保存证据后，7 日内未对保存物品作出处理决定。",
        find_preservation_over_7_days,
    ),
    _model(
        "service_after_7_days",
        "处罚决定书超期送达",
        "第六十一条",
        "low",
        "处罚决定作出后超过 7 日才送达，或已超过 7 日仍未送达。",
        find_service_after_7_days,
    ),
    _model(
        "major_without_legal_review",
        "重大执法决定未经法制审核",
        "第五十八条",
        "high",
        "罚款达到重大执法决定标准（默认 10 万元），没有法制审核记录。",
        find_major_without_legal_review,
    ),
    _model(
        "time_barred",
        "超过追责时效仍予处罚",
        "第三十六条",
        "high",
        "违法行为发生之日起超过二年才立案（发现），依法不再给予行政处罚。",
        find_time_barred,
    ),
    _model(
        "stages_out_of_order",
        "执法程序倒置",
        "第四十四条、第四十七条、第六十一条",
        "medium",
        "环节日期顺序颠倒：如告知、听证或法制审核晚于决定，送达、执行或结案早于决定。",
        find_stages_out_of_order,
    ),
    _model(
        "closed_without_execution",
        "罚款案件结案无执行记录",
        "第四十七条、第六十六条",
        "medium",
        "作出罚款决定的案件已经结案，却没有执行（缴纳罚款）日期。",
        find_closed_without_execution,
    ),
    _model(
        "no_linked_evidence",
        "案卷无关联证据",
        "第四十条、第四十六条",
        "high",
        "检查或处罚案卷没有关联证据中心的任何证据或文书。",
        find_no_linked_evidence,
    ),
    _model(
        "repeated_inspection",
        "同一对象多头重复检查",
        "《国务院办公厅关于严格规范涉企行政检查的意见》（国办发〔2024〕54号）；"
        "《优化营商环境条例》第五十四条",
        "medium",
        "同一当事人在 30 日内被两个以上部门分别检查（应综合查一次）。",
        find_repeated_inspection,
    ),
]
