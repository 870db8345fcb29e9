"""HQ staff accounts and their roles (CONTRACT §3a)."""

from __future__ import annotations

from sqlalchemy import func, select, update

from app.errors import Conflict, Invalid, NotFound
from app.extensions import db
from app.models import ApiToken, User
from app.models.accounts import HQ_ROLES, ROLE_ADMIN
from app.models.types import utcnow
from app.services import audit, permissions
from app.services.accounts import _require_password, hash_password

STAFF_CHANGES = ("name", "password", "role", "active")


def _check_role(role: object) -> str:
    if role not in HQ_ROLES:
        raise Invalid(errors={"role": [f"Must be one of {', '.join(HQ_ROLES)}."]})
    return role


def staff_by_username(username: str) -> User:
    """An HQ user; NotFound for dealer users too (they are not staff)."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None or not user.is_hq:
        raise NotFound(f"No HQ user {username!r}.", code="user_not_found")
    return user


def staff(role: str | None = None, active: bool | None = None) -> list[User]:
    """HQ users by username."""
    conditions = [User.role.in_(HQ_ROLES)]
    if role:
        conditions.append(User.role == role)
    if active is not None:
        conditions.append(User.active.is_(active))
    return list(db.session.scalars(select(User).where(*conditions).order_by(User.username)))


def create_staff(by: User | None, username: str, password: str, role: str, name: str = "") -> User:
    """A new active HQ user; raises Invalid (role, password), Conflict (username taken)."""
    permissions.require(by, permissions.ADMIN)
    _check_role(role)
    _require_password(password)
    if db.session.scalar(select(User.id).where(User.username == username)):
        raise Conflict(f"Username {username!r} is taken.", code="duplicate_username")
    user = User(
        username=username,
        password_hash=hash_password(password),
        name=name or username,
        role=role,
        dealer_id=None,
    )
    db.session.add(user)
    audit.record(by, "staff.create", "user", username, {}, {"role": role, "name": user.name})
    db.session.commit()
    return user


def _other_active_admins(user: User) -> int:
    return db.session.scalar(
        select(func.count(User.id)).where(
            User.role == ROLE_ADMIN, User.active.is_(True), User.id != user.id
        )
    )


def update_staff(by: User | None, username: str, changes: dict) -> User:
    """Change name, password, role or active. A new password or a deactivation ends the
    user's sessions and revokes their tokens at once (every process reads them from the
    database on each request). The last active admin cannot be demoted or deactivated.

    Raises NotFound, Invalid, Conflict (last_admin).
    """
    permissions.require(by, permissions.ADMIN)
    user = staff_by_username(username)
    if "role" in changes:
        _check_role(changes["role"])
    if "password" in changes:
        _require_password(changes["password"])
    loses_admin = (
        user.role == ROLE_ADMIN
        and user.active
        and (changes.get("role", ROLE_ADMIN) != ROLE_ADMIN or changes.get("active", True) is False)
    )
    if loses_admin and not _other_active_admins(user):
        raise Conflict(
            "This is the last active admin; make another admin first.", code="last_admin"
        )
    ends_access = "password" in changes or changes.get("active") is False
    before = {"name": user.name, "role": user.role, "active": user.active}
    if "name" in changes:
        user.name = changes["name"] or user.username
    if "role" in changes:
        user.role = changes["role"]
    if "active" in changes:
        user.active = bool(changes["active"])
    if "password" in changes:
        user.password_hash = hash_password(changes["password"])
    old, new = audit.changes(before, {"name": user.name, "role": user.role, "active": user.active})
    if "password" in changes:
        new["password"] = "changed"  # never the password or its hash
    audit.record(by, "staff.update", "user", username, old, new)
    if ends_access:
        user.session_version = (user.session_version or 0) + 1
        db.session.execute(
            update(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
    db.session.commit()
    return user
