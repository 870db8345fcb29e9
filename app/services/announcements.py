"""Announcements (CONTRACT §3c): HQ writes to every dealer or chosen tiers, now or at a time;
dealers read them; HQ sees how many of the addressed dealers have read each.

Whether an announcement is out yet is decided in each query against the clock of that moment
(`publish_at <= now`), never from a list kept in memory: every process sees the same answer.
A dealer is addressed while it is active and its tier is one of the announcement's tiers (or
the announcement names no tier at all); its reads count once however many of its users read.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, case, exists, func, insert, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.errors import Invalid, NotFound
from app.extensions import db
from app.models import Announcement, AnnouncementRead, Dealer, Tier, User, announcement_tiers
from app.models.types import utcnow
from app.services import audit, permissions
from app.services.statements import SHANGHAI

TITLE_MAX = 200
BODY_MAX = 10_000
TIERS_MAX = 100
EARLIEST, LATEST = 2000, 9998
# Control characters other than tab and line breaks are never meant (and PostgreSQL cannot
# store NUL in text).
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
SCHEDULED, PUBLISHED = "scheduled", "published"
# Read states of an addressed dealer, for filtering HQ's list of readers.
READ, UNREAD = "read", "unread"


@dataclass(frozen=True, slots=True)
class HqAnnouncement:
    """An announcement as HQ sees it: who it reaches and how many of them have read it."""

    announcement: Announcement
    addressed: int
    read: int
    now: datetime

    id = property(lambda self: self.announcement.id)
    title = property(lambda self: self.announcement.title)
    body = property(lambda self: self.announcement.body)
    publish_at = property(lambda self: self.announcement.publish_at)
    created_at = property(lambda self: self.announcement.created_at)
    tier_list = property(lambda self: list(self.announcement.tiers))

    @property
    def tiers(self) -> list[str]:
        """The tier codes it is addressed to; empty means every dealer."""
        return [tier.code for tier in self.announcement.tiers]

    @property
    def status(self) -> str:
        return SCHEDULED if self.announcement.publish_at > self.now else PUBLISHED


@dataclass(frozen=True, slots=True)
class DealerAnnouncement:
    """A published announcement as one dealer user sees it."""

    id: int
    title: str
    body: str
    published_at: datetime
    read_at: datetime | None

    @property
    def read(self) -> bool:
        return self.read_at is not None


@dataclass(frozen=True, slots=True)
class Reader:
    """An addressed dealer and, once one of its users opened it, who and when first."""

    dealer: Dealer
    read_at: datetime | None
    users: list[str]


# --- addressing, in SQL --------------------------------------------------------------------


def _addressed(announcement_id, tier_id):
    """The announcement reaches dealers of this tier: it names that tier, or none at all.
    Both may be columns of the enclosing query (the EXISTS correlate) or plain values."""
    named = announcement_tiers.c
    return or_(
        ~exists().where(named.announcement_id == announcement_id),
        exists().where(named.announcement_id == announcement_id, named.tier_id == tier_id),
    )


def _reaches_dealer(announcement_id=Announcement.id):
    """The announcement reaches the dealer of the enclosing query (active, right tier)."""
    return and_(Dealer.active.is_(True), _addressed(announcement_id, Dealer.tier_id))


def _published(now: datetime):
    return Announcement.publish_at <= now


# --- HQ --------------------------------------------------------------------------------


def _check_text(title: str, body: str) -> dict[str, list[str]]:
    errors = {}
    for name, text in (("title", title), ("body", body)):
        if CONTROL.search(text):
            errors[name] = ["Must not contain control characters."]
    if errors:
        return errors
    if not title:
        errors["title"] = ["The title must not be empty."]
    elif len(title) > TITLE_MAX:
        errors["title"] = [f"The title must be at most {TITLE_MAX} characters."]
    if not body:
        errors["body"] = ["The body must not be empty."]
    elif len(body) > BODY_MAX:
        errors["body"] = [f"The body must be at most {BODY_MAX} characters."]
    return errors


def _tiers_named(codes: list[str], errors: dict) -> list[Tier]:
    wanted = list(dict.fromkeys(code.strip() for code in codes))
    if len(wanted) > TIERS_MAX:
        errors["tiers"] = [f"Name at most {TIERS_MAX} tiers."]
        return []
    found = {t.code: t for t in db.session.scalars(select(Tier).where(Tier.code.in_(wanted)))}
    unknown = [code for code in wanted if code not in found]
    if unknown:
        errors["tiers"] = [f"Unknown tier: {', '.join(unknown)}."]
    return [found[code] for code in wanted if code in found]


def _plausible(moment: datetime) -> bool:
    """Aware, and within years a database and every offset can hold."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        return False
    return EARLIEST <= moment.year <= LATEST


