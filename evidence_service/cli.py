"""The ``evidence`` command: serve, seed demo data, upload a file, run the reaper."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

from evidence_service.config import Settings

app = typer.Typer(help="Evidence custody service", no_args_is_help=True, add_completion=False)
err = Console(stderr=True)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="bind address")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port")] = None,
    demo: Annotated[bool, typer.Option("--demo", help="seed demo data first and print it")] = False,
) -> None:
    """Run the API (data dir from EVIDENCE_DATA_DIR, default ./evidence-data)."""
    import uvicorn

    from evidence_service.app import create_app
    from evidence_service.demo import seed_demo
    from evidence_service.services import build_services

    settings = Settings()
    services = build_services(settings)
    if demo:
        seeded = seed_demo(services.engine, settings.data_dir)
        err.print("[bold]Demo users[/bold] (use a token as 'Authorization: Bearer …'):")
        for user in seeded["users"]:
            err.print(f"  {user['role']:<9} {user['name']:<16} {user['token']}")
    bind_host = host or settings.host
    bind_port = port or settings.port
    err.print(f"Serving on http://{bind_host}:{bind_port}  (API docs: /docs)")
    options: dict[str, Any] = {
        "host": bind_host,
        "port": bind_port,
        "log_level": "info",
        "timeout_graceful_shutdown": 5,
    }
    if settings.workers > 1:
        # The schema exists now (built above); each worker process builds its own services.
        services.close()
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
    """Create demo departments and users (idempotent); print them as JSON."""
    from evidence_service.demo import seed_demo
    from evidence_service.services import build_services

    settings = Settings()
    services = build_services(settings)
    try:
        print(
            json.dumps(seed_demo(services.engine, settings.data_dir), ensure_ascii=False, indent=2)
        )
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
    from evidence_service.reaper import reap as run_reaper
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


if __name__ == "__main__":
    app()
