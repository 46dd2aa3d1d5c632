"""Which media types a port takes: one place that words the 415 answer."""

from __future__ import annotations

from collections.abc import Collection

from evidence_service.core.errors import WrongMediaTypeError


def require_media_type(media_type: str | None, accepted: Collection[str], port_label: str) -> str:
    """``media_type`` if it is one of ``accepted``, else :class:`WrongMediaTypeError`."""
    if media_type is None or media_type not in accepted:
        raise WrongMediaTypeError(
            f"{port_label} accepts {', '.join(sorted(accepted))}; "
            f"the content is {media_type or 'of an unknown type'}",
            detected_media_type=media_type,
        )
    return media_type
