"""Brand-wide settings HQ can change without a deploy.

A change holds for every request that starts after it was answered, in every process. The
hot readers (the catalog's `show_exact_stock`, the rebate policy an order is placed under)
go through services.cache, whose copy every process drops on any write to the settings
table before its next request reads it; everything else reads the database when used.
"""

from __future__ import annotations

import json

from app.extensions import db
from app.models import Setting
from app.services import audit

DEFAULTS = {
    "show_exact_stock": True,
    # Rates earned per tier on delivered orders, and the share of an order rebate may pay.
    "rebate_policy": {"rates": {}, "max_use_ratio": "0"},
}


def get_setting(key: str):
    """The stored value, or the default, as the database holds it now."""
    row = db.session.get(Setting, key)
    return json.loads(row.value) if row is not None else DEFAULTS[key]


def all_settings() -> dict:
    """Every setting with defaults filled in, read now."""
    stored = {row.key: json.loads(row.value) for row in db.session.scalars(db.select(Setting))}
    return {key: stored.get(key, default) for key, default in DEFAULTS.items()}


def update_settings(changes: dict) -> dict:
    """Store the given settings (keys must be known); returns all settings."""
    before = all_settings()
    for key, value in changes.items():
        row = db.session.get(Setting, key)
        if row is None:
            db.session.add(Setting(key=key, value=json.dumps(value)))
        else:
            row.value = json.dumps(value)
    old, new = audit.changes(before, {**before, **changes})
    if new:
        audit.record(None, "settings.update", "settings", "brand", old, new)
    db.session.commit()
    return all_settings()
