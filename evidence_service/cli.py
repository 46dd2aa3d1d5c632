"""The ``evidence`` command: serve, worker, verify, seed demo data, upload a file, the reaper."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn
from rich.table import Table

from evidence_service.core.config import Settings

if TYPE_CHECKING:
    from evidence_service.services import Services
    from evidence_service.verify.verdict import Verdict

app = typer.Typer(help="Evidence custody service", no_args_is_help=True, add_completion=False)
err = Console(stderr=True)


def load_settings() -> Settings:
    """Settings for a long-running process; a bad variable or secret file exits 2 with its
    name, instead of a traceback."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    try:
        return Settings()
    except (SettingsError, ValidationError) as exc:
        err.print(f"[red]invalid configuration[/red]: {exc}", soft_wrap=True)
        raise typer.Exit(2) from exc


def require_shared_secrets(settings: Settings) -> None:
    """Refuse to start a process on a shared database that would generate its own key
    passphrase or PII secret (``core.secrets.check_shared_secrets``)."""
    if not settings.db_url:
        return
    from evidence_service.access.pki import PASSPHRASE_FILE
    from evidence_service.cases.pii import SECRET_FILE
    from evidence_service.core.secrets import DataDirSecret, check_shared_secrets

    check = check_shared_secrets(
        [
            DataDirSecret(
                "EVIDENCE_KEY_PASSPHRASE",
                settings.key_passphrase is not None,
                settings.data_dir / PASSPHRASE_FILE,
            ),
            DataDirSecret(
                "EVIDENCE_PII_SECRET",
                settings.pii_secret is not None,
                settings.data_dir / SECRET_FILE,
            ),
        ]
    )
    for warning in check.warnings:
        err.print(f"[yellow]warning[/yellow]: {warning}", soft_wrap=True)
    if check.refusals:
        for refusal in check.refusals:
            err.print(f"[red]refusing to start[/red]: {refusal}", soft_wrap=True)
        raise typer.Exit(2)


def open_services(settings: Settings) -> Services:
    """The services of a long-running process, or exit 2 naming `evidence db upgrade` when the
    database is not at this version's schema (before anything serves or anchors)."""
    from evidence_service.app import MODULE_SCHEMAS
    from evidence_service.core.db import SchemaOutdatedError
    from evidence_service.modules.kit.schema import ModuleSchemaError
    from evidence_service.services import build_services

    try:
        services = build_services(settings)
    except SchemaOutdatedError as exc:
        err.print(f"[red]refusing to start[/red]: {exc}")
        raise typer.Exit(2) from exc
    try:  # the modules' tables too (each its own chain), before anything serves
        for module in MODULE_SCHEMAS:
            module.ensure_at(settings.resolved_db_url)
    except ModuleSchemaError as exc:
        services.close()
        err.print(f"[red]refusing to start[/red]: {exc}")
        raise typer.Exit(2) from exc
    return services


#: Enforcement records ``serve --demo`` loads into the supervision module (a tenth planted).
DEMO_SUPERVISION_CASES = 400
#: Enterprises ``serve --demo`` loads into the joint-inspection module's directory.
DEMO_INSPECTION_ENTERPRISES = 60


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="bind address")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port")] = None,
    demo: Annotated[bool, typer.Option("--demo", help="seed demo data first and print it")] = False,
    tls_cert: Annotated[
        Path | None,
        typer.Option("--tls-cert", help="PEM certificate (chain): serve HTTPS, e.g. for phones"),
    ] = None,
    tls_key: Annotated[
        Path | None, typer.Option("--tls-key", help="PEM private key of --tls-cert")
    ] = None,
) -> None:
    """Run the API and the web app (data dir from EVIDENCE_DATA_DIR, default ./evidence-data)."""
    import uvicorn

    from evidence_service.app import create_app
    from evidence_service.core.logs import configure_logging_from
    from evidence_service.demo import seed_demo

    if (tls_cert is None) != (tls_key is None):
        err.print("[red]refusing to start[/red]: --tls-cert and --tls-key go together")
        raise typer.Exit(2)
    for given in (tls_cert, tls_key):
        if given is not None and not given.is_file():
            err.print(f"[red]refusing to start[/red]: no such file: {given}")
            raise typer.Exit(2)
    settings = load_settings()
    configure_logging_from(settings)
    require_shared_secrets(settings)
    services = open_services(settings)
    if demo:
        seeded = seed_demo(
            services.engine,
            settings.data_dir,
            token_ttl_days=settings.token_ttl_days,
            pki=services.pki,
        )
        err.print("[bold]Demo users[/bold] (use a token as 'Authorization: Bearer …'):")
        for user in seeded["users"]:
            err.print(f"  {user['role']:<9} {user['name']:<16} {user['token']}")
        loaded, _ = load_supervision_demo(
            settings, services, cases=DEMO_SUPERVISION_CASES, planted=0.1, run_models=True
        )
        err.print(
            f"[bold]Supervision demo[/bold]: {loaded.created + loaded.updated} enforcement "
            f"records ({loaded.planted} with a planted problem), models run: clues at "
            "/supervision/clues and GET /api/v1/supervision/clues"
        )
        show_inspection_demo(
            load_inspection_demo(
                settings,
                services,
                seeded,
                enterprises=DEMO_INSPECTION_ENTERPRISES,
                progress=lambda line: err.print(f"  inspection demo: {line}"),
            )
        )
        services.settings = demo_catering_settings(services.settings, seeded)
        show_catering_demo(load_catering_demo(services.settings, seeded), services.settings)
    bind_host = host or settings.host
    bind_port = port or settings.port
    scheme = "https" if tls_cert else "http"
    logging.getLogger("evidence_service.cli").info(
        "serving on %s://%s:%s (web app: /, API docs: /docs)", scheme, bind_host, bind_port
    )
    options: dict[str, Any] = {
        "host": bind_host,
        "port": bind_port,
        "log_level": settings.log_level.lower(),
        "log_config": None,  # uvicorn logs through core/logs.py's handler
        "access_log": False,  # api/access_log.py writes one line per request instead
        "timeout_graceful_shutdown": 5,
    }
    if tls_cert is not None and tls_key is not None:
        options.update(ssl_certfile=str(tls_cert), ssl_keyfile=str(tls_key))
    if settings.workers > 1:
        from evidence_service.core.metrics import prepare_multiprocess_dir

        # The schema exists now (built above); each worker process builds its own services,
        # and keeps its metrics in files that a scrape of any of them adds up.
        services.close()
        prepare_multiprocess_dir(settings.data_dir)
        uvicorn.run(
            "evidence_service.app:create_app_from_env",
            factory=True,
            workers=settings.workers,
            **options,
        )
    else:
        uvicorn.run(create_app(services=services), **options)


