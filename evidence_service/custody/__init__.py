"""Custody: the append-only, hash-chained custody log."""
