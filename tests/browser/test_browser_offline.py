"""The installable app in Chromium at 390×844: the manifest, the service worker, reading the
catalog offline marked 离线 · 更新于 HH:MM with ordering turned off, and what logout forgets."""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture then skips these tests (fails them in CI)
    expect = None

pytestmark = pytest.mark.browser

KEPT = re.compile(r"^离线 · 更新于 \d{2}:\d{2}$")


def until(page, script: str, timeout: float = 10.0) -> None:
    """Evaluate `script` (a function) in the page until it answers true. Not wait_for_function:
    with its predicate as a string Playwright evals it, which the app's CSP refuses."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(script):
        assert time.monotonic() < deadline, f"still false after {timeout} s: {script}"
        time.sleep(0.05)


def wait_for_worker(page) -> None:
    """Until the service worker controls the page and has kept it. A page loaded while the
    worker was still activating stays uncontrolled (as in any browser): load it again."""
    controlled = page.evaluate(
        """async () => {
            await navigator.serviceWorker.ready;
            return !!navigator.serviceWorker.controller;
        }"""
    )
    if not controlled:
        page.reload()
        until(page, "() => !!navigator.serviceWorker.controller")
    until(
        page,
        """async () => {
            for (const name of await caches.keys()) {
                if (!name.startsWith("pages-")) continue;
                const cache = await caches.open(name);
                if (await cache.match(location.href)) return true;
            }
            return false;
        }""",
    )


def kept_page_caches(page) -> list[str]:
    return page.evaluate(
        "async () => (await caches.keys()).filter((name) => name.startsWith('pages-'))"
    )


def test_catalog_reads_offline_marked_and_ordering_is_off(
    demo, new_context, sign_in, js_errors, shots_dir
):
    context = new_context()
    page = context.new_page()
    js_errors.watch(page)
    sign_in(page, "sh001", "demo1234")
    page.goto("/catalog")
    wait_for_worker(page)
    cards = page.locator("#cards > li.product-card")
    first_sku = cards.first.get_attribute("data-sku")
    expect(page.locator("#offline-bar")).to_be_hidden()

    context.set_offline(True)
    page.reload()
    bar = page.locator("#offline-bar")
    expect(bar).to_be_visible()
    expect(bar.locator("[data-offline-text]")).to_have_text(KEPT)
    expect(cards.first).to_have_attribute("data-sku", first_sku)
    assert page.locator("html").get_attribute("data-offline-at")
    page.screenshot(path=str(shots_dir / "offline-catalog.png"))

    # The home-screen icon opens "/" (start_url): offline, that is the kept catalog.
    page.goto("/?source=home-screen")
    expect(bar.locator("[data-offline-text]")).to_have_text(KEPT)
    expect(cards.first).to_have_attribute("data-sku", first_sku)

    # Ordering is off: the + of a card opens nothing, and says why.
    cards.first.locator("a.add").click()
    expect(page.locator("#toast")).to_have_text("离线中：联网后再操作")
    expect(page.locator("#sheet form")).to_have_count(0)

    # A kept product page: its order form cannot be sent.
    page.goto(f"/catalog/{first_sku}")  # not kept yet: the offline page, nothing of anyone's
    expect(page.locator("main")).to_contain_text("没有网络")
    context.set_offline(False)
    page.goto(f"/catalog/{first_sku}")
    context.set_offline(True)
    page.reload()
    expect(bar).to_be_visible()
    buttons = page.locator(
        "form[method=post] button[type=submit], form[method=post] button:not([type])"
    )
    assert buttons.count() > 0
    for i in range(buttons.count()):
        expect(buttons.nth(i)).to_be_disabled()

    # A write offline is never answered from a copy: the worker lets it fail.
    failed = page.evaluate(
        """async () => {
            try { await fetch("/cart/add", { method: "POST", body: "sku=x" }); return false; }
            catch (err) { return true; }
        }"""
    )
    assert failed
    expected = [e for e in js_errors.seen if "ERR_INTERNET_DISCONNECTED" in e]
    assert any("POST" in e and "/cart/add" in e for e in expected), js_errors.seen
    js_errors.seen = [e for e in js_errors.seen if e not in expected]

    # Back online, the kept copy still orders nothing until it is reloaded from the server.
    context.set_offline(False)
    expect(bar.locator("[data-reload]")).to_be_visible()
    expect(buttons.first).to_be_disabled()
    bar.locator("[data-reload]").click()
    expect(bar).to_be_hidden()
    expect(page.locator("html")).not_to_have_attribute("data-offline-at", re.compile(".*"))
    assert js_errors.seen == []


def test_a_live_page_that_loses_the_signal_turns_ordering_off_until_it_returns(
    demo, new_context, sign_in
):
    context = new_context()
    page = context.new_page()
    sign_in(page, "sh001", "demo1234")
    page.goto("/cart")
    context.set_offline(True)
    bar = page.locator("#offline-bar")
    expect(bar).to_have_text(re.compile("离线：联网后才能下单"))
    context.set_offline(False)
    expect(bar).to_be_hidden()


def test_logout_forgets_the_users_pages(demo, new_context, sign_in, login):
    context = new_context()
    page = context.new_page()
    sign_in(page, "sh001", "demo1234")
    page.goto("/catalog")
    wait_for_worker(page)
    assert len(kept_page_caches(page)) == 1

    page.goto("/me")
    with page.expect_navigation():
        page.locator("form[data-logout] button").click()
    until(page, "async () => !(await caches.keys()).some((name) => name.startsWith('pages-'))")
    context.set_offline(True)
    page.goto("/catalog")
    expect(page.locator("main")).to_contain_text("没有网络")
    expect(page.locator("#cards")).to_have_count(0)


def test_the_manifest_makes_it_installable(demo, page, sign_in):
    sign_in(page, "sh001", "demo1234")
    href = page.locator("link[rel=manifest]").get_attribute("href")
    manifest = page.evaluate("async (url) => (await fetch(url)).json()", href)
    assert manifest["display"] == "standalone"
    assert manifest["short_name"] == "订货通"
    assert {icon["sizes"] for icon in manifest["icons"]} >= {"192x192", "512x512"}
    assert any(icon["purpose"] == "maskable" for icon in manifest["icons"])
    for icon in manifest["icons"]:
        status = page.evaluate("async (url) => (await fetch(url)).status", icon["src"])
        assert status == 200, icon


def test_another_user_on_the_same_phone_never_reads_the_first_users_pages(
    demo, new_context, sign_in, login
):
    context = new_context()
    page = context.new_page()
    sign_in(page, "sh001", "demo1234")
    page.goto("/orders")
    wait_for_worker(page)
    first = kept_page_caches(page)
    assert len(first) == 1

    # The session ends without a logout (it expired, the cookie was cleared): someone else
    # signs in on the same phone. The worker drops the first user's pages on the first answer
    # it sees for the new user, before it keeps anything of theirs.
    context.clear_cookies()
    login(page, "gz001", "demo1234")
    assert urlsplit(page.url).path == "/catalog"
    page.goto("/catalog")
    until(page, "async () => (await caches.keys()).some((n) => n.startsWith('pages-'))")
    now = kept_page_caches(page)
    assert now and not set(now) & set(first)
    urls = page.evaluate(
        """async () => {
            const all = [];
            for (const name of await caches.keys()) {
                if (!name.startsWith("pages-")) continue;
                for (const req of await (await caches.open(name)).keys()) all.push(req.url);
            }
            return all;
        }"""
    )
    assert not any("/orders" in url for url in urls), urls
    assert not any("/api/" in url for url in urls), urls
