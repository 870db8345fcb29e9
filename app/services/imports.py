"""Bulk import and export of products, price tables and stock (CONTRACT §3b).

`run(kind, content, by=…, dry_run=…)` reads a CSV or .xlsx file (app/services/import_files.py),
checks every row against the same rules as the single-object API and compares it with what is
stored: new, changed, unchanged, and the invalid rows with the reason per cell. Applying writes
every row in one transaction — or, when any row is invalid, nothing (ImportRefused, a 422).

Set-based throughout, so 20,000 rows take seconds: the stored rows for the file's keys are read
with a handful of IN queries, and the writes are a few executemany / multi-row statements —
never a statement per row. One audit entry per applied import (counts and a sample of the
changes), and stock imports log one stock movement per changed count.

Empty cells: a required column's cell must be filled. In the products file an empty
min_order_qty, order_multiple, low_stock_threshold or active cell keeps the stored value (a new
product gets the default: 1, 1, 10, true); an empty category or spec means none.

Messages are English format strings with parameters (marked with N_ for translation): the API
answers them in English, pages show them in the reader's language.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import partial

from sqlalchemy import bindparam, delete, func, insert, literal, select, update
from sqlalchemy.exc import IntegrityError

from app.errors import Conflict, Invalid, NotFound
from app.extensions import db
from app.models import (
    Category,
    Dealer,
    DealerPrice,
    ImportUpload,
    Product,
    StockLevel,
    Tier,
    TierPrice,
    User,
)
from app.models.catalog import name_grams
from app.models.imports import IMPORT_KINDS
from app.models.types import utcnow
from app.money import MoneyError, parse_fen
from app.services import audit, import_files, permissions, stock_movements
from app.services.statements import SHANGHAI

KINDS = IMPORT_KINDS
INT32_MAX = 2**31 - 1
CHUNK = 5000  # keys per IN (...) query: well under SQLite's and PostgreSQL's limits
SAMPLE = 20  # changed / new rows kept for the preview and the audit entry
STORED_INVALID = 500  # invalid rows kept with a page's stored preview
UPLOAD_TTL = timedelta(days=1)

SKU_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")  # as the API's SKU rule
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # as app/api/fields.py
TRUE_WORDS = {"true", "1", "yes", "y", "是", "t"}
FALSE_WORDS = {"false", "0", "no", "n", "否", "f"}
SCOPE_KINDS = {"tier": "tier", "dealer": "dealer"}

PRODUCT_REQUIRED = ("sku", "name", "unit", "list_price")
PRODUCT_OPTIONAL = (
    "category",
    "spec",
    "min_order_qty",
    "order_multiple",
    "low_stock_threshold",
    "active",
)
PRODUCT_FIELDS = (
    "name",
    "unit",
    "list_price",
    "category",
    "spec",
    "min_order_qty",
    "order_multiple",
    "low_stock_threshold",
    "active",
)
PRODUCT_DEFAULTS = {
    "category": None,
    "spec": "",
    "min_order_qty": 1,
    "order_multiple": 1,
    "low_stock_threshold": 10,
    "active": True,
}
COLUMNS = {
    "products": (PRODUCT_REQUIRED, PRODUCT_OPTIONAL),
    "prices": (("sku", "scope", "min_qty", "price"), ()),
    "stock": (("sku", "on_hand"), ()),
}
MONEY_FIELDS = frozenset({"list_price", "price"})
ROW = "_row"  # the errors key of a problem with the whole row


def N_(text: str) -> str:
    """Mark a message for translation; it is translated where it is shown."""
    return text


Message = tuple[str, dict]  # an English format string and its parameters


def english(message: Message) -> str:
    text, params = message
    return text % params if params else text


# --- outcomes --------------------------------------------------------------------------------


@dataclass(slots=True)
class Outcome:
    """What a check (or an applied import) found, row by row."""

    kind: str
    rows: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0  # prices: stored rows a replaced table no longer has
    invalid: list[tuple[int, dict[str, list[Message]]]] = field(default_factory=list)
    changes: list[dict] = field(default_factory=list)  # a sample: row, key, fields
    added: list[dict] = field(default_factory=list)  # a sample: row, key
    applied: bool = False

    def note_change(self, row: int, key: list[str], fields: list[tuple]) -> None:
        self.changed += 1
        if len(self.changes) < SAMPLE:
            self.changes.append({"row": row, "key": key, "fields": [list(f) for f in fields]})

    def note_new(self, row: int, key: list[str]) -> None:
        self.new += 1
        if len(self.added) < SAMPLE:
            self.added.append({"row": row, "key": key})

    def invalid_api(self) -> list[dict]:
        return [
            {"row": row, "errors": {col: [english(m) for m in msgs] for col, msgs in errs.items()}}
            for row, errs in self.invalid
        ]

    def api(self) -> dict:
        """The answer of CONTRACT §3b (English messages)."""
        answer = {
            "new": self.new,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "invalid": self.invalid_api(),
            "applied": self.applied,
        }
        if self.kind == "prices":
            answer["removed"] = self.removed
        return answer

    def stored(self) -> dict:
        """What a page keeps of it (JSON): the counts, samples and the first invalid rows."""
        return {
            "kind": self.kind,
            "rows": self.rows,
            "new": self.new,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "invalid_count": len(self.invalid),
            "invalid": [
                {"row": row, "errors": {col: [list(m) for m in msgs] for col, msgs in errs.items()}}
                for row, errs in self.invalid[:STORED_INVALID]
            ],
            "changes": self.changes,
            "added": self.added,
            "applied": self.applied,
        }

    def summary(self) -> dict:
        return {
            "rows": self.rows,
            "new": self.new,
            "changed": self.changed,
            "unchanged": self.unchanged,
            **({"removed": self.removed} if self.kind == "prices" else {}),
        }


class ImportRefused(Invalid):
    """Some rows are invalid: nothing was applied. The 422 carries the whole answer."""

    code = "invalid_rows"

    def __init__(self, outcome: Outcome):
        answer = outcome.api()
        errors = {
            f"rows.{row['row']}.{column}": messages
            for row in answer["invalid"]
            for column, messages in row["errors"].items()
        }
        super().__init__(
            f"{len(outcome.invalid)} rows are invalid; nothing was changed.",
            errors=errors,
            **answer,
        )
        self.outcome = outcome


# --- reading cells ---------------------------------------------------------------------------


class _Bad(Exception):
    def __init__(self, text: str, **params):
        super().__init__(text)
        self.message: Message = (text, params)


REQUIRED = N_("Required.")


def _plain_number(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _cell_text(cell) -> str:
    """A cell as text, with an export's formula guard removed and outer spaces trimmed."""
    if cell.__class__ is str:  # nearly every cell: the quick way first
        text = cell.strip()
        return import_files.restore(text).strip() if text[:1] == "'" else text
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, datetime):
        return cell.isoformat(sep=" ")
    return _plain_number(cell)


