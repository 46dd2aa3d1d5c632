"""Placeholder: filled in by the module's next step."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/inspection", tags=["inspection"])
