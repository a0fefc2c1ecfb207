"""Downloading resources: conditional GET, size cap, content hash; `file:` URLs too."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

import requests

from portal.errors import SourceError, SourceUnavailableError

CHUNK = 1 << 16
USER_AGENT = "Lodestar/0.1 (open-data portal harvester)"


@dataclass(frozen=True)
class Fetched:
    """The result of one download: where the bytes are and what they are."""

    url: str
    path: Path | None  # None when the server said the content is unchanged (304)
    sha256: str | None
    size: int
    media_type: str
    etag: str | None = None
    last_modified: str | None = None

    @property
    def not_modified(self) -> bool:
        """True when a conditional GET said nothing changed."""
        return self.path is None


def _file_path(url: str) -> Path:
    parsed = urlparse(url)
    if parsed.netloc not in ("", "localhost"):
        raise SourceError(f"{url}: file URLs must be local")
    return Path(url2pathname(unquote(parsed.path)))


def read_bytes(url: str, *, timeout: float, max_bytes: int) -> tuple[bytes, str]:
    """Fetch a small document (a catalogue) whole; returns its bytes and media type."""
    with tempfile.TemporaryDirectory() as tmp:
        fetched = fetch(url, Path(tmp), timeout=timeout, max_bytes=max_bytes)
        assert fetched.path is not None
        return fetched.path.read_bytes(), fetched.media_type


def fetch(url: str, dest_dir: Path, *, timeout: float, max_bytes: int,
          etag: str | None = None) -> Fetched:
    """Download `url` into `dest_dir`, hashing while streaming; a known ETag makes it conditional."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    scheme = urlparse(url).scheme.lower()
    if scheme == "file":
        return _fetch_file(url, dest_dir, max_bytes)
    if scheme not in ("http", "https"):
        raise SourceError(f"{url}: unsupported URL scheme {scheme!r} (use http, https or file)")
    headers = {"User-Agent": USER_AGENT}
    # Only the ETag makes the GET conditional. Last-Modified has one-second resolution (a file
    # rewritten within the second of the previous fetch would look unchanged) and is the
    # server's claim; without an ETag the content is downloaded and its hash decides.
    if etag:
        headers["If-None-Match"] = etag
    try:
        response = requests.get(url, headers=headers, timeout=timeout, stream=True)
    except requests.RequestException as exc:
        raise SourceUnavailableError(f"{url}: {exc}") from exc
    with response:
        if response.status_code == 304:
            return Fetched(url, None, None, 0, "", etag)
        if response.status_code >= 400:
            raise SourceUnavailableError(f"{url}: HTTP {response.status_code}")
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise SourceError(f"{url}: {declared} bytes is more than the limit of {max_bytes}")
        digest, size = hashlib.sha256(), 0
        with tempfile.NamedTemporaryFile(dir=dest_dir, delete=False, suffix=".part") as out:
            try:
                for chunk in response.iter_content(CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise SourceError(f"{url}: larger than the limit of {max_bytes} bytes")
                    digest.update(chunk)
                    out.write(chunk)
            except requests.RequestException as exc:
                Path(out.name).unlink(missing_ok=True)
                raise SourceUnavailableError(f"{url}: download broke off: {exc}") from exc
            except SourceError:
                Path(out.name).unlink(missing_ok=True)
                raise
        final = dest_dir / digest.hexdigest()
        Path(out.name).replace(final)
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        return Fetched(url, final, digest.hexdigest(), size, media_type,
                       response.headers.get("ETag"), response.headers.get("Last-Modified"))


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
