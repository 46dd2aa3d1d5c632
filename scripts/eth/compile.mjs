// Compile chain/contracts/AnchorRegistry.sol with the pinned solcjs in standard-JSON mode and
// write chain/contracts/AnchorRegistry.json (ABI, bytecode, compiler version, evmVersion, source
// SHA-256). Run through scripts/compile_contracts; tests fail if the source changes without it.
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import solc from "solc";

const EVM_VERSION = "prague"; // the newest fork py-evm (the embedded chain) runs
const here = dirname(fileURLToPath(import.meta.url));
const contractsDir = join(here, "..", "..", "chain", "contracts");
const name = "AnchorRegistry";
const source = readFileSync(join(contractsDir, `${name}.sol`), "utf8");

const input = {
  language: "Solidity",
  sources: { [`${name}.sol`]: { content: source } },
  settings: {
    evmVersion: EVM_VERSION,
    optimizer: { enabled: true, runs: 200 },
    metadata: { bytecodeHash: "none" },
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
  },
};
const output = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (output.errors || []).filter((e) => e.severity === "error");
for (const e of output.errors || []) console.error(e.formattedMessage);
if (errors.length) process.exit(1);

const c = output.contracts[`${name}.sol`][name];
const artifact = {
  contractName: name,
  compiler: { name: "solc", version: solc.version(), evmVersion: EVM_VERSION, optimizerRuns: 200 },
  sourceSha256: createHash("sha256").update(source, "utf8").digest("hex"),
  abi: c.abi,
  bytecode: "0x" + c.evm.bytecode.object,
  deployedBytecode: "0x" + c.evm.deployedBytecode.object,
};
writeFileSync(join(contractsDir, `${name}.json`), JSON.stringify(artifact, null, 2) + "\n");
console.log(`${name}: solc ${artifact.compiler.version}, evm ${EVM_VERSION}, source ${artifact.sourceSha256}`);
