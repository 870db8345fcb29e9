"""HQ dealer pages: the list (search, tier and active filters, pages), create and edit, the
dealer's logins (add, reset a password, deactivate), the dealer's page (facts, wallet, recent
orders, 90-day purchases), refusals at the field with nothing changed, and roles × pages:
order desk and finance read but never write, dealers never get in."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import event, select, update

from app.extensions import db
from app.models import AuditEntry, Dealer, Order
from app.models.types import utcnow
from app.services import accounts, orders, staff
from app.services.orders import LineRequest
from tests import factories as f
from tests.api.helpers import db_state

LIST = "/admin/dealers"
NEW = "/admin/dealers/new"
PAGE = "/admin/dealers/SH001"
EDIT = "/admin/dealers/SH001/edit"
USERS = "/admin/dealers/SH001/users"
PASSWORDS = {"desk": "pw-desk", "money": "pw-money"}
GOOD = {
    "code": "GZ001",
    "name": "广州天河粤丰食品批发部",
    "tier": "GOLD",
    "region": "华南·广州",
    "address": "广州市天河区黄埔大道西 76 号",
    "contact_name": "陈丽华",
    "contact_phone": "13926880002",
    "credit_limit": "40000",
}


@pytest.fixture
def hq(client):
    f.tier("GOLD", "金牌")
    f.tier("SILVER", "银牌")
    accounts.create_dealer(
        "SH001", "上海浦东鑫源商贸", "GOLD", 5_000_000, "华东·上海",
        address="上海市浦东新区张江路 188 号", contact_name="王建国",
        contact_phone="13816880001",
    )  # fmt: skip
    f.dealer_user("SH001", "buyer")
    accounts.create_dealer("BJ001", "北京朝阳京联商贸", "SILVER", 0, "华北·北京",
                           contact_name="李强")  # fmt: skip
    boss = f.admin("hq")
    staff.create_staff(boss, "desk", "pw-desk", "order_desk", "王审单")
    staff.create_staff(boss, "money", "pw-money", "finance", "李财务")
    return boss


def login(client, username, password=None):
    response = f.web_login(client, username, password or PASSWORDS.get(username, f.PASSWORD))
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return client


def post(client, url, data, page_url=None):
    token = f.csrf_from(client.get(page_url or LIST).data)
    return client.post(url, data={"csrf_token": token, **data})


def html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def row(page: str, code: str) -> str:
    found = re.search(rf'<tr id="dealer-{code}".*?</tr>', page, re.S)
    return found.group(0) if found else ""


def listed(page: str) -> list[str]:
    return re.findall(r'<tr id="dealer-([^"]+)"', page)


def dealer(code: str) -> Dealer:
    db.session.rollback()
    return db.session.scalar(select(Dealer).where(Dealer.code == code))


def audit_entries(action: str) -> list[AuditEntry]:
    db.session.rollback()
    query = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
    return list(db.session.scalars(query))


def order_for(username: str, *lines: tuple[str, int]):
    return orders.place_order(f.user_named(username), [LineRequest(s, q) for s, q in lines])


# --- the list ------------------------------------------------------------------------------


def test_the_list_shows_tier_region_credit_funds_available_and_last_order(client, hq):
    f.product("MLK-1", list_price=10_000, on_hand=50)
    f.deposit("SH001", 100_000)
    placed = order_for("buyer", ("MLK-1", 3))
    page = html(login(client, "hq").get(LIST))
    sh, bj = row(page, "SH001"), row(page, "BJ001")
    assert listed(page) == ["BJ001", "SH001"]
    assert "上海浦东鑫源商贸" in sh and "金牌" in sh and "华东·上海" in sh
    assert "¥50,000.00" in sh  # credit limit
    assert "¥700.00" in sh  # funds: 1,000 deposited, 300 paid
    assert "¥50,700.00" in sh  # available
    shanghai_day = (placed.created_at + timedelta(hours=8)).date().isoformat()
    assert shanghai_day in sh
    assert "银牌" in bj and "尚未下单" in bj and "¥0.00" in bj
    assert 'href="/admin/dealers/SH001"' in sh


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("sh001", ["SH001"]),  # code, any case
        ("京联", ["BJ001"]),  # name
        ("华北", ["BJ001"]),  # region
        ("王建国", ["SH001"]),  # contact
        ("13816880001", ["SH001"]),  # phone
        ("商贸", ["BJ001", "SH001"]),
        ("nobody", []),
    ],
)
def test_search_matches_code_name_region_and_contact(client, hq, q, expected):
    page = html(login(client, "hq").get(LIST, query_string={"q": q}))
    assert listed(page) == expected
    if not expected:
        assert "没有符合条件的经销商" in page


def test_tier_and_active_filters_narrow_the_list_and_keep_each_other(client, hq):
    accounts.update_dealer("BJ001", {"active": False})
    login(client, "hq")
    assert listed(html(client.get(f"{LIST}?tier=SILVER"))) == ["BJ001"]
    assert listed(html(client.get(f"{LIST}?tier=GOLD"))) == ["SH001"]
    assert listed(html(client.get(f"{LIST}?active=0"))) == ["BJ001"]
    assert listed(html(client.get(f"{LIST}?active=1"))) == ["SH001"]
    assert listed(html(client.get(f"{LIST}?tier=SILVER&active=1"))) == []
    page = html(client.get(f"{LIST}?q=商贸&tier=SILVER"))
    # The active chips keep the search and the tier.
    assert 'href="/admin/dealers?q=%E5%95%86%E8%B4%B8&amp;tier=SILVER&amp;active=0"' in page
    assert "已停用" in row(page, "BJ001")


def test_the_list_is_paged_thirty_at_a_time(client, hq):
    for n in range(31):
        f.dealer(f"X{n:03d}", tier_code="SILVER")
    login(client, "hq")
    first = html(client.get(LIST))
    assert len(listed(first)) == 30 and "33 家经销商" in first
    assert 'rel="next" href="/admin/dealers?page=2"' in first
    second = html(client.get(f"{LIST}?page=2"))
    assert listed(second) == ["X028", "X029", "X030"]
    assert 'rel="prev"' in second and 'rel="next"' not in second


def _statements(client, url) -> int:
    seen = []

    def count(*_args):
        seen.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        html(client.get(url))
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(seen)


def test_the_list_reads_its_dealers_without_a_query_per_dealer(client, hq):
    login(client, "hq")
    html(client.get(LIST))
    two = _statements(client, LIST)
    for n in range(12):
        f.dealer(f"X{n:03d}", tier_code="SILVER")
        f.dealer_user(f"X{n:03d}")
        f.deposit(f"X{n:03d}", 1000)
    html(client.get(LIST))  # warm again: new dealers dropped the cached signed-in user
    assert _statements(client, LIST) == two


# --- create and edit -----------------------------------------------------------------------


def test_an_admin_creates_a_dealer_and_lands_on_its_logins(client, hq):
    login(client, "hq")
    response = post(client, NEW, {**GOOD, "credit_limit": "¥40,000.50"}, NEW)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/dealers/GZ001#users")
    stored = dealer("GZ001")
    assert (stored.name, stored.tier.code, stored.region) == (GOOD["name"], "GOLD", "华南·广州")
    assert (stored.address, stored.contact_name, stored.contact_phone) == (
        GOOD["address"], "陈丽华", "13926880002",
    )  # fmt: skip
    assert stored.credit_limit == 4_000_050 and stored.active
    [entry] = [e for e in audit_entries("dealer.create") if e.object_key == "GZ001"]
    assert entry.username == "hq" and entry.via == "page"
    page = html(client.get(response.headers["Location"]))
    assert "已创建 GZ001" in page and 'id="add-user"' in page and " open" in page


@pytest.mark.parametrize(
    ("typed", "fen"), [("", 0), ("0", 0), ("５０００", 500_000), ("12.5", 1250), ("1,000", 100_000)]
)
def test_the_credit_limit_is_read_as_people_type_it(client, hq, typed, fen):
    login(client, "hq")
    assert post(client, NEW, {**GOOD, "credit_limit": typed}, NEW).status_code == 302
    assert dealer("GZ001").credit_limit == fen


@pytest.mark.parametrize(
    ("changes", "field", "message", "status"),
    [
        ({"code": "SH001"}, "code", "已有经销商使用此编码", 409),
        ({"code": "two words"}, "code", "经销商编码请用", 422),
        ({"code": ""}, "code", "经销商编码请用", 422),
        ({"name": " "}, "name", "请填写经销商名称", 422),
        ({"tier": "PLATINUM"}, "tier", "请从列表中选择等级", 422),
        ({"tier": ""}, "tier", "请从列表中选择等级", 422),
        ({"credit_limit": "abc"}, "credit_limit", "请输入以元为单位的信用额度", 422),
        ({"credit_limit": "-5"}, "credit_limit", "请输入以元为单位的信用额度", 422),
        ({"credit_limit": "1.234"}, "credit_limit", "请输入以元为单位的信用额度", 422),
        ({"contact_name": "王" * 65}, "contact_name", "联系人姓名最多 64 个字符", 422),
        ({"contact_phone": "1" * 33}, "contact_phone", "电话最多 32 个字符", 422),
        ({"address": "路" * 256}, "address", "地址最多 255 个字符", 422),
        ({"region": "区" * 65}, "region", "区域最多 64 个字符", 422),
    ],
)
def test_bad_dealer_input_is_shown_at_the_field_and_nothing_is_created(
    client, hq, changes, field, message, status
):
    login(client, "hq")
    token = f.csrf_from(client.get(NEW).data)
    before = db_state()
    response = client.post(NEW, data={"csrf_token": token, **GOOD, **changes})
    assert response.status_code == status
    page = response.get_data(as_text=True)
    assert re.search(rf'<p class="field-note" id="{field}-error">[^<]*{message}', page), page
    assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', page)
    assert "请更正下方标出的内容，未做任何更改" in page
    assert GOOD["address"] in page or field == "address"  # what was typed stays
    assert db_state() == before


def test_an_admin_edits_everything_but_the_code(client, hq):
    login(client, "hq")
    changes = {**GOOD, "code": "HACK", "name": "上海鑫源（新）", "tier": "SILVER",
               "credit_limit": "60000", "active": "1"}  # fmt: skip
    response = post(client, EDIT, changes, EDIT)
    assert response.status_code == 302 and response.headers["Location"].endswith(PAGE)
    stored = dealer("SH001")
    assert stored.name == "上海鑫源（新）" and stored.tier.code == "SILVER"
    assert stored.credit_limit == 6_000_000 and stored.contact_name == "陈丽华"
    assert stored.region == "华南·广州" and stored.active
    assert dealer("HACK") is None
    [entry] = audit_entries("dealer.update")
    assert entry.object_key == "SH001" and "SILVER" in entry.after and "GOLD" in entry.before
    assert "已保存" in html(client.get(PAGE))


def test_the_edit_form_shows_the_stored_values(client, hq):
    page = html(login(client, "hq").get(EDIT))
    assert 'value="50000.00"' in page and 'value="王建国"' in page
    assert '<option value="GOLD" selected>' in page and 'name="active" value="1" checked' in page
    assert "上海市浦东新区张江路 188 号</textarea>" in page
    assert 'name="code"' not in page


def test_deactivating_a_dealer_signs_its_users_out_at_once(app, client, hq):
    buyer = login(app.test_client(), "buyer")
    assert buyer.get("/catalog").status_code == 200
    login(client, "hq")
    values = {k: v for k, v in GOOD.items() if k != "code"} | {"name": "上海浦东鑫源商贸"}
    response = post(client, EDIT, values, EDIT)  # active left unticked
    assert response.status_code == 302
    assert not dealer("SH001").active
    assert "已停用" in html(client.get(PAGE))
    assert buyer.get("/catalog").status_code == 302  # back to the login page
    assert f.web_login(app.test_client(), "buyer").status_code == 403


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"tier": "PLATINUM"}, "tier"),
        ({"credit_limit": "五万"}, "credit_limit"),
        ({"contact_name": "王" * 65}, "contact_name"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_edits_are_refused_at_the_field_and_change_nothing(client, hq, changes, field):
    login(client, "hq")
    token = f.csrf_from(client.get(EDIT).data)
    before = db_state()
    data = {"name": "新名字", "tier": "SILVER", "credit_limit": "1", "active": "1", **changes}
    response = client.post(EDIT, data={"csrf_token": token, **data})
    assert response.status_code == 422
    assert f'id="{field}-error"' in response.get_data(as_text=True)
    assert db_state() == before


def test_an_unknown_dealer_is_a_404_page(client, hq):
    login(client, "hq")
    assert client.get("/admin/dealers/NOPE").status_code == 404
    assert client.get("/admin/dealers/NOPE/edit").status_code == 404
    before = db_state()
    assert (
        post(client, "/admin/dealers/NOPE/edit", {"name": "x", "tier": "GOLD"}).status_code == 404
    )
    assert post(client, "/admin/dealers/NOPE/users", {"username": "x"}).status_code == 404
    assert db_state() == before


# --- logins --------------------------------------------------------------------------------


def test_an_admin_adds_a_login_with_a_typed_password(app, client, hq):
    login(client, "hq")
    data = {"username": "sh-2", "name": "小王", "password": "pw-new-1"}
    response = post(client, USERS, data, PAGE)
    assert response.status_code == 302 and response.headers["Location"].endswith("#users")
    page = html(client.get(PAGE))
    assert "sh-2" in page and "小王" in page and "pw-new-1" not in page
    other = app.test_client()
    assert f.web_login(other, "sh-2", "pw-new-1").headers["Location"].endswith("/catalog")
    assert audit_entries("dealer_user.create")[-1].object_key == "sh-2"


def test_a_login_without_a_typed_password_gets_one_shown_once(app, client, hq):
    login(client, "hq")
    response = post(client, USERS, {"username": "sh-3", "name": "", "password": ""}, PAGE)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    password = re.search(r'<code id="shown-password">([^<]+)</code>', html(response)).group(1)
    assert re.fullmatch(r"[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}", password)
    assert f.web_login(app.test_client(), "sh-3", password).status_code == 302
    assert password not in html(client.get(PAGE))  # once only
    assert all(password not in e.after for e in audit_entries("dealer_user.create"))


@pytest.mark.parametrize(
    ("data", "field", "message", "status"),
    [
        ({"username": "buyer", "password": "p"}, "username", "该用户名已被占用", 409),
        ({"username": "hq", "password": "p"}, "username", "该用户名已被占用", 409),
        ({"username": "two words", "password": "p"}, "username", "不含空格", 422),
        ({"username": "", "password": "p"}, "username", "不含空格", 422),
        ({"username": "ok", "name": "名" * 129, "password": "p"}, "name", "128", 422),
        ({"username": "ok", "password": "p" * 129}, "password", "1–128", 422),
    ],
)
def test_bad_login_input_is_shown_and_nothing_is_created(client, hq, data, field, message, status):
    login(client, "hq")
    token = f.csrf_from(client.get(PAGE).data)
    before = db_state()
    response = client.post(USERS, data={"csrf_token": token, **data})
    assert response.status_code == status
    page = response.get_data(as_text=True)
    assert re.search(rf'id="user-{field}-error">[^<]*{message}', page), page[-3000:]
    assert db_state() == before


def test_a_typed_reset_ends_the_users_sessions_and_tokens_at_once(app, client, hq):
    buyer = login(app.test_client(), "buyer")
    token = f.api_headers(f.user_named("buyer"))
    assert buyer.get("/catalog").status_code == 200
    assert app.test_client().get("/api/v1/catalog", headers=token).status_code == 200
    login(client, "hq")
    response = post(client, f"{USERS}/buyer/password", {"password": "pw-reset-9"}, PAGE)
    assert response.status_code == 302
    assert "其登录状态已全部失效" in html(client.get(PAGE))
    assert buyer.get("/catalog").status_code == 302
    assert app.test_client().get("/api/v1/catalog", headers=token).status_code == 401
    assert f.web_login(app.test_client(), "buyer").status_code == 401  # the old password
    assert f.web_login(app.test_client(), "buyer", "pw-reset-9").status_code == 302
    [entry] = audit_entries("dealer_user.password_reset")
    assert entry.username == "hq" and entry.object_key == "buyer"
    assert "pw-reset-9" not in entry.after + entry.before and '"set"' in entry.after


def test_an_empty_reset_makes_up_a_password_shown_once(app, client, hq):
    login(client, "hq")
    response = post(client, f"{USERS}/buyer/password", {"password": ""}, PAGE)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    page = html(response)
    password = re.search(r'<code id="shown-password">([^<]+)</code>', page).group(1)
    assert "buyer 的新密码" in page
    assert f.web_login(app.test_client(), "buyer").status_code == 401
    assert f.web_login(app.test_client(), "buyer", password).status_code == 302
    [entry] = audit_entries("dealer_user.password_reset")
    assert password not in entry.after and '"generated"' in entry.after


def test_a_too_long_reset_is_refused_and_changes_nothing(client, hq):
    login(client, "hq")
    before = db_state()
    response = post(client, f"{USERS}/buyer/password", {"password": "x" * 129}, PAGE)
    assert response.status_code == 422
    assert 'id="reset-buyer-error"' in response.get_data(as_text=True)
    assert db_state() == before


def test_deactivating_a_login_signs_it_out_and_reactivating_lets_it_back(app, client, hq):
    buyer = login(app.test_client(), "buyer")
    login(client, "hq")
    response = post(client, f"{USERS}/buyer/active", {"active": "0"}, PAGE)
    assert response.status_code == 302
    assert buyer.get("/catalog").status_code == 302
    assert f.web_login(app.test_client(), "buyer").status_code == 403
    page = html(client.get(PAGE))
    assert "已停用" in page and "恢复" in page
    assert post(client, f"{USERS}/buyer/active", {"active": "1"}, PAGE).status_code == 302
    assert f.web_login(app.test_client(), "buyer").status_code == 302
    actions = [(e.before, e.after) for e in audit_entries("dealer_user.update")]
    assert actions == [('{"active": true}', '{"active": false}'),
                       ('{"active": false}', '{"active": true}')]  # fmt: skip


@pytest.mark.parametrize("action", ["password", "active"])
def test_another_dealers_user_or_staff_is_not_found_here(client, hq, action):
    f.dealer_user("BJ001", "bj-buyer")
    login(client, "hq")
    before = db_state()
    for username in ("bj-buyer", "desk", "nobody"):
        response = post(client, f"{USERS}/{username}/{action}", {"password": "x", "active": "0"})
        assert response.status_code == 404, username
    assert db_state() == before


# --- the dealer's page ---------------------------------------------------------------------


def test_the_dealer_page_shows_facts_wallet_recent_orders_and_90_day_purchases(client, hq):
    f.product("MLK-1", name="纯牛奶", list_price=10_000, on_hand=100)
    f.product("TEA-1", name="乌龙茶", list_price=2_500, on_hand=100)
    f.deposit("SH001", 1_000_000)
    first = order_for("buyer", ("MLK-1", 3), ("TEA-1", 2))
    second = order_for("buyer", ("TEA-1", 4))
    cancelled = order_for("buyer", ("MLK-1", 10))
    orders.cancel_order(f.user_named("buyer"), cancelled.number)
    old = order_for("buyer", ("MLK-1", 5))
    db.session.execute(
        update(Order).where(Order.id == old.id).values(created_at=utcnow() - timedelta(days=91))
    )
    db.session.commit()
    page = html(login(client, "hq").get(PAGE))
    for fact in ("王建国", 'href="tel:13816880001"', "上海市浦东新区张江路 188 号", "华东·上海"):
        assert fact in page, fact
    wallet = re.search(r'<section class="card" id="wallet">.*?</section>', page, re.S).group(0)
    paid = 30_000 + 5_000 + 10_000 + 50_000  # the cancelled order was refunded
    assert f"¥{(1_000_000 - paid) / 100:,.2f}" in wallet and "¥50,000.00" in wallet
    assert f"¥{(1_000_000 - paid + 5_000_000) / 100:,.2f}" in wallet
    recent = re.search(r'<section class="card" id="orders">.*?</section>', page, re.S).group(0)
    for order in (first, second, cancelled, old):
        assert f'href="/admin/orders/{order.number}"' in recent
    bought = re.search(r'<section class="card" id="purchases">.*?</section>', page, re.S).group(0)
    assert "¥450.00" in bought  # 300 + 50 + 100: not the cancelled one, not the 91-day-old one
    assert "共 2 个订单" in bought
    assert bought.index("纯牛奶") < bought.index("乌龙茶")  # by amount: 300 before 150
    assert "3箱" in bought and "¥300.00" in bought and "6箱" in bought and "¥150.00" in bought


def test_the_dealer_page_without_orders_says_so(client, hq):
    page = html(login(client, "hq").get("/admin/dealers/BJ001"))
    assert "还没有订单" in page and "¥0.00" in page and "近 90 天没有采购" in page
    assert "还没有登录账号" in page


@pytest.mark.parametrize(
    ("username", "sees_finance"), [("hq", True), ("money", True), ("desk", False)]
)
def test_finance_links_show_for_the_roles_that_may_open_them(client, hq, username, sees_finance):
    page = html(login(client, username).get(PAGE))
    assert ('href="/admin/finance/deposits?dealer=SH001"' in page) is sees_finance
    assert ('href="/admin/finance/statements?dealer=SH001"' in page) is sees_finance


# --- roles × pages -------------------------------------------------------------------------

WRITES = [
    (NEW, GOOD),
    (EDIT, {"name": "改名", "tier": "SILVER", "credit_limit": "1", "active": "1"}),
    (USERS, {"username": "sneaky", "password": "pw-x"}),
    (f"{USERS}/buyer/password", {"password": "pw-x"}),
    (f"{USERS}/buyer/active", {"active": "0"}),
]


@pytest.mark.parametrize("username", ["desk", "money"])
def test_order_desk_and_finance_read_dealers_but_never_write(client, hq, username):
    login(client, username)
    listing = html(client.get(LIST))
    assert listed(listing) == ["BJ001", "SH001"] and 'id="new-dealer"' not in listing
    page = html(client.get(PAGE))
    assert "王建国" in page and "buyer" in page
    assert 'id="edit-dealer"' not in page and "/admin/dealers/SH001/users" not in page
    assert client.get(NEW).status_code == 403
    assert client.get(EDIT).status_code == 403
    before = db_state()
    token = f.csrf_from(listing)
    for url, data in WRITES:
        assert client.post(url, data={"csrf_token": token, **data}).status_code == 403, url
    assert db_state() == before


def test_the_navigation_leads_every_hq_role_to_the_dealers(client, hq):
    for username in ("hq", "desk", "money"):
        other = login(client.application.test_client(), username)
        nav = re.search(r'<nav class="hq-side".*?</nav>', html(other.get("/admin/")), re.S)
        assert 'href="/admin/dealers"' in nav.group(0), username


def test_dealers_are_refused_every_dealer_page(client, hq):
    login(client, "buyer")
    for url in (LIST, NEW, PAGE, EDIT):
        assert client.get(url).status_code == 403, url
    token = f.csrf_from(client.get("/me").data)
    before = db_state()
    for url, data in WRITES:
        assert client.post(url, data={"csrf_token": token, **data}).status_code == 403, url
    assert db_state() == before


def test_an_admin_writes_nothing_without_the_csrf_token(client, hq):
    login(client, "hq")
    before = db_state()
    for url, data in WRITES:
        assert client.post(url, data=data).status_code == 400, url
    assert db_state() == before


def test_every_form_on_the_dealer_pages_carries_a_csrf_token(client, hq):
    login(client, "hq")
    for url in (LIST, NEW, PAGE, EDIT):
        forms = re.findall(r'<form method="post".*?</form>', html(client.get(url)), re.S)
        assert forms, url
        for form in forms:
            assert re.search(r'name="csrf_token" value="[^"]+"', form), (url, form[:100])


def test_a_page_that_shows_a_password_once_is_never_kept_for_a_replay(client, hq):
    """Sent twice, the login form makes one login; the replay goes back to the dealer's page
    and the made-up password is stored nowhere (idempotency_keys included)."""
    from app.models import IdempotencyKey
    from tests.web.test_forms_once import hidden_fields

    login(client, "hq")
    hidden = hidden_fields(html(client.get(PAGE)), USERS)
    form = {**hidden, "username": "sh-9", "name": "", "password": ""}
    first = client.post(USERS, data=form, headers={"Referer": f"http://localhost{PAGE}"})
    again = client.post(USERS, data=form, headers={"Referer": f"http://localhost{PAGE}"})

    password = re.search(r'<code id="shown-password">([^<]+)</code>', html(first)).group(1)
    assert again.status_code == 303 and again.headers["Location"] == PAGE
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Cache-Control"] == "no-store"
    db.session.rollback()
    kept = db.session.scalars(select(IdempotencyKey.response_body)).all()
    assert kept and all(password not in body for body in kept)
    dealer_id = accounts.dealer_by_code("SH001").id
    logins = [u.username for u in accounts.dealer_users([dealer_id])[dealer_id]]
    assert logins.count("sh-9") == 1
