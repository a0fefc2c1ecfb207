"""Content negotiation for RDF documents: one table of suffixes and formats for every view."""

from __future__ import annotations

from flask import request

from portal.store import GRAPH_FORMATS

#: URL suffix → graph format name (as the store and `GRAPH_FORMATS` know it).
SUFFIXES = {"ttl": "turtle", "jsonld": "jsonld", "nt": "ntriples", "rdf": "rdfxml"}
#: Graph format name → rdflib serializer name.
RDFLIB_FORMATS = {"turtle": "turtle", "jsonld": "json-ld", "ntriples": "nt", "rdfxml": "xml"}


def split_suffix(path: str) -> tuple[str, str | None]:
    """`a/b.ttl` → (`a/b`, `ttl`); a path without a known RDF suffix is returned whole."""
    stem, dot, suffix = path.rpartition(".")
    if dot and suffix in SUFFIXES:
        return stem, suffix
    return path, None


def rdf_format(suffix: str | None, *, others: tuple[str, ...] = ("text/html",)) -> str | None:
    """The graph format asked for by a suffix, else by `Accept`; None when one of `others` wins."""
    if suffix:
        return SUFFIXES[suffix]
    offered = list(others) + [GRAPH_FORMATS[name] for name in SUFFIXES.values()]
    best = request.accept_mimetypes.best_match(offered, default=offered[0])
    return next((name for name in SUFFIXES.values() if GRAPH_FORMATS[name] == best), None)
