"""Building blocks of the printable HTML renderings of inquiry and on-site records.

Every string from the record passes through :func:`text` (HTML-escaped) before it reaches the
page, and identity numbers only ever appear through :func:`mask_id_number`. The output is a
standalone UTF-8 document with inline CSS and no scripts or external resources, and it depends on
the record alone (no clock), so the same record always renders to the same bytes.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import Any

HTML_MEDIA_TYPE = "text/html; charset=utf-8"

_STYLE = """
body { font-family: "Noto Serif CJK SC", "Songti SC", SimSun, serif; max-width: 48em;
       margin: 2em auto; padding: 0 1em; line-height: 1.6; color: #111; }
h1 { text-align: center; letter-spacing: 0.5em; margin-bottom: 0; }
p.subtitle { text-align: center; margin-top: 0; color: #555; }
table.facts { width: 100%; border-collapse: collapse; margin: 1em 0; }
table.facts th, table.facts td { border: 1px solid #999; padding: 0.3em 0.6em;
                                 vertical-align: top; }
table.facts th { width: 12em; text-align: left; background: #f3f3f3; font-weight: normal; }
.en { color: #666; font-size: 0.85em; }
.entry { margin: 0.6em 0; white-space: pre-wrap; }
.entry b { white-space: normal; }
.signatures { margin-top: 3em; }
.signature { margin: 1.8em 0; }
.line { display: inline-block; min-width: 14em; border-bottom: 1px solid #111; }
.attest { color: #444; font-size: 0.9em; }
@media print { body { margin: 0; } }
""".strip()


def text(value: object) -> str:
    """Any record value as escaped HTML text (quotes included, so safe in attributes too)."""
    return html.escape(str(value), quote=True)


def bilingual(chinese: str, english: str) -> str:
    """A heading or label in Chinese with its English gloss (both trusted constants)."""
    return f'{text(chinese)} <span class="en">{text(english)}</span>'


def mask_id_number(id_number: str) -> str:
    """Keep at most the first and last four characters, always masking at least half.

    ``"330102199001011234"`` becomes ``"3301**********1234"``; short numbers keep less.
    """
    length = len(id_number)
    keep = min(4, (length - 1) // 4) if length else 0
    if keep == 0:
        return "*" * length
    return id_number[:keep] + "*" * (length - 2 * keep) + id_number[-keep:]


def place_text(place: Mapping[str, Any]) -> str:
    """The address, followed by the coordinates when given."""
    out = text(place["address"])
    if "lat" in place and "lon" in place:
        out += f' <span class="en">({text(place["lat"])}, {text(place["lon"])})</span>'
    return out


def officer_text(officer: Mapping[str, Any]) -> str:
    parts = [text(officer["name"])]
    if "officer_id" in officer:
        parts.append(f"{bilingual('工号', 'ID')} {text(officer['officer_id'])}")
    if "cert_no" in officer:
        parts.append(f"{bilingual('执法证号', 'Cert. no.')} {text(officer['cert_no'])}")
    return "；".join(parts)


def person_text(person: Mapping[str, Any], role_text: str | None = None) -> str:
    """A non-officer: name, role, masked identity number, contact."""
    parts = [text(person["name"])]
    if role_text:
        parts.append(role_text)
    if "id_number" in person:
        parts.append(
            f"{bilingual('证件号码', 'ID no.')} {text(mask_id_number(person['id_number']))}"
        )
    if person.get("contact"):
        parts.append(f"{bilingual('联系方式', 'Contact')} {text(person['contact'])}")
    return "；".join(parts)


def facts_table(rows: Iterable[tuple[str, str, str]]) -> str:
    """Rows of (Chinese label, English label, cell HTML already escaped)."""
    body = "\n".join(
        f"<tr><th>{bilingual(chinese, english)}</th><td>{cell}</td></tr>"
        for chinese, english, cell in rows
    )
    return f'<table class="facts">\n{body}\n</table>'


def signature_line(chinese: str, english: str, attestation: str | None = None) -> str:
    """A blank line to sign by hand, with a date line beside it."""
    attest = f'<p class="attest">{text(attestation)}</p>' if attestation else ""
    return (
        f'<div class="signature">{attest}{bilingual(chinese, english)}：'
        '<span class="line">&nbsp;</span>&emsp;'
        f'{bilingual("日期", "Date")}：<span class="line" style="min-width:8em">&nbsp;</span></div>'
    )


def page(title_zh: str, title_en: str, sections: Iterable[str]) -> bytes:
    """The whole standalone document, UTF-8 encoded."""
    body = "\n".join(sections)
    document = f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{text(title_zh)} {text(title_en)}</title>
<style>
{_STYLE}
</style>
</head>
<body>
<h1>{text(title_zh)}</h1>
<p class="subtitle">{text(title_en)}</p>
{body}
</body>
</html>
"""
    return document.encode("utf-8")
