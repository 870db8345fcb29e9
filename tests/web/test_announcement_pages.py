"""公告 pages: HQ writes one (all dealers or chosen tiers, now or at a China time) and sees who
read it; a dealer finds them under 我的 and on the catalog, unread ones marked, and opening one
marks it read for that user only. Plain forms with CSRF; refusals store nothing."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select, update

from app.extensions import db
from app.models import Announcement, AnnouncementRead, AuditEntry
from app.services import announcements, staff
from tests import factories as f

NEW = "/admin/announcements/new"
CREATE = "/admin/announcements"


@pytest.fixture
def shop(app, client):
    """GOLD dealer SH001 (users sh, sh2), SILVER dealer BJ001 (user bj), HQ admin hq and an
    order-desk user desk."""
    f.tier("GOLD", "金牌")
    f.tier("SILVER", "银牌")
    f.dealer("SH001", "GOLD", name="上海鑫源商贸")
    f.dealer("BJ001", "SILVER", name="北京京联商贸")
    f.dealer_user("SH001", "sh")
    f.dealer_user("SH001", "sh2")
    f.dealer_user("BJ001", "bj")
    admin = f.admin("hq")
    staff.create_staff(None, "desk", f.PASSWORD, "order_desk")
    return SimpleNamespace(app=app, client=client, admin=admin)


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def get(client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.get_data(as_text=True)


def post_form(client, data: dict, follow: bool = True):
    token = f.csrf_from(get(client, NEW))
    return client.post(CREATE, data={**data, "csrf_token": token}, follow_redirects=follow)


def publish(title="春节放假通知", body="2月8日起放假。", tiers=None, publish_at=None, by=None):
    return announcements.create_announcement(by, title, body, tiers, publish_at)


def stored() -> list[Announcement]:
    db.session.rollback()
    return list(db.session.scalars(select(Announcement).order_by(Announcement.id)))


def reads() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(AnnouncementRead))


def signed_in(shop, username: str):
    """A browser of its own, logged in as this user."""
    client = shop.app.test_client()
    f.web_login(client, username)
    return client


def hq(shop, username="hq"):
    return signed_in(shop, username)


def dealer(shop, username="sh"):
    return signed_in(shop, username)


# --- HQ: writing ---------------------------------------------------------------------------


def test_hq_publishes_to_every_dealer_now(shop):
    client = hq(shop)
    response = post_form(client, {"title": "春节放假通知", "body": "第一行\r\n第二行"})

    assert response.status_code == 200
    page = text_of(response.get_data(as_text=True))
    assert "已发布：2 家经销商现在即可阅读。" in page
    assert "已读 0/2" in page
    [made] = stored()
    assert (made.title, made.body, made.tiers) == ("春节放假通知", "第一行\n第二行", [])
    assert made.publish_at <= datetime.now(UTC)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "announcement.create"))
    assert (entry.username, entry.via, entry.object_key) == ("hq", "page", str(made.id))


def test_hq_addresses_chosen_tiers(shop):
    client = hq(shop)
    post_form(
        client, {"title": "银牌政策", "body": "返点上调", "audience": "tiers", "tiers": "SILVER"}
    )
    [made] = stored()
    assert [tier.code for tier in made.tiers] == ["SILVER"]
    assert announcements.announcement_for_hq(made.id).addressed == 1


def test_chosen_tiers_are_ignored_when_every_dealer_is_chosen(shop):
    client = hq(shop)
    post_form(client, {"title": "全体", "body": "正文", "audience": "all", "tiers": "SILVER"})
    assert stored()[0].tiers == []


def test_a_time_typed_on_the_page_is_china_time_and_waits_until_then(shop):
    client = hq(shop)
    response = post_form(
        client,
        {"title": "新年调价", "body": "正文", "when": "later", "publish_at": "2030-01-01T09:00"},
    )

    page = text_of(response.get_data(as_text=True))
    assert "已定时：经销商自 2030-01-01 09:00 起可见。" in page
    assert "待发布" in page
    [made] = stored()
    assert made.publish_at == datetime(2030, 1, 1, 1, 0, tzinfo=UTC)
    assert "新年调价" not in get(dealer(shop), "/announcements")


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"title": "", "body": "正文"}, "title", "请填写标题（1–200 个字）。"),
        ({"title": "   ", "body": "正文"}, "title", "请填写标题（1–200 个字）。"),
        ({"title": "标" * 201, "body": "正文"}, "title", "请填写标题（1–200 个字）。"),
        ({"title": "标题", "body": ""}, "body", "请填写公告正文（1–10,000 个字）。"),
        ({"title": "标题", "body": "字" * 10_001}, "body", "请填写公告正文（1–10,000 个字）。"),
        ({"title": "标题", "body": "a\x01b"}, "body", "请填写公告正文（1–10,000 个字）。"),
        (
            {"title": "标题", "body": "正文", "audience": "tiers"},
            "tiers",
            "请至少选择一个等级，或发给全部经销商。",
        ),
        (
            {"title": "标题", "body": "正文", "audience": "tiers", "tiers": "NOPE"},
            "tiers",
            "请至少选择一个等级，或发给全部经销商。",
        ),
        (
            {"title": "标题", "body": "正文", "when": "later", "publish_at": ""},
            "publish_at",
            "请选择发布的日期和时间（北京时间）。",
        ),
        (
            {"title": "标题", "body": "正文", "when": "later", "publish_at": "明天"},
            "publish_at",
            "请选择发布的日期和时间（北京时间）。",
        ),
        (
            {"title": "标题", "body": "正文", "when": "later", "publish_at": "2020-01-01T09:00"},
            "publish_at",
            "该时间已过，请选择更晚的时间，或立即发布。",
        ),
    ],
)
def test_bad_input_is_shown_next_to_its_field_and_nothing_is_stored(shop, data, field, message):
    client = hq(shop)
    response = post_form(client, data, follow=False)

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'id="{field}-error"' in page
    assert message in text_of(page)
    assert "请修改下方标出的内容；尚未发布。" in text_of(page)
    assert stored() == []


def test_a_refused_form_keeps_what_was_typed(shop):
    client = hq(shop)
    data = {"title": "保留标题", "body": "保留<正文>", "audience": "tiers", "tiers": "GOLD"}
    page = post_form(client, {**data, "when": "later", "publish_at": "2020-01-01T09:00"}).get_data(
        as_text=True
    )
    assert 'value="保留标题"' in page
    assert "保留&lt;正文&gt;</textarea>" in page
    assert re.search(r'value="GOLD" checked', page)
    assert 'value="2020-01-01T09:00"' in page


def test_the_form_needs_its_csrf_token(shop):
    client = hq(shop)
    response = client.post(CREATE, data={"title": "t", "body": "b"})
    assert response.status_code == 400
    assert stored() == []


# --- HQ: reading -------------------------------------------------------------------------


def test_the_list_shows_status_audience_and_read_counts(shop):
    published = publish("已发的", tiers=["GOLD"])
    publish("定时的", publish_at=datetime.now(UTC) + timedelta(days=1))
    sh = f.user_named("sh")
    announcements.mark_read(sh, published.id)
    announcements.mark_read(f.user_named("sh2"), published.id)

    page = get(hq(shop), "/admin/announcements")

    cards = re.findall(r'<li class="card ann-card".*?</li>', page, re.S)
    assert len(cards) == 2
    scheduled, done = (text_of(card) for card in cards)
    assert "定时的" in scheduled and "待发布" in scheduled and "全部经销商" in scheduled
    assert "已读 0/2" in scheduled
    assert "已发布的" not in scheduled
    assert "已发的" in done and "已发布" in done and "金牌" in done and "已读 1/1" in done
    assert 'href="/admin/announcements/new"' in page


def test_an_announcement_page_shows_who_has_read_it(shop):
    made = publish("调价通知")
    announcements.mark_read(f.user_named("sh"), made.id)

    client = hq(shop)
    page = get(client, f"/admin/announcements/{made.id}")
    readers = re.findall(r'<li class="ann-reader.*?</li>', page, re.S)
    assert len(readers) == 2
    first, second = (text_of(r) for r in readers)
    assert "上海鑫源商贸" in first and "已读" in first and "sh" in first
    assert "北京京联商贸" in second and "未读" in second
    assert "已读 1/2" in text_of(page)

    unread = get(client, f"/admin/announcements/{made.id}?show=unread")
    assert "北京京联商贸" in unread and "上海鑫源商贸" not in unread
    read = get(client, f"/admin/announcements/{made.id}?show=read")
    assert "上海鑫源商贸" in read and "北京京联商贸" not in read


def test_text_is_escaped_line_breaks_kept_and_links_made_safely(shop):
    body = "第一行\n<script>alert(1)</script>\n详见 https://example.com/a?b=1&c=2。\njavascript:alert(2)"
    made = publish('<img src=x onerror="alert(1)">', body)

    for client, url in (
        (hq(shop), f"/admin/announcements/{made.id}"),
        (dealer(shop), f"/announcements/{made.id}"),
    ):
        page = get(client, url)
        shown = re.search(r'<div class="ann-body" id="announcement-body">(.*?)</div>', page, re.S)
        assert shown, url
        assert "<script>" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown.group(1)
        assert "第一行\n&lt;script&gt;" in shown.group(1)
        link = '<a href="https://example.com/a?b=1&amp;c=2" rel="noopener noreferrer nofollow"'
        assert link in shown.group(1)
        assert "c=2</a>。" in shown.group(1)
        assert 'href="javascript' not in page


def test_order_desk_reads_but_cannot_write(shop):
    made = publish()
    client = hq(shop, "desk")
    page = get(client, "/admin/announcements")
    assert "春节放假通知" in page
    assert 'href="/admin/announcements/new"' not in page
    get(client, f"/admin/announcements/{made.id}")
    get(client, NEW, 403)
    token = f.csrf_from(page)
    response = client.post(CREATE, data={"title": "t", "body": "b", "csrf_token": token})
    assert response.status_code == 403
    assert len(stored()) == 1


def test_dealers_cannot_open_hq_announcement_pages(shop):
    made = publish()
    client = dealer(shop)
    for url in ("/admin/announcements", NEW, f"/admin/announcements/{made.id}"):
        get(client, url, 403)


def test_an_unknown_announcement_is_404_for_hq(shop):
    get(hq(shop), "/admin/announcements/999999", 404)


# --- dealers ------------------------------------------------------------------------------


def test_a_dealer_sees_its_announcements_newest_first_unread_marked(shop):
    now = datetime.now(UTC)
    old = publish("旧公告", publish_at=now - timedelta(days=2))
    new = publish("新公告", publish_at=now - timedelta(hours=1))
    publish("银牌专享", tiers=["SILVER"])
    publish("明天的", publish_at=now + timedelta(days=1))
    announcements.mark_read(f.user_named("sh"), old.id)

    page = get(dealer(shop), "/announcements")

    cards = re.findall(r'<li class="card ann-item[^"]*" id="announcement-(\d+)"', page)
    assert cards == [str(new.id), str(old.id)]
    assert f'class="card ann-item is-unread" id="announcement-{new.id}"' in page
    assert f'class="card ann-item" id="announcement-{old.id}"' in page
    assert "银牌专享" not in page and "明天的" not in page


def test_opening_an_announcement_marks_it_read_for_this_user_only(shop):
    made = publish("调价通知", "正文内容")
    client = dealer(shop)
    assert "1 条新公告" in text_of(get(client, "/catalog"))

    page = get(client, f"/announcements/{made.id}")
    again = get(client, f"/announcements/{made.id}")

    assert "调价通知" in page and "正文内容" in page
    # The same page (a CSRF token's signature carries the second it was made: not compared).
    unsigned = lambda html: re.sub(r'(csrf[^"]*" content|value)="[^"]*\.[^"]*"', "", html)  # noqa: E731
    assert unsigned(page) == unsigned(again)
    assert reads() == 1
    assert "is-unread" not in get(client, "/announcements")
    assert "announcement-strip" not in get(client, "/catalog")
    assert 'id="announcements-unread"' not in get(client, "/me")
    colleague = dealer(shop, "sh2")
    assert "is-unread" in get(colleague, "/announcements")


def test_the_me_row_and_the_catalog_strip_count_unread_ones(shop):
    first, _second = publish("一"), publish("二")
    publish("银牌", tiers=["SILVER"])
    client = dealer(shop)

    me = get(client, "/me")
    badge = re.search(r'<b class="ann-badge" id="announcements-unread"[^>]*>(\d+)</b>', me)
    assert badge and badge.group(1) == "2"
    assert 'href="/announcements"' in me
    strip = re.search(r'<a class="ann-strip" id="announcement-strip" href="/announcements">.*?</a>',
                      get(client, "/catalog"), re.S)  # fmt: skip
    assert strip and "2 条新公告" in text_of(strip.group(0))

    announcements.mark_read(f.user_named("sh"), first.id)
    assert "1 条新公告" in text_of(get(client, "/catalog"))


def test_without_announcements_there_is_no_strip_and_no_badge(shop):
    client = dealer(shop)
    assert "announcement-strip" not in get(client, "/catalog")
    me = get(client, "/me")
    assert 'id="announcements-row"' in me and 'id="announcements-unread"' not in me
    assert "总部还没有发布公告。" in text_of(get(client, "/announcements"))


def test_a_scheduled_one_appears_once_its_time_has_come(shop):
    made = publish("定时", publish_at=datetime.now(UTC) + timedelta(hours=3))
    client = dealer(shop)
    get(client, f"/announcements/{made.id}", 404)
    assert "announcement-strip" not in get(client, "/catalog")

    db.session.execute(
        update(Announcement)
        .where(Announcement.id == made.id)
        .values(publish_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    db.session.commit()

    assert "1 条新公告" in text_of(get(client, "/catalog"))
    get(client, f"/announcements/{made.id}")


def test_other_tiers_unknown_and_malformed_ids_are_404_and_mark_nothing(shop):
    silver = publish("银牌", tiers=["SILVER"])
    client = dealer(shop)
    for path in (str(silver.id), "999999", "abc", "99999999999"):
        get(client, f"/announcements/{path}", 404)
    assert reads() == 0


def test_hq_staff_cannot_open_the_dealer_pages(shop):
    made = publish()
    client = hq(shop)
    get(client, "/announcements", 403)
    get(client, f"/announcements/{made.id}", 403)
    assert reads() == 0


def test_the_pages_are_in_english_one_tap_away(shop):
    publish("Price update")
    client = dealer(shop)
    client.get("/lang/en")
    assert "1 new announcement" in text_of(get(client, "/catalog"))
    assert "Announcements" in get(client, "/me")
