"""Standard-library HTTP: health wait, bearer token, browser login, and the pre-flight checks."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlencode
from urllib.request import HTTPCookieProcessor, HTTPRedirectHandler, Request, build_opener

from bench.dataset import BENCH_USERNAME, PASSWORD, SEARCH_NAME, SEARCH_SKU, BenchError

# Sent on every request, and by wrk too: Flask-Login's session protection hashes the
# User-Agent, so a different one under load would flag (and re-sign) the session each time.
USER_AGENT = "dinghuo-bench/1.0"
_CSRF = re.compile(r'name="csrf_token"\s+value="([^"]+)"')
_SKU = re.compile(r'data-sku="([^"]+)"')


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    set_cookie: list[str] = field(default_factory=list)

    def json(self):
        return json.loads(self.body)


class _NoRedirect(HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # the 30x comes back as an HTTPError, which we turn into a Reply


class Client:
    """A tiny browser: one cookie jar, no redirects followed."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = CookieJar()
        self._opener = build_opener(HTTPCookieProcessor(self.jar), _NoRedirect())

    def request(self, method: str, path: str, *, headers=None, data=None, json_body=None):
        hdrs = {"User-Agent": USER_AGENT, **(headers or {})}
        if json_body is not None:
            data = json.dumps(json_body).encode()
            hdrs["Content-Type"] = "application/json"
        elif isinstance(data, dict):
            data = urlencode(data).encode()
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        req = Request(self.base + path, data=data, headers=hdrs, method=method)
        try:
            with self._opener.open(req, timeout=10) as resp:
                return _reply(resp.status, resp.headers, resp.read())
        except HTTPError as err:
            return _reply(err.code, err.headers, err.read())

    def cookie_header(self, names: tuple[str, ...]) -> str:
        found = {c.name: c.value for c in self.jar if c.name in names}
        missing = [n for n in names if n not in found]
        if missing:
            raise BenchError(f"Login did not set the cookie(s) {', '.join(missing)}.")
        return "; ".join(f"{n}={found[n]}" for n in names)


def _reply(status: int, headers, body: bytes) -> Reply:
    return Reply(status, dict(headers.items()), body, headers.get_all("Set-Cookie") or [])


def wait_healthy(base: str, alive, timeout: float = 30.0) -> None:
    """Poll /healthz until it answers 200; `alive()` false means the server died."""
    client = Client(base)
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if not alive():
            raise BenchError("gunicorn exited before /healthz answered (see its log above).")
        try:
            reply = client.request("GET", "/healthz")
            if reply.status == 200:
                return
            last = f"HTTP {reply.status}: {reply.body[:200]!r}"
        except (URLError, ConnectionError, TimeoutError) as err:
            last = str(err)
        time.sleep(0.1)
    raise BenchError(f"/healthz did not answer 200 within {timeout:.0f}s (last: {last}).")


def _expect(reply: Reply, status: int, what: str) -> Reply:
    if reply.status != status:
        body = reply.body[:300].decode(errors="replace")
        raise BenchError(f"{what}: expected HTTP {status}, got {reply.status}: {body}")
    return reply


def bearer_token(base: str) -> str:
    body = {"username": BENCH_USERNAME, "password": PASSWORD}
    reply = Client(base).request("POST", "/api/v1/auth/tokens", json_body=body)
    return _expect(reply, 201, "POST /api/v1/auth/tokens").json()["token"]


def browser_login(base: str) -> str:
    """Log in like a browser; returns the Cookie header (session and remember_token)."""
    client = Client(base)
    page = _expect(client.request("GET", "/login"), 200, "GET /login")
    match = _CSRF.search(page.body.decode())
    if not match:
        raise BenchError("GET /login: no csrf_token hidden input in the form.")
    form = {"username": BENCH_USERNAME, "password": PASSWORD, "csrf_token": match.group(1)}
    reply = client.request("POST", "/login", data=form)
    if reply.status not in (302, 303):
        raise BenchError(f"POST /login: expected a redirect, got HTTP {reply.status}.")
    return client.cookie_header(("session", "remember_token"))


@dataclass
class Session:
    """What the load scenarios need, checked once before any load."""

    token: str
    cookie: str
    skus: list[str]
    etag: str
    warnings: list[str]
    search_totals: dict[str, int | None] = field(default_factory=dict)


def search_path(q: str) -> str:
    """The API's catalog search, first page of 20."""
    return f"/api/v1/catalog?q={quote(q)}&per_page=20"


def check_search(client: Client, auth: dict, q: str) -> tuple[int | None, list[str]]:
    """The search answers 200 with a full page; returns its total and any warning."""
    reply = _expect(client.request("GET", search_path(q), headers=auth), 200, f"search {q!r}")
    body = reply.json()
    if len(body["items"]) < 20:
        return body.get("total"), [f"search {q!r} gives {len(body['items'])} items, not 20"]
    return body.get("total"), []


def _check_pages(client: Client, auth: dict, cookie: dict) -> tuple[list[str], list[str]]:
    api = _expect(
        client.request("GET", "/api/v1/catalog?per_page=20", headers=auth),
        200,
        "GET /api/v1/catalog (bearer)",
    )
    api_skus = [item["sku"] for item in api.json()["items"]]
    html = _expect(client.request("GET", "/catalog", headers=cookie), 200, "GET /catalog (cookie)")
    html_skus = _SKU.findall(html.body.decode())
    if len(api_skus) != 20 or html_skus != api_skus:
        raise BenchError(
            f"Page one differs: API has {len(api_skus)} SKUs, HTML {len(html_skus)}, "
            f"same order: {html_skus == api_skus}."
        )
    warnings = []
    if html.set_cookie:
        warnings.append("GET /catalog sets a cookie on every request: " + html.set_cookie[0][:80])
    return api_skus, warnings


def prepare_session(base: str) -> Session:
    """Token, cookie, the 20 SKUs of page one and their ETag; fails unless 200/200/304."""
    token = bearer_token(base)
    cookie_value = browser_login(base)
    client = Client(base)  # a fresh jar: only the Cookie header given below is sent
    auth = {"Authorization": f"Bearer {token}"}
    cookie = {"Cookie": cookie_value}
    skus, warnings = _check_pages(client, auth, cookie)
    path = "/stock-badges?skus=" + ",".join(skus)
    first = _expect(client.request("GET", path, headers=cookie), 200, "GET /stock-badges")
    etag = first.headers.get("ETag")
    if not etag:
        raise BenchError("GET /stock-badges answered 200 without an ETag.")
    again = client.request("GET", path, headers={**cookie, "If-None-Match": etag})
    _expect(again, 304, f"GET /stock-badges with If-None-Match: {etag}")
    if again.set_cookie:
        warnings.append("GET /stock-badges 304 sets a cookie: " + again.set_cookie[0][:80])
    totals = {}
    for q in (SEARCH_NAME, SEARCH_SKU):
        totals[q], more = check_search(client, auth, q)
        warnings += more
    return Session(token, cookie_value, skus, etag, warnings, totals)
