"""Recording HQ writes (who, when, what, before → after) and searching them.

Services call `record()` inside the transaction of the write itself, before their commit, so a
write and its audit entry land together or not at all.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

from flask import g, has_request_context, request
from flask_login import current_user
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEntry, User
from app.services.statements import day_end, day_start


def _plain(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value) if isinstance(value, (set, frozenset)) else list(value)
    return value


def _json(values: dict | None) -> str:
    return json.dumps(
        {key: _plain(value) for key, value in (values or {}).items()},
        ensure_ascii=False,
        sort_keys=True,
        default=str,
    )


def _via() -> str:
    if not has_request_context():
        return "system"
    return "api" if request.path.startswith("/api/") else "page"


def changes(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the keys whose value differs, from each side."""
    keys = [key for key in after if before.get(key) != after.get(key)]
    return {key: before.get(key) for key in keys}, {key: after[key] for key in keys}


def _acting_user() -> User | None:
    """The user of the current request: the API token's, else the signed-in page user."""
    if not has_request_context():
        return None
    user = g.get("api_user")
    if user is None and current_user and current_user.is_authenticated:
        user = current_user._get_current_object()
    return user


def record(
    by: User | None,
    action: str,
    object_type: str,
    object_key: str,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEntry:
    """Add one entry to the session (the caller commits it with the write). `by` None means
    the user of the current request, if any (the system itself outside a request)."""
    by = by if by is not None else _acting_user()
    entry = AuditEntry(
        user_id=by.id if by is not None else None,
        username=by.username if by is not None else "",
        action=action,
        object_type=object_type,
        object_key=str(object_key),
        before=_json(before),
        after=_json(after),
        via=_via(),
    )
    db.session.add(entry)
    return entry


def search(
    *,
    username: str | None = None,
    object_type: str | None = None,
    object_key: str | None = None,
    action: str | None = None,
    from_day: date | None = None,
    to_day: date | None = None,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[AuditEntry], int]:
    """(entries newest first, how many match), filtered by user, object, action and Shanghai
    days (both inclusive)."""
    conditions = []
    if username:
        conditions.append(AuditEntry.username == username)
    if object_type:
        conditions.append(AuditEntry.object_type == object_type)
    if object_key:
        conditions.append(AuditEntry.object_key == object_key)
    if action:
        conditions.append(AuditEntry.action == action)
    if from_day:
        conditions.append(AuditEntry.at >= day_start(from_day))
    if to_day:
        conditions.append(AuditEntry.at < day_end(to_day))
    rows = db.session.scalars(
        select(AuditEntry)
        .where(*conditions)
        .order_by(AuditEntry.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    total = db.session.scalar(select(func.count(AuditEntry.id)).where(*conditions))
    return list(rows), int(total)


def values(entry: AuditEntry) -> tuple[dict, dict]:
    """(before, after) as dicts."""
    return json.loads(entry.before or "{}"), json.loads(entry.after or "{}")
