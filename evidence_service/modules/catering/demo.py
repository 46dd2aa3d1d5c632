"""Demo data for catering smart management: restaurants in Hangzhou's Xihu district, their
monitors, and hours of minute frames that open alarms.

Why it looks the way it does: the platform is shown to the district's officers, so the register
reads like theirs — restaurants on Xihu streets with valid 统一社会信用代码 (``91330106…``,
region 330106 西湖区), burners and seats, and every restaurant with an oil-fume monitor; every
third has a grease-trap monitor and every fourth a gas detector. The second restaurant's monitor
signs its frames (Ed25519, the ``hj212s`` topic); its private key is in the result, so the demo
can print it for a simulator. Two restaurants tell a story on every run:

- :data:`EXCEEDING` (the third) reports :data:`EXCEEDING_MG_M3` oil fume for
  :data:`EXCEEDING_MINUTES` minutes, up to ``now`` (:data:`STORY_END_MINUTES`) — above the
  default local limit of 1.0 mg/m³ for longer than its 30 minutes, so a ``sustained-exceedance``
  opens (and an ``exceedance-warning`` with the first reading);
- :data:`PURIFIER_OFF` (the fourth) runs its fan with the purifier switched off for
  :data:`PURIFIER_OFF_MINUTES` minutes over the same stretch, so a ``purifier-off`` opens.

The others follow :func:`.simulate.kitchen_reading` with the oil fume scaled to
:data:`COMPLIANT_SHARE` of it, which keeps them below the warning threshold at the busiest
lunch. Everything comes from ``seed`` and ``now``: the same register, passwords, keys and
frames for the same arguments.

Loaded straight into the module's tables through the module's own code — the register rows are
read by :mod:`.registry` (so they obey its rules), the frames go through
:meth:`.frames.FrameSink.handle` like any frame from MQTT — with no HTTP and no core call (the
module's rounds capture the hours later). Loading again does not fail: restaurants already
registered (by credit code) and devices (by MN) are kept as they are, and a device gets frames
only while it has none (QN must rise, so older frames could never be accepted after newer ones).
"""

from __future__ import annotations

import base64
import hashlib
import random
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import Connection, Engine, select
from ulid import ULID

from evidence_service.modules.catering import models as m
from evidence_service.modules.catering import registry
from evidence_service.modules.catering.alarms import OPENED
from evidence_service.modules.catering.frames import FrameSink, Incoming
from evidence_service.modules.catering.registry_store import device_columns, restaurant_columns
from evidence_service.modules.catering.simulate import (
    DEFAULT_CODES,
    SEND_DELAY,
    SimulatedDevice,
    envelope,
    frames,
    kitchen_reading,
)
from evidence_service.modules.kit.credit_code import check_character, organisation_check_character
from evidence_service.modules.kit.db import write_transaction

