"""Shared fixtures: real servers (PostgreSQL, an S3 endpoint) started or found by plugins."""

pytest_plugins = [
    "tests.fixtures.postgres",
    "tests.fixtures.s3",
    "tests.fixtures.service",
    "tests.fixtures.live_server",
    "tests.fixtures.hardhat",
]
