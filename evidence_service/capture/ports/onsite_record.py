"""现场笔录 on-site record: an inspection record as JSON, validated and rendered to HTML."""

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

SCHEMA = "onsite_record"

#: What the party writes above the signature after reading the record.
ATTESTATION = "以上笔录我已看过，与现场情况相符。"


def _observation_html(observation: dict[str, Any]) -> str:
    parts = []
    if "time" in observation:
        parts.append(f"<b>{text(observation['time'])}</b> ")
    parts.append(text(observation["text"]))
    refs = observation.get("evidence_refs")
    if refs:
        parts.append(
            f"\n<small>{bilingual('关联证据', 'Evidence')}："
            f"{'、'.join(text(ref) for ref in refs)}</small>"
        )
    return f'<li class="entry">{"".join(parts)}</li>'


def render_onsite_html(record: dict[str, Any]) -> bytes:
    """The record as a standalone HTML page; identity numbers masked, every string escaped."""
    rows = []
    if "case_ref" in record:
        rows.append(("案号", "Case ref.", text(record["case_ref"])))
    rows += [
        ("地点", "Place", place_text(record["place"])),
        ("开始时间", "Started", text(record["started_at"])),
        ("结束时间", "Ended", text(record["ended_at"])),
        ("执法人员", "Officers", "<br>".join(officer_text(o) for o in record["officers"])),
    ]
    if "party" in record:
        party = record["party"]
        rows.append(("当事人", "Party", person_text(party, text(party["role"]))))
    if record.get("witnesses"):
        rows.append(
            ("见证人", "Witnesses", "<br>".join(person_text(w) for w in record["witnesses"]))
        )
    observations = "\n".join(_observation_html(o) for o in record["observations"])
    sections = [
        facts_table(rows),
        f"<h2>{bilingual('现场情况', 'Observations')}</h2>",
        f"<ol>\n{observations}\n</ol>",
    ]
    if record.get("measures_taken"):
        measures = "\n".join(f'<li class="entry">{text(m)}</li>' for m in record["measures_taken"])
        sections.append(f"<h2>{bilingual('采取的措施', 'Measures taken')}</h2>")
        sections.append(f"<ul>\n{measures}\n</ul>")
    if record.get("notes"):
        sections.append(f"<h2>{bilingual('备注', 'Notes')}</h2>")
        sections.append(f'<div class="entry">{text(record["notes"])}</div>')
    sections.append('<div class="signatures">')
    sections.append(signature_line("执法人员签名", "Officers' signatures"))
    sections.append(signature_line("当事人签名", "Party's signature", ATTESTATION))
    if record.get("witnesses"):
        sections.append(signature_line("见证人签名", "Witnesses' signatures"))
    sections.append("</div>")
    return page("现场笔录", "On-site record", sections)


def _extract(document: Any) -> Extraction:
    record = validate_record(document, SCHEMA)
    fields = common_fields(record)
    fields["observation_count"] = len(record["observations"])
    fields["officer_count"] = len(record["officers"])
    if "party" in record:
        fields["party_name"] = record["party"]["name"]
    rendering = DerivedFile("document", HTML_MEDIA_TYPE, render_onsite_html(record))
    return Extraction(sniff.JSON, fields, (rendering,))


class OnsiteRecordPort:
    """A JSON on-site record (``schemas/onsite_record.json``), rendered to HTML.

    Fields: ``started_at``, ``ended_at``, ``place_address``, ``case_ref`` (if given),
    ``observation_count``, ``officer_count``, ``party_name`` (if a party is named).
    Derived: the printable ``document`` (HTML).
    """

    id: ClassVar[str] = "onsite_record"
    label: ClassVar[str] = "现场笔录 on-site record"
    max_size: ClassVar[int | None] = JSON_DOCUMENT_MAX_BYTES

    def inspect(self) -> Inspection:
        return JsonDocumentInspection(self.label, _extract)
