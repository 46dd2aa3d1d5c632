"""The capture page's record and diagram builders (`static/js/record-documents.js`), run under
Node: what they build from typed and drawn input must pass the ports' JSON schemas (checked here
with `jsonschema`) and the ports' own checks (period order, shapes near the canvas)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from evidence_service.capture.ports.diagram import validate_diagram
from evidence_service.capture.ports.records import validate_record
from evidence_service.capture.ports.timestamps import parse_rfc3339
from tests.web.node import JS, requires_node, run_node

MODULE = JS / "record-documents.js"
SCHEMAS = Path(__file__).resolve().parents[2] / "evidence_service" / "capture" / "ports" / "schemas"

pytestmark = requires_node

#: Calls the module's exported functions by name with the given arguments, one result per call.
RUNNER = """
import { readFileSync } from "node:fs";

const [moduleUrl, callsPath] = process.argv.slice(2);
const module = await import(moduleUrl);
const results = JSON.parse(readFileSync(callsPath, "utf8")).map(
  ([name, ...args]) => module[name](...args) ?? null,
);
process.stdout.write(JSON.stringify(results));
"""


@pytest.fixture(scope="module")
def call(tmp_path_factory: pytest.TempPathFactory) -> Any:
    workdir = tmp_path_factory.mktemp("record-documents-js")
    runner = workdir / "runner.mjs"
    runner.write_text(RUNNER)

    def run(*calls: list[Any]) -> list[Any]:
        results: list[Any] = run_node(runner, MODULE.as_uri(), calls, timeout=60)
        return results

    return run


def schema_errors(document: Any, schema_file: str) -> list[str]:
    schema = json.loads((SCHEMAS / schema_file).read_text("utf-8"))
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(document)]


OFFICER = {"name": " 张三 ", "certNo": "33010012", "officerId": "officer-1"}


def inquiry_fields(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "caseRef": "",
        "place": {"address": " 嘉兴市南湖区某路 1 号 ", "lat": "30.7522", "lon": "120.7555"},
        "startedAt": "2024-05-01T09:30:00+08:00",
        "endedAt": "2024-05-01T10:05:30+08:00",
        "interviewers": [OFFICER, {"name": "李四", "certNo": "", "officerId": ""}],
        "recorder": {"name": "", "certNo": ""},
        "interviewee": {"name": "王五", "role": "party", "idNumber": "", "contact": ""},
        "items": [
            {"q": "你的姓名？", "a": "王五。"},
            {"q": "  ", "a": ""},
            {"q": "还有补充吗？", "a": ""},
        ],
        "notes": "   ",
    }
    fields.update(changes)
    return fields


def test_inquiry_record_keeps_what_was_typed_and_drops_blanks(call: Any) -> None:
    (record,) = call(["inquiryRecord", inquiry_fields()])

    assert schema_errors(record, "inquiry_record.json") == []
    validate_record(record, "inquiry_record")
    assert record == {
        "place": {"address": "嘉兴市南湖区某路 1 号", "lat": 30.7522, "lon": 120.7555},
        "started_at": "2024-05-01T09:30:00+08:00",
        "ended_at": "2024-05-01T10:05:30+08:00",
        "interviewers": [
            {"name": "张三", "officer_id": "officer-1", "cert_no": "33010012"},
            {"name": "李四"},
        ],
        "interviewee": {"name": "王五", "role": "party"},
        "items": [{"q": "你的姓名？", "a": "王五。"}, {"q": "还有补充吗？", "a": ""}],
    }


def test_inquiry_record_with_every_optional_field(call: Any) -> None:
    fields = inquiry_fields(
        caseRef="嘉南执罚〔2024〕12号",
        recorder={"name": "赵六", "certNo": "33010099"},
        interviewee={
            "name": "王五",
            "role": "witness",
            "idNumber": "330402199001011234",
            "contact": "13800000000",
        },
        notes="被询问人阅后签名。",
    )

    (record,) = call(["inquiryRecord", fields])

    assert schema_errors(record, "inquiry_record.json") == []
    assert record["case_ref"] == "嘉南执罚〔2024〕12号"
    assert record["recorder"] == {"name": "赵六", "cert_no": "33010099"}
    assert record["interviewee"]["id_number"] == "330402199001011234"
    assert record["notes"] == "被询问人阅后签名。"


@pytest.mark.parametrize(
    ("lat", "lon"),
    [("30.1", ""), ("", "120.2"), ("91", "120"), ("abc", "120")],
    ids=["lat-only", "lon-only", "out-of-range", "not-a-number"],
)
def test_place_without_a_usable_pair_is_the_address_alone(call: Any, lat: str, lon: str) -> None:
    place = {"address": "某路 1 号", "lat": lat, "lon": lon}

    (record,) = call(["inquiryRecord", inquiry_fields(place=place)])

    assert record["place"] == {"address": "某路 1 号"}
    assert schema_errors(record, "inquiry_record.json") == []


def test_onsite_record_with_party_witnesses_observations_and_measures(call: Any) -> None:
    fields = {
        "caseRef": "",
        "place": {"address": "某餐饮店后厨", "lat": "", "lon": ""},
        "startedAt": "2024-05-01T21:00:00+08:00",
        "endedAt": "2024-05-01T21:40:00+08:00",
        "officers": [OFFICER],
        "party": {
            "name": "某某餐饮店",
            "role": "经营者",
            "idNumber": "",
            "contact": "0573-1234567",
        },
        "witnesses": [
            {"name": "", "idNumber": "", "contact": ""},
            {"name": "周七", "idNumber": "X1"},
        ],
        "observations": [
            {"time": "2024-05-01T21:05:00+08:00", "text": "油烟净化器未开启。"},
            {"time": "", "text": "排烟管道有油污。"},
            {"time": "", "text": ""},
        ],
        "measures": ["责令立即开启净化器", "  "],
        "notes": "",
    }

    (record,) = call(["onsiteRecord", fields])

    assert schema_errors(record, "onsite_record.json") == []
    validate_record(record, "onsite_record")
    assert record["officers"] == [
        {"name": "张三", "officer_id": "officer-1", "cert_no": "33010012"}
    ]
    assert record["party"] == {"name": "某某餐饮店", "role": "经营者", "contact": "0573-1234567"}
    assert record["witnesses"] == [{"name": "周七", "id_number": "X1"}]
    assert record["observations"] == [
        {"time": "2024-05-01T21:05:00+08:00", "text": "油烟净化器未开启。"},
        {"text": "排烟管道有油污。"},
    ]
    assert record["measures_taken"] == ["责令立即开启净化器"]
    assert "notes" not in record


def test_onsite_record_leaves_out_a_party_without_a_name(call: Any) -> None:
    fields = {
        "place": {"address": "某路"},
        "startedAt": "2024-05-01T21:00:00Z",
        "endedAt": "2024-05-01T21:00:00Z",
        "officers": [{"name": "张三"}],
        "party": {"name": " ", "role": "当事人"},
        "witnesses": [],
        "observations": [{"text": "无异常。"}],
        "measures": [],
    }

    (record,) = call(["onsiteRecord", fields])

    assert schema_errors(record, "onsite_record.json") == []
    assert set(record) == {"place", "started_at", "ended_at", "officers", "observations"}


@pytest.mark.parametrize(
    ("local", "offset", "expected"),
    [
        ("2024-05-01T09:30", 480, "2024-05-01T09:30:00+08:00"),
        ("2024-05-01T09:30:15", 480, "2024-05-01T09:30:15+08:00"),
        ("2024-01-31T23:59:59", 0, "2024-01-31T23:59:59Z"),
        ("2024-07-04T08:00", -330, "2024-07-04T08:00:00-05:30"),
        ("2024-05-01T09:30:15.250", 60, "2024-05-01T09:30:15.250+01:00"),
        ("", 480, None),
        ("09:30", 480, None),
    ],
)
def test_zoned_date_time(call: Any, local: str, offset: int, expected: str | None) -> None:
    (result,) = call(["zonedDateTime", local, offset])

    assert result == expected
    if expected is not None:
        parse_rfc3339(result)  # the ports' own reading of the schema's date-time


def test_drawn_shapes_make_a_valid_diagram(call: Any) -> None:
    line, rect, circle, text, slip, off_canvas, empty_text = call(
        ["shapeFromDrag", "line", {"x": 100.04, "y": 120}, {"x": 400.26, "y": 120}],
        ["shapeFromDrag", "rect", {"x": 500, "y": 400}, {"x": 300, "y": 250}],
        ["shapeFromDrag", "circle", {"x": 200, "y": 200}, {"x": 230, "y": 240}],
        ["shapeFromDrag", "text", {"x": 50, "y": 60}, None, {"text": " 北门 "}],
        ["shapeFromDrag", "rect", {"x": 10, "y": 10}, {"x": 11, "y": 300}],
        ["shapeFromDrag", "line", {"x": -50, "y": 10}, {"x": 900, "y": 700}],
        ["shapeFromDrag", "text", {"x": 1, "y": 1}, None, {"text": "  "}],
    )

    assert line == {"kind": "line", "x1": 100, "y1": 120, "x2": 400.3, "y2": 120}
    assert rect == {"kind": "rect", "x": 300, "y": 250, "width": 200, "height": 150}
    assert circle == {"kind": "circle", "cx": 200, "cy": 200, "r": 50}
    assert text == {"kind": "text", "x": 50, "y": 60, "text": "北门", "size": 24}
    assert slip is None and empty_text is None
    assert off_canvas == {"kind": "line", "x1": 0, "y1": 10, "x2": 800, "y2": 600}

    fields = {
        "title": " 现场平面图 ",
        "metresPerUnit": "0.05",
        "northDegrees": "-30",
        "shapes": [line, rect, circle, text, off_canvas],
    }
    (diagram,) = call(["surveyDiagram", fields])

    assert schema_errors(diagram, "site_survey_diagram.json") == []
    validate_diagram(diagram)
    assert diagram["title"] == "现场平面图"
    assert diagram["scale"] == {"metres_per_unit": 0.05}
    assert diagram["north"] == {"angle_degrees": -30}
    assert diagram["canvas"] == {"width": 800, "height": 600}
    assert diagram["shapes"][:4] == [line, rect, circle, text]


@pytest.mark.parametrize(
    ("kind", "values", "expected"),
    [
        (
            "line",
            {"x": "10", "y": "20", "x2": "110", "y2": "20"},
            {"kind": "line", "x1": 10, "y1": 20, "x2": 110, "y2": 20},
        ),
        (
            "rect",
            {"x": "100", "y": "100", "width": "200", "height": "80"},
            {"kind": "rect", "x": 100, "y": 100, "width": 200, "height": 80},
        ),
        (
            "rect",
            {"x": "700", "y": "0", "width": "300", "height": "80"},
            {"kind": "rect", "x": 700, "y": 0, "width": 100, "height": 80},
        ),
        (
            "circle",
            {"x": "400", "y": "300", "r": "25.55"},
            {"kind": "circle", "cx": 400, "cy": 300, "r": 25.6},
        ),
        (
            "text",
            {"x": "30", "y": "40", "text": "1 号物证"},
            {"kind": "text", "x": 30, "y": 40, "text": "1 号物证", "size": 24},
        ),
        ("rect", {"x": "1", "y": "1", "width": "0", "height": "5"}, None),
        ("circle", {"x": "1", "y": "1", "r": "-3"}, None),
        ("line", {"x": "1", "y": "", "x2": "5", "y2": "5"}, None),
        ("text", {"x": "1", "y": "1", "text": ""}, None),
    ],
    ids=[
        "line",
        "rect",
        "rect-clipped",
        "circle",
        "text",
        "zero-width",
        "negative-r",
        "missing-y",
        "no-text",
    ],
)
def test_shape_from_coordinates(
    call: Any, kind: str, values: dict[str, str], expected: Any
) -> None:
    (shape,) = call(["shapeFromCoordinates", kind, values])

    assert shape == expected
    if shape is not None:
        (diagram,) = call(
            [
                "surveyDiagram",
                {"title": "图", "metresPerUnit": "1", "northDegrees": "0", "shapes": [shape]},
            ]
        )
        assert schema_errors(diagram, "site_survey_diagram.json") == []
        validate_diagram(diagram)


def test_document_text_round_trips(call: Any) -> None:
    (record,) = call(["inquiryRecord", inquiry_fields()])
    (text,) = call(["documentText", record])

    assert text.endswith("\n")
    assert json.loads(text) == record