def _text(cell, *, max_len: int, required: bool = False) -> str:
    text = _cell_text(cell)
    if not text and required:
        raise _Bad(REQUIRED)
    if CONTROL.search(text):
        raise _Bad(N_("Must not contain control characters."))
    if len(text) > max_len:
        raise _Bad(N_("At most %(n)s characters."), n=max_len)
    return text


def _sku(cell) -> str:
    text = _cell_text(cell)
    if not text:
        raise _Bad(REQUIRED)
    if not SKU_PATTERN.match(text):
        raise _Bad(N_("Use 1–64 letters, digits, _ . - (starting with a letter or digit)."))
    return text


def _whole(cell) -> int | None:
    """The whole number a cell holds (None when empty); ValueError when it holds another."""
    if isinstance(cell, bool):
        raise ValueError(cell)
    if isinstance(cell, int):
        return cell
    if isinstance(cell, float):
        if not cell.is_integer():
            raise ValueError(cell)
        return int(cell)
    text = unicodedata.normalize("NFKC", _cell_text(cell)).replace(",", "")
    if not text:
        return None
    text = text.removesuffix(".0")
    if not re.fullmatch(r"[+-]?\d{1,12}", text):
        raise ValueError(cell)
    return int(text)


def _int(cell, *, low: int, required: bool = False) -> int | None:
    """A whole number from `low` up to 2³¹−1; None for an empty optional cell."""
    if cell.__class__ is str and cell.isascii() and cell.isdigit():  # the quick way
        value = int(cell)
    else:
        try:
            value = _whole(cell)
        except ValueError:
            value = low - 1
        if value is None:
            if required:
                raise _Bad(REQUIRED)
            return None
    if not low <= value <= INT32_MAX:
        raise _Bad(N_("Enter a whole number from %(min)s to %(max)s."), min=low, max=INT32_MAX)
    return value


