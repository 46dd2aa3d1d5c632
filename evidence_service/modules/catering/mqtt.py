"""The monitors' frames over MQTT (aiomqtt), handed to the frame sink in batches.

Topics (``CateringConfig.mqtt_topic_prefix``, default ``catering``): ``catering/<MN>/hj212``
carries one HJ 212-2017 frame per message; ``catering/<MN>/hj212s`` carries the signed envelope
``{"frame": "##…", "sig": "<base64 Ed25519>"}`` of a device that holds a registered key. The
topic's MN names the device; a frame naming another MN is refused (``mn-mismatch``).

Messages are queued as they arrive and handled in batches of up to ``max_batch`` frames, one
write transaction each, in a worker thread, so a burst costs one commit per batch rather than
per frame. The subscription is QoS 1 on a persistent session (``clean_session=False``) under a
client id stable across restarts (``CateringConfig.mqtt_client_id``, default
``evidence-catering-<host name>``), so frames published while the service restarts wait in the
broker. Several replicas share one subscription (``$share/evidence-catering/…``): the broker
hands each frame to one of them, never to all. The subscriber reconnects with a growing pause
(1 s up to 30 s) when the broker goes away.

What is not covered: a frame the broker handed over that was still in this process's queue
when the process died is lost (QoS 1 is acknowledged on receipt); the queue holds at most a
batch's worth while the database keeps up.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from datetime import UTC, datetime

import aiomqtt
import anyio

from evidence_service.modules.catering.frames import Incoming
from evidence_service.modules.catering.state import CateringState

log = logging.getLogger(__name__)

QUEUE_FRAMES = 50_000  # bounded: a stalled database slows the subscriber, not memory
MAX_MN = 27


SHARE_GROUP = "evidence-catering"


def topics(prefix: str) -> tuple[str, str]:
    return (f"{prefix}/+/hj212", f"{prefix}/+/hj212s")


def client_id(configured: str | None) -> str:
    return configured or f"evidence-catering-{socket.gethostname()}"[:64]


def incoming(prefix: str, topic: str, payload: bytes, at: datetime) -> Incoming:
    """The frame a message carries, with the MN its topic names (None: not our topic form)."""
    parts = topic.split("/")
    if (
        len(parts) == 3
        and parts[0] == prefix
        and parts[2] in ("hj212", "hj212s")
        and 0 < len(parts[1]) <= MAX_MN
    ):
        return Incoming(payload, at, enveloped=parts[2] == "hj212s", topic_mn=parts[1])
    return Incoming(payload, at, enveloped=False, topic_mn=None)


async def subscribe(state: CateringState) -> None:
    """Receive frames until cancelled, reconnecting when the broker is away."""
    config = state.config
    assert config.mqtt_host is not None
    queue: asyncio.Queue[Incoming] = asyncio.Queue(QUEUE_FRAMES)
    consumer = asyncio.create_task(_consume(state, queue), name="catering-frames")
    pause = 1.0
    identifier = client_id(config.mqtt_client_id)
    try:
        while True:
            try:
                async with aiomqtt.Client(
                    config.mqtt_host,
                    config.mqtt_port,
                    identifier=identifier,
                    clean_session=not config.mqtt_persistent,
                ) as client:
                    for topic in topics(config.mqtt_topic_prefix):
                        await client.subscribe(f"$share/{SHARE_GROUP}/{topic}", qos=1)
                    state.mqtt_connected, pause = True, 1.0
                    log.info(
                        "catering: subscribed to %s", ", ".join(topics(config.mqtt_topic_prefix))
                    )
                    async for message in client.messages:
                        payload = message.payload
                        if not isinstance(payload, bytes | bytearray):
                            payload = str(payload or "").encode()
                        await queue.put(
                            incoming(
                                config.mqtt_topic_prefix,
                                message.topic.value,
                                bytes(payload),
                                datetime.now(UTC),
                            )
                        )
            except aiomqtt.MqttError as exc:
                state.mqtt_connected = False
                log.warning(
                    "catering: MQTT broker unavailable (%s); retrying in %.0f s", exc, pause
                )
                await asyncio.sleep(pause)
                pause = min(pause * 2, 30.0)
    finally:
        state.mqtt_connected = False
        consumer.cancel()


async def _consume(state: CateringState, queue: asyncio.Queue[Incoming]) -> None:
    """Hand queued frames to the sink in batches, in arrival order."""
    while True:
        batch = [await queue.get()]
        while len(batch) < state.config.max_batch and not queue.empty():
            batch.append(queue.get_nowait())
        try:
            await anyio.to_thread.run_sync(state.sink.handle, batch)
        except Exception:  # the sink already retried frame by frame; keep receiving
            log.exception("catering: a batch of %d frames could not be stored", len(batch))
