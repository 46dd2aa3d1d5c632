// The structured capture sections of the capture page: the record form (询问笔录, 现场笔录) and,
// for the site survey, the drawing section (survey.js). The port select decides which section
// replaces the file sources. A section builds its JSON document (record-documents.js) and hands
// it to capture.js as a File through the `evidence-file` event; the capture form then runs its
// normal flow: the same metadata, tus upload and receipt.
import { words } from "./api.js";
import {
  FILE_NAMES,
  MEDIA_TYPE,
  documentText,
  inquiryRecord,
  onsiteRecord,
  zonedDateTime,
} from "./record-documents.js";

const $ = (id) => document.getElementById(id);
const captureForm = $("capture-form");
const port = $("port");
const recordForm = $("record-form");
const said = words("record-words");
const structuredForms = [...document.querySelectorAll("form[data-ports]")];
let handedOver = false;

/**
 * Capture `build()`'s File through the capture form, once the form's own fields (title…) are
 * valid: the file is built only then, so it holds what the officer sees at that moment.
 */
export function handOver(build) {
  if (!captureForm.reportValidity()) return;
  const file = build();
  if (!file) return;
  handedOver = true;
  captureForm.dispatchEvent(new CustomEvent("evidence-file", { detail: file }));
  captureForm.requestSubmit();
}

export function documentFile(portId, document) {
  return new File([documentText(document)], FILE_NAMES[portId], { type: MEDIA_TYPE });
}

// ---- which section shows --------------------------------------------------------------------

function showFor(portId) {
  let structured = false;
  for (const form of structuredForms) {
    const mine = form.dataset.ports.split(" ").includes(portId);
    form.hidden = !mine;
    structured ||= mine;
  }
  captureForm.querySelector("fieldset.sources").hidden = structured;
  captureForm.querySelector("[type=submit]").hidden = structured;
  for (const part of recordForm.querySelectorAll("[data-kind]")) {
    const shown = part.dataset.kind === portId;
    part.hidden = !shown;
    if (part instanceof HTMLFieldSetElement) part.disabled = !shown; // no hidden required field
  }
  if (handedOver) {
    handedOver = false;
    captureForm.dispatchEvent(new CustomEvent("evidence-file", { detail: null }));
  }
}

port.addEventListener("change", () => showFor(port.value));
showFor(port.value);

// While an upload runs capture.js disables its submit button; the sections' buttons follow it.
const captureSubmit = captureForm.querySelector("[type=submit]");
new MutationObserver(() => {
  for (const form of structuredForms) {
    for (const button of form.querySelectorAll("button[type=submit]:not([form])")) {
      button.disabled = captureSubmit.disabled;
    }
  }
}).observe(captureSubmit, { attributes: true, attributeFilter: ["disabled"] });

// ---- rows (officers, Q&A, witnesses, observations, measures) -------------------------------

function renumber(group) {
  const rows = group.querySelectorAll(":scope > [data-role=rows] > [data-row]");
  const least = Number(group.dataset.minRows ?? 1);
  rows.forEach((row, index) => {
    row.querySelector("[data-role=number]").textContent = group.dataset.rowLabel.replace("{n}", index + 1);
    row.querySelector("[data-action=remove]").hidden = rows.length <= least;
  });
}

function addRow(group, values = {}) {
  const row = $(group.dataset.template).content.firstElementChild.cloneNode(true);
  for (const [name, value] of Object.entries(values)) row.querySelector(`[name=${name}]`).value = value;
  group.querySelector("[data-role=rows]").append(row);
  renumber(group);
  return row;
}

function rowValues(group) {
  return [...group.querySelectorAll(":scope > [data-role=rows] > [data-row]")].map((row) => {
    const values = {};
    for (const field of row.querySelectorAll("[name]")) values[field.name] = field.value;
    return values;
  });
}

