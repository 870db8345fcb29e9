"""Flask's signed-cookie sessions with the signing serializer built once per key set.

Flask builds a new serializer for every request (opening the session) and again for every
response that writes one, API calls without any cookie included; it only depends on the
secret keys, so it is kept until they change.
"""

from __future__ import annotations

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer


class KeptSerializerSessions(SecureCookieSessionInterface):
    def __init__(self) -> None:
        self._kept: tuple[tuple, URLSafeTimedSerializer | None] | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        kept = self._kept
        if kept is None or kept[0] != keys:
            kept = self._kept = (keys, super().get_signing_serializer(app))
        return kept[1]
