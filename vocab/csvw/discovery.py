"""Finding the metadata for a tabular file: user metadata, the Link header, site-wide configuration.

Follows "Model for Tabular Data and Metadata on the Web" §5: overriding (user) metadata wins;
otherwise a `describedby` Link, then the locations `/.well-known/csvm` lists (by default
`{+url}-metadata.json` and `csv-metadata.json`); a metadata document found this way is used only
if it describes the file. With none, the file's embedded metadata (its header) stands alone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

from requests.utils import parse_header_links

from vocab.csvw.dialect import media_type
from vocab.csvw.errors import CsvwError, warn
from vocab.csvw.metadata import Loader, load_json, normalise
from vocab.csvw.templates import expand, parse_template

JSON_TYPES = frozenset({"application/csvm+json", "application/ld+json", "application/json"})
DEFAULT_LOCATIONS = ("{+url}-metadata.json", "csv-metadata.json")


class Fetcher:
    """The loader, with each file it has read kept for the conversion that follows."""

    def __init__(self, loader: Loader) -> None:
        self.loader = loader
        self.cache: dict[str, tuple[bytes, Mapping[str, str]]] = {}

    def __call__(self, url: str) -> tuple[bytes, Mapping[str, str]]:
        """Read `url` (once)."""
        if url not in self.cache:
            self.cache[url] = self.loader(url)
        return self.cache[url]

    def table(self, url: str) -> tuple[bytes, Mapping[str, str]]:
        """Read a tabular file; CsvwError when it is missing."""
        try:
            return self(url)
        except FileNotFoundError:
            raise CsvwError(f"{url}: the tabular file does not exist") from None


def is_json(url: str, headers: Mapping[str, str]) -> bool:
    """Whether a response is a metadata document rather than a tabular file."""
    kind, _ = media_type(headers)
    if kind in JSON_TYPES:
        return True
    return urlsplit(url).path.endswith(".json") and kind in ("text/csv", "application/octet-stream")


def locate(url: str, metadata: str | Mapping[str, Any] | None, fetch: Fetcher) -> dict[str, Any]:
    """The normalised metadata (a table group) to convert `url` with."""
    if metadata is not None:
        if isinstance(metadata, Mapping):
            return normalise(dict(metadata), url, fetch)
        try:
            return normalise(load_json(metadata, fetch), metadata, fetch)
        except FileNotFoundError:
            raise CsvwError(f"{metadata}: the metadata file does not exist") from None
    data, headers = fetch.table(url)
    if is_json(url, headers):
        try:
            document = json.loads(data.decode("utf-8-sig"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise CsvwError(f"{url}: not a JSON metadata document ({exc})") from None
        return normalise(document, url, fetch)
    for candidate in _linked(url, headers):
        found = _describing(candidate, url, fetch)
        if found is not None:
            return found
    for candidate in _site_wide(url, fetch):
        found = _describing(candidate, url, fetch)
        if found is not None:
            return found
    return {"tables": [{"url": url}], "_embedded": True}


def _linked(url: str, headers: Mapping[str, str]) -> list[str]:
    value = next((v for k, v in headers.items() if k.lower() == "link"), None)
    if not value:
        return []
    found = []
    for link in parse_header_links(value):
        if "describedby" in link.get("rel", "").split() and link.get("type", "application/csvm+json") in JSON_TYPES:
            found.append(urljoin(url, link["url"]))
    return found


def _site_wide(url: str, fetch: Fetcher) -> list[str]:
    parts = urlsplit(url)
    well_known = f"{parts.scheme}://{parts.netloc}/.well-known/csvm"
    try:
        data, _ = fetch(well_known)
        lines = [line.strip() for line in data.decode("utf-8").splitlines() if line.strip()]
    except FileNotFoundError:
        lines = list(DEFAULT_LOCATIONS)
    return [urljoin(url, expand(parse_template(line), {"url": url})) for line in lines]


def _describing(candidate: str, url: str, fetch: Fetcher) -> dict[str, Any] | None:
    try:
        document = load_json(candidate, fetch)
    except FileNotFoundError:
        return None
    except CsvwError as exc:
        warn(f"{candidate}: ignored ({exc})")
        return None
    normalised = normalise(document, candidate, fetch)
    if any(table.get("url") == url for table in normalised["tables"]):
        return normalised
    warn(f"{candidate} does not describe {url}: ignored")
    return None
