"""``evidence backup`` / ``evidence restore``: a backup taken while the service runs, restored into
an empty data dir, verifies everything (proofs against the restored chain, custody, packages,
tokens, secrets); a corrupted backup and a non-empty target are refused with nothing written."""

from __future__ import annotations

import hashlib
import json
import stat
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect
from typer.testing import CliRunner

from evidence_service.app import create_app
from evidence_service.backup import database
from evidence_service.backup.manifest import BackupManifest
from evidence_service.cli import app as cli_app
from evidence_service.core.config import Settings
from evidence_service.core.db import make_engine
from evidence_service.services import Services, build_services, build_store
from tests.fixtures.service import Api, make_settings, running_api
from tests.service.anchoring_helpers import INTERVAL, chain_rpc_url, wait_anchored
from tests.service.helpers import upload

RESIDENT_ID = "11010519491231002X"
TRANSFERS = "/api/v1/transfers"


@dataclass
class Source:
    """What the source service held when it was backed up, to compare the restore with."""

    settings: Settings
    users: dict[str, dict[str, Any]]
    departments: list[dict[str, Any]]
    contents: dict[str, bytes]
    proofs: dict[str, dict[str, Any]]
    party_id: str
    transfer_id: str
    manifest_digest: str
    package: Path
    custody: dict[str, Any]
    trust: Path  # the source's trust bundle, as an auditor keeps it


def cli(args: list[str], settings: Settings) -> tuple[int, str, str]:
    """Exit code, stdout, and stderr with the console's line wrapping undone."""
    result = CliRunner().invoke(cli_app, args, env=settings.as_env())
    return result.exit_code, result.stdout, " ".join(result.stderr.split())


def capture(api: Api, n: int) -> tuple[str, bytes]:
    data = f"backup item {n}\n".encode() * 50 + uuid.uuid4().bytes
    response = upload(api, "electronic", data, metadata={"title": f"电子数据 {n}"})
    assert response.status_code == 201, response.text
    return str(response.json()["id"]), data


def populate(api: Api, tmp_path: Path) -> Source:
    """Signed captures in a case with a party, a sealed evidence list, an accepted transfer
    and its package; everything anchored."""
    api.services.pki.issue(api.users["officer"]["id"])  # custodial key: captures are signed
    contents = dict(capture(api, n) for n in range(3))
    ids = list(contents)
    party = api.client.post(
        "/api/v1/parties",
        json={"kind": "person", "name": "张三", "identifier_kind": "resident_id",
              "identifier": RESIDENT_ID},
        headers=api.auth(),
    )  # fmt: skip
    assert party.status_code == 201, party.text
    case = api.client.post(
        "/api/v1/cases",
        json={"case_number": "杭市监罚〔2026〕15号", "kind": "penalty", "title": "冷库温度超标"},
        headers=api.auth(),
    )
    assert case.status_code == 201, case.text
    case_id = case.json()["id"]
    for evidence_id in ids:
        attached = api.client.post(
            f"/api/v1/cases/{case_id}/evidence",
            json={"evidence_id": evidence_id, "purpose": "证明温度超标"},
            headers=api.auth(),
        )
        assert attached.status_code == 201, attached.text
    issued = api.client.post(
        f"/api/v1/cases/{case_id}/evidence-lists", headers=api.auth("reviewer")
    )
    assert issued.status_code == 201, issued.text
    court = next(d for d in api.departments if d["code"] == "HZ-XHFY")
    sent = api.client.post(
        TRANSFERS, json={"to_department_id": court["id"], "case_id": case_id},
        headers=api.auth("reviewer"),
    )  # fmt: skip
    assert sent.status_code == 201, sent.text
    transfer_id, digest = sent.json()["id"], sent.json()["manifest_digest"]
    last, data = capture(api, 99)  # its batch closes after every leaf above
    contents[last] = data
    wait_anchored(api, last)
    accepted = api.client.post(f"{TRANSFERS}/{transfer_id}/accept", headers=api.auth("court"))
    assert accepted.status_code == 200, accepted.text
    package = tmp_path / "package.zip"
    package.write_bytes(download_package(api.client, transfer_id, api.auth("court")))
    proofs = {i: wait_anchored(api, i) for i in contents}
    custody = api.client.get("/api/v1/custody/verify", headers=api.auth("auditor")).json()
    assert custody["valid"] is True, custody
    trust = tmp_path / "trust.json"
    trust.write_text(json.dumps(api.client.get("/api/v1/trust").json()))
    return Source(
        api.services.settings, api.users, api.departments, contents, proofs,
        party.json()["id"], transfer_id, digest, package, custody, trust,
    )  # fmt: skip


