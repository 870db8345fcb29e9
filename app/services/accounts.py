"""Tiers, dealers, users, passwords and API tokens."""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import and_, func, inspect, or_, select, update
from sqlalchemy.orm import Session, contains_eager

from app.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from app.extensions import db
from app.models import (
    ROLE_ADMIN,
    ROLE_DEALER,
    ApiToken,
    Dealer,
    Order,
    OrderLine,
    Product,
    Tier,
    User,
    WalletAccount,
)
from app.models.orders import CANCELLED, REJECTED
from app.models.types import utcnow
from app.models.wallet import ACCOUNTS, FUNDS
from app.services import audit, cache, permissions


@functools.cache
def _hasher_for(time_cost: int, memory_cost: int) -> tuple[PasswordHasher, str]:
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost)
    # Verified against when a username is unknown, so both paths take the same time.
    return hasher, hasher.hash("not-a-real-password")


def _hasher() -> tuple[PasswordHasher, str]:
    config = current_app.config
    return _hasher_for(config["ARGON2_TIME_COST"], config["ARGON2_MEMORY_COST"])


def hash_password(password: str) -> str:
    """An argon2id hash of the password (cost from ARGON2_TIME_COST / ARGON2_MEMORY_COST)."""
    return _hasher()[0].hash(password)


def check_password(user: User | None, password: str) -> bool:
    """True when the password matches; the same work is done when the user is missing."""
    hasher, dummy = _hasher()
    try:
        return hasher.verify(user.password_hash if user else dummy, password) and bool(user)
    except (VerificationError, InvalidHashError):
        return False


def _require_password(password: object) -> str:
    # HQ sets dealers' and admins' passwords; the contract sets no policy, so any non-empty
    # password up to 128 characters is taken (a policy setting can come with the HQ pages).
    if not isinstance(password, str) or not password or len(password) > 128:
        raise Invalid(errors={"password": ["Password must be 1–128 characters."]})
    return password


def authenticate(username: str, password: str) -> User:
    """The user with these credentials; raises Unauthorized, or Forbidden when deactivated."""
    user = db.session.scalar(select(User).where(User.username == (username or "").strip()))
    if not check_password(user, password or ""):
        raise Unauthorized("Wrong username or password.", code="invalid_credentials")
    if not user.is_active:
        raise Forbidden("This account or its dealer is deactivated.", code="account_inactive")
    return user


def tier_by_code(code: str) -> Tier:
    """The tier with this code; raises Invalid (an unknown tier is bad input)."""
    tier = db.session.scalar(select(Tier).where(Tier.code == code))
    if tier is None:
        raise Invalid(f"Unknown tier {code!r}.", errors={"tier": [f"Unknown tier {code!r}."]})
    return tier


def dealer_by_code(code: str) -> Dealer:
    """The dealer with this code; raises NotFound."""
    dealer = db.session.scalar(select(Dealer).where(Dealer.code == code))
    if dealer is None:
        raise NotFound(f"No dealer {code!r}.", subject=("dealer", code))
    return dealer


def create_tier(code: str, name: str) -> Tier:
    """A new tier; raises Conflict on a duplicate code."""
    if db.session.scalar(select(Tier.id).where(Tier.code == code)):
        raise Conflict(f"Tier {code!r} already exists.", code="duplicate_tier")
    tier = Tier(code=code, name=name)
    db.session.add(tier)
    audit.record(None, "tier.create", "tier", code, {}, {"name": name})
    db.session.commit()
    return tier


_DEALER_CHANGES = (
    "name",
    "credit_limit",
    "active",
    "region",
    "address",
    "contact_name",
    "contact_phone",
)
# The delivery note's address block; the columns' lengths.
_CONTACT_LIMITS = {"address": 255, "contact_name": 64, "contact_phone": 32}


def _check_contact(values: dict) -> None:
    too_long = {
        field: [f"At most {limit} characters."]
        for field, limit in _CONTACT_LIMITS.items()
        if len(values.get(field) or "") > limit
    }
    if too_long:
        raise Invalid("The dealer's contact is too long.", errors=too_long)


