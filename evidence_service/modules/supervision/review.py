"""Case-file review (案卷评查): a checklist per record kind, automatic items, grading.

The checklists are data (:data:`CHECKLISTS`): each item has a code, its Chinese name, its
section — ``veto`` (基本标准: any failure makes the file 不合格 with total 0), ``presentation``
(卷面, 20 points) or ``content`` (内容, 80 points) — its points, its basis, and, when the data
can decide it, an evaluator over :class:`CaseFacts` (the record and the read models of the
core's evidence). Points are deducted per item, at most the item's points, and a section never
goes below zero ("扣完为止，不计负分", ANCHORS.md §1.2). The rest is decided by a reviewer.

Guarantees: the evaluators are pure (time is the ``today`` parameter); a review is final only
when every item is decided, and a final review never changes again (every write is
conditional on ``status = 'draft'``, and finalizing first claims the review by moving it to
``sealing``, so two finalizations cannot both seal). The storage functions are at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import Connection, Engine, insert, select, update

from evidence_service.modules.kit.db import write_transaction
from evidence_service.modules.supervision.models import (
    STAGES,
    evidence,
    evidence_case,
    record,
    record_link,
    record_officer,
    review,
    review_item,
)
from evidence_service.modules.supervision.records import new_id

Section = Literal["veto", "presentation", "content"]
SECTION_POINTS: Mapping[str, int] = {"presentation": 20, "content": 80}
SECTION_NAMES: Mapping[str, str] = {
    "veto": "基本标准",
    "presentation": "卷面标准",
    "content": "内容标准",
}
EXCELLENT, PASS, FAIL = "优秀", "合格", "不合格"


@dataclass(frozen=True)
class EvidenceFact:
    """One linked evidence item as the read model of the core's feed knows it."""

    signed: bool
    anchored: bool


@dataclass(frozen=True)
class CaseFacts:
    """What the automatic items look at: the record, its officers and links, and the read
    models' view of its evidence (``evidence`` lacks an id the feed has not brought yet;
    ``purposes`` holds each evidence id's purpose on the record's core case)."""

    kind: str
    procedure: str
    stages: Mapping[str, date | None]
    notified_fen: int | None
    decided_fen: int | None
    cert_nos: Sequence[str | None]
    evidence_ids: Sequence[str]
    document_ids: Sequence[str]
    core_case_id: str | None
    evidence: Mapping[str, EvidenceFact] = field(default_factory=dict)
    purposes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Rules:
    """The locality's numbers the evaluators use (``SupervisionConfig``)."""

    today: date
    major_decision_fen: int = 10_000_000
    decision_days: int = 90  # 行政处罚法 art. 60
    service_days: int = 7  # art. 61


@dataclass(frozen=True)
class Verdict:
    """An item's decision: for a veto item ``passed`` alone counts; for a scored item the
    points ``deducted`` (0 … the item's points)."""

    passed: bool
    deducted: int
    note: str


Evaluator = Callable[[CaseFacts, Rules], tuple[int, str]]
"""The data's view of an item: how many faults (0: passed) and why."""


@dataclass(frozen=True)
class Item:
    code: str
    name: str
    section: Section
    points: int  # 0 for a veto item
    basis: str
    evaluate: Evaluator | None = None  # None: a reviewer decides
    per_fault: int = 0  # points off per fault the data finds (capped at ``points``)
    how: str = ""  # how the data decides, for people

    @property
    def auto(self) -> bool:
        return self.evaluate is not None

    def verdict(self, facts: CaseFacts, rules: Rules) -> Verdict:
        if self.evaluate is None:
            raise ValueError(f"{self.code} is decided by a reviewer")
        faults, note = self.evaluate(facts, rules)
        if self.section == "veto":
            return Verdict(faults == 0, 0, note)
        return Verdict(faults == 0, min(self.points, faults * self.per_fault), note)


# --------------------------------------------------------------------------- evaluators


def _officers(facts: CaseFacts, _rules: Rules) -> tuple[int, str]:
    certs = {c for c in facts.cert_nos if c}
    if len(certs) >= 2:
        return 0, f"{len(certs)} 名持证执法人员"
    return 1, f"持证执法人员 {len(certs)} 名，少于 2 名"


