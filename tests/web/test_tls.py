"""`evidence serve --tls-cert/--tls-key` serves HTTPS (phones need a secure context for the
camera, geolocation and WebCrypto), and the session cookie is Secure there."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.fixtures.live_server import free_port, make_live_server


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)

    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "tls.crt", tmp_path / "tls.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_https_serves_pages_and_sets_a_secure_cookie(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    server = make_live_server(tmp_path, request, "sqlite-local")
    cert, key = self_signed(tmp_path)
    port = free_port()
    with (tmp_path / "tls.log").open("ab") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "evidence_service.cli",
                "serve",
                "--port",
                str(port),
                "--tls-cert",
                str(cert),
                "--tls-key",
                str(key),
            ],
            env=server.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"https://127.0.0.1:{port}"
    try:
        with httpx.Client(
            base_url=base,
            verify=ssl.create_default_context(cafile=str(cert)),
            follow_redirects=False,
        ) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise
                    time.sleep(0.2)
            assert client.get("/login").status_code == 200
            signed = client.post("/login", data={"token": server.users["officer"]["token"]})
            assert signed.status_code == 303
            cookie = signed.headers["set-cookie"]
            assert "; Secure" in cookie and "HttpOnly" in cookie
        with pytest.raises(httpx.TransportError):  # it speaks TLS only
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_certificate_without_its_key_is_refused(tmp_path: Path) -> None:
    cert, _ = self_signed(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "evidence_service.cli", "serve", "--tls-cert", str(cert)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"EVIDENCE_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 2
    assert "--tls-cert and --tls-key go together" in done.stderr
