"""Human pages of the catalogue and their machine-readable twins."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, render_template

from portal.formats import DOCUMENT_FORMATS, Format
from portal.listing import dataset_detail, dataset_record_graph, list_datasets
from portal.report import Report
from portal.web import get_instance
from portal.web.negotiation import SUFFIX_PATTERN, rdf_choice

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
    choice = rdf_choice(None, others=("text/html", "application/json"))
    if isinstance(choice, Format):
        return dataset_rdf(publisher, slug, choice.suffix)
    if choice == "application/json":
        return dataset_json(publisher, slug)
    detail = dataset_detail(get_instance(), publisher, slug)
    return render_template("dataset.html", d=detail, checks=[_check(r) for r in detail["resources"]])


def _check(resource: dict[str, Any]) -> dict[str, Any] | None:
    """A resource's stored report as the page shows it: the same totals and per-code counts as
    the CLI and the JSON, the path that checked it, and whether a last valid version stays published."""
    if not resource.get("validation"):
        return None
    report = Report.from_dict(resource["validation"])
    stats = report.stats
    return {"valid": report.valid, "totals": report.totals(), "summary": report.summary(),
            "issues": report.issues, "stats": stats, "engine": stats.get("engine", "frictionless"),
            "engine_reason": stats.get("engine_reason"), "partial": bool(stats.get("partial")),
            "header": stats.get("header"),
            "published_beside": (not report.valid and resource.get("published_version") is not None
                                 and resource["published_version"] != resource.get("content_hash"))}


@bp.get(f"/dataset/<publisher>/<slug>.<{SUFFIX_PATTERN}:suffix>")
def dataset_rdf(publisher: str, slug: str, suffix: str) -> Response:
    """The dataset's DCAT-AP record in Turtle, JSON-LD, N-Triples or RDF/XML."""
    fmt = DOCUMENT_FORMATS[suffix]
    graph = dataset_record_graph(get_instance(), publisher, slug)
    response = Response(graph.serialize(format=fmt.rdflib, encoding="utf-8"), mimetype=fmt.media_type)
    response.headers["Vary"] = "Accept"
    return response


@bp.get("/dataset/<publisher>/<slug>.json")
def dataset_json(publisher: str, slug: str) -> Response:
    """The dataset page as JSON."""
    return jsonify(dataset_detail(get_instance(), publisher, slug))


@bp.get("/catalog")
@bp.get(f"/catalog.<{SUFFIX_PATTERN}:suffix>")
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
        }}""", graph_format=_graph_format(suffix))
    response = Response(result.body, mimetype=result.media_type)
    response.headers["Vary"] = "Accept"
    return response


def _graph_format(suffix: str | None) -> str:
    """The RDF format's name for a suffix or the Accept header; Turtle when nothing fits."""
    choice = rdf_choice(suffix, others=())
    return choice.name if isinstance(choice, Format) else "turtle"
