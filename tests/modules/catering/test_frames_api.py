"""Frames over HTTP into the installed module, on both backends: accepted frames become
readings exactly as sent; refused ones are counted per device and reason and write no reading;
a signing device's unsigned frame is tampering; 30 minutes above the limit raise the sustained
alarm with the span of readings behind it; an ended hour is captured through the core as one
evidence item whose bytes are the hour's document."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
from datetime import timedelta

import anyio
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import select

from evidence_service.modules.catering import hours as catering_hours
from evidence_service.modules.catering import models as m
from evidence_service.modules.catering import state as catering_state
from evidence_service.modules.catering.hour_batch import hour_document
from evidence_service.modules.catering.hours import hour_readings
from tests.fixtures.service import Api
from tests.modules.catering.helpers import (
    API,
    DEPARTMENT,
    MN,
    OIL_FUME,
    SIGNING_MN,
    a_frame,
    minutes_ago,
    module_engine,
    post_frame,
    register,
    table_counts,
)


def test_an_accepted_frame_is_stored_as_sent(api: Api) -> None:
    register(api)
    at = minutes_ago(5)
    done = post_frame(api, a_frame(at, "0.520"))
    assert done.status_code == 200, done.text
    assert done.json() == {
        "mn": MN,
        "accepted": True,
        "reason": None,
        "detail": None,
        "readings": 3,
        "alarms": [],
    }
    headers = api.auth_as(DEPARTMENT, "officer")
    device = api.client.get(f"{API}/devices/{MN}", headers=headers).json()
    assert device["accepted"] == 1
    assert device["status"] == "online"
    assert device["rejected"] == {}
    readings = api.client.get(
        f"{API}/devices/{MN}/readings", params={"code": OIL_FUME}, headers=headers
    ).json()["items"]
    assert [(r["text"], r["value"], r["flag"], r["statistic"]) for r in readings] == [
        ("0.520", 0.52, "N", "Avg")
    ]
    with module_engine(api).connect() as conn:
        hours = conn.execute(select(m.hour)).all()
    assert [(h.mn, h.readings, h.state) for h in hours] == [(MN, 3, "open")]


def test_refused_frames_are_counted_and_write_no_reading(api: Api) -> None:
    register(api)
    at = minutes_ago(5)
    good = a_frame(at)
    assert post_frame(api, good).status_code == 200
    before = table_counts(api)
    cases = {
        "crc": good[:-6] + b"0000\r\n",
        "stale-qn": a_frame(at + timedelta(minutes=1), qn_at=at),  # QN not after the last
        "bad-password": a_frame(at + timedelta(minutes=2), password="654321"),
        "unknown-mn": a_frame(at, mn="99999999"),
        "framing": b"hello",
    }
    for reason, frame in cases.items():
        refused = post_frame(api, frame)
        assert refused.status_code == 422, (reason, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["reason"] == reason
    after = table_counts(api)
    assert after["catering_reading"] == before["catering_reading"]
    device = api.client.get(
        f"{API}/devices/{MN}", headers=api.auth_as(DEPARTMENT, "officer")
    ).json()
    assert device["rejected"] == {"crc": 1, "stale-qn": 1, "bad-password": 1}
    with module_engine(api).connect() as conn:
        unknown = dict(
            conn.execute(
                select(m.rejection.c.reason, m.rejection.c.count).where(
                    m.rejection.c.mn == m.UNKNOWN_MN
                )
            ).all()
        )
    assert unknown == {"unknown-mn": 1, "framing": 1}


def test_an_unsigned_frame_from_a_signing_device_is_tampering(api: Api) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    register(api, signing_key=key)
    at = minutes_ago(5)
    frame = a_frame(at, mn=SIGNING_MN)
    refused = post_frame(api, frame)
    assert refused.status_code == 422
    assert refused.json()["reason"] == "unsigned"
    assert refused.json()["alarms"] == [
        {"kind": "tampering", "transition": "opened", "factor": None}
    ]
    forged = json.dumps(
        {"frame": frame.decode(), "sig": base64.b64encode(b"\0" * 64).decode()}
    ).encode()
    bad = post_frame(api, forged, **{"Content-Type": "application/json"})
    assert bad.json()["reason"] == "bad-signature"
    signed = json.dumps(
        {"frame": frame.decode(), "sig": base64.b64encode(key.sign(frame)).decode()}
    ).encode()
    done = post_frame(api, signed, **{"Content-Type": "application/json"})
    assert done.status_code == 200, done.text
    alarms = api.client.get(
        f"{API}/alarms", params={"mn": SIGNING_MN}, headers=api.auth_as(DEPARTMENT, "officer")
    ).json()["items"]
    assert [(a["kind"], a["state"]) for a in alarms] == [("tampering", "open")]


def test_thirty_minutes_above_the_limit_raise_the_sustained_alarm(api: Api) -> None:
    register(api)
    start = minutes_ago(40)
    kinds = []
    for minute in range(30):
        done = post_frame(api, a_frame(start + timedelta(minutes=minute), "1.20"))
        assert done.status_code == 200, done.text
        kinds.append([(a["kind"], a["transition"]) for a in done.json()["alarms"]])
    assert kinds[0] == [("exceedance-warning", "opened")]
    assert all(k == [] for k in kinds[1:29])
    assert kinds[29] == [("sustained-exceedance", "opened")]
    alarms = api.client.get(
        f"{API}/alarms", params={"state": "open"}, headers=api.auth_as(DEPARTMENT, "officer")
    ).json()["items"]
    sustained = next(a for a in alarms if a["kind"] == "sustained-exceedance")
    assert sustained["value"] == 1.2 and sustained["limit"] == 1.0
    assert sustained["span_from"].startswith(start.strftime("%Y-%m-%dT%H:%M"))
    last = start + timedelta(minutes=29)
    assert sustained["span_to"].startswith(last.strftime("%Y-%m-%dT%H:%M"))


def test_an_ended_hour_is_captured_through_the_core(api: Api) -> None:
    register(api)
    state = api.client.app.state.catering  # type: ignore[attr-defined]
    token = api.auth_as(DEPARTMENT, "officer")["Authorization"].removeprefix("Bearer ")
    state.config = dataclasses.replace(state.config, service_token=token)
    hour_start = minutes_ago(0).replace(minute=0) - timedelta(hours=2)
    for minute in range(0, 60, 10):
        assert post_frame(api, a_frame(hour_start + timedelta(minutes=minute))).status_code == 200
    report = anyio.run(lambda: state.round(flush=False))
    assert [h.error for h in report.hours] == [None]
    evidence_id = report.hours[0].evidence_id
    with module_engine(api).connect() as conn:
        hour = conn.execute(select(m.hour).where(m.hour.c.mn == MN)).one()
    assert hour.state == "captured"
    assert hour.evidence_ids == [evidence_id]
    expected = hour_document(
        MN, hour_start, hour_readings(state.engine, MN, hour_start), state.factors
    )
    assert hour.sha256 == hashlib.sha256(expected).hexdigest()
    item = api.client.get(f"/api/v1/evidence/{evidence_id}", headers=api.auth("officer"))
    assert item.status_code == 200, item.text
    assert item.json()["sha256"] == hour.sha256
    assert item.json()["port"] == "electronic"
    content = api.client.get(f"/api/v1/evidence/{evidence_id}/content", headers=api.auth("officer"))
    assert content.content == expected
    # a late frame reopens the hour; the next capture is a second item superseding the first
    late = a_frame(hour_start + timedelta(minutes=55))
    assert post_frame(api, late).status_code == 200
    again = anyio.run(lambda: state.round(flush=False))
    assert [h.error for h in again.hours] == [None]
    with module_engine(api).connect() as conn:
        hour = conn.execute(select(m.hour).where(m.hour.c.mn == MN)).one()
    assert hour.state == "captured"
    assert hour.evidence_ids == [evidence_id, again.hours[0].evidence_id]
    second = api.client.get(
        f"/api/v1/evidence/{again.hours[0].evidence_id}", headers=api.auth("officer")
    ).json()
    assert evidence_id in second["description"]


def test_one_flush_captures_every_open_hour_chunk_after_chunk(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    register(api)
    state = api.client.app.state.catering  # type: ignore[attr-defined]
    token = api.auth_as(DEPARTMENT, "officer")["Authorization"].removeprefix("Bearer ")
    state.config = dataclasses.replace(state.config, service_token=token)
    monkeypatch.setattr(catering_state, "ROUND_HOURS", 2)
    monkeypatch.setattr(catering_hours, "ROUND_HOURS", 2)
    first = minutes_ago(0).replace(minute=0) - timedelta(hours=5)
    for hour in range(5):  # five hours, the last one still open
        at = first + timedelta(hours=hour, minutes=10)
        assert post_frame(api, a_frame(at)).status_code == 200
    report = anyio.run(lambda: state.round(flush=True))
    assert [h.error for h in report.hours] == [None] * 5
    assert [h.hour_start for h in report.hours] == [first + timedelta(hours=h) for h in range(5)]
    with module_engine(api).connect() as conn:
        hours = conn.execute(select(m.hour.c.state, m.hour.c.evidence_ids)).all()
    assert sorted(h.state for h in hours) == ["captured"] * 5
    assert sorted(h.evidence_ids[0] for h in hours) == sorted(h.evidence_id for h in report.hours)
    assert anyio.run(lambda: state.round(flush=True)).hours == []  # nothing left


def test_bad_queries_and_bodies_are_refused_and_write_nothing(api: Api) -> None:
    register(api)
    headers = api.auth_as(DEPARTMENT, "officer")
    before = table_counts(api)
    for url, params in (
        (f"{API}/devices/{MN}/readings", {"to": "0001-01-01T00:00:00Z"}),
        (f"{API}/devices/{MN}/readings", {"from": "2026-01-01T00:00:00"}),  # no zone
        (f"{API}/alarms", {"state": "burning"}),
        (f"{API}/devices/{MN}/readings", {"limit": "10001"}),
    ):
        refused = api.client.get(url, params=params, headers=headers)
        assert refused.status_code == 422, (url, params, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
    assert api.client.get(f"{API}/devices/NOPE/readings", headers=headers).status_code == 404
    deep = b"[" * 2000 + b"]" * 2000  # the core's JSON depth guard answers before the module
    refused = post_frame(api, deep, **{"Content-Type": "application/json"})
    assert refused.status_code == 400, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    too_big = api.client.post(
        f"{API}/frames", content=b"#" * 5000, headers={**headers, "Content-Type": "text/plain"}
    )
    assert too_big.status_code == 413
    bad_rows = api.client.post(
        f"{API}/restaurants",
        content="credit_code,name,burners,department_id\nX,店,0.5,D\n".encode(),
        headers={**headers, "Content-Type": "text/csv"},
    )
    assert bad_rows.status_code == 422
    fields = {e["field"] for e in bad_rows.json()["errors"]}
    assert {"credit_code", "burners"} <= fields
    wrong_type = api.client.post(
        f"{API}/devices", content=b"<xml/>", headers={**headers, "Content-Type": "text/xml"}
    )
    assert wrong_type.status_code == 415
    after = table_counts(api)
    assert {k: v for k, v in after.items() if k != "catering_rejection"} == {
        k: v for k, v in before.items() if k != "catering_rejection"
    }
