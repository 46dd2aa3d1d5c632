"""Fixed write statements run on the driver's cursor, in the caller's SQLAlchemy transaction.

Every capture runs the same few INSERT, UPDATE and DELETE statements (module constants, which
return nothing). Through ``Connection.execute`` each execution builds an execution context, sets
up a result and fires the engine's events; on PostgreSQL that bookkeeping cost more Python than
psycopg's own work for the statement. :func:`execute` compiles such a statement once per dialect
and set of parameter names, then hands the SQL and each row's parameters, converted by the same
bind processors SQLAlchemy would use, straight to the DBAPI cursor of the connection: same
transaction, same SQL, same stored values.

What it does not take goes through ``Connection.execute`` unchanged: statements with
``RETURNING``, with defaults computed at execution time (a column's Python ``default``), with
parameters expanded at execution (``IN`` lists), or any other construct; and every statement
while something listens to the engine's cursor events (``before_cursor_execute``), so that a
test or a tracer sees what runs. A driver error is raised as SQLAlchemy raises it
(``IntegrityError``, ``OperationalError``...), and a lost connection invalidates the pool as it
would through ``Connection.execute``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Executable, bindparam
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Delete, Insert, Select, TextClause, Update
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement, SQLCoreOperations

#: Statements kept compiled; beyond this (statements built per call) the plain path is used.
MAX_FORMS = 256


@dataclass
class _Form:
    statement: Executable  # held, so that its id is not reused while the form is cached
    sql: str
    compiled: SQLCompiler
    positional: bool  # the driver takes a tuple (qmark), else a dict (pyformat)
    plan: list[tuple[str, object, Any, Callable[[Any], Any] | None]]  # see _plan
    results: list[Callable[[Any], Any] | None] | None = None  # a query's, once first run
    names: list[str] = field(init=False)  # the parameters' names, in the plan's order
    processed: list[tuple[int, Callable[[Any], Any]]] = field(init=False)  # by plan index

    def __post_init__(self) -> None:
        self.names = [name for name, *_ in self.plan]
        self.processed = [(i, p) for i, (*_, p) in enumerate(self.plan) if p is not None]

    def result_processors(
        self, dialect: Dialect, description: Sequence[Any]
    ) -> list[Callable[[Any], Any] | None]:
        """Each selected column's result processor (by the driver's type code of the first
        result, as SQLAlchemy picks it), built once."""
        if self.results is None:
            columns = self.compiled._result_columns  # noqa: SLF001
            self.results = [
                column.type._cached_result_processor(dialect, described[1])  # noqa: SLF001
                for column, described in zip(columns, description, strict=True)
            ]
        return self.results

    def parameters(self, row: dict[str, Any]) -> Any:
        """The driver's parameters for one row: what ``construct_params`` and the bind
        processors give, by the plan made when the statement was compiled."""
        values = [
            (row[source] if kind is _ROW else source.effective_value if kind is _CALLED else source)
            for _, kind, source, _ in self.plan
        ]
        for index, process in self.processed:
            values[index] = process(values[index])
        if self.positional:
            return tuple(values)
        return dict(zip(self.names, values, strict=True))


_ROW, _CALLED, _FIXED = object(), object(), object()


def _plan(
    compiled: SQLCompiler, names: tuple[str, ...], processors: dict[str, Callable[[Any], Any]]
) -> list[tuple[str, object, Any, Callable[[Any], Any] | None]] | None:
    """Where each of the statement's parameters comes from, in the order the driver takes
    them: a key of the row, or the value (or callable) bound in the statement; as
    ``SQLCompiler.construct_params`` resolves them. None if a required one has no source."""
    escaped: dict[str, str] = dict(compiled.escaped_bind_names or {})
    sources: dict[str, tuple[object, Any]] = {}
    for bind, name in compiled.bind_names.items():
        if bind.key in names:
            sources[escaped.get(name, name)] = (_ROW, bind.key)
        elif name in names:
            sources[escaped.get(name, name)] = (_ROW, name)
        elif bind.required:
            return None
        else:
            sources[escaped.get(name, name)] = (
                (_CALLED, bind) if bind.callable else (_FIXED, bind.value)
            )
    order = compiled.positiontup if compiled.positional else list(sources)
    if order is None or any(name not in sources for name in order):
        return None
    return [(name, *sources[name], processors.get(name)) for name in order]


#: By statement (its id: a cached form holds the statement, so the id stays its own), the
#: dialect's class and parameter style (the SQL and parameters a driver takes), and the names of
#: the parameters given. None: the statement goes through ``Connection.execute``.
_forms: dict[tuple[int, type[Dialect], str, tuple[str, ...]], _Form | None] = {}
_forms_lock = threading.Lock()


def first(connection: Connection, statement: Executable, parameters: dict[str, Any]) -> Any:
    """The first row of ``statement`` (a tuple of the selected columns, converted by their
    types' result processors as SQLAlchemy would), or None: on the driver's cursor when the
    query allows it, else through ``Connection.execute``."""
    rows = _query(connection, statement, parameters, every=False)
    return rows[0] if rows else None


def every(connection: Connection, statement: Executable, parameters: dict[str, Any]) -> list[Any]:
    """Every row of ``statement``, as :func:`first` gives the first."""
    return _query(connection, statement, parameters, every=True)


def _query(
    connection: Connection, statement: Executable, parameters: dict[str, Any], *, every: bool
) -> list[Any]:
    form = _form(connection.dialect, statement, tuple(parameters))
    if form is None or _observed(connection):
        result = connection.execute(statement, parameters)
        if every:
            return [tuple(row) for row in result.all()]
        row = result.first()
        return [] if row is None else [tuple(row)]
    bound = form.parameters(parameters)
    with _cursor(connection, form.sql, bound) as cursor:
        cursor.execute(form.sql, bound)
        rows = cursor.fetchall() if every else cursor.fetchmany(1)
        if not rows:
            return []
        processors = form.result_processors(connection.dialect, cursor.description)
    return [
        tuple(v if p is None else p(v) for p, v in zip(processors, row, strict=True))
        for row in rows
    ]


def slots(keys: Collection[str]) -> int:
    """How many parameters an ``IN`` of ``keys`` takes: the next power of two, so that a
    query for a varying number of keys is compiled for a few sizes only (and runs on the
    driver's cursor, which an expanding ``IN`` does not); see :func:`slot_values`."""
    return 1 << max(0, len(keys) - 1).bit_length()


def in_slots(column: SQLCoreOperations[Any], name: str, count: int) -> ColumnElement[bool]:
    """``column IN (:<name>0, …)`` with ``count`` parameters (:func:`slots`), to be given
    :func:`slot_values` of the same ``name``."""
    return column.in_([bindparam(f"{name}{index}") for index in range(count)])


def slot_values(keys: Collection[str], name: str) -> dict[str, str]:
    """The parameters ``<name>0`` … of an ``IN`` of :func:`slots` parameters holding ``keys``
    (at least one), the last key repeated in the spare ones."""
    given = list(keys)
    given += given[-1:] * (slots(keys) - len(given))
    return {f"{name}{index}": key for index, key in enumerate(given)}


def execute(connection: Connection, statement: Executable, rows: Sequence[dict[str, Any]]) -> None:
    """Execute ``statement`` once per row of ``rows`` (at least one; an executemany for
    several) in ``connection``'s transaction: on the driver's cursor when the statement allows
    it (module docstring), else through ``Connection.execute``."""
    form = _form(connection.dialect, statement, tuple(rows[0]))
    keys = rows[0].keys()
    if form is None or _observed(connection) or any(row.keys() != keys for row in rows):
        connection.execute(statement, rows[0] if len(rows) == 1 else list(rows))
        return
    parameters = [form.parameters(row) for row in rows]
    with _cursor(connection, form.sql, parameters) as cursor:
        if len(parameters) == 1:
            cursor.execute(form.sql, parameters[0])
        else:
            cursor.executemany(form.sql, parameters)


@contextmanager
def _cursor(connection: Connection, sql: str, parameters: Any) -> Iterator[Any]:
    """A DBAPI cursor of ``connection``, closed afterwards. A driver error raised inside is
    handled as ``Connection.execute`` handles it: wrapped in SQLAlchemy's exception classes,
    and on a lost connection the connection (and the pool's older ones) invalidated."""
    cursor = connection.connection.cursor()
    try:
        yield cursor
    except connection.dialect.loaded_dbapi.Error as exc:
        connection._handle_dbapi_exception(exc, sql, parameters, cursor, None)  # noqa: SLF001
        raise  # not reached: the handler raises
    finally:
        cursor.close()


def _observed(connection: Connection) -> bool:
    """Whether something listens to the engine's statements (``before_cursor_execute``...): a
    test that records them, a tracer. Then every statement goes through ``Connection.execute``,
    so that the listener sees it."""
    # The engine's events, not the connection's: a connection joins its engine's dispatcher
    # afresh each time, and asking the joined one costs more than the statement's parameters.
    dispatch = connection.engine.dispatch
    return bool(dispatch.before_cursor_execute or dispatch.after_cursor_execute)


def _form(dialect: Dialect, statement: Executable, names: tuple[str, ...]) -> _Form | None:
    key = (id(statement), type(dialect), dialect.paramstyle, names)
    if key in _forms:
        cached = _forms[key]
        assert cached is None or cached.statement is statement
        return cached
    form = _compile(dialect, statement, names)
    with _forms_lock:
        if len(_forms) < MAX_FORMS:
            _forms[key] = form
    return form


def _compile(dialect: Dialect, statement: Executable, names: tuple[str, ...]) -> _Form | None:
    """The statement's driver form for parameters ``names``, or None if it must go through
    ``Connection.execute``."""
    if not isinstance(statement, Insert | Update | Delete | TextClause | Select):
        return None
    compiled = statement.compile(dialect=dialect, column_keys=list(names))
    assert isinstance(compiled, SQLCompiler)
    # Values computed at execution (Python defaults), fetched after it (``RETURNING``), or
    # parameters expanded at execution: SQLAlchemy's execution context does that work, so it
    # keeps the statement.
    if any(
        getattr(compiled, name, None)
        for name in (
            "insert_prefetch",
            "update_prefetch",
            "postfetch",
            "literal_execute_params",
            "post_compile_params",
            "returning",
        )
    ):
        return None
    processors: dict[str, Callable[[Any], Any]] = {}
    for name, process in compiled._bind_processors.items():  # noqa: SLF001
        if process is None:
            continue
        if not callable(process):  # a tuple type's processors, one per element
            return None
        processors[name] = process
    plan = _plan(compiled, names, processors)
    if plan is None:
        return None
    return _Form(statement, compiled.string, compiled, bool(compiled.positional), plan)
