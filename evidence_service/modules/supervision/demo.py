"""Synthetic enforcement records for demos, model tests and benchmarks
(``evidence supervision demo --cases N --seed S``).

Deterministic for a seed: the same seed gives the same records (ids aside, which are minted at
ingest). Most records are clean — stages in lawful order and within the law's deadlines, two
certified officers, the decided amount equal to the notified one, 法制审核 before a major
decision. A fraction carry one planted problem each, recorded in the ``planted`` column by
code — the code of the problem model that must find it (``clues/record_models.py``) — so
each model can be tested for recall (it finds every record planted with its code) and false
hits (it finds nothing else: a planted record breaks one rule only, a clean one none).
Written through :func:`records.ingest`, in batches, like any department's upload.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine

from evidence_service.modules.supervision import pii, records

CITIES = (
    ("杭州", "杭", ("上城区", "拱墅区", "西湖区", "滨江区", "萧山区")),
    ("宁波", "甬", ("海曙区", "江北区", "鄞州区", "北仑区")),
    ("温州", "温", ("鹿城区", "龙湾区", "瓯海区")),
    ("嘉兴", "嘉", ("南湖区", "秀洲区", "海宁市")),
    ("湖州", "湖", ("吴兴区", "南浔区", "德清县")),
    ("绍兴", "绍", ("越城区", "柯桥区", "上虞区")),
    ("金华", "金", ("婺城区", "金东区", "义乌市")),
    ("衢州", "衢", ("柯城区", "衢江区", "江山市")),
    ("舟山", "舟", ("定海区", "普陀区")),
    ("台州", "台", ("椒江区", "黄岩区", "路桥区")),
    ("丽水", "丽", ("莲都区", "龙泉市", "青田县")),
)
#: Region codes of the resident ID numbers generated per city (first six digits).
AREA_CODES = (
    "330102",
    "330203",
    "330302",
    "330402",
    "330502",
    "330602",
    "330702",
    "330802",
    "330902",
    "331002",
    "331102",
)
DEPARTMENT_KINDS = (
    ("市场监管", "市监"),
    ("综合执法", "综执"),
    ("生态环境", "环"),
    ("交通运输", "交"),
)
TITLES = {
    "penalty": (
        "销售过期食品",
        "无照经营",
        "虚假宣传",
        "违法建设",
        "超范围经营",
        "未按规定公示信息",
    ),
    "inspection": ("食品经营日常检查", "特种设备安全检查", "消防安全检查", "双随机抽查"),
    "permit": ("食品经营许可", "户外广告设置许可", "道路运输经营许可"),
    "complaint": ("噪声扰民举报", "占道经营投诉", "价格欺诈举报"),
    "reconsideration": ("不服行政处罚决定申请复议", "不服责令整改通知申请复议"),
}
KIND_WEIGHTS = (
    ("penalty", 40),
    ("inspection", 30),
    ("permit", 15),
    ("complaint", 10),
    ("reconsideration", 5),
)
KINDS = [kind for kind, _ in KIND_WEIGHTS]
WEIGHTS = [weight for _, weight in KIND_WEIGHTS]
#: The problems planted, by model code, with the article of 行政处罚法 (2021) each breaks.
#: Planted records take the codes in turn, so a few dozen plants cover every one.
PLANTED = {
    "decision_after_90_days": "art. 60",
    "single_officer": "art. 42",
    "penalty_above_notice": "arts. 45, 62",
    "decision_without_notice": "art. 44",
    "no_hearing_offer": "art. 63",
    "simple_procedure_over_limit": "art. 51",
    "preservation_over_7_days": "art. 56",
    "service_after_7_days": "art. 61",
    "major_without_legal_review": "art. 58",
    "time_barred": "art. 36",
    "stages_out_of_order": "arts. 44, 47, 61",
    "closed_without_execution": "arts. 47, 66",
    "no_linked_evidence": "arts. 40, 46",
    "repeated_inspection": "国办发〔2024〕54号 (two records: one party, two departments)",
}
CODES = tuple(PLANTED)
SIMPLE_LIMIT_FEN = {"person": 200_00, "organisation": 3_000_00}
#: 较大数额 (a hearing must be offered from here on): a person, an organisation.
HEARING_FEN = {"person": 10_000_00, "organisation": 100_000_00}
MAJOR_FEN = 100_000_00  # 重大: legal review required before the decision (locality default)
BATCH = 5000
OFFICERS_PER_DEPT = 40
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass(frozen=True)
class Department:
    id: str
    name: str
    short: str
    city: int  # index into CITIES


def synthetic_departments(count: int = 40) -> list[Department]:
    """``count`` departments spread over the 11 cities (ids not known to the core)."""
    out = []
    for n in range(count):
        city = n % len(CITIES)
        name, short = DEPARTMENT_KINDS[(n // len(CITIES)) % len(DEPARTMENT_KINDS)]
        out.append(Department(f"SYN-{n:03d}", f"{CITIES[city][0]}市{name}局", short, city))
    return out


class Generator:
    def __init__(self, seed: int, departments: Sequence[Department], planted_share: float):
        self.rnd = random.Random(seed)
        self.departments = list(departments)
        self.share = planted_share
        self.sequence: dict[tuple[str, str, int], int] = {}
        self.plants = 0
        self.pending: list[tuple[dict[str, Any], list[str] | None]] = []
        #: Every party made so far: each record gets a party of its own (only a plant shares
        #: one), or chance meetings over a million records would look like repeated inspections.
        self.parties: set[str] = set()
        self.staff: dict[str, list[dict[str, str]]] = {}

    def _id(self) -> str:
        return "".join(self.rnd.choice(_CROCKFORD) for _ in range(26))

    def _party(self, city: int) -> dict[str, str]:
        while True:
            party = self._any_party(city)
            if party["identifier"] not in self.parties:
                self.parties.add(party["identifier"])
                return party

    def _any_party(self, city: int) -> dict[str, str]:
        if self.rnd.random() < 0.5:
            born = date(1950, 1, 1) + timedelta(days=self.rnd.randrange(20000))
            first = f"{AREA_CODES[city]}{born:%Y%m%d}{self.rnd.randrange(1000):03d}"
            return {"kind": "person", "identifier": first + pii.resident_id_check(first)}
        body = (
            "9133"
            + AREA_CODES[city][2:]
            + "".join(self.rnd.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(9))
        )
        return {"kind": "organisation", "identifier": body + pii.uscc_check(body)}

    def _officers(self, dept: Department, count: int) -> list[dict[str, str]]:
        """``count`` different officers of the department's own staff (``OFFICERS_PER_DEPT``
        of them, made on first use), so an officer's cases add up as they do in life."""
        staff = self.staff.get(dept.id)
        if staff is None:
            names = ("张伟", "王芳", "李娜", "刘洋", "陈静", "杨帆", "赵磊", "黄敏", "周杰", "吴婷")
            numbers = self.rnd.sample(range(10**7), OFFICERS_PER_DEPT)
            staff = [
                {"name": self.rnd.choice(names), "cert_no": f"33{dept.city:02d}{n:07d}"}
                for n in numbers
            ]
            self.staff[dept.id] = staff
        return [dict(officer) for officer in self.rnd.sample(staff, count)]

    def record(self) -> tuple[dict[str, Any], list[str] | None]:
        if self.pending:  # the second record of a two-record plant
            return self.pending.pop()
        rnd = self.rnd
        code = None
        if rnd.random() < self.share:
            code = CODES[self.plants % len(CODES)]
            self.plants += 1
        if code == "repeated_inspection":
            kind = "inspection"
        else:  # any other planted problem lives in a penalty record
            kind = "penalty" if code else rnd.choices(KINDS, WEIGHTS)[0]
        dept = rnd.choice(self.departments)
        filed = date(2024, 1, 1) + timedelta(days=rnd.randrange(700))
        party = self._party(dept.city)
        row = self._row(kind, dept, filed, party)
        if kind == "penalty":
            return self._penalty(row, filed, party["kind"], code)
        row["stages"] = self._visit(filed)
        if code == "repeated_inspection":  # a second department inspects the same party
            other = rnd.choice([d for d in self.departments if d.id != dept.id])
            again = filed + timedelta(days=rnd.randrange(0, 20))
            second = self._row(kind, other, again, party)
            second["stages"] = self._visit(again)
            self.pending.append((second, [code]))
            return row, [code]
        return row, None

    def _visit(self, filed: date) -> dict[str, str]:
        day = filed + timedelta(days=self.rnd.randrange(1, 10))
        return {
            "filing": filed.isoformat(),
            "investigation": day.isoformat(),
            "closing": (day + timedelta(days=self.rnd.randrange(1, 30))).isoformat(),
        }

    def _row(
        self, kind: str, dept: Department, filed: date, party: dict[str, str]
    ) -> dict[str, Any]:
        rnd = self.rnd
        city, abbr, regions = CITIES[dept.city]
        seq_key = (dept.id, kind, filed.year)
        self.sequence[seq_key] = self.sequence.get(seq_key, 0) + 1
        letter = {
            "penalty": "罚",
            "inspection": "检",
            "permit": "许",
            "complaint": "诉",
            "reconsideration": "复",
        }[kind]
        return {
            "kind": kind,
            "department_id": dept.id,
            "case_number": f"{abbr}{dept.short}{letter}〔{filed.year}〕{self.sequence[seq_key]}号",
            "title": rnd.choice(TITLES[kind]),
            "region": rnd.choice(regions),
            "city": city,
            "procedure": "general",
            "party": party,
            "officers": self._officers(dept, 2),
            "evidence_ids": [self._id() for _ in range(rnd.randrange(1, 4))],
            "document_ids": [self._id() for _ in range(rnd.randrange(0, 3))],
        }

    def _penalty(
        self, row: dict[str, Any], filed: date, party_kind: str, code: str | None
    ) -> tuple[dict[str, Any], list[str] | None]:
        rnd = self.rnd
        fen = rnd.choice(
            (
                rnd.randrange(50_00, 200_00),
                rnd.randrange(5_000_00, 90_000_00),
                rnd.randrange(100_000_00, 500_000_00),
            )
        )
        investigated = filed + timedelta(days=rnd.randrange(1, 10))
        notified = investigated + timedelta(days=rnd.randrange(5, 30))
        stages: dict[str, date | None] = {
            "filing": filed,
            "investigation": investigated,
            "notice": notified,
            "legal_review": None,
            "decision": filed + timedelta(days=rnd.randrange(45, 85)),
        }
        saved = investigated + timedelta(days=rnd.randrange(0, 3))
        if rnd.random() < 0.2:  # 先行登记保存, decided on within 7 days
            stages["preservation"] = saved
            stages["preservation_decision"] = saved + timedelta(days=rnd.randrange(0, 8))
        row["occurred_on"] = (filed - timedelta(days=rnd.randrange(1, 300))).isoformat()
        serve_in, execute_in, close_in = (
            rnd.randrange(0, 7),
            rnd.randrange(5, 30),
            rnd.randrange(1, 20),
        )
        hearing_in = rnd.randrange(3, 10)
        offer_hearing = True
        notified_fen = decided_fen = fen
        if code == "decision_after_90_days":
            stages["decision"] = filed + timedelta(days=rnd.randrange(91, 200))
        elif code == "single_officer":
            row["officers"] = row["officers"][:1]
        elif code == "penalty_above_notice":
            decided_fen = notified_fen + rnd.randrange(100, 100_000)
        elif code == "decision_without_notice":
            stages["notice"] = None
        elif code == "no_hearing_offer":
            notified_fen = decided_fen = HEARING_FEN[party_kind] + rnd.randrange(0, 50_000_00)
            offer_hearing = False
        elif code == "simple_procedure_over_limit":
            notified_fen = decided_fen = SIMPLE_LIMIT_FEN[party_kind] + rnd.randrange(100, 1_000_00)
        elif code == "preservation_over_7_days":
            stages["preservation"] = saved
            stages["preservation_decision"] = saved + timedelta(days=rnd.randrange(8, 20))
        elif code == "service_after_7_days":
            serve_in = rnd.randrange(8, 30)
        elif code == "major_without_legal_review":
            notified_fen = decided_fen = MAJOR_FEN + rnd.randrange(100, 10_000_00)
        elif code == "time_barred":
            row["occurred_on"] = (filed - timedelta(days=731 + rnd.randrange(1, 400))).isoformat()
        decided = stages["decision"]
        assert decided is not None
        if code == "stages_out_of_order":  # told of the penalty only after the decision
            stages["notice"] = decided + timedelta(days=rnd.randrange(1, 6))
        if notified_fen >= 10_000_00 and offer_hearing:
            told = stages["notice"] or notified
            stages["hearing"] = min(told + timedelta(days=hearing_in), decided - timedelta(days=1))
            if code == "stages_out_of_order":
                stages["hearing"] = told + timedelta(days=hearing_in)
            row["hearing_offered"] = True
        elif code == "no_hearing_offer":
            row["hearing_offered"] = False
        if decided_fen >= MAJOR_FEN and code != "major_without_legal_review":
            stages["legal_review"] = decided - timedelta(days=1)
        served = decided + timedelta(days=serve_in)
        stages["service"] = served
        stages["execution"] = served + timedelta(days=execute_in)
        stages["closing"] = served + timedelta(days=execute_in + close_in)
        if code == "closed_without_execution":
            stages["execution"] = None
        if code == "no_linked_evidence":
            row["evidence_ids"], row["document_ids"] = [], []
        simple = decided_fen <= SIMPLE_LIMIT_FEN[party_kind]
        row["procedure"] = (
            "simple" if simple or code == "simple_procedure_over_limit" else "general"
        )
        row["stages"] = {k: (v.isoformat() if v else None) for k, v in stages.items()}
        row["notified_amount"] = f"{notified_fen / 100:.2f}"
        row["decided_amount"] = f"{decided_fen / 100:.2f}"
        return row, [code] if code else None