def download_package(client: TestClient, transfer_id: str, auth: dict[str, str]) -> bytes:
    with client.stream("GET", f"{TRANSFERS}/{transfer_id}/package.zip", headers=auth) as r:
        assert r.status_code == 200
        return b"".join(r.iter_raw())


def backed_up_source(
    tmp_path: Path, request: pytest.FixtureRequest, backend: str, **extra: Any
) -> tuple[Source, Path]:
    """The source service, populated and backed up by the CLI while it runs (its worker holds
    the embedded chain meanwhile); then stopped."""
    values = {"anchor_worker": True, "anchor_interval": INTERVAL, **extra}
    services = build_services(make_settings(tmp_path / "source", backend, request, **values))
    backup_dir = tmp_path / "backup"
    try:
        with running_api(services, backend) as api:
            source = populate(api, tmp_path)
            code, out, errors = cli(["backup", str(backup_dir)], services.settings)
            assert code == 0, errors
            assert "holds secrets" in errors and "store it encrypted" in errors
            summary = json.loads(out)
            assert summary["objects"] >= len(source.contents)
    finally:
        services.close()
    return source, backup_dir


@contextmanager
def restored_api(settings: Settings, source: Source) -> Iterator[Api]:
    """The restored service with its worker, signed in with the source's tokens (no seeding)."""
    services: Services = build_services(settings)
    try:
        with TestClient(create_app(services=services)) as client:
            yield Api(client, services, source.users, source.departments, "restored")
    finally:
        services.close()


def assert_restored_service_verifies(api: Api, source: Source, tmp_path: Path) -> None:
    # the same tokens; the same proofs; the custody chain and its anchored heads
    for evidence_id, proof in source.proofs.items():
        again = api.client.get(f"/api/v1/evidence/{evidence_id}/proof", headers=api.auth())
        assert again.status_code == 200, again.text
        assert again.json() == proof
        content = api.client.get(f"/api/v1/evidence/{evidence_id}/content", headers=api.auth())
        assert content.content == source.contents[evidence_id]
        data = source.contents[evidence_id]
        checked = api.client.post(
            "/api/v1/verify",
            json={"proof": proof, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)},
        )
        assert checked.status_code == 200, checked.text
        assert checked.json()["valid"] is True, checked.json()
    custody = api.client.get("/api/v1/custody/verify", headers=api.auth("auditor")).json()
    assert custody["valid"] is True, custody
    assert custody["events"] >= source.custody["events"]
    public = api.client.get(f"{TRANSFERS}/verify/{source.manifest_digest}").json()
    assert public["verdict"]["valid"] is True and public["status"] == "accepted", public

    # the PII secret: the party is found by its identifier (an HMAC under the secret)
    found = api.client.get(
        "/api/v1/parties", params={"identifier_kind": "resident_id", "identifier": RESIDENT_ID},
        headers=api.auth(),
    )  # fmt: skip
    assert [p["id"] for p in found.json()] == [source.party_id]

    # the key passphrase and the anchoring key: a new signed capture is anchored, and the
    # restored service seals a new package that verifies against the restored chain
    new_id, _ = capture(api, 100)
    assert wait_anchored(api, new_id)["signature"] is not None
    package = tmp_path / "restored-package.zip"
    package.write_bytes(download_package(api.client, source.transfer_id, api.auth("court")))
    assert zipfile.ZipFile(package).read("manifest.json") == zipfile.ZipFile(source.package).read(
        "manifest.json"
    )
    with chain_rpc_url(api) as rpc:
        code, out, errors = cli(["verify-package", str(package), "--rpc", rpc, "--json"],
                                api.services.settings)  # fmt: skip
    assert code == 0, (out, errors)


