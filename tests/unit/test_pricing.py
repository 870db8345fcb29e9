"""Price resolution is a pure function: no database here."""

import pytest

from app.services.pricing import (
    SOURCE_DEALER,
    SOURCE_LIST,
    SOURCE_TIER,
    PriceBreak,
    line_amount,
    next_break,
    resolve_table,
    table_errors,
    unit_price,
)

TIER = [PriceBreak(1, 9000), PriceBreak(10, 8500), PriceBreak(50, 8000)]
DEALER = [PriceBreak(1, 8800), PriceBreak(20, 8200)]


@pytest.mark.parametrize(
    ("qty", "price"),
    [(1, 9000), (9, 9000), (10, 8500), (11, 8500), (49, 8500), (50, 8000), (10_000, 8000)],
)
def test_unit_price_takes_the_greatest_break_not_above_the_quantity(qty, price):
    assert unit_price(TIER, qty) == price


def test_dealer_table_beats_tier_table_beats_list_price():
    assert resolve_table(DEALER, TIER, 9900).source == SOURCE_DEALER
    assert resolve_table(DEALER, TIER, 9900).unit_price(25) == 8200
    assert resolve_table([], TIER, 9900).source == SOURCE_TIER
    assert resolve_table([], TIER, 9900).unit_price(25) == 8500
    listed = resolve_table([], [], 9900)
    assert listed.source == SOURCE_LIST
    assert listed.breaks == (PriceBreak(1, 9900),)


def test_a_dealer_table_wins_even_when_dearer_than_the_tier():
    dearer = [PriceBreak(1, 9500)]
    assert resolve_table(dearer, TIER, 9900).unit_price(60) == 9500


def test_rows_given_out_of_order_are_sorted():
    table = resolve_table([], [TIER[2], TIER[0], TIER[1]], 1)
    assert [b.min_qty for b in table.breaks] == [1, 10, 50]
    assert table.unit_price(10) == 8500


def test_price_at_min_order_quantity_uses_the_break_it_reaches():
    # A product sold in sixes whose tier table breaks at 6: the dealer's price is the 6+ row.
    table = resolve_table([], [PriceBreak(1, 1200), PriceBreak(6, 1100)], 1300)
    assert table.unit_price(6) == 1100


def test_next_break_is_the_next_cheaper_row():
    assert next_break(TIER, 1) == PriceBreak(10, 8500)
    assert next_break(TIER, 10) == PriceBreak(50, 8000)
    assert next_break(TIER, 50) is None


def test_next_break_skips_rows_that_are_not_cheaper():
    odd = [PriceBreak(1, 1000), PriceBreak(5, 1000), PriceBreak(10, 900)]
    assert next_break(odd, 1) == PriceBreak(10, 900)


def test_quantity_below_one_is_refused():
    with pytest.raises(ValueError):
        unit_price(TIER, 0)


def test_line_amount_is_exact_integer_fen():
    assert line_amount(8533, 3) == 25599
    assert isinstance(line_amount(8533, 3), int)


@pytest.mark.parametrize(
    ("rows", "problem"),
    [
        ([], "at least one row"),
        ([(2, 100)], "start at min_qty 1"),
        ([(1, 100), (1, 90)], "only once"),
        ([(1, -1)], "negative"),
    ],
)
def test_bad_tables_are_explained(rows, problem):
    assert any(problem in message for message in table_errors(rows))


def test_a_good_table_has_no_errors():
    assert table_errors([(1, 100), (10, 90)]) == []
