"""The public SPARQL 1.1 query endpoint: read-only, guarded, evaluated in worker processes.

SPARQL 1.1 Protocol: GET ``?query=``, POST of a form (``query``) or of the query itself
(``application/sparql-query``); ``default-graph-uri`` / ``named-graph-uri`` (repeatable, in the
query string or the form) name the dataset and win over the query's FROM / FROM NAMED. Graphs
are the portal's own named graphs, never fetched. On the embedded store, queries run in the
`QueryPool` of the app, started on the first query; `close_query_pool` stops it.
"""

from __future__ import annotations

import threading

from flask import Blueprint, Flask, Response, current_app, make_response, render_template, request
from flask.typing import ResponseReturnValue

from portal.errors import QueryLimitError, UsageError
from portal.formats import Format, find, negotiate_rdf, negotiate_results
from portal.instance import Instance
from portal.query_pool import CappedResult, QueryJob, QueryPool
from portal.sparql_guard import MAX_QUERY_BYTES, check_graph_iri, check_query
from portal.store import QueryResult
from portal.store.access import embedded_store_path
from portal.web import get_instance
from portal.web.errors import error_response

bp = Blueprint("sparql", __name__)

POOL = "lodestar_query_pool"
#: Response headers that tell a capped answer; exposed to scripts on other origins.
TRUNCATED, ROW_LIMIT = "Lodestar-Truncated", "Lodestar-Row-Limit"
_FORM = "application/x-www-form-urlencoded"
_DIRECT = "application/sparql-query"
_pool_lock = threading.Lock()


def query_pool(app: Flask, instance: Instance) -> QueryPool | None:
    """The app's pool of query workers, made on first use; None when the store is a remote endpoint."""
    path = embedded_store_path(instance.settings)
    if path is None:
        return None
    with _pool_lock:
        pool: QueryPool | None = app.extensions.get(POOL)
        if pool is None:
            pool = app.extensions[POOL] = QueryPool.from_settings(instance.settings, path)
        return pool


def close_query_pool(app: Flask) -> None:
    """Stop the app's query workers, if any were started (call when the server stops)."""
    with _pool_lock:
        pool: QueryPool | None = app.extensions.pop(POOL, None)
    if pool is not None:
        pool.close()


def _one(values: list[str], name: str) -> str | None:
    if len(values) > 1:
        raise UsageError(f"give one {name} parameter, not {len(values)}")
    return values[0] if values else None


def _protocol() -> tuple[str | None, list[str], list[str]]:
    """The query text and the protocol's default and named graphs, from GET, a form or a direct POST."""
    args = request.args
    defaults, named = args.getlist("default-graph-uri"), args.getlist("named-graph-uri")
    if request.method == "GET":
        return _one(args.getlist("query"), "query"), defaults, named
    media_type = request.mimetype
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise UsageError(f"queries must be sent in UTF-8, not {charset}")
    if request.content_length is not None and request.content_length > 4 * MAX_QUERY_BYTES:
        raise UsageError(f"query is longer than {MAX_QUERY_BYTES} bytes")
    if media_type == _DIRECT:
        try:
            text = request.stream.read(4 * MAX_QUERY_BYTES + 1).decode("utf-8")
        except UnicodeDecodeError:
            raise UsageError("the query is not valid UTF-8") from None
        return text, defaults, named
    if media_type == _FORM:
        form = request.form
        if "update" in form:
            raise UsageError("this endpoint is read-only; it answers queries, not updates")
        return (_one(form.getlist("query") + args.getlist("query"), "query"),
                defaults + form.getlist("default-graph-uri"), named + form.getlist("named-graph-uri"))
    raise UsageError(f"unsupported Content-Type {media_type or '(none)'!r}: send {_DIRECT} "
                     f"or a form ({_FORM}) with a query field")


def _formats() -> tuple[Format, Format]:
    """The results format (SELECT, ASK) and RDF format (CONSTRUCT, DESCRIBE): `format=`, else Accept."""
    accept = request.headers.get("Accept")
    explicit = request.values.get("format")
    results = find(explicit, "results") if explicit else None
    graph = find(explicit, "rdf") if explicit else None
    if explicit and results is None and graph is None:
        raise UsageError(f"unknown format {explicit!r}")
    rdf = graph or negotiate_rdf(accept)
    assert isinstance(rdf, Format)
    return results or negotiate_results(accept), rdf


@bp.route("/sparql", methods=["GET", "POST"])
def sparql() -> ResponseReturnValue:
    """SELECT/ASK → SPARQL results (JSON by default); CONSTRUCT/DESCRIBE → RDF (Turtle by default)."""
    text, defaults, named = _protocol()
    if text is None:
        if request.method == "GET" and request.accept_mimetypes.accept_html:
            return render_template("sparql.html", limits=get_instance().settings)
        raise UsageError("missing query parameter")
    instance = get_instance()
    settings = instance.settings
    guarded = check_query(text, base=f"{instance.uris.base}/sparql")
    dataset: tuple[tuple[str, ...] | None, tuple[str, ...] | None] = (None, None)
    if defaults or named:  # the protocol's dataset wins over the query's (SPARQL 1.1 Protocol, 2.1.4)
        dataset = (tuple(map(check_graph_iri, defaults)), tuple(map(check_graph_iri, named)))
    elif guarded.has_dataset:
        dataset = (guarded.default_graphs, guarded.named_graphs)
    results, graph = _formats()
    pool = query_pool(current_app, instance)
    result: QueryResult
    if pool is None:  # a remote endpoint applies its own limits
        result = instance.store.query(guarded.text, bindings_format=results.name, graph_format=graph.name,
                                      default_graphs=dataset[0], named_graphs=dataset[1])
    else:
        job = QueryJob(guarded.text, dataset[0], dataset[1], results.name, graph.name,
                       int(settings.sparql_max_rows), f"{instance.uris.base}/sparql")
        result = pool.run(job, client=request.remote_addr or "",
                          disconnected=request.environ.get("waitress.client_disconnected"))
    response = Response(result.body, mimetype=result.media_type)
    response.headers["Vary"] = "Accept"
    if isinstance(result, CappedResult) and result.kind != "boolean":
        response.headers[TRUNCATED] = "true" if result.truncated else "false"
        response.headers[ROW_LIMIT] = str(result.row_limit)
    return response


@bp.after_app_request
def cross_origin(response: Response) -> Response:
    """Any web page may query the endpoint and read its answers, errors and limits."""
    if request.path != "/sparql":
        return response
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = f"{TRUNCATED}, {ROW_LIMIT}, Retry-After"
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = "GET, POST"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type, Accept"
    return response


@bp.errorhandler(QueryLimitError)
def limit_reached(exc: QueryLimitError) -> ResponseReturnValue:
    """The endpoint's limits answer in the one error shape, with Retry-After when trying later helps."""
    response = make_response(error_response(exc.http_status, exc.code, str(exc)))
    if exc.retry_after is not None:
        response.headers["Retry-After"] = str(exc.retry_after)
    return response
