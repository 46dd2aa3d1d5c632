"""``report.html``: the human-readable verification report inside an evidence package.

A single self-contained HTML page (no scripts, no external resources, prints on A4): the
verdict the issuing service reached while it packaged, every item with its digests and anchor,
the package-level checks, how to verify independently, and a QR code (segno) that encodes the
manifest digest and the public verify URL, so a printed report leads back to the package.
"""

from __future__ import annotations

import html
from collections import defaultdict
from datetime import datetime
from typing import Any

import segno

from evidence_service.core.clock import rfc3339
from evidence_service.core.text import visible
from evidence_service.verify.manifest import (
    Manifest,
)
from evidence_service.verify.verdict import Check, Status, Verdict

STATUS_MARK = {
    Status.passed: ("pass", "通过 PASS"),
    Status.failed: ("fail", "失败 FAIL"),
    Status.skipped: ("skip", "略过 SKIP"),
    Status.error: ("error", "未定 ERROR"),
    Status.pending: ("pending", "待上链 PENDING"),
    Status.unverified: ("error", "未核验 UNVERIFIED"),
}

STYLE = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2em;color:#222}
h1{font-size:1.5em;margin-bottom:.2em} h2{font-size:1.15em;margin-top:1.6em}
table{border-collapse:collapse;width:100%;font-size:.85em}
th,td{border:1px solid #bbb;padding:.3em .45em;vertical-align:top;text-align:left}
th{background:#f2f2f2} code,.hash{font-family:monospace;word-break:break-all;font-size:.9em}
.verdict{font-size:1.3em;font-weight:bold;padding:.4em .8em;display:inline-block}
.valid{background:#e3f6e3;color:#175e17} .invalid{background:#fbe3e3;color:#8a1616}
.undecided{background:#fff4d6;color:#7a5200}
.pass{color:#175e17} .fail{color:#8a1616;font-weight:bold} .skip{color:#666}
.error,.pending{color:#7a5200;font-weight:bold}
.head{display:flex;gap:2em;align-items:flex-start} .qr{text-align:center;font-size:.75em}
@media print{body{margin:1cm}}
"""


def qr_payload(verify_url: str, manifest_digest: str) -> str:
    joiner = "&" if "?" in verify_url else "?"
    return f"{verify_url}{joiner}manifest_sha256={manifest_digest}"


def _e(value: Any) -> str:
    return html.escape(visible("" if value is None else str(value)))


def _mark(status: Status) -> str:
    css, label = STATUS_MARK[status]
    return f'<span class="{css}">{label}</span>'


def _worst(checks: list[Check]) -> Status:
    for status in (Status.failed, Status.error, Status.unverified, Status.pending):
        if any(c.status == status for c in checks):
            return status
    return Status.passed


def _anchor_cell(proof: dict[str, Any] | None) -> str:
    anchor = (proof or {}).get("anchor")
    if not anchor:
        return '<span class="pending">待上链 pending</span>'
    return (
        f"chain {_e(anchor['chain_id'])} · batch {_e(anchor['batch_id'])} · "
        f"block {_e(anchor['block_number'])}<br>"
        f"<span class='hash'>tx {_e(anchor['tx_hash'])}</span>"
    )


def _verdict_banner(verdict: Verdict) -> str:
    if verdict.valid:
        return '<div class="verdict valid">有效 VALID — every check passed</div>'
    problem = verdict.first_problem
    assert problem is not None
    css = "invalid" if problem.status == Status.failed else "undecided"
    word = "无效 INVALID" if css == "invalid" else "未定 UNDECIDED"
    return (
        f'<div class="verdict {css}">{word} — {_e(problem.failure)} '
        f"at <code>{_e(problem.subject)}</code></div>"
    )


def render_report(
    manifest: Manifest,
    verdict: Verdict,
    *,
    proofs: dict[str, dict[str, Any]],
    verify_url: str,
    generated_at: datetime,
    evidence_list: dict[str, Any] | None = None,
) -> bytes:
    """The report's HTML. It is itself a member that ``seal/contents.json`` seals, so it cannot
    name that document's digest: it says how the contents are sealed instead."""
    digest = verdict.manifest_digest or ""
    payload = qr_payload(verify_url, digest)
    qr = segno.make(payload, error="m").svg_inline(scale=3, dark="#000", light="#fff")
    transfer = manifest.transfer
    by_subject: dict[str, list[Check]] = defaultdict(list)
    for check in verdict.checks:
        by_subject[check.subject].append(check)
    rows = []
    for n, item in enumerate(manifest.items, start=1):
        checks = by_subject.get(item.file, []) + by_subject.get(item.proof, [])
        rows.append(
            "<tr>"
            f"<td>{n}</td><td>{_e(item.title)}<br><code>{_e(item.evidence_id)}</code></td>"
            f"<td>{_e(item.port)}</td><td><code>{_e(item.file)}</code><br>"
            f"{item.size:,} bytes · {_e(item.media_type)}</td>"
            f"<td class='hash'>SHA-256 {_e(item.sha256)}<br>SM3 {_e(item.sm3)}</td>"
            f"<td>{_anchor_cell(proofs.get(item.evidence_id))}</td>"
            f"<td>{_mark(_worst(checks))}</td></tr>"
        )
    item_subjects = {i.file for i in manifest.items} | {i.proof for i in manifest.items}
    package_rows = [
        f"<tr><td><code>{_e(c.subject)}</code></td><td>{_e(c.step)}</td><td>{_mark(c.status)}</td>"
        f"<td>{_e(c.detail)}</td></tr>"
        for c in verdict.checks
        if c.subject not in item_subjects
    ]
    problem_rows = [
        f"<tr><td><code>{_e(c.subject)}</code></td><td>{_e(c.step)}</td>"
        f"<td>{_mark(c.status)} {_e(c.failure)}</td><td>{_e(c.detail)}</td></tr>"
        for c in verdict.problems()
        if c.subject in item_subjects
    ]
    case = transfer.case
    facts = [
        ("移交 Transfer", f"<code>{_e(transfer.id)}</code> · {_e(transfer.created_at)}"),
        ("移送单位 Sender", f"{_e(transfer.sender.name)} ({_e(transfer.sender.code)})"),
        ("接收单位 Recipient", f"{_e(transfer.recipient.name)} ({_e(transfer.recipient.code)})"),
        ("案件 Case", _e(f"{case.case_number} {case.title}") if case else "—"),
        ("证据数量 Items", str(len(manifest.items))),
        ("清单摘要 Manifest SHA-256", f"<span class='hash'>{_e(digest)}</span>"),
    ]
    if evidence_list is not None:
        facts.append(
            (
                "证据清单 Evidence list",
                "evidence-list.pdf · digest "
                f"<span class='hash'>{_e(evidence_list.get('digest'))}</span>",
            )
        )
    facts.append(
        (
            "内容封印 Contents seal",
            "seal/contents.json: the SHA-256 and size of every file of the package, this "
            "report included, sealed by the sending department (seal/contents-seal.json)",
        )
    )
    facts.append(
        ("核验时间 Checked", f"{_e(rfc3339(generated_at))} by the issuing service, at packaging")
    )
    fact_rows = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in facts)
    problems = ""
    if problem_rows:
        problems = (
            "<h2>证据问题 Item problems</h2><table><tr><th>file</th><th>step</th>"
            f"<th>result</th><th>detail</th></tr>{''.join(problem_rows)}</table>"
        )
    page = f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>证据包核验报告 Evidence package report — {_e(transfer.id)}</title>
<style>{STYLE}</style></head><body>
<div class="head"><div>
<h1>证据包核验报告<br>Evidence package verification report</h1>
{_verdict_banner(verdict)}
<table style="margin-top:1em">{fact_rows}</table></div>
<div class="qr">{qr}<br>扫码核验 scan to verify<br><code>{_e(payload)}</code></div></div>

<h2>证据 Items</h2>
<table><tr><th>#</th><th>名称 Title</th><th>类型 Port</th><th>文件 File</th><th>摘要 Digests</th>
<th>上链 Anchor</th><th>结果 Result</th></tr>
{"".join(rows)}
</table>
{problems}

<h2>包核验 Package checks</h2>
<table><tr><th>subject</th><th>step</th><th>result</th><th>detail</th></tr>
{"".join(package_rows)}
</table>

<h2>独立核验 Verify independently</h2>
<p>This report is what the issuing service found. Do not rely on it alone: check the package
yourself, with read access to any node of the chain and the issuing service's trust bundle
(<code>GET /api/v1/trust</code>):</p>
<pre>evidence verify-package package.zip --rpc https://NODE --trust trust.json</pre>
<p>or upload the ZIP to <code>POST {_e(verify_url)}</code>. Each file is checked against the
manifest (SHA-256, SM3, size), each proof against its statement, Merkle path and anchor
(PROOF_FORMAT.md), each officer signature at its anchor time, the custody events' hash chain,
the department seal over the manifest, and the same department's seal over
<code>seal/contents.json</code>, which lists the SHA-256 and size of every file of the package
(<code>custody.json</code>, <code>trust/</code>, the evidence list and its PDF, the seal image
and this report included), so none of them can be swapped, added, dropped or rewritten
consistently.</p>
</body></html>
"""
    return page.encode()
