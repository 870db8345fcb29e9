"""The order desk: every order in status tabs with search and filters, approve from the
queue (one order, or a batch), an order's page with the dealer's money and each line's stock,
and reject with a reason.

Plain forms over app/services/orders: a decision POSTs and redirects back to the page it
came from (`next`), with what happened in a flash; a refusal changes nothing.
"""

from __future__ import annotations

import re
from datetime import date
from math import ceil
from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.admin import bp, logistics, requires
from app.errors import DomainError
from app.services import orders, permissions
from app.web.helpers import is_chinese

PAGE_SIZE = 20
# key: (label, statuses); the review queue first, as HQ works it.
TABS = {
    "submitted": (_l("To review"), (orders.SUBMITTED,)),
    "approved": (_l("Reviewed"), (orders.APPROVED,)),
    "partially_shipped": (_l("Being shipped"), (orders.PARTIALLY_SHIPPED,)),
    "shipped": (_l("Shipped"), (orders.SHIPPED,)),
    "delivered": (_l("Delivered"), (orders.DELIVERED,)),
    "cancelled": (_l("Cancelled"), (orders.CANCELLED,)),
    "rejected": (_l("Rejected"), (orders.REJECTED,)),
    "all": (_l("All"), ()),
}
QUEUE = "submitted"
_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


@bp.app_template_global()
def desk_facts(order) -> orders.DeskFacts:
    """The dealer's money and each line's stock now (for any page drawing admin/order.html)."""
    return orders.desk_facts(order)


def _day(raw: str, problems: list[str]) -> date | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        if _DAY.match(raw):
            return date.fromisoformat(raw)
    except ValueError:
        pass
    problems.append(_("Dates are written as YYYY-MM-DD, for example 2026-11-01."))
    return None


def _filters(args) -> tuple[orders.DeskFilter, dict, list[str]]:
    """The filter asked for, the query values that rebuild it, and what could not be read."""
    problems: list[str] = []
    q = args.get("q", "").strip()[:100]
    dealer = args.get("dealer", "").strip()[:32]
    from_day, to_day = _day(args.get("from", ""), problems), _day(args.get("to", ""), problems)
    if from_day and to_day and to_day < from_day:
        problems.append(_("The end date is before the start date; it was left out."))
        to_day = None
    where = orders.DeskFilter(dealer, q, from_day, to_day)
    kept = {
        "q": q or None,
        "dealer": dealer or None,
        "from": from_day.isoformat() if from_day else None,
        "to": to_day.isoformat() if to_day else None,
    }
    return where, kept, problems


def _page_number(raw: str) -> int:
    return max(int(raw), 1) if re.fullmatch(r"[0-9]{1,6}", raw) else 1


@bp.get("/orders")
@requires(permissions.READ_ORDERS)
def order_queue():
    tab = request.args.get("status", QUEUE)
    if tab not in TABS:
        tab = QUEUE
    where, kept, problems = _filters(request.args)
    counts = orders.desk_counts(where)
    counts["all"] = sum(counts.values())
    statuses = TABS[tab][1]
    total = counts[statuses[0]] if statuses else counts["all"]
    pages = max(1, ceil(total / PAGE_SIZE))
    page = min(_page_number(request.args.get("page", "")), pages)
    found, _total = orders.desk_orders(
        statuses, where, page, PAGE_SIZE, oldest_first=tab == QUEUE, count=False
    )

    def list_url(**changes):
        values = {"status": None if tab == QUEUE else tab, **kept, "page": page, **changes}
        if values.get("page") == 1:
            values["page"] = None
        return url_for("admin.order_queue", **{k: v for k, v in values.items() if v})

    context = {
        "orders": found,
        "tab": tab,
        "tabs": TABS,
        "counts": counts,
        "kept": kept,
        "where": where,
        "problems": problems,
        "page": page,
        "pages": pages,
        "total": total,
        "list_url": list_url,
        "here": list_url(),
        "select_all": request.args.get("select") == "all",
        "dealers": orders.dealer_choices(),
        "filtered": any(kept.values()),
    }
    return render_template("admin/orders.html", **context), 422 if problems else 200


