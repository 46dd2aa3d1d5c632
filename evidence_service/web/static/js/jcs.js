// RFC 8785 JSON Canonicalization Scheme (JCS): the bytes every statement signature and Merkle
// leaf is over, as `signing/jcs.py` makes them. Pure: a parsed JSON value in, text or UTF-8
// bytes out, or a JcsError for a value JSON cannot carry faithfully.
//
// Object keys sort by UTF-16 code units (what JavaScript's default string order compares);
// numbers take ECMAScript's shortest round-trip form, which is the one RFC 8785 §3.2.2.3
// prescribes; strings escape only the quote, the backslash and the C0 controls.

export class JcsError extends Error {
  constructor(message) {
    super(message);
    this.name = "JcsError";
  }
}

/** Deepest nesting of arrays and objects accepted, as in `signing/jcs.py`. */
export const MAX_DEPTH = 64;

const SHORT_ESCAPES = { 0x08: "\\b", 0x09: "\\t", 0x0a: "\\n", 0x0c: "\\f", 0x0d: "\\r" };

function serializeString(text) {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit === 0x22) out += '\\"';
    else if (unit === 0x5c) out += "\\\\";
    else if (unit < 0x20) out += SHORT_ESCAPES[unit] ?? `\\u${unit.toString(16).padStart(4, "0")}`;
    else if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) throw new JcsError("a lone surrogate in a string");
      out += text[i] + text[i + 1];
      i++;
    } else if (unit >= 0xdc00 && unit <= 0xdfff) {
      throw new JcsError("a lone surrogate in a string");
    } else out += text[i];
  }
  return `${out}"`;
}

function serializeNumber(value) {
  if (!Number.isFinite(value)) throw new JcsError(`${value} is not a JSON number`);
  return Object.is(value, -0) ? "0" : String(value);
}

function serialize(value, depth) {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "string":
      return serializeString(value);
    case "number":
      return serializeNumber(value);
    case "object":
      break;
    default:
      throw new JcsError(`a ${typeof value} is not JSON`);
  }
  if (depth >= MAX_DEPTH) throw new JcsError(`JSON nested deeper than ${MAX_DEPTH} levels`);
  if (Array.isArray(value)) return `[${value.map((item) => serialize(item, depth + 1)).join(",")}]`;
  const keys = Object.keys(value).sort();
  const members = keys.map((key) => `${serializeString(key)}:${serialize(value[key], depth + 1)}`);
  return `{${members.join(",")}}`;
}

/** The canonical JSON text of `value` (a value JSON.parse could return). */
export function canonicalize(value) {
  return serialize(value, 0);
}

/** The JCS bytes of `value`: its canonical text as UTF-8. */
export function canonicalBytes(value) {
  return new TextEncoder().encode(canonicalize(value));
}
