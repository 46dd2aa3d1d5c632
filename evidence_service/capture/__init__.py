"""Capture: the eight ports, streamed intake, resumable uploads, client signing, tags, retention
and holds, the reaper, and the evidence views and queries.
"""
