"""Cool URIs: the patterns every URI the portal mints follows, so one input always gives one URI.

    thing      {base}/id/{publisher}/{dataset}/{key}   → 303 → {base}/doc/{publisher}/{dataset}/{key}
    dataset    {base}/dataset/{publisher}/{dataset}    distribution …/resource/{slug}
    terms      {base}/def/{publisher}/{dataset}/{term} portal's own terms {base}/def/{name}
    graph      {base}/graph/{publisher}/{dataset}      portal's own graphs {base}/graph/{name}
    catalogue  {base}/catalog                          publisher {base}/id/publisher/{publisher}
    reference  {base}/id/ref/{scheme}/{code}           shared reference data (districts, countries …)
    schemas    {base}/schemas/{name}                   bundled Table Schemas; their CSVW mappings at …/mapping
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

SLUG_MAX = 80

# Letters NFKD does not decompose into ASCII; folded by hand before the general rule.
_FOLD = str.maketrans({"ß": "ss", "ẞ": "ss", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe",
                       "ø": "o", "Ø": "o", "đ": "d", "Đ": "d", "ł": "l", "Ł": "l",
                       "þ": "th", "Þ": "th", "ð": "d", "Ð": "d", "ı": "i"})
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
# Characters that may not appear in an IRI in N-Triples or Turtle, plus whitespace.
_BAD_IRI_CHARS = re.compile(r'[\x00-\x20<>"{}|^`\\]')


def slugify(text: str) -> str:
    """A lowercase ASCII slug of `text` (accents folded, runs of other characters → `-`), never empty."""
    folded = unicodedata.normalize("NFKD", text.translate(_FOLD))
    ascii_text = folded.encode("ascii", "ignore").decode("ascii").lower()
    slug = _NON_ALNUM.sub("-", ascii_text).strip("-")
    if len(slug) > SLUG_MAX:
        slug = slug[:SLUG_MAX].rstrip("-")
    return slug or hashlib.sha1(text.encode("utf-8")).hexdigest()[:10]


def encode_segment(value: str) -> str:
    """Percent-encode `value` as one path segment (UTF-8; only letters, digits and `-._~` stay)."""
    encoded = quote(value, safe="")
    if encoded in (".", ".."):  # dot segments would be removed by URI normalisation
        encoded = encoded.replace(".", "%2E")
    return encoded


def _check_base(base: str) -> str:
    """The base without trailing slashes; ValueError unless it is an absolute http(s) URI."""
    if not isinstance(base, str):
        raise ValueError(f"base URI must be a string, not {type(base).__name__}")
    stripped = base.rstrip("/")
    parts = urlsplit(stripped)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"base URI {base!r} must be an absolute http:// or https:// URI")
    if parts.query or parts.fragment or stripped.endswith(("?", "#")):
        raise ValueError(f"base URI {base!r} must not have a query or fragment")
    if _BAD_IRI_CHARS.search(stripped):
        raise ValueError(f"base URI {base!r} contains characters not allowed in an IRI")
    return stripped


#: Publisher slugs that would mint IRIs in the portal's own spaces (`/id/publisher/…`, `/id/ref/…`).
RESERVED_PUBLISHERS = frozenset({"publisher", "ref"})


@dataclass(frozen=True)
class UriScheme:
    """Mints the portal's URIs under one base such as `http://127.0.0.1:5000`."""

    base: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "base", _check_base(self.base))

    def _path(self, *segments: str) -> str:
        return self.base + "/" + "/".join(encode_segment(s) for s in segments)

    def thing_prefix(self, publisher: str, dataset: str) -> str:
        """The common start of every thing URI of a dataset; append `encode_segment(key)`."""
        return self._path("id", publisher, dataset) + "/"

    def thing(self, publisher: str, dataset: str, key: str) -> str:
        """The URI of one thing (a table row) of a dataset, `{base}/id/{publisher}/{dataset}/{key}`."""
        return self.thing_prefix(publisher, dataset) + encode_segment(str(key))

    def doc(self, publisher: str, dataset: str, key: str) -> str:
        """The document describing a thing, `{base}/doc/{publisher}/{dataset}/{key}`."""
        return self._path("doc", publisher, dataset, str(key))

    def dataset(self, publisher: str, dataset: str) -> str:
        """The URI of a dataset, `{base}/dataset/{publisher}/{dataset}`."""
        return self._path("dataset", publisher, dataset)

    def distribution(self, publisher: str, dataset: str, resource_slug: str) -> str:
        """The URI of one distribution, `{base}/dataset/{publisher}/{dataset}/resource/{slug}`."""
        return self._path("dataset", publisher, dataset, "resource", resource_slug)

    def graph(self, publisher: str, dataset: str) -> str:
        """The named graph holding a dataset, `{base}/graph/{publisher}/{dataset}`."""
        return self._path("graph", publisher, dataset)

    def term(self, publisher: str, dataset: str, name: str) -> str:
        """A term the portal defines for a dataset (column property, row class), `{base}/def/…`."""
        return self._path("def", publisher, dataset, name)

    def portal_term(self, name: str) -> str:
        """A term the portal defines for itself (e.g. a quality metric), `{base}/def/{name}`."""
        return self._path("def", name)

    def portal_graph(self, name: str) -> str:
        """A named graph the portal keeps for itself (catalogue, freshness), `{base}/graph/{name}`."""
        return self._path("graph", name)

    def reference(self, scheme: str, code: str | None = None) -> str:
        """Shared reference data, one IRI in every dataset: `{base}/id/ref/{scheme}` or `…/{scheme}/{code}`."""
        return self._path("id", "ref", scheme, *(() if code is None else (str(code),)))

    def schema(self, name: str) -> str:
        """A bundled Table Schema's page, `{base}/schemas/{name}` (its CSVW mapping at `…/mapping`)."""
        return self._path("schemas", name)

    def catalog(self) -> str:
        """The URI of the portal's dcat:Catalog, `{base}/catalog`."""
        return self.base + "/catalog"

    def publisher(self, publisher: str) -> str:
        """The URI of a publishing organisation, `{base}/id/publisher/{publisher}`."""
        return self._path("id", "publisher", publisher)
