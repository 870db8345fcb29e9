"""Forms that act once: a page renders each write form with a fresh key (`form_key()`, in a
hidden `idempotency_key` field), and the POST claims it the way the API claims an
Idempotency-Key (app.api.idempotent). A double tap, a retry after a lost answer or a
resubmitted page is the same request: it gets the first answer again (a redirect goes to the
same place) with a note that nothing was done twice, instead of a second deposit or a
"wrong status" refusal. A refused form keeps nothing, so the corrected form (rendered again,
with a new key) goes through.

`sent_once` wraps every view of the HQ and dealer pages (app/__init__.py); it acts only on a
POST whose form carries the field.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from functools import wraps

from flask import current_app, flash, make_response, redirect, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.engine import Engine

from app.extensions import db
from app.services import idempotency

FIELD = "idempotency_key"
# A resubmission within this is the same request (a double tap, a retry after a lost answer);
# an old page sent again later (Back, then send) is asked afresh: the state it set may have
# been changed back since, and "already done" would then be a lie.
REPLAY_WINDOW = timedelta(minutes=5)
PREFIX = "form:"  # a form's keys never meet an API client's
WRITES = ("INSERT", "UPDATE", "DELETE", "WITH")  # WITH: a CTE may write; counted to be safe
_writes: ContextVar[list[int] | None] = ContextVar("form_writes", default=None)


@event.listens_for(Engine, "before_cursor_execute")
def _count_writes(conn, cursor, statement, parameters, context, executemany) -> None:
    counter = _writes.get()
    if counter is not None and statement.lstrip()[:6].upper().startswith(WRITES):
        counter[0] += 1


def form_key() -> str:
    """A key for a form rendered now (template global)."""
    return uuid.uuid4().hex


def sent_once(view: Callable) -> Callable:
    @wraps(view)
    def wrapper(*args, **kwargs):
        key = request.form.get(FIELD) if request.method == "POST" else None
        if not key or not current_user.is_authenticated:
            return view(*args, **kwargs)
        print_ = idempotency.request_fingerprint(request)
        # The key with what was sent: a page brought back (the browser's Back) and sent with
        # other values is another request, not a reused key; the same values are the same.
        key = f"{PREFIX}{key[:64]}:{print_[:32]}"
        claimed = _claim(key, print_)
        if isinstance(claimed, idempotency.Replay):
            return _replayed(claimed)
        session = db.session()
        session.info.pop(idempotency.ROLLED_BACK, None)
        counter = [0]
        token = _writes.set(counter)
        try:
            with idempotency.held_commits():
                response = make_response(view(*args, **kwargs))
                db.session.flush()
                keep = counter[0] > 0 and response.status_code < 400 and not response.is_streamed
                if keep and session.info.pop(idempotency.ROLLED_BACK, False):
                    claimed = _claim(key, print_)
                    if isinstance(claimed, idempotency.Replay):
                        db.session.rollback()
                        return _replayed(claimed)
                if keep:
                    idempotency.remember(claimed, response.status_code, _kept(response))
        except BaseException:
            db.session.rollback()
            raise
        finally:
            _writes.reset(token)
        if not keep:
            # A refusal (some pages answer one with a redirect and a message), a form that
            # wrote nothing, or a download: no answer is kept, so the next send is asked
            # afresh; what the view wrote on purpose (a refreshed preview) is kept, as it
            # would be without a key.
            idempotency.release(current_user.id, key)
        db.session.commit()
        return response

    return wrapper


def _claim(key: str, print_: str):
    claimed = idempotency.claim(current_user.id, key, print_)
    if isinstance(claimed, idempotency.Replay) and claimed.claimed_at is not None:
        at = claimed.claimed_at
        at = at if at.tzinfo else at.replace(tzinfo=UTC)  # SQLite gives it back naive
        if at < datetime.now(UTC) - REPLAY_WINDOW:
            idempotency.release(current_user.id, key)
            claimed = idempotency.claim(current_user.id, key, print_)
    return claimed


def _kept(response) -> str:
    """Where the answer sent the browser, or the fragment it swapped in. A page that may not
    be stored (no-store: a password or a signing secret shown once) is never kept: its
    replay goes back to the page the form was on."""
    location = response.headers.get("Location")
    hx_redirect = response.headers.get("HX-Redirect")
    html = None
    if not (location or hx_redirect):
        if "no-store" in (response.headers.get("Cache-Control") or ""):
            location = _same_site(request.referrer) or request.path
        else:
            html = response.get_data(as_text=True)
    return json.dumps({"location": location, "hx_redirect": hx_redirect, "html": html})


def _same_site(url: str | None) -> str | None:
    if url and url.startswith(request.host_url):
        return "/" + url.removeprefix(request.host_url)
    return None


def _replayed(replay: idempotency.Replay):
    kept = json.loads(replay.body or "{}")
    flash(_("That form was sent before: it was done once, and nothing was done again."))
    if kept.get("hx_redirect"):
        response = make_response("", 200)
        response.headers["HX-Redirect"] = kept["hx_redirect"]
    elif kept.get("location"):
        code = replay.status if 300 <= (replay.status or 0) < 400 else 303
        response = redirect(kept["location"], code=code)
    elif kept.get("html") is not None:
        html, status = kept["html"], replay.status
        response = current_app.response_class(html, status=status, mimetype="text/html")
    else:
        response = redirect(request.referrer or request.path, code=303)
    response.headers["Idempotent-Replayed"] = "true"
    response.headers["Cache-Control"] = "no-store"
    return response


def register(app) -> None:
    app.jinja_env.globals["form_key"] = form_key
    for endpoint, view in list(app.view_functions.items()):
        if endpoint.partition(".")[0] in ("admin", "web"):
            app.view_functions[endpoint] = sent_once(view)
