"""The case centre's records: validated in full before any row is written, upserted by
(department, case number, kind), searched with keyset pagination.

A batch is all or nothing: every row is checked (shape, kind, stage names, ISO dates, amounts
not negative, ids without control characters, lengths) and the whole batch is refused with the
list of bad rows if one fails. Whether the dates run in the order the law implies is *not*
checked here — that is for the problem models to flag, so a record with a late decision can
still be ingested and found.
"""

from __future__ import annotations

import base64
import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)
from sqlalchemy import Connection, Engine, and_, bindparam, delete, insert, or_, select, update
from ulid import ULID

from evidence_service.modules.kit.db import write_transaction
from evidence_service.modules.supervision import pii
from evidence_service.modules.supervision.models import (
    STAGES,
    batch,
    record,
    record_link,
    record_officer,
)

#: Chinese stage names are accepted as well as the English keys (立案 is ``filing``).
STAGE_ALIASES = {chinese: key for key, chinese in STAGES.items()}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_ID = re.compile(r"[0-9A-Za-z_.:-]+")
CHUNK = 500


def _printable(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("contains control characters")
    if value != value.strip() or not value:
        raise ValueError("empty, or with leading or trailing spaces")
    return value


def _identifier(value: str) -> str:
    if not _ID.fullmatch(value):
        raise ValueError("an id is letters, digits and . _ : - only")
    return value


def _iso_date(value: Any) -> Any:
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("a date is written YYYY-MM-DD")
    return date.fromisoformat(value)  # ValueError for 2024-02-30


Text = Annotated[str, AfterValidator(_printable)]
Ident = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_identifier)]
IsoDate = Annotated[date, BeforeValidator(_iso_date)]
Amount = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]


class Officer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[Text, Field(max_length=100)]
    cert_no: Annotated[Ident, Field(max_length=32)] | None = None  # 执法证号


class Party(BaseModel):
    """The party (行政相对人): a person's resident ID or an organisation's credit code, in
    clear only in this request."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["person", "organisation"]
    identifier: Annotated[str, Field(max_length=32)]

    @field_validator("identifier")
    @classmethod
    def _checked(cls, value: str, info: Any) -> str:
        kind = info.data.get("kind")
        if kind is None:
            return value
        return pii.check(kind, value)  # never echoes the number back


class RecordIn(BaseModel):
    """One enforcement record as a department sends it (docs/modules/supervision.md)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["complaint", "permit", "inspection", "penalty", "reconsideration"]
    department_id: Ident
    case_number: Annotated[Text, Field(max_length=64)]
    title: Annotated[Text, Field(max_length=200)]
    region: Annotated[Text, Field(max_length=64)] | None = None
    city: Annotated[Text, Field(max_length=64)]
    procedure: Literal["simple", "general"] = "general"
    stages: dict[str, IsoDate | None] = Field(default_factory=dict)
    #: when the act happened (a time limit runs from it: 行政处罚法 art. 36)
    occurred_on: IsoDate | None = None
    #: whether the party was told of the right to a hearing (art. 63); None: not said
    hearing_offered: bool | None = None
    notified_amount: Amount | None = None
    decided_amount: Amount | None = None
    party: Party | None = None
    core_case_id: Ident | None = None
    evidence_ids: list[Ident] = Field(default_factory=list, max_length=200)
    document_ids: list[Ident] = Field(default_factory=list, max_length=200)
    officers: list[Officer] = Field(default_factory=list, max_length=20)

    @field_validator("stages", mode="before")
    @classmethod
    def _known_stages(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        unknown = [k for k in value if k not in STAGES and k not in STAGE_ALIASES]
        if unknown:
            names = ", ".join(f"{k} ({v})" for k, v in STAGES.items())
            raise ValueError(f"unknown stage {str(unknown[0])[:40]!r}; stages are {names}")
        return {STAGE_ALIASES.get(k, k): v for k, v in value.items()}

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.department_id, self.case_number, self.kind)


@dataclass
class RowError:
    row: int  # 0-based index in the batch (CSV: the data line, header excluded)
    errors: list[dict[str, str]]

    def problem_errors(self) -> list[dict[str, Any]]:
        """Each failed field as a problem's ``errors`` entry: ``records[i].<field>`` (or
        ``header``) and the message, with ``row`` = i."""
        if self.row < 0:
            return [{"loc": e["loc"], "msg": e["msg"]} for e in self.errors]
        return [
            {"loc": f"records[{self.row}].{e['loc']}", "msg": e["msg"], "row": self.row}
            for e in self.errors
        ]