def _order_page(order, error: DomainError | None = None, status: int = 200):
    context = logistics.order_context(order)
    return render_template("admin/order.html", order=order, error=error, **context), status


@bp.get("/orders/<number>")
@requires(permissions.READ_ORDERS)
def order_detail(number: str):
    return _order_page(orders.order_for_admin(number))


def _safe_next(raw: str | None) -> str | None:
    """A page of this HQ area to go back to; anything else (another site) is ignored."""
    if not raw or not raw.startswith("/admin") or raw.startswith("//") or "\\" in raw:
        return None
    parts = urlsplit(raw)
    return raw if not parts.scheme and not parts.netloc else None


@bp.post("/orders/<number>/approve")
@requires(permissions.ORDER_DESK)
def order_approve(number: str):
    back = _safe_next(request.form.get("next"))
    if back is None:  # from the order page: its problem is shown there
        return _decide(number, lambda: orders.approve_order(current_user, number), _("Approved"))
    try:
        order = orders.approve_order(current_user, number)
    except DomainError as err:
        status = err.extra.get("status_now") if err.status == 409 else None
        if err.status not in (404, 409):
            raise
        flash(_("Not approved: %(why)s", why=skip_reason(orders.Skipped(number, status))))
        return redirect(back)
    flash(f"{order.number} · {_('Approved')}")
    return redirect(back)


@bp.post("/orders/<number>/reject")
@requires(permissions.ORDER_DESK)
def order_reject(number: str):
    reason = request.form.get("reason", "")
    return _decide(number, lambda: orders.reject_order(current_user, number, reason), _("Rejected"))


def _decide(number: str, action, done: str):
    """Run an order-desk decision; back to the queue, or the order with the problem shown."""
    try:
        order = action()
    except DomainError as err:
        if err.status == 404:
            raise
        return _order_page(orders.order_for_admin(number), err, err.status)
    flash(f"{order.number} · {done}")
    return redirect(url_for("admin.order_queue"))


@bp.post("/orders/batch-approve")
@requires(permissions.ORDER_DESK)
def orders_batch_approve():
    back = _safe_next(request.form.get("next")) or url_for("admin.order_queue")
    numbers = request.form.getlist("number")
    if not any(n.strip() for n in numbers):
        flash(_("Tick the orders to approve first."))
        return redirect(back)
    try:
        result = orders.approve_orders(current_user, numbers)
    except DomainError as err:
        if err.status != 422:
            raise
        flash(_("At most %(n)s orders at once.", n=orders.MAX_BATCH))
        return redirect(back)
    flash(batch_report(result))
    return redirect(back)


def skip_reason(skipped: orders.Skipped) -> str:
    """Why an order was not approved, in the reader's words."""
    number, status = skipped.number, skipped.status
    if status is None:
        return _("%(number)s does not exist", number=number)
    if status == orders.CANCELLED:
        return _("%(number)s was cancelled meanwhile", number=number)
    if status == orders.REJECTED:
        return _("%(number)s was rejected meanwhile", number=number)
    if status == orders.APPROVED:
        return _("%(number)s was already approved", number=number)
    return _("%(number)s is no longer waiting for review", number=number)


def batch_report(result: orders.BatchResult) -> str:
    """ "12 approved, 1 skipped: SO… was cancelled meanwhile"."""
    said = _("%(n)s approved", n=len(result.approved))
    if not result.skipped:
        return said
    comma, semicolon = ("，", "；") if is_chinese() else (", ", "; ")
    why = semicolon.join(skip_reason(s) for s in result.skipped)
    return said + comma + _("%(n)s skipped: %(why)s", n=len(result.skipped), why=why)