@app.command()
def demo() -> None:
    """Create demo departments and users (idempotent), and the catering demo's restaurants and
    monitors; print them as JSON (the monitors' MN and password too: demo only)."""
    from evidence_service.demo import seed_demo
    from evidence_service.services import build_services

    settings = Settings()
    services = build_services(settings)
    try:
        seeded = seed_demo(
            services.engine,
            settings.data_dir,
            token_ttl_days=settings.token_ttl_days,
            pki=services.pki,
        )
        seeded["catering"] = load_catering_demo(settings, seeded)
        print(json.dumps(seeded, ensure_ascii=False, indent=2))
    finally:
        services.close()


@app.command()
def upload(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    port: Annotated[str, typer.Option("--port", "-p", help="capture port id")],
    token: Annotated[str, typer.Option(envvar="EVIDENCE_TOKEN", help="bearer token")],
    url: Annotated[str, typer.Option(help="service URL")] = "http://127.0.0.1:8000",
    title: Annotated[str | None, typer.Option(help="title (default: file name)")] = None,
    metadata: Annotated[str | None, typer.Option(help="capture metadata as JSON")] = None,
    chunk_mib: Annotated[int, typer.Option(help="chunk size in MiB")] = 8,
) -> None:
    """Upload FILE through the resumable API with a progress bar; print the evidence JSON."""
    from evidence_service.client import ApiError, EvidenceClient

    meta = json.loads(metadata) if metadata else {}
    meta.setdefault("title", title or file.name)
    total = file.stat().st_size
    with (
        EvidenceClient(url, token) as client,
        Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            console=err,
        ) as progress,
    ):
        task = progress.add_task(file.name, total=total)
        try:
            result = client.upload(
                file,
                port=port,
                metadata=meta,
                chunk_size=chunk_mib * 1024 * 1024,
                on_progress=lambda done, _total: progress.update(task, completed=done),
            )
        except ApiError as exc:
            err.print(f"[red]upload refused[/red]: {exc}")
            raise typer.Exit(1) from exc
    print(json.dumps(result, ensure_ascii=False, indent=2))


@app.command()
def reap() -> None:
    """Finish interrupted intakes and remove orphan temp objects now."""
    from evidence_service.capture.reaper import reap as run_reaper
    from evidence_service.services import build_services

    settings = Settings()
    services = build_services(settings)
    try:
        report = run_reaper(
            services.ingestor, temp_ttl=timedelta(seconds=settings.temp_object_ttl_seconds)
        )
        print(json.dumps(report.__dict__))
    finally:
        services.close()


@app.command()
def backup(
    directory: Annotated[Path, typer.Argument(help="a new (or empty) directory for the backup")],
    without_secrets: Annotated[
        bool,
        typer.Option(
            "--without-secrets",
            help="leave out the key passphrase, PII secret, demo-token and anchoring keys "
            "(a restore then needs them from your secret store)",
        ),
    ] = False,
) -> None:
    """Back up the database, objects, embedded chain and secrets into DIRECTORY, online.

    The service may keep running. See docs/operations.md (Backup and restore)."""
    from importlib.metadata import version

    from evidence_service.backup import BackupError, make_backup
    from evidence_service.services import build_store
    from storage.errors import StorageError

    settings = Settings()
    try:
        store = build_store(settings)
        try:
            result = make_backup(
                settings,
                directory,
                store=store,
                include_secrets=not without_secrets,
                service_version=version("evidence-custody"),
            )
        finally:
            getattr(store, "close", lambda: None)()
    except (BackupError, StorageError) as exc:
        err.print(f"[red]backup failed[/red]: {exc}")
        raise typer.Exit(1) from exc
    manifest = result.manifest
    print(
        json.dumps(
            {
                "backup": str(result.path),
                "database": manifest.database.dialect,
                "alembic_revision": manifest.database.alembic_revision,
                "chain": manifest.chain.mode,
                "objects": len(manifest.objects),
                "object_bytes": sum(f.size for f in manifest.objects),
                "secrets": [f.path for f in manifest.secret_files],
                "vanished_temp_objects": result.vanished_objects,
            },
            indent=2,
        )
    )
    if manifest.secret_files:
        err.print(
            "[yellow]warning[/yellow]: this backup holds secrets (key passphrase, PII secret, "
            "anchoring key) in secrets/, mode 0600: store it encrypted and restrict access"
        )


@app.command()
def restore(
    directory: Annotated[Path, typer.Argument(help="a directory written by `evidence backup`")],
) -> None:
    """Restore a backup into an empty data dir, database and object store (EVIDENCE_*).

    Every file is checked against the backup's manifest first; nothing is written if one
    differs, or if the data dir, database or bucket is not empty."""
    from evidence_service.backup import (
        BackupCorruptError,
        BackupError,
        RestoreRefusedError,
        ToolMissingError,
        restore_backup,
    )
    from evidence_service.services import build_store
    from storage.errors import StorageError

    settings = Settings()
    try:
        result = restore_backup(settings, directory, build_store=build_store)
    except (BackupError, StorageError) as exc:
        refused = isinstance(exc, BackupCorruptError | RestoreRefusedError | ToolMissingError)
        err.print(f"[red]restore {'refused' if refused else 'failed'}[/red]: {exc}")
        raise typer.Exit(1) from exc
    print(
        json.dumps(
            {
                "data_dir": str(result.data_dir),
                "backup_created_at": result.manifest.created_at.isoformat(),
                "database": result.manifest.database.dialect,
                "alembic_revision": result.manifest.database.alembic_revision,
                "objects": result.objects,
            },
            indent=2,
        )
    )
    for warning in result.warnings:
        err.print(f"[yellow]warning[/yellow]: {warning}")


