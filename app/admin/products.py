"""HQ product pages: the list (search, filters, pages), create and edit, on/off sale in one
tap, the product image, and the price page (tier and dealer tables, "why this price").

Plain forms over the services the API uses (app/services/products.py, images.py): a POST
redirects with a flash; a refusal re-renders the form with the reason next to the field and
nothing has changed. Reading is for admin and order desk; every write, and the price page,
for admins only (the blueprint's guard reads `requires`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from flask import (
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from marshmallow import ValidationError

from app.admin import bp, requires
from app.api.schemas import ProductCreateSchema, ProductUpdateSchema
from app.errors import DomainError
from app.extensions import db
from app.money import MoneyError, format_fen, parse_fen
from app.services import images, permissions, products
from app.services.pricing import SOURCE_DEALER, SOURCE_LIST, SOURCE_TIER
from app.web.helpers import explain_error

PAGE_SIZE = 50
EXTRA_ROWS = 2  # blank rows under each price table, to add breaks
NEW_TABLE_ROWS = 3
MAX_ROWS = 50
IMAGE_CACHE = "private, max-age=31536000, immutable"

FIELD_MESSAGES = {
    "sku": _l("Use 1–64 letters, digits, “_”, “.” or “-” for the SKU, without spaces."),
    "name": _l("Give the product a name (at most 200 characters)."),
    "unit": _l("Give the selling unit, such as 箱 (at most 16 characters)."),
    "spec": _l("The specification takes at most 200 characters."),
    "list_price": _l("Enter the list price in yuan, such as 48 or 12.50."),
    "category": _l("The category name takes at most 64 characters."),
    "min_order_qty": _l("Enter a whole number, at least 1."),
    "order_multiple": _l("Enter a whole number, at least 1."),
    "low_stock_threshold": _l("Enter a whole number, 0 or more."),
    "visible_tiers": _l("Choose tiers from the list."),
    "active": _l("Choose whether the product is on sale."),
}
IMAGE_MESSAGES = {
    "image_too_large": _l("The image is larger than 5 MB. Please choose a smaller photo."),
    "image_too_many_pixels": _l("The image has too many pixels (at most 50 million)."),
    "image_type": _l("Only JPEG, PNG or WebP images can be uploaded."),
    "image_unreadable": _l("The image file is damaged or incomplete. Please choose another."),
    "image_missing": _l("Choose an image file first."),
}
TABLE_MESSAGES = {
    "A price table must start at min_qty 1.": _l(
        "A table must start at quantity 1: give the price from 1 first."
    ),
    "Each min_qty may appear only once.": _l("Each quantity may appear only once."),
    "min_qty must be at least 1.": _l("Quantities start at 1."),
    "Prices must not be negative.": _l("Prices must not be negative."),
    "Unknown code.": _l("No dealer has this code."),
}
ACTIVE_FILTERS = {"": _l("All"), "1": _l("On sale"), "0": _l("Off sale")}


@bp.app_template_global()
def product_image_url(digest: str | None, variant: str = images.THUMB) -> str | None:
    """Where a product's picture is served (None without one): the digest is in the URL, so
    it changes with the image and can be cached for ever."""
    if not digest:
        return None
    return url_for("product_image", digest=digest, variant=variant)


@bp.app_template_global()
def price_source_name(source: str, tier_code: str = "", dealer_code: str = "") -> str:
    """Which table a price came from, in HQ's words."""
    if source == SOURCE_DEALER:
        return _("%(dealer)s's own table", dealer=dealer_code)
    if source == SOURCE_TIER:
        return _("Tier table %(tier)s", tier=tier_code)
    return _("List price (no table for this dealer or its tier)")


@bp.app_template_global()
def product_filter_labels() -> dict:
    return {key: str(label) for key, label in ACTIVE_FILTERS.items()}


# --- reading what was typed --------------------------------------------------------------


def _typed(text: str | None) -> str:
    """What a person typed, with full-width digits and signs (IME input) made plain."""
    return unicodedata.normalize("NFKC", text or "").strip()


