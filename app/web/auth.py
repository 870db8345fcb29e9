"""Login, logout and the language switch (shared by dealers and HQ)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from app.errors import Forbidden, Unauthorized
from app.extensions import login_limits
from app.services import accounts

bp = Blueprint("auth", __name__)


def _home_for(user) -> str:
    return url_for("admin.dashboard") if user.is_hq else url_for("web.catalog")


def _safe_next(target: str | None) -> str | None:
    """Only same-site relative paths: never an open redirect."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(_home_for(current_user))
    return redirect(url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
@login_limits
def login():
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(_home_for(current_user))
        return render_template("login.html", username="", error=None)
    username = request.form.get("username", "")
    try:
        user = accounts.authenticate(username, request.form.get("password", ""))
    except Unauthorized:
        return _login_failed(username, _("Wrong username or password."), 401)
    except Forbidden:
        return _login_failed(
            username, _("This account has been deactivated. Please contact HQ."), 403
        )
    login_user(user, remember=True)
    return redirect(_safe_next(request.args.get("next")) or _home_for(user))


def _login_failed(username: str, message: str, status: int):
    return render_template("login.html", username=username, error=message), status


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    return redirect(url_for("auth.login"))


@bp.get("/lang/<code>")
def set_language(code: str):
    """Switch between Chinese and English; remembered for a year in a cookie."""
    response = redirect(_safe_next(request.args.get("next")) or url_for("auth.index"))
    if code in ("zh_CN", "en"):
        response.set_cookie("lang", code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response
