"""Settings: built once at the edge (CLI, app factory) and passed down; nothing else reads env."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MiB = 1024 * 1024
GiB = 1024 * MiB


class Settings(BaseSettings):
    """Every knob of the service. Environment variables carry the ``EVIDENCE_`` prefix."""

    model_config = SettingsConfigDict(env_prefix="EVIDENCE_", extra="ignore")

    data_dir: Path = Field(Path("./evidence-data"), description="Where embedded state lives.")
    db_url: str | None = Field(
        None,
        description="SQLAlchemy URL; default: SQLite file in the data dir. "
        "PostgreSQL: postgresql+psycopg://user:pass@host:5432/db",
    )

    object_store: Literal["local", "minio"] = "local"
    minio_endpoint: str = "127.0.0.1:9000"
    minio_access_key: str = "minioadmin"
    minio_secret_key: SecretStr = SecretStr("minioadmin")
    minio_bucket: str = "evidence"
    minio_secure: bool = False
    minio_region: str = "us-east-1"
    minio_part_size_mib: int = Field(
        8, ge=5, le=512, description="S3 part size of streamed puts; each part is buffered once."
    )
    retention_days: int = Field(3650, ge=1, description="COMPLIANCE retention of evidence objects.")

    max_upload_bytes: int = Field(64 * GiB, ge=1, description="Largest single evidence file.")
    max_metadata_bytes: int = Field(64 * 1024, ge=1024)
    upload_session_ttl_hours: int = Field(72, ge=1, description="Unfinished sessions expire.")
    temp_object_ttl_seconds: int = Field(
        3600, ge=0, description="The reaper removes unreferenced temp objects older than this."
    )

    workers: int = Field(1, ge=1, le=64, description="API worker processes of `evidence serve`.")
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = "http://127.0.0.1:8000"

    @model_validator(mode="after")
    def _check_minio(self) -> Settings:
        if self.object_store == "minio" and not self.minio_endpoint:
            raise ValueError("EVIDENCE_MINIO_ENDPOINT is required when EVIDENCE_OBJECT_STORE=minio")
        return self

    def as_env(self) -> dict[str, str]:
        """These settings as ``EVIDENCE_*`` variables (secrets in clear), to configure a child
        process such as a test server or a benchmark server."""
        env: dict[str, str] = {}
        for name, value in self.model_dump().items():
            if value is None:
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            env[f"EVIDENCE_{name.upper()}"] = str(value)
        return env

    @property
    def resolved_db_url(self) -> str:
        if self.db_url:
            return self.db_url
        return f"sqlite:///{(self.data_dir / 'evidence.db').resolve()}"

    @property
    def objects_dir(self) -> Path:
        return self.data_dir / "objects"