def _int_text(raw: str):
    text = _typed(raw)
    return int(text) if re.fullmatch(r"[0-9]{1,10}", text) else text


def _money_text(raw: str) -> str:
    return _typed(raw).replace("¥", "").replace(",", "").replace(" ", "")


def _money(raw: str) -> int | None:
    try:
        return parse_fen(_money_text(raw))
    except MoneyError:
        return None


def _page_number() -> int:
    raw = request.args.get("page", "")
    return max(int(raw), 1) if re.fullmatch(r"[0-9]{1,5}", raw) else 1


def _local_next(default: str) -> str:
    """Where to go back to after a one-tap action: a path of this area only."""
    target = request.form.get("next", "")
    return target if re.fullmatch(r"/admin/[^\s\\]*", target) and "//" not in target else default


# --- the list ------------------------------------------------------------------------------


def _list_filters() -> dict:
    active = request.args.get("active", "")
    return {
        "q": request.args.get("q", "").strip()[:100],
        "category": request.args.get("category", "").strip()[:64],
        "active": active if active in ACTIVE_FILTERS else "",
        "low": request.args.get("low") == "1",
    }


@bp.get("/products")
@requires(permissions.READ_PRODUCTS)
def products_list():
    filters = _list_filters()
    page = _page_number()
    active = {"1": True, "0": False}.get(filters["active"])
    rows, total = products.hq_products(
        q=filters["q"],
        category=filters["category"] or None,
        active=active,
        low_stock=filters["low"],
        page=page,
        per_page=PAGE_SIZE,
    )
    return render_template(
        "admin/products/list.html",
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        filters=filters,
        categories=products.categories(),
        here=request.full_path.rstrip("?"),
    )


# --- create and edit -----------------------------------------------------------------------

TEXT_FIELDS = ("sku", "name", "unit", "spec", "list_price", "category")
NUMBER_FIELDS = ("min_order_qty", "order_multiple", "low_stock_threshold")


def _values_of(product) -> dict:
    """The edit form filled in from a stored product."""
    return {
        "sku": product.sku,
        "name": product.name,
        "unit": product.unit,
        "spec": product.spec or "",
        "list_price": format_fen(product.list_price),
        "category": product.category_name or "",
        "min_order_qty": str(product.min_order_qty),
        "order_multiple": str(product.order_multiple),
        "low_stock_threshold": str(product.low_stock_threshold),
        "active": product.active,
        "visible_tiers": sorted(t.code for t in product.limited_to),
    }


NEW_VALUES = {
    **dict.fromkeys(TEXT_FIELDS, ""),
    "min_order_qty": "1",
    "order_multiple": "1",
    "low_stock_threshold": "10",
    "active": True,
    "visible_tiers": [],
}


def _submitted() -> tuple[dict, dict]:
    """(the form as typed, for showing it again; the body the API's schema checks)."""
    form = request.form
    values = {name: form.get(name, "") for name in TEXT_FIELDS + NUMBER_FIELDS}
    values["active"] = form.get("active") == "1"
    values["visible_tiers"] = form.getlist("visible_tiers")
    body = {name: values[name] for name in ("name", "unit", "spec")}
    body["list_price"] = _money_text(values["list_price"])
    body["category"] = values["category"].strip() or None
    body.update({name: _int_text(values[name]) for name in NUMBER_FIELDS})
    body["active"] = values["active"]
    body["visible_tiers"] = values["visible_tiers"]
    return values, body


def _field_errors(messages: dict) -> dict[str, str]:
    generic = _("Please check this field.")
    return {name: str(FIELD_MESSAGES.get(name, generic)) for name in messages}


def _service_errors(err: DomainError) -> dict[str, str]:
    db.session.rollback()
    if err.code == "duplicate_sku":
        return {"sku": _("This SKU is already taken; nothing was saved.")}
    if err.errors and "tier" in err.errors:
        return {"visible_tiers": str(FIELD_MESSAGES["visible_tiers"])}
    return {"": explain_error(err)}


