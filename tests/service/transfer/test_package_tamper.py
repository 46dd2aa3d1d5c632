"""Tampered evidence packages: each change names its failure and the file it is in, through
``evidence verify-package`` (exit status 1), on both chain columns.

An ``evidence-package/2`` package seals every member's digest and size: a change the seals
catch stops the verification before anything is hashed; a change the sending department sealed
itself (``resealed``: what only it could make) is caught by the member's own check."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chain.merkle import MerkleTree
from evidence_service.verify.custody import link_hash
from signing.jcs import canonicalize
from tests.fixtures.service import Api
from tests.service.anchoring_helpers import chain_rpc_url
from tests.service.transfer.test_packages import Built, build_package, trust_file, verify_cli

Tamper = Callable[[Built, bytes], bytes]


def rewrite(
    source: bytes,
    *,
    replace: dict[str, bytes] | None = None,
    drop: frozenset[str] = frozenset(),
    add: dict[str, bytes] | None = None,
    also: dict[str, bytes] | None = None,
) -> bytes:
    """The package re-zipped (fresh CRCs, as a forger would) with members changed (``also``:
    more replacements)."""
    replace = {**(replace or {}), **(also or {})}
    original = zipfile.ZipFile(io.BytesIO(source))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as target:
        for info in original.infolist():
            if info.filename not in drop:
                target.writestr(info.filename, replace.get(info.filename, original.read(info)))
        for name, data in (add or {}).items():
            target.writestr(name, data)
    return out.getvalue()


def member(package: bytes, name: str) -> bytes:
    return zipfile.ZipFile(io.BytesIO(package)).read(name)


CONTENTS_FILES = frozenset({"seal/contents.json", "seal/contents-seal.json"})


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def resealed(
    api: Api,
    built: Built,
    package: bytes,
    *,
    replace: dict[str, bytes] | None = None,
    drop: frozenset[str] = frozenset(),
    add: dict[str, bytes] | None = None,
) -> bytes:
    """The package with members changed, listed again in seal/contents.json and sealed again
    by the sending department: what only that department could make."""
    changed = zipfile.ZipFile(
        io.BytesIO(rewrite(package, replace=replace, drop=drop | CONTENTS_FILES, add=add))
    )
    contents = json.loads(member(package, "seal/contents.json"))
    contents["members"] = {
        i.filename: {"sha256": sha256(changed.read(i)), "size": i.file_size}
        for i in changed.infolist()
    }
    raw = canonicalize(contents)
    seal = api.services.pki.seal_digest(
        built.manifest["transfer"]["sender"]["id"], sha256(raw), actor_id=api.users["officer"]["id"]
    )
    return rewrite(
        package,
        replace=replace,
        drop=drop,
        add=add,
        also={"seal/contents.json": raw, "seal/contents-seal.json": seal.as_json().encode()},
    )


def flip_byte(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def flip_in(data: bytes, text: str) -> bytes:
    """Change one byte: the last character of the first occurrence of ``text`` (a hex digit
    stays a lowercase hex digit, anything else becomes ``A`` or ``B``)."""
    at = data.index(text.encode()) + len(text.encode()) - 1
    last = chr(data[at])
    if last in "0123456789abcdef":
        replacement = "0" if last != "0" else "1"
    else:
        replacement = "A" if last != "A" else "B"
    return data[:at] + replacement.encode() + data[at + 1 :]


def files(built: Built) -> list[str]:
    return [i["file"] for i in built.manifest["items"]]


def proofs(built: Built) -> list[str]:
    return [i["proof"] for i in built.manifest["items"]]


def proof_json(package: bytes, name: str) -> dict[str, object]:
    data: dict[str, object] = json.loads(member(package, name))
    return data


# --------------------------------------------------------------------------- the tampers


def a_file(built: Built, package: bytes) -> bytes:
    name = files(built)[0]
    data = member(package, name)
    return rewrite(package, replace={name: flip_byte(data, len(data) // 2)})


def a_file_in_place(built: Built, package: bytes) -> bytes:
    """One byte flipped in the ZIP itself (its CRC-32 now stale)."""
    data = member(package, files(built)[0])
    return flip_byte(package, package.index(data) + len(data) // 2)


def the_manifest(built: Built, package: bytes) -> bytes:
    raw = member(package, "manifest.json")
    return rewrite(
        package, replace={"manifest.json": flip_in(raw, built.manifest["transfer"]["id"])}
    )


def a_proof_path(built: Built, package: bytes) -> bytes:
    name = proofs(built)[0]
    proof = json.loads(member(package, name))
    return rewrite(
        package, replace={name: flip_in(member(package, name), proof["merkle"]["path"][0])}
    )


def a_statement(built: Built, package: bytes) -> bytes:
    name = proofs(built)[0]
    proof = json.loads(member(package, name))
    value = proof["statement"]["metadata_sha256"]
    return rewrite(package, replace={name: flip_in(member(package, name), value)})


def a_signature(built: Built, package: bytes) -> bytes:
    name = proofs(built)[0]
    raw = member(package, name)
    value = json.loads(raw)["signature"]["value"]
    assert len(base64.b64decode(value)) == 64
    changed = value[:10] + ("A" if value[10] != "A" else "B") + value[11:]
    return rewrite(package, replace={name: raw.replace(value.encode(), changed.encode())})


def a_custody_event(built: Built, package: bytes) -> bytes:
    raw = member(package, "custody.json")
    return rewrite(package, replace={"custody.json": flip_in(raw, '"action": "captured')})


def rewritten_custody(package: bytes, actor_id: str) -> bytes:
    """custody.json with the first capture credited to ``actor_id``, every hash after it
    recomputed and relinked (and the head moved), so the chain is consistent again."""
    doc = json.loads(member(package, "custody.json"))
    events: list[dict[str, Any]] = doc["events"]
    changed = next(n for n, e in enumerate(events) if e["action"] == "captured")
    events[changed]["actor_id"] = actor_id
    for n in range(changed, len(events)):
        event = events[n]
        if n > changed and event["seq"] == events[n - 1]["seq"] + 1:
            event["prev_hash"] = events[n - 1]["hash"]
        body = {k: v for k, v in event.items() if k not in ("prev_hash", "hash")}
        event["hash"] = link_hash(event["prev_hash"], body)
    if doc["head"]["seq"] == events[-1]["seq"]:
        doc["head"]["hash"] = events[-1]["hash"]
    return json.dumps(doc, ensure_ascii=False).encode()


def a_custody_event_rehashed(built: Built, package: bytes) -> bytes:
    forged = rewritten_custody(package, built.manifest["transfer"]["recipient"]["id"])
    return rewrite(package, replace={"custody.json": forged})


def custody_and_contents_rewritten(built: Built, package: bytes) -> bytes:
    """The rehashed custody.json, and seal/contents.json updated to its digest and size: the
    contents seal is now over another document."""
    forged = rewritten_custody(package, built.manifest["transfer"]["recipient"]["id"])
    contents = json.loads(member(package, "seal/contents.json"))
    contents["members"]["custody.json"] = {"sha256": sha256(forged), "size": len(forged)}
    return rewrite(
        package, replace={"custody.json": forged, "seal/contents.json": canonicalize(contents)}
    )


def the_trust_bundle(built: Built, package: bytes) -> bytes:
    """trust/trust.json naming the forger's own registry."""
    trust = json.loads(member(package, "trust/trust.json"))
    trust["contract"] = "0x" + "5a" * 20
    return rewrite(package, replace={"trust/trust.json": json.dumps(trust, indent=2).encode()})


