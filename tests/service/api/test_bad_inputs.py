"""Bad input answers a clear 4xx problem, never a 500, and writes nothing.

Giant numbers (in Range headers, path and query parameters, JSON bodies), times whose UTC
instant falls outside the years 0001-9999, control characters in path and query parameters,
and a stored department whose seal cannot be drawn. Run on both backends: PostgreSQL refuses a
NUL in any text it is asked to compare, SQLite any integer past 64 bits.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest
from sqlmodel import Session

from evidence_service.access.models import Department, DepartmentKind
from evidence_service.core.ids import new_id
from tests import samples
from tests.fixtures.service import Api
from tests.service.helpers import assert_nothing_written, assert_problem, counts, upload

DIGITS = "9" * 5000  # past Python's 4300-digit int() limit
#: Valid RFC 3339 texts naming no instant: UTC before year 1, or after year 9999.
UNDERFLOW = "0001-01-01T00:00:00+23:59"
OVERFLOW = "9999-12-31T23:59:59-23:59"
#: A cursor as this service encodes them, its time underflowing.
BAD_TIME_CURSOR = "WyItcmVjZWl2ZWRfYXQiLCAiMDAwMS0wMS0wMVQwMDowMDowMCsyMzo1OSIsICJ4Il0"


# --- Range ----------------------------------------------------------------------------------


def test_range_positions_of_thousands_of_digits(api: Api) -> None:
    data = samples.mp4(10_000)
    item = upload(api, "audiovisual", data).json()["id"]
    url = f"/api/v1/evidence/{item}/content"

    def fetch(spec: str) -> httpx.Response:
        return api.client.get(url, headers={**api.auth(), "Range": spec})

    past_end = fetch(f"bytes={DIGITS}-")
    assert_problem(past_end, 416, "range-not-satisfiable")
    assert past_end.headers["content-range"] == f"bytes */{len(data)}"
    assert_problem(fetch(f"bytes={DIGITS}-{DIGITS}"), 416, "range-not-satisfiable")
    for spec, start in [(f"bytes=0-{DIGITS}", 0), (f"bytes=-{DIGITS}", 0), ("bytes=10-", 10)]:
        whole = fetch(spec)
        assert whole.status_code == 206, spec
        assert whole.content == data[start:]
        assert whole.headers["content-range"] == f"bytes {start}-{len(data) - 1}/{len(data)}"
    leading_zeros = fetch("bytes=" + "0" * 5000 + "1-" + "0" * 5000 + "3")
    assert leading_zeros.status_code == 206
    assert leading_zeros.content == data[1:4]


def test_derived_files_ignore_range(api: Api) -> None:
    item = upload(api, "physical", samples.png()).json()
    derived = {d["role"]: d for d in item["derived"]}
    assert "thumbnail" in derived
    response = api.client.get(
        f"/api/v1/evidence/{item['id']}/derived/thumbnail",
        headers={**api.auth(), "Range": f"bytes={DIGITS}-"},
    )
    assert response.status_code == 200
    assert len(response.content) == derived["thumbnail"]["size"]
    assert "content-range" not in response.headers


def test_empty_file_with_a_suffix_range_is_sent_whole(api: Api) -> None:
    """RFC 9110 §14.1.2: a non-zero suffix is the one satisfiable range of an empty file, and
    no ``Content-Range`` can name it, so the empty file is answered whole (200)."""
    item = upload(api, "electronic", b"").json()
    assert item["size"] == 0
    url = f"/api/v1/evidence/{item['id']}/content"
    for spec in ("bytes=-5", f"bytes=-{DIGITS}"):
        response = api.client.get(url, headers={**api.auth(), "Range": spec})
        assert response.status_code == 200, spec
        assert response.content == b""
        assert response.headers["content-length"] == "0"
        assert "content-range" not in response.headers
    for spec in ("bytes=0-", "bytes=0-0", "bytes=-0"):
        refused = api.client.get(url, headers={**api.auth(), "Range": spec})
        assert_problem(refused, 416, "range-not-satisfiable")
        assert refused.headers["content-range"] == "bytes */0"


# --- times ----------------------------------------------------------------------------------


@pytest.mark.parametrize("captured_at", [UNDERFLOW, OVERFLOW])
def test_capture_times_outside_the_calendar_are_bad_metadata(api: Api, captured_at: str) -> None:
    metadata = {"title": "t", "captured_at": captured_at}
    refused = upload(api, "documentary", samples.pdf(), metadata=metadata)
    body = assert_problem(refused, 422, "bad-metadata")
    assert body["errors"][0]["loc"] == "captured_at"
    assert_nothing_written(api)
    assert_problem(
        api.client.post(
            "/api/v1/uploads",
            json={"port": "documentary", "metadata": metadata},
            headers=api.auth(),
        ),
        422,
        "bad-metadata",
    )
    prepared = api.client.post(
        "/api/v1/evidence/prepare",
        json={
            "port": "documentary",
            "metadata": json.dumps(metadata),
            "sha256": "0" * 64,
            "sm3": "0" * 64,
            "size": 1,
            "media_type": "application/pdf",
        },
        headers=api.auth(),
    )
    assert_problem(prepared, 422, "bad-metadata")
    assert_nothing_written(api)


def test_capture_metadata_text_and_numbers_are_bounded(api: Api) -> None:
    """The metadata form field is JSON the service parses itself: bounded like a body."""

    def capture(metadata_text: str) -> httpx.Response:
        return api.client.post(
            "/api/v1/evidence",
            data={"port": "documentary", "metadata": metadata_text},
            files={"file": ("a.pdf", samples.pdf(), "application/pdf")},
            headers=api.auth(),
        )

    for text in (
        '{"title": "a\\u0000b"}',
        '{"title": "t", "description": "\\u202e"}',
        '{"title": "t", "tags": [{"type": "free", "value": "\\u001b[2J"}]}',
        '{"title": "t", "location": {"address": "\\u0000"}}',
    ):
        assert_problem(capture(text), 422, "unsafe-text")
    for text in (
        '{"title": "t", "location": {"lat": ' + DIGITS + "}}",
        '{"title": "t", "location": {"lat": NaN}}',
        '{"title": "t", "captured_at": 253402300800}',  # seconds or milliseconds?
        '{"title": "t", "captured_at": true}',
    ):
        assert_problem(capture(text), 422, "bad-metadata")
    assert_nothing_written(api)


def test_capture_time_in_year_one_is_written_with_four_digits(api: Api) -> None:
    metadata = {"title": "t", "captured_at": "0001-01-01T23:59:00+23:59"}
    item = upload(api, "documentary", samples.pdf(), metadata=metadata).json()
    assert item["captured_at"] == "0001-01-01T00:00:00Z"
    assert item["statement"]["captured_at"] == "0001-01-01T00:00:00Z"


def test_list_time_filters_outside_the_calendar_are_refused(api: Api) -> None:
    upload(api, "documentary", samples.pdf())
    for name in ("received_from", "received_to", "captured_from", "captured_to"):
        for value in (UNDERFLOW, OVERFLOW, "2026-01-01T00:00:00"):  # the last has no zone
            response = api.client.get("/api/v1/evidence", params={name: value}, headers=api.auth())
            body = assert_problem(response, 400, "bad-request")
            assert body["detail"].startswith(f"{name}: "), body
        earliest = api.client.get(
            "/api/v1/evidence", params={name: "0001-01-01T00:00:00Z"}, headers=api.auth()
        )
        assert earliest.status_code == 200, earliest.text
    for listing in ("/api/v1/evidence", "/api/v1/cases", "/api/v1/places"):
        assert_problem(
            api.client.get(listing, params={"cursor": BAD_TIME_CURSOR}, headers=api.auth()),
            400,
            "bad-request",
        )


# --- integers -------------------------------------------------------------------------------


def test_batch_ids_beyond_64_bits_are_refused(api: Api) -> None:
    for batch_id in (DIGITS, "9223372036854775808", "99999999999999999999", "0", "-1"):
        assert_problem(
            api.client.get(f"/api/v1/batches/{batch_id}", headers=api.auth()),
            422,
            "invalid-request",
        )
    assert_problem(
        api.client.get("/api/v1/batches/9223372036854775807", headers=api.auth()),
        404,
        "not-found",
    )


def test_giant_integers_in_queries_and_bodies(api: Api) -> None:
    for listing in ("/api/v1/evidence", "/api/v1/cases", "/api/v1/places"):
        for limit in (DIGITS, "-" + DIGITS, "9223372036854775808"):
            assert_problem(
                api.client.get(listing, params={"limit": limit}, headers=api.auth()),
                422,
                "invalid-request",
            )
    huge = int("9" * 400)  # the longest number the JSON reader takes
    before = counts(api)
    declared = api.client.post(
        "/api/v1/uploads",
        json={"port": "documentary", "metadata": {"title": "t"}, "total_size": huge},
        headers=api.auth(),
    )
    assert 400 <= declared.status_code < 500, declared.text
    prepared = api.client.post(
        "/api/v1/evidence/prepare",
        json={
            "port": "documentary",
            "metadata": '{"title": "t"}',
            "sha256": "0" * 64,
            "sm3": "0" * 64,
            "size": huge,
            "media_type": "application/pdf",
        },
        headers=api.auth(),
    )
    assert 400 <= prepared.status_code < 500, prepared.text
    assert counts(api) == before
    session = api.client.post(
        "/api/v1/uploads",
        json={"port": "documentary", "metadata": {"title": "t"}},
        headers=api.auth(),
    ).json()
    for offset in (DIGITS, "9223372036854775808", "-1"):
        response = api.client.patch(
            f"/api/v1/uploads/{session['id']}",
            content=b"%PDF-",
            headers={
                **api.auth(),
                "Upload-Offset": offset,
                "Content-Type": "application/offset+octet-stream",
            },
        )
        assert 400 <= response.status_code < 500, response.text
    state = api.client.get(f"/api/v1/uploads/{session['id']}", headers=api.auth()).json()
    assert state["offset"] == 0


# --- text in paths and queries --------------------------------------------------------------


def test_control_characters_in_path_parameters_are_refused(api: Api) -> None:
    item = upload(api, "documentary", samples.pdf()).json()["id"]
    before = counts(api)
    officer, admin = api.auth(), api.auth("admin")
    calls = [
        ("GET", "/api/v1/evidence/a%00b", officer),
        ("GET", "/api/v1/evidence/%00/content", officer),
        ("GET", f"/api/v1/evidence/{item}/derived/%00", officer),
        ("GET", "/api/v1/uploads/%00", officer),
        ("HEAD", "/api/v1/uploads/%00", officer),
        ("DELETE", "/api/v1/uploads/%00", officer),
        ("POST", "/api/v1/uploads/%00/complete", officer),
        ("GET", "/api/v1/places/%00", officer),
        ("GET", "/api/v1/cases/%00", officer),
        ("GET", "/api/v1/parties/%1b", officer),
        ("DELETE", f"/api/v1/evidence/{item}/parties/%00", officer),
        ("PUT", "/api/v1/evidence/%00/legal-hold", admin),
        ("DELETE", "/api/v1/evidence/%E2%80%AE", admin),  # U+202E, right-to-left override
        ("GET", "/api/v1/departments/%00/seal.png", {}),  # public: refused anonymously too
    ]
    for method, url, headers in calls:
        kwargs = {"json": {"reason": "court order"}} if method == "PUT" else {}
        response = api.client.request(method, url, headers=headers, **kwargs)
        if method == "HEAD":
            assert response.status_code == 422, url
            continue
        assert_problem(response, 422, "unsafe-text")
    assert counts(api) == before


def test_control_characters_in_query_parameters_are_refused(api: Api) -> None:
    item = upload(api, "documentary", samples.pdf()).json()["id"]
    before = counts(api)
    for listing, names in [
        (
            "/api/v1/evidence",
            ("q", "tag_value", "officer_id", "department_id", "case_id", "party_id", "port"),
        ),
        ("/api/v1/places", ("q",)),
        ("/api/v1/cases", ("q", "cause_code")),
    ]:
        for name in names:
            extra = {"tag_type": "free"} if name == "tag_value" else {}
            response = api.client.get(listing, params={name: "a\x00b", **extra}, headers=api.auth())
            body = assert_problem(response, 422, "unsafe-text")
            assert body["loc"] == f"query.{name}"
    untag = api.client.delete(
        f"/api/v1/evidence/{item}/tags",
        params={"type": "free", "value": "\x00"},
        headers=api.auth(),
    )
    assert_problem(untag, 422, "unsafe-text")
    assert counts(api) == before


# --- seals ----------------------------------------------------------------------------------


def test_a_stored_department_whose_seal_cannot_be_drawn_is_a_409(api: Api) -> None:
    """Departments are checked when created now; one stored before keeps answering 409."""
    department_id = new_id()
    with Session(api.services.engine) as session:
        session.add(
            Department(
                id=department_id,
                name="\U00013000 部门",  # an Egyptian hieroglyph: no glyph in the seal font
                kind=DepartmentKind.inspection,
                code="OLD-1",
                created_at=datetime.now(UTC),
            )
        )
        session.commit()
    for _ in range(2):  # and again: nothing half-cached
        response = api.client.get(f"/api/v1/departments/{department_id}/seal.png")
        body = assert_problem(response, 409, "undrawable-seal")
        assert department_id in body["detail"]
    drawable = api.departments[0]["id"]
    image = api.client.get(f"/api/v1/departments/{drawable}/seal.png")
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
