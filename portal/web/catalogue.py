"""Human pages of the catalogue and their machine-readable twins."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template, request

from portal.listing import dataset_detail, dataset_record_graph, list_datasets
from portal.store import GRAPH_FORMATS
from portal.web import get_instance
from portal.web.negotiation import RDFLIB_FORMATS, SUFFIXES, rdf_format

bp = Blueprint("catalogue", __name__)


@bp.get("/")
def home() -> str:
    """The list of datasets with their freshness."""
    return render_template("home.html", datasets=list_datasets(get_instance()))


@bp.get("/.json")
@bp.get("/datasets.json")
def home_json() -> Response:
    """The list of datasets as JSON."""
    return jsonify(datasets=list_datasets(get_instance()))


@bp.get("/dataset/<publisher>/<slug>")
def dataset(publisher: str, slug: str) -> Response | str:
    """One dataset: metadata, resources, validation summary and freshness (or its record, by Accept)."""
    fmt = rdf_format(None, others=("text/html", "application/json"))
    if fmt is not None:
        return dataset_rdf(publisher, slug, next(s for s, name in SUFFIXES.items() if name == fmt))
    if request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json":
        return dataset_json(publisher, slug)
    return render_template("dataset.html", d=dataset_detail(get_instance(), publisher, slug))


@bp.get("/dataset/<publisher>/<slug>.<any(ttl, jsonld, nt, rdf):suffix>")
def dataset_rdf(publisher: str, slug: str, suffix: str) -> Response:
    """The dataset's DCAT-AP record in Turtle, JSON-LD, N-Triples or RDF/XML."""
    fmt = SUFFIXES[suffix]
    graph = dataset_record_graph(get_instance(), publisher, slug)
    response = Response(graph.serialize(format=RDFLIB_FORMATS[fmt], encoding="utf-8"),
                        mimetype=GRAPH_FORMATS[fmt])
    response.headers["Vary"] = "Accept"
    return response


@bp.get("/dataset/<publisher>/<slug>.json")
def dataset_json(publisher: str, slug: str) -> Response:
    """The dataset page as JSON."""
    return jsonify(dataset_detail(get_instance(), publisher, slug))


@bp.get("/catalog")
@bp.get("/catalog.<any(ttl, jsonld, nt, rdf):suffix>")
def catalog(suffix: str | None = None) -> Response:
    """The DCAT catalogue with every dataset record (Turtle unless a suffix or `Accept` asks otherwise)."""
    instance = get_instance()
    catalog_graph = instance.uris.portal_graph("catalog")
    result = instance.store.query(f"""
        PREFIX dcat: <http://www.w3.org/ns/dcat#>
        CONSTRUCT {{ ?s ?p ?o }} WHERE {{
          {{ GRAPH <{catalog_graph}> {{ ?s ?p ?o }} }}
          UNION {{ GRAPH ?g {{ ?s a dcat:Dataset ; ?p ?o }} }}
          UNION {{ GRAPH ?g {{ ?d a dcat:Dataset ; dcat:distribution ?s . ?s ?p ?o }} }}
        }}""", graph_format=rdf_format(suffix, others=()) or "turtle")
    response = Response(result.body, mimetype=result.media_type)
    response.headers["Vary"] = "Accept"
    return response
