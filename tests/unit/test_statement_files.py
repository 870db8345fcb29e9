"""Statement files: CSV that Excel opens as UTF-8 with numbers as numbers and no formulas
(CONTRACT §2 CSV), and an .xlsx whose money cells are numbers with two decimals."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from openpyxl import load_workbook

from app.services.statement_files import (
    BOM,
    FORMULA_STARTS,
    Labels,
    as_file,
    neutralise,
    restore,
    to_csv,
    to_xlsx,
)
from app.services.statements import Statement

LABELS = Labels(types={"deposit": "回款", "order_debit": "订单扣款"})


def _entry(amount, balance_after, *, memo="", reference="ref", entry_type="deposit", order=None):
    return SimpleNamespace(
        type=entry_type,
        amount=amount,
        balance_after=balance_after,
        reference=reference,
        memo=memo,
        order=SimpleNamespace(number=order) if order else None,
        # 2026-11-01 16:30 UTC is 2026-11-02 00:30 in Shanghai
        created_at=datetime(2026, 11, 1, 16, 30, tzinfo=UTC),
    )


def _statement(*entries, opening=1250) -> Statement:
    closing = opening + sum(e.amount for e in entries)
    return Statement("GZ001", "funds", date(2026, 11, 1), date(2026, 11, 30), opening,
                     list(entries), closing)  # fmt: skip


def _csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_csv_starts_with_a_bom_and_is_utf8():
    data = to_csv(_statement(_entry(1000, 2250, memo="工行 回款")), LABELS)
    assert data.startswith(BOM.encode("utf-8"))
    assert "工行 回款" in data.decode("utf-8-sig")


def test_csv_has_header_opening_entries_and_closing_rows():
    s = _statement(_entry(1000, 2250), _entry(-300, 1950, entry_type="order_debit", order="SO1"))
    rows = _csv_rows(to_csv(s, LABELS))
    assert rows[0] == ["Time (China)", "Type", "Order number", "Reference", "Memo", "Amount",
                       "Balance"]  # fmt: skip
    assert rows[1] == ["2026-11-01", "Opening balance", "", "", "", "", "12.50"]
    assert rows[2] == ["2026-11-02 00:30:00", "回款", "", "ref", "", "10.00", "22.50"]
    assert rows[3] == ["2026-11-02 00:30:00", "订单扣款", "SO1", "ref", "", "-3.00", "19.50"]
    assert rows[4] == ["2026-11-30", "Closing balance", "", "", "", "", "19.50"]
    assert len(rows) == 5


def test_csv_money_is_a_plain_number_with_two_decimals_never_neutralised():
    s = _statement(_entry(-300, 950), _entry(5, 955), _entry(-1, 954), opening=1250)
    data = to_csv(s, LABELS).decode("utf-8-sig")
    rows = _csv_rows(to_csv(s, LABELS))
    assert [r[5] for r in rows[2:5]] == ["-3.00", "0.05", "-0.01"]
    assert "'-3.00" not in data and "¥" not in data
    for row in rows[1:]:
        Decimal(row[6])  # every balance parses as a number


@pytest.mark.parametrize("first", FORMULA_STARTS)
def test_each_dangerous_first_character_gets_a_leading_apostrophe(first):
    memo = f"{first}SUM(A1:A9)"
    rows = _csv_rows(to_csv(_statement(_entry(100, 1350, memo=memo, reference=memo)), LABELS))
    assert rows[2][3] == "'" + memo
    assert rows[2][4] == "'" + memo


@pytest.mark.parametrize("text", ["SUM(1)", "1+1", "'quoted", "回款", ""])
def test_harmless_text_is_written_unchanged(text):
    assert neutralise(text) == text
    rows = _csv_rows(to_csv(_statement(_entry(100, 1350, memo=text)), LABELS))
    assert rows[2][4] == text


def test_type_words_and_balance_labels_are_neutralised_too():
    labels = Labels(opening="=opening", types={"deposit": "+deposit"})
    rows = _csv_rows(to_csv(_statement(_entry(100, 1350)), labels))
    assert rows[1][1] == "'=opening"
    assert rows[2][1] == "'+deposit"


@pytest.mark.parametrize("first", FORMULA_STARTS)
def test_a_neutralised_cell_reads_back_unchanged(first):
    memo = f"{first}cmd|' /C calc'!A0"
    rows = _csv_rows(to_csv(_statement(_entry(100, 1350, memo=memo)), LABELS))
    assert restore(rows[2][4]) == memo
    assert restore(neutralise("'plain")) == "'plain"


def _sheet(data: bytes):
    book = load_workbook(io.BytesIO(data))
    assert len(book.worksheets) == 1
    return book.active


def test_xlsx_opens_with_openpyxl_and_money_cells_are_numbers_with_two_decimals():
    s = _statement(_entry(1000, 2250), _entry(-300, 1950, entry_type="order_debit", order="SO1"))
    sheet = _sheet(to_xlsx(s, LABELS))
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][5:] == ("Amount", "Balance")
    assert rows[1][6] == pytest.approx(12.5)
    assert [r[5] for r in rows[2:4]] == [pytest.approx(10), pytest.approx(-3)]
    assert rows[4][6] == pytest.approx(19.5)
    for row in sheet.iter_rows(min_row=2):
        for cell in row[5:]:
            if cell.value is not None:
                assert cell.data_type == "n" and isinstance(cell.value, int | float)
                assert cell.number_format == "0.00"
    assert rows[2][0] == datetime(2026, 11, 2, 0, 30)  # China time


def test_xlsx_never_holds_a_formula():
    memo = '=HYPERLINK("http://x")'
    sheet = _sheet(to_xlsx(_statement(_entry(100, 1350, memo=memo, reference="+1")), LABELS))
    assert sheet["E3"].value == "'" + memo and sheet["E3"].data_type == "s"
    assert sheet["D3"].value == "'+1"
    assert restore(sheet["E3"].value) == memo
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)


def test_file_names_say_dealer_account_and_days():
    s = _statement()
    assert as_file(s, "csv", LABELS)[2] == "statement-GZ001-funds-2026-11-01-2026-11-30.csv"
    content, mimetype, name = as_file(s, "xlsx", LABELS)
    assert name.endswith(".xlsx") and content[:2] == b"PK"
    assert mimetype.startswith("application/vnd.openxmlformats")


def test_an_empty_statement_still_has_opening_and_closing_rows():
    rows = _csv_rows(to_csv(_statement(opening=-500), LABELS))
    assert [r[1] for r in rows] == ["Type", "Opening balance", "Closing balance"]
    assert rows[1][6] == rows[2][6] == "-5.00"
