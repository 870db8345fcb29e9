"""Idempotency keys: the same key and body give the same order, once (CONTRACT §2)."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import delete, event, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.errors import Conflict, Invalid
from app.extensions import HOLD_COMMITS, db
from app.models import IdempotencyKey
from app.services import written

KEEP_FOR = timedelta(hours=48)  # the contract promises at least 24 hours
PURGE_CHANCE = 0.02  # expired keys are swept by one claim in fifty
ABANDONED_AFTER = timedelta(minutes=5)  # a claim whose request died without an answer


@dataclass(frozen=True, slots=True)
class Replay:
    """What the first request answered (or the order it made, if its answer was not stored)."""

    status: int | None
    body: str | None
    order_id: int | None
    claimed_at: datetime | None = None


def fingerprint(method: str, path: str, payload: object) -> str:
    """A stable hash of what was asked, independent of JSON key order and spacing."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def request_fingerprint(req) -> str:
    """What a request asked, for comparing a retry with the first call: an HMAC keyed by the
    app's secret (bodies may hold passwords) of the method, the path and what was sent, a
    JSON body by its value (key order and spacing aside), a form by its fields (not its CSRF
    token) and each file's contents (a multipart boundary changes with every send), anything
    else by its bytes."""
    if req.mimetype in FORMS:
        files = []
        for name, upload in req.files.items(multi=True):
            files.append([name, upload.filename or "", hashlib.sha256(upload.read()).hexdigest()])
            upload.seek(0)
        # Each name's values in the order sent (parallel fields such as sku/qty pair up).
        fields = sorted((k, v) for k, v in req.form.lists() if k != "csrf_token")
        payload = {"form": fields, "files": sorted(files)}
    else:
        body = req.get_data()
        try:
            payload = json.loads(body) if body else {}
        except ValueError:
            payload = {"bytes": hashlib.sha256(body).hexdigest()}
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    message = f"{req.method} {req.path}\n{canonical}".encode()
    return hmac.new(current_app.secret_key.encode(), message, hashlib.sha256).hexdigest()


FORMS = ("multipart/form-data", "application/x-www-form-urlencoded")
ROLLED_BACK = "idempotency.rolled_back"


@event.listens_for(Session, "after_soft_rollback")
def _note_rollback(session, previous_transaction) -> None:
    """Tells an idempotent call that a service rolled back on the way (its claim went too)."""
    if previous_transaction.parent is None:
        session.info[ROLLED_BACK] = True


@contextmanager
def held_commits():
    """Within it, the services' commits only flush (extensions.AppSession): the caller
    commits everything at once, or an error rolls everything back."""
    session = db.session()
    session.info[HOLD_COMMITS] = True
    try:
        yield
    finally:
        session.info.pop(HOLD_COMMITS, None)


def claim(user_id: int, key: str, print_: str) -> IdempotencyKey | Replay:
    """Claim the key as the first write of this request's transaction, or say what an
    earlier identical request produced.

    The claim commits with the order (or rolls back with a refusal, so a corrected retry
    can use the key). A duplicate sent while the first is still running waits on the
    unique index for the first to finish, then replays its answer. Raises Invalid
    idempotency_key_reused (another body), Conflict idempotency_request_in_progress (a
    committed claim with no answer yet).
    """
    if not key or len(key) > 255:
        raise Invalid(errors={"Idempotency-Key": ["Must be 1–255 characters."]})
    now = datetime.now(UTC)
    if random.random() < PURGE_CHANCE:
        db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < now - KEEP_FOR))
    values = dict(user_id=user_id, key=key, fingerprint=print_, created_at=now)
    try:
        [key_id] = written.insert_rows(IdempotencyKey.__table__, [values])
    except IntegrityError:
        db.session.rollback()
    else:
        unanswered = dict(response_status=None, response_body=None, order_id=None)
        row = IdempotencyKey(id=key_id, **values, **unanswered)
        written.adopt(row)
        return row
    existing = db.session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
    )
    if existing is None:  # the other request was refused and rolled back: ours to take
        return claim(user_id, key, print_)
    return _answer_for(existing, print_, now)


def release(user_id: int, key: str) -> None:
    """Forget a claim, in this request's transaction (the key may be claimed afresh)."""
    db.session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
    )


def remember(row: IdempotencyKey, status: int, body: str) -> None:
    """Keep the answer with the claim, in the same transaction, for exact replays."""
    row.response_status, row.response_body = status, body


def _answer_for(existing: IdempotencyKey, print_: str, now: datetime) -> IdempotencyKey | Replay:
    if existing.fingerprint != print_:
        raise Invalid(
            "This Idempotency-Key was used with a different request.",
            code="idempotency_key_reused",
        )
    if existing.response_status is not None or existing.order_id is not None:
        return Replay(
            existing.response_status, existing.response_body, existing.order_id, existing.created_at
        )
    if existing.created_at < now - ABANDONED_AFTER:
        taken = db.session.execute(
            update(IdempotencyKey)
            .where(
                IdempotencyKey.id == existing.id, IdempotencyKey.created_at == existing.created_at
            )
            .values(created_at=now)
        ).rowcount
        if taken == 1:  # part of this request's transaction, like a fresh claim
            return db.session.get(IdempotencyKey, existing.id)
    raise Conflict(
        "A request with this Idempotency-Key is still being processed.",
        code="idempotency_request_in_progress",
    )
