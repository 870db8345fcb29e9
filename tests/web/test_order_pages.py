"""Dealer order pages: scoping to the dealer, and fixing a short line in place."""

import re

import pytest

from app.services import cart, orders, products
from app.services.orders import LineRequest
from tests import factories as f


@pytest.fixture
def two_dealers(client):
    f.tier("GOLD", "金牌")
    for code, username in (("SH001", "sh"), ("BJ001", "bj")):
        f.dealer(code, "GOLD", credit_limit=10_000_00)
        f.dealer_user(code, username)
    f.product(
        "TEA-1", name="乌龙茶", list_price=1000, on_hand=50, order_multiple=2, min_order_qty=2
    )
    return client


def test_another_dealers_order_is_404_on_every_page_and_action(two_dealers, app):
    buyer = f.user_named("sh")
    number = orders.place_order(buyer, [LineRequest("TEA-1", 2)]).number
    f.web_login(two_dealers, "bj")
    token = f.csrf_from(two_dealers.get("/me").data)
    assert two_dealers.get(f"/orders/{number}").status_code == 404
    for action in ("cancel", "reorder"):
        response = two_dealers.post(f"/orders/{number}/{action}", data={"csrf_token": token})
        assert response.status_code == 404
    assert number not in two_dealers.get("/orders").get_data(as_text=True)
    assert orders.order_for_admin(number).status == "submitted"


def test_a_short_line_can_be_fixed_from_the_checkout_page(two_dealers):
    shopper = f.user_named("sh")
    cart.set_qty(shopper, "TEA-1", 10)
    f.web_login(two_dealers, "sh")
    html = two_dealers.get("/checkout").get_data(as_text=True)
    key, token = re.search(r'name="key" value="([^"]+)"', html).group(1), f.csrf_from(html)
    products.set_on_hand("TEA-1", 7)  # someone else bought after the page was drawn

    refused = two_dealers.post("/checkout", data={"key": key, "csrf_token": token})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert "乌龙茶：需要 10，可用 7" in page and "改为6箱" in page  # 7 rounded down to packs of 2

    fixed = two_dealers.post(
        "/cart/TEA-1", data={"qty": "6", "next": "checkout", "csrf_token": token}
    )
    assert fixed.headers["Location"] == "/checkout"
    assert [line.qty for line in cart.view(shopper)[0].lines] == [6]


def test_a_dealers_error_page_keeps_the_tab_bar(two_dealers):
    f.web_login(two_dealers, "sh")
    for url, status in (("/orders/SO000", 404), ("/catalog/NOPE", 404), ("/admin/", 403)):
        response = two_dealers.get(url)
        assert response.status_code == status
        assert 'class="tabbar"' in response.get_data(as_text=True), url
