"""What a problem model is: a small registered object that finds hits in the module's tables.

A model has a code, a name, the legal basis it applies (law and article), a severity and a
description of what it finds, and a ``find`` function: given a connection to the module's
tables and the :class:`Scope` of the run, it yields a :class:`Hit` for every subject that has
the problem. It reads only the module's own tables — the case centre's records, the 执法证
register, and the read models of the core's feeds (``supervision_evidence``, …) that the sync
fills through the core's HTTP API — never the core's tables.

The runner (``runner.py``) turns hits into clues: one clue per (model, subject), linked to
what the hit names, opened once, closed when a run no longer finds it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import Connection

Severity = Literal["high", "medium", "low"]
#: What a clue may link to (``supervision_clue_link.kind``).
LinkKind = Literal["record", "evidence", "officer", "certificate", "party", "transfer", "case"]


@dataclass(frozen=True)
class Scope:
    """What a run looks at. ``today``: the date deadlines are measured against (a run on
    schedule uses the real date; tests fix it). ``since``: an incremental run looks only at
    subjects touched after this instant (records ``updated_at``, read-model rows
    ``synced_at``); None for a full run. ``params``: the configurable thresholds (days,
    counts), by name, each model reading its own with a default."""

    today: date
    since: datetime | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def param(self, name: str, default: Any) -> Any:
        return self.params.get(name, default)


@dataclass(frozen=True)
class Hit:
    """One subject with the problem. ``subject`` is unique within the model (usually a record
    id; a party digest, an officer id, a file hash for models about several records);
    ``facts`` are the figures that made the hit (dates, amounts, counts) as JSON values;
    ``links`` name what supports it as (kind, id) pairs — ids only, never copies."""

    subject: str
    department_id: str
    summary: str
    facts: dict[str, Any]
    links: tuple[tuple[LinkKind, str], ...]


@dataclass(frozen=True)
class ProblemModel:
    code: str  # snake_case, stable: clues and tests name it
    name: str  # Chinese name, as the office says it
    basis: str  # the law and article, e.g. "《中华人民共和国行政处罚法》第六十条"
    severity: Severity
    description: str  # one or two sentences: what it finds, in plain words
    find: Callable[[Connection, Scope], Iterable[Hit]]
    #: The tables it reads ("records", "certificates", "evidence", "refusals", "transfers"):
    #: an incremental run re-runs a model when one of them changed.
    reads: tuple[str, ...] = ("records",)

    def public(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "basis": self.basis,
            "severity": self.severity,
            "description": self.description,
            "reads": list(self.reads),
        }
