"""Quick order (issue 12, CONTRACT §6 /quick-order): a pasted list of `SKU quantity` lines.

This module is the parser only: it reads what a dealer pastes from Excel, WeChat or a note
(tabs, commas, spaces, full-width digits and spaces) into wanted lines, merges a SKU named
twice, and says of every other line why it was not read. Matching to products, prices,
minimums and stock is the preview's job, through the cart's own services.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass

from app.services import cart, catalog

MAX_CHARS = 20_000
MAX_LINES = 500
MAX_QTY = 1_000_000

# Between a SKU and its quantity: spaces and tabs, commas, semicolons, the Chinese enumeration
# comma, and the multiplication signs people type ("DRK-001 × 10"). NFKC has already turned
# full-width forms (，；　＊) into these.
_SEPARATORS = re.compile(r"[\s,;、×*]+")
_SKU = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
# A quantity, maybe with its unit after it ("10箱", "10 件" is two tokens and reads the same).
_QTY = re.compile(r"([0-9]{1,9})(?:\.0+)?([^\x00-\x7f]{0,3})")
_HEADERS = {"sku", "商品编码", "编码", "货号", "商品编号", "产品编码", "code"}

# Why a line was not read (the page words each one).
NO_QUANTITY = "no_quantity"
BAD_QUANTITY = "bad_quantity"
TOO_MANY = "too_many"  # a quantity above MAX_QTY: no pack of any product is that large
NOT_A_SKU = "not_a_sku"


MAX_UPLOAD = 1024 * 1024  # a dealer's own list: 500 rows are a few KB


def sheet_text(sheet) -> str:
    """An uploaded sheet (import_files.Sheet) as the lines a paste would give: its rows, cells
    between tabs (the header is skipped; a quantity read as 24.0 reads as 24)."""
    rows = []
    for _, cells in sheet.rows:
        rows.append("\t".join(_cell(c) for c in cells if c is not None and str(c).strip()))
    return "\n".join(rows)


def _cell(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


class PasteError(ValueError):
    """The paste as a whole is refused (too long); nothing of it is read."""


@dataclass(frozen=True, slots=True)
class Wanted:
    """A SKU and the quantity asked for it; `rows` are the pasted lines it came from (more
    than one when the SKU was named twice and merged)."""

    sku: str
    qty: int
    rows: tuple[int, ...]

    @property
    def merged(self) -> bool:
        return len(self.rows) > 1


@dataclass(frozen=True, slots=True)
class Unread:
    row: int
    text: str
    reason: str


@dataclass(frozen=True, slots=True)
class Pasted:
    wanted: list[Wanted]
    unread: list[Unread]


def parse(text: str) -> Pasted:
    """The wanted lines of a paste, in the order first named, and the lines not read.

    Blank lines and a header line ("SKU 数量") are skipped. A line is its first token as the
    SKU and its last as the quantity, so a row copied with a name column between them reads
    the same. Raises PasteError for more than MAX_CHARS characters or MAX_LINES lines.
    """
    if len(text) > MAX_CHARS:
        raise PasteError(f"Paste at most {MAX_CHARS} characters.")
    lines = unicodedata.normalize("NFKC", text.replace("\ufeff", "")).splitlines()
    numbered = [(i, line.strip()) for i, line in enumerate(lines, start=1) if line.strip()]
    if len(numbered) > MAX_LINES:
        raise PasteError(f"Paste at most {MAX_LINES} lines.")
    totals: dict[str, tuple[str, int, list[int]]] = {}
    unread: list[Unread] = []
    for position, (row, line) in enumerate(numbered):
        tokens = [t for t in _SEPARATORS.split(line) if t]
        if position == 0 and tokens[0].lower() in _HEADERS:
            continue
        sku, qty, reason = _read(tokens)
        if reason:
            unread.append(Unread(row, line, reason))
            continue
        key = sku.upper()
        first, total, rows = totals.get(key, (sku, 0, []))
        totals[key] = (first, total + qty, [*rows, row])
    wanted = [Wanted(sku, min(qty, MAX_QTY), tuple(rows)) for sku, qty, rows in totals.values()]
    return Pasted(wanted, unread)


_FIRST_TOKEN = re.compile(r"\s*([^\s,;、×*]+)")


def swap(text: str, rows: list[int], sku: str) -> str:
    """The paste with the SKU of lines `rows` (numbered as parse numbers them) replaced by
    `sku`: "did you mean DRK-005?" taken. Rows out of range, or a `sku` that is no SKU,
    leave the text as it was."""
    if not _SKU.fullmatch(sku):
        return text
    lines = text.splitlines(keepends=True)
    for row in rows:
        if not 1 <= row <= len(lines):
            continue
        raw = lines[row - 1]
        body = raw.rstrip("\r\n\u2028\u2029\x0b\x0c\x1c\x1d\x1e\x85")
        line = unicodedata.normalize("NFKC", body.replace("\ufeff", ""))
        found = _FIRST_TOKEN.match(line)
        if found:
            lines[row - 1] = line[: found.start(1)] + sku + line[found.end(1) :] + raw[len(body) :]
    return "".join(lines)


def _read(tokens: list[str]) -> tuple[str, int, str | None]:
    sku = tokens[0]
    if not _SKU.fullmatch(sku):
        return sku, 0, NOT_A_SKU
    if len(tokens) == 1:
        return sku, 0, NO_QUANTITY
    amount = _QTY.fullmatch(tokens[-1])
    if amount is None and len(tokens) > 2:  # "DRK-001 10 箱": the unit on its own
        amount = _QTY.fullmatch(tokens[-2]) if not tokens[-1].isascii() else None
    if amount is None:
        return sku, 0, BAD_QUANTITY
    qty = int(amount.group(1))
    if qty < 1:
        return sku, 0, BAD_QUANTITY
    if qty > MAX_QTY:
        return sku, 0, TOO_MANY
    return sku, qty, None


# --- the preview: each wanted line against the dealer's catalog and cart ------------------

UNKNOWN_SKU = "unknown_sku"
SUGGESTIONS = 3


@dataclass(frozen=True, slots=True)
class PreviewLine:
    """What adding a wanted line would put in the cart: `qty` (0: nothing) at `unit_price`
    (the price of the cart's whole line then), and why it differs from what was asked
    (cart.ReorderChange's reasons, or UNKNOWN_SKU with close `suggestions`)."""

    wanted: Wanted
    item: object | None  # catalog.CatalogItem
    qty: int
    reason: str
    in_cart: int = 0
    unit_price: int | None = None
    suggestions: tuple[str, ...] = ()
    # The line ordered at once instead (立即下单, the cart left alone): fitted and priced
    # without the cart's line. The same as qty and unit_price when the cart holds none of it.
    order_qty: int = 0
    order_price: int | None = None

    @property
    def amount(self) -> int:
        return (self.unit_price or 0) * self.qty

    @property
    def order_amount(self) -> int:
        return (self.order_price or 0) * self.order_qty


def preview(user, pasted: Pasted) -> list[PreviewLine]:
    """Each wanted line matched (SKUs in any letter case) to what the dealer may order, fitted
    to the pack rules and to the stock left beside the cart's own line: the same services,
    prices and stock the catalog and the cart show. Changes nothing."""
    typed = [w.sku for w in pasted.wanted]
    asked = list(dict.fromkeys([*typed, *(s.upper() for s in typed)]))
    found = {i.product.sku.upper(): i for i in cart._items_for(user, asked)} if asked else {}
    held = cart.held_all(user) if found else {}
    lines = []
    for want in pasted.wanted:
        item = found.get(want.sku.upper())
        if item is None:
            lines.append(
                PreviewLine(want, None, 0, UNKNOWN_SKU, suggestions=_close(user, want.sku))
            )
            continue
        in_cart = held.get(item.product.id, 0)
        qty, reason = cart._fit(item, want.qty, in_cart)
        price = item.table.unit_price(in_cart + qty) if qty else None
        alone = cart._fit(item, want.qty, 0)[0] if in_cart else qty
        alone_price = item.table.unit_price(alone) if alone else None
        lines.append(PreviewLine(want, item, qty, reason, in_cart, price, (), alone, alone_price))
    return lines


def _close(user, typed: str) -> tuple[str, ...]:
    """Visible SKUs that look like a mistyped one (same first two characters)."""
    page = catalog.browse(user.dealer, q=typed[:2], per_page=100, with_total=False)
    skus = {i.product.sku.upper(): i.product.sku for i in page.items}
    close = difflib.get_close_matches(typed.upper(), list(skus), n=SUGGESTIONS, cutoff=0.6)
    return tuple(skus[s] for s in close)
