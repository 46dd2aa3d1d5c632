"""The catering demo: a valid Xihu register with its monitors, hours of minute frames all
accepted, the two stories' alarms (and no other), a monitor that signs, and loading again adds
nothing (or only what is new)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import Engine, func, select

from evidence_service.modules.catering import demo
from evidence_service.modules.catering import models as m
from evidence_service.modules.catering.factors import load_factors
from evidence_service.modules.catering.frames import FrameSink
from evidence_service.modules.catering.limits import Limits
from evidence_service.modules.catering.schema import SCHEMA
from evidence_service.modules.catering.validation import password_digest
from evidence_service.modules.kit.credit_code import is_valid
from evidence_service.modules.kit.db import make_engine

DEPARTMENT = "01JDEMODEPARTMENT000000000"
#: 14:30 in Hangzhou: six hours back covers the lunch peak.
AFTERNOON = datetime(2026, 7, 6, 6, 30, 15, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'catering.db'}"
    SCHEMA.ensure_at(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def sink(engine: Engine) -> FrameSink:
    factors = load_factors()
    return FrameSink(engine, factors=factors, limits=Limits(), roles=factors.rules())


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (m.restaurant, m.device, m.reading, m.hour, m.alarm, m.rejection)
        }


def alarms(engine: Engine) -> list[tuple[str, str, datetime, float, datetime, datetime]]:
    with engine.connect() as conn:
        return [
            (a.mn, a.kind, a.opened_at, a.value, a.span_from, a.span_to)
            for a in conn.execute(select(m.alarm).order_by(m.alarm.c.opened_at))
        ]


def test_the_default_demo_registers_twelve_restaurants_and_sends_six_hours(
    engine: Engine, sink: FrameSink
) -> None:
    loaded = demo.load(engine, sink, department_id=DEPARTMENT, now=AFTERNOON)

    assert len(loaded.restaurants) == 12 == loaded.restaurants_created
    assert all(is_valid(r.credit_code) for r in loaded.restaurants)
    assert all(r.credit_code.startswith("91330106") for r in loaded.restaurants)
    assert loaded.restaurants[0].name == "知味观(湖滨店)"
    assert [r.story for r in loaded.restaurants[:4]] == [
        None,
        "signing",
        "exceeding",
        "purifier-off",
    ]
    kinds = [d.kind for d in loaded.devices]
    # every restaurant an oil-fume monitor; restaurants 0, 3, 6, 9 a grease trap; 0, 4, 8 gas
    assert (kinds.count("oil_fume"), kinds.count("grease_trap"), kinds.count("gas")) == (12, 4, 3)
    assert loaded.devices_created == 19
    assert len({d.mn for d in loaded.devices}) == 19
    assert all(len(d.password) == 6 and d.password.isdigit() for d in loaded.devices)
    assert loaded.frames == loaded.accepted == 19 * 360
    assert loaded.alarms_opened == {
        "exceedance-warning": 1,
        "purifier-off": 1,
        "sustained-exceedance": 1,
    }
    assert counts(engine) == {
        "catering_restaurant": 12,
        "catering_device": 19,
        # an oil-fume frame has 7 factors, a grease-trap or gas frame one
        "catering_reading": 360 * (12 * 7 + 4 + 3),
        "catering_hour": 19 * 7,  # 00:30–06:29 UTC touches seven hours
        "catering_alarm": 3,
        "catering_rejection": 0,
    }
    with engine.connect() as conn:
        stored = {row.mn: row for row in conn.execute(select(m.device))}
        departments = set(conn.execute(select(m.restaurant.c.department_id)).scalars())
    assert departments == {DEPARTMENT}
    for device in loaded.devices:
        assert stored[device.mn].password_sha256 == password_digest(device.password)
        assert stored[device.mn].accepted == 360
        last = stored[device.mn].last_frame_at
        assert last == datetime(2026, 7, 6, 6, 29, tzinfo=UTC)


def test_the_stories_open_their_alarms_at_the_minutes_they_complete(
    engine: Engine, sink: FrameSink
) -> None:
    loaded = demo.load(engine, sink, department_id=DEPARTMENT, now=AFTERNOON)
    exceeding = next(
        d.mn for d in loaded.devices if d.credit_code == loaded.restaurants[2].credit_code
    )
    purifier_off = next(
        d.mn for d in loaded.devices if d.credit_code == loaded.restaurants[3].credit_code
    )
    at = datetime(2026, 7, 6, 5, 50, tzinfo=UTC)  # 40 minutes before 06:30, up to the end
    assert alarms(engine) == [
        (exceeding, "exceedance-warning", at, 1.2, at, at),
        # the fan on, the purifier off from 06:10: five minutes complete at 06:14
        (
            purifier_off,
            "purifier-off",
            datetime(2026, 7, 6, 6, 14, tzinfo=UTC),
            5.0,
            datetime(2026, 7, 6, 6, 10, tzinfo=UTC),
            datetime(2026, 7, 6, 6, 14, tzinfo=UTC),
        ),
        # 1.2 mg/m³ from 05:50: the 30th minute above 1.0 completes the run at 06:19
        (
            exceeding,
            "sustained-exceedance",
            at + timedelta(minutes=29),
            1.2,
            at,
            at + timedelta(minutes=29),
        ),
    ]


def test_the_stories_happen_at_night_too(engine: Engine, sink: FrameSink) -> None:
    night = datetime(2026, 7, 6, 19, 0, tzinfo=UTC)  # 03:00 in Hangzhou: kitchens closed
    loaded = demo.load(engine, sink, department_id=DEPARTMENT, now=night, hours=1)

    assert loaded.frames == loaded.accepted == 19 * 60
    assert loaded.alarms_opened == {
        "exceedance-warning": 1,
        "purifier-off": 1,
        "sustained-exceedance": 1,
    }


def test_the_signing_monitor_s_key_is_registered_and_its_frames_verify(
    engine: Engine, sink: FrameSink
) -> None:
    loaded = demo.load(engine, sink, department_id=DEPARTMENT, now=AFTERNOON, hours=1)

    signing = [d for d in loaded.devices if d.private_key is not None]
    assert len(signing) == 1
    (device,) = signing
    assert (device.kind, device.credit_code) == ("oil_fume", loaded.restaurants[1].credit_code)
    key = ed25519.Ed25519PrivateKey.from_private_bytes(base64.b64decode(device.private_key or ""))
    public = base64.b64encode(key.public_key().public_bytes_raw()).decode()
    with engine.connect() as conn:
        row = conn.execute(select(m.device).where(m.device.c.mn == device.mn)).one()
        keyed = conn.execute(
            select(func.count()).select_from(m.device).where(m.device.c.public_key.is_not(None))
        ).scalar_one()
    assert (row.public_key, row.accepted, keyed) == (public, 60, 1)


def test_loading_again_adds_nothing(engine: Engine, sink: FrameSink) -> None:
    first = demo.load(engine, sink, department_id=DEPARTMENT, now=AFTERNOON, hours=1)
    before = counts(engine)

    again = demo.load(
        engine, sink, department_id=DEPARTMENT, now=AFTERNOON + timedelta(hours=2), hours=1
    )

    assert (again.restaurants_created, again.devices_created, again.frames) == (0, 0, 0)
    assert again.alarms_opened == {}
    assert again.restaurants == first.restaurants and again.devices == first.devices
    assert counts(engine) == before


def test_loading_more_restaurants_sends_frames_only_to_the_new_devices(
    engine: Engine, sink: FrameSink
) -> None:
    demo.load(engine, sink, department_id=DEPARTMENT, now=AFTERNOON, restaurants=4, hours=1)

    more = demo.load(engine, sink, department_id=DEPARTMENT, now=AFTERNOON, restaurants=6, hours=1)

    # restaurant 4 has an oil-fume monitor and a gas detector, restaurant 5 a monitor only
    assert (more.restaurants_created, more.devices_created) == (2, 3)
    assert more.frames == more.accepted == 3 * 60
    assert more.alarms_opened == {}
    assert counts(engine)["catering_rejection"] == 0


def test_the_same_seed_gives_the_same_register_and_another_seed_another(
    engine: Engine, sink: FrameSink, tmp_path: Path
) -> None:
    one = demo.load(engine, sink, department_id=DEPARTMENT, now=AFTERNOON, hours=1)
    other_url = f"sqlite:///{tmp_path / 'other.db'}"
    SCHEMA.ensure_at(other_url)
    other_engine = make_engine(other_url)
    try:
        factors = load_factors()
        other_sink = FrameSink(
            other_engine, factors=factors, limits=Limits(), roles=factors.rules()
        )
        same = demo.load(other_engine, other_sink, department_id=DEPARTMENT, now=AFTERNOON, hours=1)
        seeded = demo.load(
            other_engine, other_sink, department_id=DEPARTMENT, now=AFTERNOON, hours=1, seed=2
        )
    finally:
        other_engine.dispose()

    assert same.devices == one.devices and same.restaurants == one.restaurants
    assert {d.mn for d in seeded.devices}.isdisjoint({d.mn for d in one.devices})
    assert {r.credit_code for r in seeded.restaurants}.isdisjoint(
        {r.credit_code for r in one.restaurants}
    )
    assert seeded.restaurants_created == 12


def test_credit_codes_are_valid_and_numbered(engine: Engine) -> None:
    assert demo.credit_code(0, 1) == demo.credit_code(0, 1)
    assert demo.credit_code(0, 1)[:16] == "9133010660100000"
    assert all(is_valid(demo.credit_code(n, seed)) for n in range(50) for seed in (1, 7, 99))


@pytest.mark.parametrize(
    ("arguments", "reason"),
    [
        ({"restaurants": 3}, "too-few-restaurants"),
        ({"hours": 0}, "too-few-hours"),
        ({"now": datetime(2026, 7, 6, 6, 30)}, "naive-now"),
    ],
)
def test_arguments_that_cannot_hold_the_stories_are_refused_before_anything_is_written(
    engine: Engine, sink: FrameSink, arguments: dict[str, object], reason: str
) -> None:
    with pytest.raises(demo.DemoError) as refused:
        demo.load(
            engine,
            sink,
            department_id=DEPARTMENT,
            **{"now": AFTERNOON, **arguments},  # type: ignore[arg-type]
        )

    assert refused.value.reason == reason
    assert counts(engine)["catering_restaurant"] == 0


def test_a_department_the_register_refuses_writes_nothing(engine: Engine, sink: FrameSink) -> None:
    with pytest.raises(demo.registry.RegistryError) as refused:
        demo.load(engine, sink, department_id="x" * 65, now=AFTERNOON, hours=1)

    assert {e.field for e in refused.value.errors} == {"department_id"}
    assert counts(engine)["catering_restaurant"] == 0


def test_evidence_demo_prints_the_monitors_and_serve_demo_settings_point_at_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from evidence_service.cli import app as cli
    from evidence_service.cli import demo_catering_settings
    from evidence_service.core.config import Settings

    monkeypatch.setenv("EVIDENCE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("EVIDENCE_DB_URL", raising=False)
    printed = CliRunner().invoke(cli, ["demo"])
    assert printed.exit_code == 0, printed.output
    made = json.loads(printed.stdout)
    catering = made["catering"]
    assert (len(catering["restaurants"]), len(catering["devices"])) == (12, 19)
    assert all(d["mn"] and d["password"] for d in catering["devices"])
    assert catering["alarms_opened"] == {
        "exceedance-warning": 1,
        "purifier-off": 1,
        "sustained-exceedance": 1,
    }
    settings = demo_catering_settings(Settings(), made)
    officer = next(
        u["token"]
        for u in made["users"]
        if u["role"] == "officer"
        and u["department_id"]
        == next(d["id"] for d in made["departments"] if d["code"] == "HZ-SCJG")
    )
    assert settings.catering_service_token is not None
    assert settings.catering_service_token.get_secret_value() == officer
    assert settings.catering_enforcement_department == "HZ-ZHZF"
