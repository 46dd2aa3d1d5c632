"""Co-signatures: one BLS aggregate by several departments over a statement or a batch root."""
