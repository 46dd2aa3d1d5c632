"""Reading: metadata, byte ranges, lists with filters and cursors, custody verification."""

from __future__ import annotations

from sqlalchemy import text

from evidence_service.custody.models import CustodyEvent
from evidence_service.custody.sequencer import integrate_pending
from tests import samples
from tests.fixtures.service import Api
from tests.service.helpers import assert_problem, upload


def test_ranges(api: Api) -> None:
    data = samples.mp4(100_000)
    evidence_id = upload(api, "audiovisual", data).json()["id"]
    url = f"/api/v1/evidence/{evidence_id}/content"
    for header, expected, content_range in [
        ("bytes=0-0", data[:1], f"bytes 0-0/{len(data)}"),
        ("bytes=1000-1999", data[1000:2000], f"bytes 1000-1999/{len(data)}"),
        ("bytes=99990-", data[99990:], f"bytes 99990-99999/{len(data)}"),
        ("bytes=-10", data[-10:], f"bytes 99990-99999/{len(data)}"),
        ("bytes=99000-200000", data[99000:], f"bytes 99000-99999/{len(data)}"),
    ]:
        response = api.client.get(url, headers={**api.auth(), "Range": header})
        assert response.status_code == 206, header
        assert response.content == expected, header
        assert response.headers["content-range"] == content_range
    bad = api.client.get(url, headers={**api.auth(), "Range": "bytes=200000-"})
    assert bad.status_code == 416
    assert bad.headers["content-range"] == f"bytes */{len(data)}"
    custody = api.client.get(f"/api/v1/evidence/{evidence_id}/custody", headers=api.auth()).json()
    actions = [e["action"] for e in custody["events"]]
    assert actions == ["captured"] + ["downloaded"] * 5
    assert custody["events"][2]["details"]["range"] == "1000-1999"


def test_get_records_viewed_and_unknown_is_404(api: Api) -> None:
    evidence_id = upload(api, "documentary", samples.pdf()).json()["id"]
    body = api.client.get(f"/api/v1/evidence/{evidence_id}", headers=api.auth()).json()
    assert body["extracted"]["page_count"] == 3
    custody = api.client.get(f"/api/v1/evidence/{evidence_id}/custody", headers=api.auth()).json()
    assert [e["action"] for e in custody["events"]] == ["captured", "viewed"]
    assert_problem(api.client.get("/api/v1/evidence/01NOPE", headers=api.auth()), 404, "not-found")


def test_list_filters_and_cursor(api: Api) -> None:
    ids = [upload(api, "documentary", samples.pdf(pages=n)).json()["id"] for n in range(1, 6)]
    photo = upload(api, "physical", samples.png(), role="reviewer").json()["id"]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.client.get("/api/v1/evidence", params=params, headers=api.auth()).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [photo, *reversed(ids)]
    by_port = api.client.get("/api/v1/evidence", params={"port": "physical"}, headers=api.auth())
    assert [i["id"] for i in by_port.json()["items"]] == [photo]
    by_officer = api.client.get(
        "/api/v1/evidence", params={"officer_id": api.users["reviewer"]["id"]}, headers=api.auth()
    )
    assert [i["id"] for i in by_officer.json()["items"]] == [photo]
    future = api.client.get(
        "/api/v1/evidence", params={"received_from": "2999-01-01T00:00:00Z"}, headers=api.auth()
    )
    assert future.json()["items"] == []
    assert_problem(
        api.client.get("/api/v1/evidence", params={"cursor": "garbage!"}, headers=api.auth()),
        400,
        "bad-request",
    )


def test_custody_chain_verifies_and_detects_an_edited_row(api: Api) -> None:
    for _ in range(3):
        upload(api, "documentary", samples.pdf())
    ok = api.client.get("/api/v1/custody/verify", headers=api.auth("auditor")).json()
    # the three captures, and the officer's custodial certificate when it was issued for them
    assert ok["valid"] is True and ok["events"] in (3, 4)
    table = CustodyEvent.__tablename__
    with api.services.engine.begin() as conn:
        conn.execute(text(f"UPDATE {table} SET actor_id = 'forged' WHERE seq = 2"))
    broken = api.client.get("/api/v1/custody/verify", headers=api.auth("auditor")).json()
    assert broken["valid"] is False
    assert broken["broken_at_seq"] == 2
    assert broken["reason"] == "event content does not match its hash"


def test_custody_chain_detects_a_deleted_row(api: Api) -> None:
    for _ in range(3):
        upload(api, "documentary", samples.pdf())
    integrate_pending(api.services.engine)  # the events take their place in the chain
    with api.services.engine.begin() as conn:
        conn.execute(text(f"DELETE FROM {CustodyEvent.__tablename__} WHERE seq = 2"))
    broken = api.client.get("/api/v1/custody/verify", headers=api.auth("auditor")).json()
    assert broken["valid"] is False and broken["broken_at_seq"] == 2


def test_health(api: Api) -> None:
    response = api.client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    ready = api.client.get("/readyz").json()  # dependencies: tests/service/ops/test_health.py
    assert ready["checks"]["database"] == "ok" and ready["checks"]["object_store"] == "ok"


def test_docs_are_public(api: Api) -> None:
    assert api.client.get("/docs").status_code == 200
    spec = api.client.get("/openapi.json").json()
    assert "/api/v1/evidence" in spec["paths"] and "/api/v1/uploads/{upload_id}" in spec["paths"]
