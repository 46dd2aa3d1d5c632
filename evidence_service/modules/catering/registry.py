"""The restaurant register (一户一档) and its monitoring devices, read from CSV text or JSON rows.

A district uploads its whole register at once, so every row is checked before any is accepted:
the caller gets a tuple of frozen rows, or :class:`RegistryError` carrying every
:class:`~evidence_service.modules.kit.rows.RowError` found. The reading rules are the kit's
(:mod:`evidence_service.modules.kit.rows`): a header row for CSV or an array of objects for JSON,
unknown columns refused, text trimmed and free of control characters, every size bounded by
:class:`~evidence_service.modules.kit.rows.RowLimits`, errors collected per row and field up to
``max_errors``, a key listed twice an error on the later row. Pure: text or JSON in, values out.

Restaurant columns (key: ``credit_code``):

=================== ========= ==============================================================
column              required  rule
=================== ========= ==============================================================
credit_code         yes       GB 32100 统一社会信用代码, both check characters verified
name                yes       text of at most 200 characters
licence_no          no        食品经营许可证 number, text of at most 64 characters
address             no        text of at most 300 characters
longitude           no        decimal degrees inside the China box; both or neither
latitude            no        (as longitude); the datum is the uploader's, not converted
burners             yes       基准灶头数, a number ≥ 1 (fractions allowed); gives ``size_class``
                              by GB 18483 Table 1 (:func:`.limits.size_class`)
seats               no        a whole number ≥ 0
purifier_model      no        text of at most 120 characters
purifier_efficiency no        the purifier's removal efficiency, a percentage 0–100
department_id       yes       the core department in charge, text of at most 64 characters
licensed_on         no        the licence date, ``YYYY-MM-DD``
=================== ========= ==============================================================

Device columns (key: ``mn``):

============ ========= ====================================================================
column       required  rule
============ ========= ====================================================================
mn           yes       HJ 212 MN: 1–24 ASCII letters, digits, ``_`` or ``-``
credit_code  yes       the restaurant's credit code (GB 32100, checked as above)
kind         yes       ``oil_fume``, ``grease_trap`` or ``gas``
password     yes       HJ 212 PW: 1–6 printable ASCII characters, none of ``; = , &``
crc          no        the device's CRC variant: ``hj212`` (the default) or ``modbus``
public_key   no        base64 of a 32-byte Ed25519 public key (44 characters with padding);
                       kept re-encoded, so one key has one spelling
============ ========= ====================================================================

HJ 212-2017 gives MN 27 and PW 9 characters *counting the* ``MN=`` / ``PW=`` (so do the frame
parser's ``hj212.FIELD_LENGTHS``); a longer value could never arrive in a frame, so it is refused
here. A password's surrounding spaces are trimmed like any cell. That a device's restaurant is on
the register is the caller's check: the two lists are uploaded separately.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal, TypeVar, get_args

from evidence_service.modules.catering.limits import LimitsError, SizeClass, size_class
from evidence_service.modules.kit.rows import (
    BadValue,
    Build,
    Collector,
    Record,
    RowError,
    RowLimits,
    RowsError,
    Table,
    both_or_neither,
    choice,
    coordinate,
    credit_code,
    csv_records,
    fields,
    integer,
    iso_date,
    json_records,
    number,
    optional,
    read_rows,
    text,
    text_up_to,
)

__all__ = [
    "CRC_NAMES",
    "DEFAULT_LIMITS",
    "DEVICE_COLUMNS",
    "DEVICE_KINDS",
    "RESTAURANT_COLUMNS",
    "Device",
    "RegistryError",
    "Restaurant",
    "RowError",
    "RowLimits",
    "RowsError",
    "devices_from_csv",
    "devices_from_json",
    "restaurants_from_csv",
    "restaurants_from_json",
]

DeviceKind = Literal["oil_fume", "grease_trap", "gas"]
CrcName = Literal["hj212", "modbus"]
DEVICE_KINDS: tuple[str, ...] = get_args(DeviceKind)
CRC_NAMES: tuple[str, ...] = get_args(CrcName)
RESTAURANT_COLUMNS = (
    "credit_code",
    "name",
    "licence_no",
    "address",
    "longitude",
    "latitude",
    "burners",
    "seats",
    "purifier_model",
    "purifier_efficiency",
    "department_id",
    "licensed_on",
)
DEVICE_COLUMNS = ("mn", "credit_code", "kind", "password", "crc", "public_key")
MAX_MN_CHARS = 24  # HJ 212-2017: "MN=" + 24 = 27
MAX_PASSWORD_CHARS = 6  # HJ 212-2017: "PW=" + 6 = 9
# Text bounds: the columns of the catering_restaurant table (models.py) hold these.
MAX_NAME_CHARS = 200
MAX_LICENCE_CHARS = 64
MAX_ADDRESS_CHARS = 300
MAX_PURIFIER_MODEL_CHARS = 120
MAX_DEPARTMENT_CHARS = 64
PUBLIC_KEY_BYTES = 32  # Ed25519, RFC 8032 §5.1.5
DEFAULT_LIMITS = RowLimits()
_MN = re.compile(r"[A-Za-z0-9_-]+")  # ASCII ranges only
_PASSWORD_REFUSED = frozenset(";=,&")  # HJ 212 separators: ; fields, = pairs, , and & in CP
_RESTAURANTS = Table(
    RESTAURANT_COLUMNS,
    optional=frozenset(
        {
            "licence_no",
            "address",
            "longitude",
            "latitude",
            "seats",
            "purifier_model",
            "purifier_efficiency",
            "licensed_on",
        }
    ),
)
_DEVICES = Table(DEVICE_COLUMNS, optional=frozenset({"crc", "public_key"}))

Row = TypeVar("Row")


@dataclass(frozen=True)
class Restaurant:
    credit_code: str
    name: str
    burners: float  # 基准灶头数
    size_class: SizeClass  # GB 18483 Table 1, from burners
    department_id: str
    licence_no: str | None = None
    address: str | None = None
    longitude: float | None = None
    latitude: float | None = None
    seats: int | None = None
    purifier_model: str | None = None
    purifier_efficiency: float | None = None  # percent
    licensed_on: date | None = None


@dataclass(frozen=True)
class Device:
    mn: str
    credit_code: str
    kind: DeviceKind
    password: str
    crc: CrcName = "hj212"
    public_key: str | None = None  # canonical base64 of the 32 raw bytes, Ed25519


class RegistryError(RowsError):
    """The upload was refused; ``errors`` lists why, in row order."""


def restaurants_from_csv(
    text: str | Iterable[str], limits: RowLimits = DEFAULT_LIMITS
) -> tuple[Restaurant, ...]:
    """Read the restaurant register from CSV with a header row (a UTF-8 BOM is ignored)."""
    return _read(csv_records(text, _RESTAURANTS), _restaurant, _RESTAURANT_KEYS, limits)


def restaurants_from_json(
    rows: object, limits: RowLimits = DEFAULT_LIMITS
) -> tuple[Restaurant, ...]:
    """Read the restaurant register from a JSON array of objects keyed by column."""
    return _read(json_records(rows, _RESTAURANTS), _restaurant, _RESTAURANT_KEYS, limits)


def devices_from_csv(
    text: str | Iterable[str], limits: RowLimits = DEFAULT_LIMITS
) -> tuple[Device, ...]:
    """Read the device list from CSV with a header row (a UTF-8 BOM is ignored)."""
    return _read(csv_records(text, _DEVICES), _device, _DEVICE_KEYS, limits)


def devices_from_json(rows: object, limits: RowLimits = DEFAULT_LIMITS) -> tuple[Device, ...]:
    """Read the device list from a JSON array of objects keyed by column."""
    return _read(json_records(rows, _DEVICES), _device, _DEVICE_KEYS, limits)


def _read(
    records: Iterator[Record],
    build: Build[Row],
    keys: Mapping[str, Callable[[Row], str]],
    limits: RowLimits,
) -> tuple[Row, ...]:
    return read_rows(records, build, keys, limits, error=RegistryError)


def _restaurant(
    values: Mapping[str, object], limits: RowLimits, collected: Collector, row: int
) -> Restaurant | None:
    parsed = fields(
        values,
        {
            "credit_code": credit_code,
            "name": text_up_to(MAX_NAME_CHARS),
            "licence_no": optional(text_up_to(MAX_LICENCE_CHARS)),
            "address": optional(text_up_to(MAX_ADDRESS_CHARS)),
            "longitude": coordinate(limits.longitude),
            "latitude": coordinate(limits.latitude),
            "burners": _burners,
            "seats": optional(integer(0)),
            "purifier_model": optional(text_up_to(MAX_PURIFIER_MODEL_CHARS)),
            "purifier_efficiency": optional(number(0, 100)),
            "department_id": text_up_to(MAX_DEPARTMENT_CHARS),
            "licensed_on": optional(iso_date),
        },
        _RESTAURANTS,
        limits,
        collected,
        row,
    )
    if parsed is None or not both_or_neither(parsed, "longitude", "latitude", collected, row):
        return None
    burners, size = parsed.pop("burners")
    return Restaurant(burners=burners, size_class=size, **parsed)


def _device(
    values: Mapping[str, object], limits: RowLimits, collected: Collector, row: int
) -> Device | None:
    parsed = fields(
        values,
        {
            "mn": _mn,
            "credit_code": credit_code,
            "kind": choice(DEVICE_KINDS),
            "password": _password,
            "crc": optional(choice(CRC_NAMES), default="hj212"),
            "public_key": optional(_public_key),
        },
        _DEVICES,
        limits,
        collected,
        row,
    )
    return None if parsed is None else Device(**parsed)


_RESTAURANT_KEYS: Mapping[str, Callable[[Restaurant], str]] = {
    "credit_code": lambda r: r.credit_code
}
_DEVICE_KEYS: Mapping[str, Callable[[Device], str]] = {"mn": lambda d: d.mn}


_burner_count = number(1)


def _burners(value: object, limits: RowLimits) -> tuple[float, SizeClass]:
    burners = _burner_count(value, limits)
    try:
        return burners, size_class(burners)
    except LimitsError as exc:  # pragma: no cover - number(1) refuses it first
        raise BadValue(str(exc)) from exc


def _mn(value: object, limits: RowLimits) -> str:
    mn = text(value, limits, MAX_MN_CHARS)
    if not _MN.fullmatch(mn):
        raise BadValue(f"{mn!r} may hold only ASCII letters, digits, '_' and '-'")
    return mn


def _password(value: object, limits: RowLimits) -> str:
    password = text(value, limits, MAX_PASSWORD_CHARS)
    if not all(" " <= c <= "~" for c in password):
        raise BadValue("must be printable ASCII")
    if refused := sorted(_PASSWORD_REFUSED.intersection(password)):
        raise BadValue(f"may not contain {', '.join(map(repr, refused))} (HJ 212 separators)")
    return password


def _public_key(value: object, limits: RowLimits) -> str:
    """Re-encoded, so one key has one spelling (base64 may vary in its unused last bits)."""
    written = text(value, limits)
    try:
        key = base64.b64decode(written, validate=True)
    except (binascii.Error, ValueError):
        raise BadValue("is not base64") from None
    if len(key) != PUBLIC_KEY_BYTES:
        raise BadValue(
            f"is {len(key)} bytes, an Ed25519 public key is {PUBLIC_KEY_BYTES} (base64 of 44 "
            "characters)"
        )
    return base64.b64encode(key).decode("ascii")
