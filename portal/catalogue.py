"""The DCAT-AP records the portal publishes: one per dataset, and the catalogue itself.

A record is written to pass the DCAT-AP 2.1.1 SHACL shapes data.europa.eu validates harvested
records against (`portal.mqa_shacl`): `dcat:byteSize` is an `xsd:decimal` (DCAT-AP 2.x; 3.0 made it
`xsd:nonNegativeInteger`), and the SHA-256 of the fetched file is given as the portal term
`contentSha256`, because DCAT-AP 2.1.1 allows an `spdx:Checksum` only with SHA-1.

Coverage and rights come from the harvested metadata: `dct:spatial` (an IRI, or a `dct:Location`
with its WKT or GeoJSON geometry or its name), `dct:temporal` (a `dct:PeriodOfTime` with
`dcat:startDate`/`dcat:endDate`), `dct:accessRights` and `dct:rights` (an IRI, or a
`dct:RightsStatement` with the source's text as `rdfs:label`). A distribution's `dcat:accessURL`
is the access URL the source gave, else the file's URL; `dcat:downloadURL` is given only when the
source gave the URL as a download; a distribution without a licence or rights statement of its own
carries the dataset's.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from rdflib import Graph, Literal, Namespace, URIRef

from portal.db import Dataset, Resource
from portal.stars import add_measurements, dataset_stars
from schemas.loader import bundled_schemas
from vocab.namespaces import DCAT, DCTERMS, DQV, FOAF, PROV, RDF, RDFS, SKOS, VCARD, XSD
from vocab.uris import UriScheme, encode_segment

LOCN = Namespace("http://www.w3.org/ns/locn#")
WKT_LITERAL = URIRef("http://www.opengis.net/ont/geosparql#wktLiteral")
GEOJSON_LITERAL = URIRef("https://www.iana.org/assignments/media-types/application/vnd.geo+json")
IANA_MEDIA_TYPES = "https://www.iana.org/assignments/media-types/"
#: The geometry types of WKT (OGC 06-103r4) and the words that may follow one, to tell WKT from a place name.
_WKT_TYPES = frozenset({"POINT", "LINESTRING", "POLYGON", "MULTIPOINT", "MULTILINESTRING", "MULTIPOLYGON",
                        "GEOMETRYCOLLECTION", "TRIANGLE", "TIN", "POLYHEDRALSURFACE"})
_WKT_MODIFIERS = frozenset({"Z", "M", "ZM", "EMPTY"})


def _date(value: datetime) -> Literal:
    return Literal(value.isoformat(), datatype=XSD.dateTime)


def _when(value: str) -> Literal:
    """An ISO 8601 date or time as the XSD type its form has (year, year-month, date, date-time)."""
    datatype = (XSD.dateTime if "T" in value else XSD.gYear if len(value) == 4
                else XSD.gYearMonth if len(value) == 7 else XSD.date)
    return Literal(value, datatype=datatype)


def dataset_record(uris: UriScheme, dataset: Dataset) -> Graph:
    """The DCAT-AP description of one dataset, its distributions and their validation."""
    graph = Graph()
    meta = dataset.metadata_json or {}
    subject = URIRef(uris.dataset(dataset.publisher, dataset.slug))
    publisher = URIRef(uris.publisher(dataset.publisher))
    graph.add((subject, RDF.type, DCAT.Dataset))
    graph.add((subject, DCTERMS.identifier, Literal(dataset.identifier)))
    graph.add((subject, DCTERMS.title, Literal(dataset.title)))
    if dataset.description:
        graph.add((subject, DCTERMS.description, Literal(dataset.description)))
    graph.add((subject, DCTERMS.publisher, publisher))
    graph.add((publisher, RDF.type, FOAF.Agent))
    graph.add((publisher, FOAF.name, Literal(dataset.publisher_name or dataset.publisher)))
    if meta.get("uri"):
        graph.add((subject, DCTERMS.source, URIRef(meta["uri"])))
    if meta.get("licence"):
        graph.add((subject, DCTERMS.license, _term(meta["licence"])))
    if meta.get("landing_page"):
        graph.add((subject, DCAT.landingPage, URIRef(meta["landing_page"])))
    if dataset.frequency:
        value = dataset.frequency
        graph.add((subject, DCTERMS.accrualPeriodicity,
                   URIRef(value) if value.startswith("http") else Literal(value)))
    for theme in meta.get("themes", []):
        graph.add((subject, DCAT.theme, URIRef(theme) if theme.startswith("http") else Literal(theme)))
    for keyword in meta.get("keywords", []):
        graph.add((subject, DCAT.keyword, Literal(keyword)))
    for language in meta.get("languages", []):
        graph.add((subject, DCTERMS.language, _term(language)))
    if meta.get("issued"):
        graph.add((subject, DCTERMS.issued, Literal(meta["issued"], datatype=XSD.dateTime)))
    if dataset.last_content_change is not None:
        graph.add((subject, DCTERMS.modified, _date(dataset.last_content_change)))
    if meta.get("contact_email"):
        contact = URIRef(f"{subject}#contact")
        graph.add((subject, DCAT.contactPoint, contact))
        graph.add((contact, RDF.type, VCARD.Kind))
        graph.add((contact, VCARD.hasEmail, URIRef("mailto:" + meta["contact_email"])))
    _coverage(graph, subject, meta)
    if meta.get("access_rights"):
        graph.add((subject, DCTERMS.accessRights, _statement(graph, URIRef(f"{subject}#access-rights"),
                                                             str(meta["access_rights"]))))
    rights = (_statement(graph, URIRef(f"{subject}#rights"), str(meta["rights"]))
              if meta.get("rights") else None)
    if rights is not None:
        graph.add((subject, DCTERMS.rights, rights))
    described = {r["url"]: r for r in meta.get("resources", []) if isinstance(r, dict)}
    for resource in dataset.resources:
        dist = URIRef(uris.distribution(dataset.publisher, dataset.slug, resource.slug))
        said = described.get(resource.url, {})
        _distribution(graph, uris, dataset, resource, subject, said)
        _described(graph, dist, said)
        if not said.get("licence") and meta.get("licence"):  # the dataset's licence covers its files
            graph.add((dist, DCTERMS.license, _term(meta["licence"])))
        if said.get("rights"):
            graph.add((dist, DCTERMS.rights, _statement(graph, URIRef(f"{dist}#rights"), str(said["rights"]))))
        elif rights is not None:
            graph.add((dist, DCTERMS.rights, rights))
    add_measurements(graph, uris, subject, dataset_stars(uris, dataset))
    return graph


def _statement(graph: Graph, node: URIRef, value: str) -> URIRef:
    """A rights statement or access right: its IRI, or `node` as a `dct:RightsStatement` labelled with the text."""
    if value.startswith(("http://", "https://")):
        return URIRef(value)
    graph.add((node, RDF.type, DCTERMS.RightsStatement))
    graph.add((node, RDFS.label, Literal(value)))
    return node


def _coverage(graph: Graph, subject: URIRef, meta: Mapping[str, Any]) -> None:
    """The places (`dct:spatial`) and the period (`dct:temporal`) the data covers."""
    for n, place in enumerate(p for p in meta.get("spatial") or [] if isinstance(p, str) and p.strip()):
        if place.startswith(("http://", "https://")):
            graph.add((subject, DCTERMS.spatial, URIRef(place)))
            continue
        location = URIRef(f"{subject}#spatial-{n + 1}")
        graph.add((subject, DCTERMS.spatial, location))
        graph.add((location, RDF.type, DCTERMS.Location))
        graph.add((location, *_place(place)))
    period = meta.get("temporal")
    if isinstance(period, dict) and (period.get("start") or period.get("end")):
        node = URIRef(f"{subject}#temporal")
        graph.add((subject, DCTERMS.temporal, node))
        graph.add((node, RDF.type, DCTERMS.PeriodOfTime))
        for key, predicate in (("start", DCAT.startDate), ("end", DCAT.endDate)):
            if period.get(key):
                graph.add((node, predicate, _when(str(period[key]))))


def _is_wkt(value: str) -> bool:
    """Whether a text starts like a WKT geometry (``POLYGON ((…``, ``POINT Z (…``, a GeoSPARQL CRS IRI first)."""
    text = value.split(">", 1)[1] if value.startswith("<") and ">" in value else value
    head, bracket, _ = text.partition("(")
    words = head.upper().split()
    return bool(words) and words[0] in _WKT_TYPES and set(words[1:]) <= _WKT_MODIFIERS and (
        bool(bracket) or words[-1] == "EMPTY")


def _place(text: str) -> tuple[URIRef, Literal]:
    """How a place given as text is said: its WKT or GeoJSON geometry (`locn:geometry`), else its name."""
    value = text.strip()
    if _is_wkt(value):
        return LOCN.geometry, Literal(value, datatype=WKT_LITERAL)
    if value.startswith("{"):
        try:
            geometry = json.loads(value)
        except ValueError:
            geometry = None
        if isinstance(geometry, dict) and "type" in geometry:
            return LOCN.geometry, Literal(value, datatype=GEOJSON_LITERAL)
    return SKOS.prefLabel, Literal(value)


def _term(value: str) -> URIRef | Literal:
    """An IRI when the value is one (a normalised authority-table entry), else the source's text."""
    return URIRef(value) if value.startswith(("http://", "https://")) else Literal(value)


def _described(graph: Graph, dist: URIRef, described: dict[str, object]) -> None:
    """What the source said about a distribution, as normalised: format, licence, description."""
    if described.get("format"):
        graph.add((dist, DCTERMS.format, _term(str(described["format"]))))
    if described.get("licence"):
        graph.add((dist, DCTERMS.license, _term(str(described["licence"]))))
    if described.get("description"):
        graph.add((dist, DCTERMS.description, Literal(str(described["description"]))))


def _distribution(graph: Graph, uris: UriScheme, dataset: Dataset, resource: Resource,
                  dataset_uri: URIRef, said: Mapping[str, Any]) -> None:
    dist = URIRef(uris.distribution(dataset.publisher, dataset.slug, resource.slug))
    graph.add((dataset_uri, DCAT.distribution, dist))
    graph.add((dist, RDF.type, DCAT.Distribution))
    graph.add((dist, DCAT.accessURL, URIRef(str(said.get("access_url") or resource.url))))
    if said.get("is_download", True):
        graph.add((dist, DCAT.downloadURL, URIRef(resource.url)))
    if resource.title:
        graph.add((dist, DCTERMS.title, Literal(resource.title)))
    media_type = resource.media_type or str(said.get("media_type") or "")
    if media_type:
        graph.add((dist, DCAT.mediaType, URIRef(IANA_MEDIA_TYPES + media_type)))
    latest = resource.latest_version
    size = latest.size if latest is not None else said.get("byte_size")
    if isinstance(size, int) and not isinstance(size, bool) and size >= 0:
        graph.add((dist, DCAT.byteSize, Literal(str(size), datatype=XSD.decimal)))
    if latest is None:
        return
    graph.add((dist, URIRef(uris.portal_term("contentSha256")), Literal(latest.content_hash, datatype=XSD.hexBinary)))
    if latest.valid is not None:
        measurement = URIRef(f"{dist}#validation")
        graph.add((dist, DQV.hasQualityMeasurement, measurement))
        graph.add((measurement, RDF.type, DQV.QualityMeasurement))
        graph.add((measurement, DQV.isMeasurementOf, URIRef(uris.portal_term("tableValid"))))
        graph.add((measurement, DQV.value, Literal(bool(latest.valid))))
        graph.add((measurement, PROV.generatedAtTime, _date(latest.fetched_at)))
    published = resource.published_version
    if published is not None and published.report_json:
        _conversion(graph, uris, dist, published.report_json.get("stats", {}))


def _conversion(graph: Graph, uris: UriScheme, dist: URIRef, stats: dict[str, Any]) -> None:
    """How the published version became linked data: the schema it conforms to, the mapping used,
    and how many cells of each linked column link to shared reference data."""
    source = str(stats.get("schema_source") or "")
    name = source.split(":", 1)[1] if source.startswith(("given:", "matched:")) else None
    if name in bundled_schemas():
        graph.add((dist, DCTERMS.conformsTo, URIRef(uris.schema(name))))
    if stats.get("mapping"):
        graph.add((dist, URIRef(uris.portal_term("rdfMapping")), URIRef(uris.schema(stats["mapping"]) + "/mapping")))
    for column, counts in sorted((stats.get("links") or {}).items()):
        node = URIRef(f"{dist}#links-{encode_segment(column)}")
        graph.add((dist, DQV.hasQualityMeasurement, node))
        graph.add((node, RDF.type, DQV.QualityMeasurement))
        graph.add((node, DQV.isMeasurementOf, URIRef(uris.portal_term("linkedValues"))))
        graph.add((node, DQV.value, Literal(int(counts.get("linked", 0)), datatype=XSD.integer)))
        graph.add((node, RDFS.comment, Literal(_links_text(column, counts), lang="en")))


def _links_text(column: str, counts: dict[str, Any]) -> str:
    """'3,210 of 3,400 `district` values link to the district register' from stored link counts."""
    return (f"{int(counts.get('linked', 0)):,} of {int(counts.get('total', 0)):,} `{column}` values link to "
            f"{counts.get('register', 'shared reference data')}")


def catalogue_record(uris: UriScheme, datasets: Iterable[Dataset], title: str) -> Graph:
    """The dcat:Catalog that lists the given datasets (the caller leaves out withdrawn ones)."""
    graph = Graph()
    catalog = URIRef(uris.catalog())
    graph.add((catalog, RDF.type, DCAT.Catalog))
    graph.add((catalog, DCTERMS.title, Literal(title)))
    for dataset in datasets:
        graph.add((catalog, DCAT.dataset, URIRef(uris.dataset(dataset.publisher, dataset.slug))))
    return graph