class BatchInvalid(Exception):
    def __init__(self, rows: list[RowError]) -> None:
        super().__init__(f"{len(rows)} bad rows")
        self.rows = rows


def _pydantic_errors(exc: ValidationError) -> list[dict[str, str]]:
    """Where and what, never the input (it may hold a party's identifier)."""
    return [{"loc": ".".join(str(p) for p in e["loc"]), "msg": str(e["msg"])} for e in exc.errors()]


def validate_rows(rows: Sequence[Any]) -> list[RecordIn]:
    """Every row as a record, or BatchInvalid listing every bad row (duplicates included)."""
    good: list[RecordIn] = []
    bad: list[RowError] = []
    seen: dict[tuple[str, str, str], int] = {}
    for index, row in enumerate(rows):
        try:
            parsed = RecordIn.model_validate(row)
        except ValidationError as exc:
            bad.append(RowError(index, _pydantic_errors(exc)))
            continue
        first = seen.setdefault(parsed.key, index)
        if first != index:
            msg = f"same department, case number and kind as row {first}"
            bad.append(RowError(index, [{"loc": "case_number", "msg": msg}]))
            continue
        good.append(parsed)
    if bad:
        raise BatchInvalid(bad)
    return good


# ------------------------------------------------------------------------------ CSV

#: The CSV columns, in order; stages are one column each, lists are ``;``-separated and an
#: officer is ``name:cert_no``.
CSV_COLUMNS = (
    "kind",
    "department_id",
    "case_number",
    "title",
    "region",
    "city",
    "procedure",
    *STAGES,
    "occurred_on",
    "hearing_offered",
    "notified_amount",
    "decided_amount",
    "party_kind",
    "party_identifier",
    "core_case_id",
    "evidence_ids",
    "document_ids",
    "officers",
)
#: The columns that become parts of a field (the stages, the party, the lists); every other
#: column is copied as it is into the record's field of the same name.
_COMPOSED = frozenset(
    {*STAGES, "party_kind", "party_identifier", "evidence_ids", "document_ids", "officers"}
)
_PLAIN_COLUMNS = tuple(c for c in CSV_COLUMNS if c not in _COMPOSED)


def csv_rows(text: str) -> list[dict[str, Any]]:
    """The CSV batch as the JSON rows it stands for; BatchInvalid for a wrong header."""
    try:
        return _csv_rows(text)
    except csv.Error as exc:
        raise BatchInvalid([RowError(-1, [{"loc": "csv", "msg": str(exc)[:200]}])]) from exc


