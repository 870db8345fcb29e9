"""GET /wallet/statement (CONTRACT §4) and HQ's /admin/dealers/{code}/wallet/statement (§3):
JSON, CSV and XLSX; only the dealer's own entries; bad ranges are 422; plus the 对账单 page."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from openpyxl import load_workbook
from sqlalchemy import update

from app.extensions import db
from app.models import LedgerEntry
from app.services import statements, wallet
from tests import factories as f
from tests.api.helpers import assert_problem

URL = "/api/v1/wallet/statement"
NOV = {"account": "funds", "from": "2026-11-01", "to": "2026-11-30"}
ENTRY_KEYS = {"id", "account", "type", "amount", "balance_after", "order_number", "memo",
              "created_at"}  # fmt: skip


def _at(entry: LedgerEntry, text: str) -> None:
    """Move an entry to a UTC instant (postings are stamped with now)."""
    at = datetime.fromisoformat(text).replace(tzinfo=UTC)
    db.session.execute(update(LedgerEntry).where(LedgerEntry.id == entry.id).values(created_at=at))
    db.session.commit()


@pytest.fixture
def books(client):
    """GZ001 with funds entries before, inside and after Shanghai November; SZ001 with its own."""
    f.tier()
    f.dealer("GZ001")
    f.dealer("SZ001")
    gz, sz = f.dealer_user("GZ001", "gz"), f.dealer_user("SZ001", "sz")
    hq = f.admin("hq")
    _at(f.deposit("GZ001", 100_00, "BANK-OCT"), "2026-10-31T15:59:59")  # Shanghai 10-31
    _at(f.deposit("GZ001", 250_00, "=BANK-NOV"), "2026-10-31T16:00:00")  # Shanghai 11-01
    _at(wallet.adjust("GZ001", "funds", -3_00, "-运费 correction", hq), "2026-11-15T04:00:00")
    _at(f.deposit("GZ001", 7_00, "BANK-DEC"), "2026-11-30T16:00:00")  # Shanghai 12-01
    _at(wallet.adjust("GZ001", "rebate", 9_99, "返利", hq), "2026-11-05T00:00:00")
    _at(f.deposit("SZ001", 555_55, "SZ-SECRET"), "2026-11-10T00:00:00")
    return SimpleNamespace(
        gz=f.api_headers(gz), sz=f.api_headers(sz), hq=f.api_headers(hq), client=client
    )


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))


def test_dealer_json_statement_of_shanghai_november(client, books):
    response = client.get(URL, query_string=NOV, headers=books.gz)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body.keys() == {"account", "from", "to", "opening_balance", "closing_balance",
                           "entries"}  # fmt: skip
    assert (body["account"], body["from"], body["to"]) == ("funds", "2026-11-01", "2026-11-30")
    assert body["opening_balance"] == "100.00"
    assert [e["amount"] for e in body["entries"]] == ["250.00", "-3.00"]
    assert body["closing_balance"] == "347.00"
    total = sum(Decimal(e["amount"]) for e in body["entries"])
    assert Decimal(body["opening_balance"]) + total == Decimal(body["closing_balance"])


def test_entries_are_exactly_the_ledger_items(client, books):
    body = client.get(URL, query_string=NOV, headers=books.gz).get_json()
    listed = client.get("/api/v1/wallet/entries?account=funds", headers=books.gz).get_json()
    by_id = {item["id"]: item for item in listed["items"]}
    for entry in body["entries"]:
        assert entry.keys() == ENTRY_KEYS
        assert entry == by_id[entry["id"]]


def test_a_range_before_any_entry_is_zero_to_zero(client, books):
    query = {**NOV, "from": "2020-01-01", "to": "2020-12-31"}
    body = client.get(URL, query_string=query, headers=books.gz).get_json()
    assert (body["opening_balance"], body["entries"], body["closing_balance"]) == (
        "0.00",
        [],
        "0.00",
    )


def test_the_rebate_account_has_its_own_statement(client, books):
    query = {**NOV, "account": "rebate"}
    body = client.get(URL, query_string=query, headers=books.gz).get_json()
    assert [(e["account"], e["amount"]) for e in body["entries"]] == [("rebate", "9.99")]


def test_csv_download_opens_in_excel_with_numbers_and_no_formulas(client, books):
    response = client.get(URL, query_string={**NOV, "format": "csv"}, headers=books.gz)
    assert response.status_code == 200
    assert response.content_type == "text/csv; charset=utf-8"  # one charset, not two
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="statement-GZ001-funds-2026-11-01-2026-11-30.csv"'
    )
    assert response.get_data().startswith("\ufeff".encode())
    rows = _csv(response)
    assert rows[1][1] == "期初余额" and rows[1][6] == "100.00"
    assert rows[2][1] == "回款" and rows[2][4] == "'=BANK-NOV" and rows[2][5] == "250.00"
    assert rows[2][3] == "deposit:=BANK-NOV"  # the posting's own unique reference
    assert rows[3][1] == "调整" and rows[3][4] == "'-运费 correction" and rows[3][5] == "-3.00"
    assert rows[-1][1] == "期末余额" and rows[-1][6] == "347.00"
    assert len(rows) == 5


def test_accept_text_csv_gets_the_csv(client, books):
    response = client.get(URL, query_string=NOV, headers={**books.gz, "Accept": "text/csv"})
    assert response.mimetype == "text/csv"
    assert _csv(response)[-1][6] == "347.00"


def test_csv_words_follow_the_language(client, books):
    client.set_cookie("lang", "en")
    rows = _csv(client.get(URL, query_string={**NOV, "format": "csv"}, headers=books.gz))
    assert rows[0][0] == "Time (China)"
    assert [r[1] for r in rows[1:]] == ["Opening balance", "Deposit", "Adjustment",
                                        "Closing balance"]  # fmt: skip


def test_xlsx_download_has_numeric_money(client, books):
    response = client.get(URL, query_string={**NOV, "format": "xlsx"}, headers=books.gz)
    assert response.status_code == 200
    assert response.mimetype == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert response.headers["Content-Disposition"].endswith('-2026-11-30.xlsx"')
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][6] == pytest.approx(100)
    assert [r[5] for r in rows[2:4]] == [pytest.approx(250), pytest.approx(-3)]
    assert rows[-1][6] == pytest.approx(347)
    assert sheet.cell(row=3, column=6).number_format == "0.00"


def test_hq_gets_the_same_statement(client, books):
    mine = client.get(URL, query_string=NOV, headers=books.gz).get_json()
    url = "/api/v1/admin/dealers/GZ001/wallet/statement"
    theirs = client.get(url, query_string=NOV, headers=books.hq)
    assert theirs.status_code == 200
    assert theirs.get_json() == mine
    download = client.get(url, query_string={**NOV, "format": "csv"}, headers=books.hq)
    assert 'filename="statement-GZ001-funds' in download.headers["Content-Disposition"]
    assert _csv(download)[-1][6] == "347.00"


def test_hq_asking_for_an_unknown_dealer_is_404(client, books):
    url = "/api/v1/admin/dealers/NOPE/wallet/statement"
    assert_problem(client.get(url, query_string=NOV, headers=books.hq), 404)


def test_another_dealers_entries_never_appear(client, books):
    for fmt in ("json", "csv", "xlsx"):
        response = client.get(URL, query_string={**NOV, "format": fmt}, headers=books.gz)
        data = response.get_data()
        assert b"SZ-SECRET" not in data and b"555" not in data, fmt
    body = client.get(URL, query_string=NOV, headers=books.sz).get_json()
    assert [e["amount"] for e in body["entries"]] == ["555.55"]
    assert body["opening_balance"] == "0.00"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({**NOV, "from": "2026-12-01"}, "to"),
        ({**NOV, "from": "2025-01-01", "to": "2026-01-02"}, "to"),
        ({**NOV, "account": "cash"}, "account"),
        ({**NOV, "from": "2026-13-01"}, "from"),
        ({**NOV, "to": "30/11/2026"}, "to"),
        ({"account": "funds", "to": "2026-11-30"}, "from"),
        ({**NOV, "format": "pdf"}, "format"),
        ({**NOV, "page": "2"}, "page"),
    ],
)
def test_bad_ranges_and_accounts_are_422(client, books, query, field):
    for url, headers in ((URL, books.gz), ("/api/v1/admin/dealers/GZ001/wallet/statement",
                                            books.hq)):  # fmt: skip
        response = client.get(url, query_string=query, headers=headers)
        assert_problem(response, 422, fields=[field])


def test_366_days_is_allowed(client, books):
    query = {**NOV, "from": "2026-01-01", "to": "2027-01-01"}
    assert client.get(URL, query_string=query, headers=books.gz).status_code == 200


def test_dealer_on_the_admin_path_is_403_and_hq_on_the_dealer_path_is_403(client, books):
    url = "/api/v1/admin/dealers/GZ001/wallet/statement"
    assert_problem(client.get(url, query_string=NOV, headers=books.gz), 403)
    assert_problem(client.get(url, query_string=NOV, headers=books.sz), 403)
    assert_problem(client.get(URL, query_string=NOV, headers=books.hq), 403)
    assert_problem(client.get(URL, query_string=NOV), 401)


def test_openapi_describes_the_query(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in ("/wallet/statement", "/admin/dealers/{code}/wallet/statement"):
        params = {p["name"]: p for p in spec["paths"][path]["get"]["parameters"]}
        assert params["from"]["schema"]["format"] == "date" and params["from"]["required"]
        assert params["to"]["schema"]["format"] == "date"
        assert params["account"]["schema"]["enum"] == ["funds", "rebate"]
        assert set(params["format"]["schema"]["enum"]) == {"json", "csv", "xlsx"}


# --- the dealer's 对账单 page (web.wallet_statement) -------------------------------


def test_page_download_defaults_to_this_months_funds_csv(client, books):
    f.web_login(client, "gz")
    first, last = statements.this_month()
    response = client.get("/wallet/statement")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    name = f"statement-GZ001-funds-{first}-{last}.csv"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{name}"'
    rows = _csv(response)
    assert rows[-1][6] == f"{wallet.balances(_dealer_id('GZ001'))['funds'] / 100:.2f}"


def _dealer_id(code: str) -> int:
    from app.services.accounts import dealer_by_code

    return dealer_by_code(code).id


def test_page_download_of_a_range_as_xlsx_is_only_mine(client, books):
    f.web_login(client, "gz")
    response = client.get("/wallet/statement", query_string={**NOV, "format": "xlsx"})
    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(response.get_data())).active.iter_rows(values_only=True))
    assert rows[-1][6] == pytest.approx(347)
    assert all("SZ-SECRET" not in str(cell) for row in rows for cell in row)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({**NOV, "from": "2026-12-01"}, "开始日期不能晚于结束日期。"),
        ({**NOV, "from": "2025-01-01"}, "对账单最多覆盖 366 天。"),
        ({**NOV, "account": "cash"}, "请选择货款账户或返利账户。"),
        ({**NOV, "to": "11/30"}, "日期格式为 年-月-日"),
        ({**NOV, "format": "pdf"}, "请选择 CSV 或 Excel"),
    ],
)
def test_page_bad_input_is_a_clear_translated_page(client, books, query, message):
    f.web_login(client, "gz")
    response = client.get("/wallet/statement", query_string=query)
    assert response.status_code == 422
    assert response.mimetype == "text/html"
    assert message in response.get_data(as_text=True)


def test_page_is_for_signed_in_dealers_only(client, books):
    assert client.get("/wallet/statement").status_code in (302, 401)
