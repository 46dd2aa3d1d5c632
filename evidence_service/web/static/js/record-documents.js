// The JSON documents of the structured capture ports, built from what an officer typed or drew:
// 询问笔录 (schemas/inquiry_record.json), 现场笔录 (onsite_record.json) and 现场勘验图
// (site_survey_diagram.json). No DOM here, so Node runs the same code in the tests
// (tests/web/test_record_documents.py). Strings are trimmed; an optional field or row left blank
// is left out rather than sent empty; the server validates the result against the schema.

export const MEDIA_TYPE = "application/json";
export const FILE_NAMES = {
  inquiry_record: "inquiry-record.json",
  onsite_record: "onsite-record.json",
  site_survey: "site-survey.json",
};
export const INTERVIEWEE_ROLES = ["party", "witness", "victim", "other"];

const trimmed = (value) => (typeof value === "string" ? value.trim() : "");
const blank = (row) => Object.values(row).every((value) => trimmed(value) === "");

function optional(target, key, value) {
  const text = trimmed(value);
  if (text) target[key] = text;
}

function number(value) {
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  const text = trimmed(value);
  if (!text) return null;
  const parsed = Number(text);
  return Number.isFinite(parsed) ? parsed : null;
}

const pad = (n) => String(n).padStart(2, "0");

/** `2024-05-01T09:30` (a datetime-local value) and minutes east of UTC -> RFC 3339 with a zone. */
export function zonedDateTime(local, offsetMinutes) {
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2}(?:\.\d+)?)?$/.exec(trimmed(local));
  if (!match) return null;
  const sign = offsetMinutes < 0 ? "-" : "+";
  const minutes = Math.abs(Math.round(offsetMinutes));
  const zone = minutes === 0 ? "Z" : `${sign}${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`;
  return `${match[1]}T${match[2]}${match[3] || ":00"}${zone}`;
}

/** Latitude and longitude go together (the schema's dependentRequired), each in its range. */
export function placeOf({ address, lat, lon }) {
  const place = { address: trimmed(address) };
  const latitude = number(lat);
  const longitude = number(lon);
  if (latitude !== null && longitude !== null && Math.abs(latitude) <= 90 && Math.abs(longitude) <= 180) {
    place.lat = latitude;
    place.lon = longitude;
  }
  return place;
}

function officerOf({ name, officerId, certNo }) {
  const officer = { name: trimmed(name) };
  optional(officer, "officer_id", officerId);
  optional(officer, "cert_no", certNo);
  return officer;
}

function personOf({ name, role, idNumber, contact }, withRole = true) {
  const person = { name: trimmed(name) };
  if (withRole) person.role = trimmed(role);
  optional(person, "id_number", idNumber);
  optional(person, "contact", contact);
  return person;
}

const rowsOf = (rows) => (rows || []).filter((row) => !blank(row));

function header(fields) {
  const record = {};
  optional(record, "case_ref", fields.caseRef);
  record.place = placeOf(fields.place || {});
  record.started_at = fields.startedAt;
  record.ended_at = fields.endedAt;
  return record;
}

/** 询问笔录: who asked whom, where and when, and each question with its answer. */
export function inquiryRecord(fields) {
  const record = header(fields);
  record.interviewers = rowsOf(fields.interviewers).map(officerOf);
  if (fields.recorder && trimmed(fields.recorder.name)) record.recorder = officerOf(fields.recorder);
  record.interviewee = personOf(fields.interviewee || {});
  record.items = rowsOf(fields.items).map(({ q, a }) => ({ q: trimmed(q), a: trimmed(a) }));
  optional(record, "notes", fields.notes);
  return record;
}

/** 现场笔录: who was there, what was observed (in order) and which measures were taken. */
export function onsiteRecord(fields) {
  const record = header(fields);
  record.officers = rowsOf(fields.officers).map(officerOf);
  if (fields.party && trimmed(fields.party.name)) record.party = personOf(fields.party);
  const witnesses = rowsOf(fields.witnesses).map((row) => personOf(row, false));
  if (witnesses.length) record.witnesses = witnesses;
  record.observations = rowsOf(fields.observations).map(({ time, text }) => {
    const observation = {};
    if (trimmed(time)) observation.time = trimmed(time);
    observation.text = trimmed(text);
    return observation;
  });
  const measures = (fields.measures || []).map(trimmed).filter(Boolean);
  if (measures.length) record.measures_taken = measures;
  optional(record, "notes", fields.notes);
  return record;
}

