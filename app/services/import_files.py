"""Spreadsheets in and out (CONTRACT §2 CSV, §3b): CSV or the first sheet of an .xlsx file.

Reading: a CSV file may start with a UTF-8 BOM (Excel's "CSV UTF-8") or not; a file that is
not valid UTF-8 is read as GB18030, the superset of the GBK that Chinese Excel writes for
plain "CSV" (UTF-8 is tried first: GBK bytes are almost never valid UTF-8, while UTF-8 bytes
often decode as GB18030 garbage). A UTF-16 file with a BOM (Excel's "Unicode text") is read
too. The delimiter is a comma, or a semicolon or tab when the header uses one instead.
An .xlsx file is read with openpyxl (cached values: a formula cell gives its result).

Writing: CSV is UTF-8 with a BOM and CRLF line ends; .xlsx has one sheet. Text cells a
spreadsheet would run as a formula (starting with = + - @, a tab or a carriage return) get
a leading ' and `restore` removes it on the way back in, so a cell round-trips unchanged.
A text that already starts with ' before such a character gets one more, so even it
survives the round trip (the rule of app/services/statement_files.py, made reversible).
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from openpyxl import Workbook, load_workbook

from app.errors import BadRequest, Invalid

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = {"csv": CSV_TYPE, "xlsx": XLSX_TYPE}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MONEY_FORMAT = "0.00"

MAX_BYTES = 16 * 1024 * 1024  # a 50,000-row products CSV is about 5 MB
MAX_ROWS = 50_000  # data rows under the header
MAX_COLUMNS = 64
MAX_UNZIPPED = 256 * 1024 * 1024  # an .xlsx whose parts unpack to more is refused unread

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the old binary .xls

Cell = str | int | float | Decimal | bool | date | datetime | None


@dataclass(slots=True)
class Sheet:
    """A file as read: its header cells and its non-blank data rows as (row number, cells).

    The header is row 1; a CSV row's number is the line it starts on, an .xlsx row's the
    sheet's row number."""

    format: str
    header: list[str]
    rows: list[tuple[int, tuple[Cell, ...]]]


def neutralise(text: str) -> str:
    """A text cell a spreadsheet will show as text, never run as a formula."""
    return "'" + text if text.lstrip("'").startswith(FORMULA_STARTS) else text


def restore(text: str) -> str:
    """A cell as it was before `neutralise` (what an import reads back)."""
    if text.startswith("'") and text.lstrip("'").startswith(FORMULA_STARTS):
        return text[1:]
    return text


# --- reading ---------------------------------------------------------------------------------


def _unreadable(detail: str, code: str = "unreadable_file") -> BadRequest:
    return BadRequest(detail, code=code, errors={"file": [detail]})


def empty_file() -> Invalid:
    detail = "The file has no rows under its header."
    return Invalid(detail, code="empty_file", errors={"file": [detail]})


def read(content: bytes) -> Sheet:
    """The file's header and rows; raises BadRequest (unreadable) or Invalid (empty, too big)."""
    if len(content) > MAX_BYTES:
        detail = f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB."
        raise Invalid(detail, code="file_too_large", errors={"file": [detail]})
    if not content.strip():
        raise empty_file()
    if content.startswith(ZIP_MAGIC):
        sheet = _read_xlsx(content)
    elif content.startswith(OLE_MAGIC):
        raise _unreadable(
            "This is an old .xls workbook: save it as .xlsx or CSV and upload that.",
            code="xls_not_supported",
        )
    else:
        sheet = _read_csv(content)
    if not sheet.header:
        raise empty_file()
    if len(sheet.rows) > MAX_ROWS:
        detail = f"The file has more than {MAX_ROWS} rows; split it into smaller files."
        raise Invalid(detail, code="too_many_rows", errors={"file": [detail]})
    return sheet


def decode(content: bytes) -> str:
    """The text of a CSV file: UTF-8 (BOM or not), UTF-16 with a BOM, else GB18030."""
    try:
        if content.startswith(codecs.BOM_UTF8):
            return content[len(codecs.BOM_UTF8) :].decode("utf-8")
        if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return content.decode("utf-16")
    except UnicodeDecodeError as err:
        raise _unreadable("The file is not valid UTF-8 text.") from err
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("gb18030")
    except UnicodeDecodeError as err:
        raise _unreadable("The file is neither UTF-8 nor GBK text, nor an .xlsx file.") from err


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def _blank(cells) -> bool:
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells)


