"""Bulk import and export (CONTRACT §3b): products, prices and stock as CSV or .xlsx — counts
of new / changed / unchanged, the reason per invalid cell, all rows or none, exports that
import back unchanged, formula-looking text that round-trips safely, and admin only."""

from __future__ import annotations

import io
import json

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEntry, Category, Product, StockMovement
from app.services import products, staff
from tests import factories as f
from tests.api.helpers import assert_problem, db_state, reserve, stock_row

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PRODUCT_HEADER = (
    "sku,name,unit,list_price,category,spec,min_order_qty,order_multiple,low_stock_threshold,active"
)


def post(client, kind: str, body, headers, *, dry_run: bool | None = None, ctype="text/csv"):
    url = f"/api/v1/admin/imports/{kind}"
    if dry_run is not None:
        url += f"?dry_run={'true' if dry_run else 'false'}"
    data = body.encode() if isinstance(body, str) else body
    return client.post(url, data=data, headers={**headers, "Content-Type": ctype})


def csv_text(*lines: str) -> str:
    return "\r\n".join(lines) + "\r\n"


def xlsx_of(rows: list[list]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def export(client, kind: str, headers, file_format: str = "csv"):
    response = client.get(f"/api/v1/admin/exports/{kind}?format={file_format}", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def stored(sku: str) -> Product:
    db.session.rollback()
    return db.session.scalar(select(Product).where(Product.sku == sku))


def audit_entries(action: str) -> list[AuditEntry]:
    db.session.rollback()
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


@pytest.fixture
def catalog(shop):
    """Two products: A-1 (¥100, 饮料, 20 on hand) and B-2 (¥12.50, no category, none)."""
    f.product("A-1", name="可乐", list_price=10000, category="饮料", on_hand=20)
    f.product("B-2", name="雪碧", list_price=1250, category=None)
    return shop


# --- products --------------------------------------------------------------------------------


def test_products_dry_run_counts_rows_and_changes_nothing(client, catalog):
    body = csv_text(
        "sku,name,unit,list_price,category",
        "A-1,可乐,箱,100.00,饮料",  # unchanged
        "B-2,雪碧 新包装,箱,12.50,",  # changed name
        "C-3,芬达,瓶,8,汽水",  # new
    )
    before = db_state()
    response = post(client, "products", body, catalog.admin, dry_run=True)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {
        "new": 1,
        "changed": 1,
        "unchanged": 1,
        "invalid": [],
        "applied": False,
    }
    assert db_state() == before


def test_products_apply_creates_and_updates_in_one_go(client, catalog):
    body = csv_text(
        PRODUCT_HEADER,
        "A-1,可乐 330ml,箱,99.5,饮料,330ml×24,2,2,5,false",
        "C-3,芬达,瓶,8,汽水,,,,,",
    )
    response = post(client, "products", body, catalog.admin)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {
        "new": 1,
        "changed": 1,
        "unchanged": 0,
        "invalid": [],
        "applied": True,
    }
    a1 = stored("A-1")
    assert (a1.name, a1.list_price, a1.spec, a1.active) == ("可乐 330ml", 9950, "330ml×24", False)
    assert (a1.min_order_qty, a1.order_multiple, a1.low_stock_threshold) == (2, 2, 5)
    assert "33" in a1.search_grams  # the name search index follows the new name
    c3 = stored("C-3")
    assert (c3.name, c3.unit, c3.list_price, c3.category_name) == ("芬达", "瓶", 800, "汽水")
    assert (c3.min_order_qty, c3.order_multiple, c3.low_stock_threshold, c3.active) == (
        1,
        1,
        10,
        True,
    )
    assert stock_row("C-3") == (0, 0)
    assert db.session.scalar(select(Category.id).where(Category.name == "汽水"))
    entries = audit_entries("import.products")
    assert len(entries) == 1
    after = json.loads(entries[0].after)
    assert (after["new"], after["changed"], after["unchanged"]) == (1, 1, 0)
    assert json.loads(entries[0].before)["changed"]["A-1"]["name"] == "可乐"


def test_empty_optional_numbers_keep_what_is_stored(client, catalog):
    products.update_product("A-1", {"min_order_qty": 6, "active": False})
    body = csv_text(PRODUCT_HEADER, "A-1,可乐,箱,100,饮料,,,,,")
    response = post(client, "products", body, catalog.admin)
    assert response.get_json()["unchanged"] == 1, response.get_json()
    assert (stored("A-1").min_order_qty, stored("A-1").active) == (6, False)


def test_an_empty_category_cell_clears_the_category(client, catalog):
    body = csv_text("sku,name,unit,list_price,category", "A-1,可乐,箱,100,")
    assert post(client, "products", body, catalog.admin).get_json()["changed"] == 1
    assert stored("A-1").category_name is None


@pytest.mark.parametrize(
    ("line", "column", "message"),
    [
        ("bad sku!,名,箱,1", "sku", "Use 1–64 letters"),
        (",名,箱,1", "sku", "Required."),
        ("N-1,,箱,1", "name", "Required."),
        ("N-1," + "长" * 201 + ",箱,1", "name", "At most 200 characters."),
        ("N-1,名,十六个字符以上的单位名称真的很长吧,1", "unit", "At most 16 characters."),
        ("N-1,名,箱,abc", "list_price", "at most two decimals"),
        ("N-1,名,箱,1.234", "list_price", "at most two decimals"),
        ("N-1,名,箱,-1", "list_price", "Must not be negative."),
        ("N-1,名,箱,", "list_price", "Required."),
        ("N-1,名,箱,1,,,0", "min_order_qty", "whole number from 1"),
        ("N-1,名,箱,1,,,2.5", "min_order_qty", "whole number from 1"),
        ("N-1,名,箱,1,,,,x", "order_multiple", "whole number from 1"),
        ("N-1,名,箱,1,,,,,-1", "low_stock_threshold", "whole number from 0"),
        ("N-1,名,箱,1,,,,,99999999999", "low_stock_threshold", "whole number from 0"),
        ("N-1,名,箱,1,,,,,,maybe", "active", "true or false"),
        ("N-1,名\x07,箱,1", "name", "control characters"),
        ("N-1,名,箱,1,,,,,,,extra", "_row", "more cells than the header"),
    ],
)
def test_each_invalid_cell_is_told_by_row_and_column(client, catalog, line, column, message):
    body = csv_text(PRODUCT_HEADER, "OK-1,好的,箱,1", line)
    response = post(client, "products", body, catalog.admin, dry_run=True)
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert answer["new"] == 1
    assert [row["row"] for row in answer["invalid"]] == [3]
    errors = answer["invalid"][0]["errors"]
    assert column in errors, errors
    assert any(message in text for text in errors[column]), errors


def test_a_sku_twice_in_the_file_names_the_first_row(client, catalog):
    body = csv_text("sku,name,unit,list_price", "N-1,一,箱,1", "N-2,二,箱,1", "N-1,三,箱,1")
    answer = post(client, "products", body, catalog.admin, dry_run=True).get_json()
    assert answer["invalid"] == [{"row": 4, "errors": {"sku": ["This SKU is already in row 2."]}}]


def test_one_bad_row_refuses_the_whole_file_and_changes_nothing(client, catalog):
    body = csv_text(
        "sku,name,unit,list_price",
        "A-1,可乐改名,箱,1",
        "N-1,新品,箱,5",
        "N-2,坏的,箱,五元",
    )
    before = db_state()
    response = post(client, "products", body, catalog.admin)
    problem = assert_problem(response, 422, "invalid_rows")
    assert problem["applied"] is False
    assert (problem["new"], problem["changed"], problem["unchanged"]) == (1, 1, 0)
    assert problem["invalid"] == [
        {
            "row": 4,
            "errors": {
                "list_price": ["Enter an amount in yuan with at most two decimals, such as 12.50."]
            },
        }
    ]
    assert "rows.4.list_price" in problem["errors"]
    assert db_state() == before


def test_unknown_missing_and_repeated_columns_are_422(client, catalog):
    before = db_state()
    response = post(
        client,
        "products",
        csv_text("sku,name,unit,list_price,colour", "N,名,箱,1,红"),
        catalog.admin,
    )
    problem = assert_problem(response, 422, "unknown_columns", fields=["columns"])
    assert problem["columns"] == ["colour"]
    response = post(client, "products", csv_text("sku,name,list_price", "N,名,1"), catalog.admin)
    assert assert_problem(response, 422, "missing_columns")["columns"] == ["unit"]
    response = post(client, "stock", csv_text("sku,on_hand,on_hand", "A-1,1,2"), catalog.admin)
    assert_problem(response, 422, "duplicate_columns")
    assert db_state() == before


def test_header_names_ignore_case_and_spaces(client, catalog):
    body = csv_text(" SKU , Name ,UNIT,List_Price", "N-1,新品,箱,1")
    assert post(client, "products", body, catalog.admin).get_json()["new"] == 1


@pytest.mark.parametrize(
    "body", [b"", b"\xef\xbb\xbf", b"\r\n\r\n", b"sku,on_hand\r\n", b"sku,on_hand\r\n,\r\n"]
)
def test_an_empty_file_is_422(client, catalog, body):
    response = post(client, "stock", body, catalog.admin)
    assert_problem(response, 422, "empty_file", fields=["file"])


def test_a_body_that_is_no_spreadsheet_is_400(client, catalog):
    before = db_state()
    response = client.post(
        "/api/v1/admin/imports/stock", json={"sku": "A-1"}, headers=catalog.admin
    )
    assert_problem(response, 400, "unsupported_file_type")
    response = post(client, "stock", b"PK\x03\x04not really a zip", catalog.admin, ctype=XLSX)
    assert_problem(response, 400, "unreadable_file")
    old_excel = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100
    response = post(client, "stock", old_excel, catalog.admin, ctype="application/vnd.ms-excel")
    assert_problem(response, 400, "xls_not_supported")
    response = post(client, "stock", b"\x00\x01\x02binary", catalog.admin)
    assert_problem(response, 400, "unreadable_file")
    assert db_state() == before


def test_dry_run_takes_only_true_or_false(client, catalog):
    response = client.post(
        "/api/v1/admin/imports/stock?dry_run=perhaps",
        data=b"sku,on_hand\r\nA-1,5\r\n",
        headers={**catalog.admin, "Content-Type": "text/csv"},
    )
    assert_problem(response, 422, fields=["dry_run"])
    assert stock_row("A-1") == (20, 0)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "utf-16"])