// ---- site survey diagrams --------------------------------------------------------------------

export const CANVAS = { width: 800, height: 600 };
export const TEXT_SIZE = 24;
/** A drag shorter than this (canvas units) is a slip, not a shape. */
export const MIN_DRAG = 2;

const round = (value) => Math.round(value * 10) / 10;
const clamp = (value, low, high) => Math.min(high, Math.max(low, value));

/** A point kept on the canvas and rounded to a tenth of a unit. */
export function canvasPoint({ x, y }, canvas = CANVAS) {
  return { x: round(clamp(x, 0, canvas.width)), y: round(clamp(y, 0, canvas.height)) };
}

/**
 * The shape a drag from `from` to `to` draws with `tool` (line, rect, circle, text), or null for
 * a slip or an empty text. A rectangle spans the two corners, a circle is centred on `from`.
 */
export function shapeFromDrag(tool, from, to, { text = "", size = TEXT_SIZE, canvas = CANVAS } = {}) {
  const a = canvasPoint(from, canvas);
  const b = canvasPoint(to ?? from, canvas);
  const width = round(Math.abs(b.x - a.x));
  const height = round(Math.abs(b.y - a.y));
  switch (tool) {
    case "line":
      return Math.hypot(width, height) < MIN_DRAG ? null : { kind: "line", x1: a.x, y1: a.y, x2: b.x, y2: b.y };
    case "rect":
      return width < MIN_DRAG || height < MIN_DRAG
        ? null
        : { kind: "rect", x: Math.min(a.x, b.x), y: Math.min(a.y, b.y), width, height };
    case "circle": {
      const r = round(Math.hypot(width, height));
      return r < MIN_DRAG ? null : { kind: "circle", cx: a.x, cy: a.y, r };
    }
    case "text":
      return trimmed(text) ? { kind: "text", x: a.x, y: a.y, text: trimmed(text), size } : null;
    default:
      return null;
  }
}

/**
 * The shape typed into the coordinates form (strings as the inputs give them), or null when a
 * number is missing or a size is not positive. Coordinates outside the canvas are kept on it.
 */
export function shapeFromCoordinates(kind, values, canvas = CANVAS) {
  const n = (key) => number(values[key]);
  const at = n("x") === null || n("y") === null ? null : canvasPoint({ x: n("x"), y: n("y") }, canvas);
  if (!at) return null;
  switch (kind) {
    case "line":
      return n("x2") === null || n("y2") === null
        ? null
        : shapeFromDrag("line", at, { x: n("x2"), y: n("y2") }, { canvas });
    case "rect":
      return n("width") > 0 && n("height") > 0
        ? shapeFromDrag("rect", at, { x: at.x + n("width"), y: at.y + n("height") }, { canvas })
        : null;
    case "circle": {
      const r = n("r");
      return r > 0 ? { kind: "circle", cx: at.x, cy: at.y, r: round(Math.min(r, Math.max(canvas.width, canvas.height))) } : null;
    }
    case "text":
      return shapeFromDrag("text", at, at, { text: values.text, canvas });
    default:
      return null;
  }
}

/** The diagram document: title, scale, north, canvas size and the shapes in drawing order. */
export function surveyDiagram({ title, metresPerUnit, northDegrees, shapes, canvas = CANVAS }) {
  return {
    title: trimmed(title),
    scale: { metres_per_unit: number(metresPerUnit) ?? 1 },
    north: { angle_degrees: number(northDegrees) ?? 0 },
    canvas: { width: canvas.width, height: canvas.height },
    shapes: shapes.map((shape) => ({ ...shape })),
  };
}

/** The bytes to capture: the document as pretty-printed UTF-8 JSON. */
export function documentText(document) {
  return `${JSON.stringify(document, null, 2)}\n`;
}