def _checked(schema, body: dict) -> tuple[dict | None, dict]:
    try:
        return schema.load(body), {}
    except ValidationError as err:
        return None, _field_errors(err.messages)


@bp.get("/products/new")
def product_new():
    return _form_page(NEW_VALUES, {}, creating=True)


@bp.post("/products/new")
def product_create():
    values, body = _submitted()
    body["sku"] = values["sku"].strip()
    data, errors = _checked(ProductCreateSchema(), body)
    if errors:
        return _form_page(values, errors, creating=True, status=422)
    try:
        product = products.create_product(data, by=current_user)
    except DomainError as err:
        return _form_page(values, _service_errors(err), creating=True, status=err.status)
    flash(_("Created %(sku)s. Set its stock and prices next.", sku=product.sku))
    return redirect(url_for("admin.product_detail", sku=product.sku))


def _form_page(values: dict, errors: dict, *, creating: bool, status: int = 200):
    page = render_template(
        "admin/products/new.html",
        values=values,
        errors=errors,
        tiers=products.tiers(),
        categories=products.categories(),
    )
    return page, status


def _detail_page(sku: str, *, values=None, errors=None, status: int = 200):
    item = products.hq_product(sku)
    page = render_template(
        "admin/products/detail.html",
        item=item,
        p=item.product,
        values=values or _values_of(item.product),
        errors=errors or {},
        tiers=products.tiers(),
        categories=products.categories(),
        image=images.image_info(item.product.id) if item.image else None,
    )
    return page, status


@bp.get("/products/<sku>")
@requires(permissions.READ_PRODUCTS)
def product_detail(sku: str):
    return _detail_page(sku)


@bp.post("/products/<sku>")
def product_update(sku: str):
    products.product_by_sku(sku)  # an unknown SKU is a 404, not a form to fix
    values, body = _submitted()
    values["sku"] = sku
    data, errors = _checked(ProductUpdateSchema(), body)
    if errors:
        return _detail_page(sku, values=values, errors=errors, status=422)
    try:
        products.update_product(sku, data, by=current_user)
    except DomainError as err:
        if err.status == 404:
            raise
        return _detail_page(sku, values=values, errors=_service_errors(err), status=err.status)
    flash(_("Saved %(sku)s.", sku=sku))
    return redirect(url_for("admin.product_detail", sku=sku))


@bp.post("/products/<sku>/active")
def product_set_active(sku: str):
    active = request.form.get("active") == "1"
    product = products.set_active(sku, active, by=current_user)
    if active:
        flash(_("%(sku)s is on sale again: dealers of its tiers see it.", sku=product.sku))
    else:
        flash(_("%(sku)s is off sale: no dealer sees it now.", sku=product.sku))
    return redirect(_local_next(url_for("admin.product_detail", sku=sku)))


# --- the image -----------------------------------------------------------------------------


@bp.post("/products/<sku>/image")
def product_image_upload(sku: str):
    products.product_by_sku(sku)
    upload = request.files.get("image")
    content = upload.stream.read(images.MAX_BYTES + 1) if upload else b""
    try:
        images.set_image(sku, content, by=current_user)
    except DomainError as err:
        if err.status == 404:
            raise
        db.session.rollback()
        message = IMAGE_MESSAGES.get(err.code)
        errors = {"image": str(message) if message else explain_error(err)}
        return _detail_page(sku, errors=errors, status=err.status)
    flash(_("The new image of %(sku)s is on dealers' cards now.", sku=sku))
    return redirect(url_for("admin.product_detail", sku=sku) + "#image")


@bp.post("/products/<sku>/image/delete")
def product_image_delete(sku: str):
    if images.remove_image(sku, by=current_user):
        flash(_("Image removed: cards show the category initial again."))
    return redirect(url_for("admin.product_detail", sku=sku) + "#image")