#: Restaurants ``load`` registers by default, and hours of frames each device sends.
DEFAULT_RESTAURANTS = 12
DEFAULT_HOURS = 6
#: The fewest restaurants that hold the stories (signing, exceeding, purifier off).
MIN_RESTAURANTS = 4
#: Index (0-based) of the restaurant whose monitor signs, and of the two stories.
SIGNING, EXCEEDING, PURIFIER_OFF = 1, 2, 3
EXCEEDING_MG_M3 = 1.2
EXCEEDING_MINUTES = 40
PURIFIER_OFF_MINUTES = 20
#: The stories run to the last minute before ``now``, so their alarms are open on the pages.
STORY_END_MINUTES = 0
#: Compliant kitchens' share of the simulator's oil fume (its lunch peak 1.7 becomes 0.68).
COMPLIANT_SHARE = 0.4
#: Frames handed to the sink in one call (one write transaction), as the MQTT batches are.
BATCH_FRAMES = 500
REGION = "330106"  # GB/T 2260: 杭州市西湖区
OIL_FUME, FAN_CURRENT, PURIFIER_CURRENT = "a34041", "cy0101", "cy0102"
FAN_STATE, PURIFIER_STATE = "cy0201", "cy0202"
GREASE_LEVEL, GAS_ALARM = "cy0301", "cy0401"
#: The codes each kind of device reports.
DEVICE_CODES: dict[str, tuple[str, ...]] = {
    "oil_fume": tuple(c for c in DEFAULT_CODES if c != GREASE_LEVEL),
    "grease_trap": (GREASE_LEVEL,),
    "gas": (GAS_ALARM,),
}
#: (name, street address) of the story restaurants; the rest are numbered.
PLACES = (
    ("知味观(湖滨店)", "杭州市西湖区北山街 28 号"),
    ("楼外楼", "杭州市西湖区孤山路 30 号"),
    ("外婆家(文三路店)", "杭州市西湖区文三路 259 号"),
    ("新白鹿餐厅(曙光路店)", "杭州市西湖区曙光路 120 号"),
    ("绿茶餐厅(龙井路店)", "杭州市西湖区龙井路 83 号"),
    ("弄堂里(西溪店)", "杭州市西湖区西溪路 550 号"),
    ("老头儿油爆虾", "杭州市西湖区天目山路 176 号"),
    ("皇饭儿", "杭州市西湖区教工路 88 号"),
    ("小吊梨汤(古墩路店)", "杭州市西湖区古墩路 701 号"),
    ("桂语山房", "杭州市西湖区满觉陇路 15 号"),
    ("留下老街面馆", "杭州市西湖区留下街 102 号"),
    ("三墩农家菜", "杭州市西湖区三墩镇振华路 9 号"),
)
#: Where Xihu's restaurants are (WGS-84, roughly the district's built-up area).
LONGITUDE, LATITUDE = (120.06, 120.17), (30.21, 30.32)


