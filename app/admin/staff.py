"""HQ staff (§3a) and the audit log: admins add users with a role, change or deactivate them,
reset their passwords, and search every HQ write."""

from __future__ import annotations

import re
from datetime import date

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.admin import ROLE_LABELS, bp, requires
from app.errors import DomainError
from app.models.accounts import HQ_ROLES
from app.services import audit, permissions, staff
from app.web.helpers import explain_error

USERNAME = re.compile(r"^\S{1,64}$")
AUDIT_PAGE_SIZE = 50
OBJECT_TYPES = ("dealer", "product", "order", "user", "settings", "carrier", "deposit_notice",
                "settlement", "tier", "announcement", "import")  # fmt: skip


def _form_errors(form: dict, *, creating: bool) -> dict[str, str]:
    errors = {}
    if creating and not USERNAME.match(form.get("username", "")):
        errors["username"] = _("Use 1–64 characters without spaces.")
    if form.get("role") not in HQ_ROLES:
        errors["role"] = _("Choose a role.")
    password = form.get("password", "")
    if (creating or password) and not 1 <= len(password) <= 128:
        errors["password"] = _("Password must be 1–128 characters.")
    if len(form.get("name", "")) > 128:
        errors["name"] = _("At most 128 characters.")
    return errors


def _explain(err: DomainError) -> str:
    words = {
        "duplicate_username": _("This username is taken."),
        "last_admin": _("This is the last active admin; make another admin first."),
    }
    return words.get(err.code) or explain_error(err)


def _list(status: int = 200, **context):
    context.setdefault("form", {"role": "order_desk"})
    context.setdefault("errors", {})
    return render_template(
        "admin/staff/list.html", users=staff.staff(), roles=ROLE_LABELS, **context
    ), status


@bp.get("/staff")
@requires(permissions.ADMIN)
def staff_list():
    return _list()


@bp.post("/staff")
@requires(permissions.ADMIN)
def staff_create():
    form = {key: request.form.get(key, "").strip() for key in ("username", "name", "role")}
    form["password"] = request.form.get("password", "")
    errors = _form_errors(form, creating=True)
    if errors:
        return _list(422, form=form, errors=errors)
    try:
        user = staff.create_staff(
            current_user, form["username"], form["password"], form["role"], form["name"]
        )
    except DomainError as err:
        return _list(err.status, form=form, errors={"form": _explain(err)})
    flash(_("%(name)s can now log in as %(role)s.", name=user.username,
            role=ROLE_LABELS[user.role]))  # fmt: skip
    return redirect(url_for("admin.staff_list"))


def _page(username: str, status: int = 200, **context):
    user = staff.staff_by_username(username)
    context.setdefault("errors", {})
    history, _total = audit.search(object_type="user", object_key=username, per_page=20)
    return render_template(
        "admin/staff/user.html", user=user, roles=ROLE_LABELS, history=history, **context
    ), status


@bp.get("/staff/<username>")
@requires(permissions.ADMIN)
def staff_user(username: str):
    return _page(username)


@bp.post("/staff/<username>")
@requires(permissions.ADMIN)
def staff_update(username: str):
    user = staff.staff_by_username(username)
    form = {
        "name": request.form.get("name", "").strip(),
        "role": request.form.get("role", ""),
        "password": request.form.get("password", ""),
        "active": request.form.get("active") == "1",
    }
    errors = _form_errors(form, creating=False)
    if errors:
        return _page(username, 422, errors=errors)
    changes = {"name": form["name"], "role": form["role"], "active": form["active"]}
    if form["password"]:
        changes["password"] = form["password"]
    try:
        staff.update_staff(current_user, user.username, changes)
    except DomainError as err:
        return _page(username, err.status, errors={"form": _explain(err)})
    flash(_("Saved %(name)s.", name=user.username))
    if user.id == current_user.id and ("password" in changes or not form["active"]):
        return redirect(url_for("auth.login"))
    return redirect(url_for("admin.staff_user", username=user.username))


def _day(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


@bp.get("/audit")
@requires(permissions.ADMIN)
def audit_log():
    args = {key: request.args.get(key, "").strip()[:128] for key in
            ("user", "object_type", "object_key", "from", "to")}  # fmt: skip
    page = int(request.args["page"]) if request.args.get("page", "").isdigit() else 1
    page = max(1, min(page, 10_000))
    from_day, to_day = _day(args["from"]), _day(args["to"])
    bad_day = (args["from"] and from_day is None) or (args["to"] and to_day is None)
    rows, total = audit.search(
        username=args["user"] or None,
        object_type=args["object_type"] or None,
        object_key=args["object_key"] or None,
        from_day=from_day,
        to_day=to_day,
        page=page,
        per_page=AUDIT_PAGE_SIZE,
    )
    return render_template(
        "admin/staff/audit.html",
        history=rows,
        total=total,
        page=page,
        more=page * AUDIT_PAGE_SIZE < total,
        args=args,
        bad_day=bad_day,
        object_types=OBJECT_TYPES,
    )
