"""The stock movement log: every change of a product's on-hand count, who made it and why.

Writers (setting a count by page or API, an import, a shipment) call `record()` inside their
own transaction, after the guarded update of `stock_levels`, so a count and its log entry land
together or not at all. The log is append-only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask import g, has_request_context
from flask_login import current_user
from sqlalchemy import func, insert, select

from app.extensions import db
from app.models import Product, StockMovement, User
from app.models.catalog_admin import IMPORT, MANUAL, MOVEMENT_KINDS, SHIPMENT

__all__ = ["IMPORT", "MANUAL", "MOVEMENT_KINDS", "SHIPMENT", "Movement", "record", "record_many"]

REASON_MAX = 200
REFERENCE_MAX = 64


@dataclass(frozen=True, slots=True)
class Movement:
    """One change to log: on-hand before and after, and its cause."""

    product_id: int
    before: int
    after: int
    kind: str = MANUAL
    reason: str = ""
    reference: str = ""


def _acting_user(by: User | None) -> User | None:
    if by is not None or not has_request_context():
        return by
    user = g.get("api_user")
    if user is None and current_user and current_user.is_authenticated:
        user = current_user._get_current_object()
    return user


def _row(movement: Movement, by: User | None) -> dict:
    if movement.kind not in MOVEMENT_KINDS:
        raise ValueError(f"unknown stock movement kind {movement.kind!r}")
    return {
        "product_id": movement.product_id,
        "kind": movement.kind,
        "before_on_hand": movement.before,
        "after_on_hand": movement.after,
        "reason": (movement.reason or "").strip()[:REASON_MAX],
        "reference": (movement.reference or "")[:REFERENCE_MAX],
        "user_id": by.id if by is not None else None,
        "username": by.username if by is not None else "",
    }


def record(movement: Movement, by: User | None = None) -> None:
    """Add one entry to the caller's transaction (it commits); `by` None means the user of
    the current request, if any. A count that did not change is not logged."""
    if movement.before != movement.after:
        record_many([movement], by)


def record_many(movements: Iterable[Movement], by: User | None = None) -> int:
    """Add many entries in one statement (an import of thousands of rows); returns how many."""
    by = _acting_user(by)
    rows = [_row(m, by) for m in movements if m.before != m.after]
    if rows:
        db.session.execute(insert(StockMovement), rows)
    return len(rows)


def for_product(product_id: int, *, page: int = 1, per_page: int = 20) -> tuple[list, int]:
    """(movements newest first, how many there are) of one product."""
    total = db.session.scalar(
        select(func.count(StockMovement.id)).where(StockMovement.product_id == product_id)
    )
    rows = db.session.scalars(
        select(StockMovement)
        .where(StockMovement.product_id == product_id)
        .order_by(StockMovement.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return list(rows), total or 0


def recent(limit: int = 20) -> list[tuple[StockMovement, str, str]]:
    """The latest movements of every product: (movement, sku, name), newest first."""
    return [
        tuple(row)
        for row in db.session.execute(
            select(StockMovement, Product.sku, Product.name)
            .join(Product, Product.id == StockMovement.product_id)
            .order_by(StockMovement.id.desc())
            .limit(limit)
        )
    ]
