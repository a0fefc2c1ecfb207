"""Flask's side of content negotiation: URL suffixes and the request's Accept header, handed to
`portal.formats` (the one registry of formats, used alike by the CLI and the query workers)."""

from __future__ import annotations

from collections.abc import Sequence

from flask import request

from portal.formats import DOCUMENT_FORMATS, Format, negotiate_rdf

#: URL suffixes of a document's RDF twins (`.ttl`, `.jsonld`, `.nt`, `.rdf`), for route patterns.
SUFFIX_PATTERN = f"any({', '.join(DOCUMENT_FORMATS)})"


def split_suffix(path: str) -> tuple[str, str | None]:
    """`a/b.ttl` → (`a/b`, `ttl`); a path without a known RDF suffix is returned whole."""
    stem, dot, suffix = path.rpartition(".")
    if dot and suffix in DOCUMENT_FORMATS:
        return stem, suffix
    return path, None


def rdf_choice(suffix: str | None, others: Sequence[str] = ("text/html",)) -> Format | str:
    """The RDF format a suffix or the request's Accept header asks for, or the one of `others`
    (media types the view also offers, preferred on ties) the client prefers."""
    return negotiate_rdf(request.headers.get("Accept"), suffix=suffix, others=others,
                         offered=DOCUMENT_FORMATS.values())