def create_dealer(
    code: str,
    name: str,
    tier: str,
    credit_limit: int = 0,
    region: str = "",
    *,
    address: str = "",
    contact_name: str = "",
    contact_phone: str = "",
) -> Dealer:
    """A new active dealer (address and contact print on delivery notes); raises Conflict
    on a duplicate code, Invalid on an unknown tier or an over-long contact."""
    if db.session.scalar(select(Dealer.id).where(Dealer.code == code)):
        raise Conflict(f"Dealer {code!r} already exists.", code="duplicate_dealer")
    contact = {"address": address, "contact_name": contact_name, "contact_phone": contact_phone}
    _check_contact(contact)
    dealer = Dealer(
        code=code,
        name=name,
        tier=tier_by_code(tier),
        credit_limit=credit_limit,
        region=region,
        **contact,
    )
    db.session.add(dealer)
    db.session.flush()
    db.session.add_all(WalletAccount(dealer_id=dealer.id, account=a, balance=0) for a in ACCOUNTS)
    audit.record(None, "dealer.create", "dealer", code, {}, _dealer_fields(dealer))
    db.session.commit()
    return dealer


def _dealer_fields(dealer: Dealer) -> dict:
    fields = {field: getattr(dealer, field) for field in _DEALER_CHANGES}
    return {**fields, "tier": dealer.tier.code if dealer.tier else None}


def update_dealer(code: str, changes: dict) -> Dealer:
    """Apply name/tier/credit_limit/active/region/address/contact changes; raises NotFound
    or Invalid."""
    dealer = dealer_by_code(code)
    _check_contact(changes)
    before = _dealer_fields(dealer)
    if "tier" in changes:
        dealer.tier = tier_by_code(changes.pop("tier"))
    for field in _DEALER_CHANGES:
        if field in changes:
            setattr(dealer, field, changes[field])
    old, new = audit.changes(before, _dealer_fields(dealer))
    if new:
        audit.record(None, "dealer.update", "dealer", code, old, new)
    db.session.commit()
    return dealer


def create_dealer_user(dealer_code: str, username: str, password: str, name: str = "") -> User:
    """A login for the dealer; raises NotFound, Conflict on a taken username, Invalid."""
    dealer = dealer_by_code(dealer_code)
    _require_password(password)
    if db.session.scalar(select(User.id).where(User.username == username)):
        raise Conflict(f"Username {username!r} is taken.", code="duplicate_username")
    user = User(
        username=username,
        password_hash=hash_password(password),
        name=name or username,
        role=ROLE_DEALER,
        dealer=dealer,
    )
    db.session.add(user)
    audit.record(
        None, "dealer_user.create", "user", username, {}, {"dealer": dealer_code, "name": user.name}
    )
    db.session.commit()
    return user


def create_admin(username: str, password: str) -> tuple[User, bool]:
    """An HQ admin with this password (an existing admin gets the new password)."""
    _require_password(password)
    user = db.session.scalar(select(User).where(User.username == username))
    created = user is None
    if created:
        user = User(username=username, name=username, role=ROLE_ADMIN, password_hash="")
        db.session.add(user)
    elif not user.is_admin:
        raise Conflict(f"{username!r} is a dealer user, not an admin.", code="duplicate_username")
    user.password_hash = hash_password(password)
    user.session_version = (user.session_version or 0) + (0 if created else 1)
    db.session.commit()
    return user, created


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User, ttl: timedelta) -> tuple[str, datetime]:
    """A new random bearer token; only its SHA-256 is stored."""
    token = secrets.token_urlsafe(32)
    expires_at = utcnow() + ttl
    db.session.add(ApiToken(user=user, token_hash=_digest(token), expires_at=expires_at))
    db.session.commit()
    return token, expires_at


def _kept(key: tuple, stmt):
    """A row read in a session of its own and kept per process (OFF: caches are off)."""

    def load():
        with Session(db.engine) as own:
            return own.scalar(stmt())  # closed: detached, every joined attribute loaded

    return cache.channel().lookup(cache.AUTH, key, load)


def _attach(kept):
    """This request's copy of a kept row (the one already in its session, if any)."""
    present = db.session.identity_map.get(inspect(kept).key)
    return present if present is not None else db.session.merge(kept, load=False)


def user_for_token(token: str) -> tuple[User, ApiToken]:
    """The user behind a live token; raises Unauthorized or Forbidden (deactivated).

    The token row and its user are kept per process (services.cache, topic auth: any write
    to tokens, users, dealers or tiers drops them everywhere); this request gets its own copy.
    """
    digest = _digest(token)
    stmt = lambda: select(ApiToken).where(ApiToken.token_hash == digest)  # noqa: E731
    row = _kept(("token", digest), stmt)
    if row is cache.OFF:
        row = db.session.scalar(stmt())
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        raise Unauthorized("The token is missing, expired or revoked.", code="invalid_token")
    if not row.user.is_active:
        raise Forbidden("This account or its dealer is deactivated.", code="account_inactive")
    row = _attach(row)
    return row.user, row


