// RFC 9162 Merkle audit paths over SHA-256, as `chain/merkle.py` checks them: leaf hash =
// SHA-256(0x00 ‖ data), node hash = SHA-256(0x01 ‖ left ‖ right), and the inclusion check of
// §2.1.3.2. Pure: bytes in, bytes out or an InclusionProofError saying what did not check out.
// Indexes and sizes are BigInts inside (RFC 9162 sizes are uint64; JavaScript's bit operators
// stop at 32 bits).
import { Sha256 } from "./sha256.js";

export const HASH_SIZE = 32;
/** Longest audit path accepted (RFC 9162 sizes and indexes are uint64). */
export const MAX_PROOF_DEPTH = 64;
const MAX_TREE_SIZE = 1n << 64n;

export class InclusionProofError extends Error {
  constructor(message) {
    super(message);
    this.name = "InclusionProofError";
  }
}

export function bytesToHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Bytes of an even-length hex string (an optional 0x prefix is dropped); throws otherwise. */
export function hexToBytes(hex) {
  const text = hex.startsWith("0x") ? hex.slice(2) : hex;
  if (text.length % 2 || !/^[0-9a-fA-F]*$/.test(text)) throw new Error(`not hex: ${hex}`);
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** SHA-256(0x00 ‖ data): the hash of one leaf entry. */
export function leafHash(data) {
  return new Sha256().update(Uint8Array.of(0)).update(data).digest();
}

/** SHA-256(0x01 ‖ left ‖ right): the hash of an interior node. */
export function nodeHash(left, right) {
  return new Sha256().update(Uint8Array.of(1)).update(left).update(right).digest();
}

function asCount(value, what) {
  if (typeof value === "bigint") return value;
  if (!Number.isSafeInteger(value)) throw new InclusionProofError(`${what} ${value} is not an integer`);
  return BigInt(value);
}

function bitLength(n) {
  return n === 0n ? 0 : n.toString(2).length;
}

function bitCount(n) {
  return [...n.toString(2)].filter((bit) => bit === "1").length;
}

function hashes(count) {
  return count === 1 ? "1 hash" : `${count} hashes`;
}

/** Hashes in the audit path of leaf `index` in a tree of `size` (0 <= index < size). */
function inclusionPathLength(index, size) {
  const inner = bitLength(index ^ (size - 1n));
  return inner + bitCount(index >> BigInt(inner));
}

function checkHash(what, value) {
  if (!(value instanceof Uint8Array) || value.length !== HASH_SIZE) {
    throw new InclusionProofError(`${what} is ${value?.length} bytes, not ${HASH_SIZE}`);
  }
}

/**
 * The root that the audit path `proof` gives for leaf `index` of a tree of `size` leaves:
 * RFC 9162 §2.1.3.2 steps 1-5 without the final comparison.
 */
export function rootFromInclusionProof(index, size, leaf, proof) {
  const fnStart = asCount(index, "leaf index");
  const n = asCount(size, "tree size");
  if (!(fnStart >= 0n && fnStart < n)) {
    throw new InclusionProofError(`leaf index ${fnStart} is not in a tree of size ${n}`);
  }
  if (n > MAX_TREE_SIZE) {
    throw new InclusionProofError(`tree size ${n} exceeds the limit of ${MAX_TREE_SIZE}`);
  }
  if (proof.length > MAX_PROOF_DEPTH) {
    throw new InclusionProofError(
      `the proof has ${hashes(proof.length)}; at most ${MAX_PROOF_DEPTH} are accepted`,
    );
  }
  const expected = inclusionPathLength(fnStart, n);
  if (proof.length !== expected) {
    throw new InclusionProofError(
      `the audit path has ${hashes(proof.length)}; leaf ${fnStart} of a tree of size ${n} needs ${expected}`,
    );
  }
  checkHash("the leaf hash", leaf);
  proof.forEach((p, position) => checkHash(`audit path hash ${position}`, p));
  let fn = fnStart;
  let sn = n - 1n;
  let r = leaf;
  for (const p of proof) {
    if (fn & 1n || fn === sn) {
      r = nodeHash(p, r);
      while (fn && !(fn & 1n)) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new InclusionProofError("the audit path does not reach the root of the tree");
  return r;
}

/** Returns nothing if `leaf` is leaf `index` of the tree of `size` with `root`; throws otherwise. */
export function verifyInclusion(index, size, leaf, proof, root) {
  checkHash("the root", root);
  const computed = rootFromInclusionProof(index, size, leaf, proof);
  if (bytesToHex(computed) !== bytesToHex(root)) {
    throw new InclusionProofError(
      `the audit path gives root ${bytesToHex(computed)}, not the claimed ${bytesToHex(root)}`,
    );
  }
}
