"""What the app hands the supervision module: it reads no core settings itself."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SupervisionConfig:
    """``db_url``: the database the module's own tables live in (the core's, by default);
    ``pii_secret``: the HMAC key party identifiers are hashed with (the core's, so a digest
    found here finds the same party there); ``core_base_url``: the core's URL when the module
    runs as a separate deployment (None: in the same process, through the ASGI app)."""

    db_url: str
    pii_secret: bytes = field(repr=False)
    core_base_url: str | None = None
    #: Records in one ingest batch at most (the core also bounds the body's bytes).
    max_batch_records: int = 5000
    #: Records on one page of a search.
    max_page_size: int = 500
