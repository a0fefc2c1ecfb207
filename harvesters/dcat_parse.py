"""Reading a DCAT document into an rdflib Graph, safely: no entity expansion, no remote JSON-LD contexts.

An XML document with a DOCTYPE (and so any entity declaration, internal or external) is refused
before any parser sees it: expat reads the prolog only and the first DOCTYPE stops it, so a
billion-laughs catalogue or one pointing at a remote DTD costs microseconds, not minutes.
"""

from __future__ import annotations

import json
from typing import Any
from xml.parsers import expat

from rdflib import Graph

from portal.errors import SourceError

_FORMATS = {
    "text/turtle": "turtle", "application/x-turtle": "turtle", "application/rdf+xml": "xml",
    "application/xml": "xml", "text/xml": "xml", "application/n-triples": "nt",
    "application/ld+json": "json-ld", "application/json": "json-ld",
}
_SUFFIXES = {".ttl": "turtle", ".rdf": "xml", ".xml": "xml", ".nt": "nt", ".jsonld": "json-ld",
             ".json": "json-ld"}


def guess_format(url: str, media_type: str, data: bytes) -> str:
    """The rdflib parser name for a document, from its media type, URL suffix or first bytes."""
    if media_type in _FORMATS:
        return _FORMATS[media_type]
    path = url.lower().split("?")[0]
    for suffix, fmt in _SUFFIXES.items():
        if path.endswith(suffix):
            return fmt
    head = data.lstrip()[:200]
    if head.startswith(b"<"):
        return "xml"
    if head.startswith((b"{", b"[")):
        return "json-ld"
    return "turtle"


class _PrologRead(Exception):
    """The root element started: the prolog had no DOCTYPE."""


def refuse_doctype(data: bytes, url: str) -> None:
    """Raise `SourceError` if the XML document declares a DOCTYPE or an entity; read only up to the root element."""
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def doctype(name: str, *_: Any) -> None:
        raise SourceError(f"{url}: XML with a DOCTYPE ({name}) is not read: its entities could expand "
                          "without bound or fetch files")

    def entity(name: str, *_: Any) -> None:
        raise SourceError(f"{url}: XML declaring the entity {name!r} is not read")

    def root(*_: Any) -> None:
        raise _PrologRead

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = entity
    parser.StartElementHandler = root
    try:
        parser.Parse(data, True)
    except _PrologRead:
        return
    except expat.ExpatError as exc:
        raise SourceError(f"{url}: not well-formed XML: {exc}") from exc


def refuse_remote_contexts(node: Any) -> None:
    """JSON-LD `@context` by reference would make the parser fetch URLs; only inline contexts are read."""
    if isinstance(node, dict):
        for name, value in node.items():
            if name == "@context" and (isinstance(value, str) or (
                    isinstance(value, list) and any(isinstance(v, str) for v in value))):
                raise SourceError("JSON-LD with a remote @context is not read (it would fetch URLs)")
            refuse_remote_contexts(value)
    elif isinstance(node, list):
        for item in node:
            refuse_remote_contexts(item)


def parse_catalogue(data: bytes, url: str, media_type: str = "") -> Graph:
    """Parse catalogue bytes into an rdflib Graph, with `url` as base for relative IRIs."""
    fmt = guess_format(url, media_type, data)
    if fmt == "xml":
        refuse_doctype(data, url)
    if fmt == "json-ld":
        try:
            refuse_remote_contexts(json.loads(data))
        except ValueError as exc:
            raise SourceError(f"{url}: not valid JSON-LD: {exc}") from exc
    graph = Graph()
    try:
        graph.parse(data=data, format=fmt, publicID=url)
    except Exception as exc:  # rdflib raises many parser-specific types
        raise SourceError(f"{url}: cannot parse as {fmt}: {exc}") from exc
    return graph
