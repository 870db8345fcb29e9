"""The catalog on a phone, in Chromium (Playwright): bytes of the first load, then how many
requests for static assets reach the network while the dealer moves between pages.

Signed in as the bench dealer through the login form in one browser context; a second
context with the same cookies and an empty cache (a 390×844 phone) opens /catalog. Bytes are
the sum of CDP `Network.loadingFinished.encodedDataLength` (what came over the wire:
compressed bodies and headers) for the document and its subresources until the network is
idle; the page's own fetches (XHR/Fetch: the stock refresh, the next page) are listed but not
counted. Then, in the same tab, the tab bar's links: Orders, Cart, Products; a request for a
CSS, JS, icon, font or image (or anything under /static, /vendor, /media) counts when it
reaches the server, a 304 revalidation included, and not when the cache answers it.

`python -m bench.browser BASE_URL` prints one JSON line; bench/run.py runs it as a child
process, so a missing Playwright or Chromium (CHROMIUM, default /usr/bin/chromium) or a crash
leaves an "error" there instead of ending the bench.
"""

from __future__ import annotations

import json
import os
import sys
from urllib.parse import urlsplit

from bench.dataset import BENCH_USERNAME, PASSWORD

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
VIEWPORT = {"width": 390, "height": 844}
USER_AGENT = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)
STATIC_TYPES = {"Stylesheet", "Script", "Image", "Font", "Manifest", "Other"}
STATIC_PREFIXES = ("/static/", "/vendor/", "/media/")
PAGE_TYPES = {"XHR", "Fetch", "EventSource", "WebSocket", "Ping", "Preflight"}
TABS = ("/orders", "/cart", "/catalog")
TIMEOUT_MS = 30_000


class Network:
    """What one CDP session saw, per request id."""

    def __init__(self, cdp) -> None:
        self.requests: dict[str, dict] = {}
        for name in (
            "requestWillBeSent",
            "responseReceived",
            "loadingFinished",
            "loadingFailed",
            "requestServedFromCache",
        ):
            cdp.on(f"Network.{name}", getattr(self, f"_{name}"))
        cdp.send("Network.enable")

    def _requestWillBeSent(self, ev: dict) -> None:
        if ev["request"]["url"].startswith("data:"):
            return
        self.requests[ev["requestId"]] = {
            "url": ev["request"]["url"],
            "type": ev.get("type", "Other"),
            "status": None,
            "bytes": 0,
            "encoding": "",
            "cached": False,
        }

    def _responseReceived(self, ev: dict) -> None:
        req = self.requests.get(ev["requestId"])
        if req is None:
            return
        resp = ev["response"]
        headers = {k.lower(): v for k, v in resp.get("headers", {}).items()}
        req["status"] = resp.get("status")
        req["encoding"] = headers.get("content-encoding", "")
        req["cache_control"] = headers.get("cache-control", "")
        req["type"] = ev.get("type", req["type"])
        if resp.get("fromDiskCache") or resp.get("fromPrefetchCache"):
            req["cached"] = True
        if resp.get("fromServiceWorker"):
            req["cached"] = True

    def _loadingFinished(self, ev: dict) -> None:
        req = self.requests.get(ev["requestId"])
        if req is not None:
            req["bytes"] = int(ev.get("encodedDataLength", 0))

    def _loadingFailed(self, ev: dict) -> None:
        req = self.requests.get(ev["requestId"])
        if req is not None:
            req["failed"] = ev.get("errorText", "failed")

    def _requestServedFromCache(self, ev: dict) -> None:
        req = self.requests.get(ev["requestId"])
        if req is not None:
            req["cached"] = True

    def take(self) -> list[dict]:
        """The requests seen since the last take()."""
        out = list(self.requests.values())
        self.requests.clear()
        return out


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def is_static(req: dict) -> bool:
    return req["type"] in STATIC_TYPES or urlsplit(req["url"]).path.startswith(STATIC_PREFIXES)


def _resource(req: dict) -> dict:
    return {
        "path": _path(req["url"])[:120],
        "type": req["type"],
        "status": req["status"],
        "bytes": req["bytes"],
        "encoding": req["encoding"],
        "cache_control": req.get("cache_control", ""),
        "from_cache": req["cached"],
    }


def _sign_in(browser, base: str) -> dict:
    """The dealer's cookies, from the login form in a context of its own."""
    context = browser.new_context(user_agent=USER_AGENT, viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.goto(base + "/login", timeout=TIMEOUT_MS)
        page.fill("#username", BENCH_USERNAME)
        page.fill("#password", PASSWORD)
        with page.expect_navigation(timeout=TIMEOUT_MS):
            page.click("form.login-form [type=submit]")
        if urlsplit(page.url).path.startswith("/login"):
            raise RuntimeError("the login form did not sign the bench dealer in")
        return context.storage_state()
    finally:
        context.close()


def _first_load(page, net: Network, base: str) -> dict:
    page.goto(base + "/catalog", wait_until="networkidle", timeout=TIMEOUT_MS)
    if urlsplit(page.url).path != "/catalog":
        raise RuntimeError(f"/catalog ended at {page.url}, not signed in?")
    seen = [r for r in net.take() if not r.get("failed")]
    counted = [_resource(r) for r in seen if r["type"] not in PAGE_TYPES]
    return {
        "bytes": sum(r["bytes"] for r in counted),
        "resources": counted,
        "not_counted": [_resource(r) for r in seen if r["type"] in PAGE_TYPES],
    }


def _go(page, href: str, base: str) -> str:
    """Follow the tab bar's link to href (typed navigation when there is no such link)."""
    link = page.locator(f'nav a[href="{href}"]').first
    if link.count() and link.is_visible():
        with page.expect_navigation(wait_until="load", timeout=TIMEOUT_MS):
            link.click()
        how = "link"
    else:
        page.goto(base + href, wait_until="load", timeout=TIMEOUT_MS)
        how = "goto"
    page.wait_for_load_state("networkidle", timeout=TIMEOUT_MS)
    return how


def _moves(page, net: Network, base: str) -> dict:
    pages, static = [], []
    for href in TABS:
        how = _go(page, href, base)
        seen = net.take()
        hits = [_resource(r) for r in seen if is_static(r) and not r["cached"]]
        pages.append({"path": href, "via": how, "requests": len(seen), "static": len(hits)})
        static += hits
    return {"static_requests": len(static), "pages": pages, "static": static}


def phone(base: str) -> dict:
    """Both measures, in one browser; raises what Playwright raises."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            state = _sign_in(browser, base)
            context = browser.new_context(
                user_agent=USER_AGENT,
                viewport=VIEWPORT,
                device_scale_factor=3,
                is_mobile=True,
                has_touch=True,
                storage_state=state,
            )
            page = context.new_page()
            net = Network(context.new_cdp_session(page))
            first = _first_load(page, net, base)
            moves = _moves(page, net, base)
            context.close()
        finally:
            browser.close()
    return {"first_load": first, "navigation": moves}


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: python -m bench.browser BASE_URL", file=sys.stderr)
        return 2
    try:
        result = phone(sys.argv[1].rstrip("/"))
    except ImportError as err:
        result = {"error": f"Playwright is not installed ({err})"}
    except Exception as err:  # noqa: BLE001 - reported as a note in the bench's table
        result = {"error": f"{type(err).__name__}: {str(err).splitlines()[0][:300]}"}
    print(json.dumps(result, ensure_ascii=False))
    return 1 if "error" in result else 0


if __name__ == "__main__":
    sys.exit(main())