def _read_csv(content: bytes) -> Sheet:
    text = decode(content)
    if "\x00" in text:
        raise _unreadable("The file is not a CSV text file.")
    first_line = text.lstrip("\ufeff").split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first_line))
    header: list[str] | None = None
    rows: list[tuple[int, tuple[Cell, ...]]] = []
    line = 1
    try:
        for record in reader:
            start, line = line, reader.line_num + 1
            if header is None:
                if _blank(record):
                    continue  # blank lines before the header
                header = _header_cells(record)
                continue
            if not _blank(record):
                rows.append((start, tuple(record)))
                if len(rows) > MAX_ROWS:
                    break
    except csv.Error as err:
        raise _unreadable(f"Line {reader.line_num} cannot be read as CSV: {err}.") from err
    return Sheet("csv", header or [], rows)


def _header_cells(cells) -> list[str]:
    header = ["" if cell is None else str(cell).strip().lstrip("\ufeff") for cell in cells]
    while header and not header[-1]:
        header.pop()
    return header


def _open_xlsx(content: bytes):
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError) as err:
        raise _unreadable("The file looks like .xlsx but cannot be opened.") from err
    if unpacked > MAX_UNZIPPED:
        raise _unreadable("The workbook unpacks to more than 256 MB.", code="file_too_large")
    try:
        return load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as err:  # openpyxl raises many kinds for a damaged or foreign file
        raise _unreadable("The file looks like .xlsx but cannot be opened.") from err


def _read_xlsx(content: bytes) -> Sheet:
    book = _open_xlsx(content)
    try:
        if not book.worksheets:
            return Sheet("xlsx", [], [])
        header: list[str] | None = None
        rows: list[tuple[int, tuple[Cell, ...]]] = []
        sheet = book.worksheets[0]
        # Every row padded to the sheet's width (capped): cells past the header's end are
        # read too, as an import refuses a row that has any.
        width = min(sheet.max_column or MAX_COLUMNS + 1, MAX_COLUMNS + 1)
        cells_by_row = sheet.iter_rows(values_only=True, max_col=width)
        for number, cells in enumerate(cells_by_row, 1):
            if header is None:
                if not _blank(cells):
                    header = _header_cells(cells)
            elif not _blank(cells):
                rows.append((number, tuple(cells)))
                if len(rows) > MAX_ROWS:
                    break
        return Sheet("xlsx", header or [], rows)
    except Exception as err:
        raise _unreadable("The workbook's first sheet cannot be read.") from err
    finally:
        book.close()


# --- writing ---------------------------------------------------------------------------------


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, str):
        return neutralise(value)
    return str(value)


def to_csv(header: list[str], rows) -> bytes:
    """UTF-8 with a BOM (so Excel opens it right), CRLF line ends."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralise(name) for name in header])
    writer.writerows([_csv_cell(value) for value in row] for row in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(header: list[str], rows, title: str) -> bytes:
    """One sheet: text cells neutralised, money (Decimal) as numbers shown with 2 decimals.

    Written in openpyxl's normal mode rather than write-only: only then does the sheet carry
    its dimension, without which a read-only reader parses the whole sheet twice."""
    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    sheet.append([neutralise(name) for name in header])
    money_columns = set()
    for row in rows:
        sheet.append([neutralise(v) if isinstance(v, str) else v for v in row])
        if not money_columns:
            money_columns = {i for i, v in enumerate(row, 1) if isinstance(v, Decimal)}
    for column in money_columns:
        for (cell,) in sheet.iter_rows(min_row=2, min_col=column, max_col=column):
            cell.number_format = MONEY_FORMAT
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def write(kind: str, header: list[str], rows, title: str) -> tuple[bytes, str]:
    """(content, mimetype) of the rows as a "csv" or "xlsx" file."""
    if kind == "xlsx":
        return to_xlsx(header, rows, title), XLSX_TYPE
    return to_csv(header, rows), CSV_TYPE
