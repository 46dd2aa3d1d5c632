"""Capture through POST /api/v1/evidence on (SQLite, local disk) and (PostgreSQL, MinIO)."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from evidence_service.capture.models import Evidence
from evidence_service.custody.models import CustodyEvent
from tests import samples
from tests.fixtures.service import Api
from tests.service.helpers import assert_problem, counts, sha256, sm3, stored_keys, upload

ACCEPTED = [
    ("physical", samples.jpeg_with_exif, "image/jpeg", "thumbnail"),
    ("documentary", samples.pdf, "application/pdf", None),
    ("audiovisual", samples.wav, "audio/wav", None),
    ("electronic", samples.iot_json, "application/json", None),
    ("site_survey", samples.diagram, "application/json", "rendering"),
    ("remote_video", samples.mp4, "video/mp4", None),
    ("inquiry_record", samples.inquiry, "application/json", "document"),
    ("onsite_record", samples.onsite, "application/json", "document"),
]


@pytest.mark.parametrize(("port", "make", "media_type", "derived_role"), ACCEPTED)
def test_each_port_accepts_a_realistic_sample(
    api: Api, port: str, make, media_type: str, derived_role: str | None
) -> None:
    data = make()
    response = upload(
        api,
        port,
        data,
        metadata={
            "title": f"{port} 样本",
            "captured_at": "2026-11-27T09:30:00+08:00",
            "location": {"lat": 30.27, "lon": 120.15, "address": "杭州市西湖区"},
            "tags": [{"type": "party", "value": "某餐饮有限公司"}],
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["sha256"] == sha256(data)
    assert body["sm3"] == sm3(data)
    assert body["size"] == len(data)
    assert body["media_type"].startswith(media_type)
    assert body["finalized"] is True
    assert body["captured_at"] == "2026-11-27T01:30:00Z"
    statement = body["statement"]
    assert statement["sha256"] == body["sha256"] and statement["evidence_id"] == body["id"]
    assert statement["officer_id"] == api.users["officer"]["id"]
    assert set(statement) == {
        "evidence_id",
        "port",
        "sha256",
        "sm3",
        "size",
        "media_type",
        "captured_at",
        "received_at",
        "officer_id",
        "department_id",
        "metadata_sha256",
    }
    roles = [d["role"] for d in body["derived"]]
    assert roles == ([derived_role] if derived_role else [])

    content = api.client.get(f"/api/v1/evidence/{body['id']}/content", headers=api.auth())
    assert content.status_code == 200
    assert content.content == data
    assert content.headers["x-content-sha256"] == sha256(data)

    if derived_role:
        derived = api.client.get(
            f"/api/v1/evidence/{body['id']}/derived/{derived_role}", headers=api.auth()
        )
        assert derived.status_code == 200 and derived.content
        assert sha256(derived.content) == body["derived"][0]["sha256"]

    info = api.services.store.stat(_object_key(api, body["id"]))
    assert info.size == len(data)
    assert info.retain_until is not None
    assert stored_keys(api) == sorted(
        [_object_key(api, body["id"])] + [f"{_object_key(api, body['id'])}.{r}" for r in roles]
    )


def _object_key(api: Api, evidence_id: str) -> str:
    with Session(api.services.engine) as session:
        row = session.get(Evidence, evidence_id)
        assert row is not None and row.finalized and row.temp_key is None
        return row.object_key


def test_photo_metadata_is_extracted(api: Api) -> None:
    body = upload(api, "physical", samples.jpeg_with_exif()).json()
    fields = body["extracted"]
    assert fields["width"] == 640 and fields["height"] == 480
    assert fields["make"] == "Huawei" and fields["model"] == "Mate 60"
    assert fields["gps"]["lat"] == pytest.approx(30.26, abs=1e-6)
    assert fields["gps"]["lon"] == pytest.approx(120.155, abs=1e-6)
    assert fields["exif_captured_at"].startswith("2026-11-27T09:30:15")


def test_inquiry_record_rendering_escapes_and_masks(api: Api) -> None:
    body = upload(api, "inquiry_record", samples.inquiry()).json()
    html = api.client.get(
        f"/api/v1/evidence/{body['id']}/derived/document", headers=api.auth()
    ).text
    assert "询问笔录" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "330106199001011234" not in html


WRONG = [
    ("physical", samples.pdf, 415, "wrong-media-type"),
    ("documentary", samples.wav, 415, "wrong-media-type"),
    ("audiovisual", samples.jpeg_with_exif, 415, "wrong-media-type"),
    ("electronic", samples.iot_csv_bad, 422, "bad-content"),
    ("site_survey", lambda: b'{"title": "no canvas"}', 422, "bad-content"),
    ("remote_video", samples.pdf, 415, "wrong-media-type"),
    ("inquiry_record", samples.png, 415, "wrong-media-type"),
    ("onsite_record", lambda: b'{"place": {}}', 422, "bad-content"),
]


@pytest.mark.parametrize(("port", "make", "status", "slug"), WRONG)
def test_each_port_rejects_a_wrong_sample_and_keeps_nothing(
    api: Api, port: str, make, status: int, slug: str
) -> None:
    response = upload(api, port, make())
    assert_problem(response, status, slug)
    assert counts(api) == {"evidence": 0, "derived": 0, "custody": 0}
    assert stored_keys(api) == []


def test_captured_custody_event_is_chained(api: Api) -> None:
    first = upload(api, "documentary", samples.pdf()).json()
    second = upload(api, "physical", samples.png()).json()
    custody = api.client.get(f"/api/v1/evidence/{second['id']}/custody", headers=api.auth()).json()
    assert [e["action"] for e in custody["events"]] == ["captured"]
    event = custody["events"][0]
    assert event["details"]["sha256"] == second["sha256"]
    with Session(api.services.engine) as session:
        rows = session.exec(select(CustodyEvent).order_by(CustodyEvent.seq)).all()
    # the officer's custodial certificate (issued at seeding, or for the first capture) is
    # an event of the same chain
    captures = [r for r in rows if r.evidence_id is not None]
    assert [r.evidence_id for r in captures] == [first["id"], second["id"]]
    assert {r.action for r in rows if r.evidence_id is None} <= {"certificate_issued"}
    assert all(rows[n].prev_hash == rows[n - 1].hash for n in range(1, len(rows)))
