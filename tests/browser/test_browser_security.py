"""The Content-Security-Policy in Chromium: it is enforced (an injected inline script does not
run), and nothing the pages do trips it, on a phone, for a dealer and for HQ."""

from __future__ import annotations

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture then skips these tests (fails them in CI)
    expect = None

pytestmark = pytest.mark.browser

# Before any of the page's own scripts, on every page the context opens.
COUNT_VIOLATIONS = """
  window.__violations = [];
  document.addEventListener("securitypolicyviolation",
    (e) => window.__violations.push(e.violatedDirective + " " + e.blockedURI));
"""


def violations(page) -> list[str]:
    return page.evaluate("() => window.__violations || []")


def test_an_injected_inline_script_is_refused(demo, page, sign_in):
    page.add_init_script(COUNT_VIOLATIONS)
    sign_in(page, "sh001", "demo1234")
    page.goto("/catalog")
    page.evaluate("""() => {
      const s = document.createElement("script");
      s.textContent = "window.__ran = true";
      document.body.appendChild(s);
      const b = document.createElement("button");
      b.setAttribute("onclick", "window.__clicked = true");
      document.body.appendChild(b);
      b.click();
    }""")
    page.wait_for_timeout(100)
    assert page.evaluate("() => [window.__ran, window.__clicked]") == [None, None]
    assert any(v.startswith("script-src") for v in violations(page)), violations(page)


def test_a_dealers_pages_and_their_scripts_need_nothing_the_policy_refuses(
    demo, page, sign_in, js_errors
):
    js_errors.watch(page)
    page.add_init_script(COUNT_VIOLATIONS)
    sign_in(page, "sh001", "demo1234")
    page.goto("/catalog")
    page.fill("#q", "茶")  # htmx: search as you type
    expect(page.locator("#cards .product-card").first).to_be_visible()
    page.locator("#cards .product-card a").first.click()
    page.wait_for_url("**/catalog/*")
    for path in ("/cart", "/orders", "/me", "/wallet", "/announcements"):
        page.goto(path)
        page.wait_for_timeout(50)
        assert violations(page) == [], path
    js_errors.check()  # a refused script, style or frame is a console error too


def test_hq_pages_need_nothing_the_policy_refuses(demo, page, sign_in, js_errors):
    js_errors.watch(page)
    page.add_init_script(COUNT_VIOLATIONS)
    sign_in(page, "admin", "admin1234")
    for path in (
        "/admin/",
        "/admin/orders",
        "/admin/products",
        "/admin/dealers",
        "/admin/imports",
        "/admin/announcements",
        "/admin/finance/notices",
    ):
        response = page.goto(path)
        assert response.ok, (path, response.status)
        page.wait_for_timeout(50)
        assert violations(page) == [], path
    js_errors.check()