def _money(cell) -> int:
    """Yuan with at most two decimals, 0 or more, in fen ("¥1,280.5" and numbers too)."""
    bad = _Bad(N_("Enter an amount in yuan with at most two decimals, such as 12.50."))
    if isinstance(cell, bool):
        raise bad
    if isinstance(cell, (int, float, Decimal)):
        try:
            amount = Decimal(repr(cell)) if isinstance(cell, float) else Decimal(cell)
        except InvalidOperation as err:
            raise bad from err
        if not amount.is_finite():
            raise bad
        rounded = amount.quantize(Decimal("0.01"))
        # A spreadsheet's formula result such as 11.249999999999998 is the cent it shows.
        if abs(rounded - amount) > Decimal("0.000001"):
            raise bad
        if rounded < 0:
            raise _Bad(N_("Must not be negative."))
        text = format(rounded, "f")
    else:
        text = unicodedata.normalize("NFKC", _cell_text(cell))
        text = text.replace("¥", "").replace(",", "").replace(" ", "")
        if not text:
            raise _Bad(REQUIRED)
    try:
        return parse_fen(text)
    except MoneyError as err:
        if str(err) == "Must not be negative.":
            raise _Bad(N_("Must not be negative.")) from err
        raise bad from err


def _bool(cell) -> bool | None:
    if isinstance(cell, bool):
        return cell
    if isinstance(cell, (int, float)) and cell in (0, 1):
        return bool(cell)
    text = _cell_text(cell).lower()
    if not text:
        return None
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise _Bad(N_("Enter true or false (1 or 0, yes or no, 是 or 否)."))


# --- the file's columns ----------------------------------------------------------------------


def _columns(kind: str, header: list[str]) -> dict[str, int]:
    """Column name → index; raises Invalid for unknown, missing or repeated columns."""
    required, optional = COLUMNS[kind]
    known = set(required) | set(optional)
    names = [unicodedata.normalize("NFKC", name).strip().lower() for name in header]
    index: dict[str, int] = {}
    unknown, repeated = [], []
    for i, name in enumerate(names):
        if name not in known:
            unknown.append(name or f"#{i + 1}")
        elif name in index:
            repeated.append(name)
        else:
            index[name] = i
    if unknown:
        raise Invalid(
            f"Unknown columns: {', '.join(unknown)}. The header is "
            f"{','.join(required + optional)}.",
            code="unknown_columns",
            errors={"columns": [f"Unknown column: {name}" for name in unknown]},
            columns=unknown,
        )
    if repeated:
        raise Invalid(
            f"Columns given twice: {', '.join(repeated)}.",
            code="duplicate_columns",
            errors={"columns": [f"Column given twice: {name}" for name in repeated]},
            columns=repeated,
        )
    missing = [name for name in required if name not in index]
    if missing:
        raise Invalid(
            f"Missing columns: {', '.join(missing)}.",
            code="missing_columns",
            errors={"columns": [f"Missing column: {name}" for name in missing]},
            columns=missing,
        )
    return index


@dataclass(slots=True)
class _Row:
    number: int
    cells: dict[str, object]
    errors: dict[str, list[Message]] = field(default_factory=dict)
    values: dict = field(default_factory=dict)

    def bad(self, column: str, message: Message) -> None:
        self.errors.setdefault(column, []).append(message)

    def parse(self, column: str, reader: Callable, **kwargs) -> None:
        try:
            self.values[column] = reader(self.cells[column], **kwargs)
        except _Bad as err:
            self.bad(column, err.message)


def _rows(sheet: import_files.Sheet, index: dict[str, int]) -> Iterator[_Row]:
    width = len(sheet.header)
    for number, cells in sheet.rows:
        named = {name: cells[i] if i < len(cells) else None for name, i in index.items()}
        row = _Row(number, named)
        extra = cells[width:]
        if any(_cell_text(cell) for cell in extra):
            row.bad(ROW, (N_("This row has more cells than the header."), {}))
        yield row


def _chunks(values: list, size: int = CHUNK) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _select_in(build: Callable[[list], object], keys: Iterable) -> Iterator:
    """Rows of `build(chunk)` for every chunk of keys (a few queries, never one per key)."""
    keys = sorted(set(keys))
    for chunk in _chunks(keys):
        yield from db.session.execute(build(chunk))


def _invalid_rows(outcome: Outcome, rows: list[_Row]) -> None:
    outcome.invalid = [(row.number, row.errors) for row in rows if row.errors]


# --- products --------------------------------------------------------------------------------


@dataclass(slots=True)
class _Plan:
    outcome: Outcome
    write: Callable[[User | None], dict]  # → the audit entry's before/after sample


def _mark_repeats(rows: list[_Row], column: str = "sku") -> None:
    """A key given twice: the later row is invalid, naming the first."""
    first: dict = {}
    for row in rows:
        key = row.values.get(column)
        if key is None:
            continue
        if key in first:
            row.bad(column, (N_("This SKU is already in row %(row)s."), {"row": first[key]}))
        else:
            first[key] = row.number


