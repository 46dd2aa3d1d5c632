"""Evidence relation graph pictures: SVG structure and escaping, ring layout, PNG pixels."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image

from evidence_service.render.graph_picture import (
    EDGE_STYLES,
    MAX_NODES,
    NODE_STYLES,
    GraphEdge,
    GraphNode,
    display_label,
    plan_layout,
    render_png,
    render_svg,
)
from signing.fonts import FontNotFoundError

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = "<script>alert('x')</script>"
QUOTES = "\"&' 引号"

NODES = [
    GraphNode("C1", "case", "XJ-2024-0137 某餐饮店无证经营案"),
    GraphNode("E1", "evidence", "现场照片 厨房操作间"),
    GraphNode("E2", "evidence", HOSTILE),
    GraphNode("E3", "evidence", "询问笔录"),
    GraphNode("P1", "party", QUOTES),
    GraphNode("L1", "place", "某区某路 18 号"),
    GraphNode("O1", "officer", "李执法"),
    GraphNode("K1", "cause", "未取得食品经营许可从事食品经营活动，情节较重，依法应予处罚"),
]
EDGES = [
    GraphEdge("E1", "C1", "belongs_to_case"),
    GraphEdge("E2", "C1", "belongs_to_case"),
    GraphEdge("C1", "P1", "concerns_party"),
    GraphEdge("C1", "K1", "about_cause"),
    GraphEdge("E1", "L1", "captured_at_place"),
    GraphEdge("E1", "O1", "captured_by"),
    GraphEdge("E3", "P1", "transcript_of"),
    GraphEdge("E2", "E1", "derived_from"),
    GraphEdge("E3", "E1", "corroborates"),
]


def parse(svg: bytes) -> ET.Element:
    return ET.fromstring(svg)


def by_class(root: ET.Element, css_class: str) -> list[ET.Element]:
    return [el for el in root.iter() if el.get("class") == css_class]


def node_groups(root: ET.Element) -> dict[str, ET.Element]:
    return {group.get("data-id", ""): group for group in by_class(root, "node")}


def test_svg_draws_one_coloured_shape_per_node_and_one_line_per_edge() -> None:
    root = parse(render_svg(NODES, EDGES, center="C1"))
    assert root.tag == f"{SVG}svg" and root.get("width") == "1200"
    groups = node_groups(root)
    assert set(groups) == {node.id for node in NODES}
    for node in NODES:
        shapes = [el for el in groups[node.id] if el.get("class") == "node-shape"]
        assert len(shapes) == 1
        assert shapes[0].get("fill") == NODE_STYLES[node.kind].colour
    lines = by_class(root, "edge")
    assert len(lines) == len(EDGES) and all(line.tag == f"{SVG}line" for line in lines)
    assert {
        (ln.get("data-source"), ln.get("data-target"), ln.get("data-kind")) for ln in lines
    } == {(edge.source, edge.target, edge.kind) for edge in EDGES}
    arrows = {line.get("data-kind"): line.get("marker-end") for line in lines}
    assert arrows["corroborates"] is None and arrows["derived_from"] == "url(#arrow-derived_from)"
    edge_labels = [el.text or "" for el in by_class(root, "edge-label")]
    assert sorted(edge_labels) == sorted(EDGE_STYLES[edge.kind].name_zh for edge in EDGES)


def test_svg_distinguishes_kinds_by_shape_as_well_as_colour() -> None:
    root = parse(render_svg(NODES, EDGES, center="C1"))
    tags = {}
    for node_id, group in node_groups(root).items():
        shape = next(el for el in group if el.get("class") == "node-shape")
        tags[node_id] = (shape.tag.removeprefix(SVG), len((shape.get("points") or "").split()))
    assert tags["E1"] == ("rect", 0)
    assert tags["P1"] == ("circle", 0)
    assert tags["C1"] == ("polygon", 6)
    assert tags["L1"] == ("polygon", 4)
    assert tags["O1"] == ("polygon", 3)
    assert tags["K1"] == ("polygon", 8)


def test_svg_has_a_title_and_a_legend_naming_every_kind() -> None:
    svg = render_svg(NODES, EDGES, center="C1")
    root = parse(svg)
    (title,) = by_class(root, "title")
    assert title.text == "证据关系网络图谱 — XJ-2024-0137 某餐饮店无证经营案"
    entries = [el.text for el in by_class(root, "legend-entry")]
    for zh, en in [
        ("证据", "evidence"),
        ("案件", "case"),
        ("当事人", "party"),
        ("地点", "place"),
        ("执法人员", "officer"),
        ("案由", "cause"),
    ]:
        assert f"{zh} {en}" in entries
    assert "属于案件 belongs_to_case" in entries
    swatch_fills = {el.get("fill") for el in by_class(root, "legend-swatch")}
    assert {style.colour for style in NODE_STYLES.values()} <= swatch_fills
    assert "Noto Sans SC" in (root.get("font-family") or "")


def test_hostile_labels_are_escaped_and_truncated() -> None:
    svg = render_svg(NODES, EDGES, center="E2")
    assert b"<script" not in svg
    root = parse(svg)
    labels = {el.get("data-id"): el.text for el in by_class(root, "node-label")}
    assert labels["E2"] == HOSTILE[:24] + "…"
    assert labels["P1"] == QUOTES
    assert labels["K1"] == NODES[-1].label[:24] + "…"
    (title,) = by_class(root, "title")
    assert title.text == "证据关系网络图谱 — " + HOSTILE[:24] + "…"


def test_hostile_ids_are_quoted_in_attributes() -> None:
    nodes = [GraphNode('a"><script>', "case", "x"), GraphNode("b'&", "party", "y")]
    edges = [GraphEdge('a"><script>', "b'&", "concerns_party")]
    svg = render_svg(nodes, edges, center="b'&")
    assert b"<script" not in svg
    assert set(node_groups(parse(svg))) == {'a"><script>', "b'&"}


def test_control_and_bidi_characters_do_not_break_the_document() -> None:
    label = "照片\x00\x1b\u202eexe.jpg\ud800\n第二行"
    assert display_label(label) == "照片\ufffd\ufffd\ufffdexe.jpg\ufffd 第二行"
    svg = render_svg([GraphNode("E", "evidence", label)], [], center="E")
    (text,) = by_class(parse(svg), "node-label")
    assert text.text == display_label(label)


def test_same_graph_gives_the_same_bytes_whatever_the_input_order() -> None:
    first = render_svg(NODES, EDGES, center="C1")
    assert render_svg(NODES, EDGES, center="C1") == first
    assert render_svg(NODES[::-1], EDGES[::-1], center="C1") == first
    assert render_svg(NODES, EDGES, center="E1") != first


def distance(root: ET.Element, a: str, b: str) -> float:
    groups = node_groups(root)

    def at(node_id: str) -> tuple[float, float]:
        return float(groups[node_id].get("data-x", "")), float(groups[node_id].get("data-y", ""))

    (ax, ay), (bx, by) = at(a), at(b)
    return math.hypot(ax - bx, ay - by)


def test_centre_sits_in_the_middle_and_rings_grow_with_hop_distance() -> None:
    layout = plan_layout(NODES, EDGES, center="C1")
    assert layout.positions["C1"] == layout.origin
    plot_middle_y = 52 + (900 - 52) / 2
    assert layout.origin[1] == pytest.approx(plot_middle_y)
    assert dict(layout.hops) == {
        "C1": 0,
        "E1": 1,
        "E2": 1,
        "P1": 1,
        "K1": 1,
        "E3": 2,
        "L1": 2,
        "O1": 2,
    }
    root = parse(render_svg(NODES, EDGES, center="C1"))
    group = node_groups(root)["C1"]
    assert (float(group.get("data-x", "")), float(group.get("data-y", ""))) == pytest.approx(
        layout.origin, abs=0.06
    )
    for near in ("E1", "E2", "P1", "K1"):
        for far in ("E3", "L1", "O1"):
            assert distance(root, "C1", far) > distance(root, "C1", near)


def test_ring_members_are_sorted_by_kind_then_label_then_id() -> None:
    layout = plan_layout(NODES, EDGES, center="C1")
    assert [node.id for node in layout.nodes] == ["C1", "E2", "E1", "P1", "K1", "E3", "L1", "O1"]


def test_unreachable_nodes_go_on_an_outer_ring() -> None:
    nodes = [*NODES, GraphNode("X", "evidence", "孤立")]
    layout = plan_layout(nodes, EDGES, center="C1")
    assert layout.hops["X"] == 3


def test_only_the_centre_is_drawn_alone() -> None:
    alone = [GraphNode("C1", "case", "孤案")]
    root = parse(render_svg(alone, [], center="C1"))
    assert list(node_groups(root)) == ["C1"]
    assert by_class(root, "edge") == []
    png = Image.open(BytesIO(render_png(alone, [], center="C1")))
    assert png.size == (1200, 900)


@pytest.mark.parametrize(
    ("nodes", "edges", "center", "message"),
    [
        (NODES, [GraphEdge("E1", "NOPE", "belongs_to_case")], "C1", "unknown node 'NOPE'"),
        (NODES, EDGES, "NOPE", "centre node 'NOPE'"),
        ([*NODES, GraphNode("E1", "evidence", "again")], EDGES, "C1", "'E1' appears twice"),
        (
            [GraphNode(f"N{i}", "evidence", str(i)) for i in range(MAX_NODES + 1)],
            [],
            "N0",
            "more than 300 nodes",
        ),
    ],
    ids=["unknown-node", "unknown-centre", "duplicate-node", "too-many-nodes"],
)
def test_graphs_it_cannot_draw_are_refused(
    nodes: list[GraphNode], edges: list[GraphEdge], center: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        render_svg(nodes, edges, center=center)
    with pytest.raises(ValueError, match=message):
        render_png(nodes, edges, center=center)


def test_exactly_the_node_limit_is_drawn() -> None:
    nodes = [GraphNode(f"N{i}", "evidence", str(i)) for i in range(MAX_NODES)]
    edges = [GraphEdge(f"N{i}", "N0", "derived_from") for i in range(1, MAX_NODES)]
    assert len(node_groups(parse(render_svg(nodes, edges, center="N0")))) == MAX_NODES


def test_malformed_nodes_edges_and_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown kind 'suspect'"):
        GraphNode("X", "suspect", "x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown kind 'knows'"):
        GraphEdge("A", "B", "knows")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="to itself"):
        GraphEdge("A", "A", "corroborates")
    with pytest.raises(ValueError, match="picture size"):
        render_svg(NODES, EDGES, center="C1", width=100_000)


def colour_counts(image: Image.Image) -> dict[tuple[int, int, int], int]:
    counts = image.getcolors(maxcolors=image.width * image.height) or []
    return {(rgb[0], rgb[1], rgb[2]): n for n, rgb in counts if isinstance(rgb, tuple)}


def colours(image: Image.Image) -> set[tuple[int, int, int]]:
    return set(colour_counts(image))


def hex_rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def test_png_has_the_requested_size_and_every_used_kind_colour() -> None:
    png = render_png(NODES, EDGES, center="C1", width=1000, height=700)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(BytesIO(png))
    assert image.size == (1000, 700) and image.mode == "RGB"
    present = colours(image)
    for kind in {node.kind for node in NODES}:
        assert hex_rgb(NODE_STYLES[kind].colour) in present, kind
    dark_text = sum(n for rgb, n in colour_counts(image).items() if max(rgb) < 80)
    assert dark_text > 2000  # title, labels and legend text were drawn


def test_png_draws_only_the_kinds_present_in_the_plot_area() -> None:
    only_parties = [GraphNode("P1", "party", "张某"), GraphNode("P2", "party", "李某")]
    image = Image.open(BytesIO(render_png(only_parties, [], center="P1")))
    plot = image.crop((0, 60, 700, 900))
    assert hex_rgb(NODE_STYLES["party"].colour) in colours(plot)
    assert hex_rgb(NODE_STYLES["evidence"].colour) not in colours(plot)


def test_png_bytes_are_deterministic() -> None:
    first = render_png(NODES, EDGES, center="C1")
    assert render_png(NODES[::-1], EDGES, center="C1") == first


def test_png_refuses_an_unloadable_font(tmp_path: Path) -> None:
    bogus = tmp_path / "not-a-font.otf"
    bogus.write_bytes(b"nope")
    with pytest.raises(FontNotFoundError, match="cannot load graph font"):
        render_png(NODES, EDGES, center="C1", font_path=bogus)
