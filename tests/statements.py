"""Counting the SQL statements a piece of code sends (for "does not grow with N" tests)."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event

from app.extensions import db


@contextmanager
def count_statements():
    """Yields {"n": statements sent so far}, counted until the block ends."""
    counter = {"n": 0}

    def count(*_args, **_kwargs):
        counter["n"] += 1

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield counter
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