def _csv_rows(text: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    unknown = [c for c in header if c not in CSV_COLUMNS]
    missing = [
        c for c in ("kind", "department_id", "case_number", "title", "city") if c not in header
    ]
    if unknown or missing:
        msg = f"unknown columns {unknown[:5]}, missing {missing}; columns are {list(CSV_COLUMNS)}"
        raise BatchInvalid([RowError(-1, [{"loc": "header", "msg": msg[:600]}])])
    return [_csv_row(line) for line in reader]


def _split(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(";") if part.strip()]


def _csv_row(line: dict[str | Any, Any]) -> dict[str, Any]:
    if None in line:  # more cells than columns
        return {"extra_cells": line[None]}
    cells = {k: v for k, v in line.items() if v not in (None, "")}
    row: dict[str, Any] = {k: cells[k] for k in _PLAIN_COLUMNS if k in cells}
    row["stages"] = {stage: cells[stage] for stage in STAGES if stage in cells}
    if "party_kind" in cells or "party_identifier" in cells:
        row["party"] = {
            "kind": cells.get("party_kind"),
            "identifier": cells.get("party_identifier"),
        }
    row["evidence_ids"] = _split(cells.get("evidence_ids", ""))
    row["document_ids"] = _split(cells.get("document_ids", ""))
    officers = []
    for item in _split(cells.get("officers", "")):
        name, _, cert = item.partition(":")
        officers.append({"name": name.strip(), "cert_no": cert.strip() or None})
    row["officers"] = officers
    return row


# ------------------------------------------------------------------------------ ingest


def new_id() -> str:
    return str(ULID())


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class IngestResult:
    batch_id: str
    created: int
    updated: int
    ids: list[str] = field(default_factory=list)


def _row(rec: RecordIn, secret: bytes) -> dict[str, Any]:
    party = rec.party
    values: dict[str, Any] = {
        "department_id": rec.department_id,
        "kind": rec.kind,
        "case_number": rec.case_number,
        "title": rec.title,
        "region": rec.region,
        "city": rec.city,
        "procedure": rec.procedure,
        "party_kind": party.kind if party else None,
        "party_digest": pii.digest(party.kind, party.identifier, secret) if party else None,
        "party_masked": pii.mask(party.identifier) if party else None,
        "notified_fen": _fen(rec.notified_amount),
        "decided_fen": _fen(rec.decided_amount),
        "core_case_id": rec.core_case_id,
        "occurred_on": rec.occurred_on,
        "hearing_offered": rec.hearing_offered,
    }
    for stage in STAGES:
        values[f"{stage}_on"] = rec.stages.get(stage)
    return values


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _existing(conn: Connection, records: Sequence[RecordIn]) -> dict[tuple[str, str, str], str]:
    keys = {r.key for r in records}
    found: dict[tuple[str, str, str], str] = {}
    numbers = sorted({r.case_number for r in records})
    for part in _chunks(numbers):
        rows = conn.execute(
            select(record.c.id, record.c.department_id, record.c.case_number, record.c.kind).where(
                record.c.case_number.in_(part)
            )
        )
        for rid, dept, number, kind in rows:
            if (dept, number, kind) in keys:
                found[(dept, number, kind)] = rid
    return found


def ingest(
    engine: Engine,
    records: Sequence[RecordIn],
    *,
    secret: bytes,
    ingested_by: str,
    fmt: str,
    planted: Sequence[list[str] | None] | None = None,
    now: datetime | None = None,
) -> IngestResult:
    """Write validated records in one transaction: new ones inserted, known ones (same
    department, case number and kind) updated in place with their officers and links
    replaced. ``planted`` (demo data only) gives each record's planted problem codes."""
    now = now or utcnow()
    batch_id = new_id()
    with write_transaction(engine) as conn:
        known = _existing(conn, records)
        conn.execute(
            insert(batch).values(
                id=batch_id,
                ingested_by=ingested_by,
                format=fmt,
                records=len(records),
                created_at=now,
            )
        )
        fresh: list[dict[str, Any]] = []
        changed: list[dict[str, Any]] = []
        ids: list[str] = []
        for index, rec in enumerate(records):
            values = _row(rec, secret)
            values.update(batch_id=batch_id, ingested_by=ingested_by, updated_at=now)
            values["planted"] = planted[index] if planted else None
            rid = known.get(rec.key)
            if rid is None:
                rid = new_id()
                fresh.append({**values, "id": rid, "created_at": now})
            else:
                changed.append({f"v_{k}": v for k, v in values.items()} | {"b_id": rid})
            ids.append(rid)
        if fresh:
            conn.execute(insert(record), fresh)
        if changed:
            columns = [k.removeprefix("v_") for k in changed[0] if k != "b_id"]
            stmt = (
                update(record)
                .where(record.c.id == bindparam("b_id"))
                .values({c: bindparam(f"v_{c}") for c in columns})
            )
            conn.execute(stmt, changed)
            old = [row["b_id"] for row in changed]
            for part in _chunks(old):
                conn.execute(delete(record_officer).where(record_officer.c.record_id.in_(part)))
                conn.execute(delete(record_link).where(record_link.c.record_id.in_(part)))
        _write_children(conn, records, ids)
    return IngestResult(batch_id, len(fresh), len(changed), ids)


def _write_children(conn: Connection, records: Sequence[RecordIn], ids: Sequence[str]) -> None:
    officers: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    for rid, rec in zip(ids, records, strict=True):
        officers += [
            {"record_id": rid, "position": i, "name": o.name, "cert_no": o.cert_no}
            for i, o in enumerate(rec.officers)
        ]
        for role, evidence_ids in (("evidence", rec.evidence_ids), ("document", rec.document_ids)):
            links += [
                {"record_id": rid, "role": role, "evidence_id": e}
                for e in dict.fromkeys(evidence_ids)
            ]
    if officers:
        conn.execute(insert(record_officer), officers)
    if links:
        conn.execute(insert(record_link), links)


# ------------------------------------------------------------------------------ reading


@dataclass(frozen=True)
class RecordFilter:
    departments: frozenset[str] | None  # None: every department (the office, auditors)
    department_id: str | None = None
    kind: str | None = None
    city: str | None = None
    filed_from: date | None = None
    filed_to: date | None = None
    text: str | None = None
    party_digests: tuple[str, ...] = ()


def encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The id a page starts after; ValueError for anything this did not write."""
    padded = cursor + "=" * (-len(cursor) % 4)
    value = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
    if not re.fullmatch(r"[0-9A-Z]{26}", value):
        raise ValueError("not a cursor of this list")
    return value


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _where(flt: RecordFilter) -> list[Any]:
    clauses: list[Any] = []
    if flt.departments is not None:
        clauses.append(record.c.department_id.in_(sorted(flt.departments)))
    if flt.department_id:
        clauses.append(record.c.department_id == flt.department_id)
    if flt.kind:
        clauses.append(record.c.kind == flt.kind)
    if flt.city:
        clauses.append(record.c.city == flt.city)
    if flt.filed_from:
        clauses.append(record.c.filing_on >= flt.filed_from)
    if flt.filed_to:
        clauses.append(record.c.filing_on <= flt.filed_to)
    if flt.text:
        pattern = _like(flt.text)
        clauses.append(
            or_(
                record.c.case_number.like(pattern, escape="\\"),
                record.c.title.like(pattern, escape="\\"),
            )
        )
    if flt.party_digests:
        clauses.append(record.c.party_digest.in_(flt.party_digests))
    return clauses


def search(
    engine: Engine, flt: RecordFilter, *, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of records in id order (newest ingest last) and the cursor of the next page."""
    clauses = _where(flt)
    if cursor:
        clauses.append(record.c.id > decode_cursor(cursor))
    stmt = select(record).where(and_(True, *clauses)).order_by(record.c.id).limit(limit + 1)
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(stmt)]
        page = rows[:limit]
        public = _public_many(conn, page)
    more = len(rows) > limit
    return public, (encode_cursor(page[-1]["id"]) if more and page else None)


