"""DCAT datasets in an RDF graph → `HarvestedDataset` records, raw values as the catalogue gives them.

Profiles: plain DCAT / DCAT-AP, DCAT-AP.de (``dcatde:`` properties end up in ``extras``), the
datos.gob.es style (publisher as a ``skos:Concept`` with ``skos:notation``, ``dct:format`` as a
``dct:IMT`` node with ``rdfs:label`` and ``rdf:value``, URLs as string literals) and DCAT-US/POD
terms in RDF (Antwerp). Whatever a dataset or distribution says that has no field here is kept in
``extras`` as ``{short predicate name: [values]}``; blank-node values become nested dicts.

Coverage and rights are read into their fields and also stay in ``extras`` as given (their nodes
can say more than the fields keep): ``dct:spatial`` (an IRI, a text, or a ``dct:Location`` whose
WKT geometry — else other geometry, bounding box, centroid, name or administrative-unit IRI — is
kept), ``dct:temporal`` (a ``dct:PeriodOfTime`` with ``dcat:startDate``/``dcat:endDate`` or
``schema:startDate``/``schema:endDate``; the first period that has one), ``dct:accessRights``
(else a DCAT-US ``pod:accessLevel``, mapped to the EU access-right table) and ``dct:rights``
(an IRI, or the text or label given).

A dataset without ``dct:identifier`` and without an IRI (a blank node) gets an identifier made
from its content: a slug of its title and the first 12 hex digits of the SHA-256 of its title,
landing page and publisher (`content_identifier`). A blank-node distribution without an
identifier is identified by the SHA-256 of its URL.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterator
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDFS
from rdflib.term import Node

from harvesters.base import HarvestedDataset, HarvestedResource, access_right_of_level, period_of
from vocab.namespaces import DCAT, DCTERMS, FOAF, RDF, SKOS, VCARD, XSD

TIME = "http://www.w3.org/2006/time#"
LOCN = "http://www.w3.org/ns/locn#"
WKT_LITERAL = URIRef("http://www.opengis.net/ont/geosparql#wktLiteral")
POD_ACCESS_LEVEL = URIRef("https://project-open-data.cio.gov/v1.1/schema#accessLevel")
#: Where a period's start and end are given: DCAT 2 first, then schema.org (both spellings of its namespace).
_PERIOD_BOUNDS = tuple((URIRef(ns + "startDate"), URIRef(ns + "endDate"))
                       for ns in (str(DCAT), "http://schema.org/", "https://schema.org/"))
_EXTRA_DEPTH = 3

#: Namespaces whose terms appear in ``extras`` under a short name (``dcatde:contributorID``).
PREFIXES: dict[str, str] = {
    "http://purl.org/dc/terms/": "dct", "http://www.w3.org/ns/dcat#": "dcat", "http://xmlns.com/foaf/0.1/": "foaf",
    "http://www.w3.org/2006/vcard/ns#": "vcard", "http://www.w3.org/ns/adms#": "adms",
    "http://dcat-ap.de/def/dcatde/": "dcatde", "http://data.europa.eu/r5r/": "dcatap",
    "http://spdx.org/rdf/terms#": "spdx", "http://www.w3.org/ns/locn#": "locn", "http://schema.org/": "schema",
    "https://project-open-data.cio.gov/v1.1/schema#": "pod", "http://www.w3.org/2004/02/skos/core#": "skos",
    "http://www.w3.org/2002/07/owl#": "owl", "http://www.w3.org/2000/01/rdf-schema#": "rdfs",
    "http://www.w3.org/ns/prov#": "prov", "http://www.w3.org/1999/02/22-rdf-syntax-ns#": "rdf",
    "http://www.w3.org/2006/time#": "time", "http://www.opengis.net/ont/geosparql#": "gsp",
    "http://www.w3.org/ns/odrl/2/": "odrl", "http://purl.org/dc/elements/1.1/": "dc",
}
_DATASET_MAPPED = frozenset({
    RDF.type, DCTERMS.identifier, DCTERMS.title, DCTERMS.description, DCTERMS.publisher, DCAT.landingPage,
    DCTERMS.license, DCTERMS.accrualPeriodicity, DCAT.theme, DCAT.keyword, DCTERMS.issued, DCTERMS.modified,
    DCTERMS.language, DCAT.distribution,
})
_DISTRIBUTION_MAPPED = frozenset({
    RDF.type, DCAT.downloadURL, DCTERMS.title, DCTERMS.description, DCAT.mediaType, DCTERMS.format,
    DCTERMS.identifier, DCTERMS.license, DCAT.byteSize, DCTERMS.modified,
})


def short_name(predicate: URIRef) -> str:
    """``prefix:local`` for a well-known namespace, else the full IRI."""
    text = str(predicate)
    for namespace, prefix in PREFIXES.items():
        if text.startswith(namespace) and len(text) > len(namespace):
            return f"{prefix}:{text[len(namespace):]}"
    return text


def _value(graph: Graph, node: Node, depth: int, seen: frozenset[Node]) -> Any:
    """A JSON-ready value: literals and IRIs as strings, blank nodes as nested dicts."""
    if isinstance(node, BNode):
        if depth >= _EXTRA_DEPTH or node in seen:
            return {}
        return _properties(graph, node, frozenset(), depth + 1, seen | {node})
    return str(node)


def _properties(graph: Graph, subject: Node, skip: frozenset[Node], depth: int = 0,
                seen: frozenset[Node] = frozenset()) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for predicate, obj in graph.predicate_objects(subject):
        if predicate in skip or not isinstance(predicate, URIRef):
            continue
        if predicate == RDF.type and depth == 0:
            continue
        found.setdefault(short_name(predicate), []).append(_value(graph, obj, depth, seen))
    return {name: sorted(values, key=lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False))
            for name, values in sorted(found.items())}


def _text(graph: Graph, subject: Node, predicate: URIRef, prefer: str = "en") -> str:
    values = [o for o in graph.objects(subject, predicate) if isinstance(o, Literal)]
    if not values:
        return ""
    for lang in (prefer, None):
        for value in values:
            if value.language == lang:
                return str(value).strip()
    return str(sorted(values, key=lambda v: v.language or "")[0]).strip()


def _iri(graph: Graph, subject: Node, predicate: URIRef) -> str | None:
    for value in sorted(graph.objects(subject, predicate), key=str):
        if isinstance(value, URIRef):
            return str(value)
    return None


def _iri_or_url(graph: Graph, subject: Node, predicate: URIRef) -> str | None:
    """An IRI, or a string literal holding an http(s) URL (some catalogues give URLs as strings)."""
    found = _iri(graph, subject, predicate)
    if found:
        return found
    for value in sorted(graph.objects(subject, predicate), key=str):
        text = str(value).strip() if isinstance(value, Literal) else ""
        if re.fullmatch(r"https?://\S+", text):
            return text
    return None


def _date(graph: Graph, subject: Node, predicate: URIRef) -> datetime | None:
    for value in graph.objects(subject, predicate):
        if isinstance(value, Literal):
            parsed = value.toPython()
            if isinstance(parsed, datetime):
                return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
            if hasattr(parsed, "isoformat") and value.datatype in (XSD.date, None):
                try:
                    return datetime.fromisoformat(str(value)).replace(tzinfo=timezone.utc)
                except ValueError:
                    return None
    return None


def _byte_size(graph: Graph, subject: Node) -> int | None:
    for value in graph.objects(subject, DCAT.byteSize):
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            continue
        if number.is_finite() and number >= 0 and number == number.to_integral_value():
            return int(number)
    return None


def _duration(graph: Graph, node: Node) -> str | None:
    """A time:DurationDescription (time:years 1.0 …) as an ISO 8601 duration, if `node` is one."""
    def amount(unit: str) -> str | None:
        value = graph.value(node, URIRef(TIME + unit))
        if value is None:
            return None
        try:
            number = float(str(value))
        except ValueError:
            return None
        return str(int(number)) if number.is_integer() else str(number)

    date_part = "".join(f"{a}{letter}" for unit, letter in
                        (("years", "Y"), ("months", "M"), ("weeks", "W"), ("days", "D"))
                        if (a := amount(unit)) is not None)
    hours = amount("hours")
    if not date_part and hours is None:
        return None
    return "P" + date_part + (f"T{hours}H" if hours is not None else "")


def _frequency(graph: Graph, subject: Node) -> str | None:
    """dct:accrualPeriodicity as a string: an IRI, a literal, or a described duration as ISO 8601."""
    for value in graph.objects(subject, DCTERMS.accrualPeriodicity):
        if isinstance(value, Literal):
            return str(value)
        # A dct:Frequency node may carry its duration directly or through rdf:value.
        for node in (value, graph.value(value, RDF.value)):
            if node is not None and (duration := _duration(graph, node)):
                return duration
        if isinstance(value, URIRef):
            return str(value)
    return None


def _agent_name(graph: Graph, agent: Node | None) -> str:
    if agent is None:
        return ""
    if isinstance(agent, Literal):
        return str(agent)
    for predicate in (FOAF.name, SKOS.prefLabel, VCARD.fn, DCTERMS.title):
        name = _text(graph, agent, predicate)
        if name:
            return name
    return str(agent) if isinstance(agent, URIRef) else ""


def _agent_id(graph: Graph, agent: Node | None) -> str:
    if agent is None or isinstance(agent, Literal):
        return ""
    return _text(graph, agent, DCTERMS.identifier) or _text(graph, agent, SKOS.notation)


def _email(graph: Graph, contact: Node) -> str | None:
    """vcard:hasEmail (or the older vcard:email) as an IRI (``mailto:``) or a string."""
    for predicate in (VCARD.hasEmail, URIRef(str(VCARD) + "email")):
        found = _iri(graph, contact, predicate) or _text(graph, contact, predicate)
        if found:
            return found
    return None


def _format(graph: Graph, dist: Node) -> tuple[str, str]:
    """(format, media type) as given: IRIs kept whole; a dct:IMT node gives its label and rdf:value."""
    media_type = _iri(graph, dist, DCAT.mediaType) or _text(graph, dist, DCAT.mediaType)
    fmt = ""
    for value in sorted(graph.objects(dist, DCTERMS.format), key=str):
        if isinstance(value, BNode) or (value, RDF.type, DCTERMS.IMT) in graph:  # a described format
            fmt = fmt or _text(graph, value, RDFS.label) or _text(graph, value, SKOS.prefLabel)
            media_type = media_type or _text(graph, value, RDF.value)
        else:  # a file-type IRI or a label, as given
            fmt = fmt or str(value).strip()
    return fmt, media_type


def _statement(graph: Graph, node: Node) -> str | None:
    """A rights statement (or access right) as given: an IRI, a text, or the label of a described node."""
    if isinstance(node, URIRef):
        return str(node)
    if isinstance(node, Literal):
        return str(node).strip() or None
    return _text(graph, node, RDFS.label) or _text(graph, node, SKOS.prefLabel) or None


def _first_statement(graph: Graph, subject: Node, predicate: URIRef) -> str | None:
    return next((found for node in sorted(graph.objects(subject, predicate), key=str)
                 if (found := _statement(graph, node))), None)


def _location(graph: Graph, node: Node) -> str | None:
    """What a described ``dct:Location`` says of where it is: WKT first, then other geometry, bbox, centroid,
    a name, or the IRI of an administrative unit (``locn:adminUnitL2`` …)."""
    literals = []
    for predicate in (URIRef(LOCN + "geometry"), DCAT.bbox, DCAT.centroid):
        literals.extend(sorted((o for o in graph.objects(node, predicate) if isinstance(o, Literal)),
                               key=lambda o: (o.datatype != WKT_LITERAL, str(o))))
    if literals:
        return str(literals[0]).strip() or None
    name = (_text(graph, node, SKOS.prefLabel) or _text(graph, node, RDFS.label)
            or _text(graph, node, URIRef(LOCN + "geographicName")))
    if name:
        return name
    return next((str(o) for p, o in sorted(graph.predicate_objects(node), key=str)
                 if p != RDF.type and isinstance(o, URIRef)), None)


def _spatial(graph: Graph, subject: Node) -> list[str]:
    """Every ``dct:spatial`` of the dataset that says something, as an IRI or text."""
    found: list[str] = []
    for node in sorted(graph.objects(subject, DCTERMS.spatial), key=str):
        value = (str(node) if isinstance(node, URIRef) else str(node).strip() if isinstance(node, Literal)
                 else _location(graph, node))
        if value and value not in found:
            found.append(value)
    return found


def _temporal(graph: Graph, subject: Node) -> dict[str, str] | None:
    """The first ``dct:temporal`` period that gives a start or an end."""
    for node in sorted(graph.objects(subject, DCTERMS.temporal), key=str):
        for start, end in _PERIOD_BOUNDS:
            found = period_of(_bound(graph, node, start), _bound(graph, node, end))
            if found:
                return found
    return None


def _bound(graph: Graph, node: Node, predicate: URIRef) -> Any:
    value = graph.value(node, predicate)
    if not isinstance(value, Literal):
        return None
    parsed = value.toPython()
    return parsed if not isinstance(parsed, Literal) else str(value)


def _access_rights(graph: Graph, subject: Node) -> str | None:
    """``dct:accessRights`` as given, else the EU access right of a DCAT-US ``pod:accessLevel``."""
    given = _first_statement(graph, subject, DCTERMS.accessRights)
    if given:
        return given
    return next((mapped for level in graph.objects(subject, POD_ACCESS_LEVEL)
                 if (mapped := access_right_of_level(str(level)))), None)


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return "-".join(re.findall(r"[a-z0-9]+", ascii_text))[:48].strip("-")


def content_identifier(title: str, landing_page: str | None, publisher: str) -> str:
    """A stable identifier for a dataset with neither ``dct:identifier`` nor IRI, from what it says."""
    digest = hashlib.sha256(json.dumps([title, landing_page or "", publisher]).encode("utf-8")).hexdigest()
    return f"{_slug(title) or 'dataset'}-{digest[:12]}"


def _distribution(graph: Graph, dist: Node) -> HarvestedResource | None:
    download = _iri_or_url(graph, dist, DCAT.downloadURL)
    access = _iri_or_url(graph, dist, DCAT.accessURL)
    url = download or access
    if not url:
        return None
    fmt, media_type = _format(graph, dist)
    if media_type.lower().startswith(("http://www.iana.org/assignments/media-types/",
                                      "https://www.iana.org/assignments/media-types/")):
        media_type = media_type.split("/media-types/", 1)[1]
    skip = _DISTRIBUTION_MAPPED | ({DCAT.accessURL} if access in (None, url) else frozenset())
    identifier = _text(graph, dist, DCTERMS.identifier) or (
        str(dist) if isinstance(dist, URIRef) else "sha256:" + hashlib.sha256(url.encode()).hexdigest())
    return HarvestedResource(
        url=url,
        title=_text(graph, dist, DCTERMS.title),
        media_type=media_type,
        format=fmt,
        identifier=identifier,
        schema=_iri(graph, dist, DCTERMS.conformsTo),
        description=_text(graph, dist, DCTERMS.description),
        licence=_iri_or_url(graph, dist, DCTERMS.license),
        byte_size=_byte_size(graph, dist),
        modified=_date(graph, dist, DCTERMS.modified),
        access_url=access,
        is_download=download is not None,
        rights=_first_statement(graph, dist, DCTERMS.rights),
        extras=_properties(graph, dist, frozenset(skip)),
    )


def _catalogue_publishers(graph: Graph) -> dict[Node, Node]:
    """Dataset → its catalogue's publisher, for datasets that name none themselves."""
    found: dict[Node, Node] = {}
    for catalogue in graph.subjects(RDF.type, DCAT.Catalog):
        publisher = graph.value(catalogue, DCTERMS.publisher)
        if publisher is not None:
            for dataset in graph.objects(catalogue, DCAT.dataset):
                found.setdefault(dataset, publisher)
    return found


