// Step 5 of PROOF_FORMAT.md in the browser: does the chain hold the proof's anchor? The same
// facts as `chain/anchor_check.py`, read over plain JSON-RPC with nothing of ours but the
// public contract's ABI: the chain id, `anchoredAt(root)` by eth_call, the transaction's
// receipt and its `Anchored` log, and the block's hash and timestamp.
//
// `call(method, params)` is any async JSON-RPC caller (see `jsonRpc`): verifyAnchor does no
// I/O of its own, so it works against any node the caller chooses.

/** First 4 bytes of keccak256("anchoredAt(bytes32)"). */
export const ANCHORED_AT_SELECTOR = "9591a610";
/** keccak256("Anchored(bytes32,uint256,uint256,address)"): topic 0 of the event. */
export const ANCHORED_TOPIC = "0xbe8241636ae1e531d3342e380dc7c5a7402d0e9b8d2c06b41764e5dcef395cb9";

/** The chain does not hold the claimed anchor; the message says which fact differs. */
export class AnchorMismatchError extends Error {
  constructor(message) {
    super(message);
    this.name = "AnchorMismatchError";
  }
}

/** The node did not answer, or refused: the step cannot be decided. */
export class ChainUnavailableError extends Error {
  constructor(message) {
    super(message);
    this.name = "ChainUnavailableError";
  }
}

/**
 * A JSON-RPC caller over `post(request) -> Promise<answer>` (one HTTP POST of a JSON-RPC
 * request). A transport failure or a JSON-RPC error is a ChainUnavailableError.
 */
export function jsonRpc(post) {
  let id = 0;
  return async function call(method, params) {
    let answer;
    try {
      answer = await post({ jsonrpc: "2.0", id: ++id, method, params });
    } catch (error) {
      throw new ChainUnavailableError(`the chain node did not answer: ${error.message}`);
    }
    if (answer?.error) {
      throw new ChainUnavailableError(`the chain node refused ${method}: ${answer.error.message}`);
    }
    return answer?.result ?? null;
  };
}

/** Why a proof's anchor is not one the verifier trusts (the pinned chain and registry), or null. */
export function pinProblem(anchor, pins) {
  if (pins.chain_id != null && anchor.chain_id !== pins.chain_id) {
    return `the proof names chain ${anchor.chain_id}; the trusted chain is ${pins.chain_id}`;
  }
  if (pins.contract && anchor.contract.toLowerCase() !== pins.contract.toLowerCase()) {
    return `the proof names registry ${anchor.contract}, which is not a trusted registry (${pins.contract})`;
  }
  return null;
}

const lower = (hex) => String(hex).toLowerCase();
const quantity = (hex) => BigInt(hex);

function word(hex) {
  const text = lower(hex).replace(/^0x/, "");
  return text.length === 64 && /^[0-9a-f]+$/.test(text) ? text : null;
}

function isClaimedLog(log, claim) {
  const topics = (log.topics || []).map(lower);
  const data = word(log.data);
  return (
    lower(log.address) === lower(claim.contract) &&
    topics.length === 4 &&
    topics[0] === ANCHORED_TOPIC &&
    topics[1] === `0x${lower(claim.root)}` &&
    quantity(topics[2]) === BigInt(claim.batch_id) &&
    data !== null &&
    BigInt(`0x${data}`) === BigInt(claim.tree_size)
  );
}

/**
 * Resolves to {blockNumber, blockHash, timestamp} as the chain holds them if they are exactly the
 * claim's; rejects with AnchorMismatchError naming the differing fact, or ChainUnavailableError.
 * `claim` is the proof's `anchor` section plus `root` and `tree_size` from its `merkle` section.
 */
export async function verifyAnchor(call, claim) {
  const chainId = Number(quantity(await call("eth_chainId", [])));
  if (chainId !== claim.chain_id) {
    throw new AnchorMismatchError(`the node serves chain ${chainId}, the proof names ${claim.chain_id}`);
  }
  const raw = await call("eth_call", [
    { to: claim.contract, data: `0x${ANCHORED_AT_SELECTOR}${lower(claim.root)}` },
    "latest",
  ]);
  const answer = word(raw ?? "");
  if (answer === null) throw new AnchorMismatchError(`no AnchorRegistry answers at ${claim.contract}`);
  const anchoredAt = BigInt(`0x${answer}`);
  if (anchoredAt === 0n) {
    throw new AnchorMismatchError(`root ${claim.root} is not anchored in ${claim.contract}`);
  }
  if (anchoredAt !== BigInt(claim.block_number)) {
    throw new AnchorMismatchError(
      `anchoredAt(root) is block ${anchoredAt}, the proof says ${claim.block_number}`,
    );
  }
  const receipt = await call("eth_getTransactionReceipt", [claim.tx_hash]);
  if (!receipt) throw new AnchorMismatchError(`not on this chain: transaction ${claim.tx_hash}`);
  if (quantity(receipt.status) !== 1n) throw new AnchorMismatchError(`transaction ${claim.tx_hash} reverted`);
  if (quantity(receipt.blockNumber) !== BigInt(claim.block_number)) {
    throw new AnchorMismatchError(
      `transaction ${claim.tx_hash} is in block ${quantity(receipt.blockNumber)}, not ${claim.block_number}`,
    );
  }
  if (lower(receipt.blockHash) !== lower(claim.block_hash)) {
    throw new AnchorMismatchError("the receipt's block hash differs from the proof's");
  }
  if (!(receipt.logs || []).some((log) => isClaimedLog(log, claim))) {
    throw new AnchorMismatchError(
      `the receipt of ${claim.tx_hash} holds no Anchored log for this root, tree size ` +
        `${claim.tree_size} and batch ${claim.batch_id} from ${claim.contract}`,
    );
  }
  const block = await call("eth_getBlockByNumber", [`0x${BigInt(claim.block_number).toString(16)}`, false]);
  if (!block) throw new AnchorMismatchError(`not on this chain: block ${claim.block_number}`);
  if (lower(block.hash) !== lower(claim.block_hash)) {
    throw new AnchorMismatchError(`block ${claim.block_number} has another hash on this chain`);
  }
  const timestamp = Number(quantity(block.timestamp));
  if (timestamp !== claim.block_timestamp) {
    throw new AnchorMismatchError(
      `block ${claim.block_number} has timestamp ${timestamp}, the proof says ${claim.block_timestamp}`,
    );
  }
  return { blockNumber: claim.block_number, blockHash: lower(block.hash), timestamp };
}
