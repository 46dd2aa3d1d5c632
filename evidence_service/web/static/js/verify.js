// The public verify page: every step of PROOF_FORMAT.md, in its order, run here in the browser.
// The file is hashed here and never sent: the service is asked only for the certificate checks
// of step 4 (with the proof, the file's SHA-256 and size) and, through its read-only JSON-RPC
// relay, for the chain's facts of step 5.
import { apiJson, words } from "./api.js";
import { sha256File } from "./sha256.js";
import { canonicalBytes } from "./jcs.js";
import { bytesToHex, hexToBytes, leafHash, verifyInclusion } from "./merkle.js";
import { AnchorMismatchError, jsonRpc, pinProblem, verifyAnchor } from "./anchor.js";

const said = words("verify-words");
const $ = (id) => document.getElementById(id);
const form = $("verify-form");
const fileInput = $("evidence-file");
const proofInput = $("proof-file");
const HEX64 = /^[0-9a-f]{64}$/;
const SHOWN_ZONE = "Asia/Shanghai";

// ------------------------------------------------------------------------------ showing steps

function stepNode(name) {
  return document.querySelector(`[data-step="${name}"]`);
}

function show(name, state, detail = "") {
  const node = stepNode(name);
  node.dataset.state = state;
  node.querySelector("[data-role=state]").textContent = said[`state_${state}`] ?? state;
  node.querySelector("[data-role=detail]").textContent = detail;
}

function resetSteps() {
  for (const node of document.querySelectorAll("[data-step]")) {
    show(node.dataset.step, "pending");
    const facts = node.querySelector("[data-role=block]");
    if (facts) facts.hidden = true;
  }
  const verdict = $("verdict");
  verdict.dataset.state = "pending";
  delete verdict.dataset.failure;
  verdict.textContent = "";
  $("verify-error").hidden = true;
  $("hash-progress").value = 0;
}

function shownTime(seconds) {
  const parts = new Intl.DateTimeFormat("en-GB", {
    timeZone: SHOWN_ZONE, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  }).formatToParts(new Date(seconds * 1000));
  const part = Object.fromEntries(parts.map((p) => [p.type, p.value]));
  return `${part.year}-${part.month}-${part.day} ${part.hour}:${part.minute}:${part.second} (UTC+8)`;
}

function showBlock(found) {
  const facts = stepNode("anchor").querySelector("[data-role=block]");
  $("anchor-block").textContent = String(found.blockNumber);
  $("anchor-time").textContent = shownTime(found.timestamp);
  facts.hidden = false;
}

function showVerdict(results) {
  const verdict = $("verdict");
  const order = [...document.querySelectorAll("[data-step]")];
  const failing = order.find((node) => results[node.dataset.step]?.state === "fail");
  const undecided = order.find((node) => results[node.dataset.step]?.state === "error");
  const culprit = failing ?? undecided;
  if (!culprit) {
    verdict.dataset.state = "pass";
    verdict.textContent = said.valid;
    return;
  }
  const name = culprit.dataset.step;
  verdict.dataset.state = failing ? "fail" : "error";
  verdict.dataset.failure = culprit.dataset.failure;
  const title = culprit.querySelector("[data-role=title]").textContent;
  const lead = failing ? said.invalid : said.undecided;
  verdict.textContent = `${lead} ${name} (${culprit.dataset.failure}) · ${title}`;
}

// --------------------------------------------------------------------------------- the proof

function proofProblem(proof) {
  if (proof === null || typeof proof !== "object" || Array.isArray(proof)) return "not a JSON object";
  if (proof.format !== "evidence-proof/1") return `format is ${JSON.stringify(proof.format)}`;
  const statement = proof.statement;
  if (!statement || typeof statement !== "object" || Array.isArray(statement)) return "no statement";
  if (!HEX64.test(String(statement.sha256)) || !Number.isSafeInteger(statement.size)) {
    return "the statement's sha256 and size are missing or malformed";
  }
  const merkle = proof.merkle;
  if (merkle != null) {
    const hashes = [merkle.leaf_hash, merkle.root, ...(Array.isArray(merkle.path) ? merkle.path : [null])];
    if (!hashes.every((h) => typeof h === "string" && HEX64.test(h))) {
      return "merkle: leaf_hash, root and path must be 64 lowercase hex digits";
    }
    if (!Number.isSafeInteger(merkle.leaf_index) || !Number.isSafeInteger(merkle.tree_size)) {
      return "merkle: leaf_index and tree_size must be integers";
    }
  }
  const anchor = proof.anchor;
  if (anchor != null) {
    const hex = (value, digits) => typeof value === "string" && new RegExp(`^0x[0-9a-fA-F]{${digits}}$`).test(value);
    const counts = ["chain_id", "block_number", "block_timestamp", "batch_id"];
    if (!hex(anchor.contract, 40) || !hex(anchor.tx_hash, 64) || !hex(anchor.block_hash, 64) ||
        !counts.every((key) => Number.isSafeInteger(anchor[key]))) {
      return "anchor: a field is missing or malformed";
    }
  }
  return null;
}

async function readProof(file) {
  if (file.size > said.max_proof_bytes) throw new Error(`larger than ${said.max_proof_bytes} bytes`);
  let proof;
  try {
    proof = JSON.parse(await file.text());
  } catch (error) {
    throw new Error(`not JSON: ${error.message}`);
  }
  const problem = proofProblem(proof);
  if (problem) throw new Error(problem);
  return proof;
}

