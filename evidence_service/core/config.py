"""Settings: built once at the edge (CLI, app factory) and passed down; nothing else reads env."""

from __future__ import annotations

import json
import math
import os
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

MiB = 1024 * 1024
GiB = 1024 * MiB

#: The key of ``retention_years`` that applies to every port not named.
DEFAULT_CATEGORY = "default"
DEFAULT_RETENTION_YEARS = 10
MAX_RETENTION_YEARS = 100
RetentionYears = Annotated[int, Field(strict=True, ge=1, le=MAX_RETENTION_YEARS)]


def add_years(moment: datetime, years: int) -> datetime:
    """The same calendar moment ``years`` later; 29 February becomes 1 March (never earlier)."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, month=3, day=1)


#: The capture ports' ids, in the order of the Administrative Penalty Law's art. 46 list (the
#: port registry in ``capture/ports/registry.py`` checks it has exactly these). Retention
#: categories are named by them.
PORT_IDS: tuple[str, ...] = (
    "documentary",
    "physical",
    "audiovisual",
    "electronic",
    "site_survey",
    "remote_video",
    "inquiry_record",
    "onsite_record",
)


#: Secrets that may also come from a file every replica mounts, the docker secrets convention:
#: ``EVIDENCE_<NAME>_FILE=/run/secrets/<name>`` instead of ``EVIDENCE_<NAME>``.
FILE_SECRETS: tuple[str, ...] = ("key_passphrase", "pii_secret", "chain_key", "minio_secret_key")


class SecretFiles(PydanticBaseSettingsSource):
    """``EVIDENCE_<NAME>_FILE``: the secret is the file's text, without surrounding whitespace.

    Setting both the variable and its ``_FILE``, naming a file that cannot be read, or an
    empty file stops start-up with the variable's name."""

    def __init__(self, settings_cls: type[BaseSettings], environ: dict[str, str]) -> None:
        super().__init__(settings_cls)
        self.environ = {name.upper(): value for name, value in environ.items()}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # __call__ reads every file at once

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name in FILE_SECRETS:
            variable = f"EVIDENCE_{name.upper()}"
            path = self.environ.get(f"{variable}_FILE")
            if not path:
                continue
            if variable in self.environ:
                raise SettingsError(f"set {variable} or {variable}_FILE, not both")
            try:
                secret = Path(path).read_text(encoding="utf-8").strip()
            except (OSError, UnicodeError) as exc:
                raise SettingsError(f"{variable}_FILE={path} cannot be read: {exc}") from exc
            if not secret:
                raise SettingsError(f"{variable}_FILE={path} is empty")
            values[name] = secret
        return values