def get_record(engine: Engine, record_id: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(record).where(record.c.id == record_id)).first()
        if row is None:
            return None
        return _public_many(conn, [dict(row._mapping)])[0]


def _public_many(conn: Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ids = [r["id"] for r in rows]
    officers: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    links: dict[str, dict[str, list[str]]] = {i: {"evidence": [], "document": []} for i in ids}
    if ids:
        for rid, _pos, name, cert in conn.execute(
            select(record_officer)
            .where(record_officer.c.record_id.in_(ids))
            .order_by(record_officer.c.record_id, record_officer.c.position)
        ):
            officers[rid].append({"name": name, "cert_no": cert})
        for rid, role, evidence_id in conn.execute(
            select(record_link)
            .where(record_link.c.record_id.in_(ids))
            .order_by(record_link.c.evidence_id)
        ):
            links[rid][role].append(evidence_id)
    return [_public(r, officers[r["id"]], links[r["id"]]) for r in rows]


def _fen(amount: Decimal | None) -> int | None:
    return None if amount is None else int(amount * 100)


def _amount(fen: int | None) -> str | None:
    """Yuan with two decimals, as a string (exact, unlike a JSON number)."""
    return None if fen is None else f"{Decimal(fen) / 100:.2f}"


def _public(
    row: dict[str, Any], officers: list[dict[str, Any]], links: dict[str, list[str]]
) -> dict[str, Any]:
    """A record as the API shows it: the party masked, never its digest."""
    party = (
        {"kind": row["party_kind"], "masked": row["party_masked"]} if row["party_kind"] else None
    )
    return {
        "id": row["id"],
        "batch_id": row["batch_id"],
        "kind": row["kind"],
        "department_id": row["department_id"],
        "case_number": row["case_number"],
        "title": row["title"],
        "region": row["region"],
        "city": row["city"],
        "procedure": row["procedure"],
        "stages": {s: (row[f"{s}_on"].isoformat() if row[f"{s}_on"] else None) for s in STAGES},
        "occurred_on": row["occurred_on"].isoformat() if row["occurred_on"] else None,
        "hearing_offered": row["hearing_offered"],
        "notified_amount": _amount(row["notified_fen"]),
        "decided_amount": _amount(row["decided_fen"]),
        "party": party,
        "core_case_id": row["core_case_id"],
        "evidence_ids": links["evidence"],
        "document_ids": links["document"],
        "officers": officers,
        "planted": row["planted"],
        "ingested_by": row["ingested_by"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def party_digests(identifier: str, secret: bytes) -> tuple[str, ...]:
    """The digests a searched identifier may be stored under (a person's or an
    organisation's: whichever it is well-formed as)."""
    out = []
    for kind in ("person", "organisation"):
        try:
            out.append(pii.digest(kind, pii.check(kind, identifier), secret))
        except ValueError:
            continue
    return tuple(out)


def count_rows(engine: Engine, tables: Iterable[Any]) -> dict[str, int]:
    from sqlalchemy import func

    with engine.connect() as conn:
        return {
            t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in tables
        }