// ---------------------------------------------------------------------------------- the steps

async function checkContent(file, statement) {
  const progress = $("hash-progress");
  const digest = await sha256File(file, {
    onProgress: (done, total) => { progress.value = total ? (100 * done) / total : 100; },
  });
  if (digest !== statement.sha256) {
    return { digest, result: { state: "fail", detail: `SHA-256 ${digest} ≠ ${statement.sha256}` } };
  }
  if (file.size !== statement.size) {
    return { digest, result: { state: "fail", detail: `${file.size} bytes ≠ ${statement.size}` } };
  }
  return { digest, result: { state: "pass", detail: `SHA-256 ${digest} · ${file.size} bytes` } };
}

function checkLeaf(proof) {
  if (!proof.merkle) return { state: "fail", detail: said.no_merkle };
  const computed = bytesToHex(leafHash(canonicalBytes(proof.statement)));
  if (computed !== proof.merkle.leaf_hash) {
    return { state: "fail", detail: `SHA-256(0x00 ‖ JCS) = ${computed} ≠ ${proof.merkle.leaf_hash}` };
  }
  return { state: "pass", detail: `SHA-256(0x00 ‖ JCS) = ${computed}` };
}

function checkInclusion(proof) {
  const merkle = proof.merkle;
  if (!merkle) return { state: "fail", detail: said.no_merkle };
  try {
    verifyInclusion(
      merkle.leaf_index, merkle.tree_size, hexToBytes(merkle.leaf_hash),
      merkle.path.map(hexToBytes), hexToBytes(merkle.root),
    );
  } catch (error) {
    return { state: "fail", detail: error.message };
  }
  return { state: "pass", detail: `${merkle.leaf_index} / ${merkle.tree_size} → ${merkle.root}` };
}

async function checkSignature(proof, digest, size) {
  try {
    const verdict = await apiJson("/api/v1/verify", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ proof, sha256: digest, size }),
    });
    const step = verdict.steps.find((s) => s.name === "signature");
    return { state: step.status, detail: step.detail };
  } catch (error) {
    return { state: "error", detail: error.message };
  }
}

async function checkAnchor(proof) {
  if (!proof.merkle || !proof.anchor) return { state: "fail", detail: said.no_anchor };
  const call = jsonRpc((request) => apiJson("/api/v1/chain/rpc", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(request),
  }));
  try {
    const pins = await apiJson("/api/v1/trust");
    const pinned = pinProblem(proof.anchor, pins);
    if (pinned) return { state: "fail", detail: pinned };
    const claim = { ...proof.anchor, root: proof.merkle.root, tree_size: proof.merkle.tree_size };
    const found = await verifyAnchor(call, claim);
    showBlock(found);
    return { state: "pass", detail: `${said.block} ${found.blockNumber} · ${found.blockHash}` };
  } catch (error) {
    return { state: error instanceof AnchorMismatchError ? "fail" : "error", detail: error.message };
  }
}

async function verify() {
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    await runSteps();
  } catch (error) {
    fail(error.message);
  } finally {
    button.disabled = false;
  }
}

async function runSteps() {
  resetSteps();
  const file = fileInput.files[0];
  const proofFile = proofInput.files[0];
  if (!file || !proofFile) return fail(said.need_both);
  let proof;
  try {
    proof = await readProof(proofFile);
  } catch (error) {
    return fail(`${said.bad_proof} ${error.message}`);
  }
  const results = {};
  const record = (name, result) => { results[name] = result; show(name, result.state, result.detail); };
  for (const name of ["content", "signature", "anchor"]) show(name, "running");
  record("leaf", checkLeaf(proof));
  record("inclusion", checkInclusion(proof));
  const anchored = checkAnchor(proof).then((result) => record("anchor", result));
  const { digest, result } = await checkContent(file, proof.statement);
  record("content", result);
  record("signature", await checkSignature(proof, digest, file.size));
  await anchored;
  showVerdict(results);
}

function fail(message) {
  const error = $("verify-error");
  error.textContent = message;
  error.hidden = false;
}

// ------------------------------------------------------------------------------ choosing files

function place(input, file) {
  const chosen = new DataTransfer();
  chosen.items.add(file);
  input.files = chosen.files;
}

async function looksLikeProof(file) {
  if (file.size > said.max_proof_bytes) return false;
  try {
    return JSON.parse(await file.text())?.format === "evidence-proof/1";
  } catch {
    return false;
  }
}

async function dropped(files) {
  for (const file of files) {
    place((await looksLikeProof(file)) ? proofInput : fileInput, file);
  }
  if (fileInput.files.length && proofInput.files.length) await verify();
}

const zone = $("drop");
zone.addEventListener("dragover", (event) => {
  event.preventDefault();
  zone.classList.add("over");
});
zone.addEventListener("dragleave", () => zone.classList.remove("over"));
zone.addEventListener("drop", (event) => {
  event.preventDefault();
  zone.classList.remove("over");
  dropped([...event.dataTransfer.files].slice(0, 2));
});
form.addEventListener("submit", (event) => {
  event.preventDefault();
  verify();
});
