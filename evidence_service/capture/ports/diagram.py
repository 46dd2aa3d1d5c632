"""Site-survey diagrams as JSON: schema validation plus the checks a schema cannot express.

The schema (``schemas/site_survey_diagram.json``) fixes the shape of the document. On top of it,
every point must lie within the canvas extended by one canvas size on each side, and every length
within three canvas sizes: a shape far outside its own canvas is a mistake, and bounding it keeps
rendering cheap (Pillow's time grows with the size of what it draws, even off-image).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from evidence_service.capture.ports.json_documents import validate_document
from evidence_service.core.errors import BadContentError

SCHEMA = "site_survey_diagram"

#: Coordinate pairs by kind, named as in SVG; polygons list their points instead.
_POINT_PAIRS: dict[str, tuple[tuple[str, str], ...]] = {
    "line": (("x1", "y1"), ("x2", "y2")),
    "rect": (("x", "y"),),
    "circle": (("cx", "cy"),),
    "text": (("x", "y"),),
    "marker": (("x", "y"),),
}
_LENGTH_KEYS = ("width", "height", "r", "size")


def validate_diagram(document: Any) -> dict[str, Any]:
    """The diagram if it matches the schema and stays near its canvas; else BadContentError."""
    validate_document(document, SCHEMA)
    assert isinstance(document, dict)  # the schema requires an object
    width, height = document["canvas"]["width"], document["canvas"]["height"]
    longest = max(width, height)
    for index, shape in enumerate(document["shapes"]):
        path = f"$.shapes[{index}]"
        for point_path, (x, y) in _points(shape, path):
            if not (-width <= x <= 2 * width and -height <= y <= 2 * height):
                raise BadContentError(
                    f"{point_path}: point ({x}, {y}) is too far outside the "
                    f"{width}x{height} canvas",
                    json_path=point_path,
                )
        for key in _LENGTH_KEYS:
            if key in shape and shape[key] > 3 * longest:
                raise BadContentError(
                    f"{path}.{key}: {shape[key]} is larger than three canvas sizes",
                    json_path=f"{path}.{key}",
                )
    return document


def _points(shape: dict[str, Any], path: str) -> Iterator[tuple[str, tuple[float, float]]]:
    for x_key, y_key in _POINT_PAIRS.get(shape["kind"], ()):
        yield f"{path}.{x_key}", (shape[x_key], shape[y_key])
    for index, point in enumerate(shape.get("points", ())):
        yield f"{path}.points[{index}]", (point[0], point[1])
    if shape["kind"] == "rect":
        far_corner = (shape["x"] + shape["width"], shape["y"] + shape["height"])
        yield f"{path}.width", far_corner


def diagram_fields(diagram: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": diagram["title"],
        "shape_count": len(diagram["shapes"]),
        "canvas": {"width": diagram["canvas"]["width"], "height": diagram["canvas"]["height"]},
        "metres_per_unit": diagram["scale"]["metres_per_unit"],
        "north_angle_degrees": diagram["north"]["angle_degrees"],
    }
