"""The announcement service (CONTRACT §3c): who writes, who is reached, who has read; reads
recorded once however many taps race; publication decided by the clock at each query, in
every worker process alike."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from app.errors import Forbidden, Invalid, NotFound
from app.extensions import db
from app.models import Announcement, AnnouncementRead, AuditEntry
from app.services import accounts, announcements, staff
from tests import factories as f
from tests.servers import gunicorn
from tests.threads import run_together


@pytest.fixture
def brand():
    """GOLD: SH001 (users sh, sh2), GZ001 (user gz); SILVER: BJ001 (user bj); admin hq."""
    f.tier("GOLD", "金牌")
    f.tier("SILVER", "银牌")
    for code, tier, users in (
        ("SH001", "GOLD", ("sh", "sh2")),
        ("GZ001", "GOLD", ("gz",)),
        ("BJ001", "SILVER", ("bj",)),
    ):
        f.dealer(code, tier)
        for username in users:
            f.dealer_user(code, username)
    f.admin("hq")


def publish(title="通知", tiers=None, publish_at=None, by=None):
    return announcements.create_announcement(by, title, "正文", tiers, publish_at)


def counts(announcement_id: int) -> tuple[int, int]:
    found = announcements.announcement_for_hq(announcement_id)
    return found.addressed, found.read


def test_only_admins_and_the_system_may_publish(brand):
    desk = staff.create_staff(None, "desk", f.PASSWORD, "order_desk")
    with pytest.raises(Forbidden):
        publish(by=desk)
    with pytest.raises(Forbidden):
        publish(by=f.user_named("sh"))
    assert publish(by=f.user_named("hq")).addressed == 3
    assert publish(by=None).addressed == 3
    assert db.session.scalar(select(func.count(Announcement.id))) == 2


def test_a_refused_announcement_leaves_no_row_and_no_audit_entry(brand):
    with pytest.raises(Invalid) as refused:
        announcements.create_announcement(None, " ", "x" * 10_001, ["GOLD", "NOPE"])
    assert set(refused.value.errors) == {"title", "body", "tiers"}
    with pytest.raises(Invalid) as naive:
        announcements.create_announcement(None, "t", "b", None, datetime(2026, 12, 1, 9))
    assert set(naive.value.errors) == {"publish_at"}
    db.session.rollback()
    assert db.session.scalar(select(func.count(Announcement.id))) == 0
    audited = select(func.count(AuditEntry.id)).where(AuditEntry.object_type == "announcement")
    assert db.session.scalar(audited) == 0


def test_line_breaks_are_kept_as_one_kind(brand):
    made = announcements.create_announcement(None, "t", "一\r\n二\r三\n四", None)
    assert made.body == "一\n二\n三\n四"


def test_the_status_follows_the_clock(brand):
    later = publish(publish_at=datetime.now(UTC) + timedelta(hours=1))
    assert later.status == announcements.SCHEDULED
    db.session.execute(
        update(Announcement)
        .where(Announcement.id == later.id)
        .values(publish_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    db.session.commit()
    assert announcements.announcement_for_hq(later.id).status == announcements.PUBLISHED


def test_readers_come_first_by_time_then_the_rest_by_code(brand):
    made = publish()
    for username in ("gz", "sh2", "sh"):
        announcements.mark_read(f.user_named(username), made.id)

    every = announcements.readers(made.id)
    assert [r.dealer.code for r in every] == ["GZ001", "SH001", "BJ001"]
    names = [user.name or user.username for user in map(f.user_named, ("sh2", "sh"))]
    assert every[1].users == names
    assert every[2].read_at is None and every[2].users == []
    assert [r.dealer.code for r in announcements.readers(made.id, announcements.UNREAD)] == [
        "BJ001"
    ]
    assert counts(made.id) == (3, 2)
    with pytest.raises(NotFound):
        announcements.readers(999_999)


def test_a_deactivated_dealer_leaves_the_counts_and_its_reads_return_with_it(brand):
    made = publish(tiers=["GOLD"])
    announcements.mark_read(f.user_named("gz"), made.id)
    assert counts(made.id) == (2, 1)

    accounts.update_dealer("GZ001", {"active": False})
    assert counts(made.id) == (1, 0)
    assert [r.dealer.code for r in announcements.readers(made.id)] == ["SH001"]

    accounts.update_dealer("GZ001", {"active": True})
    assert counts(made.id) == (2, 1)


def test_the_tier_choice_counts_active_dealers(brand):
    accounts.update_dealer("BJ001", {"active": False})
    f.tier("BRONZE", "铜牌")
    assert [(t.code, n) for t, n in announcements.audience_tiers()] == [
        ("BRONZE", 0),
        ("GOLD", 2),
        ("SILVER", 0),
    ]


def test_a_china_wall_clock_time_is_eight_hours_ahead_of_utc():
    moment = announcements.shanghai_time(datetime(2030, 1, 1, 9, 0))
    assert moment.astimezone(UTC) == datetime(2030, 1, 1, 1, 0, tzinfo=UTC)
    aware = datetime(2030, 1, 1, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert announcements.shanghai_time(aware) is aware


def test_unread_counts_follow_the_user_and_the_clock(brand):
    sh = f.user_named("sh")
    first = publish("一")
    publish("二", publish_at=datetime.now(UTC) + timedelta(minutes=10))
    publish("银", tiers=["SILVER"])
    assert announcements.unread_count(sh) == 1
    announcements.mark_read(sh, first.id)
    assert announcements.unread_count(sh) == 0
    assert announcements.unread_count(f.user_named("sh2")) == 1


@pytest.mark.postgres
def test_racing_taps_record_one_read_and_all_succeed(app, brand):
    made_id = publish().id
    headers = f.api_headers(f.user_named("sh"))
    db.session.commit()
    db.session.remove()
    clients = [app.test_client() for _ in range(8)]

    def tap(client):
        response = client.post(f"/api/v1/announcements/{made_id}/read", headers=headers)
        return response.status_code, response.get_json()

    results = run_together([lambda c=c: tap(c) for c in clients])

    assert {status for status, _ in results} == {200}
    assert all(body["read"] is True for _, body in results)
    assert len({body["id"] for _, body in results}) == 1
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(AnnouncementRead)) == 1
    assert counts(made_id) == (3, 1)


# --- several worker processes ------------------------------------------------------------

WORKERS = 3
TRIES = 4 * WORKERS  # fresh connections: every worker answers some


@pytest.fixture
def served(database_url):
    """The app under gunicorn with WORKERS workers on the test database (no control socket)."""
    with gunicorn(database_url, WORKERS) as base:
        yield base


def call(base: str, path: str, token: str, method: str = "GET"):
    """One request on a fresh connection (so the kernel may hand it to any worker)."""
    headers = {"Authorization": f"Bearer {token}", "Connection": "close"}
    request = urllib.request.Request(base + path, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


@pytest.mark.postgres
def test_publication_time_holds_at_once_in_every_worker(brand, served):
    later_id = publish("定时", publish_at=datetime.now(UTC) + timedelta(hours=1)).id
    token, _ = accounts.issue_token(f.user_named("sh"), timedelta(hours=1))
    db.session.commit()
    db.session.remove()
    for _ in range(TRIES):  # every worker has answered while it was still scheduled
        status, body = call(served, "/api/v1/announcements", token)
        assert status == 200 and body["items"] == [] and body["unread"] == 0

    db.session.execute(
        update(Announcement)
        .where(Announcement.id == later_id)
        .values(publish_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    db.session.commit()
    for _ in range(TRIES):
        status, body = call(served, "/api/v1/announcements", token)
        assert status == 200 and [item["id"] for item in body["items"]] == [later_id]
        assert body["unread"] == 1
