"""Demo data for joint inspection (``evidence inspection demo``, ``evidence serve --demo``): a
directory and roster, signals that open warnings, tasks in consultation and one scheduled, and
one double-random draw committed, anchored and published with its tasks.

Why it looks the way it does: a demo is shown to the people who run these inspections, so the
directory reads like theirs — Hangzhou and Jiaxing enterprises with valid 统一社会信用代码
(enterprises ``91``, 个体工商户 ``92``, schools ``12``, private kindergartens ``52``), trades
the scenario library covers (餐饮, 学校食堂, 加油站 …), credit-risk classes spread as a register's
are, and coordinates. A handful of "story" enterprises come first, with fixed names, so the
same warnings, tasks and conflicts of interest appear on every run; the rest are generated from
a seed (``--enterprises N`` makes a directory of benchmark size, the same first rows for the
same seed).

Idempotent: the directory and roster are upserted (the same rows again), signals are stored
once per ``(source, ref)`` (refs are fixed), a task is drafted only when its enterprise has none
of that origin, and the draw is run only when no demo draw of the year is published — one left
``planned`` or ``committed`` by an interrupted run is resumed, one published void is followed by
a new draw (never redrawn in secret: the void one stays published).

The draw goes through the core as any draw of the module does (``publish.py``, ``draws.py``):
the target block named from the chain's height, the commitment anchored before it, the target
block confirmed, ``DRAW.json`` and its tasks stored in one transaction. It needs the core's
anchoring worker running and the coordinating office's token; the caller (the CLI) provides
both. The demo's draw covers the directory's catering trade only (餐饮服务, scenario
``restaurant``), so every selected enterprise fits the scenario its task is for.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

import anyio
from sqlalchemy import Connection, Engine, func, select

from evidence_service.modules.inspection import draws, publish, signals, tasks
from evidence_service.modules.inspection import models as m
from evidence_service.modules.inspection.common import Caller, local_date, new_id, utcnow
from evidence_service.modules.inspection.config import InspectionConfig
from evidence_service.modules.inspection.directory import Enterprise, Inspector
from evidence_service.modules.inspection.directory_store import (
    Written,
    cert_clashes,
    write_enterprises,
    write_inspectors,
)
from evidence_service.modules.inspection.plan import DrawTarget, Plan, plan_draw
from evidence_service.modules.inspection.state import InspectionState
from evidence_service.modules.kit.credit_code import (
    CODE_SET,
    check_character,
    organisation_check_character,
)
from evidence_service.modules.kit.db import write_transaction

#: The enterprises ``evidence serve --demo`` loads.
DEFAULT_ENTERPRISES = 60
MAX_ENTERPRISES = 100_000  # directory.DirectoryLimits.max_rows: one upload's worth
INSPECTORS_PER_DEPARTMENT = 8
#: The core's demo departments (evidence_service/demo.py) and their parts in joint inspection:
#: the market regulator inspects for 市场监管; the comprehensive enforcement bureau coordinates
#: and inspects for 生态环境 (油烟 is its duty in Zhejiang).
MARKET, OFFICE = "HZ-SCJG", "HZ-ZHZF"
PARTS = {MARKET: ("market_regulation", False), OFFICE: ("ecology", True)}
#: The trade the demo's draw covers, and the scenario of its tasks.
CATERING, DRAW_SCENARIO = "餐饮服务", "restaurant"
DRAW_ATTEMPTS = 3  # a void draw (its anchor came too late) is followed by a new one
#: Seconds the demo's draw waits for its anchor, then its block (a demo must not hang).
DRAW_TIMEOUT_S = 120.0


class DemoError(RuntimeError):
    """The demo cannot be loaded (the core's demo departments are missing, the draw failed)."""


# ------------------------------------------------------------------------------ who acts


@dataclass(frozen=True)
class DemoPeople:
    """The core's demo departments and officers the demo acts as, by id (from the core's demo
    seed, ``evidence demo``): the module never reads the core's tables."""

    market: str  # department id of HZ-SCJG
    office: str  # department id of HZ-ZHZF, the coordinating office
    market_officer: str  # officer ids
    office_officer: str
    admin: str
    departments: frozenset[str]  # every department id the core knows
    names: Mapping[str, str] = field(default_factory=dict)  # department id -> name

    @classmethod
    def from_seed(cls, seeded: Mapping[str, Any]) -> DemoPeople:
        """From what ``evidence_service.demo.seed_demo`` answers: its departments (id, code)
        and users (id, role, department_id)."""
        ids = {d["code"]: d["id"] for d in seeded["departments"]}
        if MARKET not in ids or OFFICE not in ids:
            raise DemoError(f"the core's demo departments {MARKET} and {OFFICE} are missing")

        def officer(department: str | None, role: str) -> str:
            for user in seeded["users"]:
                if user["role"] == role and (
                    department is None or user["department_id"] == department
                ):
                    return str(user["id"])
            raise DemoError(f"the core's demo has no {role} in {department or 'any department'}")

        return cls(
            market=ids[MARKET],
            office=ids[OFFICE],
            market_officer=officer(ids[MARKET], "officer"),
            office_officer=officer(ids[OFFICE], "officer"),
            admin=officer(None, "admin"),
            departments=frozenset(ids.values()),
            names={d["id"]: d.get("name", d["code"]) for d in seeded["departments"]},
        )

    def caller(self, department: str) -> Caller:
        """The department's demo officer as the task functions know a caller."""
        kind, coordinator = PARTS[MARKET if department == self.market else OFFICE]
        return Caller(
            officer_id=self.market_officer if department == self.market else self.office_officer,
            role="officer",
            department_id=department,
            department_kind="inspection",
            departments=self.departments,
            kind=kind,
            coordinator=coordinator,
        )


# ------------------------------------------------------------------------------ the directory


@dataclass(frozen=True)
class District:
    city: str
    name: str
    region: str  # GB/T 2260
    longitude: float
    latitude: float
    road_names: str  # separated by spaces

    @property
    def roads(self) -> list[str]:
        return self.road_names.split()

    @property
    def full_name(self) -> str:
        """As names start: 杭州市西湖区, but 海宁市 (a county-level city stands alone)."""
        return self.name if self.name.endswith("市") else self.city + self.name


DISTRICTS = (
    District("杭州市", "上城区", "330102", 120.171, 30.250, "解放路 庆春路 江城路 望江路"),
    District("杭州市", "拱墅区", "330105", 120.150, 30.319, "湖墅南路 莫干山路 大关路 上塘路"),
    District("杭州市", "西湖区", "330106", 120.130, 30.259, "文三路 天目山路 教工路 古墩路"),
    District("杭州市", "滨江区", "330108", 120.212, 30.208, "江南大道 滨盛路 江陵路 长河路"),
    District("杭州市", "萧山区", "330109", 120.264, 30.185, "市心路 金城路 人民路 育才路"),
    District("嘉兴市", "南湖区", "330402", 120.783, 30.747, "中山东路 南湖大道 禾兴南路 勤俭路"),
    District("嘉兴市", "秀洲区", "330411", 120.709, 30.765, "秀洲大道 中山西路 洪兴路 新塍大道"),
    District("嘉兴市", "海宁市", "330481", 120.681, 30.510, "海洲路 文苑路 水月亭路 硖石路"),
)
_BY_NAME = {d.name: d for d in DISTRICTS}
#: 字号 (trade names) the generated enterprises take.
TRADE_NAMES = tuple(
    "知味 鑫隆 和记 江南春 禾丰 嘉禾 运河 梅湾 月河 万丰 华联"
    " 悦来 四季 金桥 新丰 顺发 福源 聚缘 兰亭 锦绣 同心 康乐"
    " 荣兴 德顺 瑞丰 恒通 天成 宏达 百味 湖畔 钱塘 西溪 临平"
    " 湘情 川香 粤珍 老街 半山 望江 清河 东坡 楼外 南浔 秀水".split()
)


@dataclass(frozen=True)
class Trade:
    """An industry of the directory: the scenario its visits use, how often it occurs, how its
    enterprises are named (``{c}`` city, ``{cs}`` its short name, ``{cd}`` city and district,
    ``{t}`` trade name, ``{r}`` road),
    their credit-code category (registering authority and kind) and scales."""

    industry: str
    scenario: str
    weight: int
    names: tuple[str, ...]
    category: str
    scales: tuple[str, ...]


TRADES = (
    Trade(
        CATERING,
        "restaurant",
        40,
        ("{c}{t}餐饮管理有限公司", "{cd}{t}酒家"),
        "91",
        ("small", "medium"),
    ),
    Trade(CATERING, "restaurant", 0, ("{cd}{t}小吃店", "{cd}{t}面馆"), "92", ("micro",)),
    Trade("学校食堂", "school_canteen", 4, ("{cd}{t}实验学校（食堂）",), "12", ("medium",)),
    Trade(
        "加油站",
        "gas_station",
        5,
        ("中国石化销售股份有限公司浙江{cs}石油分公司{r}加油站",),
        "91",
        ("medium",),
    ),
    Trade(
        "商场超市",
        "supermarket",
        8,
        ("{c}{t}超市有限公司", "{c}{t}购物中心有限公司"),
        "91",
        ("small", "medium", "large"),
    ),
    Trade(
        "宾馆酒店", "hotel", 6, ("{c}{t}大酒店有限公司", "{cd}{t}宾馆"), "91", ("small", "medium")
    ),
    Trade("歌舞娱乐", "ktv", 4, ("{c}{t}娱乐有限公司",), "91", ("small",)),
    Trade("药品零售", "pharmacy", 6, ("{c}{t}大药房有限公司",), "91", ("micro", "small")),
    Trade(
        "烘焙食品加工",
        "bakery",
        5,
        ("{c}{t}食品有限公司", "{cd}{t}烘焙坊"),
        "91",
        ("micro", "small"),
    ),
    Trade("汽车维修", "auto_repair", 5, ("{c}{t}汽车维修有限公司",), "91", ("small",)),
    Trade("幼儿园", "kindergarten", 3, ("{cd}{t}幼儿园",), "52", ("small",)),
    Trade("美容美发", "beauty_salon", 5, ("{cd}{t}美发店",), "92", ("micro",)),
    Trade("农贸市场", "farmers_market", 3, ("{c}{t}农贸市场有限公司",), "91", ("medium",)),
)
_CATERING_SHOPS = TRADES[1]  # 个体 restaurants: drawn as a third of the catering trade
#: How a register's credit-risk classes are spread (the share of each, roughly).
RISK_WEIGHTS = (("high", 8), ("medium_high", 17), ("medium", 35), ("medium_low", 20), ("low", 20))


@dataclass(frozen=True)
class Story:
    """An enterprise the demo's warnings, tasks and conflicts are about (fixed on every run)."""

    key: str
    industry: str
    name: str
    district: str
    risk_class: str
    scale: str
    category: str = "91"


STORIES = (
    # warned; a task from its warning, scheduled by both departments
    Story("w_restaurant", CATERING, "杭州西溪知味小馆餐饮有限公司", "西湖区", "high", "small"),
    # warned; a task from its warning, in consultation
    Story(
        "w_canteen",
        "学校食堂",
        "杭州市拱墅区大关实验学校（食堂）",
        "拱墅区",
        "medium_high",
        "medium",
        "12",
    ),
    # warned, open
    Story(
        "w_gas",
        "加油站",
        "中国石化销售股份有限公司浙江杭州石油分公司滨盛路加油站",
        "滨江区",
        "high",
        "medium",
    ),
    Story("w_ktv", "歌舞娱乐", "杭州金樽娱乐有限公司", "上城区", "medium_high", "small"),
    Story("w_noodle", CATERING, "嘉兴市南湖区老街面馆", "南湖区", "medium_high", "micro", "92"),
    # a task from the annual plan, in consultation (one department has proposed a date)
    Story(
        "plan_gas",
        "加油站",
        "中国石油天然气股份有限公司浙江嘉兴销售分公司秀洲加油站",
        "秀洲区",
        "medium",
        "medium",
    ),
    # an inspector of each department may not inspect these (a relative runs it, a former post)
    Story("conflict_market", CATERING, "杭州江南春酒家有限公司", "上城区", "high", "medium"),
    Story("conflict_office", CATERING, "嘉兴月河人家餐饮有限公司", "南湖区", "medium", "small"),
)
#: The stories the signals warn about.
STORIES_WARNED = ("w_restaurant", "w_canteen", "w_gas", "w_ktv", "w_noodle")
_INDUSTRY_SCENARIO = {t.industry: t.scenario for t in TRADES}


@dataclass(frozen=True)
class Directory:
    enterprises: tuple[Enterprise, ...]
    story: Mapping[str, str]  # story key -> credit code


class _Codes:
    """Valid, distinct credit codes from one random stream: an enterprise or 个体工商户
    registered since 2016 has an organisation part starting ``MA`` (Zhejiang's market
    regulators issue ``MA2…``), an older one or a public institution eight digits."""

    def __init__(self, rnd: random.Random) -> None:
        self.rnd = rnd
        self.seen: set[str] = set()

    def make(self, category: str, region: str) -> str:
        while True:
            organisation = self._organisation(category)
            first17 = category + region + organisation + organisation_check_character(organisation)
            code = first17 + check_character(first17)
            if code not in self.seen:
                self.seen.add(code)
                return code

    def _organisation(self, category: str) -> str:
        if category in ("91", "92") and self.rnd.random() < 0.6:
            return "MA2" + "".join(self.rnd.choice(CODE_SET) for _ in range(5))
        return f"{self.rnd.randrange(10**8):08d}"


@dataclass(frozen=True)
class _Place:
    road: str
    number: int
    address: str
    longitude: float
    latitude: float


def _place(rnd: random.Random, district: District) -> _Place:
    """An address on one of the district's roads, and coordinates near its centre."""
    road, number = rnd.choice(district.roads), rnd.randrange(1, 900)
    return _Place(
        road,
        number,
        f"浙江省{district.city}{district.name}{road}{number}号",
        round(district.longitude + rnd.uniform(-0.03, 0.03), 6),
        round(district.latitude + rnd.uniform(-0.02, 0.02), 6),
    )


def generate(count: int = DEFAULT_ENTERPRISES, *, seed: int = 1) -> Directory:
    """``count`` enterprises (the stories first), the same ones for the same seed; a larger
    ``count`` keeps the first rows of a smaller one."""
    if not len(STORIES) <= count <= MAX_ENTERPRISES:
        raise ValueError(f"enterprises: between {len(STORIES)} and {MAX_ENTERPRISES}")
    rnd = random.Random(seed)
    codes = _Codes(rnd)
    names: set[str] = set()
    out: list[Enterprise] = []
    story: dict[str, str] = {}
    for s in STORIES:
        district = _BY_NAME[s.district]
        at = _place(rnd, district)
        code = codes.make(s.category, district.region)
        story[s.key] = code
        names.add(s.name)
        out.append(
            Enterprise(
                code,
                s.name,
                at.address,
                s.industry,
                s.scale,  # type: ignore[arg-type]
                s.risk_class,  # type: ignore[arg-type]
                at.longitude,
                at.latitude,
            )
        )
    trades = [t for t in TRADES if t.weight]
    weights = [t.weight for t in trades]
    classes, class_weights = zip(*RISK_WEIGHTS, strict=True)
    while len(out) < count:
        trade = rnd.choices(trades, weights)[0]
        if trade.industry == CATERING and rnd.random() < 1 / 3:
            trade = _CATERING_SHOPS
        district = rnd.choice(DISTRICTS)
        at = _place(rnd, district)
        name = rnd.choice(trade.names).format(
            c=district.city,
            cs=district.city.removesuffix("市"),
            cd=district.full_name,
            t=rnd.choice(TRADE_NAMES),
            r=at.road,
        )
        if name in names:  # one more branch of the same trade name
            name = f"{name}（{at.road}{at.number}号店）"
        if name in names:
            continue
        names.add(name)
        out.append(
            Enterprise(
                codes.make(trade.category, district.region),
                name,
                at.address,
                trade.industry,
                rnd.choice(trade.scales),  # type: ignore[arg-type]
                rnd.choices(classes, class_weights)[0],  # type: ignore[arg-type]
                at.longitude,
                at.latitude,
            )
        )
    return Directory(tuple(out), story)


MARKET_SPECIALITIES = ("食品安全", "特种设备", "计量", "价格监督", "广告监管", "药品监管")
OFFICE_SPECIALITIES = ("油烟污染", "市容环境", "燃气安全", "违法建设", "噪声污染", "园林绿化")


def roster(people: DemoPeople, directory: Directory) -> list[Inspector]:
    """``INSPECTORS_PER_DEPARTMENT`` inspectors of each department (officer ids ``SJ-001`` …,
    ``ZF-001`` …, their 执法证 numbers), two of them with a conflict of interest."""
    conflicts = {
        "SJ-003": (directory.story["conflict_market"],),
        "ZF-005": (directory.story["conflict_office"], directory.story["w_noodle"]),
    }
    out = []
    for prefix, department, number, specialities in (
        ("SJ", people.market, "1", MARKET_SPECIALITIES),
        ("ZF", people.office, "2", OFFICE_SPECIALITIES),
    ):
        for n in range(1, INSPECTORS_PER_DEPARTMENT + 1):
            officer_id = f"{prefix}-{n:03d}"
            out.append(
                Inspector(
                    officer_id,
                    department,
                    f"33010{number}{7000 + n:05d}",
                    (
                        specialities[n % len(specialities)],
                        specialities[(n + 2) % len(specialities)],
                    ),
                    conflicts.get(officer_id, ()),
                )
            )
    return out


# ------------------------------------------------------------------------------ signals


@dataclass(frozen=True)
class _Signal:
    story: str
    kind: str
    severity: int
    days_ago: float
    source: str
    ref: str
    note: str


#: Enough for the five warned stories to cross the threshold (50) with a margin, whatever
#: day the demo runs; the others' signals stay well below it.
STORY_SIGNALS = (
    _Signal(
        "w_restaurant",
        "hotline",
        3,
        2.5,
        "12345",
        "HZ12345-0417",
        "顾客反映就餐后腹泻，怀疑食材变质",
    ),
    _Signal("w_restaurant", "hotline", 3, 9, "12345", "HZ12345-0388", "后厨油烟直排，居民投诉"),
    _Signal("w_restaurant", "hotline", 2, 14, "12345", "HZ12345-0352", "餐具消毒不到位"),
    _Signal(
        "w_restaurant",
        "iot_alarm",
        3,
        1,
        "catering",
        "YY-3301060021-0912",
        "油烟浓度超标报警（在线监测）",
    ),
    _Signal(
        "w_restaurant", "iot_alarm", 3, 3, "catering", "YY-3301060021-0907", "油烟净化器未开启报警"
    ),
    _Signal(
        "w_restaurant",
        "iot_alarm",
        2,
        4,
        "catering",
        "YY-3301060021-0903",
        "油烟浓度超标报警（在线监测）",
    ),
    _Signal("w_restaurant", "grid", 2, 6, "grid", "WG-XH-0233", "网格员巡查发现餐厨垃圾混放"),
    _Signal("w_canteen", "petition", 3, 12, "xinfang", "XF-GS-2031", "家长联名反映食堂饭菜质量"),
    _Signal("w_canteen", "hotline", 3, 5, "12345", "HZ12345-0402", "学生家长投诉食堂卫生"),
    _Signal("w_canteen", "hotline", 2, 10, "12345", "HZ12345-0380", "食堂从业人员健康证过期"),
    _Signal("w_canteen", "penalty", 2, 30, "penalty", "HSJ-GS-0077", "超过保质期食品用于加工"),
    _Signal(
        "w_canteen", "iot_alarm", 2, 2, "catering", "YY-3301050114-0311", "明厨亮灶识别：未戴口罩"
    ),
    _Signal("w_canteen", "iot_alarm", 2, 1, "catering", "YY-3301050114-0315", "明厨亮灶识别：鼠患"),
    _Signal("w_canteen", "grid", 2, 8, "grid", "WG-GS-0518", "网格员巡查发现后门消防通道堵塞"),
    _Signal("w_gas", "penalty", 3, 40, "penalty", "HYJ-BJ-0012", "卸油作业未按规定接地"),
    _Signal("w_gas", "grid", 3, 4, "grid", "WG-BJ-0127", "网格员巡查发现油气回收装置故障"),
    _Signal("w_gas", "hotline", 2, 3, "12345", "HZ12345-0411", "居民反映加油站异味"),
    _Signal("w_gas", "iot_alarm", 2, 1, "iot", "VOC-3301080007-0021", "油气浓度在线监测超标"),
    _Signal("w_ktv", "hotline", 3, 2, "12345", "HZ12345-0420", "深夜噪声扰民"),
    _Signal("w_ktv", "hotline", 3, 6, "12345", "HZ12345-0399", "深夜噪声扰民"),
    _Signal("w_ktv", "hotline", 2, 11, "12345", "HZ12345-0371", "包厢消防通道堵塞"),
    _Signal("w_ktv", "hotline", 2, 15, "12345", "HZ12345-0349", "深夜噪声扰民"),
    _Signal("w_ktv", "grid", 2, 9, "grid", "WG-SC-0412", "网格员巡查发现安全出口上锁"),
    _Signal("w_ktv", "petition", 3, 20, "xinfang", "XF-SC-1188", "周边居民联名信访"),
    _Signal(
        "w_ktv", "inspection_finding", 2, 60, "inspection", "JC-SC-0931", "上次检查发现应急照明损坏"
    ),
    _Signal("w_noodle", "hotline", 3, 1.5, "12345", "JX12345-1102", "顾客反映吃出异物"),
    _Signal("w_noodle", "hotline", 3, 7, "12345", "JX12345-1087", "油烟扰民"),
    _Signal(
        "w_noodle",
        "iot_alarm",
        3,
        0.5,
        "catering",
        "YY-3304020388-0044",
        "油烟浓度超标报警（在线监测）",
    ),
    _Signal(
        "w_noodle",
        "iot_alarm",
        3,
        2,
        "catering",
        "YY-3304020388-0041",
        "油烟浓度超标报警（在线监测）",
    ),
    _Signal(
        "w_noodle", "iot_alarm", 3, 3, "catering", "YY-3304020388-0039", "油烟净化器未开启报警"
    ),
    _Signal("w_noodle", "grid", 3, 4, "grid", "WG-NH-0822", "网格员巡查发现占道经营、油烟直排"),
    _Signal("w_noodle", "petition", 2, 25, "xinfang", "XF-NH-0310", "楼上住户反映油烟"),
    _Signal("w_noodle", "penalty", 1, 45, "penalty", "JSJ-NH-0158", "未按规定公示健康证明"),
    _Signal("conflict_market", "hotline", 1, 30, "12345", "HZ12345-0301", "价格标示不清"),
    _Signal("plan_gas", "grid", 1, 15, "grid", "WG-XZ-0066", "网格员巡查：灭火器过期"),
)
#: Minor signals about generated enterprises (every fourth), no warning among them.
NOISE = (
    ("hotline", "12345", "市民反映服务态度差"),
    ("grid", "grid", "网格员巡查：门前三包不到位"),
    ("iot_alarm", "catering", "油烟浓度短时偏高"),
)


def signals_of(directory: Directory, now: datetime) -> list[signals.SignalIn]:
    """The story's signals, dated back from ``now``, and minor noise about the others; the
    same refs on every run (re-posting them changes nothing)."""
    out = [
        signals.SignalIn(
            credit_code=directory.story[s.story],
            kind=s.kind,
            severity=s.severity,
            at=now - timedelta(days=s.days_ago),
            source=s.source,
            ref=s.ref,
            note=s.note,
        )
        for s in STORY_SIGNALS
    ]
    for n, enterprise in enumerate(directory.enterprises[len(STORIES) :: 4]):
        kind, source, note = NOISE[n % len(NOISE)]
        out.append(
            signals.SignalIn(
                credit_code=enterprise.credit_code,
                kind=kind,
                severity=1,
                at=now - timedelta(days=5 + n % 80),
                source=source,
                ref=f"DEMO-{source.upper()}-{enterprise.credit_code}",
                note=note,
            )
        )
    return out


# ------------------------------------------------------------------------------ loading


@dataclass
class Loaded:
    """What a load wrote (a second run: nothing created)."""

    departments_mapped: int = 0
    enterprises: Written = field(default_factory=lambda: Written(0, 0))
    inspectors: Written = field(default_factory=lambda: Written(0, 0))
    signals_created: int = 0
    signals_repeated: int = 0
    warnings_opened: int = 0
    tasks_created: list[str] = field(default_factory=list)
    story: Mapping[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "departments_mapped": self.departments_mapped,
            "enterprises": {
                "created": self.enterprises.created,
                "updated": self.enterprises.updated,
            },
            "inspectors": {"created": self.inspectors.created, "updated": self.inspectors.updated},
            "signals": {"created": self.signals_created, "repeated": self.signals_repeated},
            "warnings_opened": self.warnings_opened,
            "tasks_created": len(self.tasks_created),
        }


def _map_departments(conn: Connection, people: DemoPeople, now: datetime) -> int:
    """The demo departments' parts (as an admin's ``PUT …/departments/{id}`` sets them); the
    number of rows changed."""
    changed = 0
    for code, department in ((MARKET, people.market), (OFFICE, people.office)):
        kind, coordinator = PARTS[code]
        row = conn.execute(
            select(m.department).where(m.department.c.department_id == department)
        ).first()
        name = people.names.get(department)
        if row is not None and (row.kind, bool(row.coordinator), row.name) == (
            kind,
            coordinator,
            name,
        ):
            continue
        values = {
            "name": name,
            "kind": kind,
            "coordinator": coordinator,
            "updated_by": people.admin,
            "updated_at": now,
        }
        if row is None:
            conn.execute(m.department.insert().values(department_id=department, **values))
        else:
            conn.execute(
                m.department.update()
                .where(m.department.c.department_id == department)
                .values(**values)
            )
        changed += 1
    return changed


def load(
    engine: Engine,
    people: DemoPeople,
    config: InspectionConfig,
    *,
    enterprises: int = DEFAULT_ENTERPRISES,
    seed: int = 1,
    now: datetime | None = None,
) -> Loaded:
    """Everything but the draw: departments mapped, directory and roster, signals (warnings
    open), three tasks. Each step in its own transaction, each idempotent."""
    now = now or utcnow()
    directory = generate(enterprises, seed=seed)
    inspectors = roster(people, directory)
    loaded = Loaded(story=directory.story)
    with write_transaction(engine) as conn:
        loaded.departments_mapped = _map_departments(conn, people, now)
        clashes = cert_clashes(conn, inspectors)
        if clashes:  # the roster holds another officer with a demo 执法证 number
            raise DemoError(f"the roster cannot take the demo inspectors: {clashes[0]}")
        loaded.enterprises = write_enterprises(conn, directory.enterprises, now)
        loaded.inspectors = write_inspectors(conn, inspectors, now)
    with write_transaction(engine) as conn:
        posted = signals.record(
            conn,
            signals_of(directory, now),
            posted_by=people.office_officer,
            now=now,
            settings=config.risk,
        )
    loaded.signals_created, loaded.signals_repeated = len(posted.created), len(posted.repeated)
    loaded.warnings_opened = len(posted.opened)
    with write_transaction(engine) as conn:
        loaded.tasks_created = _tasks(conn, directory, people, config, now)
    return loaded


def _open_warning(conn: Connection, credit_code: str) -> str | None:
    return conn.execute(
        select(m.warning.c.id).where(
            m.warning.c.credit_code == credit_code, m.warning.c.state == "open"
        )
    ).scalar()


def _has_task(conn: Connection, credit_code: str, origin: str) -> bool:
    return (
        conn.execute(
            select(func.count())
            .select_from(m.task)
            .where(
                m.task.c.credit_code == credit_code,
                m.task.c.origin == origin,
                m.task.c.state != tasks.CANCELLED,
            )
        ).scalar_one()
        > 0
    )


def visit_day(now: datetime, timezone: str) -> date:
    """A week ahead, within the task's year (a task's date is in its year)."""
    today = local_date(now, timezone)
    return min(today + timedelta(days=7), date(today.year, 12, 31))


def _tasks(
    conn: Connection,
    directory: Directory,
    people: DemoPeople,
    config: InspectionConfig,
    now: datetime,
) -> list[str]:
    """A task from the canteen's warning and one from the annual plan, in consultation (the
    market regulator has proposed a date for the second); one from the restaurant's warning
    that both departments agreed on: scheduled. Each only once."""
    office, market = people.caller(people.office), people.caller(people.market)
    year = draws.year_of(now, config.timezone)
    today = local_date(now, config.timezone)
    day = visit_day(now, config.timezone)
    made: list[str] = []
    for key, scenario, origin, agree in (
        ("w_canteen", "school_canteen", "warning", ()),
        ("plan_gas", "gas_station", "plan", (market,)),
        ("w_restaurant", "restaurant", "warning", (office, market)),
    ):
        code = directory.story[key]
        if _has_task(conn, code, origin):
            continue
        warning_id = _open_warning(conn, code) if origin == "warning" else None
        if origin == "warning" and warning_id is None:
            continue  # its warning was dismissed or tasked by someone: not the demo's to redo
        draft = tasks.Draft(code, scenario, origin, (people.market,), warning_id=warning_id)
        task_id = tasks.draft_task(
            conn, draft, office, year=year, now=now, annual_cap=config.annual_cap
        )
        for version, who in enumerate(agree, start=1):
            tasks.apply_action(
                conn,
                task_id,
                tasks.Action("propose_date", on=day),
                who,
                expected_version=version,
                now=now,
                today=today,
            )
        made.append(task_id)
    return made


# ------------------------------------------------------------------------------ the draw


def draw_label(now: datetime, timezone: str) -> str:
    return f"杭州市、嘉兴市{draws.year_of(now, timezone)}年度餐饮服务单位双随机联合抽查（演示）"


def catering_plan(
    engine: Engine, target: DrawTarget, people: DemoPeople, config: InspectionConfig, year: int
) -> Plan:
    """The commitment over the directory's catering trade, inspected by the market regulator
    and the office, enterprises at the year's cap left out (as ``draws.plan_from_directory``
    does for the whole directory)."""
    departments = [people.market, people.office]
    with engine.connect() as conn:
        enterprises, inspectors = draws.read_directory(conn, departments, industry=CATERING)
        done = tasks.inspections_this_year(conn, year)
    return plan_draw(
        target,
        enterprises,
        inspectors,
        departments,
        per_department=1,
        ratios=config.ratios,
        inspections_this_year=done,
        annual_cap=config.annual_cap,
    )


def demo_draw(engine: Engine, label: str) -> dict[str, Any] | None:
    """The year's demo draw: a published one if any, else the newest."""
    with engine.connect() as conn:
        rows = [
            dict(r)
            for r in conn.execute(
                select(m.draw).where(m.draw.c.task == label).order_by(m.draw.c.id.desc())
            ).mappings()
        ]
    published = [r for r in rows if r["state"] == "published"]
    found = published or rows
    return found[0] if found else None


async def _start(
    state: InspectionState, people: DemoPeople, token: str, label: str
) -> dict[str, Any]:
    """Plan, store and commit a new demo draw (draws_api's order: the target block is named
    from the chain's height before the commitment exists)."""
    config, engine, now = state.config, state.engine, utcnow()
    async with state.core_client(token) as core:
        chain_id, registry = await publish.chain_of(core, timeout=DRAW_TIMEOUT_S)
        target_block = await publish.choose_target(core, lead=config.draw_lead_blocks)
        target = DrawTarget(new_id(), label, chain_id, registry, target_block)
        year = draws.year_of(now, config.timezone)
        plan = await anyio.to_thread.run_sync(
            lambda: catering_plan(engine, target, people, config, year)
        )
        intent = draws.Intent(DRAW_SCENARIO, people.office)
        await anyio.to_thread.run_sync(
            lambda: draws.insert_planned(
                engine, plan, intent, created_by=people.office_officer, now=now
            )
        )
        anchor_id = await publish.post_commitment(core, plan.commitment)
    await anyio.to_thread.run_sync(draws.mark_committed, engine, target.draw_id, anchor_id)
    row = await anyio.to_thread.run_sync(draws.get_row, engine, target.draw_id)
    assert row is not None
    return row


async def _recommit(state: InspectionState, row: Mapping[str, Any], token: str) -> None:
    """A draw left planned (its commitment may not have reached the core): post it again,
    the same document being the same anchor."""
    async with state.core_client(token) as core:
        anchor_id = await publish.post_commitment(core, row["commitment"])
    await anyio.to_thread.run_sync(draws.mark_committed, state.engine, row["id"], anchor_id)


def _outcome(row: Mapping[str, Any], created: bool) -> dict[str, Any]:
    document = row["document"]
    return {
        **draws.summary(row),
        "created": created,
        "anchor_block": document["anchor"]["block_number"],
        "url": f"/api/v1/inspection/draws/{row['id']}",
    }


async def publish_draw(
    state: InspectionState,
    people: DemoPeople,
    token: str,
    *,
    progress: Callable[[str], None] = lambda _line: None,
) -> dict[str, Any]:
    """The year's demo draw, published with its tasks: the one published already, or one run
    now (``token``: the office officer's; the core's anchoring worker must be running). A
    void draw is followed by a new one, ``DRAW_ATTEMPTS`` in all; DemoError after that."""
    state = _bounded(state)
    label = draw_label(utcnow(), state.config.timezone)
    created = False
    for _attempt in range(DRAW_ATTEMPTS):
        row = await anyio.to_thread.run_sync(demo_draw, state.engine, label)
        if row is not None and row["state"] == "published":
            return _outcome(row, created)
        if row is None or row["state"] in ("void", "failed"):
            if row is not None:
                progress(f"draw {row['id']} is {row['state']}: drawing again")
            row = await _start(state, people, token, label)
            created = True
        elif row["state"] == "planned":
            await _recommit(state, row, token)
        progress(
            f"draw {row['id']}: commitment sent for anchoring, target block "
            f"{row['target_block']}; waiting for the anchor and the block"
        )
        await draws.advance(state, row["id"], token)
    raise DemoError(f"no published draw after {DRAW_ATTEMPTS} attempts (each was void)")


def _bounded(state: InspectionState) -> InspectionState:
    """The module's state with the demo's shorter waits (the app's own is left alone)."""
    if state.config.draw_timeout_s <= DRAW_TIMEOUT_S:
        return state
    return replace(state, config=replace(state.config, draw_timeout_s=DRAW_TIMEOUT_S))
