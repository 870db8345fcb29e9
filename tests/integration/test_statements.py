"""Statements: the opening balance plus the range's entries is the closing balance, for any
range of Shanghai days; entries are the dealer's own, oldest first."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select, update

from app.errors import Invalid
from app.extensions import db
from app.models import LedgerEntry, Tier
from app.models.wallet import FUNDS, REBATE
from app.services import statements, wallet
from tests import factories as f

_codes = itertools.count(1)


def _entry_at(dealer_code: str, account: str, amount: int, at: datetime) -> LedgerEntry:
    """A posted adjustment whose created_at is then set to `at` (UTC)."""
    entry = wallet.adjust(dealer_code, account, amount, f"memo {amount}", None)
    db.session.execute(update(LedgerEntry).where(LedgerEntry.id == entry.id).values(created_at=at))
    db.session.commit()
    return entry


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def gz():
    """Dealer GZ with funds entries on both sides of Shanghai midnights in November 2026."""
    f.tier()
    dealer = f.dealer("GZ")
    times = {
        1000: "2026-10-31T15:59:59",  # Shanghai 2026-10-31 23:59:59
        2000: "2026-10-31T16:00:00",  # Shanghai 2026-11-01 00:00:00
        -300: "2026-11-15T04:00:00",  # Shanghai 2026-11-15 12:00
        500: "2026-11-30T15:59:59",  # Shanghai 2026-11-30 23:59:59
        7000: "2026-11-30T16:00:00",  # Shanghai 2026-12-01 00:00:00
    }
    for amount, at in times.items():
        _entry_at("GZ", FUNDS, amount, _utc(at))
    return dealer


def _check(s: statements.Statement) -> None:
    assert s.opening_balance + sum(e.amount for e in s.entries) == s.closing_balance


def test_november_holds_exactly_the_entries_of_shanghai_november(gz):
    s = statements.statement(gz, FUNDS, date(2026, 11, 1), date(2026, 11, 30))
    assert s.opening_balance == 1000
    assert [e.amount for e in s.entries] == [2000, -300, 500]
    assert s.closing_balance == 3200
    _check(s)


def test_a_range_before_any_entry_is_empty_and_zero(gz):
    s = statements.statement(gz, FUNDS, date(2025, 1, 1), date(2025, 12, 31))
    assert (s.opening_balance, s.entries, s.closing_balance) == (0, [], 0)


def test_a_range_after_every_entry_opens_and_closes_at_the_balance(gz):
    s = statements.statement(gz, FUNDS, date(2027, 1, 1), date(2027, 1, 31))
    assert s.entries == []
    assert s.opening_balance == s.closing_balance == wallet.balances(gz.id)[FUNDS] == 10200


def test_one_day_crossing_shanghai_midnight_splits_at_shanghai_midnight(gz):
    oct31 = statements.statement(gz, FUNDS, date(2026, 10, 31), date(2026, 10, 31))
    nov1 = statements.statement(gz, FUNDS, date(2026, 11, 1), date(2026, 11, 1))
    assert [e.amount for e in oct31.entries] == [1000]
    assert [e.amount for e in nov1.entries] == [2000]
    assert oct31.closing_balance == nov1.opening_balance == 1000
    dec1 = statements.statement(gz, FUNDS, date(2026, 12, 1), date(2026, 12, 1))
    assert [e.amount for e in dec1.entries] == [7000]
    assert dec1.opening_balance == 3200


def test_consecutive_ranges_chain_closing_to_opening(gz):
    days = [date(2026, 10, 30) + timedelta(days=i) for i in range(4)] + [date(2026, 12, 2)]
    for first, nxt in itertools.pairwise(days):
        a = statements.statement(gz, FUNDS, first, nxt - timedelta(days=1))
        b = statements.statement(gz, FUNDS, nxt, nxt)
        _check(a)
        assert a.closing_balance == b.opening_balance


def test_entries_are_oldest_first_even_when_posted_in_another_order(gz):
    _entry_at("GZ", FUNDS, 11, _utc("2026-11-02T00:00:00"))
    s = statements.statement(gz, FUNDS, date(2026, 11, 1), date(2026, 11, 30))
    times = [e.created_at for e in s.entries]
    assert times == sorted(times)
    assert [e.amount for e in s.entries] == [2000, 11, -300, 500]


def test_only_this_dealer_and_this_account(gz):
    f.dealer("SZ")
    _entry_at("SZ", FUNDS, 999, _utc("2026-11-10T00:00:00"))
    _entry_at("GZ", REBATE, 42, _utc("2026-11-10T00:00:00"))
    funds = statements.statement(gz, FUNDS, date(2026, 11, 1), date(2026, 11, 30))
    assert all(e.dealer_id == gz.id and e.account == FUNDS for e in funds.entries)
    assert 999 not in [e.amount for e in funds.entries]
    rebate = statements.statement(gz, REBATE, date(2026, 11, 1), date(2026, 11, 30))
    assert [e.amount for e in rebate.entries] == [42]
    assert (rebate.opening_balance, rebate.closing_balance) == (0, 42)


@pytest.mark.parametrize(
    ("account", "start", "end", "code"),
    [
        (FUNDS, date(2026, 11, 2), date(2026, 11, 1), statements.RANGE_REVERSED),
        (FUNDS, date(2026, 1, 1), date(2027, 1, 2), statements.RANGE_TOO_LONG),
        ("cash", date(2026, 11, 1), date(2026, 11, 30), statements.UNKNOWN_ACCOUNT),
    ],
)
def test_bad_ranges_and_accounts_are_invalid(gz, account, start, end, code):
    with pytest.raises(Invalid) as raised:
        statements.statement(gz, account, start, end)
    assert raised.value.code == code
    assert raised.value.errors


def test_366_days_both_inclusive_is_the_longest_range(gz):
    s = statements.statement(gz, FUNDS, date(2026, 1, 1), date(2027, 1, 1))  # 366 days
    _check(s)
    with pytest.raises(Invalid):
        statements.statement(gz, FUNDS, date(2026, 1, 1), date(2027, 1, 2))


def test_this_month_is_the_shanghai_month():
    # 2026-11-30 16:30 UTC is already 1 December in Shanghai.
    assert statements.this_month(_utc("2026-11-30T16:30:00")) == (
        date(2026, 12, 1),
        date(2026, 12, 31),
    )
    assert statements.this_month(_utc("2026-02-10T00:00:00")) == (
        date(2026, 2, 1),
        date(2026, 2, 28),
    )


BASE = _utc("2026-06-01T00:00:00")
entries_st = st.lists(
    st.tuples(
        st.integers(-50_000, 50_000).filter(bool),
        st.integers(0, 60 * 24 * 20),  # minutes after BASE: 20 days
    ),
    max_size=12,
)
day_st = st.integers(-2, 22).map(lambda n: date(2026, 6, 1) + timedelta(days=n))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(posted=entries_st, a=day_st, b=day_st)
def test_opening_plus_entries_is_closing_for_any_range(posted, a, b):
    """Against a model: opening is the sum before the range's first Shanghai instant."""
    start_day, end_day = min(a, b), max(a, b)
    if db.session.scalar(select(Tier).where(Tier.code == "GOLD")) is None:
        f.tier()
    code = f"P{next(_codes)}"
    dealer = f.dealer(code)
    times = []
    for amount, minutes in posted:
        at = BASE + timedelta(minutes=minutes)
        _entry_at(code, FUNDS, amount, at)
        times.append((at, amount))
    s = statements.statement(dealer, FUNDS, start_day, end_day)
    start, end = statements.day_start(start_day), statements.day_start(end_day + timedelta(1))
    assert s.opening_balance == sum(amt for at, amt in times if at < start)
    assert sorted(e.amount for e in s.entries) == sorted(
        amt for at, amt in times if start <= at < end
    )
    _check(s)
    assert s.closing_balance == sum(amt for at, amt in times if at < end)


def test_a_statement_takes_two_queries_whatever_its_length(gz):
    """One SUM for the opening, one query for the entries with their orders."""
    for day in range(1, 20):
        _entry_at("GZ", FUNDS, day, _utc(f"2026-11-{day:02d}T01:00:00"))
    seen = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    db.session.rollback()
    assert gz.code == "GZ"  # loads the dealer again before counting
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        s = statements.statement(gz, FUNDS, date(2026, 11, 1), date(2026, 11, 30))
        numbers = [e.order.number if e.order else None for e in s.entries]
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(s.entries) == 22 and numbers == [None] * 22
    selects = [q for q in seen if q.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 2, selects
