"""The public SPARQL 1.1 query endpoint (read-only, guarded)."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request

from portal.errors import UsageError
from portal.sparql_guard import check_query
from portal.store import BINDINGS_FORMATS, GRAPH_FORMATS
from portal.web import get_instance

bp = Blueprint("sparql", __name__)

_QUERY_FORM = "application/x-www-form-urlencoded"


def _query_text() -> str | None:
    if request.method == "GET":
        return request.args.get("query")
    content_type = (request.content_type or "").split(";")[0].strip()
    if content_type == "application/sparql-query":
        return request.get_data(as_text=True)
    if content_type == _QUERY_FORM or not content_type:
        return request.form.get("query")
    raise UsageError(f"unsupported Content-Type {content_type!r} (use application/sparql-query "
                     f"or a form with a query field)")


def _pick(table: dict[str, str], default: str) -> str:
    offered = list(table.values())
    best = request.accept_mimetypes.best_match(offered)
    explicit = request.args.get("format")
    if explicit in table:
        return explicit
    for name, media_type in table.items():
        if media_type == best:
            return name
    return default


@bp.route("/sparql", methods=["GET", "POST"])
def sparql() -> Response | str:
    """SELECT/ASK → SPARQL results (JSON by default); CONSTRUCT/DESCRIBE → RDF (Turtle by default)."""
    text = _query_text()
    if text is None:
        if request.accept_mimetypes.accept_html:
            return render_template("sparql.html")
        raise UsageError("missing query parameter")
    check_query(text)
    result = get_instance().store.query(
        text, bindings_format=_pick(BINDINGS_FORMATS, "json"), graph_format=_pick(GRAPH_FORMATS, "turtle"))
    response = Response(result.body, mimetype=result.media_type)
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Vary"] = "Accept"
    return response
