"""A transfer's court package, downloaded: by whom it may be (:func:`package_transfer`), what
travels with it (the case's issued evidence list, as the sealed PDF and the checkable
document), the streamed ZIP, and one ``downloaded`` custody event per item.

Everything that can refuse runs before the first byte, so a refusal is an error answer and not
a truncated download (see :func:`stream_package`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from evidence_service.access.identity import Actor
from evidence_service.cases.evidence_lists import issued_list_to_send
from evidence_service.render.evidence_list_pdf import render_evidence_list_pdf
from evidence_service.render.seal_image import seal_png
from evidence_service.transfer.documents import seal_json
from evidence_service.transfer.models import Transfer
from evidence_service.transfer.needs import TransferNeeds
from evidence_service.transfer.packages import stream_package
from evidence_service.transfer.transfers import package_transfer, record_download


def download_package(
    services: TransferNeeds, actor: Actor, transfer_id: str
) -> tuple[Transfer, Iterator[bytes]]:
    """The transfer and its package's ZIP chunks, for either end (a rejected or withdrawn
    transfer is no longer the recipient's: 409). Proofs and custody are taken now; each item
    gets a ``downloaded`` event; once the last member is streamed, the sending department seals
    the list of every member (a ``sealed`` custody event by the caller)."""
    transfer = package_transfer(services, actor, transfer_id)
    chunks = stream_package(
        services,
        transfer.manifest,
        seal_json(transfer),
        department_id=transfer.from_department_id,
        actor_id=actor.officer_id,
        evidence_list=_evidence_list(services, transfer),
    )
    record_download(services, actor, transfer)
    return transfer, chunks


def _evidence_list(
    services: TransferNeeds, transfer: Transfer
) -> tuple[bytes, dict[str, Any]] | None:
    """The issued list named in the manifest, as the PDF and the checkable document."""
    named = transfer.manifest["transfer"].get("evidence_list")
    if not named:
        return None
    found = issued_list_to_send(services.engine, services.trees, named["id"])
    if found is None:
        return None
    document, printable = found
    pdf = render_evidence_list_pdf(printable.document, seal_png=seal_png(printable.department))
    return pdf, document
