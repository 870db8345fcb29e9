"""Backups of the whole database, and restoring one (issue 11).

PostgreSQL: `pg_dump --format=custom` (consistent: one snapshot, while the app keeps
running) and `pg_restore --clean --if-exists --single-transaction` (all or nothing).
SQLite: the online backup API, page by page, consistent while the app writes.
The password, if the URL has one, goes to the tools in PGPASSWORD, never on a command line.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(Exception):
    """The backup or restore could not be done; the message says why."""


def _postgres(url) -> tuple[str, dict]:
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = url.password
    uri = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return uri, env


def _run(cmd: list[str], env: dict) -> None:
    tool = shutil.which(cmd[0])
    if tool is None:
        raise BackupError(f"{cmd[0]} is not installed (Debian: apt-get install postgresql-client)")
    done = subprocess.run([tool, *cmd[1:]], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{cmd[0]} failed: {done.stderr.strip()[-2000:]}")


def _sqlite_path(url) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("An in-memory SQLite database has nothing to back up.")
    return Path(url.database)


def _copy_sqlite(source: Path, target: Path) -> None:
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def backup(database_url: str, path: Path) -> None:
    """Write a backup of the database to `path` (replaced if it exists)."""
    url = make_url(database_url)
    path.parent.mkdir(parents=True, exist_ok=True)
    if url.get_backend_name() == "postgresql":
        uri, env = _postgres(url)
        _run(["pg_dump", "--format=custom", "--no-owner", f"--file={path}", uri], env)
    elif url.get_backend_name() == "sqlite":
        path.unlink(missing_ok=True)
        _copy_sqlite(_sqlite_path(url), path)
    else:
        raise BackupError(f"No backup for {url.get_backend_name()} databases.")


def restore(database_url: str, path: Path) -> None:
    """Replace the database's contents with the backup at `path`, all or nothing."""
    if not path.is_file():
        raise BackupError(f"No backup file at {path}.")
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        uri, env = _postgres(url)
        cmd = ["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction"]
        _run([*cmd, f"--dbname={uri}", str(path)], env)
    elif url.get_backend_name() == "sqlite":
        try:
            with sqlite3.connect(path) as check:
                check.execute("SELECT count(*) FROM alembic_version").fetchone()
            check.close()
        except sqlite3.DatabaseError as err:
            raise BackupError(f"{path} is not a backup of this app's database: {err}") from err
        _copy_sqlite(path, _sqlite_path(url))
    else:
        raise BackupError(f"No restore for {url.get_backend_name()} databases.")
