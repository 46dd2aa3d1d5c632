from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from PIL import Image

from evidence_service.capture.ports import site_survey, sniff
from evidence_service.capture.ports.diagram_render import layout_for
from evidence_service.capture.ports.json_documents import schema_validator
from evidence_service.capture.ports.limits import (
    DIAGRAM_CANVAS_MAX_SIDE,
    DIAGRAM_MAX_LEGEND_ENTRIES,
    DIAGRAM_MAX_POLYGON_POINTS,
    DIAGRAM_MAX_SHAPES,
)
from evidence_service.capture.ports.site_survey import SiteSurveyPort
from evidence_service.core.errors import (
    BadContentError,
    DecompressionBombError,
    OversizeError,
    WrongMediaTypeError,
)
from signing.fonts import find_cjk_font
from tests.service.capture.ports import samples
from tests.service.capture.ports.feeding import chunk_plans, feed_only, run_port

PORT = SiteSurveyPort()
DIAGRAM = samples.json_bytes(samples.DIAGRAM)

# 800x600 canvas: drawing 1600x1200, plus 2x40 margin, 96 header, 72 footer, 2 legend lines.
EXPECTED_SIZE = (1680, 96 + 1200 + 72 + 2 * 24)


def _rendering(extraction_derived: tuple) -> Image.Image:  # type: ignore[type-arg]
    (derived,) = extraction_derived
    assert (derived.role, derived.media_type) == ("rendering", "image/png")
    image = Image.open(io.BytesIO(derived.data))
    assert image.format == "PNG"
    image.load()
    return image


def test_diagram_is_validated_and_rendered() -> None:
    extraction = run_port(PORT, DIAGRAM)
    assert extraction.media_type == sniff.JSON
    assert extraction.fields == {
        "title": samples.DIAGRAM["title"],
        "shape_count": 7,
        "canvas": {"width": 800, "height": 600},
        "metres_per_unit": 0.01,
        "north_angle_degrees": 30,
    }
    image = _rendering(extraction.derived).convert("RGB")
    assert image.size == EXPECTED_SIZE
    layout = layout_for(800, 600, 2)
    assert (layout.width, layout.height) == EXPECTED_SIZE
    x0, y0 = layout.drawing_origin
    drawing = image.crop((x0, y0, x0 + layout.drawing_width, y0 + layout.drawing_height))
    histogram = drawing.convert("L").histogram()
    non_white = sum(histogram[:250])
    assert non_white > 5_000
    # the rectangle's left edge at x = 50 units = 100 px, y = 200 units = 400 px is drawn dark
    assert max(drawing.getpixel((100, 400))) < 100
    # the marker "1" at (420, 420) units is a red dot
    red, green, blue = drawing.getpixel((840, 840))
    assert red > 150 and green < 80 and blue < 80
    # the header (title) and footer (scale bar) are drawn too
    assert sum(image.crop((0, 0, image.width, y0)).convert("L").histogram()[:250]) > 200
    footer = image.crop((0, y0 + layout.drawing_height + 2, image.width, image.height))
    assert sum(footer.convert("L").histogram()[:250]) > 200


@pytest.mark.parametrize("sizes", [1, 7, 4096, 4097])
def test_chunking_does_not_change_the_result(sizes: int) -> None:
    assert run_port(PORT, DIAGRAM, sizes) == run_port(PORT, DIAGRAM)


@settings(max_examples=5, deadline=None)
@given(plan=chunk_plans)
def test_random_chunking_does_not_change_the_fields(plan: list[int]) -> None:
    assert run_port(PORT, DIAGRAM, plan).fields["shape_count"] == 7


def test_tall_narrow_canvas_keeps_a_minimum_width() -> None:
    narrow = samples.diagram(canvas={"width": 10, "height": 1000}, shapes=[], legend=[])
    image = _rendering(run_port(PORT, samples.json_bytes(narrow)).derived)
    assert image.size == (480, 96 + 1600 + 72)


def test_missing_font_falls_back_to_the_default() -> None:
    port = SiteSurveyPort(font_path=Path("/nonexistent/NotoSansCJK-Regular.ttc"))
    image = _rendering(run_port(port, DIAGRAM).derived)
    assert image.size == EXPECTED_SIZE


def test_font_lookup_never_fails() -> None:
    font = find_cjk_font()
    assert font is None or font.is_file()


def _bad(**changes: object) -> bytes:
    return samples.json_bytes(samples.diagram(**changes))


def _shapes_with(index: int, shape: dict[str, object]) -> list[dict[str, object]]:
    shapes = [dict(s) for s in samples.DIAGRAM["shapes"]]
    shapes[index] = shape
    return shapes


