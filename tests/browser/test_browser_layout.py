"""Phone layout: no sideways scrolling, thumb-sized tap targets, and screenshots for a human."""

from __future__ import annotations

import pytest

from tests.browser.helpers import OVERFLOW_JS

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture then skips these tests (fails them in CI)
    expect = None

pytestmark = pytest.mark.browser

WIDTHS = (390, 360)  # the brief's phone, and the narrowest one the contract promises
HEIGHT = 844


def assert_no_sideways_scroll(page, what: str) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": HEIGHT})
        page.wait_for_timeout(50)  # let the layout settle after the resize
        found = page.evaluate(OVERFLOW_JS)
        assert found["innerWidth"] == found["clientWidth"] == width, (what, width, found)
        assert found["scrollWidth"] <= found["innerWidth"], (what, width, found)
        assert not found["offenders"], (what, width, found)
    page.set_viewport_size({"width": WIDTHS[0], "height": HEIGHT})


def check_page(page, path: str, shot: str, shots_dir, ready: str) -> None:
    response = page.goto(path)
    assert response.ok, (path, response.status)
    expect(page.locator(ready).first).to_be_visible()
    page.evaluate("document.fonts.ready.then(() => true)")
    page.screenshot(path=str(shots_dir / f"{shot}.png"), full_page=True)
    assert_no_sideways_scroll(page, path)


@pytest.fixture(params=["zh_CN", "en"])
def lang(request, new_context, live_server):
    """A phone context in either language (English labels are the longer ones)."""
    context = new_context()
    if request.param != "zh_CN":
        context.add_cookies([{"name": "lang", "value": request.param, "url": live_server}])
    return request.param, context


def test_no_sideways_scrolling_on_a_phone(demo, lang, sign_in, shots_dir):
    code, context = lang
    suffix = "" if code == "zh_CN" else f"-{code}"
    page = context.new_page()
    check_page(page, "/login", f"login{suffix}", shots_dir, ".login-form")
    sign_in(page, "sh001", "demo1234")
    check_page(page, "/catalog", f"catalog{suffix}", shots_dir, "#cards .product-card")
    check_page(page, "/catalog/DRK-001", f"product{suffix}", shots_dir, ".product-detail")
    # A long name, three price breaks and a GOLD-only product (sh001 is GOLD).
    check_page(page, "/catalog/ALC-009", f"product-long{suffix}", shots_dir, ".product-detail")
    check_page(page, "/me", f"me{suffix}", shots_dir, ".facts")
    check_page(page, "/orders", f"orders{suffix}", shots_dir, ".main .empty")


def test_no_sideways_scrolling_on_the_hq_dashboard(demo, lang, sign_in, shots_dir):
    code, context = lang
    suffix = "" if code == "zh_CN" else f"-{code}"
    page = context.new_page()
    sign_in(page, "admin", "admin1234")
    check_page(page, "/admin/", f"admin{suffix}", shots_dir, ".stats")


def test_refused_page_fits_the_phone(demo, page, sign_in, shots_dir):
    sign_in(page, "sh001", "demo1234")
    response = page.goto("/admin/")
    assert response.status == 403
    page.screenshot(path=str(shots_dir / "forbidden.png"), full_page=True)
    assert_no_sideways_scroll(page, "/admin/ as a dealer")


def heights(page, selector: str) -> dict[str, float]:
    return page.locator(selector).evaluate_all(
        "els => Object.fromEntries(els.map((e, i) => "
        "[`${i}:${e.textContent.trim().slice(0, 20)}`, e.getBoundingClientRect().height]))"
    )


def assert_tall_enough(page, selector: str, expected_count: int | None = None) -> None:
    found = heights(page, selector)
    assert found, f"nothing matches {selector} on {page.url}"
    if expected_count is not None:
        assert len(found) == expected_count, (selector, found)
    short = {k: h for k, h in found.items() if h < 44}
    assert not short, f"tap targets under 44px on {page.url} ({selector}): {short}"


