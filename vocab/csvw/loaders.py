"""Loaders, the converter's only way to read: local files, and HTTP through the portal's egress client."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from vocab.csvw.metadata import Loader

if TYPE_CHECKING:
    from portal.egress import Egress

MEDIA_TYPES = {".json": "application/csvm+json", ".tsv": "text/tab-separated-values", ".csv": "text/csv"}


def file_url(path: str | Path) -> str:
    """The `file:` URL of a local path (relative links in its metadata resolve beside it)."""
    return Path(path).resolve().as_uri()


def file_loader(url: str | Path) -> tuple[bytes, Mapping[str, str]]:
    """Read a local file named by a `file:` URL or a path; FileNotFoundError when it is missing."""
    text = str(url)
    path = Path(unquote(urlsplit(text).path)) if text.startswith("file:") else Path(text)
    if not path.is_file():
        raise FileNotFoundError(text)
    media_type = MEDIA_TYPES.get(path.suffix.lower())
    return path.read_bytes(), {"Content-Type": media_type} if media_type else {}


def egress_loader(egress: Egress) -> Loader:
    """A loader that fetches http(s) URLs through `egress` and reads `file:` URLs from disk."""

    def load(url: str) -> tuple[bytes, Mapping[str, str]]:
        if not url.startswith(("http://", "https://")):
            return file_loader(url)
        with egress.request("GET", url, stream=True) as reply:
            if reply.status in (404, 410):
                raise FileNotFoundError(url)
            reply.raise_for_status()
            return reply.read(), dict(reply.headers)

    return load
