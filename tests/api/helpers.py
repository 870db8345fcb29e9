"""Assertions and database peeks shared by the API tests."""

from __future__ import annotations

import re

from sqlalchemy import select, update

from app.extensions import db
from app.models import Product, StockLevel

PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}
HTTP_METHODS = {"get", "put", "post", "delete", "patch"}


def assert_problem(response, status: int, code: str | None = None, fields=()) -> dict:
    """An RFC 9457 problem+json answer with this status (and code, and error fields)."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/problem+json", response.content_type
    body = response.get_json()
    assert isinstance(body, dict)
    assert body.keys() >= PROBLEM_KEYS, body
    assert body["status"] == status
    for key in ("type", "title", "detail", "code"):
        assert isinstance(body[key], str) and body[key], (key, body)
    if code is not None:
        assert body["code"] == code, body
    if "errors" in body:
        assert isinstance(body["errors"], dict)
        for path, messages in body["errors"].items():
            assert isinstance(path, str)
            assert messages and all(isinstance(m, str) and m for m in messages), body["errors"]
    for path in fields:
        assert path in body.get("errors", {}), (path, body.get("errors"))
    return body


def db_state() -> dict[str, list[tuple]]:
    """Every row of every table, read through a connection of its own."""
    state = {}
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            rows = [tuple(row) for row in conn.execute(select(table))]
            state[table.name] = sorted(rows, key=repr)
    return state


def reserve(sku: str, qty: int) -> None:
    """Pretend orders hold qty of the SKU (writes stock_levels.reserved directly)."""
    product_id = db.session.scalar(select(Product.id).where(Product.sku == sku))
    db.session.execute(
        update(StockLevel).where(StockLevel.product_id == product_id).values(reserved=qty)
    )
    db.session.commit()


def stock_row(sku: str) -> tuple[int, int]:
    """(on_hand, reserved) as stored."""
    with db.engine.connect() as conn:
        row = conn.execute(
            select(StockLevel.on_hand, StockLevel.reserved)
            .join(Product, Product.id == StockLevel.product_id)
            .where(Product.sku == sku)
        ).one()
    return tuple(row)


def product_column(sku: str, column: str):
    """One stored column of a product, read through a connection of its own."""
    with db.engine.connect() as conn:
        return conn.execute(select(getattr(Product, column)).where(Product.sku == sku)).scalar_one()


def concrete(rule: str, value: str = "X1") -> str:
    """A Werkzeug rule with every <arg> filled in."""
    return re.sub(r"<[^<>]+>", value, rule)


def api_routes(app, *, role: str | None = None, prefix: str | None = None):
    """(method, rule) pairs of /api/v1 routes with this documented role or path prefix."""
    found = set()
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api."):
            continue
        view = app.view_functions[rule.endpoint]
        meta = getattr(view, "api_doc", None) or {}
        if (role and meta.get("role") == role) or (prefix and rule.rule.startswith(prefix)):
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                found.add((method, rule.rule))
    return sorted(found)


def call(client, method: str, url: str, headers: dict, body=None):
    """One request; a JSON body for anything but GET and DELETE."""
    kwargs = {"headers": headers}
    if method not in ("GET", "DELETE"):
        kwargs["json"] = {} if body is None else body
    return client.open(url, method=method, **kwargs)
