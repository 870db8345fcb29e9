"""Orderable quantities: the rules the stepper, the cart and the break table share."""

from hypothesis import given
from hypothesis import strategies as st

from app.services.pricing import PriceBreak, unit_price
from app.services.quantities import BreakRow, PackRules, break_rows, fit

rules_st = st.builds(PackRules, st.integers(1, 50), st.integers(1, 12))
qty_st = st.integers(0, 400)


def orderable(rules: PackRules, upto: int) -> list[int]:
    return [q for q in range(1, upto + 1) if rules.valid(q)]


@st.composite
def tables(draw):
    mins = sorted(draw(st.sets(st.integers(2, 300), max_size=5)))
    prices = draw(st.lists(st.integers(1, 10_000), min_size=len(mins) + 1, max_size=len(mins) + 1))
    return tuple(PriceBreak(m, p) for m, p in zip([1, *mins], prices, strict=True))


def test_pack_of_two_from_six():
    rules = PackRules(6, 2)
    assert rules.first == 6
    assert (rules.below(7), rules.above(7)) == (6, 8)
    assert rules.above(8) == 10 and rules.below(8) == 6
    assert rules.above(3) == 6 and rules.below(6) is None
    assert rules.up_to(4) is None and rules.up_to(11) == 10


def test_minimum_that_is_not_a_whole_pack_rounds_up():
    assert PackRules(5, 2).first == 6


@given(rules_st, qty_st)
def test_above_is_the_next_orderable_quantity(rules, qty):
    nxt = rules.above(qty)
    assert rules.valid(nxt) and nxt > qty
    assert not any(rules.valid(q) for q in range(qty + 1, nxt))


@given(rules_st, qty_st)
def test_below_is_the_previous_orderable_quantity(rules, qty):
    prev = rules.below(qty)
    if prev is None:
        assert not any(rules.valid(q) for q in range(1, qty))
    else:
        assert rules.valid(prev) and prev < qty
        assert not any(rules.valid(q) for q in range(prev + 1, qty))


@given(rules_st, qty_st)
def test_nearest_is_orderable_and_no_other_is_closer(rules, qty):
    near = rules.nearest(qty)
    assert rules.valid(near)
    assert all(abs(q - qty) >= abs(near - qty) for q in orderable(rules, qty + 100))


@given(rules_st, st.integers(1, 400), st.integers(0, 400))
def test_fit_never_gives_what_the_cart_would_refuse(rules, typed, available):
    result = fit(rules, typed, available)
    assert rules.valid(result.qty)
    if result.reason == "stock":
        assert result.qty <= available < result.qty + rules.order_multiple
    if result.reason == "out_of_stock":
        assert rules.up_to(available) is None
    if result.reason == "":
        assert result.qty == typed and typed <= available


def test_fit_says_why_it_changed_a_quantity():
    rules = PackRules(6, 2)
    assert fit(rules, 8, 100).reason == ""
    assert fit(rules, 7, 100).qty == 8 and fit(rules, 7, 100).reason == "pack_rules"
    assert fit(rules, 3, 100).qty == 6
    assert fit(rules, 20, 11).qty == 10 and fit(rules, 20, 11).reason == "stock"
    assert fit(rules, 6, 4).reason == "out_of_stock"


def test_break_table_starts_at_the_minimum_order():
    breaks = (PriceBreak(1, 1000), PriceBreak(10, 900), PriceBreak(50, 800))
    rows = break_rows(breaks, PackRules(6, 2), available=20)
    assert rows == [BreakRow(6, 1000, True), BreakRow(10, 900, True), BreakRow(50, 800, False)]


def test_a_break_below_the_minimum_order_is_the_first_row():
    breaks = (PriceBreak(1, 1000), PriceBreak(4, 950), PriceBreak(12, 900))
    rows = break_rows(breaks, PackRules(6, 3))
    assert rows == [BreakRow(6, 950, True), BreakRow(12, 900, True)]


@given(tables(), rules_st, st.one_of(st.none(), st.integers(0, 400)))
def test_break_rows_price_every_orderable_quantity_as_the_server_does(breaks, rules, available):
    rows = break_rows(breaks, rules, available)
    assert rows[0].from_qty == rules.first
    assert all(rules.valid(r.from_qty) for r in rows)
    for qty in orderable(rules, 400):
        row = [r for r in rows if r.from_qty <= qty][-1]
        assert row.price == unit_price(breaks, qty)
        if available is not None and qty <= available:
            assert row.reachable
