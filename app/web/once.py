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
from functools import wraps

from flask import current_app, flash, make_response, redirect, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.engine import Engine

from app.extensions import db
from app.services import idempotency

FIELD = "idempotency_key"
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
        claimed = idempotency.claim(current_user.id, key, print_)
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
                wrote = counter[0] > 0
                if response.status_code >= 400 or response.is_streamed or not wrote:
                    # A refusal keeps nothing, its claim included (some pages answer one
                    # with a redirect and a message): the next send is asked afresh.
                    db.session.rollback()
                    return response
                if session.info.pop(idempotency.ROLLED_BACK, False):
                    claimed = idempotency.claim(current_user.id, key, print_)
                    if isinstance(claimed, idempotency.Replay):
                        db.session.rollback()
                        return _replayed(claimed)
                idempotency.remember(claimed, response.status_code, _kept(response))
        except BaseException:
            db.session.rollback()
            raise
        finally:
            _writes.reset(token)
        db.session.commit()
        return response

    return wrapper


def _kept(response) -> str:
    """Where the answer sent the browser, or the fragment it swapped in."""
    location = response.headers.get("Location")
    hx_redirect = response.headers.get("HX-Redirect")
    html = None if location or hx_redirect else response.get_data(as_text=True)
    return json.dumps({"location": location, "hx_redirect": hx_redirect, "html": html})


def _replayed(replay: idempotency.Replay):
    kept = json.loads(replay.body or "{}")
    flash(_("That form was sent before: it was done once, and nothing was done again."))
    if kept.get("hx_redirect"):
        response = make_response("", 200)
        response.headers["HX-Redirect"] = kept["hx_redirect"]
    elif kept.get("location"):
        response = redirect(kept["location"], code=replay.status or 303)
    elif kept.get("html") is not None:
        html, status = kept["html"], replay.status
        response = current_app.response_class(html, status=status, mimetype="text/html")
    else:
        response = redirect(request.referrer or request.path, code=303)
    response.headers["Idempotent-Replayed"] = "true"
    return response


def register(app) -> None:
    app.jinja_env.globals["form_key"] = form_key
    for endpoint, view in list(app.view_functions.items()):
        if endpoint.partition(".")[0] in ("admin", "web"):
            app.view_functions[endpoint] = sent_once(view)