@pytest.mark.parametrize(
    ("data", "path"),
    [
        (_bad(shapes=_shapes_with(2, {"kind": "circle", "cx": 1, "cy": 2})), "$.shapes[2]"),
        (_bad(shapes=_shapes_with(0, {"kind": "hexagon", "x": 1, "y": 2})), "$.shapes[0].kind"),
        (_bad(shapes=_shapes_with(1, {"kind": "line", "x1": 0, "x2": 1, "y2": 1})), "$.shapes[1]"),
        (_bad(shapes=_shapes_with(3, {"kind": "polygon", "points": [[0, 0], [1, 1]]})), "points"),
        (
            _bad(shapes=_shapes_with(5, {"kind": "marker", "x": 1, "y": 1, "at": [3, 3]})),
            "$.shapes[5]",
        ),
        (
            _bad(shapes=_shapes_with(0, {"kind": "rect", "x": 1, "y": 1, "width": 0, "height": 1})),
            "$.shapes[0].width",
        ),
        (
            _bad(shapes=_shapes_with(1, {"kind": "line", "x1": 0, "y1": 0, "x2": 5000, "y2": 0})),
            "$.shapes[1].x2",
        ),
        (
            _bad(shapes=_shapes_with(2, {"kind": "circle", "cx": 0, "cy": 0, "r": 9000})),
            "$.shapes[2].r",
        ),
        (_bad(canvas={"width": DIAGRAM_CANVAS_MAX_SIDE + 1, "height": 10}), "$.canvas.width"),
        (_bad(canvas={"width": 10.5, "height": 10}), "$.canvas.width"),
        (_bad(scale={"metres_per_unit": 0}), "$.scale.metres_per_unit"),
        (_bad(north={}), "$.north"),
        (_bad(title=""), "$.title"),
        (_bad(legend=[{"symbol": "1"}]), "$.legend[0]"),
        (samples.json_bytes({"title": "x"}), "$"),
        (b'{"title": "unterminated', "line 1"),
        (b"[1, 2, 3]", "$"),
    ],
    ids=[
        "circle-without-radius",
        "unknown-kind",
        "line-without-y1",
        "polygon-two-points",
        "marker-extra-field",
        "rect-zero-width",
        "line-far-outside",
        "radius-too-large",
        "canvas-too-wide",
        "canvas-fractional",
        "zero-scale",
        "north-without-angle",
        "empty-title",
        "legend-without-text",
        "missing-required",
        "invalid-json",
        "array",
    ],
)
def test_bad_diagram_names_the_json_path(data: bytes, path: str) -> None:
    with pytest.raises(BadContentError) as caught:
        run_port(PORT, data, 64)
    assert path in caught.value.detail


def test_picture_of_a_diagram_records_its_dimensions() -> None:
    for fmt, media_type in (("PNG", sniff.PNG), ("JPEG", sniff.JPEG)):
        extraction = run_port(PORT, samples.image_bytes(fmt, 1024, 768), 4096)
        assert extraction.media_type == media_type
        assert extraction.fields == {"width": 1024, "height": 768}
        assert extraction.derived == ()


def test_bomb_picture_is_rejected() -> None:
    with pytest.raises(DecompressionBombError):
        run_port(PORT, samples.png_claiming_size(100_000, 100_000))


def test_corrupt_picture_is_bad_content() -> None:
    with pytest.raises(BadContentError):
        run_port(PORT, b"\x89PNG\r\n\x1a\n" + bytes(200))


@pytest.mark.parametrize(
    "data",
    [samples.pdf_with_pages(1), samples.image_bytes("GIF"), samples.mp4_head(), bytes(range(256))],
    ids=["pdf", "gif", "mp4", "binary"],
)
def test_other_formats_are_the_wrong_media_type(data: bytes) -> None:
    with pytest.raises(WrongMediaTypeError):
        run_port(PORT, data)


def test_text_that_is_not_json_is_bad_content() -> None:
    with pytest.raises(BadContentError, match="JSON"):
        run_port(PORT, "现场示意：北侧为围墙，南侧为出口".encode())


def test_json_is_limited_to_the_document_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(site_survey, "JSON_DOCUMENT_MAX_BYTES", 5000)
    big = samples.diagram(title="x" * 100, legend=[{"symbol": "s", "text": "t" * 200}] * 40)
    with pytest.raises(OversizeError):
        feed_only(SiteSurveyPort(), samples.json_bytes(big), 1000)


def test_schema_limits_match_the_named_limits() -> None:
    schema = schema_validator("site_survey_diagram").schema
    canvas = schema["properties"]["canvas"]["properties"]
    assert canvas["width"]["maximum"] == canvas["height"]["maximum"] == DIAGRAM_CANVAS_MAX_SIDE
    assert schema["properties"]["shapes"]["maxItems"] == DIAGRAM_MAX_SHAPES
    assert schema["properties"]["legend"]["maxItems"] == DIAGRAM_MAX_LEGEND_ENTRIES
    points = schema["$defs"]["polygon"]["properties"]["points"]
    assert points["maxItems"] == DIAGRAM_MAX_POLYGON_POINTS


def test_schema_file_is_valid_json_schema() -> None:
    text = Path(site_survey.__file__).with_name("schemas").joinpath("site_survey_diagram.json")
    assert json.loads(text.read_text("utf-8"))["$schema"].endswith("2020-12/schema")