def revoke_token(token_row: ApiToken) -> None:
    """Revoke one token (idempotent)."""
    if token_row.revoked_at is None:
        token_row.revoked_at = utcnow()
    db.session.commit()


def load_session_user(session_id: str) -> User | None:
    """The user for a Flask-Login id "<id>:<version>", or None when stale or deactivated
    (kept per process like tokens, see user_for_token)."""
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = _kept(("user", int(user_id)), lambda: select(User).where(User.id == int(user_id)))
    if user is cache.OFF:
        user = db.session.get(User, int(user_id))
    if user is None or user.session_version != int(version) or not user.is_active:
        return None
    return _attach(user)


# --- HQ's dealer desk: the list, one dealer's page, its users' access ----------------------

PURCHASE_DAYS = 90
# Made-up passwords avoid look-alike characters (0/o, 1/l/i): HQ reads them out on the phone.
_PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


@dataclass(frozen=True, slots=True)
class DealerRow:
    """A dealer on HQ's list with its funds, users and last order, all read in one statement."""

    dealer: Dealer
    funds_balance: int  # fen
    user_count: int
    last_order_at: datetime | None

    @property
    def available(self) -> int:
        """What the dealer can spend now: funds plus credit (as wallet.summary counts it)."""
        return self.funds_balance + self.dealer.credit_limit


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _dealer_conditions(q: str, tier: str | None, active: bool | None) -> list:
    conditions = []
    if q.strip():
        pattern = "%" + _escape_like(q.strip()) + "%"
        columns = (
            Dealer.code,
            Dealer.name,
            Dealer.region,
            Dealer.contact_name,
            Dealer.contact_phone,
        )
        conditions.append(or_(*(c.ilike(pattern, escape="\\") for c in columns)))
    if tier:
        conditions.append(Tier.code == tier)
    if active is not None:
        conditions.append(Dealer.active.is_(active))
    return conditions