def _product_ids(skus: Iterable[str]) -> dict[str, int]:
    return dict(
        _select_in(
            lambda chunk: select(Product.sku, Product.id).where(Product.sku.in_(chunk)), skus
        )
    )


PRODUCT_NUMBERS = (("min_order_qty", 1), ("order_multiple", 1), ("low_stock_threshold", 0))


def _optional_text(cell, *, max_len: int) -> str | None:
    return _text(cell, max_len=max_len) or None


PRODUCT_READERS = {
    "sku": _sku,
    "name": partial(_text, max_len=200, required=True),
    "unit": partial(_text, max_len=16, required=True),
    "list_price": _money,
    "category": partial(_optional_text, max_len=64),  # empty: no category
    "spec": partial(_text, max_len=200),
    **{column: partial(_int, low=low) for column, low in PRODUCT_NUMBERS},
    "active": _bool,
}


def _parse_product(row: _Row, readers: list[tuple[str, Callable]]) -> None:
    for column, reader in readers:
        row.parse(column, reader)


def _stored_products(skus: Iterable[str]) -> dict:
    columns = [getattr(Product, f) for f in PRODUCT_FIELDS if f != "category"]
    return {
        r.sku: r
        for r in _select_in(
            lambda chunk: (
                select(Product.id, Product.sku, *columns, Category.name.label("category"))
                .outerjoin(Category, Category.id == Product.category_id)
                .where(Product.sku.in_(chunk))
            ),
            skus,
        )
    }


def _plan_products(sheet: import_files.Sheet, index: dict[str, int], lock: bool) -> _Plan:
    outcome = Outcome("products", rows=len(sheet.rows))
    rows = list(_rows(sheet, index))
    readers = [(column, reader) for column, reader in PRODUCT_READERS.items() if column in index]
    for row in rows:
        _parse_product(row, readers)
    _mark_repeats(rows)
    valid = [row for row in rows if not row.errors]
    stored = _stored_products(row.values["sku"] for row in valid)
    inserts, updates = [], []  # (sku, full values) and (id, sku, full values, diff)
    for row in valid:
        # An empty optional number keeps what is stored; an empty category clears it.
        given = {k: v for k, v in row.values.items() if v is not None or k == "category"}
        sku = given.pop("sku")
        current = stored.get(sku)
        if current is None:
            inserts.append((sku, {**PRODUCT_DEFAULTS, **given}))
            outcome.note_new(row.number, [sku])
            continue
        before = {f: getattr(current, f) for f in PRODUCT_FIELDS}
        full = {**before, **given}
        diff = [(f, before[f], full[f]) for f in PRODUCT_FIELDS if before[f] != full[f]]
        if diff:
            updates.append((current.id, sku, full, diff))
            outcome.note_change(row.number, [sku], diff)
        else:
            outcome.unchanged += 1
    _invalid_rows(outcome, rows)
    return _Plan(outcome, lambda by: _write_products(inserts, updates))


def _write_products(inserts: list, updates: list) -> dict:
    names = {full["category"] for _, full in inserts}
    names |= {full["category"] for _, _, full, _ in updates}
    category_ids = _category_ids(names)

    def columns(full: dict) -> dict:
        values = {f: full[f] for f in PRODUCT_FIELDS if f != "category"}
        values["category_id"] = category_ids.get(full["category"])
        values["search_grams"] = name_grams(full["name"])  # as Product's name validator
        return values

    if inserts:
        # Core executemany without RETURNING: psycopg then runs one short statement in a
        # pipeline rather than many-VALUES statements it must parse each time; the new ids
        # are read after. The database stamps the times (no per-row conversion).
        db.session.execute(
            insert(Product.__table__).values(
                created_at=func.now(), updated_at=func.now(), tier_restricted=False
            ),
            [{"sku": sku, **columns(full)} for sku, full in inserts],
        )
        created = _product_ids(sku for sku, _ in inserts).values()
        db.session.execute(
            insert(StockLevel.__table__).values(updated_at=func.now()),
            [{"product_id": pid, "on_hand": 0, "reserved": 0} for pid in created],
        )
    if updates:
        table = Product.__table__
        names = [*columns(updates[0][2])]
        db.session.execute(
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values({**{n: bindparam(f"b_{n}") for n in names}, "updated_at": func.now()}),
            [
                {"b_id": pid, **{f"b_{k}": v for k, v in columns(full).items()}}
                for pid, _, full, _ in updates
            ],
        )
    sample = updates[:SAMPLE]
    return {
        "before": {sku: {f: old for f, old, _ in diff} for _, sku, _, diff in sample},
        "after": {sku: {f: new for f, _, new in diff} for _, sku, _, diff in sample},
        "new": [sku for sku, _ in inserts[:SAMPLE]],
    }


