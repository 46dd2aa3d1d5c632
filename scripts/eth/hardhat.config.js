// Hardhat 3 runs only `hardhat node` here (tests/fixtures/hardhat.py): no sources to build.
// Its empty build directories go under node_modules, not into the work tree.
export default {
  paths: {
    artifacts: "node_modules/.hardhat/artifacts",
    cache: "node_modules/.hardhat/cache",
  },
};
