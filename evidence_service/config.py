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

    chain_url: str | None = Field(
        None,
        description="Ethereum JSON-RPC URL of the anchoring chain; default: the embedded chain "
        "persisted in <data_dir>/chain.",
    )
    chain_key: SecretStr | None = Field(
        None, description="Hex private key of the anchoring account (required with chain_url)."
    )
    chain_contract: str | None = Field(
        None,
        description="AnchorRegistry address; default: the one this service deployed and "
        "recorded for the chain, or a new deployment.",
    )
    chain_confirmations: int = Field(0, ge=0, le=64, description="Blocks to wait after mining.")
    chain_timeout_seconds: float = Field(10.0, gt=0, description="Per JSON-RPC request.")
    anchor_interval: float = Field(
        5.0, gt=0, le=86400, description="Seconds a statement may wait before its batch closes."
    )
    anchor_max_leaves: int = Field(
        100_000, ge=2, le=4_000_000, description="Leaves per Merkle batch (custody head included)."
    )
    anchor_worker: bool = Field(
        True, description="Run the anchoring worker inside `evidence serve`."
    )

    key_passphrase: SecretStr | None = Field(
        None,
        description="Encrypts CA and custodial officer keys at rest; default: a random "
        "passphrase generated once into <data_dir>/keys.passphrase (mode 0600).",
    )
    pii_secret: SecretStr | None = Field(
        None,
        description="HMAC key for party identifiers (ID numbers, credit codes); default: "
        "generated once into <data_dir>/pii.secret (mode 0600).",
    )
    officer_cert_days: int = Field(365, ge=1, le=3650, description="Officer certificate validity.")

    workers: int = Field(1, ge=1, le=64, description="API worker processes of `evidence serve`.")
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = "http://127.0.0.1:8000"

    @model_validator(mode="after")
    def _check_backends(self) -> Settings:
        if self.object_store == "minio" and not self.minio_endpoint:
            raise ValueError("EVIDENCE_MINIO_ENDPOINT is required when EVIDENCE_OBJECT_STORE=minio")
        if self.chain_url and self.chain_key is None:
            raise ValueError("EVIDENCE_CHAIN_KEY is required when EVIDENCE_CHAIN_URL is set")
        return self

    @property
    def chain_dir(self) -> Path:
        """Where the embedded chain lives (unused with ``chain_url``)."""
        return self.data_dir / "chain"

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