def _notice_first(facts: CaseFacts, _rules: Rules) -> tuple[int, str]:
    decision, notice = facts.stages.get("decision"), facts.stages.get("notice")
    if facts.procedure == "simple" or decision is None:
        return 0, "简易程序或尚未决定"
    if notice is None or notice > decision:
        return 1, "决定前无告知记录"
    return 0, f"告知 {notice} 早于决定 {decision}"


def _not_above_notice(facts: CaseFacts, _rules: Rules) -> tuple[int, str]:
    if facts.decided_fen is None or facts.notified_fen is None:
        return 0, "无告知或决定金额"
    if facts.decided_fen > facts.notified_fen:
        return 1, "决定金额高于告知金额（不得因申辩加重）"
    return 0, "决定金额不高于告知金额"


def _documents(facts: CaseFacts, _rules: Rules) -> tuple[int, str]:
    if facts.document_ids:
        return 0, f"{len(facts.document_ids)} 份文书"
    return 1, "案卷未引用任何文书"


def _stages_for(kind: str) -> tuple[str, ...]:
    if kind == "penalty":
        return ("filing", "investigation", "decision", "service")
    return ("filing", "closing")


def _stages(facts: CaseFacts, _rules: Rules) -> tuple[int, str]:
    missing = [s for s in _stages_for(facts.kind) if facts.stages.get(s) is None]
    named = "、".join(STAGES.get(s, s) for s in missing)
    return len(missing), f"缺少环节记录：{named}" if missing else "环节记录齐全"


def _decision_deadline(facts: CaseFacts, rules: Rules) -> tuple[int, str]:
    filing, decision = facts.stages.get("filing"), facts.stages.get("decision")
    if filing is None:
        return 1, "无立案日期"
    end = decision or rules.today
    days = (end - filing).days
    if days > rules.decision_days:
        state = "作出决定" if decision else "仍未决定"
        return 1, f"立案后 {days} 日{state}，超过 {rules.decision_days} 日"
    return 0, f"立案后 {days} 日"


def _service_deadline(facts: CaseFacts, rules: Rules) -> tuple[int, str]:
    decision, service = facts.stages.get("decision"), facts.stages.get("service")
    if decision is None:
        return 0, "尚未决定"
    if service is None:
        return 1, "决定未见送达记录"
    days = (service - decision).days
    if days > rules.service_days:
        return 1, f"决定后 {days} 日送达，超过 {rules.service_days} 日"
    return 0, f"决定后 {days} 日送达"


def _legal_review(facts: CaseFacts, rules: Rules) -> tuple[int, str]:
    decided, decision = facts.decided_fen, facts.stages.get("decision")
    if decided is None or decided < rules.major_decision_fen:
        return 0, "非重大执法决定"
    review = facts.stages.get("legal_review")
    if review is None or (decision is not None and review > decision):
        return 1, "重大执法决定前无法制审核"
    return 0, f"法制审核 {review}"


def _anchored(facts: CaseFacts, _rules: Rules) -> tuple[int, str]:
    if not facts.evidence_ids:
        return 99, "案卷未关联证据"
    bad = []
    for evidence_id in facts.evidence_ids:
        fact = facts.evidence.get(evidence_id)
        if fact is None or not (fact.signed and fact.anchored):
            bad.append(evidence_id)
    if bad:
        return len(bad), f"{len(bad)} 件证据未签名、未锚定或未同步：" + "、".join(bad[:10])
    return 0, f"{len(facts.evidence_ids)} 件证据均已签名并锚定"


def _evidence_list(facts: CaseFacts, _rules: Rules) -> tuple[int, str]:
    if facts.core_case_id is None:
        return 99, "案卷未关联核心系统案件，无证据清单"
    bad = [e for e in facts.evidence_ids if not facts.purposes.get(e, "").strip()]
    if bad:
        return len(bad), f"{len(bad)} 件证据未列入清单或无证明目的：" + "、".join(bad[:10])
    return 0, "证据均列入清单并写明证明目的"


# --------------------------------------------------------------------------- checklists


def _veto_common() -> tuple[Item, ...]:
    return (
        Item("officers_two", "执法人员不少于两人且持证", "veto", 0, "行政处罚法 第42条", _officers,
             how="记录中不同执法证号 ≥ 2"),
        Item("subject_lawful", "执法主体合法", "veto", 0, "评查基本标准"),
        Item("facts_clear", "事实清楚", "veto", 0, "评查基本标准"),
        Item("evidence_sufficient", "证据充分", "veto", 0, "评查基本标准"),
        Item("law_applied", "适用法律正确、定性准确", "veto", 0, "评查基本标准"),
        Item("procedure_lawful", "程序合法", "veto", 0, "评查基本标准"),
        Item("transfer_duty", "无应移送未移送", "veto", 0, "评查基本标准"),
    )  # fmt: skip


