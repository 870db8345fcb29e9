"""Browser fixtures: the test app served on a real port, and Chromium driven by Playwright.

The browser tests run in the SQLite pass only (`make test` runs the PostgreSQL pass with
`-m "not browser"`). Chromium is Debian's (`/usr/bin/chromium`, or `$CHROMIUM`): Playwright
never downloads a browser here. Without Chromium or Playwright the tests are skipped locally
and fail in CI (`CI=true`), so a broken CI image can never pass silently.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from app import demo as demo_module
from app.extensions import db
from app.services import accounts
from tests.browser.helpers import JsErrors

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
}
SHOTS = Path(os.environ.get("SHOTS_DIR", "/tmp/shots"))
TIMEOUT_MS = 10_000


def _unavailable(reason: str):
    """No browser: a skip on a laptop, a failure in CI."""
    if IN_CI:
        pytest.fail(f"browser tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code="-", size="-"):
        """No access log: a failing test's output shows the test, not 40 GET lines."""


@pytest.fixture(scope="session")
def live_server(app):
    """The session's test app on 127.0.0.1 and a free port, served from a background thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError as err:
        _unavailable(f"the playwright package is not installed ({err})")
    path = CHROMIUM if os.path.isabs(CHROMIUM) else shutil.which(CHROMIUM)
    if not path or not os.access(path, os.X_OK):
        _unavailable(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    manager = sync_playwright().start()
    try:
        browser = manager.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
    except PlaywrightError as err:
        manager.stop()
        _unavailable(f"Chromium at {path} did not start: {err}")
    try:
        yield browser
    finally:
        browser.close()
        manager.stop()


_password_hashes: dict[str, str] = {}


def _hash_once(password: str) -> str:
    """argon2 costs ~0.5 s a hash: hash each demo password once per session, reuse the hash."""
    if password not in _password_hashes:
        _password_hashes[password] = accounts.hash_password(password)
    return _password_hashes[password]


@pytest.fixture
def demo(app, monkeypatch):
    """The demo brand (8 dealers, 89 products); `_fresh_state` empties it after each test."""
    monkeypatch.setattr(demo_module, "hash_password", _hash_once)
    demo_module.load_demo_data()
    db.session.remove()  # hold no connection or lock while the server threads work
    return app


@pytest.fixture
def new_context(browser, live_server):
    """Open a fresh phone-shaped browser context (cookies of its own); closed after the test."""
    contexts = []

    def make(**overrides):
        options = {**PHONE, "base_url": live_server, **overrides}
        context = browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context):
    return new_context().new_page()


@pytest.fixture
def js_errors():
    """Script and console errors of the pages a test watches (`js_errors.watch(page)`)."""
    return JsErrors()


@pytest.fixture(scope="session")
def shots_dir() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


_saved_cookies: dict[tuple[str, str], list[dict]] = {}


def _login(page, username: str, password: str):
    """Log in through the real form, like a person would; returns the page after the redirect."""
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("form.login-form [type=submit]")
    if urlsplit(page.url).path != "/login":
        cookies = [c for c in page.context.cookies() if c["name"] != "lang"]
        _saved_cookies[(username, password)] = cookies
    return page


def _sign_in(page, username: str, password: str):
    """Reuse the cookies of an earlier login by this user when the app still accepts them.

    The demo data reloads with the same ids, so a session cookie usually outlives the
    truncation between tests; this saves an argon2 check (~0.5 s) per test. `/` then lands
    on the user's home page; when it lands on /login instead, log in through the form.
    """
    saved = _saved_cookies.get((username, password))
    if saved:
        page.context.add_cookies(saved)
        page.goto("/")
        if urlsplit(page.url).path != "/login":
            return page
    return _login(page, username, password)


@pytest.fixture
def login():
    """`login(page, username, password)`: the real login form, then the redirect."""
    return _login


@pytest.fixture
def sign_in():
    """`sign_in(page, username, password)`: a logged-in page, by cookie if possible."""
    return _sign_in
