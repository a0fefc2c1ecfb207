"""Which licences are open and which formats are machine-readable and open: the facts the star ratings rest on.

Openness of a licence is read from the EU licence table (`vocab/authority/licence.json`, 2019
edition): the codes in `OPEN_EU_LICENCES` are those conforming to the Open Definition 2.1
(opendefinition.org/licenses: CC0, CC BY and BY-SA in every version, ODbL, ODC-By, PDDL, GFDL),
the OSI-approved EUPL, and the EU's own open reuse terms (Decision 2011/833/EU, ISA Open
Metadata Licence); NonCommercial and NoDerivatives variants are not open. Licences the EU table
lacks are recognised from `OTHER_OPEN_LICENCES` (national open government licences, named by
their SPDX ids, portal ids and published URLs). CKAN's placeholder ids (``other-open`` …) name no
licence, so they earn nothing.

Formats are read from the EU file-type table (`vocab/authority/file-type.json`) through the
declared format, the media type, or the file name's extension, and sorted into RDF, open
machine-readable, proprietary machine-readable and documents (PDF, HTML, Word, images).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from vocab.authority import Concept, key
from vocab.authority.match import file_type, file_type_of_media_type, licence

#: EU licence codes that are open (Open Definition conformant, or the EU's own open reuse terms).
OPEN_EU_LICENCES = frozenset({
    "CC0", "CC_BY", "CC_BY_1_0", "CC_BY_2_0", "CC_BY_2_5", "CC_BY_3_0", "CC_BY_4_0", "CC_BYSA",
    "CC_BYSA_1_0", "CC_BYSA_2_0", "CC_BYSA_2_5", "CC_BYSA_3_0", "CC_BYSA_4_0", "ODC_BL", "ODC_BY",
    "ODC_PDDL", "GNU_FDL", "EUPL_1_0", "EUPL_1_1", "EUPL_1_2", "COM_REUSE", "ISA_OML"})

#: Open licences the EU table (2019 edition) lacks: (name, identifiers, URLs without scheme).
OTHER_OPEN_LICENCES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("Open Government Licence v3.0 (UK)", ("OGL-UK-3.0", "uk-ogl", "OGL-UK", "OGL3", "OGL v3"),
     ("nationalarchives.gov.uk/doc/open-government-licence/version/3",
      "nationalarchives.gov.uk/doc/open-government-licence")),
    ("Open Government Licence v2.0 (UK)", ("OGL-UK-2.0",),
     ("nationalarchives.gov.uk/doc/open-government-licence/version/2",)),
    ("Datenlizenz Deutschland – Namensnennung 2.0", ("DL-DE-BY-2.0", "dl-de/by-2-0", "dl-by-de/2.0"),
     ("govdata.de/dl-de/by-2-0", "dcat-ap.de/def/licenses/dl-by-de/2.0")),
    ("Datenlizenz Deutschland – Zero 2.0", ("DL-DE-ZERO-2.0", "dl-de/zero-2-0", "dl-zero-de/2.0"),
     ("govdata.de/dl-de/zero-2-0", "dcat-ap.de/def/licenses/dl-zero-de/2.0")),
    ("Licence Ouverte / Open Licence 2.0 (Etalab)", ("etalab-2.0", "lov2", "fr-lo"),
     ("etalab.gouv.fr/licence-ouverte-open-licence",
      "etalab.gouv.fr/wp-content/uploads/2017/04/etalab-licence-ouverte-v2.0.pdf")),
    ("Open Government Licence – Canada 2.0", ("OGL-Canada-2.0",),
     ("open.canada.ca/en/open-government-licence-canada",)),
    ("Open Government Licence – Toronto", ("OGL-Toronto",), ("open.toronto.ca/open-data-license",)),
    ("Norwegian Licence for Open Government Data 2.0", ("NLOD-2.0",),
     ("data.norge.no/nlod/en/2.0", "data.norge.no/nlod/no/2.0")),
    ("Public Domain Mark 1.0", ("PDM-1.0",), ("creativecommons.org/publicdomain/mark/1.0",)),
    ("U.S. public domain (government work)", ("us-pd",), ("usa.gov/publicdomain/label/1.0",)),
)

#: CKAN's placeholder licence ids, which name no licence: why each earns no star.
PLACEHOLDER_LICENCES = {
    "other-open": "“Other (Open)” says the data is open but names no licence",
    "other-pd": "“Other (Public Domain)” names no public-domain dedication",
    "other-at": "“Other (Attribution)” names no licence",
    "other-nc": "“Other (Non-Commercial)” forbids commercial use, so it is not open",
    "other-closed": "“Other (Not Open)” is not an open licence",
    "notspecified": "the licence is “not specified”",
    "other-undefined": "the licence is “specified in the description”, which no one can check",
}

#: The basis of a verdict on a placeholder licence.
PLACEHOLDERS = "CKAN's placeholder licence ids"

#: EU file-type codes by what they give a reuser.
RDF_FORMATS = frozenset({"RDF", "RDFA", "RDF_N_QUADS", "RDF_N_TRIPLES", "RDF_TRIG", "RDF_TRIX", "RDF_TURTLE",
                         "RDF_XML", "JSON_LD", "N3", "OWL", "SKOS_XML", "HDT", "RDF_THRIFT"})
OPEN_FORMATS = frozenset({"CSV", "TSV", "JSON", "GEOJSON", "XML", "GML", "KML", "KMZ", "GPKG", "ODS", "NETCDF",
                          "YAML", "ATOM", "RSS", "SDMX", "GTFS", "ICS", "SPARQLQRES"})
PROPRIETARY_FORMATS = frozenset({"XLS", "XLSX", "XLSB", "XLSM", "MDB", "SHP", "DBF", "GDB", "DWG", "DXF", "TAB"})
DOCUMENT_FORMATS = frozenset({"HTML", "HTML5", "HTML_SIMPL", "XHTML", "XHTML5", "XHTML_SIMPL", "DOC", "DOCX",
                              "ODT", "RTF", "TXT", "JPEG", "JPEG2000", "PNG", "GIF", "TIFF", "TIFF_FX", "BMP",
                              "PPT", "PPTX", "PPS", "PPSX", "ODP", "EPUB", "MHTML", "PS", "EPS", "SVG", "WEBP"})


@dataclass(frozen=True)
class LicenceVerdict:
    """Whether a licence value is open, what it is, and by which table that was decided."""

    value: str
    open: bool | None  # None: not recognised
    name: str
    basis: str
    reason: str = ""  # why a licence that is not open is not


def _url_key(value: str) -> str:
    parts = urlsplit(value.strip().strip("<>"))
    host = parts.netloc.lower().removeprefix("www.")
    return key(host + unquote(parts.path).rstrip("/"))


def _other_open_index() -> dict[str, str]:
    index = {key(i): name for name, ids, _ in OTHER_OPEN_LICENCES for i in ids}
    index.update({key(url): name for name, _, urls in OTHER_OPEN_LICENCES for url in urls})
    return index


_OTHER_OPEN = _other_open_index()


def _short_label(concept: Concept) -> str:
    """The concept's shortest English label ("CC BY 4.0" rather than its long title), whatever the file's order."""
    return min(concept.labels.get("en") or (concept.code,), key=lambda label: (len(label), label))


def _eu_verdict(value: str, concept: Concept) -> LicenceVerdict:
    name = _short_label(concept)
    basis = f"the EU licence table ({concept.code})"
    if concept.code in OPEN_EU_LICENCES:
        return LicenceVerdict(value, True, name, basis)
    terms = concept.code.removeprefix("CC_BY") if concept.code.startswith("CC_BY") else ""
    why = ("forbids commercial use" if "NC" in terms else "forbids derivative works" if "ND" in terms
           else "is not an open licence")
    return LicenceVerdict(value, False, name, basis, f"{name} {why}")


def judge_licence(value: str | None) -> LicenceVerdict | None:
    """Whether a licence value (EU IRI, SPDX or CKAN id, URL, title or a text naming one per line) is open."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for candidate in [text] + (lines if len(lines) > 1 else []):
        concept = licence(candidate)
        if concept is not None:
            return _eu_verdict(value, concept)
        is_url = candidate.lower().startswith(("http://", "https://"))
        found = _OTHER_OPEN.get(_url_key(candidate) if is_url else key(candidate))
        if found is not None:
            return LicenceVerdict(value, True, found, "Lodestar's list of open licences outside the EU table")
        if key(candidate) in PLACEHOLDER_LICENCES:
            return LicenceVerdict(value, False, candidate, PLACEHOLDERS,
                                  PLACEHOLDER_LICENCES[key(candidate)])
        if is_url and (verdict := _creative_commons(value, candidate)) is not None:
            return verdict
    return LicenceVerdict(value, None, "", "")