class DemoError(ValueError):
    """The arguments cannot hold the demo's stories. ``reason``: ``too-few-restaurants``,
    ``too-few-hours``, ``naive-now``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class DemoRestaurant:
    credit_code: str
    name: str
    address: str | None
    story: str | None = None  # "exceeding", "purifier-off", "signing" or None


@dataclass(frozen=True)
class DemoDevice:
    mn: str
    password: str
    kind: str  # registry.DEVICE_KINDS
    credit_code: str  # its restaurant's
    #: Base64 of the 32-byte Ed25519 private key of a monitor that signs (None: it does not).
    private_key: str | None = None


@dataclass(frozen=True)
class DemoLoaded:
    """What :func:`load` registered and sent; a second load reports what it found, with the
    counts of what it added (zero frames for devices that had frames)."""

    restaurants: tuple[DemoRestaurant, ...]
    devices: tuple[DemoDevice, ...]
    restaurants_created: int
    devices_created: int
    frames: int  # handed to the sink
    accepted: int
    alarms_opened: dict[str, int] = field(default_factory=dict)  # by kind


def load(
    engine: Engine,
    sink: FrameSink,
    *,
    department_id: str,
    restaurants: int = DEFAULT_RESTAURANTS,
    hours: int = DEFAULT_HOURS,
    now: datetime,
    seed: int = 1,
) -> DemoLoaded:
    """Register the demo restaurants and devices of ``department_id`` and send ``hours`` of
    minute frames ending the minute before ``now`` (module docstring)."""
    if now.tzinfo is None:
        raise DemoError("naive-now", "now must be an aware datetime")
    if restaurants < MIN_RESTAURANTS:
        raise DemoError(
            "too-few-restaurants", f"the demo's stories need {MIN_RESTAURANTS} restaurants"
        )
    if hours * 60 < EXCEEDING_MINUTES + STORY_END_MINUTES:
        raise DemoError("too-few-hours", "the exceeding story needs at least one hour of frames")
    rnd = random.Random(seed)
    register = [_restaurant(n, seed, department_id, rnd) for n in range(restaurants)]
    rows = registry.restaurants_from_json(register)
    listed = tuple(
        DemoRestaurant(r.credit_code, r.name, r.address, _story(n)) for n, r in enumerate(rows)
    )
    stories = {r.credit_code: r.story for r in listed}
    devices = [d for n, r in enumerate(listed) for d in _devices(n, r.credit_code, seed, rnd)]
    device_rows = registry.devices_from_json([_device_json(d) for d in devices])
    start = now.replace(second=0, microsecond=0) - timedelta(hours=hours)
    with write_transaction(engine) as conn:
        restaurants_created = _store_restaurants(conn, rows, start)
        devices_created, fresh = _store_devices(conn, device_rows, start)
    sending = [d for d in devices if d.mn in fresh]
    count, accepted, opened = 0, 0, Counter[str]()
    for batch in _batches(_incoming(sending, stories, start, hours * 60), BATCH_FRAMES):
        for outcome in sink.handle(batch, now=now):
            count += 1
            accepted += outcome.accepted
            opened.update(a["kind"] for a in outcome.alarms if a["transition"] == OPENED)
    return DemoLoaded(
        restaurants=listed,
        devices=tuple(devices),
        restaurants_created=restaurants_created,
        devices_created=devices_created,
        frames=count,
        accepted=accepted,
        alarms_opened=dict(sorted(opened.items())),
    )


# -- the register --------------------------------------------------------------------------------
def credit_code(n: int, seed: int) -> str:
    """A valid 统一社会信用代码 of a company (``91``) registered in Xihu, numbered ``n`` (below
    10⁵) for ``seed``: the organisation code is ``6``, two digits of the seed, then ``n``."""
    organisation = f"6{seed % 100:02d}{n:05d}"
    first17 = "91" + REGION + organisation + organisation_check_character(organisation)
    return first17 + check_character(first17)


def _restaurant(n: int, seed: int, department_id: str, rnd: random.Random) -> dict[str, object]:
    name, address = PLACES[n] if n < len(PLACES) else (f"西湖区餐馆 {n + 1} 号", None)
    burners = rnd.choice((1, 2, 2, 3, 4, 5, 6, 8))
    return {
        "credit_code": credit_code(n, seed),
        "name": name,
        "licence_no": f"JY1{REGION}{seed % 10}{n:05d}{n % 10}",  # 食品经营许可证: JY + 14 digits
        "address": address or f"杭州市西湖区文一西路 {100 + n} 号",
        "longitude": round(rnd.uniform(*LONGITUDE), 6),
        "latitude": round(rnd.uniform(*LATITUDE), 6),
        "burners": burners,
        "seats": burners * rnd.choice((15, 20, 25)),
        "purifier_model": rnd.choice(("静电式 JD-8000", "复合式 FH-12", "运水烟罩 YS-6")),
        "purifier_efficiency": rnd.choice((85, 90, 95)),
        "department_id": department_id,
    }


def _story(n: int) -> str | None:
    return {SIGNING: "signing", EXCEEDING: "exceeding", PURIFIER_OFF: "purifier-off"}.get(n)


def _devices(n: int, code: str, seed: int, rnd: random.Random) -> Iterator[DemoDevice]:
    kinds = ["oil_fume"]
    if n % 3 == 0:
        kinds.append("grease_trap")
    if n % 4 == 0:
        kinds.append("gas")
    for number, kind in enumerate(kinds, start=1):
        mn = f"{REGION}{seed % 1000:03d}{n:04d}{number}"
        password = f"{rnd.randrange(1_000_000):06d}"
        key = None
        if n == SIGNING and kind == "oil_fume":
            raw = hashlib.sha256(f"catering-demo/{seed}/{mn}".encode()).digest()
            key = base64.b64encode(raw).decode("ascii")
        yield DemoDevice(mn, password, kind, code, key)


def _device_json(device: DemoDevice) -> dict[str, object]:
    row: dict[str, object] = {
        "mn": device.mn,
        "credit_code": device.credit_code,
        "kind": device.kind,
        "password": device.password,
    }
    if device.private_key is not None:
        public = _key(device.private_key).public_key().public_bytes_raw()
        row["public_key"] = base64.b64encode(public).decode("ascii")
    return row


def _key(private_key: str) -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.from_private_bytes(base64.b64decode(private_key))


def _store_restaurants(
    conn: Connection, rows: Sequence[registry.Restaurant], created_at: datetime
) -> int:
    """Insert the restaurants not yet registered; returns how many."""
    known = set(
        conn.execute(
            select(m.restaurant.c.credit_code).where(
                m.restaurant.c.credit_code.in_([r.credit_code for r in rows])
            )
        ).scalars()
    )
    new = [
        {
            "id": str(ULID()),
            "credit_code": r.credit_code,
            **restaurant_columns(r, created_at),
            "licensed_on": None,
            "created_at": created_at,
        }
        for r in rows
        if r.credit_code not in known
    ]
    if new:
        conn.execute(m.restaurant.insert(), new)
    return len(new)


def _store_devices(
    conn: Connection, rows: Sequence[registry.Device], created_at: datetime
) -> tuple[int, set[str]]:
    """Insert the devices not yet registered; returns how many, and the MNs of every device
    (new or not) that has no accepted frame yet — those get the demo's frames."""
    ids = dict(
        conn.execute(
            select(m.restaurant.c.credit_code, m.restaurant.c.id).where(
                m.restaurant.c.credit_code.in_({d.credit_code for d in rows})
            )
        ).all()
    )
    known = dict(
        conn.execute(
            select(m.device.c.mn, m.device.c.last_qn).where(m.device.c.mn.in_([d.mn for d in rows]))
        ).all()
    )
    new = [
        {
            "mn": d.mn,
            **device_columns(d, ids[d.credit_code]),
            "accepted": 0,
            "created_at": created_at,
        }
        for d in rows
        if d.mn not in known
    ]
    if new:
        conn.execute(m.device.insert(), new)
    fresh = {d.mn for d in rows if d.mn not in known or known[d.mn] is None}
    return len(new), fresh