def _presentation() -> tuple[Item, ...]:
    return (
        Item("documents_present", "文书齐全", "presentation", 6, "卷面标准", _documents,
             per_fault=6, how="记录引用至少一份文书（核心系统书证）"),
        Item("stages_recorded", "全过程记录各环节齐全", "presentation", 6, "处罚法第47条",
             _stages, per_fault=2, how="处罚：立案、调查、决定、送达；其他：立案、结案；缺一扣 2"),
        Item("documents_standard", "使用规定文书、填写规范", "presentation", 4, "卷面标准"),
        Item("filing_order", "按顺序组卷、页码完整", "presentation", 4, "卷面标准"),
    )  # fmt: skip


PENALTY = (
    *_veto_common(),
    Item("notice_before_decision", "决定前告知陈述申辩权", "veto", 0, "行政处罚法 第44条",
         _notice_first, how="一般程序：告知日期早于或等于决定日期"),
    Item("penalty_not_above_notice", "不因申辩加重处罚", "veto", 0, "行政处罚法 第45、62条",
         _not_above_notice, how="决定金额 ≤ 告知金额"),
    *_presentation(),
    Item("deadline_decision", "立案后 90 日内作出决定", "content", 10, "行政处罚法 第60条",
         _decision_deadline, per_fault=10, how="决定（或今日）− 立案 ≤ 90 日"),
    Item("deadline_service", "决定后 7 日内送达", "content", 10, "行政处罚法 第61条",
         _service_deadline, per_fault=10, how="送达 − 决定 ≤ 7 日"),
    Item("legal_review_major", "重大决定经法制审核", "content", 10, "行政处罚法 第58条",
         _legal_review, per_fault=10, how="决定金额 ≥ 重大标准时，法制审核早于决定"),
    Item("evidence_anchored", "证据已签名并锚定", "content", 15, "证据保全", _anchored,
         per_fault=5, how="每件未签名、未锚定或未同步的证据扣 5 分"),
    Item("evidence_list_complete", "证据清单完整、写明证明目的", "content", 10, "证据清单",
         _evidence_list, per_fault=2, how="每件未列入核心案件清单或无证明目的的证据扣 2 分"),
    Item("hearing_rights", "听证权利告知与组织", "content", 5, "行政处罚法 第63、64条"),
    Item("reasoning", "说理充分", "content", 10, "内容标准"),
    Item("discretion", "裁量适当", "content", 10, "内容标准"),
)  # fmt: skip

GENERAL = (
    *_veto_common(),
    *_presentation(),
    Item("evidence_anchored", "证据已签名并锚定", "content", 20, "证据保全", _anchored,
         per_fault=5, how="每件未签名、未锚定或未同步的证据扣 5 分"),
    Item("evidence_list_complete", "证据清单完整、写明证明目的", "content", 15, "证据清单",
         _evidence_list, per_fault=3, how="每件未列入核心案件清单或无证明目的的证据扣 3 分"),
    Item("timely_handling", "办理时限符合规定", "content", 15, "内容标准"),
    Item("reasoning", "说理充分", "content", 15, "内容标准"),
    Item("law_basis_cited", "引用依据准确", "content", 15, "内容标准"),
)  # fmt: skip

CHECKLISTS: Mapping[str, tuple[Item, ...]] = {"penalty": PENALTY, "general": GENERAL}
KIND_CHECKLIST: Mapping[str, str] = {
    "penalty": "penalty",
    "complaint": "general",
    "permit": "general",
    "inspection": "general",
    "reconsideration": "general",
}


def checklist_for(kind: str) -> str:
    return KIND_CHECKLIST.get(kind, "general")


def items_of(checklist: str) -> Mapping[str, Item]:
    return {item.code: item for item in CHECKLISTS[checklist]}


def _check_checklists() -> None:
    """Each checklist's scored sections add up to their points (20 + 80)."""
    for name, items in CHECKLISTS.items():
        for section, total in SECTION_POINTS.items():
            got = sum(i.points for i in items if i.section == section)
            if got != total:
                raise AssertionError(f"checklist {name}: {section} has {got} points, not {total}")


