"""Root conftest: the shared fixture plugins live in tests/fixtures, one module per real component."""

pytest_plugins = [
    "tests.fixtures.devcord",
    "tests.fixtures.postgres",
    "tests.fixtures.redis",
    "tests.fixtures.s3",
    "tests.fixtures.model",
    "tests.fixtures.chromium",
]