def _category_ids(names: set[str | None]) -> dict[str, int]:
    """Ids of these category names, creating the missing ones (as products.category_named)."""
    names = {name for name in names if name}
    if not names:
        return {}
    found = dict(db.session.execute(select(Category.name, Category.id)).all())
    missing = sorted(names - found.keys())
    if missing:
        position = db.session.scalar(select(func.count(Category.id))) or 0
        db.session.execute(
            insert(Category),
            [{"name": name, "position": position + i} for i, name in enumerate(missing)],
        )
        created = select(Category.name, Category.id).where(Category.name.in_(missing))
        found.update(db.session.execute(created).all())
    return found


# --- prices ----------------------------------------------------------------------------------

PRICE_TABLES = (("tier", TierPrice, "tier_id", Tier), ("dealer", DealerPrice, "dealer_id", Dealer))
Group = tuple[str, int, int]  # (tier or dealer, product id, tier or dealer id)


def _scope(cell) -> tuple[str, str]:
    text = _cell_text(cell)
    if not text:
        raise _Bad(REQUIRED)
    kind, colon, code = text.partition(":")
    kind = kind.strip().lower()
    if not colon or kind not in SCOPE_KINDS or not code.strip():
        raise _Bad(N_("Write the scope as tier:CODE or dealer:CODE."))
    return SCOPE_KINDS[kind], code.strip()


def _owner_ids(rows: list[_Row]) -> dict[str, dict[str, int]]:
    """Tier and dealer ids by code, for the codes the file names."""
    owners = {}
    for kind, _, _, model in PRICE_TABLES:
        codes = {
            row.values["scope"][1] for row in rows if row.values.get("scope", ("",))[0] == kind
        }
        owners[kind] = dict(
            _select_in(lambda chunk, m=model: select(m.code, m.id).where(m.code.in_(chunk)), codes)
        )
    return owners


def _price_groups(rows: list[_Row]) -> dict[Group, list[_Row]]:
    """The file's rows by the table they belong to; unknown SKUs and codes marked."""
    products = _product_ids(row.values["sku"] for row in rows if "sku" in row.values)
    owners = _owner_ids(rows)
    groups: dict[Group, list[_Row]] = {}
    for row in rows:
        sku, scope = row.values.get("sku"), row.values.get("scope")
        if sku is not None and sku not in products:
            row.bad("sku", (N_("No product has this SKU."), {}))
        if scope is not None and scope[1] not in owners[scope[0]]:
            message = (
                N_("No tier has the code %(code)s.")
                if scope[0] == "tier"
                else N_("No dealer has the code %(code)s.")
            )
            row.bad("scope", (message, {"code": scope[1]}))
        if sku in products and scope and scope[1] in owners[scope[0]] and "min_qty" in row.values:
            key = (scope[0], products[sku], owners[scope[0]][scope[1]])
            groups.setdefault(key, []).append(row)
    return groups


def _check_table(group: list[_Row]) -> None:
    """The pricing rules (pricing.table_errors) per table, told on the row concerned."""
    seen: dict[int, int] = {}
    for row in group:
        qty = row.values["min_qty"]
        if qty in seen:
            message = N_("min_qty %(qty)s is already in row %(row)s for this SKU and scope.")
            row.bad("min_qty", (message, {"qty": qty, "row": seen[qty]}))
        else:
            seen[qty] = row.number
    if 1 not in seen:
        message = N_("The table of this SKU and scope must start at min_qty 1.")
        group[0].bad("min_qty", (message, {}))


def _stored_tables(groups: dict[Group, list[_Row]]) -> dict[Group, dict[int, int]]:
    stored: dict[Group, dict[int, int]] = {}
    for kind, model, owner, _ in PRICE_TABLES:
        product_ids = {key[1] for key in groups if key[0] == kind}
        for pid, oid, qty, price in _select_in(
            lambda chunk, m=model, o=owner: select(
                m.product_id, getattr(m, o), m.min_qty, m.price
            ).where(m.product_id.in_(chunk)),
            product_ids,
        ):
            stored.setdefault((kind, pid, oid), {})[qty] = price
    return stored


