"""Merkle trees, the AnchorRegistry contract and anchoring clients (chain issue)."""
