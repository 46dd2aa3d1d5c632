"""Catering test helpers: a restaurant and its monitors registered through the API, and frames
built as a monitor would send them."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import Engine, func, select

from evidence_service.modules.catering import models as m
from evidence_service.modules.catering.hj212 import build_frame, format_cp, format_qn
from evidence_service.modules.kit.credit_code import check_character, organisation_check_character
from tests.fixtures.service import Api

API = "/api/v1/catering"
OIL_FUME, FAN, PURIFIER = "a34041", "cy0101", "cy0102"
#: The demo's environment department runs the platform (油烟 is its duty).
DEPARTMENT = "HZ-SCJG"


def credit_code(n: int) -> str:
    """A valid 统一社会信用代码 numbered ``n`` (region 330106, Hangzhou Xihu)."""
    organisation = f"{n:08d}"
    first17 = "91330106" + organisation + organisation_check_character(organisation)
    return first17 + check_character(first17)


CREDIT_CODE = credit_code(1)
MN = "33010600000001"
SIGNING_MN = "33010600000002"
PASSWORD = "123456"


def department_id(api: Api, code: str = DEPARTMENT) -> str:
    return next(d["id"] for d in api.departments if d["code"] == code)


def module_engine(api: Api) -> Engine:
    return api.client.app.state.catering.engine  # type: ignore[attr-defined,no-any-return]


def register(api: Api, *, signing_key: ed25519.Ed25519PrivateKey | None = None) -> str:
    """One restaurant with an oil-fume monitor (and a signing one when a key is given);
    returns the restaurant's id."""
    headers = api.auth_as(DEPARTMENT, "officer")
    done = api.client.post(
        f"{API}/restaurants",
        json=[
            {
                "credit_code": CREDIT_CODE,
                "name": "西湖边小炒店",
                "address": "杭州市西湖区北山街 1 号",
                "longitude": 120.15,
                "latitude": 30.26,
                "burners": 4,
                "seats": 60,
                "department_id": department_id(api),
            }
        ],
        headers=headers,
    )
    assert done.status_code == 200, done.text
    devices: list[dict[str, Any]] = [
        {"mn": MN, "credit_code": CREDIT_CODE, "kind": "oil_fume", "password": PASSWORD}
    ]
    if signing_key is not None:
        raw = signing_key.public_key().public_bytes_raw()
        devices.append(
            {
                "mn": SIGNING_MN,
                "credit_code": CREDIT_CODE,
                "kind": "oil_fume",
                "password": PASSWORD,
                "public_key": base64.b64encode(raw).decode(),
            }
        )
    done = api.client.post(f"{API}/devices", json=devices, headers=headers)
    assert done.status_code == 200, done.text
    listed = api.client.get(f"{API}/restaurants", headers=headers).json()["items"]
    return str(next(r["id"] for r in listed if r["credit_code"] == CREDIT_CODE))


def a_frame(
    at: datetime,
    oil_fume: str = "0.52",
    *,
    mn: str = MN,
    password: str = PASSWORD,
    qn_at: datetime | None = None,
    fan: str = "3.1",
    purifier: str = "1.2",
    flag: str = "N",
) -> bytes:
    """A minute frame (CN 2051) of an oil-fume monitor: concentration, fan and purifier
    currents; QN from ``qn_at`` (default ``at`` plus 20 s: the frame is sent after its minute)."""
    cp = format_cp(
        at,
        [
            (OIL_FUME, {"Avg": oil_fume}, flag),
            (FAN, {"Avg": fan}, "N"),
            (PURIFIER, {"Avg": purifier}, "N"),
        ],
    )
    qn = format_qn(qn_at or at + timedelta(seconds=20))
    return build_frame(qn=qn, st="31", cn="2051", pw=password, mn=mn, cp=cp, flag=4)


def minutes_ago(n: int) -> datetime:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    return now - timedelta(minutes=n)


def post_frame(api: Api, frame: bytes, **headers: str) -> Any:
    return api.client.post(
        f"{API}/frames",
        content=frame,
        headers={**api.auth_as(DEPARTMENT, "officer"), "Content-Type": "text/plain", **headers},
    )


def table_counts(api: Api) -> dict[str, int]:
    with module_engine(api).connect() as conn:
        return {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (m.restaurant, m.device, m.reading, m.hour, m.alarm, m.rejection)
        }
