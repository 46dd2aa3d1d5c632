"""The department seal image, drawn once per department name and code in this process.

Drawing takes about 0.1 s; the seal endpoint, evidence-list PDFs and court packages share it.
"""

from __future__ import annotations

import threading

from evidence_service.access.models import Department
from signing.seal_image import render_seal

_images: dict[tuple[str, str, str], bytes] = {}
_images_lock = threading.Lock()


def seal_png(department: Department) -> bytes:
    """Rendered once per (department, name, code) in this process (~0.1 s each)."""
    key = (department.id, department.name, department.code)
    with _images_lock:
        cached = _images.get(key)
    if cached is None:
        cached = render_seal(department_name=department.name, seal_code=department.code)
        with _images_lock:
            _images[key] = cached
    return cached