@login_required
def product_image(digest: str, variant: str):
    """A product picture for the signed-in user who may see the product (HQ, or a dealer
    whose catalog holds it); the same URL never changes its bytes."""
    data = images.fetch(current_user, digest, variant)
    if data is None:
        abort(404)
    response = make_response(data)
    response.mimetype = images.MIMETYPE
    # Private: the answer depends on who asks (login, tier), so only the browser keeps it.
    response.headers["Cache-Control"] = IMAGE_CACHE
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.set_etag(f"{digest}-{variant}")
    return response.make_conditional(request)


# Served outside /admin: dealers' catalog cards show these pictures too.
bp.record_once(
    lambda state: state.app.add_url_rule(
        "/media/products/<digest>/<variant>.jpg", "product_image", product_image
    )
)


# --- prices --------------------------------------------------------------------------------


@dataclass
class PriceRowForm:
    qty: str
    price: str
    fixed: bool = False  # the first row: always from quantity 1


@dataclass
class TableForm:
    """One price table on the page: whose it is, its rows as typed, what is wrong with it."""

    index: int
    kind: str  # "tier" or "dealer"
    code: str
    label: str
    rows: list[PriceRowForm]
    errors: list[str] = field(default_factory=list)
    is_new: bool = False

    @property
    def scope(self) -> str:
        return f"{self.kind}:{self.code}" if self.code else ""


def _stored_tables(product) -> list[TableForm]:
    stored = products.price_tables(product)
    dealers = {d.code: d for d in products.all_dealers()}
    tables = []
    for tier in products.tiers():
        rows = stored["tiers"].get(tier.code, [])
        tables.append(_table("tier", tier.code, tier.name, rows, len(tables)))
    for code, rows in stored["dealers"].items():
        name = dealers[code].name if code in dealers else code
        tables.append(_table("dealer", code, name, rows, len(tables)))
    new = _table("dealer", "", "", [], len(tables), blank=NEW_TABLE_ROWS)
    new.is_new = True
    tables.append(new)
    return tables


def _table(kind, code, label, rows, index, blank=EXTRA_ROWS) -> TableForm:
    typed = [PriceRowForm(str(r["min_qty"]), format_fen(r["price"])) for r in rows]
    typed += [PriceRowForm("", "") for _ in range(blank)]
    if not rows:
        typed[0] = PriceRowForm("1", "")
    typed[0].fixed = typed[0].qty == "1"
    return TableForm(index, kind, code, label, typed)


def _posted_tables() -> list[TableForm]:
    """The tables as the form sent them (rows as typed; removed ones left out)."""
    form = request.form
    count = min(_int_or(form.get("tables"), 0), 500)
    tables = []
    for i in range(count):
        kind, _sep, code = form.get(f"scope_{i}", "").partition(":")
        if form.get(f"new_{i}") == "1":
            kind, code = "dealer", _typed(form.get("new_dealer", ""))
        if kind not in ("tier", "dealer") or form.get(f"drop_{i}") == "1":
            continue
        rows = []
        for j in range(min(_int_or(form.get(f"rows_{i}"), 0), MAX_ROWS)):
            if form.get(f"del_{i}_{j}") == "1":
                continue
            row = PriceRowForm(form.get(f"q_{i}_{j}", ""), form.get(f"p_{i}_{j}", ""))
            row.fixed = j == 0 and form.get(f"fixed_{i}") == "1"
            rows.append(row)
        table = TableForm(i, kind, code, form.get(f"label_{i}", code), rows)
        table.is_new = form.get(f"new_{i}") == "1"
        tables.append(table)
    return tables


def _int_or(raw, default: int) -> int:
    text = _typed(raw)
    return int(text) if re.fullmatch(r"[0-9]{1,6}", text) else default


def _parsed_rows(table: TableForm) -> list[dict]:
    """The filled-in rows as the service takes them; a bad cell is noted on the table."""
    parsed = []
    for row in table.rows:
        qty_text, price_text = _typed(row.qty), _typed(row.price)
        if not price_text and (not qty_text or row.fixed):
            continue  # a blank row (a fixed first row without a price is blank too)
        qty = int(qty_text) if re.fullmatch(r"[0-9]{1,9}", qty_text) else None
        price = _money(price_text)
        if qty is None or qty < 1:
            table.errors.append(_("Quantities are whole numbers from 1 (row “%(q)s”).", q=row.qty))
        elif price is None:
            table.errors.append(
                _("Enter prices in yuan, such as 85 or 85.50 (row from %(q)s).", q=qty)
            )
        else:
            parsed.append({"min_qty": qty, "price": price})
    return parsed


