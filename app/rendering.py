"""Per-request costs of rendering a page, cut where they repeat.

A dealer page calls `url_for` some twenty-five times and `_()` a dozen times. Built the usual
way, each URL walks the URL map and each message looks up the request's translations through
three context-local proxies: together a quarter of the catalog page's CPU (bench/profiling.py).

- URLs: the same endpoint and arguments give the same path for the life of the process (the
  URL map is fixed once the app is built, and the static hash of a file with it), so paths are
  kept per process, keyed by everything that goes into them. External URLs, anchors and
  methods are built as usual.
- Messages: each render gets the request's translations once, in its context, and the
  template's `_()` reads them from there.
"""

from __future__ import annotations

from flask import Flask, has_request_context, request
from flask_babel import get_translations
from jinja2 import pass_context

MAX_KEPT_URLS = 20_000  # a search term is part of a key: bounded, then started afresh


def init_app(app: Flask) -> None:
    _keep_urls(app)
    _translations_per_render(app)


def _keep_urls(app: Flask) -> None:
    build = app.url_for
    kept: dict[tuple, str] = {}

    def url_for(endpoint: str, /, **values) -> str:
        if not has_request_context() or any(name.startswith("_") for name in values):
            return build(endpoint, **values)
        where = request.blueprint if endpoint.startswith(".") else None
        try:
            key = (endpoint, where, request.script_root, *sorted(values.items()))
            url = kept.get(key)
        except TypeError:  # a list or dict argument: not a key
            return build(endpoint, **values)
        if url is None:
            if len(kept) >= MAX_KEPT_URLS:
                kept.clear()
            url = kept[key] = build(endpoint, **values)
        return url

    app.url_for = url_for  # flask.url_for calls current_app.url_for
    app.jinja_env.globals["url_for"] = url_for


_KEY = "_request_translations"


def _translations_per_render(app: Flask) -> None:
    @app.context_processor
    def _translations() -> dict:
        return {_KEY: get_translations()}

    def translations(context):
        found = context.get(_KEY)
        return found if found is not None else get_translations()

    @pass_context
    def gettext(context, message: str) -> str:
        return translations(context).ugettext(message)

    @pass_context
    def ngettext(context, singular: str, plural: str, n: int) -> str:
        return translations(context).ungettext(singular, plural, n)

    @pass_context
    def pgettext(context, where: str, message: str) -> str:
        return translations(context).upgettext(where, message)

    @pass_context
    def npgettext(context, where: str, singular: str, plural: str, n: int) -> str:
        return translations(context).unpgettext(where, singular, plural, n)

    app.jinja_env.install_gettext_callables(
        gettext=gettext, ngettext=ngettext, pgettext=pgettext, npgettext=npgettext, newstyle=True
    )
