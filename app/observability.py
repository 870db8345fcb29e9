"""Request ids and one JSON object per log line (issue 11).

Every request gets an id: the caller's `X-Request-ID` when it is a sane token (a load balancer
or an ERP tracing its calls), else a new one. It is sent back on the response and is in every
log line written while the request runs, with the method, path and, once known, the user's
role. When the request ends one line records its status and duration. `LOG_JSON=0` keeps
plain text for a terminal.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, Response, g, has_request_context, request
from sqlalchemy import inspect

from app import metrics

HEADER = "X-Request-ID"
_SANE = re.compile(r"[A-Za-z0-9._:-]{1,128}")
log = logging.getLogger("dinghuo.request")


def request_id() -> str | None:
    return g.get("request_id") if has_request_context() else None


def _who() -> tuple[str, int | None]:
    """The role and id of who made the request, as far as it got (a bearer token, a
    session, or nobody), read without loading anything (the row may be expired by now)."""
    user = g.get("api_user") or g.get("_login_user")
    if user is None or not getattr(user, "is_authenticated", False):
        return "anonymous", None
    state = inspect(user, raiseerr=False)
    if state is None:
        return "user", None
    return state.dict.get("role", "user"), (state.identity or (None,))[0]


class RequestContext(logging.Filter):
    """Adds the request's id, method, path and role to every record logged during it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            record.request_id = request_id()
            record.method, record.path = request.method, request.path
        return True


class JsonFormatter(logging.Formatter):
    FIELDS = ("request_id", "method", "path", "status", "duration_ms", "role", "user_id")

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in self.FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                line[field] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def init_app(app: Flask) -> None:
    if not app.testing:
        _configure_logging(app.config.get("LOG_JSON", True))

    @app.before_request
    def _start() -> None:
        given = request.headers.get(HEADER, "")
        g.request_id = given if _SANE.fullmatch(given) else uuid.uuid4().hex
        g.request_started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers[HEADER] = g.get("request_id") or ""
        started = g.get("request_started")
        if started is not None:
            seconds = time.perf_counter() - started
            metrics.observe(request.method, response.status_code, seconds)
            role, user_id = _who()
            log.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "request_id": g.get("request_id"),
                    "status": response.status_code,
                    "duration_ms": round(seconds * 1000, 2),
                    "role": role,
                    "user_id": user_id,
                },
            )
        return response


def _configure_logging(as_json: bool) -> None:
    """One handler on the root logger, to stderr (gunicorn collects it), once per process."""
    root = logging.getLogger()
    if any(getattr(h, "dinghuo", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.dinghuo = True
    handler.addFilter(RequestContext())
    fmt = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
    handler.setFormatter(JsonFormatter() if as_json else _Plain(fmt))
    root.addHandler(handler)
    root.setLevel(logging.INFO)


class _Plain(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        record.request_id = getattr(record, "request_id", "-")
        return super().format(record)
