"""CKAN's names for licences and formats, from the values harvesters keep (URIs, media types).

Licence ids, titles and URLs are those of CKAN's default licence list (ckan/model/license.py, a
public fact table); the other URIs beside them are how DCAT catalogues and the EU licence authority
table (`../shared/vocabularies/licence`) name the same licences. Formats come from media types
through Python's own `mimetypes` table.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

EU_LICENCE = "http://publications.europa.eu/resource/authority/licence/"
OPEN_DEFINITION = "http://www.opendefinition.org/licenses/"
#: CKAN's licence ids for the licences municipal data mostly uses: (id, title, url, open, other URIs).
LICENCES: tuple[tuple[str, str, str, bool, tuple[str, ...]], ...] = (
    ("cc-by", "Creative Commons Attribution", OPEN_DEFINITION + "cc-by", True,
     ("http://creativecommons.org/licenses/by/4.0/", EU_LICENCE + "CC_BY_4_0")),
    ("cc-by-sa", "Creative Commons Attribution Share-Alike", OPEN_DEFINITION + "cc-by-sa", True,
     ("http://creativecommons.org/licenses/by-sa/4.0/", EU_LICENCE + "CC_BYSA_4_0")),
    ("cc-zero", "Creative Commons CCZero", OPEN_DEFINITION + "cc-zero", True,
     ("http://creativecommons.org/publicdomain/zero/1.0/", EU_LICENCE + "CC0")),
    ("odc-odbl", "Open Data Commons Open Database License (ODbL)", OPEN_DEFINITION + "odc-odbl", True,
     ("http://opendatacommons.org/licenses/odbl/1.0/", EU_LICENCE + "ODC_BL")),
    ("odc-by", "Open Data Commons Attribution License", OPEN_DEFINITION + "odc-by", True,
     ("http://opendatacommons.org/licenses/by/1.0/", EU_LICENCE + "ODC_BY")),
    ("odc-pddl", "Open Data Commons Public Domain Dedication and License (PDDL)", OPEN_DEFINITION + "odc-pddl",
     True, ("http://opendatacommons.org/licenses/pddl/1.0/", EU_LICENCE + "ODC_PDDL")),
    ("uk-ogl", "UK Open Government Licence (OGL)", "http://reference.data.gov.uk/id/open-government-licence", True,
     ("http://www.nationalarchives.gov.uk/doc/open-government-licence/version/2/",
      "http://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/")),
)


def _url_key(url: str) -> str:
    """A licence URL compared loosely: no scheme, no `www.`, no trailing slash, lower case."""
    parts = urlsplit(url.strip().lower())
    return (parts.netloc.removeprefix("www.") + parts.path).rstrip("/")


_LICENCE_BY_KEY = {_url_key(uri): entry for entry in LICENCES for uri in (entry[2], *entry[4])}
_LICENCE_BY_ID = {entry[0]: entry for entry in LICENCES}


@dataclass(frozen=True)
class Licence:
    """A dataset's licence as CKAN names it."""

    id: str
    title: str
    url: str
    open: bool


def _licence_family(url: str) -> tuple[str, str, str, bool, tuple[str, ...]] | None:
    """CKAN's licence for any version or port of a Creative Commons or UK OGL licence URL."""
    parts = urlsplit(url.strip().lower())
    host, segments = parts.netloc.removeprefix("www."), [s for s in parts.path.split("/") if s]
    if host == "creativecommons.org" and len(segments) >= 2:
        family = {("licenses", "by"): "cc-by", ("licenses", "by-sa"): "cc-by-sa",
                  ("publicdomain", "zero"): "cc-zero"}.get((segments[0], segments[1]))
        return _LICENCE_BY_ID[family] if family else None
    if host == "nationalarchives.gov.uk" and "open-government-licence" in segments:
        return _LICENCE_BY_ID["uk-ogl"]
    return None


def licence_of(value: str | None) -> Licence:
    """CKAN's licence for a licence URI or id as harvested; an unknown one keeps its own spelling.

    The licence's own URL is kept as `license_url` (it names the version and port, which CKAN's
    licence ids do not).
    """
    if not value:
        return Licence("notspecified", "License not specified", "", False)
    is_url = value.startswith(("http://", "https://"))
    entry = _LICENCE_BY_ID.get(value) or _LICENCE_BY_KEY.get(_url_key(value)) or (
        _licence_family(value) if is_url else None)
    if entry is not None:
        return Licence(entry[0], entry[1], value if is_url else entry[2], entry[3])
    return Licence(value, value, value if is_url else "", False)


def licence_values(license_id: str) -> list[str]:
    """Every licence value as harvested that `licence_of` calls `license_id`, for search filters."""
    entry = _LICENCE_BY_ID.get(license_id)
    if entry is None:
        return [license_id]
    uris = (entry[2], *entry[4])
    return [entry[0], *uris, *(u.rstrip("/") for u in uris if u.endswith("/"))]


def format_of(media_type: str, url: str) -> str:
    """A resource's format as CKAN shows it (``CSV``), from its media type or else its URL's suffix."""
    suffix = mimetypes.guess_extension(media_type.split(";")[0].strip().lower()) if media_type else None
    if not suffix:
        path = urlsplit(url).path
        suffix = path[path.rfind("."):] if "." in path.rsplit("/", 1)[-1] else None
    return suffix.lstrip(".").upper() if suffix else ""


def media_types_of(fmt: str) -> list[str]:
    """The media types whose resources `format_of` names `fmt` (for the `res_format` filter)."""
    suffix = "." + fmt.strip().lower()
    found = {media for ext, media in mimetypes.types_map.items() if ext == suffix}
    return sorted(media for media in found if format_of(media, "").lower() == fmt.strip().lower())


def format_name(value: Any) -> str:
    """A format as a source gave it, as CKAN shows it: an IRI (EU file type, IANA media type) by its code."""
    if not isinstance(value, str) or not value.strip():
        return ""
    if not value.startswith(("http://", "https://")):
        return value.strip()
    path = urlsplit(value).path
    if "/media-types/" in path:
        return format_of(path.split("/media-types/", 1)[1], "")
    return path.rstrip("/").rsplit("/", 1)[-1].upper()


