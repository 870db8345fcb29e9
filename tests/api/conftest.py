"""Fixtures for the JSON API tests: a small shop with an HQ admin and three dealers."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests import factories as f


@pytest.fixture(autouse=True)
def _cheapest_password_hashes(app, monkeypatch):
    """These tests log in several times each; the smallest argon2id cost keeps them quick
    (hashes made with it still verify the normal way)."""
    monkeypatch.setitem(app.config, "ARGON2_TIME_COST", 1)
    monkeypatch.setitem(app.config, "ARGON2_MEMORY_COST", 64)


@pytest.fixture
def admin_h(client):
    """Bearer headers of the HQ admin "hq"."""
    f.admin("hq")
    return f.token_for(client, "hq")


@pytest.fixture
def shop(client, admin_h):
    """Tiers GOLD and SILVER; dealers G1, G2 (GOLD) and S1 (SILVER), one user each."""
    f.tier("GOLD", "金牌")
    f.tier("SILVER", "银牌")
    for code, tier_code, username in (("G1", "GOLD", "g1"), ("G2", "GOLD", "g2")):
        f.dealer(code, tier_code=tier_code)
        f.dealer_user(code, username)
    f.dealer("S1", tier_code="SILVER")
    f.dealer_user("S1", "s1")
    return SimpleNamespace(
        admin=admin_h,
        g1=f.token_for(client, "g1"),
        g2=f.token_for(client, "g2"),
        s1=f.token_for(client, "s1"),
    )
