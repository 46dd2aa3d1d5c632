"""The registry's rows as the module's tables store them: one mapping from a read
:class:`~.registry.Restaurant` or :class:`~.registry.Device` to its columns, for the API's
uploads and for the demo alike (a device's password is kept only as its SHA-256)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from evidence_service.modules.catering import registry
from evidence_service.modules.catering.validation import password_digest


def restaurant_columns(r: registry.Restaurant, now: datetime) -> dict[str, Any]:
    """What an upload sets on a restaurant's row (not its id, credit code or creation time)."""
    return {
        "name": r.name,
        "licence_no": r.licence_no,
        "address": r.address,
        "lat": r.latitude,
        "lon": r.longitude,
        "burners": r.burners,
        "size_class": str(r.size_class),
        "seats": r.seats,
        "purifier_model": r.purifier_model,
        "purifier_efficiency": r.purifier_efficiency,
        "department_id": r.department_id,
        "licensed_on": r.licensed_on.isoformat() if r.licensed_on else None,
        "updated_at": now,
    }


def device_columns(d: registry.Device, restaurant_id: str) -> dict[str, Any]:
    """What an upload sets on a device's row (not its MN, counters or creation time)."""
    return {
        "restaurant_id": restaurant_id,
        "kind": d.kind,
        "password_sha256": password_digest(d.password),
        "crc": d.crc,
        "public_key": d.public_key,
    }