_check_checklists()


# --------------------------------------------------------------------------- grading


@dataclass(frozen=True)
class Decided:
    """An item as stored: ``passed`` None while undecided."""

    code: str
    passed: bool | None
    deducted: int


@dataclass(frozen=True)
class Score:
    vetoed: bool
    presentation: int
    content: int
    total: int
    grade: str
    undecided: tuple[str, ...]


def grade_of(total: int, vetoed: bool, *, excellent: int = 90, passing: int = 60) -> str:
    if vetoed:
        return FAIL
    if total >= excellent:
        return EXCELLENT
    return PASS if total >= passing else FAIL


def score(
    checklist: str, decided: Sequence[Decided], *, excellent: int = 90, passing: int = 60
) -> Score:
    """The totals of a review: a failed veto item makes it 不合格 with 0; each section is its
    points less its deductions, never below zero. Undecided items deduct nothing yet."""
    items = items_of(checklist)
    by_section: dict[str, int] = {section: 0 for section in SECTION_POINTS}
    vetoed = False
    undecided = []
    for row in decided:
        item = items[row.code]
        if row.passed is None:
            undecided.append(row.code)
        elif item.section == "veto":
            vetoed = vetoed or not row.passed
        else:
            by_section[item.section] += min(row.deducted, item.points)
    presentation = max(0, SECTION_POINTS["presentation"] - by_section["presentation"])
    content = max(0, SECTION_POINTS["content"] - by_section["content"])
    total = 0 if vetoed else presentation + content
    grade = grade_of(total, vetoed, excellent=excellent, passing=passing)
    return Score(vetoed, presentation, content, total, grade, tuple(undecided))


# --------------------------------------------------------------------------- storage

DRAFT, SEALING, FINAL = "draft", "sealing", "final"


class ReviewConflictError(Exception):
    """The review is not in a state that allows this (final, being sealed, undecided items,
    an item the data decides, a draft already open for the record)."""


def case_facts(conn: Connection, record_id: str) -> tuple[dict[str, Any], CaseFacts] | None:
    """The record's row and the facts the automatic items look at (None: no record)."""
    row = conn.execute(select(record).where(record.c.id == record_id)).first()
    if row is None:
        return None
    rec = dict(row._mapping)
    certs = list(
        conn.execute(
            select(record_officer.c.cert_no)
            .where(record_officer.c.record_id == record_id)
            .order_by(record_officer.c.position)
        ).scalars()
    )
    links: dict[str, list[str]] = {"evidence": [], "document": []}
    for role, ref in conn.execute(
        select(record_link.c.role, record_link.c.evidence_id)
        .where(record_link.c.record_id == record_id)
        .order_by(record_link.c.evidence_id)
    ):
        links.setdefault(role, []).append(ref)
    known: dict[str, EvidenceFact] = {}
    purposes: dict[str, str] = {}
    if links["evidence"]:
        for eid, signed, anchored_at in conn.execute(
            select(evidence.c.id, evidence.c.signed, evidence.c.anchored_at).where(
                evidence.c.id.in_(links["evidence"])
            )
        ):
            known[eid] = EvidenceFact(bool(signed), anchored_at is not None)
        if rec["core_case_id"]:
            for eid, purpose in conn.execute(
                select(evidence_case.c.evidence_id, evidence_case.c.purpose).where(
                    evidence_case.c.case_id == rec["core_case_id"],
                    evidence_case.c.evidence_id.in_(links["evidence"]),
                )
            ):
                purposes[eid] = purpose
    facts = CaseFacts(
        kind=rec["kind"],
        procedure=rec["procedure"],
        stages={stage: rec[f"{stage}_on"] for stage in STAGES},
        notified_fen=rec["notified_fen"],
        decided_fen=rec["decided_fen"],
        cert_nos=certs,
        evidence_ids=links["evidence"],
        document_ids=links["document"],
        core_case_id=rec["core_case_id"],
        evidence=known,
        purposes=purposes,
    )
    return rec, facts


