"""Downloading resources: conditional GET, size cap, content hash; `file:` URLs too.

HTTP goes through `portal.egress.Egress` (timeouts, deadline, redirects, retries, address guard);
`file:` URLs are read here.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

from portal.egress import CHUNK, DEFAULT_MAX_BYTES, Egress, Fetched
from portal.errors import SourceError, SourceUnavailableError

__all__ = ["Fetched", "default_egress", "fetch", "read_bytes"]


def default_egress(*, timeout: float | None = None, max_bytes: int | None = None) -> Egress:
    """The client used when a caller passes none: default limits, the address guard on."""
    return Egress(read_timeout=30.0 if timeout is None else timeout,
                  max_bytes=DEFAULT_MAX_BYTES if max_bytes is None else max_bytes)


def _file_path(url: str) -> Path:
    parsed = urlparse(url)
    if parsed.netloc not in ("", "localhost"):
        raise SourceError(f"{url}: file URLs must be local")
    return Path(url2pathname(unquote(parsed.path)))


def _scheme(url: str) -> str:
    scheme = urlparse(url).scheme.lower()
    if scheme not in ("http", "https", "file"):
        raise SourceError(f"{url}: unsupported URL scheme {scheme!r} (use http, https or file)")
    return scheme


def read_bytes(url: str, *, timeout: float | None = None, max_bytes: int | None = None,
               egress: Egress | None = None) -> tuple[bytes, str]:
    """Fetch a small document (a catalogue, a schema) whole; returns its bytes and media type.

    Without `egress`, a default client (address guard on) is made from `timeout` and `max_bytes`.
    """
    if _scheme(url) == "file":
        with tempfile.TemporaryDirectory() as tmp:
            fetched = _fetch_file(url, Path(tmp), DEFAULT_MAX_BYTES if max_bytes is None else max_bytes)
            assert fetched.path is not None
            return fetched.path.read_bytes(), fetched.media_type
    if egress is not None:
        return egress.read(url, max_bytes)
    with default_egress(timeout=timeout, max_bytes=max_bytes) as client:
        return client.read(url)


def fetch(url: str, dest_dir: Path, *, timeout: float | None = None, max_bytes: int | None = None,
          etag: str | None = None, last_modified: str | None = None, seen_at: datetime | None = None,
          egress: Egress | None = None) -> Fetched:
    """Download `url` into `dest_dir`, hashing while streaming; a known ETag or Last-Modified
    (seen at `seen_at`) makes it conditional.

    Without `egress`, a default client (address guard on) is made from `timeout` and `max_bytes`;
    with one, its own timeouts apply and `max_bytes`, if given, caps this download.
    """
    dest_dir.mkdir(parents=True, exist_ok=True)
    if _scheme(url) == "file":
        return _fetch_file(url, dest_dir, DEFAULT_MAX_BYTES if max_bytes is None else max_bytes)
    if egress is not None:
        return egress.download(url, dest_dir, max_bytes=max_bytes, etag=etag, last_modified=last_modified,
                               seen_at=seen_at)
    with default_egress(timeout=timeout, max_bytes=max_bytes) as client:
        return client.download(url, dest_dir, etag=etag, last_modified=last_modified, seen_at=seen_at)


_SUFFIX_TYPES = {".csv": "text/csv", ".ttl": "text/turtle", ".rdf": "application/rdf+xml",
                 ".xml": "application/rdf+xml", ".jsonld": "application/ld+json",
                 ".json": "application/json", ".nt": "application/n-triples"}


def _fetch_file(url: str, dest_dir: Path, max_bytes: int) -> Fetched:
    path = _file_path(url)
    if not path.is_file():
        raise SourceUnavailableError(f"{url}: no such file")
    size = path.stat().st_size
    if size > max_bytes:
        raise SourceError(f"{url}: {size} bytes is more than the limit of {max_bytes}")
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            digest.update(chunk)
    final = dest_dir / digest.hexdigest()
    shutil.copyfile(path, final)
    return Fetched(url, final, digest.hexdigest(), size, _SUFFIX_TYPES.get(path.suffix.lower(), ""))
