"""The supervision module's problems: RFC 9457 answers in the core's shape, through the
kit's handler (``kit/problems.py``)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.responses import Response

from evidence_service.modules.kit import caller as kit_caller
from evidence_service.modules.kit import problems as kit_problems
from evidence_service.modules.kit.problems import PROBLEM_JSON as PROBLEM_JSON
from evidence_service.modules.kit.problems import ModuleProblem


class SupervisionProblem(ModuleProblem):
    slug = "supervision-error"
    title = "Supervision module error"


class BadBatchError(SupervisionProblem):
    """Rows that cannot be records; ``errors`` lists each bad row with what is wrong."""

    slug, title, status = "bad-records", "Records batch refused", 422


class UnsupportedMediaError(SupervisionProblem):
    slug, title, status = "wrong-media-type", "Send JSON or CSV records", 415


class ForbiddenDepartmentError(SupervisionProblem):
    slug, title, status = "forbidden", "Your role does not allow this action", 403


class RecordNotFoundError(SupervisionProblem):
    slug, title, status = "not-found", "No such resource", 404


class BadQueryError(SupervisionProblem):
    slug, title, status = "invalid-request", "The request does not match the API", 422


CoreUnavailableError = kit_caller.CoreUnavailableError


def install_problem_handler(
    app: FastAPI, page: Callable[[Request, ModuleProblem], Response | None]
) -> None:
    """Problems answer problem+json, or ``page``'s HTML where it gives one (a page's request)."""
    kit_problems.install_problem_handler(app, page)
