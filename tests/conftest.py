"""Shared fixtures: real databases (a SQLite file and a PostgreSQL schema) and the shipped config.

PostgreSQL tests need the server on 127.0.0.1:5432 (database ``test``, trust auth), or the URL in
``JIRGA_TEST_POSTGRES_URL``. Each test gets a schema of its own, so runs never collide. Without
``CI`` set, an unreachable server skips those tests with the reason; with ``CI=true`` it fails.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

# Prefect reads its settings when imported: give the test run a home of its own, no telemetry,
# and time for the temporary API server to migrate its database on a small machine.
_PREFECT_HOME = Path(tempfile.mkdtemp(prefix="jirga-test-prefect-"))
os.environ.setdefault("PREFECT_HOME", str(_PREFECT_HOME))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
# jirga's own cache (the language model, the folding scans) likewise, instead of the user's.
_CACHE = Path(tempfile.mkdtemp(prefix="jirga-test-cache-"))
os.environ.setdefault("JIRGA_CACHE_DIR", str(_CACHE))
for _made in (_PREFECT_HOME, _CACHE):
    atexit.register(shutil.rmtree, _made, ignore_errors=True)

from storage.facade import Storage  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
POSTGRES_URL = os.environ.get(
    "JIRGA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
_pg_problem: str | None = None
_pg_checked = False


def _postgres_unavailable() -> str | None:
    """Why PostgreSQL cannot be used, or None when it can (checked once per run)."""
    global _pg_checked, _pg_problem
    if not _pg_checked:
        _pg_checked = True
        engine = sa.create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.OperationalError as exc:
            _pg_problem = f"PostgreSQL at {POSTGRES_URL} unreachable: {exc.orig}"
        finally:
            engine.dispose()
    return _pg_problem


def require_postgres() -> None:
    """Skip (or, under CI, fail) the calling test when PostgreSQL is not there."""
    problem = _postgres_unavailable()
    if problem is None:
        return
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"CI is set and {problem}")
    pytest.skip(problem)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL whose connections live in a fresh schema of the test database, dropped after."""
    require_postgres()
    schema = f"jirga_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = sa.make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A URL of a fresh SQLite file."""
    return f"sqlite:///{(tmp_path / 'jirga.db').as_posix()}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """Each test that takes this runs once on SQLite and once on PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
def storage(db_url: str) -> Iterator[Storage]:
    """A migrated, empty database on both dialects."""
    store = Storage(db_url)
    store.upgrade()
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def shared_dir() -> Path:
    """The read-only shared corpus beside the checkout; skips when a fresh clone has none."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not beside this checkout (it is only in development and CI)")
    return SHARED


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[None]:
    """One temporary Prefect API for the whole test run (flows really run against it)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield
