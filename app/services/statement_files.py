"""A statement as a file: CSV for Excel (UTF-8 with BOM, CONTRACT §2) or an .xlsx workbook.

Both hold the same rows: a header, the opening balance, one row per entry, the closing
balance. Money is a number with two decimals; text cells that a spreadsheet would read as a
formula get a leading ' (and imports drop it again, so a cell round-trips unchanged).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from openpyxl import Workbook

from app.money import format_fen
from app.services.statements import SHANGHAI, Statement

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MONEY_FORMAT = "0.00"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
XLSX_TIME, XLSX_DAY = "yyyy-mm-dd hh:mm:ss", "yyyy-mm-dd"


@dataclass(frozen=True, slots=True)
class Labels:
    """The words of a statement file, in one language (English by default)."""

    time: str = "Time (China)"
    type: str = "Type"
    order: str = "Order number"
    reference: str = "Reference"
    memo: str = "Memo"
    amount: str = "Amount"
    balance: str = "Balance"
    opening: str = "Opening balance"
    closing: str = "Closing balance"
    sheet: str = "Statement"
    types: dict[str, str] = field(default_factory=dict)

    def type_word(self, entry_type: str) -> str:
        return self.types.get(entry_type, entry_type)


ENTRY_TYPES = {
    "deposit": _l("Deposit"),
    "adjustment": _l("Adjustment"),
    "order_debit": _l("Order payment"),
    "order_refund": _l("Order refund"),
    "rebate_use": _l("Rebate used"),
    "rebate_refund": _l("Rebate returned"),
    "rebate_earned": _l("Rebate earned"),
    "settlement": _l("Period settlement"),
}


def localized_labels() -> Labels:
    """The labels in the current request's language (call inside a request)."""
    return Labels(
        time=str(_l("Time (China)")),
        type=str(_l("Type")),
        order=str(_l("Order number")),
        reference=str(_l("Reference")),
        memo=str(_l("Memo")),
        amount=str(_l("Amount")),
        balance=str(_l("Balance")),
        opening=str(_l("Opening balance")),
        closing=str(_l("Closing balance")),
        sheet=str(_l("Statement")),
        types={key: str(word) for key, word in ENTRY_TYPES.items()},
    )


def neutralise(text: str) -> str:
    """A text cell a spreadsheet will show as text, never run as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def restore(text: str) -> str:
    """A cell as it was before `neutralise` (what an import reads back)."""
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_STARTS) else text


def filename(statement: Statement, extension: str) -> str:
    """statement-GZ001-funds-2026-11-01-2026-11-30.csv"""
    s = statement
    return f"statement-{s.dealer_code}-{s.account}-{s.from_day}-{s.to_day}.{extension}"


def _local(moment: datetime) -> datetime:
    return moment.astimezone(SHANGHAI).replace(tzinfo=None)


def _rows(statement: Statement, labels: Labels):
    """(when, type, order, reference, memo, amount, balance): text cells neutralised, money
    in fen (None where empty), `when` a naive China time (a day on the balance rows)."""
    yield (statement.from_day, neutralise(labels.opening), "", "", "", None,
           statement.opening_balance)  # fmt: skip
    for e in statement.entries:
        order = e.order.number if e.order else ""
        texts = (labels.type_word(e.type), order, e.reference, e.memo or "")
        yield (_local(e.created_at), *map(neutralise, texts), e.amount, e.balance_after)
    yield (statement.to_day, neutralise(labels.closing), "", "", "", None,
           statement.closing_balance)  # fmt: skip


def _when_text(when: date | datetime) -> str:
    return when.strftime(TIME_FORMAT) if isinstance(when, datetime) else when.isoformat()


def _yuan(fen: int | None) -> Decimal | None:
    return None if fen is None else Decimal(fen).scaleb(-2)


def _header(labels: Labels) -> list[str]:
    words = (labels.time, labels.type, labels.order, labels.reference, labels.memo)
    return [neutralise(w) for w in (*words, labels.amount, labels.balance)]


def to_csv(statement: Statement, labels: Labels) -> bytes:
    """The statement as CSV: UTF-8 with a BOM, money as plain numbers such as -3.00."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(_header(labels))
    for when, *texts, amount, balance in _rows(statement, labels):
        money = ["" if amount is None else format_fen(amount), format_fen(balance)]
        writer.writerow([_when_text(when), *texts, *money])
    return (BOM + out.getvalue()).encode("utf-8")


def to_xlsx(statement: Statement, labels: Labels) -> bytes:
    """The statement as one .xlsx sheet: money cells are numbers shown with two decimals."""
    book = Workbook()
    sheet = book.active
    sheet.title = labels.sheet[:31]
    sheet.append(_header(labels))
    for when, *texts, amount, balance in _rows(statement, labels):
        sheet.append([when, *texts, _yuan(amount), _yuan(balance)])
        row = sheet[sheet.max_row]
        row[0].number_format = XLSX_TIME if isinstance(when, datetime) else XLSX_DAY
        for cell in row[5:]:
            cell.number_format = MONEY_FORMAT
    for column, width in zip("ABCDEFG", (20, 14, 20, 28, 30, 14, 14), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


WRITERS = {"csv": (to_csv, CSV_TYPE), "xlsx": (to_xlsx, XLSX_TYPE)}


def as_file(statement: Statement, kind: str, labels: Labels) -> tuple[bytes, str, str]:
    """(content, mimetype, filename) of the statement as a "csv" or "xlsx" download."""
    writer, mimetype = WRITERS[kind]
    return writer(statement, labels), mimetype, filename(statement, kind)
