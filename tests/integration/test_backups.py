"""`flask backup` / `flask restore` round-trip a database (SQLite in the first pass,
PostgreSQL with pg_dump/pg_restore in the second): everything comes back, and every balance
is still the sum of its ledger."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.services import cache
from app.services import orders as orders_svc
from app.services.orders import LineRequest
from tests import factories as f


@pytest.fixture
def brand():
    f.tier("GOLD", "金牌")
    f.dealer("SH001", "GOLD", credit_limit=50_000)
    f.product("TEA-1", list_price=1_000, on_hand=100)
    buyer = f.dealer_user("SH001", "buyer")
    db.session.commit()
    f.deposit("SH001", 20_000, "ICBC-1")
    db.session.commit()
    orders_svc.place_order(buyer, [LineRequest("TEA-1", 7)])
    return buyer


def run(app, *args):
    db.session.remove()  # the commands need the database to themselves
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    if cache.channel().enabled:  # a restore sends no notifications: start this process afresh
        cache.channel().caches.clear()
    return result.output


def test_a_backup_restores_everything_as_it_was_and_balances_still_match(app, brand, tmp_path):
    before = f.footprint()
    backup = tmp_path / "dinghuo.backup"
    assert "Backed up to" in run(app, "backup", str(backup))
    assert backup.stat().st_size > 0

    f.deposit("SH001", 5_000, "ICBC-2")  # written after the backup: gone after the restore
    orders_svc.place_order(f.user_named("buyer"), [LineRequest("TEA-1", 3)])
    assert f.footprint() != before

    assert "Restored from" in run(app, "restore", "--yes", str(backup))
    assert f.footprint() == before
    f.assert_ledger_consistent()
    # The restored database is a working one: the app writes to it at once.
    orders_svc.place_order(f.user_named("buyer"), [LineRequest("TEA-1", 1)])
    f.assert_ledger_consistent()


def test_restoring_what_is_not_a_backup_changes_nothing(app, brand, tmp_path):
    before = f.footprint()
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"not a backup at all" * 100)
    db.session.remove()
    result = app.test_cli_runner().invoke(args=["restore", "--yes", str(junk)])
    assert result.exit_code != 0
    assert f.footprint() == before
    missing = app.test_cli_runner().invoke(args=["restore", "--yes", str(tmp_path / "none")])
    assert missing.exit_code != 0 and "No backup file" in missing.output