def verify_offline(restored: Settings, source: Source, tmp_path: Path) -> None:
    """The auditor's verifier against the restored chain dir: every proof, the package."""
    for evidence_id, proof in source.proofs.items():
        file, proof_file = tmp_path / f"{evidence_id}.bin", tmp_path / f"{evidence_id}.json"
        file.write_bytes(source.contents[evidence_id])
        proof_file.write_text(json.dumps(proof))
        code, out, errors = cli(
            ["verify", str(file), str(proof_file), "--data-dir", str(restored.data_dir),
             "--trust", str(source.trust), "--require-signature"],
            restored,
        )  # fmt: skip
        assert code == 0, (evidence_id, out, errors)
    code, out, errors = cli(
        ["verify-package", str(source.package), "--data-dir", str(restored.data_dir),
         "--trust", str(source.trust), "--require-signature"],
        restored,
    )  # fmt: skip
    assert code == 0, (out, errors)


# --------------------------------------------------------------------------- tests


def test_a_backup_taken_online_restores_into_an_empty_data_dir_and_verifies(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    source, backup_dir = backed_up_source(tmp_path, request, "sqlite-local")

    manifest = BackupManifest.from_json((backup_dir / "manifest.json").read_bytes())
    assert manifest.database.dialect == "sqlite" and manifest.chain.mode == "embedded"
    assert manifest.chain.file == "chain/chain.sqlite3" and manifest.chain.chain_id == 1337
    assert {f.path for f in manifest.secret_files} == {
        "secrets/keys.passphrase", "secrets/pii.secret", "secrets/demo-token.key",
        "secrets/anchor.key",
    }  # fmt: skip
    for secret in manifest.secret_files:
        assert stat.S_IMODE((backup_dir / secret.path).stat().st_mode) == 0o600
    assert stat.S_IMODE(backup_dir.stat().st_mode) == 0o700
    for evidence_id, data in source.contents.items():
        entry = next(f for f in manifest.objects if (f.object_key or "").endswith(evidence_id))
        assert (entry.size, entry.sha256) == (len(data), hashlib.sha256(data).hexdigest())
        assert entry.retain_until is not None and entry.retain_until.year >= 2035
    raw = (backup_dir / "manifest.json").read_bytes()
    for secret in manifest.secret_files:  # no secret value in the manifest, in any spelling
        value = (backup_dir / secret.path).read_bytes().strip()
        assert value not in raw and value.hex().encode() not in raw
    assert not list(tmp_path.glob(".backup.partial-*"))

    restored = Settings(data_dir=tmp_path / "restored", anchor_worker=True,
                        anchor_interval=INTERVAL)  # fmt: skip
    code, out, errors = cli(["restore", str(backup_dir)], restored)
    assert code == 0, errors
    assert json.loads(out)["objects"] == len(manifest.objects)
    assert stat.S_IMODE((restored.data_dir / "pii.secret").stat().st_mode) == 0o600
    assert (restored.data_dir / "chain" / "anchor.key").read_bytes() == (
        source.settings.chain_dir / "anchor.key"
    ).read_bytes()
    store = build_store(restored)
    for entry in manifest.objects:  # retention and legal hold came back with the bytes
        info = store.stat(entry.object_key or "")
        assert (info.size, info.retain_until, info.legal_hold) == (
            entry.size, entry.retain_until, entry.legal_hold,
        )  # fmt: skip

    verify_offline(restored, source, tmp_path)
    with restored_api(restored, source) as api:
        assert_restored_service_verifies(api, source, tmp_path)


def test_postgres_backup_restores_through_pg_dump_into_an_empty_database(
    tmp_path: Path, request: pytest.FixtureRequest, postgres_admin_dsn: str
) -> None:
    url = request.getfixturevalue("postgres_url")
    source, backup_dir = backed_up_source(tmp_path, request, "sqlite-local", db_url=url)
    manifest = BackupManifest.from_json((backup_dir / "manifest.json").read_bytes())
    assert manifest.database.dialect == "postgresql"
    assert manifest.database.file == "database/evidence.pgdump"
    assert (backup_dir / manifest.database.file).read_bytes()[:5] == b"PGDMP"
    assert "password" not in json.dumps(manifest.source).lower()
    engine = make_engine(source.settings.resolved_db_url)
    try:  # recorded when the database has Alembic's table
        assert manifest.database.alembic_revision == database.alembic_revision(engine)
    finally:
        engine.dispose()

    # the source's own database has tables: refused, nothing written
    into_source = Settings(data_dir=tmp_path / "refused", db_url=source.settings.db_url)
    code, _out, errors = cli(["restore", str(backup_dir)], into_source)
    assert code == 1 and "already has tables" in errors
    assert not into_source.data_dir.exists()

    with empty_database(postgres_admin_dsn) as url:
        restored = Settings(data_dir=tmp_path / "restored", db_url=url, anchor_worker=True,
                            anchor_interval=INTERVAL)  # fmt: skip
        code, _out, errors = cli(["restore", str(backup_dir)], restored)
        assert code == 0, errors
        verify_offline(restored, source, tmp_path)
        with restored_api(restored, source) as api:
            assert_restored_service_verifies(api, source, tmp_path)
            assert "evidence" in inspect(api.services.engine).get_table_names()


@contextmanager
def empty_database(admin_dsn: str) -> Iterator[str]:
    name = f"evidence_restore_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + (
            f"/{name}"
        )
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_an_anchor_made_between_the_database_and_chain_copies_does_not_stall_the_restore(
    tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chain copy is taken after the database copy, so it may hold anchors the database
    does not know; the restored service must still verify and anchor."""
    values = {"anchor_worker": True, "anchor_interval": INTERVAL}
    services = build_services(make_settings(tmp_path / "source", "sqlite-local", request, **values))
    snapshot = database.snapshot_sqlite
    late: list[str] = []
    try:
        with running_api(services, "sqlite-local") as api:
            early, data = capture(api, 1)
            proof = wait_anchored(api, early)

            def then_anchor_more(source: Path, target: Path) -> None:
                snapshot(source, target)
                if target.name == "evidence.sqlite3":  # the database is copied: anchor more
                    late.append(capture(api, 2)[0])
                    wait_anchored(api, late[0])

            monkeypatch.setattr(database, "snapshot_sqlite", then_anchor_more)
            code, _out, errors = cli(["backup", str(tmp_path / "backup")], services.settings)
            assert code == 0, errors
            users = api.users
    finally:
        services.close()
    assert late, "the late capture did not run between the two copies"

    restored = Settings(data_dir=tmp_path / "restored", anchor_worker=True,
                        anchor_interval=INTERVAL)  # fmt: skip
    code, _out, errors = cli(["restore", str(tmp_path / "backup")], restored)
    assert code == 0, errors
    restored_services = build_services(restored)
    try:
        with TestClient(create_app(services=restored_services)) as client:
            api = Api(client, restored_services, users, [], "restored")
            assert api.client.get(f"/api/v1/evidence/{early}/proof", headers=api.auth()).json() == (
                proof
            )
            late_row = api.client.get(f"/api/v1/evidence/{late[0]}", headers=api.auth())
            assert late_row.status_code == 404  # captured after the database copy
            fresh, _ = capture(api, 3)
            assert wait_anchored(api, fresh)["anchor"] is not None
            custody = client.get("/api/v1/custody/verify", headers=api.auth("auditor")).json()
            assert custody["valid"] is True, custody
            checked = client.post(
                "/api/v1/verify",
                json={"proof": proof, "sha256": hashlib.sha256(data).hexdigest(),
                      "size": len(data)},
            )  # fmt: skip
            assert checked.json()["valid"] is True, checked.json()
    finally:
        restored_services.close()


# --------------------------------------------------------------------------- refusals


@dataclass
class Small:
    """A stopped service with two captures and a party (no chain yet), and its backup."""

    settings: Settings
    backup: Path
    manifest: BackupManifest
    contents: dict[str, bytes]
    token: str  # the demo officer's


def small_backup(
    tmp_path: Path, request: pytest.FixtureRequest, backend: str = "sqlite-local", *args: str
) -> Small:
    services = build_services(make_settings(tmp_path / "source", backend, request))
    try:
        with running_api(services, backend) as api:
            contents = dict(capture(api, n) for n in range(2))
            token = str(api.users["officer"]["token"])
            party = api.client.post(
                "/api/v1/parties",
                json={"kind": "person", "name": "张三", "identifier_kind": "resident_id",
                      "identifier": RESIDENT_ID},
                headers=api.auth(),
            )  # fmt: skip
            assert party.status_code == 201, party.text  # the PII secret exists now
            key = next(k for k, _ in api.services.store.list_keys("evidence/"))
            api.services.store.set_legal_hold(key, True)
    finally:
        services.close()
    backup_dir = tmp_path / "backup"
    code, _out, errors = cli(["backup", str(backup_dir), *args], services.settings)
    assert code == 0, errors
    raw = (backup_dir / "manifest.json").read_bytes()
    return Small(services.settings, backup_dir, BackupManifest.from_json(raw), contents, token)


def restore_refused(backup_dir: Path, settings: Settings) -> str:
    code, out, errors = cli(["restore", str(backup_dir)], settings)
    assert code == 1 and out == "", (out, errors)
    assert errors.startswith("restore refused: ")
    return errors


def test_a_corrupted_backup_is_refused_naming_the_file_and_nothing_is_written(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    small = small_backup(tmp_path, request)
    target = Settings(data_dir=tmp_path / "restored")
    entry = small.manifest.objects[0]
    path = small.backup / entry.path
    original = path.read_bytes()

    path.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))  # one bit
    errors = restore_refused(small.backup, target)
    assert f"{entry.path}: {entry.size} bytes with SHA-256" in errors and entry.sha256 in errors
    path.write_bytes(original[:-1])  # truncated
    assert f"{entry.path}: {entry.size - 1} bytes" in restore_refused(small.backup, target)
    path.unlink()  # missing
    assert f"{entry.path}: missing" in restore_refused(small.backup, target)
    path.write_bytes(original)
    (small.backup / "objects" / "planted").write_bytes(b"x")  # not in the manifest
    assert "objects/planted: not listed in manifest.json" in restore_refused(small.backup, target)
    (small.backup / "objects" / "planted").unlink()
    assert not target.data_dir.exists()
    assert not list(tmp_path.glob(".restored.restoring-*"))

    manifest = small.backup / "manifest.json"
    document = json.loads(manifest.read_bytes())
    document["files"][0]["path"] = "../outside"
    manifest.write_text(json.dumps(document))
    assert "unsafe path '../outside'" in restore_refused(small.backup, target)
    manifest.unlink()  # a backup that never finished has no manifest
    assert "has no manifest.json" in restore_refused(small.backup, target)
    assert not target.data_dir.exists()


def test_restore_refuses_a_non_empty_target_and_backup_a_non_empty_directory(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    small = small_backup(tmp_path, request)
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "notes.txt").write_text("keep me")
    errors = restore_refused(small.backup, Settings(data_dir=occupied))
    assert f"the data dir {occupied} is not empty" in errors
    assert [p.name for p in occupied.iterdir()] == ["notes.txt"]

    elsewhere = tmp_path / "db" / "evidence.db"  # a SQLite file outside the data dir
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(b"")
    errors = restore_refused(
        small.backup, Settings(data_dir=tmp_path / "new", db_url=f"sqlite:///{elsewhere}")
    )
    assert f"a database file already exists at {elsewhere}" in errors
    assert not (tmp_path / "new").exists()

    code, _out, errors = cli(["backup", str(occupied)], small.settings)
    assert code == 1 and "is not an empty directory" in errors
    assert [p.name for p in occupied.iterdir()] == ["notes.txt"]
    assert not list(tmp_path.glob(".occupied.partial-*"))


def test_a_sqlite_backup_is_refused_by_a_postgres_target(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    small = small_backup(tmp_path, request)
    target = Settings(
        data_dir=tmp_path / "restored", db_url=request.getfixturevalue("postgres_url")
    )
    errors = restore_refused(small.backup, target)
    assert "the backup holds a sqlite database but EVIDENCE_DB_URL names postgresql" in errors
    engine = make_engine(target.resolved_db_url)
    try:
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


def test_without_secrets_the_backup_holds_none_and_restore_says_what_to_put_back(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    small = small_backup(tmp_path, request, "sqlite-local", "--without-secrets")
    assert small.manifest.secret_files == () and not (small.backup / "secrets").exists()
    assert small.manifest.source["secrets"] == {
        "keys.passphrase": "file", "pii.secret": "file", "demo-token.key": "file",
        "anchor.key": "absent",
    }  # fmt: skip
    restored = Settings(
        data_dir=tmp_path / "restored",
        key_passphrase=(small.settings.data_dir / "keys.passphrase").read_text(),
    )
    code, _out, errors = cli(["restore", str(small.backup)], restored)
    assert code == 0, errors
    assert "the backup holds no pii.secret" in errors and "keys.passphrase" not in errors
    assert not (restored.data_dir / "pii.secret").exists()
    assert not (restored.data_dir / "keys.passphrase").exists()  # the setting provides it


def test_s3_objects_come_back_with_retention_and_legal_hold_into_an_empty_bucket(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    small = small_backup(tmp_path, request, "postgres-minio")
    source_store = build_store(small.settings)
    held = [f for f in small.manifest.objects if f.legal_hold]
    assert len(held) == 1 and len(small.manifest.objects) >= len(small.contents)

    # into the source's own bucket: not empty, refused (and its database has tables)
    with empty_database(request.getfixturevalue("postgres_admin_dsn")) as url:
        into_source_bucket = small.settings.model_copy(
            update={"data_dir": tmp_path / "refused", "db_url": url}
        )
        assert "is not empty" in restore_refused(small.backup, into_source_bucket)
        fresh = small.settings.model_copy(
            update={
                "data_dir": tmp_path / "restored",
                "db_url": url,
                "minio_bucket": f"ev-{uuid.uuid4().hex[:20]}",
            }
        )
        code, _out, errors = cli(["restore", str(small.backup)], fresh)
        assert code == 0, errors
        store = build_store(fresh)
        for entry in small.manifest.objects:
            key = entry.object_key or ""
            assert b"".join(store.get(key)) == b"".join(source_store.get(key))
            restored, original = store.stat(key), source_store.stat(key)
            assert restored.retain_until is not None and original.retain_until is not None
            assert abs((restored.retain_until - original.retain_until).total_seconds()) < 0.001
            assert restored.legal_hold is original.legal_hold is entry.legal_hold
        services = build_services(fresh)
        try:
            with TestClient(create_app(services=services)) as client:
                for evidence_id, data in small.contents.items():
                    got = client.get(
                        f"/api/v1/evidence/{evidence_id}/content",
                        headers={"Authorization": f"Bearer {small.token}"},
                    )
                    assert got.status_code == 200 and got.content == data
        finally:
            services.close()


def test_the_manifest_round_trips_and_refuses_what_it_cannot_trust() -> None:
    from datetime import UTC, datetime

    from evidence_service.backup import BackupCorruptError, BackupFile
    from evidence_service.backup.manifest import ChainPart, DatabasePart

    until = datetime(2036, 12, 3, 18, 0, tzinfo=UTC)
    manifest = BackupManifest(
        created_at=datetime(2026, 12, 3, 18, 0, tzinfo=UTC),
        service_version="0.1.0",
        source={"object_store": "local"},
        database=DatabasePart("sqlite", "database/evidence.sqlite3", "0007_head"),
        chain=ChainPart("embedded", "chain/chain.sqlite3", 1337, "0x" + "ab" * 20),
        secrets_included=True,
        files=(
            BackupFile("database/evidence.sqlite3", 4096, "0" * 64),
            BackupFile("chain/chain.sqlite3", 8192, "1" * 64),
            BackupFile("objects/evidence/2026/12/X", 3, "2" * 64, until, True),
            BackupFile("secrets/pii.secret", 64, "3" * 64),
        ),
    )
    assert BackupManifest.from_json(manifest.to_json()) == manifest
    assert [f.object_key for f in manifest.objects] == ["evidence/2026/12/X"]

    def refused(change: dict[str, Any]) -> str:
        document = {**json.loads(manifest.to_json()), **change}
        with pytest.raises(BackupCorruptError) as caught:
            BackupManifest.from_json(json.dumps(document).encode())
        return str(caught.value)

    files = json.loads(manifest.to_json())["files"]
    assert "format is 'evidence-backup/9'" in refused({"format": "evidence-backup/9"})
    assert "lists a file twice" in refused({"files": files + files[:1]})
    assert "names chain/chain.sqlite3 but does not list it" in refused({"files": files[::2]})
    for bad in ("/etc/passwd", "objects/../../x", ".hidden", "manifest.json"):
        assert "path" in refused({"files": [{**files[0], "path": bad}]})
    assert "bad sha256" in refused({"files": [{**files[0], "sha256": "F" * 64}]})
    assert "bad size" in refused({"files": [{**files[0], "size": -1}]})
    assert "unknown database dialect" in refused(
        {"database": {"dialect": "mysql", "file": "database/evidence.sqlite3"}}
    )


def test_a_json_rpc_chain_is_named_not_copied_and_its_url_keeps_no_credentials(
    tmp_path: Path,
) -> None:
    from datetime import UTC, datetime

    from evidence_service.anchoring.models import ChainDeployment
    from evidence_service.core.db import session_scope

    contract = "0x" + "5a" * 20
    settings = Settings(
        data_dir=tmp_path / "source",
        anchor_worker=False,
        chain_url="https://anchor:hunter2@node.example:8545/v3/APIKEY?token=t0k3n",
        chain_key="0x" + "11" * 32,
    )
    services = build_services(settings)
    try:
        with session_scope(services.engine) as session:
            session.add(ChainDeployment(chain_id=31337, contract=contract,
                                        created_at=datetime.now(UTC)))  # fmt: skip
    finally:
        services.close()
    code, _out, errors = cli(["backup", str(tmp_path / "backup")], settings)
    assert code == 0, errors
    raw = (tmp_path / "backup" / "manifest.json").read_bytes()
    manifest = BackupManifest.from_json(raw)
    assert (manifest.chain.mode, manifest.chain.file) == ("json-rpc", None)
    assert (manifest.chain.chain_id, manifest.chain.contract) == (31337, contract)
    assert manifest.chain.node_url == manifest.source["chain"] == "https://node.example:8545"
    for secret in (b"hunter2", b"APIKEY", b"t0k3n", b"11" * 32):
        assert secret not in raw
    assert "secrets/anchor.key" not in {f.path for f in manifest.secret_files}
    assert not (tmp_path / "backup" / "chain").exists()

    errors = restore_refused(tmp_path / "backup", Settings(data_dir=tmp_path / "embedded"))
    assert "anchored on the json-rpc chain but the settings name the embedded chain" in errors
    other = settings.model_copy(
        update={"data_dir": tmp_path / "other", "chain_contract": "0x" + "77" * 20}
    )
    assert "but the backup's registry is" in restore_refused(tmp_path / "backup", other)
    assert not (tmp_path / "embedded").exists() and not (tmp_path / "other").exists()
