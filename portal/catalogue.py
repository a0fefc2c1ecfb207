"""The DCAT-AP records the portal publishes: one per dataset, and the catalogue itself."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from rdflib import Graph, Literal, URIRef

from portal.db import Dataset, Resource
from portal.stars import add_measurements, dataset_stars
from schemas.loader import bundled_schemas
from vocab.namespaces import DCAT, DCTERMS, DQV, FOAF, PROV, RDF, RDFS, SPDX, VCARD, XSD
from vocab.uris import UriScheme, encode_segment


def _date(value: datetime) -> Literal:
    return Literal(value.isoformat(), datatype=XSD.dateTime)


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
    described = {r["url"]: r for r in meta.get("resources", []) if isinstance(r, dict)}
    for resource in dataset.resources:
        _distribution(graph, uris, dataset, resource, subject)
        _described(graph, URIRef(uris.distribution(dataset.publisher, dataset.slug, resource.slug)),
                   described.get(resource.url, {}))
    add_measurements(graph, uris, subject, dataset_stars(uris, dataset))
    return graph


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
                  dataset_uri: URIRef) -> None:
    dist = URIRef(uris.distribution(dataset.publisher, dataset.slug, resource.slug))
    graph.add((dataset_uri, DCAT.distribution, dist))
    graph.add((dist, RDF.type, DCAT.Distribution))
    graph.add((dist, DCAT.accessURL, URIRef(resource.url)))
    graph.add((dist, DCAT.downloadURL, URIRef(resource.url)))
    if resource.title:
        graph.add((dist, DCTERMS.title, Literal(resource.title)))
    if resource.media_type:
        graph.add((dist, DCAT.mediaType,
                   URIRef("https://www.iana.org/assignments/media-types/" + resource.media_type)))
    latest = resource.latest_version
    if latest is None:
        return
    graph.add((dist, DCAT.byteSize, Literal(latest.size, datatype=XSD.nonNegativeInteger)))
    checksum = URIRef(f"{dist}#checksum")
    graph.add((dist, SPDX.checksum, checksum))
    graph.add((checksum, RDF.type, SPDX.Checksum))
    graph.add((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
    graph.add((checksum, SPDX.checksumValue, Literal(latest.content_hash, datatype=XSD.hexBinary)))
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