for (const group of recordForm.querySelectorAll("fieldset[data-template]")) {
  group.addEventListener("click", (event) => {
    const action = event.target.closest("[data-action]");
    if (!action || action.closest("fieldset[data-template]") !== group) return;
    if (action.dataset.action === "add") {
      addRow(group).querySelector("input, textarea").focus();
    } else if (action.dataset.action === "remove") {
      const row = action.closest("[data-row]");
      row.remove();
      renumber(group);
      group.querySelector("[data-action=add]").focus();
    }
  });
  const least = Number(group.dataset.minRows ?? 1);
  for (let i = 0; i < least; i += 1) addRow(group);
}

const officers = $("record-officers");
const first = officers.querySelector("[data-row]");
first.querySelector("[name=name]").value = officers.dataset.defaultName || "";
first.querySelector("[name=officerId]").value = officers.dataset.defaultOfficerId || "";
first.querySelector("[name=certNo]").value = officers.dataset.defaultCertNo || "";

// ---- times and place ------------------------------------------------------------------------

function localNow() {
  const now = new Date();
  now.setSeconds(now.getSeconds(), 0);
  now.setMinutes(now.getMinutes() - now.getTimezoneOffset());
  return now.toISOString().slice(0, 19);
}

/** A datetime-local value with this browser's zone offset at that moment, or "" when empty. */
function zoned(local) {
  if (!local) return "";
  return zonedDateTime(local, -new Date(local).getTimezoneOffset()) || "";
}

$("record-start").value = localNow();
$("record-end").value = localNow();

function checkPeriod() {
  const start = $("record-start").value;
  const end = $("record-end").value;
  const backwards = start && end && new Date(end) < new Date(start);
  $("record-end").setCustomValidity(backwards ? said.ends_before_start : "");
}
$("record-start").addEventListener("input", checkPeriod);
$("record-end").addEventListener("input", checkPeriod);

$("record-locate").addEventListener("click", () => {
  if (!("geolocation" in navigator)) return;
  navigator.geolocation.getCurrentPosition(
    (position) => {
      $("record-lat").value = position.coords.latitude.toFixed(6);
      $("record-lon").value = position.coords.longitude.toFixed(6);
    },
    () => {},
    { enableHighAccuracy: true, timeout: 15000 },
  );
});

// A party with a name needs a role (the schema requires one).
$("record-party-name").addEventListener("input", () => {
  $("record-party-role").required = $("record-party-name").value.trim() !== "";
});

// ---- the document ---------------------------------------------------------------------------

function commonFields() {
  return {
    caseRef: $("record-case-ref").value,
    place: { address: $("record-address").value, lat: $("record-lat").value, lon: $("record-lon").value },
    startedAt: zoned($("record-start").value),
    endedAt: zoned($("record-end").value),
    notes: $("record-notes").value,
  };
}

function recordDocument(portId) {
  const common = commonFields();
  if (portId === "inquiry_record") {
    return inquiryRecord({
      ...common,
      interviewers: rowValues(officers),
      recorder: { name: $("record-recorder-name").value, certNo: $("record-recorder-cert").value },
      interviewee: {
        name: $("record-interviewee-name").value,
        role: $("record-interviewee-role").value,
        idNumber: $("record-interviewee-id").value,
        contact: $("record-interviewee-contact").value,
      },
      items: rowValues($("record-items")),
    });
  }
  return onsiteRecord({
    ...common,
    officers: rowValues(officers),
    party: {
      name: $("record-party-name").value,
      role: $("record-party-role").value,
      idNumber: $("record-party-id").value,
      contact: $("record-party-contact").value,
    },
    witnesses: rowValues($("record-witnesses")),
    observations: rowValues($("record-observations")).map((row) => ({ ...row, time: zoned(row.time) })),
    measures: rowValues($("record-measures")).map((row) => row.text),
  });
}

recordForm.addEventListener("submit", (event) => {
  event.preventDefault();
  checkPeriod();
  if (!recordForm.reportValidity()) return;
  const portId = port.value;
  handOver(() => documentFile(portId, recordDocument(portId)));
});
