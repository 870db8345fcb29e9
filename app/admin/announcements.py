"""HQ announcement pages (CONTRACT §3c): the list with read counts, writing one (to every
dealer or chosen tiers, now or at a China time), and one announcement with who has read it.

Any HQ role reads; only admins write (marketing is theirs). A refused form re-renders with
the reason next to its field, and nothing is stored.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.admin import bp, requires
from app.errors import Invalid
from app.services import announcements, permissions

PAGE_SIZE = 30
ALL, TIERS = "all", "tiers"
NOW, LATER = "now", "later"
# A time typed to the minute may be the current minute: only earlier than that is the past.
PAST_GRACE = timedelta(minutes=1)
FIELD_MESSAGES = {
    "title": _l("Give a title of 1–200 characters."),
    "body": _l("Write the announcement: 1–10,000 characters."),
    "tiers": _l("Choose at least one tier, or address every dealer."),
    "publish_at": _l("Choose the date and time to publish (China time)."),
    "past": _l("That time has passed. Choose a later time, or publish now."),
}
STATUS_LABELS = {
    announcements.SCHEDULED: _l("Scheduled"),
    announcements.PUBLISHED: _l("Published"),
}
READ_FILTERS = {
    "": _l("All"),
    announcements.READ: _l("Read"),
    announcements.UNREAD: _l("Unread"),
}


@bp.app_template_global()
def announcement_status_label(status: str) -> str:
    """已发布 / 待发布."""
    return str(STATUS_LABELS.get(status, status))


def _page_number() -> int:
    raw = request.args.get("page", "")
    return max(int(raw), 1) if re.fullmatch(r"[0-9]{1,6}", raw) else 1


@bp.get("/announcements")
@requires(permissions.HQ)
def announcements_list():
    page = _page_number()
    rows, total = announcements.hq_announcements(page, PAGE_SIZE)
    return render_template(
        "admin/announcements/list.html",
        rows=rows,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
    )


def _form_page(form: dict, errors: dict | None = None, status: int = 200):
    page = render_template(
        "admin/announcements/new.html",
        form=form,
        errors=errors or {},
        tiers=announcements.audience_tiers(),
    )
    return page, status


@bp.get("/announcements/new")
def announcement_new():
    return _form_page({"audience": ALL, "when": NOW, "tiers": []})


def _typed_form() -> dict:
    form = request.form
    return {
        "title": form.get("title", ""),
        "body": form.get("body", ""),
        "audience": TIERS if form.get("audience") == TIERS else ALL,
        "tiers": form.getlist("tiers"),
        "when": LATER if form.get("when") == LATER else NOW,
        "publish_at": form.get("publish_at", "").strip(),
    }


def _publish_time(form: dict, errors: dict) -> datetime | None:
    """None for now; else the datetime-local value read as China time."""
    if form["when"] == NOW:
        return None
    try:
        moment = announcements.shanghai_time(datetime.fromisoformat(form["publish_at"]))
    except ValueError:
        errors["publish_at"] = str(FIELD_MESSAGES["publish_at"])
        return None
    if moment < datetime.now(UTC) - PAST_GRACE:
        errors["publish_at"] = str(FIELD_MESSAGES["past"])
    return moment


def _checked(form: dict) -> tuple[list[str], datetime | None]:
    """The tiers and time the form asks for; Invalid with page messages when it cannot say."""
    errors = {}
    chosen = form["tiers"] if form["audience"] == TIERS else []
    if form["audience"] == TIERS and not chosen:
        errors["tiers"] = str(FIELD_MESSAGES["tiers"])
    moment = _publish_time(form, errors)
    if errors:
        raise Invalid(errors=errors)
    return chosen, moment


def _messages(err: Invalid) -> dict[str, str]:
    """The service's refusal (or the form's own, already worded) by field."""
    found = {}
    for field, said in (err.errors or {}).items():
        key = field.split(".", 1)[0]
        if isinstance(said, str):
            found[key] = said
        elif key in FIELD_MESSAGES:
            found[key] = str(FIELD_MESSAGES[key])
    return found or {"": str(FIELD_MESSAGES["body"])}


@bp.post("/announcements")
def announcement_create():
    form = _typed_form()
    try:
        tiers, moment = _checked(form)
        created = announcements.create_announcement(
            current_user, form["title"], form["body"], tiers, moment
        )
    except Invalid as err:
        return _form_page(form, _messages(err), 422)
    if created.status == announcements.SCHEDULED:
        flash(_("Scheduled: dealers see it from %(at)s.", at=_local(created.publish_at)))
    else:
        flash(_("Published: %(n)s dealers can read it now.", n=created.addressed))
    return redirect(url_for("admin.announcement_detail", announcement_id=created.id))


def _local(moment: datetime) -> str:
    return moment.astimezone(announcements.SHANGHAI).strftime("%Y-%m-%d %H:%M")


@bp.get("/announcements/<int:announcement_id>")
@requires(permissions.HQ)
def announcement_detail(announcement_id: int):
    show = request.args.get("show", "")
    show = show if show in READ_FILTERS else ""
    found = announcements.announcement_for_hq(announcement_id)
    return render_template(
        "admin/announcements/detail.html",
        item=found,
        readers=announcements.readers(announcement_id, show or None),
        show=show,
        filters=READ_FILTERS,
    )