def create_announcement(
    by: User | None,
    title: str,
    body: str,
    tiers: list[str] | None = None,
    publish_at: datetime | None = None,
) -> HqAnnouncement:
    """Record an announcement for the tiers named (none: every dealer), seen by them from
    `publish_at` (default: now; a time zone is required). Audited with the write.

    Raises Forbidden (not admin), Invalid (title, body, unknown tier, naive time).
    """
    permissions.require(by, permissions.ADMIN)
    title = (title or "").strip()
    # A browser's textarea sends CRLF line breaks: keep one kind.
    body = (body or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    errors = _check_text(title, body)
    chosen = _tiers_named(tiers or [], errors)
    if publish_at is not None and not _plausible(publish_at):
        errors["publish_at"] = [
            "Give a time with its offset between the years 2000 and 9998, "
            "e.g. 2026-12-01T09:00:00+08:00."
        ]
    if errors:
        raise Invalid(errors=errors)
    announcement = Announcement(
        title=title,
        body=body,
        publish_at=publish_at or utcnow(),
        created_by_id=by.id if by is not None else None,
        tiers=chosen,
    )
    db.session.add(announcement)
    db.session.flush()
    audit.record(
        by,
        "announcement.create",
        "announcement",
        str(announcement.id),
        {},
        {
            "title": title,
            "tiers": [tier.code for tier in chosen],
            "publish_at": announcement.publish_at,
        },
    )
    db.session.commit()
    return announcement_for_hq(announcement.id)


def _counts(ids: list[int]) -> dict[int, tuple[int, int]]:
    """{announcement id: (addressed active dealers, of them with a user who read it)}."""
    if not ids:
        return {}
    someone_read = exists(
        select(AnnouncementRead.user_id)
        .join(User, User.id == AnnouncementRead.user_id)
        .where(AnnouncementRead.announcement_id == Announcement.id, User.dealer_id == Dealer.id)
    )
    rows = db.session.execute(
        select(
            Announcement.id,
            func.count(Dealer.id),
            func.count(case((someone_read, Dealer.id))),
        )
        .join(Dealer, _reaches_dealer())
        .where(Announcement.id.in_(ids))
        .group_by(Announcement.id)
    )
    return {row[0]: (row[1], row[2]) for row in rows}


def _with_counts(rows: list[Announcement]) -> list[HqAnnouncement]:
    counts, now = _counts([row.id for row in rows]), utcnow()
    return [HqAnnouncement(row, *counts.get(row.id, (0, 0)), now) for row in rows]


def _announcement(announcement_id: int) -> Announcement:
    found = db.session.get(Announcement, announcement_id, populate_existing=True)
    if found is None:
        raise NotFound(f"No announcement {announcement_id}.", code="announcement_not_found")
    return found


def announcement_for_hq(announcement_id: int) -> HqAnnouncement:
    """One announcement with its counts; NotFound for an unknown id."""
    return _with_counts([_announcement(announcement_id)])[0]


def hq_announcements(page: int = 1, per_page: int = 50) -> tuple[list[HqAnnouncement], int]:
    """Every announcement, newest publication first (scheduled ones on top), with counts."""
    rows = db.session.scalars(
        select(Announcement)
        .order_by(Announcement.publish_at.desc(), Announcement.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    total = db.session.scalar(select(func.count(Announcement.id)))
    return _with_counts(list(rows)), total


def readers(announcement_id: int, state: str | None = None) -> list[Reader]:
    """The active dealers it reaches: those who read it first (by when), then the others by
    code; `state` READ or UNREAD keeps only those. NotFound for an unknown id."""
    _announcement(announcement_id)
    reads = db.session.execute(
        select(User.dealer_id, User.name, User.username, AnnouncementRead.read_at)
        .join(User, User.id == AnnouncementRead.user_id)
        .where(AnnouncementRead.announcement_id == announcement_id)
        .order_by(AnnouncementRead.read_at)
    ).all()
    by_dealer: dict[int, tuple[datetime, list[str]]] = {}
    for dealer_id, name, username, read_at in reads:
        by_dealer.setdefault(dealer_id, (read_at, []))[1].append(name or username)
    dealers = db.session.scalars(
        select(Dealer).where(_reaches_dealer(announcement_id)).order_by(Dealer.code)
    ).all()
    found = [Reader(d, *by_dealer.get(d.id, (None, []))) for d in dealers]
    if state == READ:
        found = [r for r in found if r.read_at is not None]
    elif state == UNREAD:
        found = [r for r in found if r.read_at is None]
    # Stable: the unread ones stay in code order.
    return sorted(
        found, key=lambda r: (r.read_at is None, r.read_at.timestamp() if r.read_at else 0)
    )


def audience_tiers() -> list[tuple[Tier, int]]:
    """Every tier an announcement may name, by code, with its number of active dealers."""
    active = func.count(Dealer.id).filter(Dealer.active.is_(True))
    rows = db.session.execute(
        select(Tier, active)
        .outerjoin(Dealer, Dealer.tier_id == Tier.id)
        .group_by(Tier.id)
        .order_by(Tier.code)
    ).all()
    return [(tier, count) for tier, count in rows]


def shanghai_time(local: datetime) -> datetime:
    """A wall-clock time typed in China (a datetime-local field) as an aware time; a time
    that already carries its offset is kept."""
    return local if local.tzinfo is not None else local.replace(tzinfo=SHANGHAI)


# --- dealers ---------------------------------------------------------------------------


def _visible_to(user: User, now: datetime):
    dealer = user.dealer
    if dealer is None or not dealer.active:
        return [False]
    return [_published(now), _addressed(Announcement.id, dealer.tier_id)]


def _dealer_select(user: User, now: datetime):
    return (
        select(Announcement, AnnouncementRead.read_at)
        .outerjoin(
            AnnouncementRead,
            and_(
                AnnouncementRead.announcement_id == Announcement.id,
                AnnouncementRead.user_id == user.id,
            ),
        )
        .where(*_visible_to(user, now))
    )


def _dealer_item(row) -> DealerAnnouncement:
    announcement, read_at = row
    return DealerAnnouncement(
        announcement.id, announcement.title, announcement.body, announcement.publish_at, read_at
    )


def dealer_announcements(
    user: User, page: int = 1, per_page: int = 50
) -> tuple[list[DealerAnnouncement], int]:
    """The published announcements addressed to the user's dealer, newest first, each with
    whether this user has read it; and how many there are."""
    now = utcnow()
    rows = db.session.execute(
        _dealer_select(user, now)
        .order_by(Announcement.publish_at.desc(), Announcement.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    total = db.session.scalar(select(func.count(Announcement.id)).where(*_visible_to(user, now)))
    return [_dealer_item(row) for row in rows], total


def unread_query(user: User):
    """SELECT count(*) of the published announcements addressed to the user's dealer that
    this user has not read (a statement, to be combined with others)."""
    if user.dealer is None or not user.dealer.active:
        return select(func.count(Announcement.id)).where(False)
    return _unread(user.id, user.dealer.tier_id, utcnow())


def _unread(user_id, tier_id, now):
    not_read = ~exists().where(
        AnnouncementRead.announcement_id == Announcement.id,
        AnnouncementRead.user_id == user_id,
    )
    return select(func.count(Announcement.id)).where(
        _published(now), _addressed(Announcement.id, tier_id), not_read
    )


@functools.cache
def unread_statement():
    """unread_query for an active dealer's user, built once: bound parameters `user_id`,
    `tier_id` and `now`."""
    return _unread(bindparam("user_id"), bindparam("tier_id"), bindparam("now"))


def unread_count(user: User) -> int:
    """How many published announcements addressed to the user's dealer this user has not read."""
    return db.session.scalar(unread_query(user)) or 0


def dealer_announcement(user: User, announcement_id: int) -> DealerAnnouncement:
    """One announcement the user may see; NotFound when it is not addressed to their dealer
    or not published yet (a dealer never learns that it exists)."""
    row = db.session.execute(
        _dealer_select(user, utcnow()).where(Announcement.id == announcement_id)
    ).first()
    if row is None:
        raise NotFound(f"No announcement {announcement_id}.", code="announcement_not_found")
    return _dealer_item(row)


def _insert_ignoring_duplicates():
    """INSERT … ON CONFLICT DO NOTHING on the read's key: two taps at once record one read."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        return pg_insert(AnnouncementRead).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite_insert(AnnouncementRead).on_conflict_do_nothing()
    return insert(AnnouncementRead)


def mark_read(user: User, announcement_id: int) -> DealerAnnouncement:
    """Record that the user read it (once: the first time is kept). NotFound as
    dealer_announcement."""
    item = dealer_announcement(user, announcement_id)
    if item.read:
        return item
    db.session.execute(
        _insert_ignoring_duplicates().values(
            announcement_id=announcement_id, user_id=user.id, read_at=utcnow()
        )
    )
    db.session.commit()
    return dealer_announcement(user, announcement_id)
