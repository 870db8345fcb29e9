"""Small builders for test data, going through the services like real callers do."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta

from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    LedgerEntry,
    Order,
    OrderEvent,
    OrderLine,
    Product,
    StockLevel,
    WalletAccount,
)
from app.services import accounts, products, wallet

_seq = itertools.count(1)
PASSWORD = "secret-pass-1"


def tier(code: str = "GOLD", name: str = "金牌"):
    return accounts.create_tier(code, name)


def dealer(code: str | None = None, tier_code: str = "GOLD", credit_limit: int = 0, **kw):
    code = code or f"D{next(_seq):03d}"
    return accounts.create_dealer(code, kw.get("name", f"经销商{code}"), tier_code, credit_limit)


def dealer_user(dealer_code: str, username: str | None = None, password: str = PASSWORD):
    username = username or f"user{next(_seq)}"
    return accounts.create_dealer_user(dealer_code, username, password)


def admin(username: str = "hq", password: str = PASSWORD):
    return accounts.create_admin(username, password)[0]


def product(sku: str | None = None, **fields):
    data = {
        "sku": sku or f"SKU-{next(_seq):04d}",
        "name": fields.pop("name", "测试商品"),
        "unit": fields.pop("unit", "箱"),
        "list_price": fields.pop("list_price", 10000),
        "category": fields.pop("category", "饮料"),
    }
    data.update(fields)
    on_hand = data.pop("on_hand", None)
    created = products.create_product(data)
    if on_hand is not None:
        products.set_on_hand(created.sku, on_hand)
    return created


def token_for(client, username: str, password: str = PASSWORD) -> dict[str, str]:
    """Authorization headers for a fresh bearer token."""
    response = client.post("/api/v1/auth/tokens", json={"username": username, "password": password})
    assert response.status_code == 201, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def csrf_from(html: bytes | str) -> str:
    text = html.decode() if isinstance(html, bytes) else html
    return re.search(r'name="csrf_token" value="([^"]+)"', text).group(1)


def web_login(client, username: str, password: str = PASSWORD):
    """Log in through the real form (CSRF token included); returns the response."""
    token = csrf_from(client.get("/login").data)
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )


# --- ordering helpers ---------------------------------------------------------


def api_headers(user) -> dict[str, str]:
    """Bearer headers issued straight from the service (no login rate limit in bulk set-ups)."""
    token, _ = accounts.issue_token(user, timedelta(days=1))
    return {"Authorization": f"Bearer {token}"}


def deposit(dealer_code: str, amount: int, reference: str | None = None):
    """Credit a dealer's funds account (amount in fen) as HQ finance would."""
    reference = reference or f"BANK-{next(_seq):06d}"
    return wallet.record_deposit(dealer_code, amount, reference, None)[0]


def prices(sku: str, tiers: dict | None = None, dealers: dict | None = None):
    """Replace a SKU's price tables; tables are [(min_qty, price_fen), …]."""

    def rows(table):
        return [{"min_qty": q, "price": p} for q, p in table]

    return products.replace_prices(
        sku,
        {code: rows(t) for code, t in (tiers or {}).items()},
        {code: rows(t) for code, t in (dealers or {}).items()},
    )


def stock_of(sku: str) -> tuple[int, int]:
    """(on_hand, reserved) as stored now."""
    db.session.rollback()
    row = db.session.execute(
        select(StockLevel.on_hand, StockLevel.reserved)
        .join(Product, Product.id == StockLevel.product_id)
        .where(Product.sku == sku)
    ).one()
    return row.on_hand, row.reserved


def footprint() -> dict:
    """Everything an order touches: rows, reservations, ledger and balances."""
    db.session.rollback()

    def count(model):
        return db.session.scalar(select(func.count()).select_from(model))

    return {
        "orders": count(Order),
        "lines": count(OrderLine),
        "events": count(OrderEvent),
        "ledger": count(LedgerEntry),
        "stock": sorted(
            tuple(row)
            for row in db.session.execute(
                select(Product.sku, StockLevel.on_hand, StockLevel.reserved).join(
                    Product, Product.id == StockLevel.product_id
                )
            )
        ),
        "balances": sorted(
            tuple(row)
            for row in db.session.execute(
                select(WalletAccount.dealer_id, WalletAccount.account, WalletAccount.balance)
            )
        ),
    }


def assert_ledger_consistent() -> None:
    """For every dealer and account, the balance is the sum of the ledger's entries."""
    db.session.rollback()
    entries = (
        select(LedgerEntry.dealer_id, LedgerEntry.account, func.sum(LedgerEntry.amount).label("s"))
        .group_by(LedgerEntry.dealer_id, LedgerEntry.account)
        .subquery()
    )
    rows = db.session.execute(
        select(
            WalletAccount.dealer_id, WalletAccount.account, WalletAccount.balance, entries.c.s
        ).outerjoin(
            entries,
            (entries.c.dealer_id == WalletAccount.dealer_id)
            & (entries.c.account == WalletAccount.account),
        )
    ).all()
    wrong = [row for row in rows if row.balance != (row.s or 0)]
    assert not wrong, f"balances that are not the sum of their entries: {wrong}"
    accounts = {(row.dealer_id, row.account) for row in rows}
    stray = db.session.execute(select(entries.c.dealer_id, entries.c.account)).all()
    assert all(tuple(row) in accounts for row in stray), "ledger entries without an account"


def user_named(username: str):
    """The user with this username (for calling services as them)."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import User

    return db.session.scalar(select(User).where(User.username == username))
