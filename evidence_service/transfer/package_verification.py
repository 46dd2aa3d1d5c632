"""A package checked on a caller's behalf (``POST /api/v1/packages/verify``): the upload spooled
to a file where the reaper finds it after a crash, the verdict under the caller's limits, and
the custody event that records a signed-in caller's check, in a transaction of its own.

The upload is untrusted and, for an anonymous caller, free: what one request may make the
service inflate and hash is capped (``EVIDENCE_PACKAGE_VERIFY_MAX_READ_BYTES``), and the
verifier checks the seals before it hashes anything (see :mod:`evidence_service.verify.package`).
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine
from web3 import Web3

from evidence_service.access.identity import Actor
from evidence_service.capture.reaper import request_spool_dir
from evidence_service.core.config import Settings
from evidence_service.core.db import session_scope
from evidence_service.core.errors import OversizeError
from evidence_service.custody.log import append_event
from evidence_service.verify.package import package_verdict
from evidence_service.verify.package_format import LIMITS, PackageLimits
from evidence_service.verify.proof_steps import Pins
from evidence_service.verify.verdict import Verdict

SPOOL_PREFIX = "evidence-package-"


def caller_limits(settings: Settings, actor: Actor | None) -> PackageLimits:
    """An anonymous caller's verification reads at most the configured bytes; a signed-in
    caller's only each read's own cap."""
    if actor is not None:
        return LIMITS
    return dataclasses.replace(
        LIMITS,
        max_read_bytes=settings.package_verify_max_read_bytes,
        over_limit_advice=(
            "verify it offline with `evidence verify-package`, or sign in (anonymous requests "
            "here are capped by EVIDENCE_PACKAGE_VERIFY_MAX_READ_BYTES)"
        ),
    )


def spool_upload(chunks: Iterable[bytes], directory: Path, *, limit: int) -> Path:
    """Write the upload to a new file in ``directory``; OversizeError (and nothing left) past
    ``limit``. A process killed meanwhile leaves the file to the reaper."""
    fd, name = tempfile.mkstemp(prefix=SPOOL_PREFIX, suffix=".zip", dir=directory)
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            written = 0
            for chunk in chunks:
                written += len(chunk)
                if written > limit:
                    raise OversizeError(
                        f"packages verified here are limited to {limit} bytes; "
                        "verify larger ones offline with `evidence verify-package`",
                        limit=limit,
                    )
                out.write(chunk)
        return path
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def verify_uploaded_package(
    chunks: Iterable[bytes],
    *,
    settings: Settings,
    actor: Actor | None,
    w3: Web3 | None,
    pins: Pins,
    max_bytes: int,
    require_signature: bool = False,
) -> Verdict:
    """Spool the upload (at most ``max_bytes``) into the data dir's spool, verify it under the
    caller's limits, remove the file (whatever happened)."""
    path = spool_upload(chunks, request_spool_dir(settings), limit=max_bytes)
    try:
        return package_verdict(
            path,
            w3=w3,
            pins=pins,
            limits=caller_limits(settings, actor),
            require_signature=require_signature,
        )
    finally:
        path.unlink(missing_ok=True)


def record_package_verified(
    engine: Engine, actor: Actor, verdict: Verdict, *, at: datetime
) -> None:
    """One ``package_verified`` custody event: which manifest, whether it verified, and the
    first failure."""
    with session_scope(engine) as session:
        append_event(
            session,
            action="package_verified",
            at=at,
            actor_id=actor.officer_id,
            department_id=actor.department_id,
            details={
                "manifest_sha256": verdict.manifest_digest,
                "valid": verdict.valid,
                "failure": str(verdict.failure) if verdict.failure else None,
            },
        )