@app.command()
def worker() -> None:
    """Run the anchoring worker alone (for `evidence serve` with EVIDENCE_ANCHOR_WORKER=false).

    Several may run; one anchors at a time, the others stand by to take over."""
    import signal
    import threading

    from evidence_service.core.logs import configure_logging_from

    settings = load_settings()
    configure_logging_from(settings)
    require_shared_secrets(settings)
    services = open_services(settings)
    anchor_worker = services.anchor_worker()
    stopping = threading.Event()

    def _stop(signum: int, _frame: Any) -> None:
        err.print(f"signal {signum}: stopping after this round")
        stopping.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    anchor_worker.start()
    err.print(
        f"Anchoring worker: batches every {settings.anchor_interval}s or "
        f"{settings.anchor_max_leaves} leaves; chain: {settings.chain_url or settings.chain_dir}"
    )
    stopping.wait()
    anchor_worker.stop()
    services.close()


chain_app = typer.Typer(help="The anchoring chain", no_args_is_help=True)
app.add_typer(chain_app, name="chain")


@chain_app.command("deploy")
def chain_deploy() -> None:
    """Deploy the AnchorRegistry (or find the recorded one); print chain id and address."""
    from chain.errors import ChainError
    from evidence_service.anchoring.chain_link import ensure_registry, open_anchor_chain
    from evidence_service.core.clock import utcnow
    from evidence_service.services import build_services

    settings = Settings()
    services = build_services(settings)
    try:
        chain = open_anchor_chain(settings)
        try:
            address = ensure_registry(services.engine, chain, settings, now=utcnow())
            print(json.dumps({"chain_id": chain.chain_id, "contract": address}))
        finally:
            chain.close()
    except ChainError as exc:
        err.print(f"[red]chain error[/red]: {exc}")
        raise typer.Exit(1) from exc
    finally:
        services.close()