def hq_dealers(
    q: str = "",
    tier: str | None = None,
    active: bool | None = None,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[DealerRow], int]:
    """Dealers by code whose code, name, region or contact contains q, of a tier and active
    or not (None: both), with their funds, users and last order; returns (rows, total).

    One statement for the page: the funds row is joined, the user count and the last order
    are subqueries the dealer's indexes answer (users.dealer_id, orders(dealer_id, created_at)).
    """
    conditions = _dealer_conditions(q, tier, active)
    last_order = (
        select(func.max(Order.created_at)).where(Order.dealer_id == Dealer.id).scalar_subquery()
    )
    users = select(func.count(User.id)).where(User.dealer_id == Dealer.id).scalar_subquery()
    funds = and_(WalletAccount.dealer_id == Dealer.id, WalletAccount.account == FUNDS)
    rows = db.session.execute(
        select(Dealer, func.coalesce(WalletAccount.balance, 0), users, last_order)
        .join(Tier, Tier.id == Dealer.tier_id)
        .outerjoin(WalletAccount, funds)
        .options(contains_eager(Dealer.tier))
        .where(*conditions)
        .order_by(Dealer.code)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    total = db.session.scalar(
        select(func.count(Dealer.id)).join(Tier, Tier.id == Dealer.tier_id).where(*conditions)
    )
    found = [DealerRow(dealer, int(balance), int(n), at) for dealer, balance, n, at in rows]
    return found, int(total)


def tiers() -> list[Tier]:
    """Every tier, in the order they were made (the brand's own order: GOLD, SILVER, …)."""
    return list(db.session.scalars(select(Tier).order_by(Tier.id)))


def regions() -> list[str]:
    """The regions dealers are in, alphabetically (suggestions for the dealer form)."""
    rows = db.session.scalars(
        select(Dealer.region).where(Dealer.region != "").distinct().order_by(Dealer.region)
    )
    return list(rows)


def dealer_users(dealer_ids: list[int]) -> dict[int, list[User]]:
    """The logins of each of these dealers by username, in one query ({} for none)."""
    found: dict[int, list[User]] = {dealer_id: [] for dealer_id in dealer_ids}
    if dealer_ids:
        rows = db.session.scalars(
            select(User).where(User.dealer_id.in_(dealer_ids)).order_by(User.username)
        )
        for user in rows:
            found[user.dealer_id].append(user)
    return found


def last_order_at(dealer: Dealer) -> datetime | None:
    """When the dealer last placed an order (None: never)."""
    return db.session.scalar(select(func.max(Order.created_at)).where(Order.dealer_id == dealer.id))


@dataclass(frozen=True, slots=True)
class ProductPurchase:
    sku: str
    name: str
    unit: str
    qty: int
    amount: int  # fen, goods amount before rebate


@dataclass(frozen=True, slots=True)
class Purchases:
    """What a dealer bought since `since` (orders neither cancelled nor rejected)."""

    since: date
    days: int
    top: list[ProductPurchase]  # by amount, largest first
    total_amount: int  # fen, every product, not just the top ones
    order_count: int


def purchases(dealer: Dealer, days: int = PURCHASE_DAYS, top: int = 10) -> Purchases:
    """The dealer's purchases of the last `days` days: the `top` products by amount and the
    total, summed in SQL over the order lines (served by orders(dealer_id, created_at))."""
    since = utcnow() - timedelta(days=days)
    counted = [
        Order.dealer_id == dealer.id,
        Order.created_at >= since,
        Order.status.not_in((CANCELLED, REJECTED)),
    ]
    amount = func.sum(OrderLine.amount).label("amount")
    rows = db.session.execute(
        select(Product.sku, Product.name, Product.unit, func.sum(OrderLine.qty), amount)
        .join(Order, Order.id == OrderLine.order_id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(*counted)
        .group_by(Product.id, Product.sku, Product.name, Product.unit)
        .order_by(amount.desc(), Product.sku)
        .limit(top)
    ).all()
    total, count = db.session.execute(
        select(func.coalesce(func.sum(OrderLine.amount), 0), func.count(func.distinct(Order.id)))
        .join(Order, Order.id == OrderLine.order_id)
        .where(*counted)
    ).one()
    best = [ProductPurchase(sku, name, unit, int(q), int(a)) for sku, name, unit, q, a in rows]
    return Purchases(since.date(), days, best, int(total), int(count))


def dealer_user(dealer_code: str, username: str) -> User:
    """A login of this dealer; raises NotFound (also for another dealer's or HQ's user)."""
    dealer = dealer_by_code(dealer_code)
    user = db.session.scalar(
        select(User).where(User.username == username, User.dealer_id == dealer.id)
    )
    if user is None:
        raise NotFound(f"No user {username!r} at dealer {dealer_code!r}.", code="user_not_found")
    return user


def new_password() -> str:
    """A random password such as "k7mq-4xpa-9trn" (about 59 bits), easy to read out."""
    chars = "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(12))
    return "-".join(chars[i : i + 4] for i in range(0, 12, 4))


def _end_access(user: User) -> None:
    """Sign the user out everywhere at once: every process checks the session version and
    the tokens in the database on each request."""
    user.session_version = (user.session_version or 0) + 1
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def reset_dealer_user_password(
    by: User | None, dealer_code: str, username: str, password: str | None = None
) -> tuple[User, str | None]:
    """Give a dealer's user a new password — the one HQ typed, or (None) a made-up one,
    returned once and never stored — and end the user's sessions and tokens at once.
    Returns (user, the made-up password or None). Raises Forbidden, NotFound, Invalid."""
    permissions.require(by, permissions.ADMIN)
    user = dealer_user(dealer_code, username)
    made_up = new_password() if password is None else None
    user.password_hash = hash_password(_require_password(made_up or password))
    _end_access(user)
    # Never the password or its hash: only that it changed, and how.
    how = {"dealer": dealer_code, "password": "generated" if made_up else "set"}
    audit.record(by, "dealer_user.password_reset", "user", username, {}, how)
    db.session.commit()
    return user, made_up


def set_dealer_user_active(by: User | None, dealer_code: str, username: str, active: bool) -> User:
    """Let a dealer's user log in again, or stop them: a deactivation ends their sessions
    and tokens at once. Raises Forbidden, NotFound."""
    permissions.require(by, permissions.ADMIN)
    user = dealer_user(dealer_code, username)
    if user.active != active:
        before = {"active": user.active}
        audit.record(by, "dealer_user.update", "user", username, before, {"active": active})
        user.active = active
        if not active:
            _end_access(user)
        db.session.commit()
    return user
