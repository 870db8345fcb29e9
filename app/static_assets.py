"""Static files on content-hashed URLs cached for a year, and compressed responses.

`url_for("static", filename="css/app.css")` builds `/static/css/app.<hash>.css`, the hash taken
from the file's content once per process: static files are fixed at deploy time (restart after
changing one). The current hash is answered `immutable` for a year, so moving between pages asks
the server for nothing; the plain name or a stale hash still gets today's file, revalidated on
every use. Files and their brotli and gzip forms are kept in memory, each made once. Every other
successful response (HTML, JSON) is compressed by Flask-Compress, as `COMPRESS_*` says; it
leaves error answers (problem+json too) as they are.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import brotli
import rcssmin
import rjsmin
from flask import Flask, Response, abort, current_app, request, session
from flask_compress import Compress

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "public, no-cache"
CODINGS = ("br", "gzip")  # in order of preference when the client accepts both
_STALE_HASH = re.compile(r"\.[0-9a-f]{10}(?=(\.[^./]+)?$)")
# Highest levels: each file is compressed once per process, then served for a year.
_COMPRESS = {
    "br": lambda data: brotli.compress(data, quality=11),
    "gzip": lambda data: gzip.compress(data, compresslevel=9, mtime=0),
}


MINIFIERS = {
    "text/css": rcssmin.cssmin,
    "text/javascript": rjsmin.jsmin,
    "application/javascript": rjsmin.jsmin,
}


@dataclass
class Asset:
    """A file's bytes, their content hash, and their compressed forms once asked for."""

    data: bytes
    mimetype: str
    digest: str
    _encoded: dict[str, bytes] = field(default_factory=dict, repr=False)

    @classmethod
    def read(cls, path, *, minify: bool = False) -> Asset:
        """The file at `path`, read and hashed now; our own CSS and JavaScript without their
        comments and spaces when `minify` (the files stay readable in the repo, and the phone
        fetches a quarter less of them after compression)."""
        data = Path(path).read_bytes()
        mimetype = mimetypes.guess_type(str(path))[0] or "application/octet-stream"
        if minify and mimetype in MINIFIERS:
            data = MINIFIERS[mimetype](data.decode()).encode()
        return cls(data, mimetype, hashlib.blake2b(data, digest_size=5).hexdigest())

    def encoded(self, coding: str) -> bytes:
        """The bytes in `coding` (br or gzip), compressed at most once per process."""
        if coding not in self._encoded:
            self._encoded[coding] = _COMPRESS[coding](self.data)
        return self._encoded[coding]


def send(asset: Asset, *, immutable: bool) -> Response:
    """The asset in the best coding the client accepts, cached for good or revalidated."""
    coding = _coding_for(asset)
    response = Response(asset.encoded(coding) if coding else asset.data, mimetype=asset.mimetype)
    if coding:
        response.headers["Content-Encoding"] = coding  # Flask-Compress then leaves it be
    response.vary.add("Accept-Encoding")
    # A strong ETag names one coding: the same bytes compressed differently are other bytes.
    response.set_etag(f"{asset.digest}:{coding}" if coding else asset.digest)
    response.headers["Cache-Control"] = IMMUTABLE if immutable else REVALIDATE
    return response.make_conditional(request)


def _coding_for(asset: Asset) -> str | None:
    config = current_app.config
    if asset.mimetype not in config["COMPRESS_MIMETYPES"]:
        return None
    if len(asset.data) < config["COMPRESS_MIN_SIZE"]:
        return None
    return request.accept_encodings.best_match(CODINGS)


def hashed_name(filename: str, digest: str) -> str:
    """`css/app.css` → `css/app.<digest>.css`."""
    path = PurePosixPath(filename)
    return str(path.with_name(f"{path.stem}.{digest}{path.suffix}"))


class StaticAssets:
    """Every file under a folder, by its name and by its hashed name."""

    def __init__(self, folder: str) -> None:
        root = Path(folder)
        files = sorted(p for p in root.rglob("*") if p.is_file())
        self.by_name = {p.relative_to(root).as_posix(): Asset.read(p, minify=True) for p in files}
        self.by_hashed = {hashed_name(n, a.digest): n for n, a in self.by_name.items()}

    def url_name(self, filename: str) -> str:
        """The hashed name `url_for` puts in the URL (a missing file keeps its name)."""
        asset = self.by_name.get(filename)
        return hashed_name(filename, asset.digest) if asset else filename

    def serve(self, filename: str) -> Response:
        """The `static` endpoint: immutable under the current hash, revalidated otherwise."""
        if filename in self.by_hashed:
            return send(self.by_name[self.by_hashed[filename]], immutable=True)
        asset = self.by_name.get(filename) or self.by_name.get(_STALE_HASH.sub("", filename))
        if asset is None:
            abort(404)
        return send(asset, immutable=False)


def init_app(app: Flask) -> None:
    """Compress the app's responses and serve its static folder on hashed URLs."""
    Compress(app)  # one per app: Flask-Compress keeps the app's settings on the instance
    assets = StaticAssets(app.static_folder)
    app.extensions["static_assets"] = assets
    app.view_functions["static"] = assets.serve

    @app.url_defaults
    def _hashed_static_url(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "filename" in values:
            values["filename"] = assets.url_name(values["filename"])

    @app.after_request  # registered before Flask-Login's hook, so it runs after it
    def _public_is_the_same_for_everyone(response: Response) -> Response:
        """No `Vary: Cookie` on a public file, though Flask-Login touches every session: with
        it, Safari fetches every asset again each time the session cookie changes."""
        if response.cache_control.public:
            session.accessed = False
        return response
