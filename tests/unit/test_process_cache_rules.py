"""The rules of the per-process caches (app/services/cache.py), without a database."""

from app.services.cache import AUTH, CATALOG, MAX_ENTRIES, STOCK, Caches


def test_a_topic_notification_drops_that_topic_only():
    caches = Caches()
    caches.store(AUTH, "u1", "alice", caches.generations[AUTH])
    caches.store(CATALOG, "p1", "page", caches.generations[CATALOG])
    caches.apply("catalog")
    assert caches.maps[CATALOG] == {}
    assert caches.maps[AUTH] == {"u1": "alice"}


def test_a_stock_notification_drops_one_product():
    caches = Caches()
    for pid in (1, 2):
        caches.store(STOCK, pid, 10 * pid, caches.generations[STOCK])
    caches.apply("stock:2")
    assert caches.maps[STOCK] == {1: 10}
    caches.apply("stock")  # every product (TRUNCATE)
    assert caches.maps[STOCK] == {}


def test_an_unknown_notification_drops_everything():
    caches = Caches()
    caches.store(AUTH, "u1", "alice", 0)
    caches.store(STOCK, 1, 5, 0)
    caches.apply("something new")
    assert all(not entries for entries in caches.maps.values())


def test_a_value_read_while_its_topic_changed_is_not_kept():
    caches = Caches()
    before = caches.generations[STOCK]
    caches.apply("stock:7")  # arrives while the value for product 1 is being read
    caches.store(STOCK, 1, 99, before)
    assert 1 not in caches.maps[STOCK]
    caches.store(STOCK, 1, 98, caches.generations[STOCK])
    assert caches.maps[STOCK][1] == 98


def test_a_full_topic_forgets_its_oldest_entry():
    caches = Caches()
    limit = MAX_ENTRIES[CATALOG]
    for n in range(limit + 1):
        caches.store(CATALOG, n, n, 0)
    assert len(caches.maps[CATALOG]) == limit
    assert 0 not in caches.maps[CATALOG] and limit in caches.maps[CATALOG]
