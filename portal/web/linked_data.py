"""Dereferenceable URIs: `/id/…` answers 303 See Other to `/doc/…`, which describes the thing
in HTML, Turtle, JSON-LD, N-Triples or RDF/XML (by suffix or `Accept`); `/def/…` describes terms."""

from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template, request
from werkzeug.wrappers import Response as WerkzeugResponse

from portal.errors import NotFoundError
from portal.store import select_rows
from portal.web import get_instance
from portal.formats import DOCUMENT_FORMATS, Format
from portal.web.negotiation import rdf_choice, split_suffix
from vocab.uris import encode_segment

bp = Blueprint("linked_data", __name__)

def _describe(iri: str, suffix: str | None) -> Response | str:
    instance = get_instance()
    choice = rdf_choice(suffix)
    if isinstance(choice, Format):
        result = instance.store.query(f"CONSTRUCT {{ <{iri}> ?p ?o }} WHERE {{ <{iri}> ?p ?o }}",
                                      graph_format=choice.name)
        if not result.body.strip() or result.body.strip() in (b"[]", b"{}"):
            raise NotFoundError(f"nothing is known about <{iri}>")
        response = Response(result.body, mimetype=result.media_type)
    else:
        rows = select_rows(instance.store, f"""
            SELECT ?p ?o ?g (isIRI(?o) AS ?link) WHERE {{ GRAPH ?g {{ <{iri}> ?p ?o }} }} ORDER BY ?p ?o""")
        if not rows:
            raise NotFoundError(f"nothing is known about <{iri}>")
        response = Response(render_template("thing.html", iri=iri, rows=rows, suffixes=tuple(DOCUMENT_FORMATS),
                                            base=request.path.rsplit(".", 1)[0] if suffix else request.path))
    response.headers["Vary"] = "Accept"
    return response


def _minted(kind: str, path: str) -> str:
    """The URI as minted, rebuilt from the decoded path: segments are encoded again, and
    everything after publisher and dataset is one key (a key may contain `/`)."""
    parts = path.split("/")
    if len(parts) > 3:
        parts = parts[:2] + ["/".join(parts[2:])]
    return f"{get_instance().uris.base}/{kind}/" + "/".join(encode_segment(p) for p in parts)


@bp.get("/id/<path:path>")
def thing(path: str) -> WerkzeugResponse:
    """A thing's URI names the thing, not a document: send the client to its description."""
    stem, suffix = split_suffix(path)
    iri = _minted("id", stem)
    target = "/doc/" + iri.split("/id/", 1)[1] + (f".{suffix}" if suffix else "")
    response = redirect(target, code=303)
    response.headers["Vary"] = "Accept"
    return response


@bp.get("/doc/<path:path>")
def document(path: str) -> Response | str:
    """The description of the thing `{base}/id/{path}`."""
    stem, suffix = split_suffix(path)
    return _describe(_minted("id", stem), suffix)


@bp.get("/def/<path:path>")
def term(path: str) -> Response | str:
    """The definition of a term the portal minted (a dataset's row class or column property)."""
    stem, suffix = split_suffix(path)
    return _describe(_minted("def", stem), suffix)
