"""/api/v1/custody: check the custody hash chain and the heads anchored on chain — from the
last verified checkpoint at once, or the whole log as a background job."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from evidence_service.anchoring.custody_anchors import SYNC_FULL_WALK_LIMIT, verify_custody
from evidence_service.anchoring.custody_jobs import job_public, read_job, submit_full_check
from evidence_service.api import schemas
from evidence_service.api.deps import CurrentActor, ServicesDep
from evidence_service.api.responses import ok, problems
from evidence_service.core.metrics import count_verification

router = APIRouter(prefix="/api/v1/custody", tags=["custody"])


@router.get(
    "/verify",
    summary="Check the custody chain from the last verified anchored head",
    responses={**ok(schemas.CustodyVerification), **problems(401, 409, 422)},
)
def verify(
    services: ServicesDep,
    actor: CurrentActor,
    full: Annotated[
        bool,
        Query(
            description=f"walk from the first event (a walk from the first event — full, "
            f"or before any checkpoint — is refused with 409 above {SYNC_FULL_WALK_LIMIT} "
            "events: use POST /api/v1/custody/verify-jobs)"
        ),
    ] = False,
) -> dict[str, Any]:
    """Reports the first broken link, a deleted or rewritten tail (against the head anchored
    with each batch), or a batch whose root the chain does not hold. Walks only the events
    after the checkpoint (``from_checkpoint``: the last anchored head a check found whole and
    the chain confirmed) and moves it on (``checkpoint``)."""
    report = verify_custody(
        services.engine,
        trees=services.trees,
        w3=services.chain_reader(),
        now=services.clock(),
        full=full,
    )
    count_verification("custody", report.valid)
    return report.as_json()


@router.post(
    "/verify-jobs",
    status_code=202,
    summary="Start a full walk of the custody log in the background",
    responses={**ok(schemas.CustodyVerifyJob, 202), **problems(401, 409)},
)
def start_verify_job(services: ServicesDep, actor: CurrentActor) -> dict[str, Any]:
    """One job at a time (409 while one runs). Poll ``GET …/verify-jobs/{id}`` for its
    progress; its ``result`` has the form of ``GET /custody/verify``. A job whose process
    died is resumed where it stopped."""
    job = submit_full_check(
        services.engine,
        actor_id=actor.officer_id,
        trees=services.trees,
        reader=services.chain_reader,
        clock=services.clock,
    )
    return job_public(job)


@router.get(
    "/verify-jobs/{job_id}",
    summary="A full custody walk's progress and result",
    responses={**ok(schemas.CustodyVerifyJob), **problems(401, 404, 422)},
)
def get_verify_job(
    job_id: Annotated[int, Path(ge=1)], services: ServicesDep, actor: CurrentActor
) -> dict[str, Any]:
    return job_public(read_job(services.engine, job_id))
