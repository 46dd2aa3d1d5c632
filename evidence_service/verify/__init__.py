"""Verify: the auditor's checks of proofs, evidence lists and packages. Pure: no database, no web
stack.
"""
