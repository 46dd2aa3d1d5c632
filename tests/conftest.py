"""Shared fixtures: real servers (PostgreSQL, an S3 endpoint) started or found by plugins."""

import logging
from collections.abc import Iterator

import pytest

pytest_plugins = [
    "tests.fixtures.postgres",
    "tests.fixtures.s3",
    "tests.fixtures.service",
    "tests.fixtures.live_server",
    "tests.fixtures.hardhat",
    "tests.fixtures.anchored",
]


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """`evidence serve` / `evidence worker` run through typer's CliRunner configure logging onto
    the runner's stderr, which closes with the run: put the root logger back after each test,
    so later threads never write to a closed stream."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
