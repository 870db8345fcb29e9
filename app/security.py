"""Security headers on every response (issue 11): a strict Content-Security-Policy (our own
scripts and styles only, from our own origin; no inline script, handler or style, which the
pages do not use), no framing, no MIME sniffing, a referrer that stays on the site, and HSTS
once the cookies are HTTPS-only."""

from __future__ import annotations

from flask import Flask, Response, request

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"
NOT_DOCUMENTS = frozenset(
    {"text/css", "text/javascript", "application/javascript", "image/png", "image/jpeg"}
)
ASSET_HEADERS = {"X-Content-Type-Options": "nosniff"}
WORKERS = frozenset({"pwa.service_worker"})  # scripts whose CSP governs what they run


def init_app(app: Flask) -> None:
    headers = dict(HEADERS)
    if app.config.get("SESSION_COOKIE_SECURE"):
        headers["Strict-Transport-Security"] = HSTS

    @app.after_request
    def _security_headers(response: Response) -> Response:
        # A stylesheet, a script or a picture is never a document: the document-only headers
        # would only make every asset on a phone's first load heavier. An SVG can be one.
        asset = response.mimetype in NOT_DOCUMENTS and request.endpoint not in WORKERS
        wanted = ASSET_HEADERS if asset else headers
        for name, value in wanted.items():
            response.headers.setdefault(name, value)
        return response
