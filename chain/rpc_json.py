"""The Ethereum JSON-RPC wire format, as a geth node writes and strictly reads it.

Encoding: hex quantities without leading zeros, 0x-hex data, 32-byte words, 256-byte blooms.
Parsing: params are checked strictly; anything malformed raises :class:`InvalidRequestError`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from eth_typing import Address, Hash32

from chain.errors import InvalidRequestError

__all__ = [
    "Json",
    "encode_address_or_null",
    "encode_bloom",
    "encode_data",
    "encode_quantity",
    "encode_word",
    "parse_address",
    "parse_addresses",
    "parse_arguments",
    "parse_bool",
    "parse_data",
    "parse_hash",
    "parse_quantity",
    "parse_topics",
]

Json = Any  # what json.dumps accepts: dict / list / str / bool / None

_QUANTITY = re.compile(r"0x(0|[1-9a-fA-F][0-9a-fA-F]{0,63})")
_DATA = re.compile(r"0x(?:[0-9a-fA-F]{2})*")


# --- encoding -------------------------------------------------------------------------------


def encode_quantity(value: int) -> str:
    return hex(value)


def encode_data(value: bytes) -> str:
    return "0x" + value.hex()


def encode_address_or_null(value: bytes) -> str | None:
    return encode_data(value) if value else None


def encode_word(value: int) -> str:
    return encode_data(value.to_bytes(32, "big"))


def encode_bloom(value: int) -> str:
    return encode_data(value.to_bytes(256, "big"))


# --- parsing --------------------------------------------------------------------------------


def parse_quantity(value: object, what: str) -> int:
    if not isinstance(value, str) or _QUANTITY.fullmatch(value) is None:
        raise InvalidRequestError(f"{what} must be a hex quantity like 0x1a, got {value!r:.80}")
    return int(value, 16)


def parse_data(value: object, what: str, *, size: int | None = None, limit: int = 0) -> bytes:
    if not isinstance(value, str) or _DATA.fullmatch(value) is None:
        raise InvalidRequestError(f"{what} must be 0x-prefixed hex bytes, got {value!r:.80}")
    raw = bytes.fromhex(value[2:])
    if size is not None and len(raw) != size:
        raise InvalidRequestError(f"{what} must be {size} bytes, got {len(raw)}")
    if limit and len(raw) > limit:
        raise InvalidRequestError(f"{what} is {len(raw)} bytes, more than the limit of {limit}")
    return raw


def parse_address(value: object, what: str) -> Address:
    return Address(parse_data(value, what, size=20))


def parse_hash(value: object, what: str) -> Hash32:
    return Hash32(parse_data(value, what, size=32))


def parse_bool(value: object, what: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidRequestError(f"{what} must be true or false, got {value!r:.80}")
    return value


def parse_arguments(params: Sequence[Json], required: int, optional: int) -> list[Json]:
    if len(params) < required or len(params) > required + optional:
        expected = str(required) if not optional else f"{required} to {required + optional}"
        raise InvalidRequestError(f"expected {expected} params, got {len(params)}")
    return list(params) + [None] * (required + optional - len(params))


def parse_topics(value: object) -> list[list[bytes] | None]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > 4:
        raise InvalidRequestError("topics must be an array of at most 4 entries")
    topics: list[list[bytes] | None] = []
    for position, entry in enumerate(value):
        what = f"topics[{position}]"
        if entry is None or entry == []:
            topics.append(None)
        elif isinstance(entry, list):
            topics.append([parse_hash(item, what) for item in entry])
        else:
            topics.append([parse_hash(entry, what)])
    return topics


def parse_addresses(value: object) -> list[bytes] | None:
    if value is None:
        return None
    if isinstance(value, list):
        return [parse_address(item, "address") for item in value]
    return [parse_address(value, "address")]
