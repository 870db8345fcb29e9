"""Error pages speak the reader's language; the JSON API keeps its English for machines."""

import re

import pytest

from tests import factories as f

ENGLISH_SENTENCE = re.compile(r"\b(No|Not|not|found|product|order|such)\b")


@pytest.fixture
def dealer_client(client):
    f.tier("GOLD", "金牌")
    f.dealer("SH001", "GOLD")
    f.dealer_user("SH001", "sh")
    f.web_login(client, "sh")
    return client


def message_of(response) -> str:
    """The text of the error card (the page around it has its own words)."""
    html = response.get_data(as_text=True)
    return re.search(r'<p class="big-status">\d+</p>\s*<p>([^<]*)</p>', html).group(1)


def english(client):
    client.get("/lang/en")
    return client


@pytest.mark.parametrize(
    ("url", "key", "chinese"),
    [("/catalog/NOPE-1", "NOPE-1", "找不到该商品"), ("/orders/SO000", "SO000", "找不到该订单")],
)
def test_a_missing_thing_is_named_in_chinese(dealer_client, url, key, chinese):
    response = dealer_client.get(url)
    assert response.status_code == 404
    message = message_of(response)
    assert chinese in message and key in message
    assert not ENGLISH_SENTENCE.search(message), message
    html = response.get_data(as_text=True)
    assert "No product" not in html and "No order" not in html


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/catalog/NOPE-1", "We could not find product NOPE-1."),
        ("/orders/SO000", "We could not find order SO000."),
    ],
)
def test_a_missing_thing_is_named_in_english(dealer_client, url, expected):
    response = english(dealer_client).get(url)
    assert response.status_code == 404
    assert message_of(response) == expected
    assert '<html lang="en">' in response.get_data(as_text=True)


def test_an_htmx_request_gets_the_translated_message_as_a_fragment(dealer_client):
    response = dealer_client.get("/catalog/NOPE-1/sheet", headers={"HX-Request": "true"})
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "找不到该商品（NOPE-1）" in html and "No product" not in html


def test_the_api_detail_stays_english_and_unchanged(client):
    f.tier("GOLD", "金牌")
    f.dealer("SH001", "GOLD")
    user = f.dealer_user("SH001", "sh")
    response = client.get("/api/v1/catalog/NOPE-1", headers=f.api_headers(user))
    body = response.get_json()
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert body == {
        "type": "/problems/not_found",
        "title": "Not found",
        "status": 404,
        "detail": "No product 'NOPE-1'.",
        "code": "not_found",
    }


def test_an_unknown_page_is_translated_in_both_languages(dealer_client):
    assert message_of(dealer_client.get("/no-such-page")) == "页面不存在。"
    assert message_of(english(dealer_client).get("/no-such-page")) == "This page does not exist."


def test_an_expired_form_is_explained_not_shown_as_werkzeug_english(dealer_client):
    response = dealer_client.post("/cart/add", data={"sku": "X", "qty": "1", "csrf_token": "stale"})
    assert response.status_code == 400
    assert message_of(response) == "页面已过期，请刷新后重试。"
    assert "CSRF" not in response.get_data(as_text=True)


def test_the_500_page_is_translated(app, dealer_client, monkeypatch):
    from app.services import catalog

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(catalog, "item", broken)
    monkeypatch.setitem(app.config, "PROPAGATE_UNEXPECTED", False)
    response = dealer_client.get("/catalog/ANY-1")
    assert response.status_code == 500
    assert message_of(response) == "系统开小差了，请稍后重试。"
    response = english(dealer_client).get("/catalog/ANY-1")
    assert message_of(response) == "Something went wrong on our side. Please try again."
