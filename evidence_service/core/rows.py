"""Table-model instances for rows that are written with SQL Core and never join a session.

A capture builds half a dozen rows (the item, its leaf, its graph edges, its tags) from values
it has just computed and checked, inserts them with Core (``capture/ingest.py``
``insert_rows``) and reads them back only as attributes (the response body, the finalize step).
Built the usual way, each SQLModel table instance runs every value through pydantic's
``__setattr__`` and SQLAlchemy's attribute events: about 175 µs for an ``Evidence`` here, 45–65 µs
for a leaf or an edge, a few per cent of a small capture's CPU for bookkeeping nothing reads.

:func:`built` makes the same instance directly: SQLAlchemy's own ``new_instance`` (the
instrumented object, as the ORM makes one before loading a row into it) with the values and the
model's defaults in its ``__dict__``, as pydantic's ``model_construct`` fills a model. Attributes
read and set as on any instance, and setting an attribute afterwards goes through the usual
path. ``model_dump`` gives the constructor's dict plus None for the nullable columns without a
default, which the constructor leaves unset (and reads back as None). Nothing is validated:
the caller passes exactly the model's fields (a missing required field or an unknown name is a
``TypeError``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from pydantic_core import PydanticUndefined
from sqlalchemy.orm.instrumentation import manager_of_class
from sqlmodel import SQLModel

M = TypeVar("M", bound=SQLModel)


_Default = tuple[str, Any, Callable[[], Any] | None]


@functools.cache
def _fields(model: type[SQLModel]) -> tuple[frozenset[str], frozenset[str], tuple[_Default, ...]]:
    """The model's field names, those without a default, and each defaulted field with its
    default or factory (a nullable column without a default defaults to None, as it is
    stored)."""
    columns = model.__table__.columns  # type: ignore[attr-defined]
    defaults: list[_Default] = []
    for name, info in model.model_fields.items():
        if info.default_factory is not None:
            defaults.append((name, None, cast(Callable[[], Any], info.default_factory)))
        elif info.default is not PydanticUndefined:
            defaults.append((name, info.default, None))
        elif name in columns and columns[name].nullable:
            defaults.append((name, None, None))
    names = frozenset(model.model_fields)
    return names, names - {name for name, _, _ in defaults}, tuple(defaults)


def built(model: type[M], **values: Any) -> M:
    """An instance of the table model ``model`` holding ``values`` (and the model's defaults
    for the fields not given), made without validation or change events (module docstring)."""
    names, required, defaults = _fields(model)
    unknown = values.keys() - names
    if unknown:
        raise TypeError(f"{model.__name__} has no field {', '.join(sorted(unknown))}")
    missing = required - values.keys()
    if missing:
        raise TypeError(f"{model.__name__} needs {', '.join(sorted(missing))}")
    state: dict[str, Any] = {}
    for name, default, factory in defaults:
        if name not in values:
            state[name] = factory() if factory is not None else default
    instance: M = manager_of_class(model).new_instance()
    state.update(values)
    instance.__dict__.update(state)
    object.__setattr__(instance, "__pydantic_fields_set__", set(values))
    object.__setattr__(instance, "__pydantic_extra__", None)
    object.__setattr__(instance, "__pydantic_private__", None)
    return instance
