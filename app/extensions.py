"""Unbound Flask extensions; create_app() binds them."""

from functools import partial, wraps

from flask import request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSession
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names, so migrations can drop and alter them on every backend.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


HOLD_COMMITS = "hold_commits"


class AppSession(FlaskSession):
    """Flask-SQLAlchemy's session, whose commits can be held: while `session.info` has
    HOLD_COMMITS, commit() only flushes, and whoever set it commits once at the end. An
    idempotent API call (app.api.idempotent) keeps its answer with its writes that way, in
    one transaction, whatever the services it calls commit on the way."""

    def commit(self) -> None:
        if self.info.get(HOLD_COMMITS):
            self.flush()
            return
        super().commit()


db = SQLAlchemy(model_class=Base, session_options={"class_": AppSession})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
htmx = Htmx()


def _client_ip() -> str:
    return get_remote_address() or "unknown"


limiter = Limiter(key_func=_client_ip, default_limits=[])


READS = ("GET", "HEAD", "OPTIONS")


@limiter.request_filter
def _reads_are_not_limited() -> bool:
    """Every limit is on a POST (logins, carrier webhooks): reads are never limited."""
    return request.method in READS


def limiter_on_writes_only(app) -> None:
    """Reads skip the limiter's request hooks altogether (its before, after and teardown
    hooks cost a read a tenth of the app's per-request time even when filtered out)."""

    def owned(hook) -> bool:
        bound_to = getattr(hook, "__self__", None)
        return bound_to is limiter or (isinstance(hook, partial) and hook.args[:1] == (limiter,))

    def on_writes(hook, passthrough: bool):
        @wraps(hook.func if isinstance(hook, partial) else hook)
        def hook_on_writes(*args):
            if request.method in READS:
                return args[0] if passthrough else None
            return hook(*args)

        return hook_on_writes

    for registry, passthrough in (
        (app.before_request_funcs, False),
        (app.after_request_funcs, True),  # an after_request hook hands the response on
        (app.teardown_request_funcs, False),
    ):
        hooks = registry.get(None, [])
        registry[None] = [on_writes(h, passthrough) if owned(h) else h for h in hooks]


def failed_login(response) -> bool:
    """Only failed attempts count against the login limits: a dealer's ERP that logs in
    often, or a busy office behind one IP, is never locked out by its own successes."""
    return response.status_code not in (200, 201, 302)


def login_limits(func):
    """Per-IP and per-account limits on failed login attempts (POST only)."""
    from flask import current_app

    per_ip = limiter.limit(
        lambda: current_app.config["LOGIN_LIMITS_PER_IP"],
        methods=["POST"],
        deduct_when=failed_login,
    )
    per_account = limiter.limit(
        lambda: current_app.config["LOGIN_LIMITS_PER_ACCOUNT"],
        key_func=login_account_key,
        methods=["POST"],
        deduct_when=failed_login,
    )
    return per_ip(per_account(func))


def login_account_key() -> str:
    """Rate-limit key for one account, whatever IP the attempts come from."""
    data = request.get_json(silent=True) if request.is_json else request.form
    name = data.get("username") if hasattr(data, "get") else ""
    return "account:" + str(name).strip().lower()