def test_csv_in_utf8_with_or_without_bom_in_gbk_and_utf16(client, catalog, encoding):
    body = csv_text(
        "sku,name,unit,list_price,category", "A-1,可乐,箱,100,饮料", "C-3,芬达橙味,瓶,8,汽水"
    )
    response = post(client, "products", body.encode(encoding), catalog.admin)
    assert response.get_json() == {
        "new": 1,
        "changed": 0,
        "unchanged": 1,
        "invalid": [],
        "applied": True,
    }, encoding
    assert stored("C-3").name == "芬达橙味"
    assert stored("C-3").category_name == "汽水"


def test_semicolon_and_tab_separated_files_are_read_too(client, catalog):
    response = post(client, "stock", "sku;on_hand\r\nA-1;7\r\n", catalog.admin)
    assert response.get_json()["changed"] == 1
    response = post(client, "stock", "sku\ton_hand\r\nA-1\t8\r\n", catalog.admin)
    assert response.get_json()["changed"] == 1
    assert stock_row("A-1") == (8, 0)


def test_xlsx_products_with_numbers_booleans_and_blank_rows(client, catalog):
    body = xlsx_of(
        [
            ["sku", "name", "unit", "list_price", "min_order_qty", "active"],
            ["A-1", "可乐", "箱", 100, None, None],
            [],
            ["C-3", "芬达", "瓶", 8.5, 6, False],
            ["D-4", "美年达", "瓶", "9.90", 12.0, "是"],
            ["E-5", "坏", "瓶", 1.005, 1, True],
        ]
    )
    response = post(client, "products", body, catalog.admin, dry_run=True, ctype=XLSX)
    answer = response.get_json()
    assert (answer["new"], answer["unchanged"]) == (2, 1), answer
    assert answer["invalid"][0]["row"] == 6  # the sheet's own row number (row 3 is blank)
    assert "list_price" in answer["invalid"][0]["errors"]
    body = xlsx_of(
        [
            ["sku", "name", "unit", "list_price", "min_order_qty", "active"],
            ["C-3", "芬达", "瓶", 8.5, 6, False],
            ["D-4", "美年达", "瓶", "9.90", 12.0, "是"],
        ]
    )
    assert post(client, "products", body, catalog.admin, ctype=XLSX).get_json()["new"] == 2
    c3, d4 = stored("C-3"), stored("D-4")
    assert (c3.list_price, c3.min_order_qty, c3.active) == (850, 6, False)
    assert (d4.list_price, d4.min_order_qty, d4.active) == (990, 12, True)


