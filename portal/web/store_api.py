"""The private store endpoint through which CLI commands reach the store this process owns.

It speaks the SPARQL 1.1 Protocol (query, update) and the Graph Store Protocol (GET/PUT/DELETE
of a named graph), only on requests bearing the token announced in the instance folder.
"""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, abort, current_app, request

from portal.store import BINDINGS_FORMATS, GRAPH_FORMATS
from portal.web import get_instance

bp = Blueprint("store_api", __name__, url_prefix="/-")


@bp.get("/health")
def health() -> dict[str, str]:
    """Liveness probe."""
    return {"status": "ok"}


@bp.before_request
def require_token() -> None:
    """Every store call needs the owner's token; health does not."""
    if request.endpoint == "store_api.health":
        return
    token = current_app.config.get("STORE_TOKEN")
    given = request.headers.get("Authorization", "").removeprefix("Bearer ")
    if not token or not hmac.compare_digest(given, token):
        abort(403, "the private store endpoint needs the instance token")


def _format_for(accept: str, table: dict[str, str], default: str) -> str:
    for name, media_type in table.items():
        if media_type in accept:
            return name
    return default


@bp.post("/store/query")
def query() -> Response:
    """SPARQL query with a result format chosen from Accept."""
    accept = request.headers.get("Accept", "")
    result = get_instance().store.query(
        request.get_data(as_text=True),
        bindings_format=_format_for(accept, BINDINGS_FORMATS, "json"),
        graph_format=_format_for(accept, GRAPH_FORMATS, "turtle"))
    return Response(result.body, mimetype=result.media_type)


@bp.post("/store/update")
def update() -> Response:
    """SPARQL update, run as one transaction."""
    get_instance().store.update(request.get_data(as_text=True))
    return Response(status=204)


@bp.route("/store/graph", methods=["GET", "PUT", "DELETE"])
def graph() -> Response:
    """Graph Store Protocol on one named graph (`?graph=IRI`)."""
    iri = request.args.get("graph")
    if not iri:
        abort(400, "graph parameter required")
    store = get_instance().store
    if request.method == "PUT":
        store.replace_graph(iri, request.get_data())
        return Response(status=204)
    if request.method == "DELETE":
        store.drop_graph(iri)
        return Response(status=204)
    body = store.graph_ntriples(iri)
    if not body:
        abort(404, f"no graph <{iri}>")
    return Response(body, mimetype="application/n-triples")
