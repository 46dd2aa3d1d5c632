"""询问笔录 inquiry record: a Q&A transcript as JSON, validated and rendered to printable HTML."""

from __future__ import annotations

from typing import Any, ClassVar

from evidence_service.capture.ports import sniff
from evidence_service.capture.ports.base import DerivedFile, Extraction, Inspection
from evidence_service.capture.ports.json_upload import JsonDocumentInspection
from evidence_service.capture.ports.limits import JSON_DOCUMENT_MAX_BYTES
from evidence_service.capture.ports.record_html import (
    HTML_MEDIA_TYPE,
    bilingual,
    facts_table,
    officer_text,
    page,
    person_text,
    place_text,
    signature_line,
    text,
)
from evidence_service.capture.ports.records import common_fields, validate_record

SCHEMA = "inquiry_record"

INTERVIEWEE_ROLES: dict[str, tuple[str, str]] = {
    "party": ("当事人", "party"),
    "witness": ("证人", "witness"),
    "victim": ("被侵害人", "victim"),
    "other": ("其他", "other"),
}

#: What the interviewee writes above the signature after reading the transcript.
ATTESTATION = "以上笔录我已看过（或已向我宣读过），与我所说的相符。"


def render_inquiry_html(record: dict[str, Any]) -> bytes:
    """The record as a standalone HTML page; identity numbers masked, every string escaped."""
    interviewee = record["interviewee"]
    role_zh, role_en = INTERVIEWEE_ROLES[interviewee["role"]]
    rows = []
    if "case_ref" in record:
        rows.append(("案号", "Case ref.", text(record["case_ref"])))
    rows += [
        ("地点", "Place", place_text(record["place"])),
        ("开始时间", "Started", text(record["started_at"])),
        ("结束时间", "Ended", text(record["ended_at"])),
        ("询问人", "Interviewers", "<br>".join(officer_text(o) for o in record["interviewers"])),
    ]
    if "recorder" in record:
        rows.append(("记录人", "Recorder", officer_text(record["recorder"])))
    rows.append(("被询问人", "Interviewee", person_text(interviewee, bilingual(role_zh, role_en))))
    transcript = "\n".join(
        f'<div class="entry"><b>{bilingual("问", "Q")}：</b>{text(item["q"])}</div>\n'
        f'<div class="entry"><b>{bilingual("答", "A")}：</b>{text(item["a"])}</div>'
        for item in record["items"]
    )
    sections = [
        facts_table(rows),
        f"<h2>{bilingual('询问内容', 'Questions and answers')}</h2>",
        transcript,
    ]
    if record.get("notes"):
        sections.append(f"<h2>{bilingual('备注', 'Notes')}</h2>")
        sections.append(f'<div class="entry">{text(record["notes"])}</div>')
    sections.append('<div class="signatures">')
    sections.append(signature_line("询问人签名", "Interviewer's signature"))
    if "recorder" in record:
        sections.append(signature_line("记录人签名", "Recorder's signature"))
    sections.append(signature_line("被询问人签名", "Interviewee's signature", ATTESTATION))
    sections.append("</div>")
    return page("询问笔录", "Inquiry record", sections)


def _extract(document: Any) -> Extraction:
    record = validate_record(document, SCHEMA)
    fields = common_fields(record)
    fields["item_count"] = len(record["items"])
    fields["interviewee_name"] = record["interviewee"]["name"]
    fields["interviewee_role"] = record["interviewee"]["role"]
    fields["interviewer_count"] = len(record["interviewers"])
    rendering = DerivedFile("document", HTML_MEDIA_TYPE, render_inquiry_html(record))
    return Extraction(sniff.JSON, fields, (rendering,))


class InquiryRecordPort:
    """A JSON inquiry record (``schemas/inquiry_record.json``), rendered to HTML.

    Fields: ``started_at``, ``ended_at``, ``place_address``, ``case_ref`` (if given),
    ``item_count``, ``interviewee_name``, ``interviewee_role``, ``interviewer_count``.
    Derived: the printable ``document`` (HTML).
    """

    id: ClassVar[str] = "inquiry_record"
    label: ClassVar[str] = "询问笔录 inquiry record"
    max_size: ClassVar[int | None] = JSON_DOCUMENT_MAX_BYTES

    def inspect(self) -> Inspection:
        return JsonDocumentInspection(self.label, _extract)
