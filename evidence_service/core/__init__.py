"""Core: settings, database sessions, time, ids, errors, cursors and local secrets. Imports no
wing.
"""
