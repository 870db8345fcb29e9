"""公告: the dealer's announcements under 我的 (unread ones marked), one announcement (opening
it marks it read for this user), and the unread count for the 我的 row and the catalog strip."""

from __future__ import annotations

import re

from flask import g, render_template, request
from flask_login import current_user
from markupsafe import Markup, escape

from app.errors import NotFound
from app.services import announcements
from app.web import bp, tab_badges

PAGE_SIZE = 20
ID_MAX = 2**31 - 1  # larger ids do not exist (and would overflow PostgreSQL's integer)
# Web addresses in plain text: ASCII only, so that Chinese text right after one stays text.
_URL = re.compile(r"https?://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
_TRAILING = ".,;:!?)]'"
_LINK = Markup('<a href="{0}" rel="noopener noreferrer nofollow" target="_blank">{0}</a>')


@bp.app_template_filter("announcement_text")
def announcement_text(text: str) -> Markup:
    """Plain text made safe for a page: everything escaped, web addresses as links (line
    breaks are kept by the stylesheet)."""
    parts, shown = [], 0
    for match in _URL.finditer(text or ""):
        url = match.group(0).rstrip(_TRAILING)
        if len(url) <= len("https://"):
            continue
        parts += [escape(text[shown : match.start()]), _LINK.format(url)]
        shown = match.start() + len(url)
    parts.append(escape((text or "")[shown:]))
    return Markup("").join(parts)


@bp.app_template_global()
def unread_announcements() -> int:
    """How many published announcements the signed-in dealer user has not opened yet;
    counted once per request however many places show it (the tab, the row, the strip)."""
    if request.method == "GET":
        return tab_badges()[1]  # with the cart's count, in one statement
    if "unread_announcements" not in g:
        g.unread_announcements = announcements.unread_count(current_user)
    return g.unread_announcements


def _page_number() -> int:
    raw = request.args.get("page", "")
    return max(int(raw), 1) if re.fullmatch(r"[0-9]{1,6}", raw) else 1


@bp.get("/announcements")
def announcements_page():
    page = _page_number()
    rows, total = announcements.dealer_announcements(current_user, page, PAGE_SIZE)
    return render_template(
        "dealer/announcements.html", rows=rows, page=page, has_more=page * PAGE_SIZE < total
    )


@bp.get("/announcements/<announcement_id>")
def announcement_page(announcement_id: str):
    if not announcement_id.isascii() or not announcement_id.isdigit():
        raise NotFound("No such announcement.", code="announcement_not_found")
    if int(announcement_id) > ID_MAX:
        raise NotFound("No such announcement.", code="announcement_not_found")
    item = announcements.mark_read(current_user, int(announcement_id))
    return render_template("dealer/announcement.html", item=item)
