"""Brand-wide settings HQ can change without a deploy."""

from __future__ import annotations

import json
import time

from app.extensions import db
from app.models import Setting

# Read on every catalog request, changed a few times a year: each process keeps them for a
# few seconds (a change reaches other processes within CACHE_SECONDS).
CACHE_SECONDS = 3.0
_cache: dict = {"at": -CACHE_SECONDS, "values": None}

DEFAULTS = {
    "show_exact_stock": True,
    # Rates earned per tier on delivered orders, and the share of an order rebate may pay.
    "rebate_policy": {"rates": {}, "max_use_ratio": "0"},
}


def get_setting(key: str):
    """The stored value, or the default (at most CACHE_SECONDS old)."""
    now = time.monotonic()
    if _cache["values"] is None or now - _cache["at"] > CACHE_SECONDS:
        _cache["values"], _cache["at"] = all_settings(), now
    return _cache["values"][key]


def all_settings() -> dict:
    """Every setting with defaults filled in, read now."""
    stored = {row.key: json.loads(row.value) for row in db.session.scalars(db.select(Setting))}
    return {key: stored.get(key, default) for key, default in DEFAULTS.items()}


def forget_cached() -> None:
    """Make the next get_setting read the database (after a change, and between tests)."""
    _cache["values"] = None


def update_settings(changes: dict) -> dict:
    """Store the given settings (keys must be known); returns all settings."""
    for key, value in changes.items():
        row = db.session.get(Setting, key)
        if row is None:
            db.session.add(Setting(key=key, value=json.dumps(value)))
        else:
            row.value = json.dumps(value)
    db.session.commit()
    forget_cached()
    return all_settings()
