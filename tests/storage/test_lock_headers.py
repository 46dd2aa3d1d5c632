"""Object-lock headers as MinIO, AWS and moto send them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from storage.errors import StorageError
from storage.lock_headers import LockState, lock_state_from_headers

UNTIL = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    "headers",
    [
        {  # moto: milliseconds, lower-case names
            "x-amz-object-lock-mode": "COMPLIANCE",
            "x-amz-object-lock-retain-until-date": "2030-01-02T03:04:05.000Z",
            "x-amz-object-lock-legal-hold": "ON",
        },
        {  # MinIO: canonical capitalisation, whole seconds
            "X-Amz-Object-Lock-Mode": "COMPLIANCE",
            "X-Amz-Object-Lock-Retain-Until-Date": "2030-01-02T03:04:05Z",
            "X-Amz-Object-Lock-Legal-Hold": "ON",
        },
        {  # nanoseconds and an explicit offset
            "X-AMZ-OBJECT-LOCK-MODE": "compliance",
            "x-amz-object-lock-retain-until-date": "2030-01-02T04:04:05.000000000+01:00",
            "x-amz-object-lock-legal-hold": "on",
        },
    ],
)
def test_locked_object(headers: dict[str, str]) -> None:
    assert lock_state_from_headers(headers) == LockState("COMPLIANCE", UNTIL, True)


def test_unlocked_object() -> None:
    state = lock_state_from_headers({"Content-Length": "5", "ETag": '"abc"'})
    assert state == LockState(None, None, False)
    assert not state.is_locked(UNTIL)


def test_hold_off() -> None:
    assert not lock_state_from_headers({"x-amz-object-lock-legal-hold": "OFF"}).legal_hold


def test_is_locked_until_the_date() -> None:
    state = LockState("COMPLIANCE", UNTIL, False)
    assert state.is_locked(datetime(2030, 1, 2, 3, 4, 4, tzinfo=UTC))
    assert not state.is_locked(UNTIL)


def test_malformed_date_is_an_error_not_unlocked() -> None:
    with pytest.raises(StorageError, match="retain-until"):
        lock_state_from_headers({"x-amz-object-lock-retain-until-date": "next tuesday"})
