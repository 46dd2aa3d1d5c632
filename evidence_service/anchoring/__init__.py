"""Anchoring: Merkle batches of pending leaves, the one-at-a-time worker, the link to the chain,
proofs built from rows, and the custody log checked against the anchored heads.
"""
