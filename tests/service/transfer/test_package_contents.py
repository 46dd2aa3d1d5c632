"""Every member of an ``evidence-package/2`` package is sealed (``seal/contents.json``): the list
PDF, the report and the seal image cannot be swapped, nor a file added; an ``evidence-package/1``
package (which sealed four documents only) still verifies, its unsealed members ``unverified``;
and a verifier may require every item's capture statement to be signed."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

from evidence_service.access.trust import service_pins
from evidence_service.verify.package import package_verdict
from evidence_service.verify.verdict import Verdict
from signing.jcs import canonicalize
from tests.fixtures.service import Api
from tests.service.anchoring_helpers import chain_rpc_url
from tests.service.transfer.test_package_tamper import flip_byte, member, resealed, rewrite
from tests.service.transfer.test_packages import Built, build_package, trust_file, verify_cli

UNSEALED_IN_V1 = ["evidence-list.pdf", "report.html", "seal/seal.png"]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def verdict_of(api: Api, package: bytes, tmp_path: Path) -> Verdict:
    path = tmp_path / "package.zip"
    path.write_bytes(package)
    return package_verdict(path, w3=api.services.chain_reader(), pins=service_pins(api.services))


def problems(verdict: Verdict) -> list[tuple[str, str, str]]:
    return [(c.subject, str(c.status), str(c.failure)) for c in verdict.problems()]


def as_version_1(api: Api, built: Built, package: bytes) -> bytes:
    """The package as the service wrote it before /2: ``evidence-package-contents/1`` (the
    digests of the manifest, custody.json, trust.json and the list JSON), sealed by the
    sending department."""
    contents = {
        "format": "evidence-package-contents/1",
        "manifest_digest": sha256(member(package, "manifest.json")),
        "custody_sha256": sha256(member(package, "custody.json")),
        "trust_sha256": sha256(member(package, "trust/trust.json")),
        "evidence_list_sha256": sha256(member(package, "evidence-list.json")),
        "packaged_at": json.loads(member(package, "seal/contents.json"))["packaged_at"],
    }
    raw = canonicalize(contents)
    seal = api.services.pki.seal_digest(
        built.manifest["transfer"]["sender"]["id"], sha256(raw), actor_id=api.users["officer"]["id"]
    )
    return rewrite(
        package,
        replace={"seal/contents.json": raw, "seal/contents-seal.json": seal.as_json().encode()},
    )


def another_png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, "PNG")
    return out.getvalue()


def test_every_member_is_sealed(anchored: Api, tmp_path: Path) -> None:
    built = build_package(anchored, 2, with_list=True)
    package = built.zip_bytes
    assert verdict_of(anchored, package, tmp_path).valid
    report = member(package, "report.html")
    swaps = {
        "the report, a byte changed": {"report.html": flip_byte(report, report.index(b"VALID"))},
        "the report, rewritten": {"report.html": report.replace(b"</body>", b"<p>ok</p></body>")},
        "the list PDF": {"evidence-list.pdf": flip_byte(member(package, "evidence-list.pdf"), 200)},
        "the seal image": {"seal/seal.png": another_png()},
        "the seal image, a byte changed": {
            "seal/seal.png": flip_byte(member(package, "seal/seal.png"), 100)
        },
    }
    for what, replace in swaps.items():
        (name,) = replace
        verdict = verdict_of(anchored, rewrite(package, replace=replace), tmp_path)
        assert not verdict.valid, what
        assert problems(verdict) == [(name, "fail", "contents-mismatch")], what
        assert verdict.as_json()["subject"] == name

    added = verdict_of(anchored, rewrite(package, add={"notes.txt": b"planted"}), tmp_path)
    assert problems(added) == [("notes.txt", "fail", "unexpected-file")]
    assert [(c.subject, c.step) for c in added.checks][-1] == ("package", "stopped")
    assert added.hashed_bytes == 0  # stopped before any file was hashed

    # the command line names the member too
    path = tmp_path / "swapped.zip"
    path.write_bytes(rewrite(package, replace=swaps["the seal image"]))
    with chain_rpc_url(anchored) as rpc:
        trust = trust_file(anchored, tmp_path)
        code, out, err = verify_cli(str(path), "--rpc", rpc, "--trust", str(trust), "--json")
    assert code == 1, out + err
    assert (json.loads(out)["failure"], json.loads(out)["subject"]) == (
        "contents-mismatch",
        "seal/seal.png",
    )


def test_a_version_1_package_reports_its_unsealed_members_unverified(
    anchored: Api, tmp_path: Path
) -> None:
    built = build_package(anchored, 2, with_list=True)
    old = as_version_1(anchored, built, built.zip_bytes)
    verdict = verdict_of(anchored, old, tmp_path)
    assert verdict.format == "evidence-package/1"
    assert not verdict.valid  # unverified is not a pass: undecided, as pending is
    assert problems(verdict) == [(n, "unverified", "unsealed-file") for n in UNSEALED_IN_V1]
    assert all(c.failure is None for c in verdict.checks if c.status in ("pass", "skipped"))
    passed = {(c.subject, c.step) for c in verdict.checks if c.status == "pass"}
    for subject in ("manifest.json", "custody.json", "trust/trust.json", "evidence-list.json"):
        assert (subject, "contents") in passed  # what /1 sealed is still checked
    assert all("Download the package again" in c.detail for c in verdict.problems())

    # what /1 cannot see: a swapped report is still only unverified ...
    swapped = rewrite(old, replace={"report.html": b"<html>all valid</html>"})
    assert problems(verdict_of(anchored, swapped, tmp_path)) == problems(verdict)
    # ... while a document it sealed fails
    custody = member(old, "custody.json")
    changed = rewrite(old, replace={"custody.json": custody.replace(b"captured", b"capturad", 1)})
    assert ("custody.json", "fail", "contents-mismatch") in problems(
        verdict_of(anchored, changed, tmp_path)
    )

    path = tmp_path / "v1.zip"
    path.write_bytes(old)
    with chain_rpc_url(anchored) as rpc:
        trust = trust_file(anchored, tmp_path)
        code, out, err = verify_cli(str(path), "--rpc", rpc, "--trust", str(trust), "--json")
        printed = verify_cli(str(path), "--rpc", rpc, "--trust", str(trust))  # as a person reads it
    assert printed[0] == 3 and "UNVERIFIED" in printed[1] and "evidence-package/1" in printed[1]
    assert code == 3, out + err  # undecided, not invalid
    answer = json.loads(out)
    assert (answer["format"], answer["failure"], answer["subject"]) == (
        "evidence-package/1",
        "unsealed-file",
        "evidence-list.pdf",
    )
    uploaded = anchored.client.post(
        "/api/v1/packages/verify", content=old, headers={"content-type": "application/zip"}
    )
    assert uploaded.status_code == 200 and uploaded.json()["valid"] is False
    assert [(p["subject"], p["status"]) for p in uploaded.json()["problems"]] == [
        (n, "unverified") for n in UNSEALED_IN_V1
    ]


def test_require_signature_fails_a_package_with_unsigned_items(
    anchored: Api, tmp_path: Path
) -> None:
    built = build_package(anchored, 2, with_list=False)
    proofs = [i["proof"] for i in built.manifest["items"]]
    unsigned = {}
    for name in proofs:
        proof = json.loads(member(built.zip_bytes, name))
        proof["signature"] = None  # the statement, its leaf and its anchor stay as they were
        unsigned[name] = json.dumps(proof, indent=2).encode()
    package = resealed(anchored, built, built.zip_bytes, replace=unsigned)
    path = tmp_path / "unsigned.zip"
    path.write_bytes(package)
    pins, w3 = service_pins(anchored.services), anchored.services.chain_reader()

    relaxed = package_verdict(path, w3=w3, pins=pins)
    assert relaxed.valid, relaxed.problems()
    signature = {c.subject: str(c.status) for c in relaxed.checks if c.step == "signature"}
    assert [signature[p] for p in proofs] == ["skipped", "skipped"]

    strict = package_verdict(path, w3=w3, pins=pins, require_signature=True)
    assert not strict.valid
    assert [(c.subject, c.step, str(c.status), str(c.failure)) for c in strict.problems()] == [
        (p, "signature", "fail", "bad-signature") for p in proofs
    ]
    assert all(c.detail.startswith("unsigned") for c in strict.problems())

    url, headers = "/api/v1/packages/verify", {"content-type": "application/zip"}
    answer = anchored.client.post(f"{url}?require_signature=true", content=package, headers=headers)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["failure"], answer.json()["subject"]) == ("bad-signature", proofs[0])
    assert anchored.client.post(url, content=package, headers=headers).json()["valid"] is True

    path.write_bytes(built.zip_bytes)  # signed items pass the strict check
    assert package_verdict(path, w3=w3, pins=pins, require_signature=True).valid