def _dataset(graph: Graph, subject: Node, fallback_publisher: Node | None) -> HarvestedDataset:
    title = _text(graph, subject, DCTERMS.title)
    landing_page = _iri_or_url(graph, subject, DCAT.landingPage)
    publisher = graph.value(subject, DCTERMS.publisher) or fallback_publisher
    publisher_name = _agent_name(graph, publisher)
    identifier = _text(graph, subject, DCTERMS.identifier) or (
        str(subject) if isinstance(subject, URIRef) else content_identifier(title, landing_page, publisher_name))
    contact = graph.value(subject, DCAT.contactPoint)
    email = _email(graph, contact) if contact is not None else None
    licence = _iri_or_url(graph, subject, DCTERMS.license)
    skip = set(_DATASET_MAPPED)
    if licence is None and any(str(v).strip() for v in graph.objects(subject, DCTERMS.license)):
        skip.discard(DCTERMS.license)  # a licence given as text only: kept as given in extras
    resources = []
    for dist in sorted(graph.objects(subject, DCAT.distribution), key=str):
        resource = _distribution(graph, dist)
        if resource is not None:
            resources.append(resource)
            licence = licence or resource.licence
    extras = _properties(graph, subject, frozenset(skip))
    extras = {name: [v for v in values if v != ""] for name, values in extras.items()}
    return HarvestedDataset(
        identifier=identifier,
        title=title or identifier,
        description=_text(graph, subject, DCTERMS.description),
        uri=str(subject) if isinstance(subject, URIRef) else None,
        publisher_name=publisher_name,
        publisher_id=_agent_id(graph, publisher),
        publisher_uri=str(publisher) if isinstance(publisher, URIRef) else None,
        landing_page=landing_page,
        licence=licence,
        frequency=_frequency(graph, subject),
        themes=sorted(str(t) for t in graph.objects(subject, DCAT.theme) if not isinstance(t, BNode)),
        keywords=sorted(str(k) for k in graph.objects(subject, DCAT.keyword)),
        issued=_date(graph, subject, DCTERMS.issued),
        modified=_date(graph, subject, DCTERMS.modified),
        contact_email=email.removeprefix("mailto:") if email else None,
        languages=sorted({str(v).strip() for v in graph.objects(subject, DCTERMS.language)
                          if not isinstance(v, BNode) and str(v).strip()}),
        spatial=_spatial(graph, subject),
        temporal=_temporal(graph, subject),
        access_rights=_access_rights(graph, subject),
        rights=_first_statement(graph, subject, DCTERMS.rights),
        resources=resources,
        extras={name: values for name, values in extras.items() if values},
    )


def datasets_in(graph: Graph) -> Iterator[HarvestedDataset]:
    """Yield a record for every dcat:Dataset in the graph, in a stable order."""
    publishers = _catalogue_publishers(graph)
    records = [_dataset(graph, subject, publishers.get(subject))
               for subject in set(graph.subjects(RDF.type, DCAT.Dataset))]
    yield from sorted(records, key=lambda record: record.identifier)