def test_a_multipart_upload_with_the_file_in_file(client, catalog):
    data = {"file": (io.BytesIO(b"sku,on_hand\r\nA-1,33\r\n"), "stock.csv", "text/csv")}
    response = client.post(
        "/api/v1/admin/imports/stock?dry_run=false",
        data=data,
        headers=catalog.admin,
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["applied"] is True
    assert stock_row("A-1") == (33, 0)
    entry = audit_entries("import.stock")[0]
    assert json.loads(entry.after)["file"] == "stock.csv"


def test_a_multipart_upload_without_file_is_422(client, catalog):
    response = client.post(
        "/api/v1/admin/imports/stock",
        data={"other": (io.BytesIO(b"sku,on_hand\r\nA-1,1\r\n"), "x.csv")},
        headers=catalog.admin,
        content_type="multipart/form-data",
    )
    assert_problem(response, 422, "missing_file")


# --- round trips and formula-looking text ----------------------------------------------------


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_every_export_imports_back_with_nothing_changed(client, catalog, file_format):
    f.product("C-3", name="芬达", list_price=800, spec="330ml", min_order_qty=6, active=False)
    f.prices("A-1", tiers={"GOLD": [(1, 9000), (10, 8500)]}, dealers={"G1": [(1, 8000)]})
    before = db_state()
    for kind in ("products", "prices", "stock"):
        content = export(client, kind, catalog.admin, file_format).data
        ctype = XLSX if file_format == "xlsx" else "text/csv"
        response = post(client, kind, content, catalog.admin, ctype=ctype)
        answer = response.get_json()
        assert response.status_code == 200, answer
        assert answer["new"] == answer["changed"] == answer.get("removed", 0) == 0, (kind, answer)
        assert answer["unchanged"] > 0 and answer["invalid"] == [] and answer["applied"], kind
    after = db_state()
    assert {t: rows for t, rows in after.items() if t != "audit_entries"} == {
        t: rows for t, rows in before.items() if t != "audit_entries"
    }


def test_an_edited_export_changes_only_what_was_edited(client, catalog):
    content = export(client, "products", catalog.admin).data.decode("utf-8-sig")
    edited = content.replace("雪碧", "雪碧 Zero")
    answer = post(client, "products", edited, catalog.admin).get_json()
    assert (answer["changed"], answer["unchanged"], answer["new"]) == (1, 1, 0)
    assert stored("B-2").name == "雪碧 Zero"
    assert stored("A-1").name == "可乐"


def test_exports_start_with_a_bom_and_write_numbers_as_numbers(client, catalog):
    response = export(client, "products", catalog.admin)
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.data.startswith(b"\xef\xbb\xbf")
    lines = response.data.decode("utf-8-sig").splitlines()
    assert lines[0] == PRODUCT_HEADER
    assert lines[1] == "A-1,可乐,箱,100.00,饮料,,1,1,10,true"
    response = export(client, "products", catalog.admin, "xlsx")
    assert response.mimetype == XLSX
    sheet = load_workbook(io.BytesIO(response.data)).worksheets[0]
    assert [c.value for c in sheet[1]][:4] == ["sku", "name", "unit", "list_price"]
    price = sheet["D2"]
    assert price.value == 100 and price.data_type == "n" and price.number_format == "0.00"
    assert sheet["G2"].value == 1 and sheet["J2"].value is True


def test_an_unknown_export_format_is_422(client, catalog):
    response = client.get("/api/v1/admin/exports/stock?format=pdf", headers=catalog.admin)
    assert_problem(response, 422, fields=["format"])


FORMULAS = ['=HYPERLINK("http://x")', "+86 138", "-5%", "@SUM(A1)", "'=quoted", "''=twice"]


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_formula_looking_text_is_neutralised_on_export_and_restored_on_import(
    client, catalog, file_format
):
    for i, text in enumerate(FORMULAS):
        f.product(f"F-{i}", name=text, spec=text, category=text.strip("'"))
    content = export(client, "products", catalog.admin, file_format).data
    if file_format == "csv":
        text = content.decode("utf-8-sig")
        assert "'=HYPERLINK" in text and "'+86 138" in text and "'-5%" in text
        assert "'@SUM(A1)" in text and "''=quoted" in text and "'''=twice" in text
        assert ",=" not in text and ",+" not in text and ",@" not in text
    else:
        sheet = load_workbook(io.BytesIO(content)).worksheets[0]
        cells = [cell for row in sheet.iter_rows() for cell in row]
        assert not [c.coordinate for c in cells if c.data_type == "f"]  # no formula cell
        names = {sheet.cell(row=r, column=2).value for r in range(2, sheet.max_row + 1)}
        assert '\'=HYPERLINK("http://x")' in names
    ctype = XLSX if file_format == "xlsx" else "text/csv"
    answer = post(client, "products", content, catalog.admin, dry_run=True, ctype=ctype).get_json()
    assert answer["changed"] == answer["new"] == 0 and not answer["invalid"], answer
    for i, text in enumerate(FORMULAS):
        assert stored(f"F-{i}").name == text


def test_an_imported_guarded_cell_is_stored_without_its_quote(client, catalog):
    body = csv_text("sku,name,unit,list_price", "N-1,'=1+1,箱,1", "N-2,'plain,箱,1")
    assert post(client, "products", body, catalog.admin).get_json()["new"] == 2
    assert stored("N-1").name == "=1+1"
    assert stored("N-2").name == "'plain"  # a quote before ordinary text is the text's own


# --- prices ----------------------------------------------------------------------------------


def test_prices_replace_each_named_table_and_leave_the_others(client, catalog):
    f.prices("A-1", tiers={"GOLD": [(1, 9000), (10, 8500), (50, 8000)], "SILVER": [(1, 9500)]})
    f.prices("B-2", dealers={"G1": [(1, 1000)]})
    body = csv_text(
        "sku,scope,min_qty,price",
        "A-1,tier:GOLD,1,90.00",  # unchanged
        "A-1,tier:GOLD,10,84",  # changed; the 50 row goes
        "B-2,dealer:G1,1,10",  # unchanged
        "B-2,dealer:G2,1,11",  # a new table
        "B-2,dealer:G2,24,10.5",
    )
    response = post(client, "prices", body, catalog.admin, dry_run=True)
    expected = {"new": 2, "changed": 1, "unchanged": 2, "removed": 1, "invalid": []}
    assert response.get_json() == {**expected, "applied": False}
    response = post(client, "prices", body, catalog.admin)
    assert response.get_json() == {**expected, "applied": True}
    db.session.rollback()
    a1 = products.price_tables(products.product_by_sku("A-1"))
    assert a1["tiers"]["GOLD"] == [{"min_qty": 1, "price": 9000}, {"min_qty": 10, "price": 8400}]
    assert a1["tiers"]["SILVER"] == [{"min_qty": 1, "price": 9500}]  # not in the file: kept
    b2 = products.price_tables(products.product_by_sku("B-2"))
    assert b2["dealers"] == {
        "G1": [{"min_qty": 1, "price": 1000}],
        "G2": [{"min_qty": 1, "price": 1100}, {"min_qty": 24, "price": 1050}],
    }
    assert len(audit_entries("import.prices")) == 1


@pytest.mark.parametrize(
    ("lines", "row", "column", "message"),
    [
        (["A-1,gold,1,9"], 2, "scope", "tier:CODE or dealer:CODE"),
        (["A-1,tier:,1,9"], 2, "scope", "tier:CODE or dealer:CODE"),
        (["A-1,tier:BRONZE,1,9"], 2, "scope", "No tier has the code BRONZE."),
        (["A-1,dealer:NOPE,1,9"], 2, "scope", "No dealer has the code NOPE."),
        (["ZZZ-9,tier:GOLD,1,9"], 2, "sku", "No product has this SKU."),
        (["A-1,tier:GOLD,5,9"], 2, "min_qty", "must start at min_qty 1"),
        (["A-1,tier:GOLD,1,9", "A-1,tier:GOLD,1,8"], 3, "min_qty", "already in row 2"),
        (["A-1,tier:GOLD,0,9"], 2, "min_qty", "whole number from 1"),
        (["A-1,tier:GOLD,1,-9"], 2, "price", "Must not be negative."),
        (["A-1,tier:GOLD,1,"], 2, "price", "Required."),
    ],
)
def test_each_invalid_price_row_is_told(client, catalog, lines, row, column, message):
    before = db_state()
    response = post(client, "prices", csv_text("sku,scope,min_qty,price", *lines), catalog.admin)
    problem = assert_problem(response, 422, "invalid_rows")
    found = {r["row"]: r["errors"] for r in problem["invalid"]}
    assert row in found and column in found[row], problem["invalid"]
    assert any(message in text for text in found[row][column]), found[row]
    assert db_state() == before


def test_scope_words_ignore_case(client, catalog):
    body = csv_text("sku,scope,min_qty,price", "A-1,Tier:GOLD,1,9", "A-1,DEALER:G1,1,8")
    assert post(client, "prices", body, catalog.admin).get_json()["new"] == 2


# --- stock -----------------------------------------------------------------------------------


def test_stock_counts_apply_and_log_one_movement_per_change(client, catalog):
    body = csv_text("sku,on_hand", "A-1,20", "B-2,15")
    response = post(client, "stock", body, catalog.admin, dry_run=True)
    assert response.get_json() == {
        "new": 0,
        "changed": 1,
        "unchanged": 1,
        "invalid": [],
        "applied": False,
    }
    assert post(client, "stock", body, catalog.admin).get_json()["applied"] is True
    assert stock_row("B-2") == (15, 0)
    db.session.rollback()
    movements = list(
        db.session.scalars(select(StockMovement).where(StockMovement.kind == "import"))
    )
    assert [(m.before_on_hand, m.after_on_hand) for m in movements] == [(0, 15)]
    assert movements[0].username == "hq"
    entry = audit_entries("import.stock")
    assert len(entry) == 1 and json.loads(entry[0].after)["changed"] == 1


def test_stock_below_what_is_reserved_is_an_invalid_row(client, catalog):
    reserve("A-1", 12)
    before = db_state()
    response = post(client, "stock", csv_text("sku,on_hand", "A-1,11", "B-2,3"), catalog.admin)
    problem = assert_problem(response, 422, "invalid_rows")
    assert problem["invalid"] == [
        {"row": 2, "errors": {"on_hand": ["Below the 12 already reserved by orders."]}}
    ]
    assert db_state() == before
    assert (
        post(client, "stock", csv_text("sku,on_hand", "A-1,12"), catalog.admin).status_code == 200
    )
    assert stock_row("A-1") == (12, 12)


@pytest.mark.parametrize(
    ("line", "column", "message"),
    [
        ("ZZZ,5", "sku", "No product has this SKU."),
        ("A-1,-1", "on_hand", "whole number from 0"),
        ("A-1,lots", "on_hand", "whole number from 0"),
        ("A-1,", "on_hand", "Required."),
    ],
)
def test_each_invalid_stock_row_is_told(client, catalog, line, column, message):
    response = post(client, "stock", csv_text("sku,on_hand", line), catalog.admin, dry_run=True)
    errors = response.get_json()["invalid"][0]["errors"]
    assert any(message in text for text in errors[column]), errors


def test_a_stock_sku_twice_is_invalid(client, catalog):
    response = post(client, "stock", csv_text("sku,on_hand", "A-1,1", "A-1,2"), catalog.admin)
    problem = assert_problem(response, 422, "invalid_rows")
    assert problem["invalid"][0]["row"] == 3


# --- roles -----------------------------------------------------------------------------------


@pytest.fixture
def others(catalog):
    """Bearer headers of a dealer user, an order_desk user and a finance user."""
    desk = staff.create_staff(None, "desk", "pw-desk-1", "order_desk")
    money = staff.create_staff(None, "money", "pw-money-1", "finance")
    return {
        "dealer": catalog.g1,
        "order_desk": f.api_headers(desk),
        "finance": f.api_headers(money),
    }


@pytest.mark.parametrize("who", ["dealer", "order_desk", "finance"])
def test_only_admins_import_and_export(client, others, who):
    headers = others[who]
    before = db_state()
    for kind, body in (
        ("products", csv_text("sku,name,unit,list_price", "N-1,新,箱,1")),
        ("prices", csv_text("sku,scope,min_qty,price", "A-1,tier:GOLD,1,1")),
        ("stock", csv_text("sku,on_hand", "A-1,1")),
    ):
        for dry_run in (True, False):
            assert_problem(post(client, kind, body, headers, dry_run=dry_run), 403)
        for file_format in ("csv", "xlsx"):
            response = client.get(
                f"/api/v1/admin/exports/{kind}?format={file_format}", headers=headers
            )
            assert_problem(response, 403)
    assert db_state() == before


def test_imports_need_a_token(client, catalog):
    response = client.post("/api/v1/admin/imports/stock", data=b"sku,on_hand\r\nA-1,1\r\n")
    assert_problem(response, 401)
    assert_problem(client.get("/api/v1/admin/exports/stock"), 401)
