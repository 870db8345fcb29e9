"""Idempotency keys: the same key and body give the same order, once (CONTRACT §2)."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from app.errors import Conflict, Invalid
from app.extensions import db
from app.models import IdempotencyKey

KEEP_FOR = timedelta(hours=48)  # the contract promises at least 24 hours
ABANDONED_AFTER = timedelta(minutes=5)  # a claim whose request died without an answer


@dataclass(frozen=True, slots=True)
class Replay:
    """What the first request answered (or the order it made, if its answer was not stored)."""

    status: int | None
    body: str | None
    order_id: int | None


def fingerprint(method: str, path: str, payload: object) -> str:
    """A stable hash of what was asked, independent of JSON key order and spacing."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def claim(user_id: int, key: str, print_: str, *, wait: float = 0) -> IdempotencyKey | Replay:
    """Claim the key for this request, or say what an earlier identical request produced.

    With `wait`, a duplicate of a request still running waits up to that many seconds
    for its answer. Raises Invalid idempotency_key_reused (another body), Conflict
    idempotency_request_in_progress (the first request is still running).
    """
    deadline = time.monotonic() + wait
    while True:
        try:
            return _claim(user_id, key, print_)
        except Conflict:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.1)


def _claim(user_id: int, key: str, print_: str) -> IdempotencyKey | Replay:
    if not key or len(key) > 255:
        raise Invalid(errors={"Idempotency-Key": ["Must be 1–255 characters."]})
    now = datetime.now(UTC)
    db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < now - KEEP_FOR))
    row = IdempotencyKey(user_id=user_id, key=key, fingerprint=print_, created_at=now)
    db.session.add(row)
    try:
        db.session.commit()
        return row
    except IntegrityError:
        db.session.rollback()
    existing = db.session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
    )
    if existing is None:  # released between our insert and our read: try once more
        return _claim(user_id, key, print_)
    return _answer_for(existing, print_, now)


def _answer_for(existing: IdempotencyKey, print_: str, now: datetime) -> IdempotencyKey | Replay:
    if existing.fingerprint != print_:
        raise Invalid(
            "This Idempotency-Key was used with a different request.",
            code="idempotency_key_reused",
        )
    if existing.response_status is not None or existing.order_id is not None:
        return Replay(existing.response_status, existing.response_body, existing.order_id)
    if existing.created_at < now - ABANDONED_AFTER:
        taken = db.session.execute(
            update(IdempotencyKey)
            .where(
                IdempotencyKey.id == existing.id, IdempotencyKey.created_at == existing.created_at
            )
            .values(created_at=now)
        ).rowcount
        db.session.commit()
        if taken == 1:
            return db.session.get(IdempotencyKey, existing.id)
    raise Conflict(
        "A request with this Idempotency-Key is still being processed.",
        code="idempotency_request_in_progress",
    )


def complete(row_id: int, status: int, body: str) -> None:
    """Store the answer so replays return exactly it."""
    db.session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.id == row_id)
        .values(response_status=status, response_body=body)
    )
    db.session.commit()


def release(row_id: int) -> None:
    """Forget a claim whose request was refused, so a corrected retry can run."""
    db.session.rollback()
    db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == row_id))
    db.session.commit()
