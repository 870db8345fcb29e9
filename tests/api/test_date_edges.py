"""Every date the API takes may be any calendar day JSON Schema's `format: date` allows, from
0001-01-01 to 9999-12-31: the Shanghai day's bounds in UTC must not overflow (they did: 500)."""

from __future__ import annotations

import pytest

EDGES = [("0001-01-01", "0001-01-01"), ("9999-12-31", "9999-12-31"), ("0001-01-01", "9999-12-31")]


@pytest.mark.parametrize(("first", "last"), EDGES)
def test_lists_filtered_by_the_first_and_last_days_answer(client, shop, first, last):
    for url in (
        f"/api/v1/admin/audit?from={first}&to={last}",
        f"/api/v1/admin/orders?from={first}&to={last}",
    ):
        response = client.get(url, headers=shop.admin)
        assert response.status_code == 200, (url, response.get_json())
    audit = client.get(f"/api/v1/admin/audit?from={first}&to={last}", headers=shop.admin)
    # The shop's setup was audited today: inside the whole range only.
    assert bool(audit.get_json()["items"]) == (first < last)


@pytest.mark.parametrize(("first", "last"), EDGES[:2])
@pytest.mark.parametrize("fmt", ["json", "csv", "xlsx"])
def test_a_statement_of_the_first_or_last_day_answers(client, shop, first, last, fmt):
    query = f"account=funds&from={first}&to={last}&format={fmt}"
    mine = client.get(f"/api/v1/wallet/statement?{query}", headers=shop.g1)
    hq = client.get(f"/api/v1/admin/dealers/G1/wallet/statement?{query}", headers=shop.admin)
    for response in (mine, hq):
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
    if fmt == "json":
        assert mine.get_json()["opening_balance"] == mine.get_json()["closing_balance"] == "0.00"


@pytest.mark.parametrize(("first", "last"), EDGES[:2])
def test_a_settlement_preview_of_the_first_or_last_day_answers(client, shop, first, last):
    body = {
        "period": "EDGE",
        "from": first,
        "to": last,
        "brackets": [{"min_amount": "0", "rate": "0.01"}],
        "dry_run": True,
    }
    response = client.post("/api/v1/admin/rebate-settlements", json=body, headers=shop.admin)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["items"] == []
