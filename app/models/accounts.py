"""Tiers, dealers, users and API tokens."""

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import UTCDateTime, utcnow

ROLE_ADMIN = "admin"
ROLE_ORDER_DESK = "order_desk"
ROLE_FINANCE = "finance"
ROLE_DEALER = "dealer"
HQ_ROLES = (ROLE_ADMIN, ROLE_ORDER_DESK, ROLE_FINANCE)


class Tier(db.Model):
    __tablename__ = "tiers"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Dealer(db.Model):
    __tablename__ = "dealers"
    __table_args__ = (CheckConstraint("credit_limit >= 0", name="credit_limit_nonneg"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    region: Mapped[str] = mapped_column(String(64), default="")
    # Where goods go: printed on the delivery note (发货单).
    address: Mapped[str] = mapped_column(String(255), default="", server_default="")
    contact_name: Mapped[str] = mapped_column(String(64), default="", server_default="")
    contact_phone: Mapped[str] = mapped_column(String(32), default="", server_default="")
    tier_id: Mapped[int] = mapped_column(ForeignKey("tiers.id"), index=True)
    credit_limit: Mapped[int] = mapped_column(BigInteger, default=0)  # fen
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    tier: Mapped[Tier] = relationship(lazy="joined")


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "(role IN ('admin', 'order_desk', 'finance') AND dealer_id IS NULL)"
            " OR (role = 'dealer' AND dealer_id IS NOT NULL)",
            name="role_matches_dealer",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(128), default="")
    role: Mapped[str] = mapped_column(String(16))
    dealer_id: Mapped[int | None] = mapped_column(ForeignKey("dealers.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped on logout-everywhere or a password change; part of the session id.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    dealer: Mapped[Dealer | None] = relationship(lazy="joined")

    @property
    def is_admin(self) -> bool:
        return self.role == ROLE_ADMIN

    @property
    def is_hq(self) -> bool:
        """HQ staff of any role (admin, order desk, finance)."""
        return self.role in HQ_ROLES

    @property
    def is_dealer(self) -> bool:
        return self.role == ROLE_DEALER

    @property
    def is_active(self) -> bool:  # Flask-Login asks this
        return self.active and (self.dealer is None or self.dealer.active)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"


class ApiToken(db.Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined")
