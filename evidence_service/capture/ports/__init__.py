"""Capture ports: one per evidence type of the Administrative Penalty Law, art. 46.

Use :func:`evidence_service.capture.ports.registry.get_port` to find a port by id; every port
follows the :class:`evidence_service.capture.ports.base.CapturePort` protocol.
"""