# -- the frames ----------------------------------------------------------------------------------
class _Kitchen:
    """The reading function of one restaurant's devices (module docstring)."""

    def __init__(self, story: str | None, story_to: datetime) -> None:
        self.story = story
        minutes = PURIFIER_OFF_MINUTES if story == "purifier-off" else EXCEEDING_MINUTES
        self.story_from = story_to - timedelta(minutes=minutes)
        self.story_to = story_to

    def __call__(self, code: str, moment: datetime) -> float:
        value = kitchen_reading(code, moment)
        if code == OIL_FUME:
            value *= COMPLIANT_SHARE
        if not self.story_from <= moment < self.story_to:
            return value
        if self.story == "exceeding" and code == OIL_FUME:
            return EXCEEDING_MG_M3
        if self.story == "purifier-off":
            off = {FAN_CURRENT: 12.0, FAN_STATE: 1.0, PURIFIER_CURRENT: 0.0, PURIFIER_STATE: 0.0}
            return off.get(code, value)
        return value


def _incoming(
    devices: Sequence[DemoDevice],
    stories: dict[str, str | None],
    start: datetime,
    minutes: int,
) -> Iterator[Incoming]:
    """Every device's frames, minute by minute across devices, as a broker delivers them."""
    story_to = start + timedelta(minutes=minutes - STORY_END_MINUTES)
    streams = []
    for device in devices:
        simulated = SimulatedDevice(device.mn, device.password, DEVICE_CODES[device.kind])
        kitchen = _Kitchen(stories.get(device.credit_code), story_to)
        made = frames(
            simulated, start=start, interval=timedelta(minutes=1), count=minutes, reading=kitchen
        )
        streams.append((device, made))
    for minute in range(minutes):
        received_at = start + timedelta(minutes=minute) + SEND_DELAY
        for device, made in streams:
            frame = next(made)
            if device.private_key is None:
                yield Incoming(frame, received_at, topic_mn=device.mn)
            else:
                signed = envelope(frame, _key(device.private_key))
                yield Incoming(signed, received_at, enveloped=True, topic_mn=device.mn)


def _batches(items: Iterator[Incoming], size: int) -> Iterator[list[Incoming]]:
    batch: list[Incoming] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
