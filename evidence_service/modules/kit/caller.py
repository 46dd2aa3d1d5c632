"""Who calls a module's route, as the core knows them.

The core's policy table has already let the caller's role through (``api/policy.py``) before a
module's route runs; the finer rules (whose records, which department) are the module's, from
what the core says of the caller: ``GET /api/v1/me`` and the department's kind from
``GET /api/v1/departments``, asked with the caller's own token, never a super-user's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from fastapi import Request

from evidence_service.client import ApiError, AsyncEvidenceClient
from evidence_service.modules.kit.problems import ModuleProblem

C = TypeVar("C", bound="CoreCaller")


@dataclass(frozen=True)
class CoreCaller:
    officer_id: str
    role: str
    department_id: str
    department_kind: str
    departments: frozenset[str]  # every department id the core knows


class CallerRefusedError(ModuleProblem):
    """The core did not accept the caller's token (401) or role (403)."""

    slug, title = "caller-refused", "The evidence core refused the caller"

    def __init__(self, detail: str, *, status: int) -> None:
        super().__init__(detail)
        self.status = status


class CoreUnavailableError(ModuleProblem):
    slug, title, status = "core-unavailable", "The evidence core did not answer", 502


IN_PROCESS_URL = "http://core"


def core_client(base_url: str | None, core_app: Any, token: str) -> AsyncEvidenceClient:
    """A client of the core acting as ``token``'s holder: in process through the core's ASGI
    app (no network hop), or at ``base_url`` for a separate deployment."""
    if base_url:
        return AsyncEvidenceClient(base_url, token)
    return AsyncEvidenceClient(IN_PROCESS_URL, token, transport=httpx.ASGITransport(app=core_app))


def bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


async def ask_core(core: AsyncEvidenceClient, cls: type[C]) -> C:
    """Who holds ``core``'s token: CallerRefusedError when the core refuses it,
    CoreUnavailableError when it cannot say."""
    async with core:
        try:
            me = await core.me()
            departments = await core.departments()
        except ApiError as exc:
            if exc.status in (401, 403):  # a separate deployment: the core refused the token
                raise CallerRefusedError(
                    str(exc.problem.get("detail", "")), status=exc.status
                ) from exc
            raise CoreUnavailableError(f"asking the core who calls failed: {exc}") from exc
        except httpx.HTTPError as exc:
            raise CoreUnavailableError(f"asking the core who calls failed: {exc}") from exc
    kinds = {d["id"]: d["kind"] for d in departments}
    return cls(
        officer_id=me["id"],
        role=me["role"],
        department_id=me["department_id"],
        department_kind=kinds.get(me["department_id"], ""),
        departments=frozenset(kinds),
    )


async def department_names(core: AsyncEvidenceClient) -> dict[str, str]:
    """Department names by id, as the core tells the caller (decoration for pages: the ids
    stand in when the core cannot say)."""
    try:
        async with core:
            return {d["id"]: d["name"] for d in await core.departments()}
    except (ApiError, httpx.HTTPError):
        return {}