def _write_auto(
    conn: Connection, review_id: str, checklist: str, facts: CaseFacts, rules: Rules
) -> None:
    for item in CHECKLISTS[checklist]:
        if item.auto:
            verdict = item.verdict(facts, rules)
            conn.execute(
                update(review_item)
                .where(review_item.c.review_id == review_id, review_item.c.code == item.code)
                .values(passed=verdict.passed, deducted=verdict.deducted, note=verdict.note[:1000])
            )


def _rescore(conn: Connection, review_id: str, checklist: str, grading: Grading) -> Score:
    rows = conn.execute(
        select(review_item.c.code, review_item.c.passed, review_item.c.deducted).where(
            review_item.c.review_id == review_id
        )
    )
    result = score(
        checklist,
        [Decided(code, passed, deducted) for code, passed, deducted in rows],
        excellent=grading.excellent,
        passing=grading.passing,
    )
    conn.execute(
        update(review)
        .where(review.c.id == review_id)
        .values(vetoed=result.vetoed, score=result.total)
    )
    return result


@dataclass(frozen=True)
class Grading:
    excellent: int = 90
    passing: int = 60


def start_review(
    engine: Engine,
    record_id: str,
    *,
    reviewer_id: str,
    rules: Rules,
    grading: Grading,
    now: datetime,
) -> str | None:
    """A new draft review of ``record_id`` with its automatic items decided from the data;
    None when there is no such record. A record has at most one open review."""
    with write_transaction(engine) as conn:
        found = case_facts(conn, record_id)
        if found is None:
            return None
        rec, facts = found
        open_one = conn.execute(
            select(review.c.id).where(
                review.c.record_id == record_id, review.c.status.in_((DRAFT, SEALING))
            )
        ).first()
        if open_one is not None:
            raise ReviewConflictError(f"record {record_id} already has open review {open_one[0]}")
        checklist = checklist_for(rec["kind"])
        review_id = new_id()
        conn.execute(
            insert(review).values(
                id=review_id,
                record_id=record_id,
                checklist=checklist,
                status=DRAFT,
                vetoed=False,
                score=0,
                grade=None,
                reviewer_id=reviewer_id,
                created_at=now,
            )
        )
        conn.execute(
            insert(review_item),
            [
                {"review_id": review_id, "code": item.code, "auto": item.auto, "passed": None,
                 "deducted": 0, "note": "", "decided_by": None,
                 "decided_at": now if item.auto else None}
                for item in CHECKLISTS[checklist]
            ],
        )  # fmt: skip
        _write_auto(conn, review_id, checklist, facts, rules)
        _rescore(conn, review_id, checklist, grading)
    return review_id


def read_review(engine: Engine, review_id: str) -> dict[str, Any] | None:
    """The review with its record's department and key, and its items in checklist order."""
    with engine.connect() as conn:
        return _read(conn, review_id)


def _read(conn: Connection, review_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        select(
            review,
            record.c.department_id,
            record.c.case_number,
            record.c.title,
            record.c.kind,
        )
        .join(record, record.c.id == review.c.record_id)
        .where(review.c.id == review_id)
    ).first()
    if row is None:
        return None
    found = dict(row._mapping)
    stored = {
        r.code: dict(r._mapping)
        for r in conn.execute(select(review_item).where(review_item.c.review_id == review_id))
    }
    found["items"] = [
        {
            "code": item.code,
            "name": item.name,
            "section": item.section,
            "points": item.points,
            "basis": item.basis,
            "auto": item.auto,
            "how": item.how,
            "passed": stored[item.code]["passed"],
            "deducted": stored[item.code]["deducted"],
            "note": stored[item.code]["note"],
            "decided_by": stored[item.code]["decided_by"],
        }
        for item in CHECKLISTS[found["checklist"]]
        if item.code in stored
    ]
    return found


