"""The department seal image, drawn once per department name and code in this process.

Drawing takes about 0.1 s; the seal endpoint, evidence-list PDFs and court packages share it.
A department stored before names were checked (``access/people.py`` refuses new ones the seal
cannot draw) may still hold such a name: its seal is an :class:`UndrawableSealError` (409
``undrawable-seal``), never a 500, wherever it is needed.
"""

from __future__ import annotations

import threading

from evidence_service.access.models import Department
from evidence_service.core.errors import UndrawableSealError
from signing.seal_image import SealImageError, render_seal

_images: dict[tuple[str, str, str], bytes] = {}
_images_lock = threading.Lock()


def seal_png(department: Department) -> bytes:
    """Rendered once per (department, name, code) in this process (~0.1 s each)."""
    key = (department.id, department.name, department.code)
    with _images_lock:
        cached = _images.get(key)
    if cached is None:
        try:
            cached = render_seal(department_name=department.name, seal_code=department.code)
        except SealImageError as exc:
            raise UndrawableSealError(
                f"the seal of department {department.id} cannot be drawn ({exc}); its name "
                "or code must be corrected"
            ) from exc
        with _images_lock:
            _images[key] = cached
    return cached
