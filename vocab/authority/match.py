"""Finding the EU authority concept a harvested value stands for: licences, themes, file types, languages.

Every lookup is a dictionary lookup on an index built once from the tables (`vocab.authority`) plus
a few well-known spellings listed here. A value that matches no concept, or more than one, gives
None: nothing is guessed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache

import isodate

from vocab.authority import Concept, key, table, unambiguous
from vocab.frequencies import CUSTOM, read_frequency

IANA_MEDIA_TYPES = "https://www.iana.org/assignments/media-types/"

# ---- licences -------------------------------------------------------------------------------

#: CKAN's own licence ids and titles (CKAN's default licence list) and dcat-ap.de licence paths,
#: to EU licence codes. Unversioned Creative Commons ids go to the EU's unversioned concepts.
_LICENCE_ALIASES: Mapping[str, str] = {
    "cc-zero": "CC0", "cc0": "CC0", "creative-commons-cczero": "CC0", "cc-by": "CC_BY",
    "creative-commons-attribution": "CC_BY", "cc-by-sa": "CC_BYSA",
    "creative-commons-attribution-share-alike": "CC_BYSA", "cc-nc": "CC_BYNC",
    "creative-commons-non-commercial-any": "CC_BYNC", "odc-odbl": "ODC_BL", "odbl": "ODC_BL",
    "open-data-commons-open-database-license-odbl": "ODC_BL", "odc-by": "ODC_BY",
    "open-data-commons-attribution-license": "ODC_BY", "odc-pddl": "ODC_PDDL", "pddl": "ODC_PDDL",
    "open-data-commons-public-domain-dedication-and-license-pddl": "ODC_PDDL", "gfdl": "GNU_FDL",
    "gnu-free-documentation-license": "GNU_FDL", "odbl-1-0": "ODC_BL", "odc-by-1-0": "ODC_BY",
    "pddl-1-0": "ODC_PDDL", "eupl-1-0": "EUPL_1_0", "eupl-1-1": "EUPL_1_1", "eupl-1-2": "EUPL_1_2",
}
#: Prefixes of licence IRIs whose last path part is a licence id (CKAN's opendefinition.org
#: links, dcat-ap.de's licence vocabulary).
_LICENCE_ID_PREFIXES = ("opendefinition.org/licenses/", "dcat-ap.de/def/licenses/")


def _spdx(code: str) -> str | None:
    """The SPDX id of an EU Creative Commons code (``CC_BYNCSA_4_0`` → ``CC-BY-NC-SA-4.0``)."""
    match = re.fullmatch(r"CC_(BY)(NC)?(ND|SA)?(?:_(\d)_(\d))?", code)
    if match is None:
        return "CC0-1.0" if code == "CC0" else None
    by, nc, last, major, minor = match.groups()
    parts = ["CC", by] + [p for p in (nc, last) if p] + ([f"{major}.{minor}"] if major else [])
    return "-".join(parts)


def _url_key(url: str) -> str:
    """A licence URL without scheme, ``www.``, ``legalcode``/``deed.xx`` or trailing slash, as a key."""
    address = url.strip().strip("<>").split("://", 1)[-1].split("#")[0].split("?")[0].lower()
    address = address.removeprefix("www.").rstrip("/")
    address = re.sub(r"/(legalcode|deed)(\.[a-z_-]+)?$", "", address)
    return key(address)


@cache
def _licence_index() -> tuple[dict[str, Concept], dict[str, Concept]]:
    licences = table("licence")
    names: list[tuple[str, Concept]] = []
    urls: list[tuple[str, Concept]] = []
    for concept in licences.concepts.values():
        names.append((key(concept.code), concept))
        names.extend((key(label), concept) for label in concept.labels.get("en", ()))
        spdx = _spdx(concept.code)
        if spdx:
            names.append((key(spdx), concept))
        urls.extend((_url_key(url), concept) for url in concept.facts.get("exact_match", ()))
    names.extend((key(alias), licences.concepts[code]) for alias, code in _LICENCE_ALIASES.items())
    return unambiguous(names), unambiguous(urls)


def licence(value: str) -> Concept | None:
    """The EU licence concept for an SPDX id, CKAN licence id, licence URL, title or EU IRI/code."""
    text = value.strip()
    if not text:
        return None
    names, urls = _licence_index()
    if re.match(r"<?https?://", text, flags=re.IGNORECASE):
        found = table("licence").by_uri(text) or urls.get(_url_key(text))
        if found is None:
            address = text.split("://", 1)[1].lower().removeprefix("www.")
            for prefix in _LICENCE_ID_PREFIXES:
                if address.startswith(prefix):
                    return names.get(key(address[len(prefix):]))
        return found
    found = names.get(key(text))
    if found is None and "(" in text:  # "Creative Commons Attribution (CC-BY 4.0)": the short name inside
        inner = text[text.rindex("(") + 1:].split(")")[0]
        found = names.get(key(inner)) if inner.strip() else None
    return found


# ---- data themes ----------------------------------------------------------------------------

_THEME_SPLIT = re.compile(r",\s*|\s+(?:and|und|et|en|y|e|och|og|i|a)\s+|/", flags=re.IGNORECASE)


@cache
def _theme_index() -> dict[str, Concept]:
    themes = table("data-theme")
    whole: list[tuple[str, Concept]] = []
    parts: list[tuple[str, Concept]] = []
    for concept in themes.concepts.values():
        whole.append((key(concept.code), concept))
        for label in concept.all_labels():
            whole.append((key(label), concept))
            pieces = [p for p in _THEME_SPLIT.split(label) if p and p.strip()]
            if len(pieces) > 1:  # "Economy and finance": "economy" and "finance" each name ECON alone
                parts.extend((key(piece), concept) for piece in pieces)
    index = unambiguous(parts)
    index.update(unambiguous(whole))  # a whole label wins over a part of another label
    return index


def theme(value: str) -> Concept | None:
    """The EU data theme for a theme IRI, code (``ENVI``) or label in any EU language (``Umwelt``)."""
    text = value.strip()
    if re.match(r"<?https?://", text, flags=re.IGNORECASE):
        return table("data-theme").by_uri(text)
    return _theme_index().get(key(text)) if text else None


# ---- file types and media types ---------------------------------------------------------------

#: Registered IANA media types for file types whose entry in the table has none (or a non-IANA one).
_MEDIA_TYPES: Mapping[str, str] = {
    "JSON": "application/json", "GEOJSON": "application/geo+json", "JSON_LD": "application/ld+json",
    "KML": "application/vnd.google-earth.kml+xml", "KMZ": "application/vnd.google-earth.kmz",
    "TSV": "text/tab-separated-values", "GML": "application/gml+xml", "PDF": "application/pdf",
    "ODS": "application/vnd.oasis.opendocument.spreadsheet", "ODT": "application/vnd.oasis.opendocument.text",
    "DOCX": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "ATOM": "application/atom+xml", "RSS": "application/rss+xml", "N3": "text/n3",
    "RDF_TRIG": "application/trig", "RDF_N_QUADS": "application/n-quads", "YAML": "application/yaml",
    "GZIP": "application/gzip", "ICS": "text/calendar", "SVG": "image/svg+xml", "PPT": "application/vnd.ms-powerpoint",
    "SPARQLQ": "application/sparql-query",
}
#: Other spellings of media types seen in catalogues (older or unregistered), to a file-type code.
_MEDIA_ALIASES: Mapping[str, str] = {
    "application/vnd.geo+json": "GEOJSON", "application/x-zip-compressed": "ZIP", "application/csv": "CSV",
    "text/comma-separated-values": "CSV", "application/x-json": "JSON", "text/json": "JSON",
    "text/xml": "XML", "application/x-gzip": "GZIP", "application/vnd.ms-excel": "XLS",
    "application/pdf": "PDF",
}
#: Format labels portals use that are no label of the table.
_FORMAT_ALIASES: Mapping[str, str] = {
    "shapefile": "SHP", "esri-shapefile": "SHP", "excel": "XLS", "web-page": "HTML", "webpage": "HTML",
    "turtle": "RDF_TURTLE", "n-triples": "RDF_N_TRIPLES", "rdf-xml": "RDF_XML", "wms": "WMS_SRVC",
    "wfs": "WFS_SRVC", "wcs": "WCS_SRVC", "text": "TXT", "geopackage": "GPKG",
}
_NOISE = frozenset({"file", "files", "format", "data", "document"})


def _same(code: str, name: str) -> bool:
    """Whether a file-type code spells `name` (``TIFF_FX`` and ``tiff-fx``; ``XML`` and ``xml``)."""
    return re.sub(r"[^0-9a-z]", "", code.lower()) == re.sub(r"[^0-9a-z]", "", name.lower())


def _preferring_code(pairs: list[tuple[str, Concept]], spelled: dict[str, str]) -> dict[str, Concept]:
    """Like `unambiguous`, but a key that names several concepts goes to the one whose code spells it."""
    index = unambiguous(pairs)
    for name, concept in pairs:
        if name not in index and _same(concept.code, spelled[name]):
            index[name] = concept
    return index


def bare_media_type(value: str) -> str:
    """A media type without parameters or IANA IRI prefix, in lower case (``text/csv``), or ``""``."""
    text = value.strip().strip("<>")
    lowered = text.lower()
    for prefix in ("https://www.iana.org/assignments/media-types/", "http://www.iana.org/assignments/media-types/"):
        if lowered.startswith(prefix):
            lowered = lowered[len(prefix):]
    lowered = lowered.split(";")[0].strip()
    return lowered if re.fullmatch(r"[a-z0-9][\w.+-]*/[a-z0-9][\w.+-]*", lowered) else ""


@cache
def _file_type_index() -> tuple[dict[str, Concept], dict[str, Concept], dict[str, Concept], dict[str, str]]:
    types = table("file-type")
    names: list[tuple[str, Concept]] = []
    extensions: list[tuple[str, Concept]] = []
    media: list[tuple[str, Concept]] = []
    spelled: dict[str, str] = {}
    canonical: dict[str, str] = {}
    for concept in types.concepts.values():
        names.append((key(concept.code), concept))
        names.extend((key(label), concept) for label in concept.labels.get("en", ()))
        for extension in concept.facts.get("extensions", ()):
            for one in extension.split():  # the table has ".gml .xml" as one value
                spelled[key(one)] = one.lstrip(".")
                extensions.append((key(one), concept))
        for media_type in concept.facts.get("media_types", ()):
            bare = bare_media_type(media_type)
            if bare:
                spelled[bare] = bare.split("/")[1]
                media.append((bare, concept))
                canonical.setdefault(concept.code, bare)
    for code, media_type in _MEDIA_TYPES.items():
        canonical[code] = media_type
        spelled[media_type] = media_type.split("/")[1]
        media.append((media_type, types.concepts[code]))
    media.extend((alias, types.concepts[code]) for alias, code in _MEDIA_ALIASES.items())
    spelled.update({alias: alias.split("/")[1] for alias in _MEDIA_ALIASES})
    names.extend((key(alias), types.concepts[code]) for alias, code in _FORMAT_ALIASES.items())
    return (unambiguous(names), _preferring_code(extensions, spelled), _preferring_code(media, spelled),
            canonical)


def file_type(value: str) -> Concept | None:
    """The EU file type for a file-type IRI, format label (``CSV``, ``.csv``, ``CSV file``) or media type."""
    text = value.strip()
    if not text:
        return None
    if re.match(r"<?https?://", text, flags=re.IGNORECASE):
        found = table("file-type").by_uri(text)
        return found if found is not None else file_type_of_media_type(text)
    if "/" in text and bare_media_type(text):
        return file_type_of_media_type(text)
    names, extensions, _, _ = _file_type_index()
    name = key(text)
    if name in names:
        return names[name]
    trimmed = "-".join(word for word in name.split("-") if word not in _NOISE)
    return names.get(trimmed) or extensions.get(name) or extensions.get(trimmed)


def file_type_of_media_type(value: str) -> Concept | None:
    """The EU file type for an IANA media type (``text/csv``, with parameters or as an IANA IRI)."""
    bare = bare_media_type(value)
    return _file_type_index()[2].get(bare) if bare else None


def media_type_of(concept: Concept) -> str | None:
    """The IANA media type of an EU file type, if it has one."""
    return _file_type_index()[3].get(concept.code)


# ---- languages ------------------------------------------------------------------------------

@cache
def _language_index() -> dict[str, Concept]:
    languages = table("language")
    pairs: list[tuple[str, Concept]] = []
    for concept in languages.concepts.values():
        pairs.append((key(concept.code), concept))
        for fact in ("iso639_1", "iso639_2b", "name"):
            if concept.facts.get(fact):
                pairs.append((key(str(concept.facts[fact])), concept))
        pairs.extend((key(label), concept) for label in concept.all_labels())
    return unambiguous(pairs)


def language(value: str) -> Concept | None:
    """The EU language for an EU IRI, ISO 639-1/2/3 code, language tag (``de-DE``) or name."""
    text = value.strip()
    if not text:
        return None
    if re.match(r"<?https?://", text, flags=re.IGNORECASE):
        return table("language").by_uri(text)
    index = _language_index()
    found = index.get(key(text))
    if found is None and re.fullmatch(r"[A-Za-z]{2,3}[-_][A-Za-z0-9-]+", text):  # a tag: its primary subtag
        found = index.get(key(re.split(r"[-_]", text)[0]))
    return found


# ---- frequencies ----------------------------------------------------------------------------

def frequency(value: str) -> str | None:
    """The EU frequency IRI for a declared frequency, read by `vocab.frequencies.read_frequency`.

    A readable period that is no EU frequency (``P3D``, udata's ``fourTimesADay``) gives its ISO 8601
    duration (``P3D``, ``PT6H``); a value that is missing or cannot be read gives None.
    """
    found = read_frequency(value).frequency
    if found is None:
        return None
    if found.key != CUSTOM:
        return found.uri
    return isodate.duration_isoformat(found.period) if found.period is not None else None


__all__ = ["bare_media_type", "file_type", "file_type_of_media_type", "frequency", "language", "licence",
           "media_type_of", "theme"]