def test_tabs_and_primary_buttons_are_thumb_sized(demo, page, new_context, sign_in):
    page.goto("/login")
    assert_tall_enough(page, ".login-form button[type=submit]", 1)
    assert_tall_enough(page, ".lang-switch a", 1)

    sign_in(page, "sh001", "demo1234")
    assert_tall_enough(page, ".tabbar .tab", 4)
    assert_tall_enough(page, ".topbar .search button, .topbar .search input", 2)
    assert_tall_enough(page, "li.more .btn", 1)

    page.goto("/catalog/DRK-001")
    assert_tall_enough(page, ".topbar .back", 1)
    assert_tall_enough(page, ".tabbar .tab", 4)

    page.goto("/me")
    assert_tall_enough(page, ".main .btn", 1)  # log out
    assert_tall_enough(page, ".lang-switch a", 1)

    page.goto("/cart")
    assert_tall_enough(page, ".main .btn-primary", 1)

    admin = new_context().new_page()
    sign_in(admin, "admin", "admin1234")
    assert_tall_enough(admin, ".topbar .btn", 1)  # log out


# Text lines of a catalog card that run under the card's stock badge (top right corner).
UNDER_BADGE_JS = """
() => [...document.querySelectorAll("#cards > li.product-card")].flatMap((card) => {
  const badge = card.querySelector("[data-stock-badge]");
  const b = badge.getBoundingClientRect();
  return [...card.querySelectorAll(".card-body > *")].filter((el) => {
    const range = document.createRange();
    range.selectNodeContents(el);
    return [...range.getClientRects()].some((r) =>
      r.right > b.left && r.left < b.right && r.bottom > b.top && r.top < b.bottom);
  }).map((el) => `${card.dataset.sku}: "${el.textContent.trim()}" under "${badge.textContent}"`);
})
"""


def test_product_names_never_run_under_the_stock_badge(demo, new_context, live_server, sign_in):
    context = new_context(viewport={"width": 360, "height": HEIGHT})
    context.add_cookies([{"name": "lang", "value": "en", "url": live_server}])
    page = context.new_page()
    sign_in(page, "sh001", "demo1234")
    hidden = []
    for n in range(1, 6):
        page.goto(f"/catalog?page={n}")
        hidden += page.evaluate(UNDER_BADGE_JS)
    assert not hidden, hidden


def test_quick_order_usual_list_and_offline_page_fit_every_phone_width(
    demo, app, lang, sign_in, shots_dir
):
    from app import demo as demo_module
    from app.extensions import db

    with app.app_context():
        demo_module.load_demo_history()
        db.session.remove()
    code, context = lang
    suffix = "" if code == "zh_CN" else f"-{code}"
    page = context.new_page()
    sign_in(page, "sh001", "demo1234")
    check_page(page, "/usual", f"usual{suffix}", shots_dir, "#usual-list .usual-row")
    check_page(page, "/quick-order", f"quick-order{suffix}", shots_dir, "#quick-form")
    page.fill("textarea[name=lines]", "DRK-001 2\nDRK-003 1\nDRK-0O5 3\nno qty\nDAI-001 40")
    with page.expect_navigation():
        page.locator("#quick-preview").click()
    expect(page.locator("#quick-order-now")).to_be_visible()
    page.screenshot(path=str(shots_dir / f"quick-preview{suffix}.png"), full_page=True)
    assert_no_sideways_scroll(page, "quick-order preview")
    check_page(page, "/offline", f"offline{suffix}", shots_dir, ".offline-words")
    for path in ("/usual", "/offline"):  # the widest phone the contract names, too
        page.set_viewport_size({"width": 430, "height": HEIGHT})
        page.goto(path)
        found = page.evaluate(OVERFLOW_JS)
        assert found["scrollWidth"] <= found["clientWidth"] == 430, (path, found)
        assert not found["offenders"], (path, found)
