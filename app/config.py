"""Configuration read from the environment, with safe development defaults."""

import os
import secrets
from datetime import timedelta
from pathlib import Path


def _instance_path() -> Path:
    return Path(__file__).resolve().parent.parent / "instance"


def _secret_key(instance: Path) -> str:
    """The SECRET_KEY env var, else a key generated once and kept in instance/."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _database_url(instance: Path) -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        # Heroku-style URLs name the old driver; we ship psycopg 3.
        if url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url[len("postgres://") :]
        elif url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        return url
    instance.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{instance / 'dinghuo.sqlite3'}"


class Config:
    """Production-shaped defaults; every secret comes from the environment or instance/."""

    def __init__(self) -> None:
        instance = _instance_path()
        self.SECRET_KEY = _secret_key(instance)
        self.SQLALCHEMY_DATABASE_URI = _database_url(instance)
        # No pre-ping: it costs a round trip per request. A connection the server dropped
        # fails one request and is replaced; recycling keeps idle ones fresh.
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_recycle": 1800}
        # Per-process caches kept true by PostgreSQL NOTIFY (app/services/cache.py); 0: off.
        self.PROCESS_CACHES = os.environ.get("PROCESS_CACHES", "1") != "0"
        self.REDIS_URL = os.environ.get("REDIS_URL", "")
        self.LOG_JSON = os.environ.get("LOG_JSON", "1") != "0"
        self.METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
        # How many proxies in front add X-Forwarded-For/-Proto/-Host (0: none, trust nothing).
        self.PROXY_HOPS = int(os.environ.get("PROXY_HOPS", "0"))
        self.RATELIMIT_STORAGE_URI = self.REDIS_URL or "memory://"
        self.RATELIMIT_HEADERS_ENABLED = True
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "") == "1"
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.REMEMBER_COOKIE_SAMESITE = "Lax"
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        self.REMEMBER_COOKIE_DURATION = timedelta(days=30)
        self.PERMANENT_SESSION_LIFETIME = timedelta(days=30)
        self.WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
        self.BABEL_DEFAULT_LOCALE = "zh_CN"
        self.BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
        self.API_TOKEN_TTL = timedelta(days=30)
        # argon2id cost; the defaults are argon2-cffi's (RFC 9106 low-memory profile).
        self.ARGON2_TIME_COST = int(os.environ.get("ARGON2_TIME_COST", "3"))
        self.ARGON2_MEMORY_COST = int(os.environ.get("ARGON2_MEMORY_COST", str(64 * 1024)))
        self.LOGIN_LIMITS_PER_IP = os.environ.get("LOGIN_LIMITS_PER_IP", "30/minute")
        self.LOGIN_LIMITS_PER_ACCOUNT = os.environ.get("LOGIN_LIMITS_PER_ACCOUNT", "10/minute")
        self.CATALOG_PAGE_SIZE = 20
        # No upload is larger (receipts and images 5 MB, spreadsheets 16 MB): anything bigger
        # is refused (413) before it is read, even before the CSRF check reads a form.
        self.MAX_CONTENT_LENGTH = 20 * 1024 * 1024
        # Carrier webhooks: per carrier code, generous enough for a carrier's bursts.
        self.WEBHOOK_RATE_LIMIT = os.environ.get("WEBHOOK_RATE_LIMIT", "6000/minute")
        self.WEBHOOK_MAX_BYTES = 64 * 1024  # CONTRACT §5: a larger body is answered 413
        # A 快递100 push carries the whole trajectory, URL-encoded (a Chinese character
        # takes 9 bytes): a long one can pass 64 KB, and a refused push is retried, then lost.
        self.KUAIDI100_MAX_BYTES = 256 * 1024
        self.JSON_SORT_KEYS = False
        # Deposit-notice receipts (never under static/); empty: <instance path>/receipts.
        self.RECEIPTS_DIR = os.environ.get("RECEIPTS_DIR", "")
        # Flask-Compress: brotli, else gzip, for 2xx text answers worth compressing (it never
        # compresses an error, so problem+json is listed for the day one is a 2xx). A streamed
        # body is sent as it is made (compressing it would hold it back); static files come
        # compressed once per process from app/static_assets.py, under the same rules.
        self.COMPRESS_ALGORITHM = ["br", "gzip"]
        self.COMPRESS_MIMETYPES = [
            "text/html",
            "text/css",
            "text/javascript",
            "application/javascript",
            "application/json",
            "application/problem+json",
            "application/manifest+json",
            "image/svg+xml",
        ]
        self.COMPRESS_MIN_SIZE = 500  # below a packet, compressing saves nothing worth the CPU
        self.COMPRESS_STREAMS = False


class TestConfig(Config):
    """Used by the test suite: a database URL is passed in, rate limits stay on but roomy."""

    TESTING = True
    __test__ = False  # not a pytest test class

    def __init__(self, database_url: str) -> None:
        super().__init__()
        self.SQLALCHEMY_DATABASE_URI = database_url
        self.TESTING = True
        self.RATELIMIT_STORAGE_URI = "memory://"
        # Cheap hashes keep the suite fast; the algorithm and code path are the same.
        self.ARGON2_TIME_COST = 1
        self.ARGON2_MEMORY_COST = 1024
