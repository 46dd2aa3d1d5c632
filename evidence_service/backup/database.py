"""The database part of a backup: a consistent online copy, and putting it back.

SQLite: the sqlite3 online backup API copies one consistent snapshot while the service keeps
writing (WAL: readers never block writers); the copy is a standalone database file.
PostgreSQL: ``pg_dump`` in custom format (one transaction snapshot), restored by ``pg_restore``
into an empty database in a single transaction. Both tools come from ``PATH``; a missing tool, or
a ``pg_dump`` older than the server (which ``pg_dump`` itself refuses), is reported before any
work is done. The password goes to the tools in ``PGPASSWORD``, never on a command line.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import make_url

from evidence_service.backup.errors import BackupError, RestoreRefusedError, ToolMissingError

ALEMBIC_TABLE = "alembic_version"
_VERSION = re.compile(r"\)\s+(\d+)(?:\.(\d+))?")


# -- SQLite ---------------------------------------------------------------------------------------


def sqlite_file(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError(f"cannot back up the in-memory SQLite database of {url}")
    return Path(database)


def snapshot_sqlite(source: Path, target: Path) -> None:
    """Copy one consistent snapshot of the live database at ``source`` into a new ``target``."""
    if not source.is_file():
        raise BackupError(f"no SQLite database at {source}")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        src = sqlite3.connect(f"file:{quote(str(source))}?mode=ro", uri=True, timeout=30)
        try:
            dst = sqlite3.connect(target)
            try:
                src.backup(dst)  # all pages in one step: one snapshot
                dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal
                dst.commit()
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.Error as exc:
        raise BackupError(f"cannot copy the SQLite database {source}: {exc}") from exc


def place_sqlite(copy: Path, target: Path) -> None:
    """Put a backed-up database file at ``target`` (which must not exist), fsynced."""
    if target.exists():
        raise RestoreRefusedError(f"a database file already exists at {target}")
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.restoring")
    shutil.copyfile(copy, temp)
    fd = os.open(temp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.link(temp, target)  # fails rather than replace a file that appeared meanwhile
    temp.unlink()


# -- PostgreSQL -----------------------------------------------------------------------------------


def postgres_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise ToolMissingError(
            f"{name} is not on PATH: install the PostgreSQL client tools (the same major "
            "version as the server, or newer)"
        )
    return found


def tool_version(tool: str) -> tuple[int, str]:
    """(major, "15.20") from ``<tool> --version``."""
    output = subprocess.run([tool, "--version"], capture_output=True, text=True, check=False)
    match = _VERSION.search(output.stdout)
    if output.returncode != 0 or match is None:
        raise ToolMissingError(f"cannot tell the version of {tool}: {output.stdout.strip()}")
    major = int(match.group(1))
    return major, f"{major}.{match.group(2)}" if match.group(2) else str(major)


def server_major(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SHOW server_version_num")).scalar_one()) // 10000


def dump_postgres(url: str, engine: Engine, target: Path) -> str:
    """``pg_dump`` the database at ``url`` into ``target`` (custom format); returns its version."""
    tool = postgres_tool("pg_dump")
    major, version = tool_version(tool)
    server = server_major(engine)
    if major < server:
        raise ToolMissingError(
            f"pg_dump {version} is older than the PostgreSQL {server} server and cannot dump "
            f"it: put pg_dump {server} (or newer) first on PATH"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    conninfo, env = _libpq(url)
    _run([tool, "--format=custom", "--no-owner", "--no-privileges", f"--file={target}",
          f"--dbname={conninfo}"], env, "pg_dump")  # fmt: skip
    return version


def check_pg_restore(dumped_by: str | None) -> str:
    """The ``pg_restore`` to use; refuses one older than the ``pg_dump`` that made the dump."""
    tool = postgres_tool("pg_restore")
    major, version = tool_version(tool)
    needed = int(dumped_by.split(".")[0]) if dumped_by else 0
    if major < needed:
        raise ToolMissingError(
            f"the dump was made by pg_dump {dumped_by}; pg_restore {version} cannot read it: "
            f"put pg_restore {needed} (or newer) first on PATH"
        )
    return tool


def restore_postgres(tool: str, url: str, dump: Path) -> None:
    conninfo, env = _libpq(url)
    _run([tool, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
          f"--dbname={conninfo}", str(dump)], env, "pg_restore")  # fmt: skip


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection string (no password) and the environment that carries it."""
    parsed = make_url(url)
    words = {
        "host": parsed.host,
        "port": str(parsed.port) if parsed.port else None,
        "user": parsed.username,
        "dbname": parsed.database,
        **{k: str(v) for k, v in parsed.query.items()},
    }
    conninfo = " ".join(f"{k}={_quoted(v)}" for k, v in words.items() if v)
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    return conninfo, env


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _run(command: list[str], env: dict[str, str], name: str) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"{name} failed (exit {result.returncode}): {result.stderr.strip()}")


# -- both -----------------------------------------------------------------------------------------


def table_names(engine: Engine) -> list[str]:
    return sorted(inspect(engine).get_table_names())


def alembic_revision(engine: Engine) -> str | None:
    """The schema revision Alembic recorded, if the database has one."""
    if ALEMBIC_TABLE not in table_names(engine):
        return None
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT version_num FROM {ALEMBIC_TABLE}")).scalars().all()
    return ",".join(sorted(str(r) for r in rows)) or None
