"""电子数据 electronic data: any file, with IoT reading batches validated.

Every upload is accepted and typed by its magic (``application/octet-stream`` if unknown). A JSON
object with a ``readings`` key, or a CSV whose header names ``device_id`` and ``ts``, is an IoT
reading batch: it must pass validation (else :class:`BadContentError` naming the first bad
reading) and its summary is recorded as ``iot_batch``. Only JSON and CSV candidates are buffered,
and only up to ``IOT_BATCH_MAX_BYTES``; larger ones are accepted unvalidated, noted as
``{"iot_batch": null, "reason": "too large to validate"}``.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from evidence_service.capture.ports import sniff
from evidence_service.capture.ports.base import Extraction, Inspection
from evidence_service.capture.ports.iot_batch import (
    csv_header_looks_like_batch,
    looks_like_json_batch,
    summarise_csv_batch,
    summarise_json_batch,
)
from evidence_service.capture.ports.json_documents import load_json
from evidence_service.capture.ports.limits import IOT_BATCH_MAX_BYTES
from evidence_service.capture.ports.streaming import BoundedSpool, HeadSniffer
from evidence_service.core.errors import BadContentError
from signing.jcs import check_depth

#: Captured files are sniffed for IoT batches; anything nested deeper is just bytes.
CAPTURED_JSON_DEPTH = 64

UNKNOWN_MEDIA_TYPE = "application/octet-stream"
TOO_LARGE = {"iot_batch": None, "reason": "too large to validate"}

_JSON_CANDIDATE = "json"
_CSV_CANDIDATE = "csv"


class ElectronicInspection:
    def __init__(self) -> None:
        self._head = HeadSniffer()
        self._spool = BoundedSpool(IOT_BATCH_MAX_BYTES, what="the IoT batch", drop_when_full=True)
        self._candidate: str | None = None

    def feed(self, chunk: bytes) -> None:
        if self._head.feed(chunk):
            self._classify()
        self._spool.write(chunk)

    def finish(self) -> Extraction:
        try:
            self._head.close()
            self._classify()
            media_type = self._head.media_type or UNKNOWN_MEDIA_TYPE
            return Extraction(*self._batch_facts(media_type))
        finally:
            self._spool.close()

    def _classify(self) -> None:
        """Keep buffering only if the head shows a possible IoT batch."""
        if self._candidate is not None:
            return
        media_type = self._head.media_type
        if media_type == sniff.JSON:
            self._candidate = _JSON_CANDIDATE
        elif media_type in (sniff.CSV, sniff.TEXT) and csv_header_looks_like_batch(self._head.head):
            self._candidate = _CSV_CANDIDATE
        else:
            self._spool.close()  # not a batch: stop buffering

    def _batch_facts(self, media_type: str) -> tuple[str, dict[str, Any]]:
        spool = self._spool
        if self._candidate is None:
            return media_type, {}
        if spool.overflowed:
            return media_type, dict(TOO_LARGE)
        if self._candidate == _CSV_CANDIDATE:
            return sniff.CSV, {"iot_batch": summarise_csv_batch(spool.rewound())}
        try:
            document = load_json(spool.rewound())
        except BadContentError:
            if looks_like_json_batch(_parse_leniently(spool.rewound().read())):
                raise  # a batch with duplicate keys or NaN: say why it is bad
            return media_type, {"json_valid": False}
        if looks_like_json_batch(document):
            return media_type, {"iot_batch": summarise_json_batch(document)}
        return media_type, {}


def _parse_leniently(raw: bytes) -> Any:
    try:
        check_depth(raw, CAPTURED_JSON_DEPTH)
        return json.loads(raw.decode("utf-8-sig"))
    except (ValueError, RecursionError):  # TooDeepError and UnicodeDecodeError included
        return None


class ElectronicPort:
    """Any bytes; IoT reading batches (JSON or CSV) validated and summarised.

    Fields: ``iot_batch`` ``{"format", "device_id" (JSON) | "device_ids" (CSV), "count",
    "first_ts", "last_ts", "metrics"}`` for a valid batch; ``{"iot_batch": null, "reason":
    "too large to validate"}`` for a batch candidate over 16 MiB; ``json_valid: false`` for
    malformed JSON that is not a batch; nothing for other files.
    """

    id: ClassVar[str] = "electronic"
    label: ClassVar[str] = "电子数据 electronic data"
    max_size: ClassVar[int | None] = None

    def inspect(self) -> Inspection:
        return ElectronicInspection()
