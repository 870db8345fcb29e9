"""The quick-order paste parser: separators, full-width forms, duplicates, blank lines, junk."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.services import quick_order as q


def wanted(text: str) -> list[tuple[str, int]]:
    return [(w.sku, w.qty) for w in q.parse(text).wanted]


@pytest.mark.parametrize(
    "text",
    [
        "DRK-001 10",
        "DRK-001\t10",
        "DRK-001,10",
        "DRK-001, 10",
        "DRK-001;10",
        "DRK-001、10",
        "DRK-001 × 10",
        "DRK-001*10",
        "  DRK-001    10  ",
        "DRK-001 10箱",
        "DRK-001 10 箱",
        "DRK-001 10.0",
        "DRK-001\t冰红茶 500ml\t10",  # copied from Excel with a name column
    ],
)
def test_a_sku_and_its_quantity_read_whatever_is_between(text):
    assert wanted(text) == [("DRK-001", 10)]


def test_full_width_digits_letters_spaces_and_commas_read_as_ascii():
    assert wanted("ＤＲＫ－００１　１０\nDRK-002，５") == [("DRK-001", 10), ("DRK-002", 5)]


def test_blank_lines_a_bom_and_windows_line_ends_are_nothing():
    assert wanted("\ufeffDRK-001 1\r\n\r\n   \r\nDRK-002 2\r\n") == [("DRK-001", 1), ("DRK-002", 2)]


def test_a_header_row_is_skipped():
    assert wanted("SKU\t数量\nDRK-001\t3") == [("DRK-001", 3)]
    assert wanted("商品编码,数量\nDRK-001,3") == [("DRK-001", 3)]


def test_a_sku_named_twice_is_merged_into_its_first_line_with_the_rows_it_came_from():
    pasted = q.parse("DRK-001 2\nDRK-002 1\ndrk-001 3")
    assert [(w.sku, w.qty, w.rows, w.merged) for w in pasted.wanted] == [
        ("DRK-001", 5, (1, 3), True),
        ("DRK-002", 1, (2,), False),
    ]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("DRK-001", q.NO_QUANTITY),
        ("DRK-001 0", q.BAD_QUANTITY),
        ("DRK-001 -3", q.BAD_QUANTITY),
        ("DRK-001 2.5", q.BAD_QUANTITY),
        ("DRK-001 十", q.BAD_QUANTITY),
        ("DRK-001 abc", q.BAD_QUANTITY),
        ("DRK-001 10000000", q.TOO_MANY),
        ("冰红茶 10", q.NOT_A_SKU),
        ("-DRK 10", q.NOT_A_SKU),
        ("!!! 1", q.NOT_A_SKU),
    ],
)
def test_a_line_that_cannot_be_read_says_why_and_keeps_its_row(line, reason):
    pasted = q.parse(f"DRK-002 1\n{line}")
    assert [(u.row, u.text, u.reason) for u in pasted.unread] == [(2, line, reason)]
    assert wanted(f"DRK-002 1\n{line}") == [("DRK-002", 1)]


def test_a_paste_too_long_is_refused_whole():
    with pytest.raises(q.PasteError):
        q.parse("A 1\n" * (q.MAX_LINES + 1))
    with pytest.raises(q.PasteError):
        q.parse("A" * (q.MAX_CHARS + 1))
    assert len(q.parse("A 1\n" * q.MAX_LINES).wanted) == 1  # at the limit: read (and merged)


SKUS = st.from_regex(r"[A-Z][A-Z0-9]{0,5}-[0-9]{3}", fullmatch=True)
SEPARATOR = st.sampled_from([" ", "\t", ",", "，", "　", " × ", ", ", "\t\t"])


@given(
    st.lists(st.tuples(SKUS, st.integers(1, 999), SEPARATOR), min_size=1, max_size=30),
    st.booleans(),
)
def test_any_paste_of_lines_reads_as_the_totals_per_sku_in_first_named_order(lines, wide):
    def digits(n: int) -> str:
        return "".join(chr(ord(c) + 0xFEE0) for c in str(n)) if wide else str(n)

    text = "\n\n".join(f"{sku}{sep}{digits(qty)}" for sku, qty, sep in lines)
    totals: dict[str, int] = {}
    for sku, qty, _ in lines:
        totals[sku] = totals.get(sku, 0) + qty
    assert wanted(text) == list(totals.items())
    assert q.parse(text).unread == []


def test_swap_replaces_the_sku_of_the_named_lines_only():
    text = "SKU 数量\r\nDRK-0O5 2\n\nTEA-1，３\nDRK-0O5\t1"
    swapped = q.swap(text, [2, 5], "DRK-005")
    assert swapped == "SKU 数量\r\nDRK-005 2\n\nTEA-1，３\nDRK-005\t1"
    pasted = q.parse(swapped)
    assert [(w.sku, w.qty, w.rows) for w in pasted.wanted] == [
        ("DRK-005", 3, (2, 5)),
        ("TEA-1", 3, (4,)),
    ]


def test_swap_reads_full_width_sku_as_the_parser_does():
    assert q.swap("　ＤＲＫ－0O5　２", [1], "DRK-005") == " DRK-005 2"


@pytest.mark.parametrize(
    ("rows", "sku"), [([0], "DRK-005"), ([9], "DRK-005"), ([1], "no sku"), ([1], "")]
)
def test_swap_out_of_range_or_not_a_sku_changes_nothing(rows, sku):
    assert q.swap("DRK-0O5 2", rows, sku) == "DRK-0O5 2"
