"""The dealer's catalog: list with search and chips, product page, live stock refresh."""

from __future__ import annotations

import hashlib
import json

from flask import current_app, jsonify, render_template, request
from flask_babel import get_locale
from flask_login import current_user

from app.services import catalog as catalog_svc
from app.web import bp
from app.web.forms import new_key
from app.web.helpers import stock_label


def _int_arg(name: str, default: int | None = None) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and int(value) > 0 else default


@bp.get("/catalog")
def catalog():
    dealer = current_user.dealer
    q = request.args.get("q", "").strip()[:100]
    category_id = _int_arg("category")
    page = catalog_svc.browse(
        dealer,
        q=q,
        category_id=category_id,
        page=_int_arg("page", 1),
        per_page=current_app.config["CATALOG_PAGE_SIZE"],
        with_total=False,
    )
    context = {"page": page, "q": q, "category_id": category_id}
    if request.htmx and request.htmx.target != "main":
        # Infinite scroll or search-as-you-type: just the cards (and the next sentinel).
        return render_template("dealer/_cards.html", **context)
    return render_template(
        "dealer/catalog.html", categories=catalog_svc.categories(dealer), **context
    )


@bp.get("/catalog/<sku>")
def product_page(sku: str):
    item = catalog_svc.item(current_user.dealer, sku)
    return render_template(
        "dealer/product.html", item=item, tier=current_user.dealer.tier, key=new_key(), error=None
    )


@bp.get("/stock-badges")
def stock_refresh():
    """Badges for the SKUs on screen; 304 when nothing changed since the client's ETag."""
    skus = [s for s in request.args.get("skus", "").split(",") if s][:100]
    snapshot = catalog_svc.stock_snapshot(current_user.dealer, skus)
    locale = str(get_locale())
    raw = json.dumps(snapshot, separators=(",", ":")) + locale
    etag = hashlib.blake2b(raw.encode(), digest_size=12).hexdigest()
    if etag in request.if_none_match:
        response = current_app.response_class(status=304)
    else:
        for row in snapshot:
            row["label"] = stock_label(row["status"])
        response = jsonify({"items": snapshot})
    response.set_etag(etag)
    response.headers["Cache-Control"] = "private, no-cache"
    response.vary.add("Cookie")
    return response
