"""The one registry of formats: RDF documents and SPARQL query results.

Each format has a short name (the name stores, views and the CLI use: ``turtle``, ``json`` …),
its media types (canonical first, then aliases), a URL suffix, the pyoxigraph format and the
rdflib plugin name. Media types and suffixes come from pyoxigraph's own tables
(`RdfFormat.media_type`, `file_extension`, `from_media_type`, `from_extension`); content
negotiation is werkzeug's Accept parsing. The helpers take an Accept header *string*, so the
web views, the CLI and the query workers all negotiate the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import pyoxigraph as ox
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from portal.errors import UsageError

FormatKind = Literal["rdf", "results"]


@dataclass(frozen=True)
class Format:
    """One serialisation Lodestar reads or writes."""

    name: str
    kind: FormatKind
    label: str
    media_type: str
    aliases: tuple[str, ...]
    suffix: str
    rdflib: str
    oxigraph: ox.RdfFormat | ox.QueryResultsFormat

    @property
    def media_types(self) -> tuple[str, ...]:
        """The canonical media type, then its aliases."""
        return (self.media_type, *self.aliases)

    @property
    def content_type(self) -> str:
        """The Content-Type header value: the media type, with the charset for text types."""
        return f"{self.media_type}; charset=utf-8" if self.media_type.startswith("text/") else self.media_type

    @property
    def rdf(self) -> ox.RdfFormat:
        """The pyoxigraph RDF format (for RDF formats only)."""
        if not isinstance(self.oxigraph, ox.RdfFormat):
            raise TypeError(f"{self.name} is not an RDF format")
        return self.oxigraph

    @property
    def results(self) -> ox.QueryResultsFormat:
        """The pyoxigraph query results format (for results formats only)."""
        if not isinstance(self.oxigraph, ox.QueryResultsFormat):
            raise TypeError(f"{self.name} is not a query results format")
        return self.oxigraph


def _row(name: str, fmt: ox.RdfFormat | ox.QueryResultsFormat, rdflib: str,
         aliases: tuple[str, ...] = ()) -> Format:
    kind: FormatKind = "rdf" if isinstance(fmt, ox.RdfFormat) else "results"
    media_type = fmt.media_type.split(";")[0].strip()
    return Format(name, kind, fmt.name, media_type, aliases, fmt.file_extension, rdflib, fmt)


#: RDF formats by short name, in order of preference (the first is the default).
RDF_FORMATS: Mapping[str, Format] = {f.name: f for f in (
    _row("turtle", ox.RdfFormat.TURTLE, "turtle", ("application/x-turtle",)),
    _row("ntriples", ox.RdfFormat.N_TRIPLES, "nt"),
    _row("rdfxml", ox.RdfFormat.RDF_XML, "xml", ("application/xml", "text/xml")),
    _row("jsonld", ox.RdfFormat.JSON_LD, "json-ld", ("application/json",)),
    _row("nquads", ox.RdfFormat.N_QUADS, "nquads"),
)}
#: SPARQL results formats (SELECT and ASK) by short name; the first is the default.
RESULTS_FORMATS: Mapping[str, Format] = {f.name: f for f in (
    _row("json", ox.QueryResultsFormat.JSON, "json", ("application/json",)),
    _row("xml", ox.QueryResultsFormat.XML, "xml", ("application/xml", "text/xml")),
    _row("csv", ox.QueryResultsFormat.CSV, "csv"),
    _row("tsv", ox.QueryResultsFormat.TSV, "tsv"),
)}
#: The formats a described thing or a dataset record is offered in (HTML aside), by URL suffix.
DOCUMENT_FORMATS: Mapping[str, Format] = {f.suffix: f for f in (
    RDF_FORMATS["turtle"], RDF_FORMATS["jsonld"], RDF_FORMATS["ntriples"], RDF_FORMATS["rdfxml"])}


def _table(kind: FormatKind) -> Mapping[str, Format]:
    return RDF_FORMATS if kind == "rdf" else RESULTS_FORMATS


def rdf_format(name: str) -> Format:
    """The RDF format with this short name."""
    try:
        return RDF_FORMATS[name]
    except KeyError:
        raise UsageError(f"unknown RDF format {name!r}; known: {', '.join(RDF_FORMATS)}") from None


def results_format(name: str) -> Format:
    """The SPARQL results format with this short name."""
    try:
        return RESULTS_FORMATS[name]
    except KeyError:
        raise UsageError(f"unknown results format {name!r}; known: {', '.join(RESULTS_FORMATS)}") from None


def _matching(kind: FormatKind, found: ox.RdfFormat | ox.QueryResultsFormat | None) -> Format | None:
    return next((f for f in _table(kind).values() if f.oxigraph == found), None)


def by_media_type(media_type: str, kind: FormatKind) -> Format | None:
    """The format of a media type (parameters and aliases allowed), as pyoxigraph reads it."""
    reader = ox.RdfFormat if kind == "rdf" else ox.QueryResultsFormat
    return _matching(kind, reader.from_media_type(media_type))


def by_suffix(suffix: str, kind: FormatKind = "rdf") -> Format | None:
    """The format of a file extension or URL suffix (``ttl``, ``srj`` …)."""
    reader = ox.RdfFormat if kind == "rdf" else ox.QueryResultsFormat
    return _matching(kind, reader.from_extension(suffix))


def find(token: str, kind: FormatKind) -> Format | None:
    """A format named by a short name, a suffix or a media type (as `format=` may give it)."""
    token = token.strip()
    if token in _table(kind):
        return _table(kind)[token]
    if "/" in token:
        return by_media_type(token, kind)
    return by_suffix(token.lower(), kind)


def best_match(accept: str | None, offered: Sequence[str]) -> str:
    """The offered media type the Accept header prefers (ties go to the first offered);
    the first offered when the header is missing or accepts none of them."""
    if not accept or not accept.strip():
        return offered[0]
    parsed = parse_accept_header(accept, MIMEAccept)
    found = parsed.best_match(offered)
    return found if found is not None else offered[0]


def _offered(formats: Iterable[Format]) -> list[str]:
    listed = list(formats)
    offered = [f.media_type for f in listed]
    offered += [alias for f in listed for alias in f.aliases if alias not in offered]
    return offered


def _owner(media_type: str, formats: Iterable[Format]) -> Format:
    return next(f for f in formats if media_type in f.media_types)


def negotiate_rdf(accept: str | None, suffix: str | None = None, others: Sequence[str] = (),
                  explicit: str | None = None, default: str = "turtle",
                  offered: Iterable[Format] | None = None) -> Format | str:
    """The RDF format asked for by a URL suffix, else an explicit name, else the Accept header.

    Returns one of `others` (media types the caller also offers, such as ``text/html``, preferred
    on ties) when the client prefers it; otherwise one of the `offered` RDF formats (all by
    default), `default` when nothing fits.
    """
    if suffix is not None:
        found = DOCUMENT_FORMATS.get(suffix) or by_suffix(suffix)
        if found is None:
            raise UsageError(f"unknown RDF suffix .{suffix}")
        return found
    if explicit:
        found = find(explicit, "rdf")
        if found is None:
            raise UsageError(f"unknown RDF format {explicit!r}; known: {', '.join(RDF_FORMATS)}")
        return found
    first = rdf_format(default)
    formats = [first, *(f for f in (offered or RDF_FORMATS.values()) if f is not first)]
    best = best_match(accept, [*others, *_offered(formats)])
    if best in others:
        return best
    return _owner(best, formats)


def negotiate_results(accept: str | None, explicit: str | None = None, default: str = "json") -> Format:
    """The SPARQL results format asked for by an explicit name (``format=``), else by Accept."""
    if explicit:
        found = find(explicit, "results")
        if found is None:
            raise UsageError(f"unknown results format {explicit!r}; known: {', '.join(RESULTS_FORMATS)}")
        return found
    first = results_format(default)
    formats = [first, *(f for f in RESULTS_FORMATS.values() if f is not first)]
    return _owner(best_match(accept, _offered(formats)), formats)
