"""The installable app (issue 12, CONTRACT §6): the web app manifest, the service worker and
the page it shows offline, and the two headers that tell the worker what it may keep.

The worker (templates/sw.js) keeps the app's static files and, per user, the dealer pages
last seen, to show them marked offline when there is no signal. The server decides what is
kept, not the worker:

- `X-Offline-User` on every page and picture: whose answer this is (a keyed hash of the user's
  id, never the id), or `-` for nobody signed in. The worker keeps each user's pages in a cache
  of their own and drops every other user's pages as soon as it sees another user, or nobody
  (the login page after a logout).
- `X-Offline-Copy: 1` only on the dealer pages worth reading offline (catalog, product pages,
  orders, wallet, …) answered 200 to a plain GET and not marked no-store. HQ pages, htmx
  fragments, forms' answers and the API are never kept.
"""

from __future__ import annotations

import hashlib
import hmac
import json

from flask import Blueprint, Response, current_app, render_template, request, url_for
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_login import current_user

from app.web.helpers import HTMX_VERSION

bp = Blueprint("pwa", __name__)

USER_HEADER = "X-Offline-User"
COPY_HEADER = "X-Offline-Copy"
ANONYMOUS = "-"
MARKED = frozenset({"web", "auth", "pwa", "admin"})  # the pages people see (not API, webhooks)
# The dealer pages a dealer may read offline: what they looked at last, never a form's answer.
KEEPABLE = frozenset(
    {
        "web.catalog",
        "web.product_page",
        "web.cart_page",
        "web.orders_page",
        "web.order_page",
        "web.wallet_page",
        "web.wallet_statement",
        "web.notices_page",
        "web.announcements_page",
        "web.announcement_page",
        "web.me",
        "web.usual_page",
        "product_image",
    }
)
# What every page needs, fetched when the worker installs: the first offline page has them.
SHELL_FILES = (
    "css/app.css",
    "css/nojs.css",
    "js/app.js",
    "icons/favicon.svg",
    "icons/app-192.png",
)


def user_key(user_id: int) -> str:
    """The name of a user's offline cache: stable for the user, meaningless to anyone else."""
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, f"offline-cache:{user_id}".encode(), hashlib.sha256).hexdigest()[:20]


def _keepable(response: Response) -> bool:
    return (
        request.method == "GET"
        and request.endpoint in KEEPABLE
        and response.status_code == 200
        and "HX-Request" not in request.headers
        and "no-store" not in (response.headers.get("Cache-Control") or "")
        and response.mimetype in ("text/html", "image/jpeg")
    )


@bp.after_app_request
def _offline_headers(response: Response) -> Response:
    """Mark pages and pictures with their user, and the keepable ones as such."""
    marked = request.blueprint in MARKED or request.endpoint == "product_image"
    if not marked or response.mimetype not in ("text/html", "image/jpeg"):
        return response
    signed_in = current_user.is_authenticated
    response.headers[USER_HEADER] = user_key(current_user.id) if signed_in else ANONYMOUS
    if signed_in and current_user.is_dealer and _keepable(response):
        response.headers[COPY_HEADER] = "1"
    return response


def _worker_version(shell: list[str]) -> str:
    """Changes whenever the worker's code or a file it keeps changes, so browsers update it."""
    source = current_app.jinja_env.loader.get_source(current_app.jinja_env, "sw.js")[0]
    return hashlib.blake2b((source + "".join(shell)).encode(), digest_size=6).hexdigest()


@bp.get("/sw.js")
def service_worker():
    """The service worker, at the site's root so that its scope is every page."""
    shell = [url_for("static", filename=name) for name in SHELL_FILES]
    shell.append(url_for("vendor_htmx", v=HTMX_VERSION))
    shell.append(url_for("pwa.offline"))
    settings = {
        "version": _worker_version(shell),
        "shell": shell,
        "offlinePage": url_for("pwa.offline"),
        "userHeader": USER_HEADER,
        "copyHeader": COPY_HEADER,
        "anonymous": ANONYMOUS,
        "never": ["/api/", "/webhooks/", "/admin", "/metrics", "/healthz", "/readyz"],
    }
    body = render_template("sw.js", settings=json.dumps(settings, separators=(",", ":")))
    response = Response(body, mimetype="text/javascript")
    # Browsers look for a new worker at most daily anyway; no-cache makes every check real.
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/manifest.webmanifest")
def manifest():
    """What the phone needs to put the app on its home screen and open it full-screen."""
    icon = lambda name, size, purpose: {  # noqa: E731
        "src": url_for("static", filename=f"icons/{name}"),
        "sizes": f"{size}x{size}",
        "type": "image/png",
        "purpose": purpose,
    }
    body = {
        "name": _("Dinghuo dealer ordering"),
        "short_name": _("Dinghuo"),
        "description": _("Order from your phone at your own price"),
        "lang": "zh-CN" if get_locale().language == "zh" else "en",
        "start_url": url_for("auth.index", source="home-screen"),
        "scope": "/",
        "id": "/",
        "display": "standalone",
        "orientation": "portrait",
        "theme_color": "#f05a28",
        "background_color": "#ffffff",
        "icons": [
            icon("app-192.png", 192, "any"),
            icon("app-512.png", 512, "any"),
            icon("app-maskable-512.png", 512, "maskable"),
        ],
    }
    response = Response(json.dumps(body, ensure_ascii=False), mimetype="application/manifest+json")
    response.headers["Cache-Control"] = "public, no-cache"
    response.vary.add("Cookie")  # its words follow the language cookie
    return response


@bp.get("/offline")
def offline():
    """Shown by the worker for a page it has not kept, when there is no signal. Fetched once,
    at install, and shown to whoever is offline on that phone: so it holds nothing of anyone's
    (no CSRF token, no name) and says it in both languages, Chinese first."""
    words = []
    for locale in ("zh_CN", "en"):
        with force_locale(locale):
            words.append(
                {
                    "lang": "zh-CN" if locale == "zh_CN" else "en",
                    "missing": _("No connection, and this page was not kept on the phone."),
                    "kept": _(
                        "Pages you opened before (products, orders, wallet) can still be "
                        "read offline."
                    ),
                    "products": _("Products"),
                }
            )
    response = Response(render_template("offline.html", words=words), mimetype="text/html")
    response.headers["Cache-Control"] = "no-cache"
    return response
