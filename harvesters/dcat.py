"""DCAT catalogues in RDF (Turtle, RDF/XML, N-Triples, JSON-LD) → dataset records."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from harvesters.base import HarvestedDataset, HarvestedResource, ListingItem
from harvesters.fetch import read_bytes
from portal.errors import SourceError
from vocab.namespaces import DCAT, DCTERMS, FOAF, RDF, SKOS, VCARD, XSD

if TYPE_CHECKING:
    from portal.egress import Egress

TIME = "http://www.w3.org/2006/time#"

_FORMATS = {
    "text/turtle": "turtle", "application/x-turtle": "turtle", "application/rdf+xml": "xml",
    "application/xml": "xml", "text/xml": "xml", "application/n-triples": "nt",
    "application/ld+json": "json-ld", "application/json": "json-ld",
}
_SUFFIXES = {".ttl": "turtle", ".rdf": "xml", ".xml": "xml", ".nt": "nt", ".jsonld": "json-ld",
             ".json": "json-ld"}


def _guess_format(url: str, media_type: str, data: bytes) -> str:
    if media_type in _FORMATS:
        return _FORMATS[media_type]
    for suffix, fmt in _SUFFIXES.items():
        if url.lower().split("?")[0].endswith(suffix):
            return fmt
    head = data.lstrip()[:200]
    if head.startswith(b"<"):
        return "xml"
    if head.startswith((b"{", b"[")):
        return "json-ld"
    return "turtle"


def _refuse_remote_contexts(node: Any) -> None:
    """JSON-LD `@context` by reference would make the parser fetch URLs; only inline contexts are read."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "@context" and (isinstance(value, str) or (
                    isinstance(value, list) and any(isinstance(v, str) for v in value))):
                raise SourceError("JSON-LD with a remote @context is not read (it would fetch URLs)")
            _refuse_remote_contexts(value)
    elif isinstance(node, list):
        for item in node:
            _refuse_remote_contexts(item)


def parse_catalogue(data: bytes, url: str, media_type: str = "") -> Graph:
    """Parse catalogue bytes into an rdflib Graph, with `url` as base for relative IRIs."""
    fmt = _guess_format(url, media_type, data)
    if fmt == "json-ld":
        try:
            _refuse_remote_contexts(json.loads(data))
        except ValueError as exc:
            raise SourceError(f"{url}: not valid JSON-LD: {exc}") from exc
    graph = Graph()
    try:
        graph.parse(data=data, format=fmt, publicID=url)
    except Exception as exc:  # rdflib raises many parser-specific types
        raise SourceError(f"{url}: cannot parse as {fmt}: {exc}") from exc
    return graph


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
    for value in graph.objects(subject, predicate):
        if isinstance(value, URIRef):
            return str(value)
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


def _duration(graph: Graph, node: Node) -> str | None:
    """A time:DurationDescription (time:years 1.0 …) as an ISO 8601 duration, if `node` is one."""
    def amount(unit: str) -> str | None:
        value = graph.value(node, URIRef(TIME + unit))
        if value is None:
            return None
        number = float(str(value))
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


def _distribution(graph: Graph, dist: Node) -> HarvestedResource | None:
    # Some catalogues (datos.gob.es) give the URL as a string literal rather than an IRI.
    url = (_iri(graph, dist, DCAT.downloadURL) or _text(graph, dist, DCAT.downloadURL)
           or _iri(graph, dist, DCAT.accessURL) or _text(graph, dist, DCAT.accessURL))
    if not url:
        return None
    media_type = _iri(graph, dist, DCAT.mediaType) or _text(graph, dist, DCAT.mediaType)
    if media_type.startswith("http"):
        media_type = media_type.split("/media-types/")[-1] if "/media-types/" in media_type else media_type
    fmt = _iri(graph, dist, DCTERMS.format) or _text(graph, dist, DCTERMS.format)
    return HarvestedResource(
        url=url,
        title=_text(graph, dist, DCTERMS.title),
        media_type=media_type,
        format=fmt.rsplit("/", 1)[-1] if fmt else "",
        identifier=_text(graph, dist, DCTERMS.identifier) or (str(dist) if isinstance(dist, URIRef) else ""),
        schema=_iri(graph, dist, DCTERMS.conformsTo),
    )


def datasets_in(graph: Graph) -> Iterator[HarvestedDataset]:
    """Yield a record for every dcat:Dataset in the graph, in a stable order."""
    subjects = sorted(set(graph.subjects(RDF.type, DCAT.Dataset)), key=str)
    for subject in subjects:
        identifier = _text(graph, subject, DCTERMS.identifier) or (
            str(subject) if not isinstance(subject, BNode) else _text(graph, subject, DCTERMS.title))
        if not identifier:
            continue
        publisher = graph.value(subject, DCTERMS.publisher)
        contact = graph.value(subject, DCAT.contactPoint)
        email = _iri(graph, contact, VCARD.hasEmail) if contact is not None else None
        licence = _iri(graph, subject, DCTERMS.license)
        resources = []
        for dist in sorted(graph.objects(subject, DCAT.distribution), key=str):
            resource = _distribution(graph, dist)
            if resource is not None:
                resources.append(resource)
                licence = licence or _iri(graph, dist, DCTERMS.license)
        yield HarvestedDataset(
            identifier=identifier,
            title=_text(graph, subject, DCTERMS.title) or identifier,
            description=_text(graph, subject, DCTERMS.description),
            uri=str(subject) if isinstance(subject, URIRef) else None,
            publisher_name=_agent_name(graph, publisher),
            publisher_id=_text(graph, publisher, DCTERMS.identifier) if publisher is not None else "",
            publisher_uri=str(publisher) if isinstance(publisher, URIRef) else None,
            landing_page=_iri(graph, subject, DCAT.landingPage),
            licence=licence,
            frequency=_frequency(graph, subject),
            themes=sorted(str(t) for t in graph.objects(subject, DCAT.theme)),
            keywords=sorted(str(k) for k in graph.objects(subject, DCAT.keyword)),
            issued=_date(graph, subject, DCTERMS.issued),
            modified=_date(graph, subject, DCTERMS.modified),
            contact_email=email.removeprefix("mailto:") if email else None,
            resources=resources,
        )


class DcatHarvester:
    """Harvests a DCAT catalogue published as one RDF document."""

    kind = "dcat"
    options: tuple[str, ...] = ()

    def __init__(self, *, timeout: float = 30.0, max_bytes: int = 50 * 1024 * 1024,
                 egress: Egress | None = None) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.egress = egress  # None: a default client per catalogue, address guard on

    def gather(self, url: str, *, options: Mapping[str, Any] | None = None,
               since: datetime | None = None) -> Iterator[ListingItem]:
        """Download and parse the catalogue, then yield its datasets."""
        data, media_type = read_bytes(url, timeout=self.timeout, max_bytes=self.max_bytes,
                                      egress=self.egress)
        graph = parse_catalogue(data, url, media_type)
        yield from datasets_in(graph)
