"""Rows written with plain INSERTs, handed back to callers as the session's ORM objects.

The unit of work costs about a millisecond of CPU per flush on the hot write paths (an order,
its lines and events, a ledger entry), most of it bookkeeping for objects that are written
once and never changed in that request. Those rows go out as Core INSERT … RETURNING id, and
`adopt` then makes Python objects holding the same values persistent, as if they had just
been read back: no second write, no reload.
"""

from __future__ import annotations

from sqlalchemy import Table, event, insert
from sqlalchemy.orm import Session, make_transient_to_detached

from app.extensions import db

_inserts: dict[str, object] = {}


def insert_rows(table: Table, rows: list[dict]) -> list[int]:
    """INSERT the rows (one statement) and return their ids in the rows' order."""
    stmt = _inserts.get(table.name)
    if stmt is None:
        stmt = _inserts[table.name] = insert(table).returning(
            table.c.id, sort_by_parameter_order=True
        )
    connection = db.session.connection()
    if len(rows) == 1:
        return [connection.execute(stmt, rows[0]).scalar_one()]
    return list(connection.execute(stmt, rows).scalars())


def adopt(*objects) -> None:
    """Objects whose rows are already written (ids set) become loaded, unchanged objects of
    this session. Every object a relationship cascade reaches must be among them, or the
    unit of work would insert it a second time. A rollback takes them out of the session
    again (their rows are gone), as it does with objects the session inserted itself."""
    for obj in objects:
        make_transient_to_detached(obj)
    session = db.session()
    for obj in objects:
        session.add(obj)
    session.info.setdefault(_ADOPTED, []).extend(objects)


_ADOPTED = "written.adopted"


@event.listens_for(Session, "after_commit")
def _written_for_good(session) -> None:
    session.info.pop(_ADOPTED, None)


@event.listens_for(Session, "after_soft_rollback")
def _gone(session, previous_transaction) -> None:
    if previous_transaction.parent is not None:  # a savepoint; the app uses none
        return
    for obj in session.info.pop(_ADOPTED, ()):
        if obj in session:
            session.expunge(obj)