def list_reviews(
    engine: Engine,
    *,
    department_id: str | None,
    record_id: str | None,
    status: str | None,
    limit: int,
    after: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Reviews in id order (``after``: the last id of the previous page)."""
    query = (
        select(
            review.c.id,
            review.c.record_id,
            review.c.checklist,
            review.c.status,
            review.c.vetoed,
            review.c.score,
            review.c.grade,
            review.c.reviewer_id,
            review.c.created_at,
            review.c.finalized_at,
            record.c.department_id,
            record.c.case_number,
            record.c.title,
        )
        .join(record, record.c.id == review.c.record_id)
        .order_by(review.c.id)
        .limit(limit + 1)
    )
    if department_id is not None:
        query = query.where(record.c.department_id == department_id)
    if record_id is not None:
        query = query.where(review.c.record_id == record_id)
    if status is not None:
        query = query.where(review.c.status == status)
    if after is not None:
        query = query.where(review.c.id > after)
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1]["id"] if more and rows else None)


def decide_item(
    engine: Engine,
    review_id: str,
    code: str,
    *,
    passed: bool | None,
    deducted: int | None,
    note: str,
    officer_id: str,
    grading: Grading,
    now: datetime,
) -> bool:
    """A reviewer's decision on an item (False: no such review). A veto item takes
    ``passed``; a scored item ``deducted`` (0 … its points; 0 means passed). KeyError for a
    code not on the review's checklist, ValueError for a decision that does not fit the item,
    ReviewConflictError for an item the data decides or a review no longer a draft."""
    with write_transaction(engine) as conn:
        row = conn.execute(
            select(review.c.checklist, review.c.status).where(review.c.id == review_id)
        ).first()
        if row is None:
            return False
        checklist, status = row
        item = items_of(checklist).get(code)
        if item is None:
            raise KeyError(code)
        if item.auto:
            raise ReviewConflictError(f"{code} is decided by the data, not by a reviewer")
        if status != DRAFT:
            raise ReviewConflictError(f"review {review_id} is {status}; it no longer changes")
        if item.section == "veto":
            if passed is None or deducted not in (None, 0):
                raise ValueError(f"{code} is a veto item: send passed (true or false)")
            points = 0
        else:
            if deducted is None:
                deducted = 0 if passed else None
            if deducted is None or not 0 <= deducted <= item.points:
                raise ValueError(f"{code}: deducted must be 0 … {item.points} points")
            if passed is not None and passed != (deducted == 0):
                raise ValueError(f"{code}: passed contradicts deducted")
            points, passed = deducted, deducted == 0
        conn.execute(
            update(review_item)
            .where(review_item.c.review_id == review_id, review_item.c.code == code)
            .values(passed=passed, deducted=points, note=note, decided_by=officer_id,
                    decided_at=now)
        )  # fmt: skip
        _rescore(conn, review_id, checklist, grading)
    return True


def claim_for_sealing(
    engine: Engine, review_id: str, *, rules: Rules, grading: Grading
) -> tuple[dict[str, Any], Score] | None:
    """Refresh the automatic items, check every item is decided and move the draft to
    ``sealing`` (so no second finalization runs at once); None: no such review."""
    with write_transaction(engine) as conn:
        row = conn.execute(
            select(review.c.record_id, review.c.checklist, review.c.status).where(
                review.c.id == review_id
            )
        ).first()
        if row is None:
            return None
        record_id, checklist, status = row
        if status != DRAFT:
            raise ReviewConflictError(f"review {review_id} is {status}, not a draft")
        found = case_facts(conn, record_id)
        if found is None:  # pragma: no cover - the foreign key keeps the record
            return None
        _write_auto(conn, review_id, checklist, found[1], rules)
        result = _rescore(conn, review_id, checklist, grading)
        if result.undecided:
            raise ReviewConflictError(
                "every item must be decided first; undecided: " + ", ".join(result.undecided)
            )
        conn.execute(update(review).where(review.c.id == review_id).values(status=SEALING))
        read = _read(conn, review_id)
    assert read is not None
    return read, result


def release_claim(engine: Engine, review_id: str) -> None:
    """Back to a draft after sealing failed."""
    with write_transaction(engine) as conn:
        conn.execute(
            update(review)
            .where(review.c.id == review_id, review.c.status == SEALING)
            .values(status=DRAFT)
        )


def seal_final(
    engine: Engine,
    review_id: str,
    *,
    result: Score,
    officer_id: str,
    finalized_at: datetime,
    evidence_id: str,
    sha256: str,
    seal: dict[str, Any],
    names: dict[str, str],
) -> None:
    with write_transaction(engine) as conn:
        conn.execute(
            update(review)
            .where(review.c.id == review_id, review.c.status == SEALING)
            .values(
                status=FINAL,
                vetoed=result.vetoed,
                score=result.total,
                grade=result.grade,
                finalized_by=officer_id,
                finalized_at=finalized_at,
                result_evidence_id=evidence_id,
                result_sha256=sha256,
                result_seal=seal,
                result_names=names,
            )
        )
