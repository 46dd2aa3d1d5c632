"""The eight capture ports by id: the only lookup the ingest pipeline needs."""

from __future__ import annotations

from evidence_service.capture.ports.audiovisual import AudiovisualPort
from evidence_service.capture.ports.base import CapturePort
from evidence_service.capture.ports.documentary import DocumentaryPort
from evidence_service.capture.ports.electronic import ElectronicPort
from evidence_service.capture.ports.inquiry_record import InquiryRecordPort
from evidence_service.capture.ports.onsite_record import OnsiteRecordPort
from evidence_service.capture.ports.physical import PhysicalPort
from evidence_service.capture.ports.remote_video import RemoteVideoPort
from evidence_service.capture.ports.site_survey import SiteSurveyPort
from evidence_service.core.config import PORT_IDS
from evidence_service.core.errors import UnknownPortError

_ALL: tuple[CapturePort, ...] = (
    DocumentaryPort(),
    PhysicalPort(),
    AudiovisualPort(),
    ElectronicPort(),
    SiteSurveyPort(),
    RemoteVideoPort(),
    InquiryRecordPort(),
    OnsiteRecordPort(),
)

#: Port id -> port, in the order of the Administrative Penalty Law's art. 46 list. Do not mutate.
PORTS: dict[str, CapturePort] = {port.id: port for port in _ALL}
if tuple(PORTS) != PORT_IDS:  # pragma: no cover - a port added here and not in core.config
    raise RuntimeError(f"capture ports {tuple(PORTS)} differ from core.config.PORT_IDS")


def get_port(port_id: str) -> CapturePort:
    """The port with this id, or :class:`UnknownPortError` listing the known ids."""
    try:
        return PORTS[port_id]
    except KeyError:
        raise UnknownPortError(
            f"unknown capture port {port_id!r}; known ports: {', '.join(PORTS)}",
            known_ports=list(PORTS),
        ) from None