def _bodies(tables: list[TableForm]) -> tuple[dict, dict]:
    """(tiers, dealers) for products.replace_prices; errors are noted on the tables."""
    tiers, dealers = {}, {}
    for table in tables:
        rows = _parsed_rows(table)
        target = tiers if table.kind == "tier" else dealers
        if not rows:
            continue  # no rows: no table (the dealer falls back to the tier or list price)
        if table.is_new and not table.code:
            table.errors.append(_("Enter the code of the dealer this table is for."))
        elif table.code in target:
            table.errors.append(_("This dealer already has a table above; edit that one."))
        else:
            target[table.code] = rows
    return tiers, dealers


def _mark_service_errors(tables: list[TableForm], err: DomainError) -> None:
    for path, messages in (err.errors or {}).items():
        kind, _sep, code = path.partition(".")
        for table in tables:
            if f"{table.kind}s" == kind and table.code == code:
                table.errors += [str(TABLE_MESSAGES.get(m, m)) for m in messages]
                break


def _prices_page(sku: str, tables: list[TableForm] | None = None, status: int = 200, error=""):
    item = products.hq_product(sku)
    tables = tables if tables is not None else _stored_tables(item.product)
    why, why_error = _why(item.product)
    page = render_template(
        "admin/products/prices.html",
        item=item,
        p=item.product,
        tables=tables,
        dealers=products.all_dealers(),
        why=why,
        why_error=why_error,
        why_dealer=request.args.get("dealer", ""),
        why_qty=request.args.get("qty", ""),
        error=error,
        sources={"dealer": SOURCE_DEALER, "tier": SOURCE_TIER, "list": SOURCE_LIST},
    )
    return page, status


def _why(product):
    """The “why this price” answer for ?dealer=&qty=, or (None, a message)."""
    code, qty_text = _typed(request.args.get("dealer")), _typed(request.args.get("qty"))
    if not code and not qty_text:
        return None, ""
    qty = int(qty_text) if re.fullmatch(r"[0-9]{1,7}", qty_text or "") else 0
    if qty < 1:
        return None, _("Enter a quantity of at least 1.")
    try:
        return products.explain_price(product.sku, code, qty), ""
    except DomainError as err:
        db.session.rollback()
        return None, explain_error(err)


@bp.get("/products/<sku>/prices")
def product_prices(sku: str):
    return _prices_page(sku)


@bp.post("/products/<sku>/prices")
def product_prices_save(sku: str):
    products.product_by_sku(sku)
    tables = _posted_tables()
    tiers, dealers = _bodies(tables)
    if any(t.errors for t in tables):
        return _prices_page(sku, _refilled(tables), 422, _("Nothing was saved yet."))
    try:
        products.replace_prices(sku, tiers, dealers, by=current_user)
    except DomainError as err:
        if err.status == 404:
            raise
        db.session.rollback()
        _mark_service_errors(tables, err)
        if not any(t.errors for t in tables):
            return _prices_page(sku, _refilled(tables), err.status, explain_error(err))
        return _prices_page(sku, _refilled(tables), err.status, _("Nothing was saved yet."))
    flash(_("Prices of %(sku)s saved; dealers see them now.", sku=sku))
    return redirect(url_for("admin.product_prices", sku=sku))


def _refilled(tables: list[TableForm]) -> list[TableForm]:
    """The typed tables shown again, each with its blank rows, and the new-table slot."""
    for table in tables:
        table.rows += [PriceRowForm("", "") for _ in range(EXTRA_ROWS)]
        table.index = tables.index(table)
    if not any(t.is_new for t in tables):
        new = _table("dealer", "", "", [], len(tables), blank=NEW_TABLE_ROWS)
        new.is_new = True
        tables.append(new)
    return tables