def _compare_table(outcome: Outcome, group: list[_Row], table: dict[int, int]) -> bool:
    """Count the group's rows against the stored table; whether the table must be written."""
    touched = False
    for row in group:
        if row.errors:
            continue
        sku, scope, qty, price = (row.values[c] for c in ("sku", "scope", "min_qty", "price"))
        label = [sku, f"{scope[0]}:{scope[1]}", f"≥{qty}"]
        if qty not in table:
            outcome.note_new(row.number, label)
            touched = True
        elif table[qty] != price:
            outcome.note_change(row.number, label, [("price", table[qty], price)])
            touched = True
        else:
            outcome.unchanged += 1
    removed = len(table.keys() - {row.values["min_qty"] for row in group})
    outcome.removed += removed
    return touched or bool(removed)


def _plan_prices(sheet: import_files.Sheet, index: dict[str, int], lock: bool) -> _Plan:
    outcome = Outcome("prices", rows=len(sheet.rows))
    rows = list(_rows(sheet, index))
    for row in rows:
        row.parse("sku", _sku)
        row.parse("scope", _scope)
        row.parse("min_qty", _int, low=1, required=True)
        row.parse("price", _money)
    groups = _price_groups(rows)
    for group in groups.values():
        _check_table(group)
    stored = _stored_tables(groups)
    to_write = [
        (key, group)
        for key, group in groups.items()
        if _compare_table(outcome, group, stored.get(key, {}))
    ]
    _invalid_rows(outcome, rows)
    return _Plan(outcome, lambda by: _write_prices(outcome, to_write))


def _write_prices(outcome: Outcome, to_write: list[tuple[Group, list[_Row]]]) -> dict:
    """Replace each touched table: one executemany DELETE and one INSERT per kind."""
    for kind, model, owner, _ in PRICE_TABLES:
        tables = [(key, group) for key, group in to_write if key[0] == kind]
        if not tables:
            continue
        table = model.__table__
        db.session.execute(
            delete(table).where(
                table.c.product_id == bindparam("b_product"),
                table.c[owner] == bindparam("b_owner"),
            ),
            [{"b_product": key[1], "b_owner": key[2]} for key, _ in tables],
        )
        db.session.execute(
            insert(model),
            [
                {"product_id": key[1], owner: key[2], "min_qty": row.values["min_qty"],
                 "price": row.values["price"]}
                for key, group in tables
                for row in group
            ],
        )  # fmt: skip
    return {
        "before": {" ".join(c["key"]): c["fields"][0][1] for c in outcome.changes},
        "after": {" ".join(c["key"]): c["fields"][0][2] for c in outcome.changes},
        "new": [" ".join(a["key"]) for a in outcome.added],
    }


# --- stock -----------------------------------------------------------------------------------


def _stock_levels(product_ids: Iterable[int], lock: bool) -> dict[int, tuple[int, int]]:
    """(on_hand, reserved) by product id. Applying locks the rows, in product-id order as
    order placement does, so no reservation slips in between this check and the write."""

    def build(chunk):
        stmt = (
            select(StockLevel.product_id, StockLevel.on_hand, StockLevel.reserved)
            .where(StockLevel.product_id.in_(chunk))
            .order_by(StockLevel.product_id)
        )
        return stmt.with_for_update() if lock else stmt

    return {pid: (on_hand, reserved) for pid, on_hand, reserved in _select_in(build, product_ids)}


def _plan_stock(sheet: import_files.Sheet, index: dict[str, int], lock: bool) -> _Plan:
    outcome = Outcome("stock", rows=len(sheet.rows))
    rows = list(_rows(sheet, index))
    for row in rows:
        row.parse("sku", _sku)
        row.parse("on_hand", _int, low=0, required=True)
    _mark_repeats(rows)
    products = _product_ids(row.values["sku"] for row in rows if "sku" in row.values)
    levels = _stock_levels(products.values(), lock)
    changes = []  # (product id, sku, before, after, has a stock row)
    for row in rows:
        sku = row.values.get("sku")
        if sku is not None and sku not in products:
            row.bad("sku", (N_("No product has this SKU."), {}))
        if row.errors:
            continue
        pid, on_hand = products[sku], row.values["on_hand"]
        before, reserved = levels.get(pid, (0, 0))
        if on_hand < reserved:
            message = N_("Below the %(reserved)s already reserved by orders.")
            row.bad("on_hand", (message, {"reserved": reserved}))
        elif pid not in levels:
            changes.append((pid, sku, before, on_hand, False))
            outcome.note_new(row.number, [sku])
        elif before != on_hand:
            changes.append((pid, sku, before, on_hand, True))
            outcome.note_change(row.number, [sku], [("on_hand", before, on_hand)])
        else:
            outcome.unchanged += 1
    _invalid_rows(outcome, rows)
    return _Plan(outcome, lambda by: _write_stock(changes, by))


