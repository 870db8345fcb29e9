"""Test fixtures: one migrated database per run (SQLite, or PostgreSQL in the second pass)."""

from __future__ import annotations

import contextvars
import os

import pytest
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

from app import create_app
from app.config import TestConfig
from app.extensions import db, limiter
from tests.factories import assert_ledger_consistent

ON_POSTGRES = os.environ.get("TEST_ON_POSTGRES") == "1"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_collection_modifyitems(config, items):
    """PostgreSQL-only tests run in the PostgreSQL pass; browser tests in the SQLite pass."""
    for item in items:
        if "postgres" in item.keywords and not ON_POSTGRES:
            item.add_marker(
                pytest.mark.skip(reason="runs in the PostgreSQL pass (TEST_DATABASE_URL)")
            )


def _given_postgres_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url:
        pytest.fail("TEST_ON_POSTGRES=1 needs TEST_DATABASE_URL", pytrace=False)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _worker_database(url: str, worker: str, create: bool) -> str:
    """Under pytest-xdist each worker has a database of its own beside the given one, made
    when the worker starts and dropped when it ends (sessions still on it are ended)."""
    parsed = make_url(url)
    name = f"{parsed.database}_{worker}".replace('"', "")
    admin = create_engine(parsed, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            if create:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as err:  # unreachable PostgreSQL is a failure, never a skip
        pytest.fail(f"PostgreSQL at {url} is unreachable: {err}", pytrace=False)
    finally:
        admin.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


def _postgres_url(url: str) -> str:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            # A clean slate: the migrations must build the schema from nothing.
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
            # The test database need not survive a power cut (as SQLite's synchronous=OFF
            # below): commits stop waiting for the disk. Every connection opened from now on,
            # the app's, the threads' and the gunicorn workers', gets it.
            name = conn.scalar(text("SELECT current_database()"))
            conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    except Exception as err:  # unreachable PostgreSQL is a failure, never a skip
        pytest.fail(f"PostgreSQL at {url} is unreachable: {err}", pytrace=False)
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    if not ON_POSTGRES:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
        return
    given = _given_postgres_url()
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker is None:
        yield _postgres_url(given)
        return
    yield _postgres_url(_worker_database(given, worker, create=True))
    _worker_database(given, worker, create=False)


class IsolatedClient(FlaskClient):
    """Runs each request in an empty context, as a server would.

    Without this, Flask reuses the test's own app context for the request, so `g`,
    the Babel locale and the database session would leak between test and request.
    """

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture(scope="session")
def app(database_url):
    app = create_app(TestConfig(database_url))
    app.test_client_class = IsolatedClient
    with app.app_context():
        upgrade()
        if db.engine.dialect.name == "sqlite":
            # The test file need not survive a power cut: no fsync halves the run time.
            event.listen(db.engine, "connect", _no_fsync)
            db.engine.dispose()
    return app


def _no_fsync(dbapi_connection, _record) -> None:
    dbapi_connection.execute("PRAGMA synchronous=OFF")


@pytest.fixture(autouse=True)
def _fresh_state(request, app):
    """Each test starts with empty tables and fresh rate-limit counters."""
    if "no_db" in request.keywords:
        yield
        return
    ctx = app.app_context()
    ctx.push()
    try:
        yield
        db.session.rollback()
        # Money is never created or lost: after every scenario, each balance is its ledger.
        assert_ledger_consistent()
    finally:
        db.session.rollback()
        db.session.remove()
        _truncate_all()
        limiter.reset()
        ctx.pop()


BIG = 1_000  # products: above it, one TRUNCATE beats the DELETEs


def _truncate_all() -> None:
    # DELETE beats TRUNCATE on a handful of rows (TRUNCATE rewrites every table's files).
    # (One DELETE per statement: sent as one multi-statement query, PostgreSQL took over a
    # minute after the 20k-row imports, against 2 s.) After a 20k-row import the DELETEs'
    # foreign-key checks visit every dead row of the child tables (50 s per test): on
    # PostgreSQL one TRUNCATE of every table then (its triggers still tell the caches).
    tables = list(reversed(db.metadata.sorted_tables))
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            products = conn.execute(text("SELECT count(*) FROM products")).scalar()
            if products > BIG:
                names = ", ".join(conn.dialect.identifier_preparer.format_table(t) for t in tables)
                conn.execute(text(f"TRUNCATE {names}"))
                return
        for table in tables:
            conn.execute(table.delete())


@pytest.fixture
def client(app):
    return app.test_client()
