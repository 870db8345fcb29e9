"""Announcements (CONTRACT §3c): HQ addresses every dealer or chosen tiers, now or at a time;
dealers see the published ones of their tier newest first and mark them read; HQ counts the
active dealers reached and how many of them have a user who read it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from app.extensions import db
from app.models import Announcement, AnnouncementRead, AuditEntry
from app.services import accounts
from tests import factories as f
from tests.api.helpers import assert_problem, db_state

ADMIN_URL = "/api/v1/admin/announcements"
URL = "/api/v1/announcements"
ANNOUNCEMENT_KEYS = {"id", "title", "body", "tiers", "publish_at", "addressed", "read"}
ITEM_KEYS = {"id", "title", "body", "published_at", "read"}


def publish(client, headers, status: int = 201, **body) -> dict:
    body.setdefault("title", "春节放假通知")
    body.setdefault("body", "2月8日至2月17日放假。\n期间订单节后发货。")
    response = client.post(ADMIN_URL, json=body, headers=headers)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def at(**delta) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


def move_publication(announcement_id: int, when: datetime) -> None:
    """Time passes: write the publication time instead of waiting for it."""
    db.session.execute(
        update(Announcement).where(Announcement.id == announcement_id).values(publish_at=when)
    )
    db.session.commit()


def seen(client, headers) -> list[dict]:
    response = client.get(URL, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def hq_view(client, headers, announcement_id: int) -> dict:
    response = client.get(f"{ADMIN_URL}/{announcement_id}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def read(client, headers, announcement_id: int):
    return client.post(f"{URL}/{announcement_id}/read", headers=headers)


# --- addressing ---------------------------------------------------------------------------


def test_without_tiers_it_reaches_every_dealer_and_nobody_has_read_it(client, shop):
    before = datetime.now(UTC) - timedelta(seconds=1)
    created = publish(client, shop.admin)

    assert set(created) == ANNOUNCEMENT_KEYS
    assert created["title"] == "春节放假通知"
    assert created["body"] == "2月8日至2月17日放假。\n期间订单节后发货。"
    assert created["tiers"] == []
    assert (created["addressed"], created["read"]) == (3, 0)
    published = datetime.fromisoformat(created["publish_at"])
    assert published.tzinfo is not None
    assert before <= published <= datetime.now(UTC)
    for dealer in (shop.g1, shop.g2, shop.s1):
        assert [item["id"] for item in seen(client, dealer)] == [created["id"]]
    assert hq_view(client, shop.admin, created["id"]) == created


def test_an_empty_tier_list_also_means_every_dealer(client, shop):
    created = publish(client, shop.admin, tiers=[])
    assert (created["tiers"], created["addressed"]) == ([], 3)
    assert len(seen(client, shop.s1)) == 1


def test_tiers_address_only_their_dealers_and_others_get_404(client, shop):
    silver = publish(client, shop.admin, title="银牌政策", tiers=["SILVER"])
    gold = publish(client, shop.admin, title="金牌政策", tiers=["GOLD"])
    both = publish(client, shop.admin, title="全体", tiers=["GOLD", "SILVER"])

    assert (silver["tiers"], silver["addressed"]) == (["SILVER"], 1)
    assert (gold["tiers"], gold["addressed"]) == (["GOLD"], 2)
    assert (both["tiers"], both["addressed"]) == (["GOLD", "SILVER"], 3)
    assert {item["title"] for item in seen(client, shop.s1)} == {"银牌政策", "全体"}
    assert {item["title"] for item in seen(client, shop.g1)} == {"金牌政策", "全体"}
    before = db_state()
    assert_problem(read(client, shop.g1, silver["id"]), 404, "announcement_not_found")
    assert_problem(client.get(f"{URL}/{silver['id']}", headers=shop.g1), 404)
    assert db_state() == before


def test_null_tiers_and_time_mean_every_dealer_now(client, shop):
    created = publish(client, shop.admin, tiers=None, publish_at=None)
    assert (created["tiers"], created["addressed"]) == ([], 3)
    assert datetime.fromisoformat(created["publish_at"]) <= datetime.now(UTC)
    assert len(seen(client, shop.g1)) == 1


def test_a_tier_named_twice_counts_once(client, shop):
    created = publish(client, shop.admin, tiers=["GOLD", "GOLD"])
    assert (created["tiers"], created["addressed"]) == (["GOLD"], 2)


def test_a_dealer_moved_to_another_tier_sees_that_tiers_announcements(client, shop):
    silver = publish(client, shop.admin, tiers=["SILVER"])
    assert seen(client, shop.g1) == []

    accounts.update_dealer("G1", {"tier": "SILVER"})

    assert [item["id"] for item in seen(client, shop.g1)] == [silver["id"]]
    assert hq_view(client, shop.admin, silver["id"])["addressed"] == 2


# --- when it is seen ----------------------------------------------------------------------


def test_a_future_announcement_is_unseen_until_its_time_comes(client, shop):
    later = publish(client, shop.admin, title="下月调价", publish_at=at(hours=2))
    assert datetime.fromisoformat(later["publish_at"]) > datetime.now(UTC)
    assert (later["addressed"], later["read"]) == (3, 0)

    before = db_state()
    assert seen(client, shop.g1) == []
    assert client.get(URL, headers=shop.g1).get_json()["unread"] == 0
    assert_problem(read(client, shop.g1, later["id"]), 404, "announcement_not_found")
    assert_problem(client.get(f"{URL}/{later['id']}", headers=shop.g1), 404)
    assert db_state() == before

    move_publication(later["id"], datetime.now(UTC) - timedelta(seconds=1))

    assert [item["id"] for item in seen(client, shop.g1)] == [later["id"]]
    assert read(client, shop.g1, later["id"]).status_code == 200


def test_a_published_announcement_moved_into_the_future_disappears(client, shop):
    created = publish(client, shop.admin)
    assert len(seen(client, shop.g1)) == 1
    move_publication(created["id"], datetime.now(UTC) + timedelta(minutes=5))
    assert seen(client, shop.g1) == []


def test_a_past_time_is_published_at_once_and_kept_with_its_offset(client, shop):
    created = publish(client, shop.admin, publish_at="2026-01-05T09:30:00+08:00")
    published = datetime.fromisoformat(created["publish_at"])
    assert published == datetime(2026, 1, 5, 1, 30, tzinfo=UTC)
    [item] = seen(client, shop.s1)
    assert datetime.fromisoformat(item["published_at"]) == published


def test_dealers_see_newest_first_with_the_item_fields(client, shop):
    for title, hours in (("三小时前", 3), ("一小时前", 1), ("两小时前", 2)):
        publish(client, shop.admin, title=title, publish_at=at(hours=-hours))
    publish(client, shop.admin, title="明天", publish_at=at(days=1))

    items = seen(client, shop.g2)

    assert [item["title"] for item in items] == ["一小时前", "两小时前", "三小时前"]
    assert all(set(item) == ITEM_KEYS for item in items)
    assert all(item["read"] is False for item in items)
    page = client.get(URL + "?per_page=2&page=2", headers=shop.g2).get_json()
    assert (page["page"], page["per_page"], page["total"]) == (2, 2, 3)
    assert [item["title"] for item in page["items"]] == ["三小时前"]


def test_hq_lists_every_announcement_newest_first_paged(client, shop):
    for title, hours in (("旧", -5), ("新", -1), ("定时", 3)):
        publish(client, shop.admin, title=title, publish_at=at(hours=hours))

    response = client.get(ADMIN_URL + "?per_page=2", headers=shop.admin)

    assert response.status_code == 200
    body = response.get_json()
    assert (body["page"], body["per_page"], body["total"]) == (1, 2, 3)
    assert [item["title"] for item in body["items"]] == ["定时", "新"]
    assert all(set(item) == ANNOUNCEMENT_KEYS for item in body["items"])
    rest = client.get(ADMIN_URL + "?per_page=2&page=2", headers=shop.admin).get_json()
    assert [item["title"] for item in rest["items"]] == ["旧"]


# --- reading ------------------------------------------------------------------------------


def test_marking_read_is_idempotent_and_for_the_calling_user_only(client, shop):
    created = publish(client, shop.admin)
    colleague = f.api_headers(f.dealer_user("G1", "g1b"))

    first, again = read(client, shop.g1, created["id"]), read(client, shop.g1, created["id"])

    assert (first.status_code, again.status_code) == (200, 200)
    assert first.get_json() == again.get_json()
    assert set(first.get_json()) == ITEM_KEYS and first.get_json()["read"] is True
    assert db.session.scalar(select(func.count()).select_from(AnnouncementRead)) == 1
    assert seen(client, shop.g1)[0]["read"] is True
    assert seen(client, colleague)[0]["read"] is False
    assert seen(client, shop.g2)[0]["read"] is False


def test_unread_counts_what_this_user_has_not_opened(client, shop):
    ids = [publish(client, shop.admin, title=f"第{n}条")["id"] for n in range(3)]
    publish(client, shop.admin, title="定时", publish_at=at(hours=1))
    publish(client, shop.admin, title="银牌", tiers=["SILVER"])
    read(client, shop.g1, ids[1])

    assert client.get(URL, headers=shop.g1).get_json()["unread"] == 2
    assert client.get(URL, headers=shop.g2).get_json()["unread"] == 3


def test_reading_an_unknown_or_malformed_id_is_404(client, shop):
    for path in ("999999", "abc", "99999999999", "１"):
        assert_problem(client.post(f"{URL}/{path}/read", headers=shop.g1), 404)
        assert_problem(client.get(f"{ADMIN_URL}/{path}", headers=shop.admin), 404)


# --- counts -------------------------------------------------------------------------------


def test_two_users_of_one_dealer_count_once(client, shop):
    created = publish(client, shop.admin, tiers=["GOLD"])
    colleague = f.api_headers(f.dealer_user("G1", "g1b"))

    read(client, shop.g1, created["id"])
    read(client, colleague, created["id"])

    assert hq_view(client, shop.admin, created["id"])["read"] == 1
    read(client, shop.g2, created["id"])
    view = hq_view(client, shop.admin, created["id"])
    assert (view["addressed"], view["read"]) == (2, 2)


def test_inactive_dealers_are_neither_addressed_nor_counted_as_readers(client, shop):
    created = publish(client, shop.admin)
    read(client, shop.g2, created["id"])
    read(client, shop.s1, created["id"])
    assert (hq_view(client, shop.admin, created["id"])["read"]) == 2

    response = client.patch("/api/v1/admin/dealers/G2", json={"active": False}, headers=shop.admin)
    assert response.status_code == 200

    view = hq_view(client, shop.admin, created["id"])
    assert (view["addressed"], view["read"]) == (2, 1)
    listed = client.get(ADMIN_URL, headers=shop.admin).get_json()["items"][0]
    assert (listed["addressed"], listed["read"]) == (2, 1)


def test_a_tier_without_active_dealers_is_addressed_to_nobody(client, shop):
    f.tier("BRONZE", "铜牌")
    created = publish(client, shop.admin, tiers=["BRONZE"])
    assert (created["addressed"], created["read"]) == (0, 0)
    assert all(seen(client, h) == [] for h in (shop.g1, shop.g2, shop.s1))


# --- validation ---------------------------------------------------------------------------


VALID = {"title": "标题", "body": "正文"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"body": "正文"}, "title"),
        ({"title": "", "body": "正文"}, "title"),
        ({"title": "   ", "body": "正文"}, "title"),
        ({"title": "标" * 201, "body": "正文"}, "title"),
        ({"title": 5, "body": "正文"}, "title"),
        ({"title": "标题"}, "body"),
        ({"title": "标题", "body": ""}, "body"),
        ({"title": "标题", "body": "字" * 10_001}, "body"),
        ({"title": "标题", "body": "a\x00b"}, "body"),
        ({**VALID, "tiers": ["PLATINUM"]}, "tiers"),
        ({**VALID, "tiers": ["GOLD", "NOPE"]}, "tiers"),
        ({**VALID, "tiers": "GOLD"}, "tiers"),
        ({**VALID, "publish_at": "2026-12-01T09:00:00"}, "publish_at"),
        ({**VALID, "publish_at": "tomorrow"}, "publish_at"),
        ({**VALID, "publish_at": 1767225600}, "publish_at"),
        ({**VALID, "publish_at": "0001-01-01T00:00:00+08:00"}, "publish_at"),
        ({**VALID, "publish_at": "9999-12-31T23:00:00-08:00"}, "publish_at"),
        ({**VALID, "pinned": True}, "pinned"),
    ],
)
def test_invalid_input_is_422_and_changes_nothing(client, shop, body, field):
    before = db_state()
    response = client.post(ADMIN_URL, json=body, headers=shop.admin)
    assert_problem(response, 422, "validation_error", fields=[field])
    assert db_state() == before


def test_a_naive_time_is_refused_with_a_message_asking_for_the_offset(client, shop):
    body = {**VALID, "publish_at": "2026-12-01T09:00"}
    problem = assert_problem(client.post(ADMIN_URL, json=body, headers=shop.admin), 422)
    assert "offset" in problem["errors"]["publish_at"][0]


def test_a_body_that_is_not_json_is_400(client, shop):
    response = client.post(
        ADMIN_URL, data="{", headers={**shop.admin, "Content-Type": "application/json"}
    )
    assert_problem(response, 400, "invalid_json")


def test_the_longest_title_and_body_are_accepted_and_text_is_trimmed(client, shop):
    created = publish(client, shop.admin, title="标" * 200, body="字" * 10_000)
    assert (created["title"], created["body"]) == ("标" * 200, "字" * 10_000)
    # Lengths count what is sent, as the description's maxLength does; then it is trimmed.
    created = publish(client, shop.admin, title=" " + "标" * 198 + " ", body="字" * 9_999 + "\n")
    assert (created["title"], created["body"]) == ("标" * 198, "字" * 9_999)


def test_html_in_the_text_is_kept_as_text(client, shop):
    created = publish(client, shop.admin, title="<b>注意</b>", body="<script>x()</script>")
    assert (created["title"], created["body"]) == ("<b>注意</b>", "<script>x()</script>")


# --- roles and audit ----------------------------------------------------------------------


@pytest.fixture
def staff(client, shop):
    for username, role in (("desk", "order_desk"), ("money", "finance")):
        body = {"username": username, "password": "pw-" + username, "role": role}
        assert client.post("/api/v1/admin/users", json=body, headers=shop.admin).status_code == 201
    shop.desk = f.token_for(client, "desk", "pw-desk")
    shop.finance = f.token_for(client, "money", "pw-money")
    return shop


def test_only_admins_write_and_any_hq_role_reads(client, staff):
    created = publish(client, staff.admin)
    for headers in (staff.desk, staff.finance):
        before = db_state()
        refused = client.post(ADMIN_URL, json={"title": "t", "body": "b"}, headers=headers)
        assert_problem(refused, 403, "role_forbidden")
        assert db_state() == before
        assert client.get(ADMIN_URL, headers=headers).status_code == 200
        assert hq_view(client, headers, created["id"]) == created


def test_dealers_cannot_call_hq_endpoints_nor_hq_the_dealer_ones(client, shop):
    created = publish(client, shop.admin)
    before = db_state()
    assert_problem(client.post(ADMIN_URL, json={"title": "t", "body": "b"}, headers=shop.g1), 403)
    assert_problem(client.get(ADMIN_URL, headers=shop.g1), 403)
    assert_problem(client.get(f"{ADMIN_URL}/{created['id']}", headers=shop.g1), 403)
    assert_problem(client.get(URL, headers=shop.admin), 403, "dealer_only")
    assert_problem(read(client, shop.admin, created["id"]), 403, "dealer_only")
    assert db_state() == before


def test_every_call_needs_a_token(client, shop):
    created = publish(client, shop.admin)
    for method, path in (
        ("POST", ADMIN_URL),
        ("GET", ADMIN_URL),
        ("GET", f"{ADMIN_URL}/{created['id']}"),
        ("GET", URL),
        ("POST", f"{URL}/{created['id']}/read"),
    ):
        assert_problem(client.open(path, method=method, json={}), 401)


def test_a_deactivated_dealers_user_is_refused(client, shop):
    created = publish(client, shop.admin)
    accounts.update_dealer("S1", {"active": False})
    assert_problem(client.get(URL, headers=shop.s1), 403)
    assert_problem(read(client, shop.s1, created["id"]), 403)


def test_publishing_is_audited_with_who_and_what(client, shop):
    created = publish(client, shop.admin, title="调价", tiers=["GOLD"])
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "announcement.create"))
    assert entry is not None
    assert (entry.username, entry.object_type, entry.object_key, entry.via) == (
        "hq",
        "announcement",
        str(created["id"]),
        "api",
    )
    assert '"调价"' in entry.after and '"GOLD"' in entry.after


def test_the_openapi_document_describes_the_create_body(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    schema = spec["components"]["schemas"]["AnnouncementCreate"]
    assert set(schema["required"]) == {"title", "body"}
    assert schema["properties"]["title"]["maxLength"] == 200
    assert schema["properties"]["body"]["maxLength"] == 10_000