class Settings(BaseSettings):
    """Every knob of the service. Environment variables carry the ``EVIDENCE_`` prefix; the
    secrets in ``FILE_SECRETS`` may instead be read from ``EVIDENCE_<NAME>_FILE``."""

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
    retention_years: dict[str, RetentionYears] = Field(
        default_factory=lambda: {DEFAULT_CATEGORY: DEFAULT_RETENTION_YEARS},
        description='COMPLIANCE retention in years per capture category, as JSON: {"default": '
        '10, "audiovisual": 30}. Keys: "default" and port ids; a port not named keeps the '
        "default.",
    )
    retention_days: int | None = Field(
        None,
        ge=1,
        le=MAX_RETENTION_YEARS * 365,
        description="Deprecated: the default retention in days, rounded up to whole years; "
        "use retention_years.",
    )

    max_upload_bytes: int = Field(64 * GiB, ge=1, description="Largest single evidence file.")
    max_metadata_bytes: int = Field(64 * 1024, ge=1024)
    max_json_body_bytes: int = Field(
        1024 * 1024,
        ge=16 * 1024,
        description="Largest request body of a JSON route (413 beyond it); the streaming "
        "routes have their own limits, listed in docs/api.md.",
    )
    upload_session_ttl_hours: int = Field(72, ge=1, description="Unfinished sessions expire.")
    temp_object_ttl_seconds: int = Field(
        3600, ge=0, description="The reaper removes unreferenced temp objects older than this."
    )
    refused_request_retention_days: int = Field(
        365,
        ge=1,
        description="The reaper deletes rows of the refused-request log (requests the access "
        "policy answered 401, 403 or 404) older than this many days.",
    )
    supervision_run_every_seconds: float = Field(
        3600,
        ge=0,
        description="How often the supervision module runs its problem models on schedule "
        "(incremental, and in full once a day); 0 turns the schedule off.",
    )
    inspection_annual_cap: int = Field(
        2,
        ge=1,
        le=366,
        description="The published cap on joint inspections of one enterprise per calendar "
        "year (Asia/Shanghai): a task that would exceed it is refused, and a draw leaves "
        "enterprises at the cap out before it is committed.",
    )
    catering_mqtt_host: str | None = Field(
        None,
        description="The MQTT broker the catering monitors publish HJ 212 frames to (topics "
        "catering/<MN>/hj212 and catering/<MN>/hj212s); unset: frames come over HTTP only.",
    )
    catering_mqtt_port: int = Field(1883, ge=1, le=65535, description="Its port.")
    catering_service_token: SecretStr | None = Field(
        None,
        description="The catering module's service identity in the core: a service token of an "
        "officer of the department that runs the platform, with which each device-hour of "
        "readings is captured as evidence; unset: readings are kept but not captured.",
    )
    catering_oil_fume_limit: float = Field(
        1.0,
        gt=0,
        le=2.0,
        description="The local oil-fume limit in mg/m3 (standard conditions) the alarm rules "
        "judge by; GB 18483-2001's national limit is 2.0, local standards are stricter "
        "(DB31/844-2014: 1.0).",
    )
    catering_sustained_minutes: int = Field(
        30,
        ge=1,
        le=1440,
        description="Minutes of readings above the limit, in a row, that raise the "
        "sustained-exceedance alarm.",
    )
    catering_enforcement_department: str | None = Field(
        None,
        description="The comprehensive enforcement department (its code or id) to which a "
        "reviewer transfers an overdue catering problem's evidence with one click; unset: the "
        "reviewer names the department with each transfer.",
    )
    catering_rectify_days: int = Field(
        7,
        ge=1,
        le=365,
        description="Days a restaurant has to rectify a catering problem before an alarm "
        "that is still open queues it for a reviewer to transfer.",
    )
    catering_readings_keep_days: int = Field(
        3 * 365,
        ge=1,
        description="Days the catering module keeps minute readings queryable; each "
        "device-hour stays in the evidence store for good.",
    )
    package_verify_max_read_bytes: int = Field(
        256 * MiB,
        ge=0,
        description="Most bytes of package members one anonymous POST /api/v1/packages/verify "
        "inflates and hashes; a package that needs more gets a verdict saying so (too-large) "
        "instead of the work. Signed-in callers are not capped.",
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
    officer_cert_renew_days: int = Field(
        30,
        ge=1,
        le=3650,
        description="A custodial officer certificate expiring within this many days (or within "
        "the second half of its validity, if that is shorter) is renewed from the department CA "
        "when the officer next captures.",
    )
    token_ttl_days: int = Field(
        30,
        ge=1,
        le=36500,
        description="A person's bearer token expires this many days after enrolment; device "
        "and service tokens do not expire (they are listed and revocable).",
    )
    enrolment_ttl_hours: int = Field(
        72, ge=1, le=24 * 30, description="An officer's one-time enrolment code expires."
    )
    web_session_hours: int = Field(
        12,
        ge=1,
        le=24 * 30,
        description="A web sign-in (its session cookie and the token behind it) expires.",
    )

    rate_limits: bool = Field(True, description="Refuse callers over their rate (429).")
    rate_limit_storage: str = Field(
        "memory://",
        description="Where counts live: memory:// (one process) or redis://host:6379/0 so that "
        "several replicas share them.",
    )
    rate_limit_public: str = Field(
        "120/minute",
        description="Requests per client address without a token (verification, trust, seals).",
    )
    rate_limit_public_bytes_mib: str = Field(
        "1024/minute",
        description="MiB an address without a token may send to be hashed (POST /verify, "
        "/packages/verify).",
    )
    rate_limit_enrol: str = Field(
        "10/minute", description="Enrolment attempts per client address (codes are guessed)."
    )
    rate_limit_signed_in: str = Field(
        "1200/minute", description="Requests per person token on ordinary routes."
    )
    rate_limit_bulk: str = Field(
        "60000/minute",
        description="Requests per token on capture and upload routes, and for device and "
        "service tokens on every route (bulk senders: cameras, IoT gateways, benchmarks).",
    )
    metrics_token: SecretStr | None = Field(
        None,
        description="Bearer token a Prometheus scraper sends to read /metrics "
        "(admin and auditor tokens may read it too; without either: 401/403).",
    )
    metrics_public: bool = Field(
        False, description="Serve /metrics to anyone (only where the network keeps it private)."
    )
    ready_max_anchor_lag_seconds: float = Field(
        600.0,
        gt=0,
        description="/readyz answers 503 when the oldest leaf not yet anchored is older.",
    )
    chain_balance_warn_wei: int | None = Field(
        None,
        ge=0,
        description="/readyz warns when the anchoring account holds less (wei); default: the "
        "gas of 100 anchors at the chain's current gas price.",
    )
    log_format: Literal["auto", "json", "text"] = Field(
        "auto", description="Log lines: JSON, text, or auto (JSON unless stderr is a terminal)."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Least severe level logged."
    )
    workers: int = Field(1, ge=1, le=64, description="API worker processes of `evidence serve`.")
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = "http://127.0.0.1:8000"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword arguments, then ``EVIDENCE_*`` variables, then ``EVIDENCE_*_FILE`` files."""
        secret_files = SecretFiles(settings_cls, dict(os.environ))
        return init_settings, env_settings, secret_files, dotenv_settings, file_secret_settings

    @field_validator(
        "rate_limit_public",
        "rate_limit_public_bytes_mib",
        "rate_limit_enrol",
        "rate_limit_signed_in",
        "rate_limit_bulk",
    )
    @classmethod
    def _rate(cls, value: str) -> str:
        """A rate as the ``limits`` library reads it: ``<count>/<second|minute|hour|day>``."""
        from limits import parse

        try:
            parse(value)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a rate like '120/minute'") from exc
        return value

    @field_validator("retention_years", mode="before")
    @classmethod
    def _retention_from_json(cls, value: object) -> object:
        """The JSON text as the environment gives it, also when passed as a keyword."""
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError as exc:
                raise ValueError(f"EVIDENCE_RETENTION_YEARS is not JSON: {exc}") from exc
        return value

    @field_validator("retention_years", mode="after")
    @classmethod
    def _check_retention_categories(cls, years: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(years) - {DEFAULT_CATEGORY, *PORT_IDS})
        if unknown:
            raise ValueError(
                f"EVIDENCE_RETENTION_YEARS names unknown categories {unknown}; "
                f"use {DEFAULT_CATEGORY!r} or a port id: {', '.join(PORT_IDS)}"
            )
        return {DEFAULT_CATEGORY: DEFAULT_RETENTION_YEARS, **years}

    @model_validator(mode="after")
    def _apply_legacy_retention_days(self) -> Settings:
        if self.retention_days is None:
            return self
        if "retention_years" in self.model_fields_set:
            raise ValueError(
                "set EVIDENCE_RETENTION_YEARS or the deprecated EVIDENCE_RETENTION_DAYS, not both"
            )
        # Rounded up: a migrated setting never retains evidence for less time than it did.
        self.retention_years = {DEFAULT_CATEGORY: math.ceil(self.retention_days / 365)}
        self.retention_days = None  # converted; as_env passes the years on
        return self

    def retention_years_for(self, port_id: str) -> int:
        """Years of COMPLIANCE retention for evidence captured through ``port_id``."""
        return self.retention_years.get(port_id, self.retention_years[DEFAULT_CATEGORY])

    def retention_until(self, port_id: str, received_at: datetime) -> datetime:
        """When the retention of an item of this category received then runs out."""
        return add_years(received_at, self.retention_years_for(port_id))

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
            text = json.dumps(value) if isinstance(value, dict) else str(value)
            env[f"EVIDENCE_{name.upper()}"] = text
        return env

    @property
    def resolved_db_url(self) -> str:
        if self.db_url:
            return self.db_url
        return f"sqlite:///{(self.data_dir / 'evidence.db').resolve()}"

    @property
    def objects_dir(self) -> Path:
        return self.data_dir / "objects"
