// The site-survey drawing section of the capture page: an SVG canvas drawn on with a pointer
// (mouse, pen or touch) — line, rectangle, circle, text — with undo and clear, the north angle
// and the scale; a coordinates form adds the same shapes from the keyboard. Submitting builds the
// diagram of schemas/site_survey_diagram.json and captures it like any file (records.js).
import { words } from "./api.js";
import { CANVAS, shapeFromCoordinates, shapeFromDrag, surveyDiagram } from "./record-documents.js";
import { documentFile, handOver } from "./records.js";

const SVG_NS = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);
const said = words("record-words");
const svg = $("survey-canvas");
const layer = $("survey-shapes");
const preview = $("survey-preview");
const shapes = [];
let drag = null;

function element(shape) {
  const attributes = { ...shape };
  delete attributes.kind;
  const tag = { line: "line", rect: "rect", circle: "circle", text: "text" }[shape.kind];
  const node = document.createElementNS(SVG_NS, tag);
  if (shape.kind === "text") {
    delete attributes.text;
    delete attributes.size;
    node.textContent = shape.text;
    Object.assign(attributes, {
      "font-size": shape.size,
      "dominant-baseline": "hanging",
      fill: "#1b1f24",
      stroke: "none",
    });
  }
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

function describe(shape) {
  switch (shape.kind) {
    case "line":
      return `${said.line} (${shape.x1}, ${shape.y1}) – (${shape.x2}, ${shape.y2})`;
    case "rect":
      return `${said.rect} (${shape.x}, ${shape.y}) ${shape.width} × ${shape.height}`;
    case "circle":
      return `${said.circle} (${shape.cx}, ${shape.cy}) ${said.radius} ${shape.r}`;
    default:
      return `${said.text} (${shape.x}, ${shape.y}) “${shape.text}”`;
  }
}

function redraw() {
  layer.replaceChildren(...shapes.map(element));
  const items = shapes.map((shape) => {
    const item = document.createElement("li");
    item.textContent = describe(shape);
    item.dataset.kind = shape.kind;
    return item;
  });
  $("survey-list").replaceChildren(...items);
}

function announce(text) {
  $("survey-status").textContent = text;
}

function add(shape) {
  shapes.push(shape);
  redraw();
  $("survey-error").hidden = true;
  announce(`${said.added}: ${describe(shape)}`);
}

function tool() {
  return document.querySelector("input[name=survey-tool]:checked").value;
}

function canvasPoint(event) {
  const point = new DOMPoint(event.clientX, event.clientY);
  return point.matrixTransform(svg.getScreenCTM().inverse());
}

function askForText(input) {
  input.setCustomValidity(said.need_text);
  input.reportValidity();
  input.addEventListener("input", () => input.setCustomValidity(""), { once: true });
}

// ---- drawing with a pointer ----------------------------------------------------------------

svg.addEventListener("pointerdown", (event) => {
  if (event.button !== 0 || drag) return;
  event.preventDefault();
  const at = canvasPoint(event);
  if (tool() === "text") {
    const shape = shapeFromDrag("text", at, at, { text: $("survey-text").value });
    if (shape) add(shape);
    else askForText($("survey-text"));
    return;
  }
  svg.setPointerCapture(event.pointerId);
  drag = { tool: tool(), from: at, pointerId: event.pointerId };
});

svg.addEventListener("pointermove", (event) => {
  if (!drag || event.pointerId !== drag.pointerId) return;
  const shape = shapeFromDrag(drag.tool, drag.from, canvasPoint(event));
  preview.replaceChildren(...(shape ? [element(shape)] : []));
});

function endDrag(event, keep) {
  if (!drag || event.pointerId !== drag.pointerId) return;
  const shape = keep ? shapeFromDrag(drag.tool, drag.from, canvasPoint(event)) : null;
  drag = null;
  preview.replaceChildren();
  if (shape) add(shape);
}
svg.addEventListener("pointerup", (event) => endDrag(event, true));
svg.addEventListener("pointercancel", (event) => endDrag(event, false));

$("survey-undo").addEventListener("click", () => {
  const shape = shapes.pop();
  redraw();
  if (shape) announce(`${said.removed}: ${describe(shape)}`);
});

$("survey-clear").addEventListener("click", () => {
  shapes.length = 0;
  redraw();
  announce(said.cleared);
});

function turnNorth() {
  const angle = Number($("survey-north").value) || 0;
  $("survey-north-arrow").setAttribute("transform", `translate(750 60) rotate(${angle})`);
}
$("survey-north").addEventListener("input", turnNorth);
turnNorth();

// ---- the keyboard alternative: a shape by its coordinates ----------------------------------

const addForm = $("survey-add-form");
const kind = $("survey-add-kind");
const coordinateFields = () => [...addForm.elements].filter((field) => field.name);

function showCoordinatesFor(chosen) {
  for (const label of document.querySelectorAll("[data-testid=survey-add] [data-for]")) {
    const shown = label.dataset.for === chosen;
    label.hidden = !shown;
    label.querySelector("input").disabled = !shown;
  }
}
kind.addEventListener("change", () => showCoordinatesFor(kind.value));
showCoordinatesFor(kind.value);

addForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const values = {};
  for (const field of coordinateFields()) if (!field.disabled) values[field.name] = field.value;
  const shape = shapeFromCoordinates(kind.value, values);
  if (!shape) {
    $("survey-error").textContent = said.bad_shape;
    $("survey-error").hidden = false;
    return;
  }
  add(shape);
});

// ---- capture --------------------------------------------------------------------------------

$("survey-form").addEventListener("submit", (event) => {
  event.preventDefault();
  if (!shapes.length) {
    $("survey-error").textContent = said.no_shapes;
    $("survey-error").hidden = false;
    return;
  }
  $("survey-error").hidden = true;
  // Read when handed over: the diagram's title defaults to the item's title.
  const diagram = () =>
    surveyDiagram({
      title: $("survey-title").value.trim() || $("title").value.trim(),
      metresPerUnit: $("survey-scale").value,
      northDegrees: $("survey-north").value,
      shapes,
      canvas: CANVAS,
    });
  handOver(() => documentFile("site_survey", diagram()));
});