db_app = typer.Typer(help="The database schema (Alembic migrations)", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Upgrade the database (EVIDENCE_DB_URL or the data dir's SQLite) to this version's schema.

    A database made before migrations shipped is recognised by its tables and columns. Back it
    up first; every revision commits on its own."""
    from evidence_service.app import MODULE_SCHEMAS
    from evidence_service.core.db import SchemaOutdatedError, make_engine
    from evidence_service.migrations.commands import upgrade_database
    from evidence_service.modules.kit.schema import ModuleSchemaError

    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_db_url)
    try:
        result = upgrade_database(engine)
        upgraded = [(m.name, m.upgrade_at(settings.resolved_db_url)) for m in MODULE_SCHEMAS]
    except (SchemaOutdatedError, ModuleSchemaError) as exc:
        err.print(f"[red]not upgraded[/red]: {exc}")
        raise typer.Exit(2) from exc
    finally:
        engine.dispose()
    for name, (module_from, module_head) in upgraded:
        print(f"{name} module: {module_from or 'no revision'} -> {module_head}")
    if result.empty:
        start = "empty database"
    elif result.recognised:
        start = f"no revision, recognised as {result.recognised}"
    else:
        start = str(result.from_revision)
    print(f"{start} -> {result.to_revision}")


@db_app.command("current")
def db_current() -> None:
    """Print the database's schema revision and whether it is this version's head."""
    from evidence_service.app import MODULE_SCHEMAS
    from evidence_service.core.db import make_engine
    from evidence_service.migrations.commands import schema_state

    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_db_url)
    try:
        state = schema_state(engine)
    finally:
        engine.dispose()
    states = [(f"{m.name} module: ", m.state_at(settings.resolved_db_url)) for m in MODULE_SCHEMAS]
    shown: list[tuple[str, Any]] = [*states, ("", state)]  # the core's state has the same shape
    for label, at in shown:
        where = "head" if at.at_head else f"not head: run `evidence db upgrade` to {at.head}"
        print(f"{label}{at.revision or 'none'} ({where})")
    if not (state.at_head and all(at.at_head for _, at in states)):
        raise typer.Exit(1)


@db_app.command("revision")
def db_revision(
    message: Annotated[str, typer.Argument(help="what the schema change is")],
    rev_id: Annotated[str, typer.Option(help="revision id, e.g. 0005_short_name")],
) -> None:
    """Write a new revision into evidence_service/migrations/versions/ from the difference
    between the models and the database (at head: upgrade a scratch one first); then review it."""
    from evidence_service.core.db import SchemaOutdatedError, make_engine
    from evidence_service.migrations.commands import write_revision

    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_db_url)
    try:
        path = write_revision(engine, message, rev_id)
    except SchemaOutdatedError as exc:
        err.print(f"[red]no revision written[/red]: {exc}")
        raise typer.Exit(2) from exc
    finally:
        engine.dispose()
    print(path)


supervision_app = typer.Typer(
    help="Enforcement supervision (the supervision module)", no_args_is_help=True
)
app.add_typer(supervision_app, name="supervision")


@supervision_app.command("demo")
def supervision_demo(
    cases: Annotated[int, typer.Option(min=1, max=5_000_000, help="records to generate")] = 1000,
    seed: Annotated[int, typer.Option(help="same seed, same records")] = 1,
    planted: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="share of records with a planted problem")
    ] = 0.02,
) -> None:
    """Synthetic enforcement records across 11 cities and 40 departments (the core's
    inspection and penalty departments among them), some with planted problems."""
    import time

    settings = load_settings()
    services = open_services(settings)
    started = time.perf_counter()
    try:
        result, departments = load_supervision_demo(
            settings, services, cases=cases, seed=seed, planted=planted
        )
    finally:
        services.close()
    print(
        json.dumps(
            {
                "created": result.created,
                "updated": result.updated,
                "planted": result.planted,
                "departments": departments,
                "seconds": round(time.perf_counter() - started, 2),
            }
        )
    )


def load_supervision_demo(
    settings: Settings,
    services: Services,
    *,
    cases: int,
    seed: int = 1,
    planted: float = 0.02,
    run_models: bool = False,
) -> tuple[Any, int]:
    """The supervision demo's records for the core's inspection and penalty departments and
    synthetic ones up to 40 (the same seed updates the same records), then, with
    ``run_models``, a full run of the problem models so the demo has clues. Answers the load's
    result and the number of departments."""
    from evidence_service.access.models import DepartmentKind
    from evidence_service.access.people import all_departments
    from evidence_service.app import supervision_config
    from evidence_service.modules import supervision
    from evidence_service.modules.kit.db import make_engine
    from evidence_service.modules.supervision import demo as supervision_demo_data
    from evidence_service.modules.supervision.clues import runner

    working = (DepartmentKind.inspection, DepartmentKind.penalty)
    real = [d for d in all_departments(services.engine) if d.kind in working]
    synthetic = supervision_demo_data.synthetic_departments(40)
    departments = [
        supervision_demo_data.Department(d.id, d.name, d.code[-4:], 0) for d in real
    ] + synthetic[len(real) :]
    config = supervision_config(settings)
    supervision.open_schema(config.db_url)
    engine = make_engine(config.db_url)
    try:
        result = supervision_demo_data.load_demo(
            engine,
            config.pii_secret,
            cases,
            seed=seed,
            departments=departments,
            planted_share=planted,
        )
        if run_models:
            runner.run_models(engine, mode="full", params=dict(config.model_params))
    finally:
        engine.dispose()
    return result, len(departments)


@supervision_app.command("run")
def supervision_run(
    models: Annotated[
        str | None, typer.Option(help="model codes, comma-separated (default: every model)")
    ] = None,
    incremental: Annotated[
        bool, typer.Option("--incremental", help="only what changed since the last run")
    ] = False,
) -> None:
    """Run the problem models now and print the run (hits, clues opened and closed)."""
    from evidence_service.app import supervision_config
    from evidence_service.modules import supervision
    from evidence_service.modules.kit.db import make_engine
    from evidence_service.modules.supervision.clues import registry, runner

    settings = load_settings()
    config = supervision_config(settings)
    codes = [c.strip() for c in models.split(",") if c.strip()] if models else None
    try:
        registry.select_models(codes)
    except registry.UnknownModelError as exc:
        typer.echo(f"no problem model {', '.join(exc.codes)}", err=True)
        raise typer.Exit(2) from exc
    try:
        supervision.open_schema(config.db_url)
    except supervision.SupervisionSchemaError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    engine = make_engine(config.db_url)
    try:
        done = runner.run_models(
            engine,
            codes=codes,
            mode="incremental" if incremental else "full",
            params=dict(config.model_params),
        )
    except runner.RunFailedError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    print(json.dumps(done, default=lambda v: v.isoformat(), ensure_ascii=False))


officer_app = typer.Typer(help="Officer certificates", no_args_is_help=True)
app.add_typer(officer_app, name="officer")


@officer_app.command("issue-cert")
def officer_issue_cert(
    officer_id: Annotated[str, typer.Argument(help="the officer's id")],
    public_key: Annotated[
        Path | None,
        typer.Option(help="the officer's public key (PEM); omit for a custodial key"),
    ] = None,
    alg: Annotated[str, typer.Option(help="custodial key type: Ed25519 or ES256")] = "Ed25519",
) -> None:
    """Issue a certificate from the officer's department CA; print it as JSON."""
    from fastapi.encoders import jsonable_encoder

    from evidence_service.access.pki import certificate_public
    from evidence_service.core.errors import EvidenceError
    from evidence_service.services import build_services

    if alg not in ("Ed25519", "ES256"):
        err.print("[red]--alg must be Ed25519 or ES256[/red]")
        raise typer.Exit(2)
    settings = Settings()
    services = build_services(settings)
    try:
        row = services.pki.issue(
            officer_id,
            public_key_pem=public_key.read_bytes() if public_key else None,
            alg="ES256" if alg == "ES256" else "Ed25519",
        )
        print(json.dumps(jsonable_encoder(certificate_public(row)), ensure_ascii=False, indent=2))
    except EvidenceError as exc:
        err.print(f"[red]refused[/red]: {exc.detail}")
        raise typer.Exit(1) from exc
    finally:
        services.close()


department_app = typer.Typer(help="Departments", no_args_is_help=True)
app.add_typer(department_app, name="department")


@department_app.command("rotate-ca")
def department_rotate_ca(
    department_id: Annotated[str, typer.Argument(help="the department's id")],
) -> None:
    """Replace the department CA with a new key and certificate; print both as JSON.

    The old CA stays in the trust bundle (GET /api/v1/trust), so what it certified still
    verifies at its anchor time. Same as POST /api/v1/departments/{id}/ca/rotate."""
    from fastapi.encoders import jsonable_encoder

    from evidence_service.core.errors import EvidenceError
    from evidence_service.services import build_services

    settings = Settings()
    services = build_services(settings)
    try:
        rotated = services.pki.rotate_ca(department_id, actor_id=None, reason="rotated (cli)")
        print(json.dumps(jsonable_encoder(rotated), ensure_ascii=False, indent=2))
    except EvidenceError as exc:
        err.print(f"[red]refused[/red]: {exc.detail}")
        raise typer.Exit(1) from exc
    finally:
        services.close()


# The options every offline verifier takes (verify, verify-list, verify-package).
RpcOption = Annotated[str | None, typer.Option(help="JSON-RPC URL of any node of the chain")]
DataDirOption = Annotated[
    Path | None, typer.Option(help="data dir of a stopped service (its embedded chain)")
]
TrustOption = Annotated[
    Path | None,
    typer.Option(help="trust bundle (GET /api/v1/trust): registry, CA certificates, CRLs"),
]
ContractOption = Annotated[str | None, typer.Option(help="pin the registry address")]
ChainIdOption = Annotated[int | None, typer.Option(help="pin the chain id")]
JsonOption = Annotated[bool, typer.Option("--json", help="machine-readable verdict")]
TimeoutOption = Annotated[float, typer.Option(help="seconds per JSON-RPC request")]
RequireSignatureOption = Annotated[
    bool,
    typer.Option(
        "--require-signature",
        help="an unsigned statement fails step 4 (bad-signature, reason unsigned) "
        "instead of being skipped",
    ),
]

# The offline verifiers import evidence_service.verify (and nothing of the service) only when
# they run: ``evidence verify`` needs no database, no web stack.
EXIT_VALID, EXIT_INVALID, EXIT_USAGE, EXIT_UNDECIDED = 0, 1, 2, 3
#: How each check status prints (keys are the status values: verify is not imported here).
MARKS = {
    "pass": "[green]PASS[/]",
    "fail": "[red]FAIL[/]",
    "skipped": "[yellow]SKIP[/]",
    "error": "[red]ERROR[/]",
    "pending": "[yellow]PENDING[/]",
    "unverified": "[yellow]UNVERIFIED[/]",  # a member no seal covers (evidence-package/1)
}


def exit_status(verdict: Verdict) -> int:
    """0 valid, 1 a check failed, 3 undecided (the chain did not answer, an item pending)."""
    if verdict.valid:
        return EXIT_VALID
    if any(c.status == "fail" for c in verdict.checks):
        return EXIT_INVALID
    return EXIT_UNDECIDED


def verdict_or_usage_exit(produce: Callable[[], Verdict]) -> Verdict:
    """Run an offline verifier; input it cannot use (an unreadable file, a bad trust bundle, no
    chain to ask) exits 2 with the reason."""
    from evidence_service.verify.audit import AuditUsageError

    try:
        return produce()
    except AuditUsageError as exc:
        err.print(f"[red]cannot verify[/red]: {exc}")
        raise typer.Exit(EXIT_USAGE) from exc


def print_verdict_json(verdict: Verdict) -> None:
    print(json.dumps(verdict.as_json(), indent=2, ensure_ascii=False))


def print_steps(verdict: Verdict, console: Console, *, title: str) -> None:
    """A proof's or a list's verdict: every step."""
    table = Table(title=title, show_lines=False)
    table.add_column("#", justify="right")
    table.add_column("step")
    table.add_column("result")
    table.add_column("detail", overflow="fold")
    for c in verdict.checks:
        table.add_row(str(c.number), c.step, MARKS[str(c.status)], c.detail)
    console.print(table)
    if verdict.valid:
        console.print("[bold green]VALID[/]: every step passed")
    else:
        console.print(f"[bold red]INVALID[/]: {verdict.failure}")


def print_package(verdict: Verdict, console: Console, *, title: str) -> None:
    """A package's verdict: every check that did not pass, in full; passes counted per step."""
    transfer = verdict.transfer or {}
    console.print(f"[bold]{title}[/bold]")
    if transfer:
        sender, recipient = transfer.get("sender", {}), transfer.get("recipient", {})
        console.print(
            f"transfer {transfer.get('id')}: {sender.get('name')} → {recipient.get('name')}, "
            f"{verdict.items} items"
        )
    console.print(f"manifest SHA-256 {verdict.manifest_digest}; trust: {verdict.trust_source}")
    table = Table(show_lines=False)
    table.add_column("subject", overflow="fold")
    table.add_column("step")
    table.add_column("result")
    table.add_column("detail", overflow="fold")
    passes: Counter[str] = Counter()
    for check in verdict.checks:
        if check.status == "pass" and not check.subject.startswith(("seal", "man")):
            passes[check.step] += 1
            continue
        table.add_row(check.subject, check.step, MARKS[str(check.status)], check.detail)
    for step, count in passes.items():
        table.add_row(f"({count} subjects)", step, MARKS["pass"], "")
    console.print(table)
    console.print(
        f"hashed {verdict.hashed_bytes:,} bytes in {verdict.hashing_seconds:.2f}s; "
        f"checks {verdict.checking_seconds:.2f}s"
    )
    problem = verdict.first_problem
    if problem is None:
        console.print("[bold green]VALID[/]: every check passed")
    else:
        word = "INVALID" if problem.status == "fail" else "UNDECIDED"
        console.print(
            f"[bold red]{word}[/]: {problem.failure} at {problem.subject} ({problem.step})"
        )


@app.command()
def verify(
    paths: Annotated[
        list[Path], typer.Argument(help="FILE PROOF.json, or only PROOF.json with --sha256")
    ],
    sha256: Annotated[
        str | None, typer.Option(help="verify a bare SHA-256 instead of a file")
    ] = None,
    rpc: RpcOption = None,
    data_dir: DataDirOption = None,
    trust: TrustOption = None,
    contract: ContractOption = None,
    chain_id: ChainIdOption = None,
    as_json: JsonOption = False,
    timeout: TimeoutOption = 10.0,
    require_signature: RequireSignatureOption = False,
) -> None:
    """Verify evidence against its proof, every step of PROOF_FORMAT.md, with no service.

    An unsigned statement is reported as such at step 4 (skipped; a failure with
    --require-signature). Exit status: 0 valid, 1 a step failed (its name is printed), 2 bad
    input, 3 undecided (the chain did not answer)."""
    from evidence_service.verify.audit import (
        AuditRequest,
        load_pins,
        proof_verdict_from,
    )

    out = Console()
    expected = 1 if sha256 is not None else 2
    if len(paths) != expected:
        err.print(
            "[red]usage[/red]: evidence verify FILE PROOF.json  |  "
            "evidence verify --sha256 HEX PROOF.json"
        )
        raise typer.Exit(EXIT_USAGE)
    file, proof = (None, paths[0]) if sha256 is not None else (paths[0], paths[1])
    verdict = verdict_or_usage_exit(
        lambda: proof_verdict_from(
            AuditRequest(
                proof=proof,
                file=file,
                sha256=sha256,
                rpc=rpc,
                data_dir=data_dir,
                pins=load_pins(trust, chain_id, contract),
                timeout=timeout,
                require_signature=require_signature,
            )
        )
    )
    if as_json:
        print_verdict_json(verdict)
    else:
        print_steps(verdict, out, title=f"evidence-proof/1 — {file or sha256}")
        if not verdict.valid:
            err.print(f"failure: {verdict.failure}")
        if any(c.step == "signature" and c.status == "skipped" for c in verdict.checks):
            err.print(
                "[yellow]note[/yellow]: the statement is unsigned (no officer signature); "
                "--require-signature makes that a failure"
            )
    raise typer.Exit(exit_status(verdict))


@app.command("verify-list")
def verify_list(
    document: Annotated[
        Path, typer.Argument(help="the issued list (GET /api/v1/evidence-lists/ID) as JSON")
    ],
    digest: Annotated[
        str | None, typer.Option(help="the list digest (SHA-256) as printed on the paper")
    ] = None,
    rpc: RpcOption = None,
    data_dir: DataDirOption = None,
    trust: TrustOption = None,
    contract: ContractOption = None,
    chain_id: ChainIdOption = None,
    as_json: JsonOption = False,
    timeout: TimeoutOption = 10.0,
) -> None:
    """Verify a printed evidence list (证据清单): digest, department seal, Merkle leaf and path,
    anchor — with no service.

    Exit status: 0 valid, 1 a step failed (its name is printed), 2 bad input, 3 undecided
    (the chain did not answer, or no trust bundle to check the seal)."""
    from evidence_service.verify.audit import (
        ListAuditRequest,
        list_verdict_from,
        load_pins,
    )

    verdict = verdict_or_usage_exit(
        lambda: list_verdict_from(
            ListAuditRequest(
                document=document,
                digest=digest,
                rpc=rpc,
                data_dir=data_dir,
                pins=load_pins(trust, chain_id, contract),
                timeout=timeout,
            )
        )
    )
    if as_json:
        print_verdict_json(verdict)
    else:
        print_steps(verdict, Console(), title=f"evidence-list/1 — {document}")
        if not verdict.valid:
            err.print(f"failure: {verdict.failure}")
    raise typer.Exit(exit_status(verdict))


@app.command("verify-package")
def verify_package(
    package: Annotated[Path, typer.Argument(help="the evidence package ZIP")],
    rpc: RpcOption = None,
    data_dir: DataDirOption = None,
    trust: Annotated[
        Path | None,
        typer.Option(help="trust bundle (GET /api/v1/trust); default: the package's own trust/"),
    ] = None,
    contract: ContractOption = None,
    chain_id: ChainIdOption = None,
    as_json: JsonOption = False,
    timeout: TimeoutOption = 10.0,
    require_signature: RequireSignatureOption = False,
) -> None:
    """Verify a court evidence package offline: every file against the manifest, every proof
    (statement, Merkle path, signature at anchor time, anchor), the custody chain, the seal.
    With --require-signature an item whose statement is unsigned fails (bad-signature).

    Exit status: 0 valid, 1 a check failed (file and step printed), 2 bad input (not a ZIP),
    3 undecided (the chain did not answer, or an item is not anchored yet)."""
    from evidence_service.verify.audit import (
        PackageAuditRequest,
        load_pins,
        package_verdict_from,
    )

    pinned = trust is not None or contract is not None or chain_id is not None
    verdict = verdict_or_usage_exit(
        lambda: package_verdict_from(
            PackageAuditRequest(
                package=package,
                rpc=rpc,
                data_dir=data_dir,
                pins=load_pins(trust, chain_id, contract) if pinned else None,
                timeout=timeout,
                require_signature=require_signature,
            )
        )
    )
    if as_json:
        print_verdict_json(verdict)
    else:
        print_package(verdict, Console(), title=f"{verdict.format} — {package}")
    problem = verdict.first_problem
    if not verdict.valid and problem is not None:
        err.print(f"failure: {problem.failure} at {problem.subject} ({problem.step})")
    if verdict.trust_source == "package":
        err.print(
            "[yellow]note[/yellow]: trust came from the package itself; pass --trust with the "
            "issuing service's /api/v1/trust for an independent check"
        )
    raise typer.Exit(exit_status(verdict))


inspection_app = typer.Typer(
    help="Joint inspection (综合查一次): verify a published double-random draw",
    no_args_is_help=True,
)
app.add_typer(inspection_app, name="inspection")


@inspection_app.command("verify-draw")
def inspection_verify_draw(
    document: Annotated[Path, typer.Argument(help="the published draw (DRAW.json)")],
    rpc: RpcOption = None,
    data_dir: DataDirOption = None,
    trust: TrustOption = None,
    contract: ContractOption = None,
    chain_id: ChainIdOption = None,
    as_json: JsonOption = False,
    timeout: TimeoutOption = 10.0,
) -> None:
    """Verify a double-random draw (draw/1) with no service: its commitment and §1 rules, the
    commitment's Merkle path and anchor before the target block, the seeding block hash, and
    the selection and assignments recomputed.

    Exit status: 0 valid, 1 a step failed (its name is printed; a void draw fails
    anchored-too-late), 2 bad input, 3 undecided (the chain did not answer)."""
    from evidence_service.modules.inspection.draw_document import (
        MAX_DRAW_BYTES,
        DrawDocument,
        DrawInputError,
    )
    from evidence_service.modules.inspection.draw_verify import (
        DrawPins,
        RpcDrawChain,
        verify_draw,
    )
    from evidence_service.verify.audit import AuditUsageError, chain_reader, load_pins
    from evidence_service.verify.verdict import Check, Status, Verdict

    try:
        with document.open("rb") as f:
            parsed = DrawDocument.from_json(f.read(MAX_DRAW_BYTES + 1))
        pins = load_pins(trust, chain_id, contract)
        with chain_reader(rpc, data_dir, timeout) as w3:
            draw_verdict = verify_draw(
                parsed, RpcDrawChain(w3), DrawPins(pins.chain_id, pins.contracts)
            )
    except (OSError, DrawInputError, AuditUsageError) as exc:
        err.print(f"[red]cannot verify[/red]: {exc}")
        raise typer.Exit(EXIT_USAGE) from exc
    verdict = Verdict(
        "draw/1",
        [
            Check("draw", s.name, Status(s.status), s.failure, s.detail, s.number)
            for s in draw_verdict.steps
        ],
    )
    if as_json:
        print_verdict_json(verdict)
    else:
        print_steps(verdict, Console(), title=f"draw/1 — {document}")
        if not verdict.valid:
            err.print(f"failure: {verdict.failure}")
    raise typer.Exit(exit_status(verdict))


@inspection_app.command("refresh-warnings")
def inspection_refresh_warnings() -> None:
    """Score every enterprise of the directory again (after new weights, a new threshold or
    new risk classes) and open the warnings due; prints the ids of those opened."""
    from evidence_service.app import inspection_config
    from evidence_service.modules import inspection
    from evidence_service.modules.inspection import signals
    from evidence_service.modules.kit.db import make_engine, write_transaction
    from evidence_service.modules.kit.schema import ModuleSchemaError

    config = inspection_config(load_settings())
    try:
        inspection.SCHEMA.ensure_at(config.db_url)
    except ModuleSchemaError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    engine = make_engine(config.db_url)
    try:
        with write_transaction(engine) as conn:
            opened = signals.refresh_all(conn, now=datetime.now(UTC), settings=config.risk)
    finally:
        engine.dispose()
    print(json.dumps({"warnings_opened": opened}))


#: Seconds between anchoring rounds while the inspection demo's draw runs: each step of a draw
#: (its commitment, the heartbeats to its target block) waits for one round.
DEMO_ANCHOR_INTERVAL = 0.3


@inspection_app.command("demo")
def inspection_demo(
    enterprises: Annotated[
        int, typer.Option(min=8, max=100_000, help="enterprises in the directory")
    ] = DEMO_INSPECTION_ENTERPRISES,
    seed: Annotated[int, typer.Option(help="same seed, same directory")] = 1,
) -> None:
    """Demo data for joint inspection (idempotent): the demo departments' parts, a directory
    of Hangzhou and Jiaxing enterprises and a roster, signals that open warnings, tasks in
    consultation and one scheduled, and one double-random draw anchored and published with
    its tasks. Prints what it made as JSON; exit 1 when the draw could not be published.

    The draw needs the chain: run it with the service stopped (the embedded chain is opened
    here), or with EVIDENCE_CHAIN_URL. A larger --enterprises makes benchmark-sized data."""
    from evidence_service.demo import seed_demo

    settings = load_settings()
    services = open_services(settings)
    try:
        seeded = seed_demo(
            services.engine,
            settings.data_dir,
            token_ttl_days=settings.token_ttl_days,
            pki=services.pki,
        )
        made = load_inspection_demo(
            settings, services, seeded, enterprises=enterprises, seed=seed, progress=err.print
        )
    finally:
        services.close()
    print(json.dumps(made, ensure_ascii=False, indent=2, default=lambda v: v.isoformat()))
    show_inspection_demo(made)
    if made["draw"] is None:
        raise typer.Exit(1)


def load_inspection_demo(
    settings: Settings,
    services: Services,
    seeded: dict[str, Any],
    *,
    enterprises: int,
    seed: int = 1,
    progress: Callable[[str], None] = lambda _line: None,
) -> dict[str, Any]:
    """The joint-inspection demo (``modules/inspection/demo.py``) on ``services``, before
    anything serves: the data, then the draw through a temporary app (the module reaches the
    core through its API, in process) with an anchoring worker of its own on short rounds,
    stopped afterwards so the served app's worker takes the chain over. ``seeded`` is the
    core's demo (``seed_demo``): the coordinating office's officer runs the draw with their
    token. A draw that cannot be published leaves ``draw`` None and says why in
    ``draw_error``; the rest is loaded all the same."""
    import anyio
    import httpx

    from evidence_service.anchoring.chain_link import open_anchor_chain
    from evidence_service.anchoring.worker import AnchorWorker
    from evidence_service.app import create_app
    from evidence_service.client import ApiError
    from evidence_service.modules.inspection import demo as inspection_demo_data
    from evidence_service.modules.inspection.plan import PlanError

    people = inspection_demo_data.DemoPeople.from_seed(seeded)
    token = next(u["token"] for u in seeded["users"] if u["id"] == people.office_officer)
    app = create_app(services=services)
    state = app.state.inspection
    try:
        loaded = inspection_demo_data.load(
            state.engine, people, state.config, enterprises=enterprises, seed=seed
        )
        progress(
            f"{enterprises} enterprises, {loaded.signals_created} new "
            f"signals, {loaded.warnings_opened} warnings opened; running the draw"
        )
        quick = settings.model_copy(
            update={"anchor_interval": min(settings.anchor_interval, DEMO_ANCHOR_INTERVAL)}
        )
        worker = AnchorWorker(
            engine=services.engine,
            settings=quick,
            open_chain=lambda: open_anchor_chain(quick),
            holder=services.chain_holder,
            clock=services.clock,
        )
        worker.start()
        draw: dict[str, Any] | None = None
        error = None
        try:
            draw = anyio.run(
                lambda: inspection_demo_data.publish_draw(state, people, token, progress=progress)
            )
        except (
            inspection_demo_data.DemoError,
            TimeoutError,
            ApiError,
            httpx.HTTPError,
            PlanError,
        ) as exc:
            error = f"{type(exc).__name__}: {exc}"
        finally:
            worker.stop()
    finally:
        app.state.ops_probe.close()
        app.state.supervision.close()
        state.close()
    return {**loaded.as_json(), "draw": draw, "draw_error": error}


def show_inspection_demo(made: dict[str, Any]) -> None:
    """What the inspection demo made, for a person (stderr)."""
    draw = made["draw"]
    err.print(
        f"[bold]Inspection demo[/bold]: {made['warnings_opened']} warnings opened, "
        f"{made['tasks_created']} tasks drafted; warnings at GET /api/v1/inspection/warnings, "
        "tasks at GET /api/v1/inspection/tasks"
    )
    if draw is None:
        err.print(
            f"[yellow]warning[/yellow]: the demo draw was not published: {made['draw_error']}"
        )
        return
    err.print(
        f"  draw {draw['draw_id']}: {draw['state']}, {draw['selected']} enterprises selected, "
        f"anchored in block {draw['anchor_block']} before target block {draw['target_block']}; "
        f"DRAW.json at GET {draw['url']} — verify it with `evidence inspection verify-draw "
        "DRAW.json --rpc URL` (or --data-dir DIR with the service stopped)"
    )


#: The demo's catering platform is run by the market regulator (its officer is the module's
#: service identity in the demo); problems go to the comprehensive enforcement bureau.
DEMO_CATERING_DEPARTMENT, DEMO_ENFORCEMENT_DEPARTMENT = "HZ-SCJG", "HZ-ZHZF"


def demo_catering_settings(settings: Settings, seeded: dict[str, Any]) -> Settings:
    """``serve --demo``: the catering module captures hours as the demo's market-regulator
    officer, transfers to the demo's enforcement bureau, and listens to the local MQTT broker
    when one answers — unless the environment says otherwise."""
    import socket

    from pydantic import SecretStr

    changes: dict[str, Any] = {}
    if settings.catering_service_token is None:
        department = next(
            d["id"] for d in seeded["departments"] if d["code"] == DEMO_CATERING_DEPARTMENT
        )
        token = next(
            u["token"]
            for u in seeded["users"]
            if u["department_id"] == department and u["role"] == "officer"
        )
        changes["catering_service_token"] = SecretStr(token)
    if settings.catering_enforcement_department is None:
        changes["catering_enforcement_department"] = DEMO_ENFORCEMENT_DEPARTMENT
    if settings.catering_mqtt_host is None:
        try:
            with socket.create_connection(("127.0.0.1", settings.catering_mqtt_port), timeout=1):
                changes["catering_mqtt_host"] = "127.0.0.1"
        except OSError:
            pass
    return settings.model_copy(update=changes)


def load_catering_demo(settings: Settings, seeded: dict[str, Any]) -> dict[str, Any]:
    """The catering demo (``modules/catering/demo.py``): restaurants of the demo's market
    regulator with their monitors, and six hours of minute frames through the module's own
    frame sink, with one sustained exceedance and one purifier left off."""
    from datetime import UTC, datetime

    from evidence_service.app import catering_config
    from evidence_service.modules import catering
    from evidence_service.modules.catering import demo as catering_demo
    from evidence_service.modules.catering.factors import load_factors
    from evidence_service.modules.catering.frames import FrameSink
    from evidence_service.modules.kit.db import make_engine

    config = catering_config(settings)
    catering.SCHEMA.ensure_at(config.db_url)
    engine = make_engine(config.db_url)
    try:
        factors = load_factors(config.factors_file)
        sink = FrameSink(
            engine,
            factors=factors,
            limits=config.limits,
            roles=factors.rules(),
            rectify_days=config.rectify_days,
        )
        department = next(
            d["id"] for d in seeded["departments"] if d["code"] == DEMO_CATERING_DEPARTMENT
        )
        loaded = catering_demo.load(engine, sink, department_id=department, now=datetime.now(UTC))
    finally:
        engine.dispose()
    return {
        "restaurants": [dataclasses.asdict(r) for r in loaded.restaurants],
        "devices": [
            {
                "mn": d.mn,
                "password": d.password,
                "kind": d.kind,
                "credit_code": d.credit_code,
                "signs": d.private_key is not None,
            }
            for d in loaded.devices
        ],
        "frames": loaded.frames,
        "alarms_opened": loaded.alarms_opened,
    }


def show_catering_demo(made: dict[str, Any], settings: Settings) -> None:
    """What the catering demo made, for a person (stderr)."""
    opened = ", ".join(f"{k} {v}" for k, v in sorted(made["alarms_opened"].items())) or "none"
    listening = (
        f"listening on MQTT {settings.catering_mqtt_host}:{settings.catering_mqtt_port} "
        "(catering/<MN>/hj212)"
        if settings.catering_mqtt_host
        else "no MQTT broker answered on 127.0.0.1: frames over POST /api/v1/catering/frames"
    )
    err.print(
        f"[bold]Catering demo[/bold]: {len(made['restaurants'])} restaurants, "
        f"{len(made['devices'])} monitors, {made['frames']} frames; alarms opened: {opened}; "
        f"{listening}; the map at /catering/map"
    )
    for device in made["devices"][:3]:
        err.print(f"  monitor {device['mn']} ({device['kind']}) password {device['password']}")


if __name__ == "__main__":  # last: `python -m evidence_service.cli` runs with every command
    app()
