"""The dashboard's figures with known data: handling time (median and p90 over 7 and 30 days),
sales by Shanghai day, this month's top lists, low stock, dealer health — cancelled and
rejected orders never counted — and the figures a process keeps up from the event log equal
the ones computed afresh."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text, update

from app.extensions import db
from app.models import Order, OrderEvent, User
from app.services import accounts, dashboard, logistics, orders
from app.services.dashboard import _percentile
from app.services.logistics import ShipLine
from app.services.orders import LineRequest
from tests import factories as f

# Wednesday 18 March 2026, 12:00 in Shanghai: the month began 17 days ago.
NOW = datetime(2026, 3, 18, 4, 0, tzinfo=UTC)
HOUR = 3600


@pytest.fixture(autouse=True)
def _fresh_figures():
    dashboard.forget()
    yield
    dashboard.forget()


@pytest.fixture
def shop():
    f.tier("GOLD", "金牌")
    for code, name in (("SH001", "上海鑫源"), ("BJ001", "北京京联"), ("GZ001", "广州粤丰")):
        f.dealer(code, "GOLD", name=name)
        f.dealer_user(code, code.lower())
        f.deposit(code, 100_000_000)
    f.admin("hq")
    f.product("TEA", name="绿茶", list_price=1000, on_hand=10_000)  # ¥10 a 箱
    f.product("RICE", name="大米", list_price=5000, unit="袋", on_hand=10_000)  # ¥50 a 袋
    logistics.create_carrier("sf", "顺丰")


def user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def place(dealer: str = "SH001", tea: int = 1, rice: int = 0) -> str:
    lines = [LineRequest(sku, qty) for sku, qty in (("TEA", tea), ("RICE", rice)) if qty]
    return orders.place_order(user(dealer.lower()), lines).number


def approve(number: str) -> None:
    orders.approve_order(user("hq"), number)


def ship(number: str, tea: int | None = None) -> None:
    lines = None if tea is None else [ShipLine("TEA", tea)]
    logistics.create_shipment(user("hq"), number, "sf", f"SF{number}{tea}", lines)


def rewrite(number: str, placed: datetime, **hours_after: float) -> None:
    """Move an order into the past: placed then, each status event so many hours later."""
    order_id = db.session.scalar(select(Order.id).where(Order.number == number))
    db.session.execute(update(Order).where(Order.id == order_id).values(created_at=placed))
    for event in db.session.scalars(select(OrderEvent).where(OrderEvent.order_id == order_id)):
        event.at = placed + timedelta(hours=hours_after.get(event.status, 0))
    db.session.commit()


def shanghai(day: int, hour: float, month: int = 3) -> datetime:
    """An instant given in Shanghai time, March 2026 unless told."""
    local = datetime(2026, month, day, tzinfo=dashboard.SHANGHAI) + timedelta(hours=hour)
    return local.astimezone(UTC)


def figures(now: datetime = NOW) -> dashboard.Dashboard:
    db.session.rollback()
    return dashboard.dashboard(now)


def test_handling_time_is_the_median_and_p90_over_the_last_7_and_30_days(shop):
    # (days before NOW it was approved, hours it took)
    approvals = [(1, 1), (2, 2), (3, 3), (4, 4), (6, 10), (10, 20), (20, 40), (40, 100)]
    for days_ago, hours in approvals:
        number = place()
        approve(number)
        rewrite(number, NOW - timedelta(days=days_ago, hours=hours), approved=hours)
    unapproved = place()
    rewrite(unapproved, NOW - timedelta(days=2))

    week, month = figures().handling
    assert (week.days, week.approved.count) == (7, 5)
    assert week.approved.median_s == 3 * HOUR
    assert week.approved.p90_s == pytest.approx(7.6 * HOUR)  # 4 h + 0.6 × (10 h − 4 h)
    assert (month.days, month.approved.count) == (30, 7)
    assert month.approved.median_s == 4 * HOUR
    assert month.approved.p90_s == pytest.approx(28 * HOUR)  # 20 h + 0.4 × (40 h − 20 h)
    assert week.shipped == dashboard.Stat(0, None, None)


def test_handling_time_to_shipment_counts_the_first_shipment_only(shop):
    partly = place(tea=10)
    approve(partly)
    ship(partly, tea=4)
    ship(partly)  # the rest, a day later: the order became 已发货 only then
    whole = place(tea=2)
    approve(whole)
    ship(whole)
    rewrite(partly, NOW - timedelta(days=3), approved=2, partially_shipped=5, shipped=29)
    rewrite(whole, NOW - timedelta(days=3), approved=1, shipped=9)

    week = figures().handling[0]
    assert week.shipped.count == 2
    assert week.shipped.median_s == 7 * HOUR  # between 5 h and 9 h, never 29 h
    assert week.approved.median_s == 1.5 * HOUR


def test_the_last_days_are_shanghai_days_with_today_last(shop):
    just_after_midnight = place(tea=3)  # 00:30 on the 18th in Shanghai, 16:30 UTC the day before
    rewrite(just_after_midnight, shanghai(18, 0.5))
    just_before = place(tea=5)
    rewrite(just_before, shanghai(17, 23.5))
    month_ago = place(tea=7)
    rewrite(month_ago, shanghai(17, 12, month=2))  # the oldest day of the chart
    too_old = place(tea=9)
    rewrite(too_old, shanghai(16, 12, month=2))

    found = figures()
    assert [s.day.isoformat() for s in found.sales[:1] + found.sales[-2:]] == [
        "2026-02-17",
        "2026-03-17",
        "2026-03-18",
    ]
    assert len(found.sales) == 30
    by_day = {s.day.isoformat(): (s.amount, s.orders) for s in found.sales if s.amount}
    assert by_day == {
        "2026-02-17": (7000, 1),
        "2026-03-17": (5000, 1),
        "2026-03-18": (3000, 1),
    }
    assert found.orders_today == dashboard.Today(placed=1, excluded=0, amount=3000)


def test_cancelled_and_rejected_orders_count_in_no_amount(shop):
    kept = place("SH001", tea=1, rice=1)  # ¥60
    cancelled = place("SH001", tea=2, rice=3)
    orders.cancel_order(user("sh001"), cancelled)
    rejected = place("BJ001", rice=10)
    orders.reject_order(user("hq"), rejected, "缺货")
    approved_then_rejected = place("GZ001", tea=50)
    approve(approved_then_rejected)
    orders.reject_order(user("hq"), approved_then_rejected, "客户取消")
    for number in (kept, cancelled, rejected, approved_then_rejected):
        rewrite(number, NOW - timedelta(hours=2), approved=1, cancelled=1, rejected=1.5)

    found = figures()
    assert found.orders_today == dashboard.Today(placed=4, excluded=3, amount=6000)
    assert found.sales[-1] == dashboard.DaySales(found.today, 6000, 1)
    assert [(d.code, d.amount) for d in found.top_dealers] == [("SH001", 6000)]
    assert [(p.sku, p.amount, p.qty) for p in found.top_products] == [
        ("RICE", 5000, 1),
        ("TEA", 1000, 1),
    ]


def test_top_dealers_and_products_are_this_months_by_amount(shop):
    for dealer, tea, rice, placed in (
        ("SH001", 10, 0, shanghai(1, 0.1)),  # ¥100 on the first of the month
        ("BJ001", 0, 3, shanghai(17, 10)),  # ¥150
        ("BJ001", 5, 0, shanghai(18, 9)),  # ¥50
        ("GZ001", 0, 20, shanghai(28, 23.9, month=2)),  # ¥1,000, but in February
    ):
        rewrite(place(dealer, tea=tea, rice=rice), placed)

    found = figures()
    assert found.month_start.isoformat() == "2026-03-01"
    assert [(d.code, d.name, d.amount) for d in found.top_dealers] == [
        ("BJ001", "北京京联", 20000),
        ("SH001", "上海鑫源", 10000),
    ]
    assert [(p.sku, p.name, p.unit, p.amount, p.qty) for p in found.top_products] == [
        ("TEA", "绿茶", "箱", 15000, 15),
        ("RICE", "大米", "袋", 15000, 3),
    ]


def test_dealer_health_names_the_silent_and_the_halved(shop):
    f.dealer("WH001", "GOLD", name="武汉楚天")  # never ordered
    f.dealer("XA001", "GOLD", name="西安秦川")
    f.dealer_user("XA001", "xa001")
    f.deposit("XA001", 100_000_000)
    f.dealer("OFF01", "GOLD", name="停用经销商")
    accounts.update_dealer("OFF01", {"active": False})  # never ordered either, but not active
    # The last 30 days are 17 Feb – 18 Mar; the 30 before, 18 Jan – 16 Feb.
    for dealer, tea, placed in (
        ("SH001", 40, shanghai(10, 12)),  # ¥400 now …
        ("SH001", 100, shanghai(1, 12, month=2)),  # … against ¥1,000: down by 60 %
        ("BJ001", 50, shanghai(17, 0.1, month=2)),  # exactly half: counts
        ("BJ001", 100, shanghai(16, 23.9, month=2)),
        ("GZ001", 60, shanghai(15, 12)),  # ¥600 against ¥1,000: not half
        ("GZ001", 100, shanghai(20, 12, month=1)),
        ("XA001", 100, shanghai(16, 12, month=2)),  # silent since the 16th of February
    ):
        rewrite(place(dealer, tea=tea), placed)

    found = figures()
    assert [(s.code, s.last_order) for s in found.silent] == [
        ("WH001", None),
        ("XA001", shanghai(16, 12, month=2)),
    ]
    assert found.silent_count == 2
    assert [(d.code, d.last_30, d.before_30) for d in found.falling] == [
        ("SH001", 40000, 100000),
        ("BJ001", 50000, 100000),
    ]
    assert found.falling_count == 2


def test_low_stock_lists_the_least_available_first(shop):
    f.product("A", name="甲", on_hand=0, low_stock_threshold=5)
    f.product("B", name="乙", on_hand=3, low_stock_threshold=5)
    f.product("C", name="丙", on_hand=6, low_stock_threshold=5)
    f.product("D", name="丁", on_hand=5, low_stock_threshold=5)
    f.product("OFF", name="停售", on_hand=0, active=False)
    place("SH001", tea=1)

    found = figures()
    assert [(p.sku, p.available, p.threshold) for p in found.low_stock] == [
        ("A", 0, 5),
        ("B", 3, 5),
        ("D", 5, 5),
    ]
    assert found.low_stock_count == 3


def test_the_queue_counts_waiting_orders_and_shows_the_oldest_first(shop):
    numbers = [place() for _ in range(5)]
    for hours, number in zip((5, 50, 1, 3, 2), numbers, strict=True):
        rewrite(number, NOW - timedelta(hours=hours))
    approve(numbers[2])

    queue = figures().queue
    assert queue.count == 4
    assert queue.oldest == NOW - timedelta(hours=50)
    assert [o.number for o in queue.orders] == [numbers[1], numbers[0], numbers[3]]
    assert queue.orders[0].dealer.code == "SH001" and queue.orders[0].lines[0].sku == "TEA"


def _history(found: dashboard.Dashboard) -> tuple:
    return (
        found.orders_today,
        found.handling,
        found.sales,
        found.top_dealers,
        found.top_products,
        found.falling,
    )


def test_what_a_process_keeps_up_from_the_log_equals_a_fresh_computation(shop, monkeypatch):
    builds = []
    build = dashboard._History._build
    monkeypatch.setattr(
        dashboard._History, "_build", lambda self, *a: builds.append(1) or build(self, *a)
    )
    now = datetime.now(UTC)
    rng = random.Random(9)
    for n in range(12):  # some history first
        number = place(rng.choice(["SH001", "BJ001", "GZ001"]), tea=rng.randint(1, 9))
        approve(number)
        if n % 3:
            ship(number)
        rewrite(number, now - timedelta(days=rng.uniform(1, 50)), approved=3 + n, shipped=9 + n)
    before = dashboard.dashboard(now)  # computed once …
    db.session.rollback()

    # … then the day goes on: new orders, approvals, shipments, a cancellation, rejections,
    # one of an order placed long ago.
    old = db.session.scalar(select(Order.number).where(Order.status == "approved").limit(1))
    new = [place(code, tea=2, rice=1) for code in ("SH001", "BJ001", "GZ001", "SH001")]
    approve(new[0])
    ship(new[0], tea=1)
    approve(new[1])
    orders.cancel_order(user("gz001"), new[2])
    orders.reject_order(user("hq"), new[3], "重复下单")
    orders.reject_order(user("hq"), old, "客户取消")
    later = datetime.now(UTC)
    kept_up = dashboard.dashboard(later)  # … follows the log
    assert len(builds) == 1

    dashboard.forget()
    afresh = dashboard.dashboard(later)
    assert _history(kept_up) == _history(afresh)
    assert kept_up.orders_today.placed == before.orders_today.placed + 4
    assert kept_up.orders_today.excluded == before.orders_today.excluded + 2
    assert kept_up.handling[0].approved.count == before.handling[0].approved.count + 2
    assert kept_up.handling[0].shipped.count == before.handling[0].shipped.count + 1


def test_a_process_far_behind_computes_afresh_rather_than_catching_up(shop, monkeypatch):
    builds = []
    build = dashboard._History._build
    monkeypatch.setattr(
        dashboard._History, "_build", lambda self, *a: builds.append(1) or build(self, *a)
    )
    monkeypatch.setattr(dashboard, "FEED_MAX", 2)
    now = datetime.now(UTC)
    place(tea=1)
    assert figures(now).orders_today.amount == 1000
    place(tea=2)
    assert figures(now).orders_today.amount == 3000  # one event to follow
    assert len(builds) == 1
    for qty in (3, 4, 5):
        place(tea=qty)
    assert figures(now).orders_today.amount == 15000  # three: more than it follows
    assert len(builds) == 2


def test_history_rewritten_underneath_is_noticed_not_followed(shop):
    number = place(tea=7)
    now = datetime.now(UTC)
    assert figures(now).orders_today.amount == 7000
    # What a reloaded database (or a test) does and the app never does: change the past.
    rewrite(number, now - timedelta(days=2))
    found = figures(now)
    assert found.orders_today.amount == 0
    assert found.sales[-3].amount == 7000


@pytest.mark.no_db
@pytest.mark.parametrize("seed", range(20))
def test_percentiles_of_several_sorted_lists_are_percentile_cont_of_their_union(seed):
    rng = random.Random(seed)
    parts = [sorted(rng.randint(0, 50) for _ in range(rng.randint(0, 9))) for _ in range(3)]
    values = sorted(v for part in parts for v in part)
    for fraction in (0.0, 0.1, 0.5, 0.9, 1.0):
        if not values:
            assert _percentile(parts, fraction) is None
            continue
        position = fraction * (len(values) - 1)
        low, high = values[int(position)], values[min(int(position) + 1, len(values) - 1)]
        expected = low + (high - low) * (position - int(position))
        assert _percentile(parts, fraction) == pytest.approx(expected)


@pytest.mark.postgres
def test_the_percentiles_are_postgresqls_percentile_cont(shop):
    rng = random.Random(5)
    for _ in range(15):
        number = place()
        approve(number)
        hours = rng.uniform(0.1, 60)
        rewrite(number, NOW - timedelta(days=rng.uniform(1, 5), hours=hours), approved=hours)
    week = figures().handling[0]
    median, p90 = db.session.execute(
        text(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY d),"
            " percentile_cont(0.9) WITHIN GROUP (ORDER BY d) FROM ("
            "  SELECT round(extract(epoch FROM a.at - s.at)) AS d FROM order_events a"
            "  JOIN order_events s ON s.order_id = a.order_id AND s.status = 'submitted'"
            "  WHERE a.status = 'approved') AS t"
        )
    ).one()
    assert week.approved.count == 15
    assert week.approved.median_s == pytest.approx(median)
    assert week.approved.p90_s == pytest.approx(p90)
