"""The application factory."""

from __future__ import annotations

import functools
from importlib.resources import files
from pathlib import Path

from babel import Locale
from flask import Flask, request
from sqlalchemy import text
from werkzeug.middleware.proxy_fix import ProxyFix

from app import metrics, observability, security, static_assets
from app.config import Config
from app.extensions import (
    babel,
    csrf,
    db,
    htmx,
    limiter,
    limiter_on_writes_only,
    login_manager,
    migrate,
)
from app.sessions import KeptSerializerSessions

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("zh_CN", "en")
# Parsed once: Babel has no "zh_CN" (it is zh_Hans_CN) and would search for it per request.
_LOCALES = {code: Locale.parse(code) for code in LANGUAGES}


def create_app(config: object | None = None) -> Flask:
    """Build the app: extensions, blueprints, error handlers and CLI commands."""
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
    )
    app.config.from_object(config or Config())
    app.session_interface = KeptSerializerSessions()
    if hops := app.config.get("PROXY_HOPS", 0):
        # Behind a load balancer: the client's address and scheme from its X-Forwarded-*
        # headers (per-IP login limits would otherwise count every client as the balancer).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    _no_jit_on_postgres(app)
    register_extensions(app)
    register_blueprints(app)
    register_template_helpers(app)
    from app.errors import register_errors

    register_errors(app)
    from app.cli import register_cli

    register_cli(app)
    return app


def _no_jit_on_postgres(app: Flask) -> None:
    """Our statements are short; PostgreSQL's JIT would spend up to a second compiling one
    whose estimate stale statistics inflate (a cold catalog count, a test's snapshot)."""
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}))
        connect_args = {"options": "-c jit=off", **options.get("connect_args", {})}
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**options, "connect_args": connect_args}


def select_locale() -> Locale:
    return _LOCALES.get(request.cookies.get("lang", ""), _LOCALES["zh_CN"])


def register_extensions(app: Flask) -> None:
    # First, so that its after_request hook runs last: it compresses the final response.
    static_assets.init_app(app)
    security.init_app(app)
    observability.init_app(app)
    metrics.init_app(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    limiter.init_app(app)
    limiter_on_writes_only(app)
    htmx.init_app(app)
    from app.services import cache

    cache.init_app(app)

    from app.services.accounts import load_session_user

    login_manager.user_loader(load_session_user)


def register_blueprints(app: Flask) -> None:
    from app import api
    from app.admin import bp as admin_bp
    from app.web import bp as web_bp
    from app.web.auth import bp as auth_bp
    from app.web.pwa import bp as pwa_bp
    from app.webhooks import bp as webhooks_bp

    api.register(app)
    csrf.exempt(api.bp)  # bearer tokens only: no cookie, so no CSRF to forge
    app.register_blueprint(webhooks_bp)
    csrf.exempt(webhooks_bp)  # carriers sign each delivery instead; no cookie is ever read
    app.register_blueprint(auth_bp)
    app.register_blueprint(pwa_bp)  # the manifest, the service worker, the offline page
    app.register_blueprint(web_bp)
    app.register_blueprint(admin_bp)
    register_system_routes(app)
    from app.web import once

    once.register(app)  # HQ and dealer forms rendered with form_key() act once


def register_system_routes(app: Flask) -> None:
    from app.web.helpers import HTMX_VERSION

    htmx_js = static_assets.Asset.read(files("js_lib_htmx").joinpath("static/htmx/htmx.min.js"))

    @app.get("/vendor/htmx.min.js")
    def vendor_htmx():
        """htmx from its pinned package: immutable on the URL naming that version."""
        return static_assets.send(htmx_js, immutable=request.args.get("v") == HTMX_VERSION)

    @app.get("/healthz")
    def healthz():
        try:
            db.session.execute(text("SELECT 1"))
        except Exception:  # any failure to reach the database is "not ok"
            db.session.rollback()
            return {"status": "unavailable"}, 503
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz():
        """Ready for traffic: the database answers, its schema is at the migrations' head,
        and Redis answers when one is configured. 503 names what is not."""
        checks = readiness(app)
        ready = all(value == "ok" for value in checks.values())
        return {"status": "ready" if ready else "unavailable", "checks": checks}, (
            200 if ready else 503
        )

    @app.get("/ping")
    def ping():
        """The framework floor for benchmarks: no database, no session."""
        return "ok"


def readiness(app: Flask) -> dict[str, str]:
    """Each check's outcome: "ok", or why not."""
    checks = {}
    try:
        versions = db.session.execute(text("SELECT version_num FROM alembic_version"))
        current = {row[0] for row in versions}
        checks["database"] = "ok"
        checks["migrations"] = _schema_check(current)
    except Exception as err:  # unreachable, or no schema at all
        db.session.rollback()
        checks["database"] = f"unavailable: {type(err).__name__}"
        checks["migrations"] = "unknown"
    if app.config.get("REDIS_URL"):
        import redis

        try:
            redis.Redis.from_url(app.config["REDIS_URL"], socket_timeout=1).ping()
            checks["redis"] = "ok"
        except redis.RedisError as err:
            checks["redis"] = f"unavailable: {type(err).__name__}"
    return checks


@functools.cache
def _migrations():
    """The migration scripts this code ships with (read once per process)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(ROOT / "migrations"))


def _schema_check(current: set[str]) -> str:
    """At this code's head: ok. Ahead of it (a revision this code does not know, migrated by a
    newer host mid-deploy; migrations only add): ok too. Behind it: not ready."""
    script = _migrations()
    if current == set(script.get_heads()):
        return "ok"
    known = set()
    for revision in current:
        try:
            known.add(script.get_revision(revision) is not None)
        except Exception:  # unknown to this code: a newer migration
            known.add(False)
    return "ok" if current and known == {False} else "not at head: run flask db upgrade"


def register_template_helpers(app: Flask) -> None:
    from app import rendering
    from app.web.helpers import register

    register(app)
    rendering.init_app(app)