def generate(
    cases: int,
    *,
    seed: int = 1,
    departments: Sequence[Department] | None = None,
    planted_share: float = 0.02,
) -> tuple[list[dict[str, Any]], list[list[str] | None]]:
    """``cases`` records as a department would send them, and each one's planted codes."""
    gen = Generator(seed, departments or synthetic_departments(), planted_share)
    rows, planted = [], []
    for _ in range(cases):
        row, codes = gen.record()
        rows.append(row)
        planted.append(codes)
    return rows, planted


@dataclass(frozen=True)
class DemoResult:
    created: int
    updated: int
    planted: int


def load_demo(
    engine: Engine,
    secret: bytes,
    cases: int,
    *,
    seed: int = 1,
    departments: Sequence[Department] | None = None,
    planted_share: float = 0.02,
    ingested_by: str = "supervision-demo",
) -> DemoResult:
    """Generate and ingest, ``BATCH`` records per transaction, through :func:`records.ingest`
    (validated like any upload; a seed run again updates the same records)."""
    rows, planted = generate(cases, seed=seed, departments=departments, planted_share=planted_share)
    created = updated = 0
    for start in range(0, len(rows), BATCH):
        valid = records.validate_rows(rows[start : start + BATCH])
        result = records.ingest(
            engine,
            valid,
            secret=secret,
            ingested_by=ingested_by[:26],
            fmt="demo",
            planted=planted[start : start + BATCH],
        )
        created += result.created
        updated += result.updated
    return DemoResult(created, updated, sum(1 for p in planted if p))