def _write_stock(changes: list[tuple], by: User | None) -> dict:
    table = StockLevel.__table__
    counted = sorted((c for c in changes if c[4]), key=lambda c: c[0])
    if counted:
        # Guarded as products.set_on_hand: never below what is reserved (the CHECK holds too).
        done = db.session.execute(
            update(table)
            .where(table.c.product_id == bindparam("b_product"))
            .where(table.c.reserved <= bindparam("b_on_hand"))
            .values(on_hand=bindparam("b_on_hand"), updated_at=func.now()),
            [{"b_product": c[0], "b_on_hand": c[3]} for c in counted],
        )
        if done.rowcount != len(counted):  # the sum over the rows (sqlite3 and psycopg)
            raise _ImportConflict()
    first_counts = [c for c in changes if not c[4]]
    if first_counts:
        db.session.execute(
            insert(StockLevel),
            [{"product_id": c[0], "on_hand": c[3], "reserved": 0} for c in first_counts],
        )
    stock_movements.record_many(
        (
            stock_movements.Movement(
                pid, before, after, kind=stock_movements.IMPORT, reason="spreadsheet import"
            )
            for pid, _, before, after, _ in changes
        ),
        by,
    )
    sample = changes[:SAMPLE]
    return {
        "before": {c[1]: c[2] for c in sample},
        "after": {c[1]: c[3] for c in sample},
    }


class _ImportConflict(Exception):
    """A guarded write found the data changed under the import."""


PLANNERS = {"products": _plan_products, "prices": _plan_prices, "stock": _plan_stock}


# --- checking and applying -------------------------------------------------------------------


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise NotFound(f"No import of {kind!r}; use products, prices or stock.")
    return kind


def run(
    kind: str,
    content: bytes,
    *,
    by: User | None,
    dry_run: bool,
    filename: str = "",
    before_commit: Callable[[Outcome], None] | None = None,
) -> Outcome:
    """Check a file (dry_run) or apply it all in one transaction.

    Raises BadRequest (unreadable file), Invalid (empty, unknown or missing columns),
    ImportRefused (some rows invalid: nothing changed) or Conflict (the data changed under
    the import; nothing changed)."""
    permissions.require(by, permissions.ADMIN)
    _kind(kind)
    sheet = import_files.read(content)
    index = _columns(kind, sheet.header)
    if not sheet.rows:
        raise import_files.empty_file()
    try:
        plan = PLANNERS[kind](sheet, index, lock=not dry_run)
        outcome = plan.outcome
        if dry_run:
            db.session.rollback()  # only reads: end the transaction, keep nothing
            return outcome
        if outcome.invalid:
            db.session.rollback()
            raise ImportRefused(outcome)
        sample = plan.write(by)
        outcome.applied = True
        audit.record(
            by,
            f"import.{kind}",
            "import",
            kind,
            {"changed": sample.get("before", {})},
            {
                **outcome.summary(),
                "file": filename[:200],
                "changed_sample": sample.get("after", {}),
                **({"new_sample": sample["new"]} if sample.get("new") else {}),
            },
        )
        if before_commit is not None:
            before_commit(outcome)
        db.session.commit()
    except (IntegrityError, _ImportConflict) as err:
        db.session.rollback()
        raise Conflict(
            "The data changed while the file was being applied; nothing was changed. "
            "Check the file again and apply it.",
            code="import_conflict",
        ) from err
    return outcome


# --- exports ---------------------------------------------------------------------------------


def _yuan(fen: int) -> Decimal:
    return Decimal(fen).scaleb(-2)


