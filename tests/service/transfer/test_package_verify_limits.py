"""What one anonymous ``POST /api/v1/packages/verify`` may make the service do: a small upload
claiming huge members (a ZIP bomb, a manifest listing a 1 GiB file) is answered at once with the
check that refused it, nothing inflated or hashed; a real package larger than the per-request
cap gets a ``too-large`` verdict instead of the work; signed in, it is verified."""

from __future__ import annotations

import binascii
import dataclasses
import hashlib
import io
import json
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from evidence_service.verify.package import package_verdict
from evidence_service.verify.package_format import PackageLimits
from signing.jcs import canonicalize
from tests.fixtures.service import Api
from tests.service.transfer.test_packages import build_package, transfer_of

GiB = 1024**3
MiB = 1024**2
URL = "/api/v1/packages/verify"
ZIP = {"content-type": "application/zip"}


@dataclass(frozen=True)
class RawEntry:
    """A ZIP entry as a forger writes it: any sizes, any CRC, the data as given."""

    name: str
    data: bytes
    file_size: int
    method: int = zipfile.ZIP_STORED
    crc: int | None = None
    compress_size: int | None = None  # what the headers claim; default: len(data)


def raw_zip(entries: list[RawEntry]) -> bytes:
    """A ZIP whose headers say exactly what the entries claim (no zip64: sizes < 4 GiB)."""
    body, directory = bytearray(), bytearray()
    for entry in entries:
        name = entry.name.encode()
        crc = binascii.crc32(entry.data) if entry.crc is None else entry.crc
        compressed = len(entry.data) if entry.compress_size is None else entry.compress_size
        sizes = (crc, compressed, entry.file_size, len(name))
        offset = len(body)
        body += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, entry.method, 0, 0x21, *sizes, 0)
        body += name + entry.data
        directory += struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, entry.method, 0, 0x21, *sizes,
            0, 0, 0, 0, 0o100644 << 16, offset,
        )  # fmt: skip
        directory += name
    end = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(directory), len(body), 0
    )
    return bytes(body + directory + end)


def deflated_zeros(size: int) -> bytes:
    """Raw deflate of ``size`` zero bytes (a multiple of 1 MiB), made from one flushed block
    repeated: about 1 KiB per MiB, so a 1 GiB member travels in about 1 MiB."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(bytes(MiB)) + compressor.flush(zlib.Z_FULL_FLUSH)
    final = zlib.compressobj(9, zlib.DEFLATED, -15).flush()
    return block * (size // MiB) + final


def forged_manifest(api: Api, size: int) -> dict[str, Any]:
    """A manifest of the right shape listing one file of ``size`` bytes (sealed by nobody)."""
    digest = "0" * 64
    statement = {
        "evidence_id": "01FORGED",
        "port": "electronic",
        "sha256": digest,
        "sm3": digest,
        "size": size,
        "media_type": "application/octet-stream",
        "captured_at": "2026-11-28T08:00:00Z",
        "received_at": "2026-11-28T08:00:03Z",
        "officer_id": api.users["officer"]["id"],
        "department_id": api.users["officer"]["department_id"],
        "metadata_sha256": digest,
    }
    transfer = transfer_of(api, None)
    transfer["created_at"] = "2026-11-28T08:00:00Z"
    return {
        "format": "evidence-package/1",
        "transfer": transfer,
        "items": [
            {
                "evidence_id": "01FORGED",
                "title": "huge",
                "port": "electronic",
                "file": "files/01-01FORGED-huge.bin",
                "sha256": digest,
                "sm3": digest,
                "size": size,
                "media_type": "application/octet-stream",
                "statement": statement,
                "statement_sha256": hashlib.sha256(canonicalize(statement)).hexdigest(),
                "proof": "proofs/01FORGED.json",
            }
        ],
    }


@pytest.fixture
def inflated(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts the bytes every ZIP member read hands out (inflated, about to be hashed)."""
    counts: list[int] = []
    real = zipfile.ZipExtFile.read

    def counted(self: zipfile.ZipExtFile, n: int = -1) -> bytes:
        data = real(self, n)
        counts.append(len(data))
        return data

    monkeypatch.setattr(zipfile.ZipExtFile, "read", counted)
    yield counts


def post(api: Api, package: bytes, **headers: str) -> dict[str, Any]:
    """The verdict of one request. How much work a refusal did is asserted by what it read and
    hashed (``inflated``, ``hashed_bytes``), not by a clock: a slow machine is not a bomb."""
    answer = api.client.post(URL, content=package, headers={**ZIP, **headers})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def steps(verdict: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(c["subject"], c["step"], c["status"]) for c in verdict["checks"]]


