"""Human pages of the catalogue and their machine-readable twins."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template, request

from portal.listing import dataset_detail, dataset_record_graph, list_datasets
from portal.web import get_instance

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


#: RDF twins of a dataset page: suffix → (rdflib format, media type).
RDF_TWINS = {
    "ttl": ("turtle", "text/turtle"),
    "jsonld": ("json-ld", "application/ld+json"),
    "nt": ("nt", "application/n-triples"),
    "rdf": ("xml", "application/rdf+xml"),
}


@bp.get("/dataset/<publisher>/<slug>")
def dataset(publisher: str, slug: str) -> Response | str:
    """One dataset: metadata, resources, validation summary and freshness (or its record, by Accept)."""
    offered = ["text/html", "application/json"] + [media for _, media in RDF_TWINS.values()]
    best = request.accept_mimetypes.best_match(offered, default="text/html")
    if best == "application/json":
        return dataset_json(publisher, slug)
    for suffix, (_, media_type) in RDF_TWINS.items():
        if best == media_type:
            return dataset_rdf(publisher, slug, suffix)
    return render_template("dataset.html", d=dataset_detail(get_instance(), publisher, slug))


@bp.get("/dataset/<publisher>/<slug>.<any(ttl, jsonld, nt, rdf):suffix>")
def dataset_rdf(publisher: str, slug: str, suffix: str) -> Response:
    """The dataset's DCAT-AP record in Turtle, JSON-LD, N-Triples or RDF/XML."""
    fmt, media_type = RDF_TWINS[suffix]
    graph = dataset_record_graph(get_instance(), publisher, slug)
    response = Response(graph.serialize(format=fmt, encoding="utf-8"), mimetype=media_type)
    response.headers["Vary"] = "Accept"
    return response


@bp.get("/dataset/<publisher>/<slug>.json")
def dataset_json(publisher: str, slug: str) -> Response:
    """The dataset page as JSON."""
    return jsonify(dataset_detail(get_instance(), publisher, slug))


@bp.get("/catalog")
@bp.get("/catalog.ttl")
def catalog() -> Response:
    """The DCAT catalogue with every dataset record, in Turtle."""
    instance = get_instance()
    catalog_graph = instance.uris.portal_graph("catalog")
    result = instance.store.query(f"""
        PREFIX dcat: <http://www.w3.org/ns/dcat#>
        CONSTRUCT {{ ?s ?p ?o }} WHERE {{
          {{ GRAPH <{catalog_graph}> {{ ?s ?p ?o }} }}
          UNION {{ GRAPH ?g {{ ?s a dcat:Dataset ; ?p ?o }} }}
          UNION {{ GRAPH ?g {{ ?d a dcat:Dataset ; dcat:distribution ?s . ?s ?p ?o }} }}
        }}""", graph_format="turtle")
    return Response(result.body, mimetype="text/turtle")