def export_rows(kind: str) -> tuple[list[str], Iterator[list]]:
    """(header, rows) of what is stored now, in the import's format."""
    _kind(kind)
    if kind == "products":
        header = [*PRODUCT_REQUIRED, *PRODUCT_OPTIONAL]
        query = (
            select(
                Product.sku,
                Product.name,
                Product.unit,
                Product.list_price,
                Category.name,
                Product.spec,
                Product.min_order_qty,
                Product.order_multiple,
                Product.low_stock_threshold,
                Product.active,
            )
            .outerjoin(Category, Category.id == Product.category_id)
            .order_by(Product.sku)
        )
        rows = (
            [sku, name, unit, _yuan(price), category or "", spec or "", *rest]
            for sku, name, unit, price, category, spec, *rest in db.session.execute(query)
        )
        return header, rows
    if kind == "prices":
        tiers = (
            select(Product.sku, (literal("tier:") + Tier.code).label("scope"),
                   TierPrice.min_qty, TierPrice.price, literal(0).label("o"))
            .join(Product, Product.id == TierPrice.product_id)
            .join(Tier, Tier.id == TierPrice.tier_id)
        )  # fmt: skip
        dealers = (
            select(Product.sku, (literal("dealer:") + Dealer.code).label("scope"),
                   DealerPrice.min_qty, DealerPrice.price, literal(1).label("o"))
            .join(Product, Product.id == DealerPrice.product_id)
            .join(Dealer, Dealer.id == DealerPrice.dealer_id)
        )  # fmt: skip
        both = tiers.union_all(dealers).subquery()
        query = select(both.c.sku, both.c.scope, both.c.min_qty, both.c.price).order_by(
            both.c.sku, both.c.o, both.c.scope, both.c.min_qty
        )
        rows = (
            [sku, scope, qty, _yuan(price)] for sku, scope, qty, price in db.session.execute(query)
        )
        return ["sku", "scope", "min_qty", "price"], rows
    query = (
        select(Product.sku, func.coalesce(StockLevel.on_hand, 0))
        .outerjoin(StockLevel, StockLevel.product_id == Product.id)
        .order_by(Product.sku)
    )
    return ["sku", "on_hand"], ([sku, on_hand] for sku, on_hand in db.session.execute(query))


def _today() -> str:
    return datetime.now(SHANGHAI).date().isoformat()


def export_file(kind: str, file_format: str, by: User | None = None) -> tuple[bytes, str, str]:
    """(content, mimetype, filename) of the current data as "csv" or "xlsx"."""
    permissions.require(by, permissions.ADMIN)
    header, rows = export_rows(kind)
    content, mimetype = import_files.write(file_format, header, rows, kind)
    return content, mimetype, f"{kind}-{_today()}.{file_format}"


def template_file(kind: str, file_format: str) -> tuple[bytes, str, str]:
    """An empty file of this kind: the header row only."""
    _kind(kind)
    required, optional = COLUMNS[kind]
    content, mimetype = import_files.write(file_format, [*required, *optional], [], kind)
    return content, mimetype, f"{kind}-template.{file_format}"


# --- uploads kept between a page's preview and its "Apply all" -------------------------------


def save_upload(by: User, kind: str, filename: str, content: bytes, outcome: Outcome):
    """Keep a checked file (in the shared database) for its preview page; sweeps old ones."""
    permissions.require(by, permissions.ADMIN)
    db.session.execute(delete(ImportUpload).where(ImportUpload.created_at < utcnow() - UPLOAD_TTL))
    upload = ImportUpload(
        user_id=by.id,
        kind=kind,
        filename=(filename or "")[:255],
        content=content,
        preview=json.dumps(outcome.stored(), ensure_ascii=False),
    )
    db.session.add(upload)
    db.session.commit()
    return upload


def upload_for(by: User, upload_id: int) -> ImportUpload:
    """The user's own upload; NotFound for anyone else's or an expired one."""
    permissions.require(by, permissions.ADMIN)
    upload = db.session.get(ImportUpload, upload_id)
    if upload is None or upload.user_id != by.id:
        raise NotFound("No such upload.", subject=("import", None))
    return upload


def preview_of(upload: ImportUpload) -> dict:
    return json.loads(upload.preview or "{}")


def apply_upload(by: User, upload_id: int) -> Outcome:
    """Apply a kept upload once, all rows or nothing; the upload is marked applied with it."""
    upload = upload_for(by, upload_id)
    kind, content, filename = upload.kind, upload.content, upload.filename

    def mark_applied(outcome: Outcome) -> None:
        # Guarded: of two clicks on "Apply all", the second finds it applied and changes nothing.
        done = db.session.execute(
            update(ImportUpload)
            .where(ImportUpload.id == upload_id, ImportUpload.applied_at.is_(None))
            .values(applied_at=utcnow(), preview=json.dumps(outcome.stored(), ensure_ascii=False))
        )
        if done.rowcount != 1:
            raise _AlreadyApplied()

    if upload.applied_at is not None:
        raise Conflict("This file was already applied.", code="import_already_applied")
    try:
        return run(
            kind, content, by=by, dry_run=False, filename=filename, before_commit=mark_applied
        )
    except _AlreadyApplied:
        db.session.rollback()
        raise Conflict("This file was already applied.", code="import_already_applied") from None
    except ImportRefused as err:
        # The data changed since the preview: keep what the file shows now.
        db.session.execute(
            update(ImportUpload)
            .where(ImportUpload.id == upload_id)
            .values(preview=json.dumps(err.outcome.stored(), ensure_ascii=False))
        )
        db.session.commit()
        raise


class _AlreadyApplied(Exception):
    pass
