"""Per-process caches that every process drops as soon as the database changes under them.

The hot read paths (who is behind a session or a token, a page of the catalog, the stock of
a product) are kept in memory per process. They are never expired by time. Instead, triggers
in PostgreSQL (migration 0013) send `NOTIFY dinghuo_cache` with a topic on every write to the
tables a topic is read from, whoever writes (this app on any host, an import, psql):

- ``auth``: users, api_tokens, dealers, tiers;
- ``catalog``: products, categories, tier limits, prices, images, settings;
- ``stock:<product id>`` for one product's stock row (``stock`` for all of them).

Each process LISTENs on a connection of its own. The first cache read of every request makes
one tiny round trip on it: PostgreSQL signals the listeners before the writer's COMMIT
returns, so that round trip comes back only after every notification of a write already
answered (by anyone, anywhere) — a request that starts after a write sees it. That round trip
is all the database work a cached read costs. Later reads in the request, and an idle process
(a small thread), drain the connection without waiting. A value read while an invalidation of
its topic arrived is not kept. If the connection is lost, every
cache is cleared and bypassed until it is back. On SQLite (one host, development and tests)
there is nothing to listen to: every read goes to the database.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import threading
from collections.abc import Callable, Hashable
from typing import Any

from flask import Flask, current_app, has_request_context, request
from sqlalchemy import event

log = logging.getLogger(__name__)

CHANNEL = "dinghuo_cache"
APPLICATION_NAME = "dinghuo cache listener"
AUTH, CATALOG, STOCK = "auth", "catalog", "stock"
TOPICS = (AUTH, CATALOG, STOCK)
# Bounds memory: a catalog entry with its renderings is some 20–80 KB.
MAX_ENTRIES = {AUTH: 20_000, CATALOG: 2_000, STOCK: 200_000}
RECONNECT_AFTER_S = 1.0
SYNCED = "dinghuo.caches_synced"  # in a request's environ: its round trip is done
TRIGGERS_PRESENT = "SELECT 1 FROM pg_trigger WHERE tgname = 'products_notify_cache'"
_MISSING = object()
OFF = object()  # what lookup() answers when caches are off: read from the database
# Connections inherited through fork() belong to the parent: never finalised in the child.
_inherited: list[Any] = []


class Caches:
    """The topic maps of one process and the generation counters that guard their fills."""

    def __init__(self) -> None:
        self.maps: dict[str, dict] = {topic: {} for topic in TOPICS}
        self.generations = dict.fromkeys(TOPICS, 0)
        # Invalidations come from the request thread and the idle-drain thread: a store's
        # check and insert must not interleave with a drop.
        self.lock = threading.RLock()

    def apply(self, payload: str) -> None:
        topic, _, key = payload.partition(":")
        with self.lock:
            if topic == STOCK and key.isdigit():
                self.maps[STOCK].pop(int(key), None)
                self.generations[STOCK] += 1
            elif topic in self.maps:
                self.drop(topic)
            else:  # unknown payload: be safe
                self.clear()

    def drop(self, topic: str) -> None:
        with self.lock:
            self.maps[topic].clear()
            self.generations[topic] += 1

    def clear(self) -> None:
        with self.lock:
            for topic in TOPICS:
                self.drop(topic)

    def store(self, topic: str, key: Hashable, value: Any, generation: int) -> None:
        with self.lock:
            if self.generations[topic] != generation:
                return  # an invalidation arrived while the value was being read
            entries = self.maps[topic]
            if len(entries) >= MAX_ENTRIES[topic]:
                entries.pop(next(iter(entries)))  # oldest first
            entries[key] = value


class Listener:
    """LISTEN on a dedicated autocommit connection; drained by the request thread and, when
    the process is idle, by a small background thread (so PostgreSQL's queue never backs up)."""

    def __init__(self, dsn: str, caches: Caches) -> None:
        self.dsn = dsn
        self.caches = caches
        self.lock = threading.Lock()
        self.conn = None
        self.pid = os.getpid()
        self.failed_at = 0.0
        self._thread: threading.Thread | None = None

    @property
    def connected(self) -> bool:
        return self.conn is not None

    def connect(self) -> bool:
        import time

        import psycopg

        if time.monotonic() - self.failed_at < RECONNECT_AFTER_S:
            return False
        try:
            conn = psycopg.connect(
                self.dsn,
                autocommit=True,
                connect_timeout=5,
                application_name=APPLICATION_NAME,
                # A connection dropped silently (NAT, failover) must fail fast, not hang the
                # request holding the lock.
                keepalives=1,
                keepalives_idle=30,
                keepalives_interval=10,
                keepalives_count=3,
                tcp_user_timeout=10_000,
            )
            conn.add_notify_handler(lambda n: self.caches.apply(n.payload))
            conn.execute(f"LISTEN {CHANNEL}")
            if conn.execute(TRIGGERS_PRESENT).fetchone() is None:
                # Migration 0013 not applied yet (a rolling deploy): nothing would tell us.
                conn.close()
                self.failed_at = time.monotonic()
                log.warning("cache triggers missing (run `flask db upgrade`): caches off")
                return False
        except psycopg.Error as err:
            self.failed_at = time.monotonic()
            log.warning("cache listener cannot connect: %s", err)
            return False
        # Whatever changed while we were not listening is unknown: start empty.
        self.caches.clear()
        self.conn = conn
        if self._thread is None:
            self._thread = threading.Thread(target=self._idle_drain, daemon=True)
            self._thread.start()
        return True

    def lost(self, err: Exception) -> None:
        import time

        log.warning("cache listener lost its connection: %s", err)
        self.caches.clear()
        conn, self.conn = self.conn, None
        self.failed_at = time.monotonic()
        with contextlib.suppress(Exception):  # already broken
            conn.close()

    def sync(self, round_trip: bool = False) -> bool:
        """Apply every notification that has arrived (with a round trip: every one of a write
        answered before now); False when caching is off for now."""
        with self.lock:
            if self.conn is None and not self.connect():
                return False
            try:
                if round_trip:
                    self.conn.execute("")  # notifications are handled as they come in
                pgconn = self.conn.pgconn
                pgconn.consume_input()
                while (note := pgconn.notifies()) is not None:
                    self.caches.apply(note.extra.decode())
            except Exception as err:  # psycopg.Error, or the socket gone
                self.lost(err)
                return False
            return True

    def _idle_drain(self) -> None:
        while True:
            conn = self.conn
            if conn is None:
                threading.Event().wait(RECONNECT_AFTER_S)
                continue
            try:
                ready, _, _ = select.select([conn.pgconn.socket], [], [], 30)
                if ready:
                    self.sync()
            except Exception:  # closed under us (lost()): wait, then look again
                threading.Event().wait(RECONNECT_AFTER_S)


class Channel:
    """What the app uses: `cached(topic, key, load)`."""

    def __init__(self, app: Flask) -> None:
        self.caches = Caches()
        self.listener: Listener | None = None
        self.enabled = app.config.get("PROCESS_CACHES", True)
        self._engine = None
        # Per thread: the thread that committed makes the next round trip, after its COMMIT.
        self._own_commit = threading.local()

    def _listener(self) -> Listener | None:
        from app.extensions import db

        if self.listener is not None and self.listener.pid != os.getpid():
            _inherited.append(self.listener.conn)  # the parent's; leave it alone
            self.listener, self._engine, self.caches = None, None, Caches()
        if self.listener is None:
            engine = db.engine
            if engine.dialect.name != "postgresql":
                self.enabled = False
                return None
            dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            self.listener = Listener(dsn, self.caches)
            self._engine = engine
            event.listen(engine, "commit", self._committed)
        return self.listener

    def _committed(self, _conn) -> None:
        self._own_commit.pending = True

    def active(self) -> bool:
        """Catch up with the database (see the module's docstring); True when cached values
        may be used."""
        if not self.enabled:
            return False
        listener = self._listener()
        if listener is None:
            return False
        # Once per request, and again after a commit of our own; outside requests, always.
        environ = request.environ if has_request_context() else {}
        round_trip = getattr(self._own_commit, "pending", False) or not environ.get(SYNCED)
        self._own_commit.pending = False
        if not listener.sync(round_trip):
            return False
        if has_request_context():
            environ[SYNCED] = True
        return True

    def generation(self, topic: str) -> int:
        return self.caches.generations[topic]

    def cached(self, topic: str, key: Hashable, load: Callable[[], Any]) -> Any:
        """The cached value for key, or load() (kept unless the topic changed meanwhile)."""
        value = self.lookup(topic, key, load)
        return load() if value is OFF else value

    def lookup(self, topic: str, key: Hashable, load: Callable[[], Any]) -> Any:
        """Like cached(), but answers OFF (without loading) when caches are off, for callers
        whose kept form differs from what they read when not keeping (detached rows)."""
        if not self.active():
            return OFF
        value = self.caches.maps[topic].get(key, _MISSING)
        if value is _MISSING:
            generation = self.caches.generations[topic]
            value = load()
            self.caches.store(topic, key, value, generation)
        return value

    def cached_many(
        self,
        topic: str,
        keys: list,
        load: Callable[[list], dict],
        default: Any,
        known: tuple[dict, int] | None = None,
    ) -> dict:
        """Values for many keys (caches on): the missing ones from `known` (values read at
        that generation of the topic) or else from one load(missing) -> {key: value}."""
        entries = self.caches.maps[topic]
        out = {key: entries.get(key, _MISSING) for key in keys}
        missing = [key for key, value in out.items() if value is _MISSING]
        if known is not None and missing:
            values, generation = known
            for key in missing:
                if key in values:
                    out[key] = values[key]
                    self.caches.store(topic, key, values[key], generation)
            missing = [key for key in missing if key not in values]
        if missing:
            generation = self.caches.generations[topic]
            found = load(missing)
            for key in missing:
                out[key] = value = found.get(key, default)
                self.caches.store(topic, key, value, generation)
        return out


def init_app(app: Flask) -> None:
    app.extensions["process_caches"] = Channel(app)


def channel() -> Channel:
    return current_app.extensions["process_caches"]


def cached(topic: str, key: Hashable, load: Callable[[], Any]) -> Any:
    return channel().cached(topic, key, load)
