"""The dealer's order list: every order reachable page by page; search by number or product."""

from types import SimpleNamespace

import pytest

from app.services import orders
from app.services.orders import LineRequest
from tests import factories as f


@pytest.fixture
def shop():
    f.tier("GOLD", "金牌")
    f.dealer("SH001", "GOLD", credit_limit=10_000_000)
    f.dealer("BJ001", "GOLD", credit_limit=10_000_000)
    f.product("TEA-1", name="乌龙茶", list_price=500, on_hand=1000)
    f.product("NUT-BOX", name="坚果礼盒", list_price=800, on_hand=1000)
    f.product("JUICE-100", name="100%果汁", list_price=600, on_hand=1000)
    return SimpleNamespace(
        buyer=f.dealer_user("SH001", "buyer"), rival=f.dealer_user("BJ001", "rival")
    )


def place(user, *skus: str) -> str:
    return orders.place_order(user, [LineRequest(sku, 1) for sku in skus]).number


def numbers(user, statuses=(), page=1, per_page=20, **kw) -> tuple[list[str], int]:
    items, total = orders.dealer_orders(user.dealer, statuses, page, per_page, **kw)
    return [order.number for order in items], total


def test_54_orders_come_in_pages_newest_first_and_none_is_lost(shop):
    placed = [place(shop.buyer, "TEA-1") for _ in range(54)]

    pages = [numbers(shop.buyer, page=page) for page in (1, 2, 3, 4)]

    assert [len(found) for found, _ in pages] == [20, 20, 14, 0]
    assert {total for _, total in pages} == {54}
    assert [n for found, _ in pages for n in found] == placed[::-1]


def test_search_finds_an_order_by_its_number_in_any_case_or_by_a_part_of_it(shop):
    placed = [place(shop.buyer, "TEA-1") for _ in range(3)]
    wanted = placed[1]

    assert numbers(shop.buyer, q=wanted.lower()) == ([wanted], 1)
    assert numbers(shop.buyer, q=f"  {wanted}  ") == ([wanted], 1)
    assert wanted in numbers(shop.buyer, q=wanted[-6:])[0]
    assert numbers(shop.buyer, q="SO")[1] == 3  # every number starts so


def test_search_finds_orders_by_a_lines_product_name_or_sku(shop):
    tea = place(shop.buyer, "TEA-1")
    mixed = place(shop.buyer, "TEA-1", "NUT-BOX")
    nuts = place(shop.buyer, "NUT-BOX")

    assert numbers(shop.buyer, q="坚果") == ([nuts, mixed], 2)
    assert numbers(shop.buyer, q="nut-box") == ([nuts, mixed], 2)
    assert numbers(shop.buyer, q="box") == ([nuts, mixed], 2)
    assert numbers(shop.buyer, q="乌龙") == ([mixed, tea], 2)
    assert numbers(shop.buyer, q="咖啡") == ([], 0)


def test_like_wildcards_in_the_search_are_plain_characters(shop):
    juice = place(shop.buyer, "JUICE-100")
    place(shop.buyer, "TEA-1")

    assert numbers(shop.buyer, q="100%") == ([juice], 1)
    assert numbers(shop.buyer, q="%") == ([juice], 1)
    assert numbers(shop.buyer, q="_")[1] == 0
    assert numbers(shop.buyer, q="\\")[1] == 0


def test_search_keeps_to_the_status_and_pages_and_to_the_dealer(shop):
    with_nuts = [place(shop.buyer, "NUT-BOX") for _ in range(25)]
    place(shop.buyer, "TEA-1")
    orders.cancel_order(shop.buyer, with_nuts[0])
    rival_nuts = place(shop.rival, "NUT-BOX")

    first, total = numbers(shop.buyer, ("submitted",), q="坚果")
    second, _ = numbers(shop.buyer, ("submitted",), 2, q="坚果")
    assert total == 24 and first + second == with_nuts[1:][::-1]
    assert numbers(shop.buyer, ("cancelled",), q="坚果") == ([with_nuts[0]], 1)
    assert rival_nuts not in numbers(shop.buyer, q="坚果", per_page=100)[0]
    assert numbers(shop.buyer, q=rival_nuts) == ([], 0)


def test_a_blank_search_lists_everything(shop):
    placed = [place(shop.buyer, "TEA-1"), place(shop.buyer, "NUT-BOX")]

    assert numbers(shop.buyer, q="   ") == (placed[::-1], 2)