def a_ca_certificate(built: Built, package: bytes) -> bytes:
    pem = member(package, "trust/ca/01.pem")
    return rewrite(package, replace={"trust/ca/01.pem": flip_in(pem, pem.decode()[40:60])})


def the_contents_dropped(built: Built, package: bytes) -> bytes:
    return rewrite(package, drop=frozenset({"seal/contents.json"}))


def the_seal(built: Built, package: bytes) -> bytes:
    raw = member(package, "seal/manifest-seal.json")
    value = json.loads(raw)["value"]
    return rewrite(package, replace={"seal/manifest-seal.json": flip_in(raw, value[:20])})


def two_files_swapped(built: Built, package: bytes) -> bytes:
    first, second = files(built)[:2]
    return rewrite(
        package, replace={first: member(package, second), second: member(package, first)}
    )


def a_file_dropped(built: Built, package: bytes) -> bytes:
    return rewrite(package, drop=frozenset({files(built)[1]}))


def a_file_added(built: Built, package: bytes) -> bytes:
    return rewrite(package, add={"files/99-extra.txt": b"planted later"})


def another_items_proof(built: Built, package: bytes) -> bytes:
    first, second = proofs(built)[:2]
    return rewrite(package, replace={first: member(package, second)})


def root_never_anchored(built: Built, package: bytes) -> dict[str, bytes]:
    """A consistent proof (leaf, path and root agree) whose root no block ever anchored."""
    name = proofs(built)[0]
    proof = json.loads(member(package, name))
    leaf = bytes.fromhex(proof["merkle"]["leaf_hash"])
    tree = MerkleTree.from_leaf_hashes([leaf, os.urandom(32), os.urandom(32)])
    proof["merkle"].update(
        leaf_index=0,
        tree_size=tree.size,
        path=[h.hex() for h in tree.inclusion_proof(0)],
        root=tree.root.hex(),
    )
    return {name: json.dumps(proof, indent=2).encode()}


