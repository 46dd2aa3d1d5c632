"""Logging, configured in one place: JSON lines off a terminal, readable text on one.

:func:`configure_logging` is called once by each process entry point (``evidence serve``, its
worker processes, ``evidence worker``). Every line carries the request id of the request it was
written in (:data:`REQUEST_ID`, set by ``api/request_ids.py``), so a problem answer's
``request_id`` finds its lines. What is logged is chosen where it is logged: the access log
names the route template, never the raw path or query string, and the actor's opaque id, never a
token; nothing here scrubs secrets after the fact.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from typing import TextIO

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from evidence_service.core.config import Settings

#: The id of the request being served, in this task and the threads it hands work to.
REQUEST_ID: ContextVar[str | None] = ContextVar("evidence_request_id", default=None)
#: Loggers of the libraries whose chatter at INFO is noise in a service's log.
QUIET = ("httpx", "httpcore", "web3", "urllib3", "asyncio", "multipart")
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s"
JSON_FIELDS = ("asctime", "levelname", "name", "message", "request_id")


def current_request_id() -> str | None:
    return REQUEST_ID.get()


class RequestIdFilter(logging.Filter):
    """Give every record the current request id (``-`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get() or "-"
        return True


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        JSON_FIELDS,
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        datefmt="%Y-%m-%dT%H:%M:%S%z",
        json_ensure_ascii=False,
        reserved_attrs=[*RESERVED_ATTRS, "color_message"],  # uvicorn's ANSI copy of the message
    )


def configure_logging(
    *, json_lines: bool | None = None, level: str = "INFO", stream: TextIO | None = None
) -> None:
    """Send every logger's records to ``stream`` (stderr) as JSON lines, or as text when it is
    a terminal (``json_lines`` decides otherwise). Replaces the root logger's handlers, so
    calling it again reconfigures rather than duplicates; uvicorn's loggers propagate here."""
    stream = stream or sys.stderr
    if json_lines is None:
        json_lines = not stream.isatty()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(json_formatter() if json_lines else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)


def configure_logging_from(settings: Settings) -> None:
    """:func:`configure_logging` as ``EVIDENCE_LOG_FORMAT`` and ``EVIDENCE_LOG_LEVEL`` say."""
    json_lines = {"auto": None, "json": True, "text": False}[settings.log_format]
    configure_logging(json_lines=json_lines, level=settings.log_level)
