"""快速下单 (CONTRACT §6 /quick-order): paste `SKU quantity` lines, see the preview, add the
lines that fit to the cart in one tap. Plain forms and pages: it works without JavaScript."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.errors import DomainError
from app.services import cart, import_files
from app.services import quick_order as q
from app.web import bp
from app.web.helpers import explain_error

MAX_ADD = q.MAX_LINES


@bp.get("/quick-order")
def quick_order():
    return render_template("dealer/quick_order.html", text="", error=None)


def _uploaded() -> str | None:
    """The uploaded list as paste text (None: no file); raises DomainError for a bad one."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return None
    content = upload.read(q.MAX_UPLOAD + 1)
    if len(content) > q.MAX_UPLOAD:
        raise q.PasteError("too large")
    return q.sheet_text(import_files.read(content))


def _refused(text: str, error: str):
    page = render_template("dealer/quick_order.html", text=text[: q.MAX_CHARS], error=error)
    return page, 422


@bp.post("/quick-order")
def quick_order_preview():
    text = request.form.get("lines", "")
    try:
        text = _uploaded() or text
    except q.PasteError:
        return _refused(text, _("Upload a file of at most 1 MB."))
    except DomainError as err:
        return _refused(text, explain_error(err))
    try:
        pasted = q.parse(text)
    except q.PasteError:
        error = _(
            "Paste at most %(lines)s lines (%(chars)s characters).",
            lines=q.MAX_LINES,
            chars=q.MAX_CHARS,
        )
        return render_template(
            "dealer/quick_order.html", text=text[: q.MAX_CHARS], error=error
        ), 422
    if not pasted.wanted and not pasted.unread:
        error = _("Paste one SKU and its quantity per line.")
        return render_template("dealer/quick_order.html", text=text, error=error), 422
    lines = q.preview(current_user, pasted)
    return render_template(
        "dealer/quick_order_preview.html",
        text=text,
        lines=lines,
        unread=pasted.unread,
        fitting=[line for line in lines if line.qty],
    )


@bp.post("/quick-order/add")
def quick_order_add():
    """Add the previewed lines (sku, qty pairs) through the cart's own checks; a line the cart
    now refuses (stock taken meanwhile) is named, the others go in."""
    skus, qtys = request.form.getlist("sku")[:MAX_ADD], request.form.getlist("qty")[:MAX_ADD]
    added, refused = 0, []
    for sku, qty in zip(skus, qtys, strict=False):
        try:
            cart.add(current_user, sku, int(qty))
            added += 1
        except (DomainError, ValueError) as err:
            reason = explain_error(err) if isinstance(err, DomainError) else _("Not a number.")
            refused.append(f"{sku}: {reason}")
    if added:
        flash(_("Added %(n)s lines to the cart.", n=added))
    for line in refused:
        flash(_("Not added: %(line)s", line=line))
    return redirect(url_for("web.cart_page"))