def test_every_tamper_names_its_failure_and_file(anchored: Api, tmp_path: Path) -> None:
    built = build_package(anchored, 3, with_list=False)
    f, p = files(built), proofs(built)
    contents_digest = hashlib.sha256(member(built.zip_bytes, "seal/contents.json")).hexdigest()
    court_seal = anchored.services.pki.seal_digest(  # a real seal, by the recipient (the court)
        built.manifest["transfer"]["recipient"]["id"],
        contents_digest,
        actor_id=anchored.users["court"]["id"],
    ).as_json()

    def the_contents_sealed_by_another(built: Built, package: bytes) -> bytes:
        return rewrite(package, replace={"seal/contents-seal.json": court_seal.encode()})

    def a_statement_resealed(built: Built, package: bytes) -> bytes:
        name = p[0]
        value = json.loads(member(package, name))["statement"]["metadata_sha256"]
        changed = flip_in(member(package, name), value)
        return resealed(anchored, built, package, replace={name: changed})

    def a_root_never_anchored_resealed(built: Built, package: bytes) -> bytes:
        return resealed(anchored, built, package, replace=root_never_anchored(built, package))

    def another_items_proof_resealed(built: Built, package: bytes) -> bytes:
        return resealed(anchored, built, package, replace={p[0]: member(package, p[1])})

    same_size = len(member(built.zip_bytes, p[0])) == len(member(built.zip_bytes, p[1]))
    cases: list[tuple[str, Tamper, list[tuple[str, str]]]] = [
        ("a file", a_file, [(f[0], "content-mismatch")]),
        ("a file, in place", a_file_in_place, [(f[0], "content-mismatch")]),
        ("the manifest", the_manifest, [("manifest", "manifest-digest-mismatch")]),
        ("a proof path", a_proof_path, [(p[0], "contents-mismatch"), (p[0], "inclusion-failed")]),
        (
            "a statement",
            a_statement,
            [(p[0], "contents-mismatch"), (p[0], "proof-mismatch"), (p[0], "leaf-mismatch"),
             (p[0], "bad-signature")],
        ),
        (
            "a statement, resealed",
            a_statement_resealed,
            [(p[0], "proof-mismatch"), (p[0], "leaf-mismatch"), (p[0], "bad-signature")],
        ),
        ("a signature", a_signature, [(p[0], "contents-mismatch"), (p[0], "bad-signature")]),
        ("a custody event", a_custody_event, [("custody", "custody-broken"),
                                              ("custody.json", "contents-mismatch")]),
        ("a custody event, rehashed", a_custody_event_rehashed,
         [("custody.json", "contents-mismatch")]),
        ("custody and contents rewritten", custody_and_contents_rewritten,
         [("seal/contents.json", "contents-mismatch")]),
        ("the trust bundle", the_trust_bundle, [("trust/trust.json", "contents-mismatch")]),
        ("a CA certificate", a_ca_certificate, [("trust/ca/01.pem", "bad-package")]),
        ("the contents dropped", the_contents_dropped, [("seal/contents.json", "missing-file")]),
        ("the contents sealed by another department", the_contents_sealed_by_another,
         [("seal/contents-seal.json", "bad-seal")]),
        ("the seal", the_seal, [("seal", "bad-seal")]),
        ("two files swapped", two_files_swapped, [(f[0], "content-mismatch"),
                                                  (f[1], "content-mismatch")]),
        ("a file dropped", a_file_dropped, [(f[1], "missing-file")]),
        ("a file added", a_file_added, [("files/99-extra.txt", "unexpected-file")]),
        ("another item's proof", another_items_proof,
         [(p[0], "contents-mismatch"), (p[0], "proof-mismatch")] if same_size
         else [(p[0], "contents-mismatch")]),
        ("another item's proof, resealed", another_items_proof_resealed,
         [(p[0], "proof-mismatch")]),
        ("a root never anchored, resealed", a_root_never_anchored_resealed,
         [(p[0], "not-anchored")]),
    ]  # fmt: skip
    good = tmp_path / "good.zip"
    good.write_bytes(built.zip_bytes)
    trust = trust_file(anchored, tmp_path)
    with chain_rpc_url(anchored) as rpc:
        code, out, err = verify_cli(str(good), "--rpc", rpc, "--trust", str(trust), "--json")
        assert code == 0, out + err
        for what, tamper, expected in cases:
            path = tmp_path / f"{what.replace(' ', '-')}.zip"
            path.write_bytes(tamper(built, built.zip_bytes))
            code, out, err = verify_cli(str(path), "--rpc", rpc, "--trust", str(trust), "--json")
            assert code == 1, (what, out, err)
            verdict = json.loads(out)
            found = [(c["subject"], c["failure"]) for c in verdict["problems"]]
            assert found == expected, (what, verdict["problems"])
            assert (verdict["subject"], verdict["failure"]) == expected[0], what
            assert f"failure: {expected[0][1]} at {expected[0][0]}" in " ".join(err.split())

        details = {
            "a file, in place": "altered after packaging",
            "a custody event": "does not match its hash",
            "a root never anchored, resealed": "is not anchored",
            "the manifest": "the seal is over",
            "a custody event, rehashed": "seal/contents.json seals",
            "custody and contents rewritten": "the seal is over",
            "the contents sealed by another department": "the manifest by",
            "a file added": "does not list it",
        }
        for what, tamper, _ in cases:
            if what in details:
                path = tmp_path / "again.zip"
                path.write_bytes(tamper(built, built.zip_bytes))
                _, out, _ = verify_cli(str(path), "--rpc", rpc, "--trust", str(trust), "--json")
                assert details[what] in json.loads(out)["problems"][0]["detail"], what

        # the human report names the file and the step too
        path = tmp_path / "human.zip"
        path.write_bytes(a_file(built, built.zip_bytes))
        code, out, _ = verify_cli(str(path), "--rpc", rpc, "--trust", str(trust))
        assert code == 1
        assert "INVALID" in out and "content-mismatch" in out and f[0] in " ".join(out.split())