def test_a_zip_bomb_is_refused_unread(api: Api, inflated: list[int]) -> None:
    bomb = deflated_zeros(GiB)
    assert zlib.decompressobj(-15).decompress(bomb[: len(bomb) // 1024 * 2]) == bytes(2 * MiB)
    manifest = canonicalize(forged_manifest(api, GiB))
    name = "files/01-01FORGED-huge.bin"
    package = raw_zip(
        [
            RawEntry("manifest.json", manifest, len(manifest)),
            RawEntry(name, bomb, GiB, zipfile.ZIP_DEFLATED, crc=0),
        ]
    )
    assert len(package) < 2 * MiB

    verdict = post(api, package)
    assert verdict["valid"] is False
    assert (verdict["failure"], verdict["subject"]) == ("bad-package", name)
    assert steps(verdict) == [(name, "compression", "fail"), ("package", "stopped", "skipped")]
    assert "refused unread" in verdict["problems"][0]["detail"]
    assert verdict["hashed_bytes"] == 0 and sum(inflated) == 0  # not one member byte read

    # bzip2 and LZMA inflate a whole read at once, whatever size an entry claims: refused
    for method in (zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", compression=method) as archive:
            archive.writestr("manifest.json", manifest)
        assert steps(post(api, out.getvalue()))[0] == ("manifest.json", "compression", "fail")
    assert sum(inflated) == 0

    # a small member may compress well (JSON does): only a large one is held to the ratio
    zeros = bytes(64 * 1024)
    deflated = zlib.compress(zeros)[2:-4]  # raw deflate: no zlib header, no Adler-32
    entry = RawEntry("manifest.json", deflated, len(zeros), zipfile.ZIP_DEFLATED)
    small = raw_zip([dataclasses.replace(entry, crc=binascii.crc32(zeros))])
    assert "compression" not in {c["step"] for c in post(api, small)["checks"]}


def test_a_manifest_claiming_a_huge_file_stops_at_the_seal(api: Api, inflated: list[int]) -> None:
    """Stored (no compression to judge), the member's header claims 1 GiB: the manifest's seal
    is checked first, fails, and nothing else is read — anonymous or signed in."""
    manifest = canonicalize(forged_manifest(api, GiB))
    trust = json.dumps(api.client.get("/api/v1/trust").json()).encode()
    name = "files/01-01FORGED-huge.bin"
    package = raw_zip(
        [
            RawEntry("manifest.json", manifest, len(manifest)),
            RawEntry("trust/trust.json", trust, len(trust)),
            RawEntry("seal/manifest-seal.json", b'{"not": "a seal"}', 17),
            RawEntry(name, bytes(4096), GiB, crc=0, compress_size=GiB),  # 1 GiB, it claims
        ]
    )
    for headers in ({}, api.auth("court")):
        inflated.clear()
        verdict = post(api, package, **headers)
        assert verdict["valid"] is False
        assert (verdict["failure"], verdict["subject"]) == ("bad-seal", "seal")
        assert steps(verdict)[-1] == ("package", "stopped", "skipped")
        assert name not in {c["subject"] for c in verdict["checks"]}
        assert verdict["hashed_bytes"] == 0
        assert sum(inflated) < len(manifest) + len(trust) + 100  # the small documents only


def test_an_anonymous_request_hashes_at_most_the_cap(
    anchored: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, inflated: list[int]
) -> None:
    built = build_package(anchored, 2, with_list=False)
    with zipfile.ZipFile(io.BytesIO(built.zip_bytes)) as package:
        sizes = {i.filename: i.file_size for i in package.infolist()}
    small = [n for n in sizes if n.startswith(("manifest", "seal/", "trust/"))]
    small.remove("seal/seal.png")  # read after the seals, with the files
    cap = sum(sizes[n] for n in small) + 10  # the seals fit, the files do not
    monkeypatch.setattr(anchored.services.settings, "package_verify_max_read_bytes", cap)

    inflated.clear()
    refused = post(anchored, built.zip_bytes)
    assert refused["valid"] is False
    assert (refused["failure"], refused["subject"]) == ("too-large", "package")
    assert refused["problems"] == [
        {
            "subject": "package",
            "step": "budget",
            "status": "error",
            "failure": "too-large",
            "detail": refused["problems"][0]["detail"],
        }
    ]
    assert f"at most {cap:,}" in refused["problems"][0]["detail"]
    assert "sign in" in refused["problems"][0]["detail"]
    passed = {(c["subject"], c["step"]) for c in refused["checks"] if c["status"] == "pass"}
    assert {("seal", "signature"), ("seal/contents.json", "listing")} <= passed  # seals first
    assert refused["hashed_bytes"] == 0 and sum(inflated) <= cap

    signed_in = post(anchored, built.zip_bytes, **anchored.auth("court"))
    assert signed_in["valid"] is True, signed_in["problems"]

    # the library's limits are the same knob
    path = tmp_path / "package.zip"
    path.write_bytes(built.zip_bytes)
    limited = package_verdict(
        path,
        w3=None,
        pins=None,
        limits=PackageLimits(max_read_bytes=cap, over_limit_advice="try elsewhere"),
    )
    assert limited.failure == "too-large" and limited.problems()[0].detail.endswith("try elsewhere")