#: Creative Commons licence elements that keep a licence from being open.
_CC_NOT_OPEN = {"nc": "forbids commercial use", "nd": "forbids derivative works"}


def _creative_commons(value: str, url: str) -> LicenceVerdict | None:
    """A Creative Commons licence or dedication URL in any version, port or deed language
    (`…/licenses/by/3.0/de/`, `…/by-sa/2.0/legalcode`, `…/publicdomain/zero/1.0/`), read from
    its path; None when the URL is not one."""
    parts = urlsplit(url.strip().strip("<>"))
    if parts.netloc.lower().removeprefix("www.") != "creativecommons.org":
        return None
    segments = [s for s in unquote(parts.path).lower().split("/") if s]
    basis = "the Creative Commons licence named by the URL"
    if segments[:2] == ["publicdomain", "zero"]:
        return LicenceVerdict(value, True, "CC0 " + (segments[2] if len(segments) > 2 else ""), basis)
    if len(segments) < 3 or segments[0] != "licenses" or not segments[1].startswith("by"):
        return None
    elements = segments[1].split("-")
    port = segments[3] if len(segments) > 3 and not segments[3].startswith(("legalcode", "deed")) else ""
    name = " ".join(x for x in ("CC", segments[1].upper(), segments[2], port.upper()) if x)
    refused = [why for element, why in _CC_NOT_OPEN.items() if element in elements]
    if refused:
        return LicenceVerdict(value, False, name, basis, f"{name} {' and '.join(refused)}")
    return LicenceVerdict(value, True, name, basis)


