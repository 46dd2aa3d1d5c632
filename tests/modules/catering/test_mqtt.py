"""Frames over MQTT through the real Mosquitto on 127.0.0.1:1883 (started before every session
and in CI): published on ``<prefix>/<MN>/hj212`` and, signed, on ``…/hj212s``, they become
readings and alarms like frames posted over HTTP; a frame on another MN's topic is refused.
Each test uses its own topic prefix, so no other subscriber shares its frames."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import secrets
import time
from datetime import timedelta

import aiomqtt
import anyio
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import func, select

from evidence_service.modules.catering import models as m
from evidence_service.modules.catering.mqtt import incoming, subscribe
from tests.fixtures.service import Api
from tests.modules.catering.helpers import (
    MN,
    SIGNING_MN,
    a_frame,
    minutes_ago,
    module_engine,
    register,
)

BROKER = ("127.0.0.1", 1883)


def broker_answers() -> bool:
    import socket

    try:
        with socket.create_connection(BROKER, timeout=1):
            return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(
    not broker_answers() and os.environ.get("CI") != "true",
    reason="no MQTT broker on 127.0.0.1:1883 (.ci/run starts Mosquitto; in CI this fails)",
)


def accepted(api: Api, mn: str) -> int:
    with module_engine(api).connect() as conn:
        found = conn.execute(select(m.device.c.accepted).where(m.device.c.mn == mn)).scalar()
    return int(found or 0)


def rejected(api: Api, mn: str) -> dict[str, int]:
    with module_engine(api).connect() as conn:
        rows = conn.execute(select(m.rejection).where(m.rejection.c.mn == mn)).all()
    return {r.reason: r.count for r in rows}


def test_frames_published_over_mqtt_become_readings(api: Api) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    register(api, signing_key=key)
    state = api.client.app.state.catering  # type: ignore[attr-defined]
    prefix = f"t{secrets.token_hex(4)}"
    state.config = dataclasses.replace(
        state.config,
        mqtt_host=BROKER[0],
        mqtt_port=BROKER[1],
        mqtt_topic_prefix=prefix,
        mqtt_client_id=f"test-{prefix}",
        mqtt_persistent=False,
    )
    state.sink.limits = dataclasses.replace(state.sink.limits, sustained_minutes=10)
    start = minutes_ago(20)
    # ten minutes above the limit: a sustained exceedance of 10 minutes (set below)
    plain = [a_frame(start + timedelta(minutes=i), "1.30") for i in range(10)]
    signed_frame = a_frame(start, mn=SIGNING_MN)
    envelope = json.dumps(
        {"frame": signed_frame.decode(), "sig": base64.b64encode(key.sign(signed_frame)).decode()}
    ).encode()

    async def run() -> None:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(subscribe, state)
            deadline = time.monotonic() + 10
            while not state.mqtt_connected:
                assert time.monotonic() < deadline, "the subscriber did not connect"
                await anyio.sleep(0.05)
            async with aiomqtt.Client(*BROKER, identifier=f"pub-{prefix}") as publisher:
                for frame in plain:
                    await publisher.publish(f"{prefix}/{MN}/hj212", frame, qos=1)
                await publisher.publish(f"{prefix}/{SIGNING_MN}/hj212s", envelope, qos=1)
                # MN's frame on the signing device's topic: another device's frame
                late = a_frame(start + timedelta(minutes=11))
                await publisher.publish(f"{prefix}/{SIGNING_MN}/hj212s", late, qos=1)
            while accepted(api, MN) < 10 or not rejected(api, SIGNING_MN):
                assert time.monotonic() < deadline + 10, (
                    accepted(api, MN),
                    rejected(api, SIGNING_MN),
                )
                await anyio.sleep(0.1)
            tasks.cancel_scope.cancel()

    anyio.run(run)
    assert accepted(api, MN) == 10
    assert accepted(api, SIGNING_MN) == 1
    assert rejected(api, SIGNING_MN) == {"envelope-format": 1}
    with module_engine(api).connect() as conn:
        count = conn.execute(
            select(func.count()).select_from(m.reading).where(m.reading.c.mn == MN)
        ).scalar()
        kinds = conn.execute(
            select(m.alarm.c.kind).where(m.alarm.c.mn == MN).order_by(m.alarm.c.opened_at)
        ).scalars()
    assert count == 30  # three factors a frame
    assert list(kinds) == ["exceedance-warning", "sustained-exceedance"]


def test_the_topic_names_the_device() -> None:
    from datetime import UTC, datetime

    at = datetime.now(UTC)
    assert incoming("catering", "catering/ABC/hj212", b"x", at).topic_mn == "ABC"
    signed = incoming("catering", "catering/ABC/hj212s", b"x", at)
    assert (signed.topic_mn, signed.enveloped) == ("ABC", True)
    odd = incoming("catering", "catering/" + "A" * 28 + "/hj212", b"x", at)
    assert (odd.topic_mn, odd.enveloped) == (None, False)
