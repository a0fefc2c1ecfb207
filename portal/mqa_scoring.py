"""Scoring one dataset by the data.europa.eu MQA: its 23 indicators from the DCAT record and the fetch history.

Pure: no database, no network. The facts come from the dataset's published DCAT-AP record
(`portal.catalogue.dataset_record`, what data.europa.eu would harvest from Lodestar) and from
its resource rows (whether each file answered at the last harvest). The methodology, its sources
and the choices made are written down in `portal.mqa`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rdflib import Graph, URIRef
from rdflib.term import Node

from portal import mqa_shacl
from portal.catalogue import dataset_record
from portal.db import Dataset, Resource
from portal.mqa_shacl import Compliance
from vocab.authority import table
from vocab.authority.match import bare_media_type, file_type_of_media_type, licence
from vocab.namespaces import DCAT, DCTERMS
from vocab.uris import UriScheme

#: The five dimensions and their maximum points (sum 405), in the methodology's order.
DIMENSIONS: Mapping[str, int] = {"findability": 100, "accessibility": 100, "interoperability": 110,
                                 "reusability": 75, "contextuality": 20}
#: The rating bands: the lowest total of each (Excellent 351–405, Good 221–350, Sufficient 121–220, Bad 0–120).
RATINGS: tuple[tuple[float, str], ...] = ((351, "Excellent"), (221, "Good"), (121, "Sufficient"), (0, "Bad"))

_FT = "http://publications.europa.eu/resource/authority/file-type/"
_AR = "http://publications.europa.eu/resource/authority/access-right/"
#: EDP's non-proprietary formats (``edp-non-proprietary-format.rdf``), as EU file-type codes.
NON_PROPRIETARY = frozenset({
    "BMP", "CSV", "DBF", "GEOJSON", "GZIP", "HTML", "ICS", "JPEG2000", "JSON", "JSON_LD", "KML", "KMZ", "NETCDF",
    "ODS", "PNG", "RDF_N_QUADS", "RDF_N_TRIPLES", "RDF_TRIG", "RDF_TURTLE", "RDF_XML", "RSS", "RTF", "TAR", "TIFF",
    "TSV", "TXT", "WMS_SRVC", "XML", "ZIP"})
#: EDP's machine-readable formats (``edp-machine-readable-format.rdf``), as EU file-type codes.
MACHINE_READABLE = frozenset({
    "CSV", "GEOJSON", "ICS", "JSON", "JSON_LD", "KML", "KMZ", "NETCDF", "ODS", "RDFA", "RDF_N_QUADS",
    "RDF_N_TRIPLES", "RDF_TRIG", "RDF_TURTLE", "RDF_XML", "RSS", "SHP", "XLS", "XLSX", "XML"})
#: The EU access-right table's concepts (as mjanez/ckan-mqa bundles it).
ACCESS_RIGHTS = frozenset(_AR + code for code in ("PUBLIC", "RESTRICTED", "NON_PUBLIC", "CONFIDENTIAL",
                                                   "SENSITIVE", "NORMAL", "OP_DATPRO"))
EXAMPLE_LICENCE = "http://publications.europa.eu/resource/authority/licence/CC_BY_4_0"


@dataclass(frozen=True)
class Indicator:
    """One MQA indicator of one dataset: points earned of its weight, what was found, and what would earn it."""

    dimension: str
    key: str  # stable kebab-case code, e.g. "keyword-availability"
    label: str
    points: float
    max_points: int
    met: str
    advice: str  # "" when the indicator earns all its points

    @property
    def gain(self) -> float:
        """The points meeting this indicator would add."""
        return self.max_points - self.points

    def to_dict(self) -> dict[str, Any]:
        """The indicator as JSON."""
        return {"dimension": self.dimension, "key": self.key, "label": self.label, "points": self.points,
                "max_points": self.max_points, "met": self.met, "advice": self.advice}


@dataclass(frozen=True)
class DatasetMqa:
    """A dataset's MQA: every indicator, the total of 405 and its rating, points by dimension, what to fix first."""

    publisher: str
    slug: str
    indicators: list[Indicator]
    total: float
    rating: str
    dimensions: dict[str, tuple[float, int]]
    fix_first: list[Indicator] = field(default_factory=list)
    assessed_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """The assessment as JSON (the API's and the cache's shape)."""
        return {"publisher": self.publisher, "slug": self.slug, "total": self.total, "max": sum(DIMENSIONS.values()),
                "rating": self.rating,
                "dimensions": {name: {"points": p, "max": m} for name, (p, m) in self.dimensions.items()},
                "indicators": [i.to_dict() for i in self.indicators],
                "fix_first": [i.key for i in self.fix_first],
                "assessed_at": self.assessed_at.isoformat() if self.assessed_at else None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DatasetMqa:
        """An assessment read back from `to_dict`'s JSON."""
        indicators = [Indicator(**i) for i in data["indicators"]]
        by_key = {i.key: i for i in indicators}
        when = data.get("assessed_at")
        return cls(data["publisher"], data["slug"], indicators, data["total"], data["rating"],
                   {name: (d["points"], d["max"]) for name, d in data["dimensions"].items()},
                   [by_key[k] for k in data.get("fix_first", [])], datetime.fromisoformat(when) if when else None)


def rating(total: float) -> str:
    """The MQA rating of a total: Excellent from 351, Good from 221, Sufficient from 121, else Bad.

    A fractional total (a publisher's mean) between two bands goes to the upper one: 120.5 is Sufficient.
    """
    for lowest, name in RATINGS:
        if total > lowest - 1:
            return name
    return "Bad"


def reachable(last_seen: datetime | None, checked_at: datetime | None) -> bool:
    """Whether a file answered at the dataset's last harvest: its latest version fetched or re-checked since."""
    return checked_at is not None and (last_seen is None or checked_at >= last_seen)


# ---- facts read off the record ---------------------------------------------------------------------

@dataclass(frozen=True)
class _Dist:
    """What the record and the fetch history say about one distribution."""

    name: str
    reachable: bool
    facts: dict[str, bool]
    licence: str | None


def _values(graph: Graph, node: Node, predicate: URIRef) -> list[Node]:
    return sorted(graph.objects(node, predicate), key=str)


def _format_code(graph: Graph, dist: Node) -> tuple[str | None, str | None, bool]:
    """The EU file-type codes of the declared format and media type, and whether both are from the vocabularies."""
    fmt = next(iter(_values(graph, dist, DCTERMS.format)), None)
    media = next(iter(_values(graph, dist, DCAT.mediaType)), None)
    fmt_concept = table("file-type").by_uri(str(fmt)) if isinstance(fmt, URIRef) else None
    media_concept = file_type_of_media_type(str(media)) if media is not None and bare_media_type(str(media)) else None
    return (fmt_concept.code if fmt_concept else None, media_concept.code if media_concept else None,
            fmt_concept is not None and media_concept is not None)


def _distribution(graph: Graph, dist: Node, name: str, answered: bool) -> _Dist:
    fmt_code, media_code, aligned = _format_code(graph, dist)
    codes = {c for c in (fmt_code, media_code) if c}
    licences = _values(graph, dist, DCTERMS.license)
    has_download = bool(_values(graph, dist, DCAT.downloadURL))
    known = any(isinstance(v, URIRef) and licence(str(v)) is not None for v in licences)
    facts = {
        "access-url-status": answered and bool(_values(graph, dist, DCAT.accessURL)),
        "download-url-availability": has_download,
        "download-url-status": has_download and answered,
        "format-availability": bool(_values(graph, dist, DCTERMS.format)),
        "media-type-availability": bool(_values(graph, dist, DCAT.mediaType)),
        "format-media-type-vocabulary": aligned,
        "format-non-proprietary": bool(codes & NON_PROPRIETARY),
        "format-machine-readable": bool(codes & MACHINE_READABLE),
        "licence-availability": bool(licences),
        "known-licence": known,
        "rights-availability": bool(_values(graph, dist, DCTERMS.rights)),
        "byte-size-availability": bool(_values(graph, dist, DCAT.byteSize)),
        "date-issued-availability": bool(_values(graph, dist, DCTERMS.issued)),
        "date-modified-availability": bool(_values(graph, dist, DCTERMS.modified)),
    }
    return _Dist(name, answered, facts, str(licences[0]) if licences else None)


# ---- the indicators --------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Spec:
    dimension: str
    key: str
    label: str
    weight: int
    level: str  # "dataset" or "distribution" (the best distribution's)
    advice: str


_SPECS: tuple[_Spec, ...] = (
    _Spec("findability", "keyword-availability", "Keywords", 30, "dataset",
          "add keywords (dcat:keyword) people would search for: the topic, the service, the place"),
    _Spec("findability", "category-availability", "Categories", 30, "dataset",
          "add a theme from the EU data-theme list (dcat:theme), e.g. "
          "http://publications.europa.eu/resource/authority/data-theme/ENVI for environment data"),
    _Spec("findability", "spatial-availability", "Geographical coverage", 20, "dataset",
          "say which place the data covers (dct:spatial): a place IRI (GeoNames, the EU place list) or the "
          "municipality's name or boundary"),
    _Spec("findability", "temporal-availability", "Temporal coverage", 20, "dataset",
          "say which period the data covers (dct:temporal, a start and an end date)"),
    _Spec("accessibility", "access-url-status", "Access URL answers", 50, "distribution",
          "make the file's address answer: at the last harvest it could not be fetched"),
    _Spec("accessibility", "download-url-availability", "Download URL", 20, "distribution",
          "give a direct download URL for the file (dcat:downloadURL), not only a page that links to it"),
    _Spec("accessibility", "download-url-status", "Download URL answers", 30, "distribution",
          "give a download URL that answers: at the last harvest none could be fetched"),
    _Spec("interoperability", "format-availability", "Format", 20, "distribution",
          "declare the file's format (dct:format) from the EU file-type list, e.g. CSV"),
    _Spec("interoperability", "media-type-availability", "Media type", 10, "distribution",
          "declare the file's media type (dcat:mediaType), e.g. text/csv"),
    _Spec("interoperability", "format-media-type-vocabulary", "Format and media type from the vocabularies", 10,
          "distribution", "use a format from the EU file-type list and a registered IANA media type, e.g. CSV "
          "and text/csv"),
    _Spec("interoperability", "format-non-proprietary", "Non-proprietary format", 20, "distribution",
          "also publish the data in a non-proprietary format, e.g. CSV, JSON or GeoJSON"),
    _Spec("interoperability", "format-machine-readable", "Machine-readable format", 20, "distribution",
          "also publish the data in a machine-readable format, e.g. CSV, JSON or XML"),
    _Spec("interoperability", "dcat-ap-compliance", "DCAT-AP compliance", 30, "dataset",
          "make the record conform to DCAT-AP 2.1.1"),
    _Spec("reusability", "licence-availability", "Licence", 20, "distribution",
          "add a licence from the EU licence list, e.g. CC BY 4.0 (" + EXAMPLE_LICENCE + ")"),
    _Spec("reusability", "known-licence", "Licence from the vocabulary", 10, "distribution",
          "use a licence from the EU licence list, e.g. CC BY 4.0 (" + EXAMPLE_LICENCE + ")"),
    _Spec("reusability", "access-rights-availability", "Access restrictions", 10, "dataset",
          "say who may access the data (dct:accessRights), e.g. " + _AR + "PUBLIC"),
    _Spec("reusability", "access-rights-vocabulary", "Access restrictions from the vocabulary", 5, "dataset",
          "use the EU access-right list for the access rights, e.g. " + _AR + "PUBLIC"),
    _Spec("reusability", "contact-point-availability", "Contact point", 20, "dataset",
          "add a contact point with an e-mail address (dcat:contactPoint)"),
    _Spec("reusability", "publisher-availability", "Publisher", 10, "dataset", "name the publisher (dct:publisher)"),
    _Spec("contextuality", "rights-availability", "Rights", 5, "distribution",
          "add a rights statement (dct:rights), e.g. the attribution the licence asks for"),
    _Spec("contextuality", "byte-size-availability", "File size", 5, "distribution",
          "give the file's size in bytes (dcat:byteSize); Lodestar adds it once it has fetched the file"),
    _Spec("contextuality", "date-issued-availability", "Date of issue", 5, "dataset",
          "say when the dataset was first published (dct:issued)"),
    _Spec("contextuality", "date-modified-availability", "Modification date", 5, "dataset",
          "publish a file Lodestar can fetch: the date its content last changed becomes dct:modified"),
)
#: Indicator keys, in the methodology's order.
INDICATOR_KEYS = tuple(spec.key for spec in _SPECS)
#: Each indicator's general advice (a dataset's own advice may add which of its files need it).
ADVICE: Mapping[str, str] = {spec.key: spec.advice for spec in _SPECS}
_DISTRIBUTION_KEYS = tuple(s.key for s in _SPECS if s.level == "distribution") + (
    "date-issued-availability", "date-modified-availability")
_WEIGHTS = {s.key: s.weight for s in _SPECS}


def _best(dists: Sequence[_Dist]) -> _Dist | None:
    """The distribution with the most distribution-level points (piveau's rule); the first of equals."""
    best: _Dist | None = None
    for dist in dists:
        score = sum(_WEIGHTS[k] for k in _DISTRIBUTION_KEYS if dist.facts[k])
        if best is None or score > sum(_WEIGHTS[k] for k in _DISTRIBUTION_KEYS if best.facts[k]):
            best = dist
    return best


def _named(dists: Iterable[_Dist], limit: int = 3) -> str:
    names = [f"“{d.name}”" for d in dists]
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _dataset_facts(graph: Graph, subject: URIRef, compliance: Compliance) -> dict[str, tuple[bool, str, str]]:
    """Each dataset-level indicator: (met, what was found, advice to add to the standard one)."""
    def count(predicate: URIRef, what: str) -> tuple[bool, str, str]:
        n = len(_values(graph, subject, predicate))
        return n > 0, f"{n} {what}" if n else f"no {what}", ""

    rights = _values(graph, subject, DCTERMS.accessRights)
    in_vocab = [r for r in rights if str(r) in ACCESS_RIGHTS]
    shown = ", ".join(str(r).removeprefix(_AR) for r in rights) or "none"
    first = "; ".join(f"{v.shape or 'record'} {v.path}: {v.message}" for v in compliance.violations[:3])
    return {
        "keyword-availability": count(DCAT.keyword, "keyword(s)"),
        "category-availability": count(DCAT.theme, "theme(s)"),
        "spatial-availability": count(DCTERMS.spatial, "place(s)"),
        "temporal-availability": count(DCTERMS.temporal, "period(s)"),
        "dcat-ap-compliance": (compliance.conforms, f"conforms to {compliance.shapes}" if compliance.conforms else
                               f"{compliance.violation_count} violation(s) of {compliance.shapes}",
                               f": {first}" if first else ""),
        "access-rights-availability": (bool(rights), f"access rights: {shown}", ""),
        "access-rights-vocabulary": (bool(in_vocab), f"access rights: {shown}" + (
            "" if in_vocab or not rights else " (not from the EU access-right list)"), ""),
        "contact-point-availability": count(DCAT.contactPoint, "contact point(s)"),
        "publisher-availability": count(DCTERMS.publisher, "publisher(s)"),
        "date-issued-availability": count(DCTERMS.issued, "date(s) of issue"),
        "date-modified-availability": count(DCTERMS.modified, "modification date(s)"),
    }


def _distribution_indicator(spec: _Spec, dists: Sequence[_Dist], best: _Dist | None,
                            dataset_fact: tuple[bool, str, str] | None) -> Indicator:
    if dataset_fact is not None and dataset_fact[0]:  # issued/modified: the dataset's own date counts too
        return Indicator(spec.dimension, spec.key, spec.label, spec.weight, spec.weight, dataset_fact[1], "")
    meeting = [d for d in dists if d.facts[spec.key]]
    if best is None:
        return Indicator(spec.dimension, spec.key, spec.label, 0, spec.weight, "no distribution",
                         spec.advice + " (the dataset has no distribution)")
    if best.facts[spec.key]:
        text = f"the best distribution {_named([best])} meets it; {len(meeting)} of {len(dists)} do"
        return Indicator(spec.dimension, spec.key, spec.label, spec.weight, spec.weight, text, "")
    text = (f"{len(meeting)} of {len(dists)} distributions meet it, not the best one ({_named([best])})"
            if meeting else f"no distribution meets it (0 of {len(dists)})")
    advice = spec.advice + f": {_named(d for d in dists if not d.facts[spec.key])}"
    if spec.key == "known-licence" and best.licence:
        advice = f"“{best.licence}” is not in the EU licence list; " + advice
    return Indicator(spec.dimension, spec.key, spec.label, 0, spec.weight, text, advice)


def assess_dataset(uris: UriScheme, dataset: Dataset, resources: Sequence[Resource], *,
                   compliance: Compliance | None = None, record: Graph | None = None,
                   assessed_at: datetime | None = None) -> DatasetMqa:
    """Score one dataset from its rows (resources with their latest versions loaded) and its DCAT record.

    `record` defaults to `dataset_record(uris, dataset)`; `compliance` (the SHACL result for that
    record) is computed by `portal.mqa_shacl.check_compliance` when not given.
    """
    graph = record if record is not None else dataset_record(uris, dataset)
    compliance = compliance if compliance is not None else mqa_shacl.check_compliance(graph)
    subject = URIRef(uris.dataset(dataset.publisher, dataset.slug))
    dists = []
    for resource in resources:
        node = URIRef(uris.distribution(dataset.publisher, dataset.slug, resource.slug))
        latest = resource.latest_version
        answered = reachable(dataset.last_seen, latest.checked_at if latest is not None else None)
        dists.append(_distribution(graph, node, resource.title or resource.slug, answered))
    best = _best(dists)
    dataset_facts = _dataset_facts(graph, subject, compliance)
    indicators = []
    for spec in _SPECS:
        if spec.level == "distribution" or spec.key in ("date-issued-availability", "date-modified-availability"):
            indicators.append(_distribution_indicator(spec, dists, best, dataset_facts.get(spec.key)))
            continue
        met, text, extra = dataset_facts[spec.key]
        indicators.append(Indicator(spec.dimension, spec.key, spec.label, spec.weight if met else 0, spec.weight,
                                    text, "" if met else spec.advice + extra))
    return summarise(dataset.publisher, dataset.slug, indicators, assessed_at)


def summarise(publisher: str, slug: str, indicators: list[Indicator],
              assessed_at: datetime | None = None) -> DatasetMqa:
    """A `DatasetMqa` from its indicators: totals by dimension, the rating, and the unmet ones by points to gain."""
    dimensions = {name: (sum(i.points for i in indicators if i.dimension == name), top)
                  for name, top in DIMENSIONS.items()}
    total = sum(points for points, _ in dimensions.values())
    order = {key: n for n, key in enumerate(INDICATOR_KEYS)}
    fix_first = sorted((i for i in indicators if i.gain > 0), key=lambda i: (-i.gain, order.get(i.key, 99)))
    return DatasetMqa(publisher, slug, indicators, total, rating(total), dimensions, fix_first, assessed_at)


__all__ = ["ACCESS_RIGHTS", "ADVICE", "DIMENSIONS", "DatasetMqa", "INDICATOR_KEYS", "Indicator", "MACHINE_READABLE",
           "NON_PROPRIETARY", "RATINGS", "assess_dataset", "rating", "reachable", "summarise"]