@dataclass(frozen=True)
class FormatVerdict:
    """What a file's format gives a reuser, the format's name, and how Lodestar read it."""

    kind: str  # rdf | open | proprietary | document | unknown
    name: str
    how: str


def judge_format(declared: str | None, media_type: str | None, url: str = "") -> FormatVerdict:
    """The kind of a file's format, from its declared format, else its media type, else its file name."""
    concept, how = None, ""
    if declared:
        concept, how = file_type(declared), "by its format"
    if concept is None and media_type:
        concept, how = file_type_of_media_type(media_type), f"by its media type {media_type}"
    if concept is None and url:
        suffix = PurePosixPath(unquote(urlsplit(url).path)).suffix.lower()
        if 1 < len(suffix) <= 8:
            concept, how = file_type(suffix), f"by its file name ending {suffix}"
    if concept is None:
        return FormatVerdict("unknown", declared or media_type or "none declared", "not recognised")
    code = concept.code
    kind = ("rdf" if code in RDF_FORMATS else "open" if code in OPEN_FORMATS else "proprietary"
            if code in PROPRIETARY_FORMATS else "document" if code in DOCUMENT_FORMATS or code.startswith("PDF")
            else "unknown")
    return FormatVerdict(kind, _short_label(concept), how)


__all__ = ["DOCUMENT_FORMATS", "FormatVerdict", "LicenceVerdict", "OPEN_EU_LICENCES", "OPEN_FORMATS",
           "OTHER_OPEN_LICENCES", "PLACEHOLDERS", "PLACEHOLDER_LICENCES", "PROPRIETARY_FORMATS", "RDF_FORMATS",
           "judge_format", "judge_licence"]
