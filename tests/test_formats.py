"""The one format registry: its table agrees with pyoxigraph and rdflib, negotiation follows the
Accept header (werkzeug's parsing), and the query workers' capped serialisations are exact."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from rdflib.query import Result, ResultParser
from rdflib.serializer import Serializer

from portal.errors import UsageError
from portal.formats import (DOCUMENT_FORMATS, RDF_FORMATS, RESULTS_FORMATS, Format, by_media_type, by_suffix, find,
                            negotiate_rdf, negotiate_results)
from portal.query_pool.worker import QueryJob, evaluate, solutions_json

ALL = [*RDF_FORMATS.values(), *RESULTS_FORMATS.values()]


@pytest.mark.parametrize("fmt", ALL, ids=lambda f: f.name)
def test_the_table_agrees_with_pyoxigraph_and_rdflib(fmt: Format) -> None:
    assert fmt.oxigraph.media_type.startswith(fmt.media_type)
    for media_type in fmt.media_types:
        assert by_media_type(media_type, fmt.kind) is fmt
        assert by_media_type(f"{media_type}; charset=utf-8", fmt.kind) is fmt
    assert by_suffix(fmt.suffix, fmt.kind) is fmt
    assert find(fmt.name, fmt.kind) is find(fmt.media_type, fmt.kind) is find(fmt.suffix, fmt.kind) is fmt
    rdflib.plugin.get(fmt.rdflib, Serializer if fmt.kind == "rdf" else ResultParser)


def test_the_names_the_stores_and_callers_use() -> None:
    assert list(RESULTS_FORMATS) == ["json", "xml", "csv", "tsv"]
    assert list(RDF_FORMATS) == ["turtle", "ntriples", "rdfxml", "jsonld", "nquads"]
    assert list(DOCUMENT_FORMATS) == ["ttl", "jsonld", "nt", "rdf"]
    assert RESULTS_FORMATS["csv"].content_type == "text/csv; charset=utf-8"
    assert RDF_FORMATS["jsonld"].content_type == "application/ld+json"


@pytest.mark.parametrize("accept, expected", [
    (None, "turtle"),
    ("", "turtle"),
    ("*/*", "turtle"),
    ("text/turtle", "turtle"),
    ("application/x-turtle", "turtle"),
    ("application/n-triples;q=0.5, text/turtle;q=0.4", "ntriples"),
    ("application/*", "ntriples"),
    ("application/json", "jsonld"),
    ("text/xml", "rdfxml"),
    ("image/png", "turtle"),
    ("text/turtle;q=0, */*;q=0.1", "ntriples"),
    ("application/n-quads, application/ld+json;q=0.9", "nquads"),
])
def test_rdf_negotiation(accept: str | None, expected: str) -> None:
    assert negotiate_rdf(accept) is RDF_FORMATS[expected]


@pytest.mark.parametrize("accept, expected", [
    (None, "json"),
    ("*/*", "json"),
    ("application/sparql-results+xml", "xml"),
    ("application/xml", "xml"),
    ("application/json", "json"),
    ("text/*", "csv"),
    ("text/tab-separated-values, text/csv;q=0.9", "tsv"),
    ("text/turtle", "json"),  # SELECT has no Turtle: the default
])
def test_results_negotiation(accept: str | None, expected: str) -> None:
    assert negotiate_results(accept) is RESULTS_FORMATS[expected]


def test_other_offers_suffixes_and_explicit_names() -> None:
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    assert negotiate_rdf(browser, others=("text/html",)) == "text/html"
    assert negotiate_rdf("*/*", others=("text/html",)) == "text/html"  # ties go to the page
    assert negotiate_rdf("application/json", others=("text/html", "application/json")) == "application/json"
    assert negotiate_rdf("application/ld+json", others=("text/html",)) is RDF_FORMATS["jsonld"]
    assert negotiate_rdf("text/html", suffix="nt", others=("text/html",)) is RDF_FORMATS["ntriples"]
    only_documents = DOCUMENT_FORMATS.values()
    assert negotiate_rdf("application/n-quads", others=("text/html",), offered=only_documents) == "text/html"
    assert negotiate_rdf(None, explicit="text/turtle") is negotiate_rdf(None, explicit="ttl") is RDF_FORMATS["turtle"]
    assert negotiate_results("application/json", explicit="tsv") is RESULTS_FORMATS["tsv"]
    for bad in (lambda: negotiate_rdf(None, suffix="png"), lambda: negotiate_rdf(None, explicit="png"),
                lambda: negotiate_results(None, explicit="png")):
        with pytest.raises(UsageError):
            bad()


# -- what the workers serialise ------------------------------------------------------------

EX = "http://example.org/"
TRICKY = [
    ox.NamedNode(f"{EX}ünïcode/é?q=1#f"),
    ox.BlankNode("b0"),
    ox.Literal('quote " backslash \\ newline \n return \r tab \t control \x01 emoji 🙂 <tag> & ;,'),
    ox.Literal("colour", language="en-GB"),
    ox.Literal("مرحبا", language="ar", direction=ox.BaseDirection.RTL),
    ox.Literal("42", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")),
    ox.Literal("x", datatype=ox.NamedNode(f"{EX}dt")),
    ox.Literal(""),
    ox.Triple(ox.NamedNode(f"{EX}s"), ox.NamedNode(f"{EX}p"), ox.Literal("quoted", language="fr")),
]


@pytest.fixture
def store() -> ox.Store:
    """An in-memory store with one tricky term per subject, and one subject without a label."""
    store = ox.Store()
    graph = ox.NamedNode(f"{EX}graph")
    for i, term in enumerate(TRICKY):
        store.add(ox.Quad(ox.NamedNode(f"{EX}thing/{i}"), ox.NamedNode(f"{EX}value"), term, graph))
        store.add(ox.Quad(ox.NamedNode(f"{EX}thing/{i}"), ox.NamedNode(f"{EX}label"), ox.Literal(f"#{i}"), graph))
    store.add(ox.Quad(ox.NamedNode(f"{EX}thing/unlabelled"), ox.NamedNode(f"{EX}value"), ox.Literal("u"), graph))
    return store


SELECT = f"SELECT ?s ?v ?label WHERE {{ ?s <{EX}value> ?v OPTIONAL {{ ?s <{EX}label> ?label }} }} ORDER BY ?s"


@pytest.mark.parametrize("name", RESULTS_FORMATS)
def test_capped_select_answers_match_pyoxigraphs_own(store: ox.Store, name: str) -> None:
    fmt = RESULTS_FORMATS[name]
    ours = evaluate(store, QueryJob(SELECT, results_format=name))
    theirs = store.query(SELECT, use_default_graph_as_union=True).serialize(format=fmt.results)
    assert not ours.truncated and ours.media_type == fmt.media_type
    if name == "json":
        assert json.loads(ours.body) == json.loads(theirs)
    else:
        assert ours.body == theirs


def solutions(body: bytes, fmt: ox.QueryResultsFormat) -> list[list[object]]:
    """The solutions of a serialised answer, as pyoxigraph parses them back."""
    parsed = ox.parse_query_results(body, format=fmt)
    assert isinstance(parsed, ox.QuerySolutions)
    return [list(solution) for solution in parsed]


def test_the_json_serialiser_round_trips_through_pyoxigraph_and_rdflib(store: ox.Store) -> None:
    rows = [list(s) for s in store.query(SELECT, use_default_graph_as_union=True)]
    body = solutions_json(["s", "v", "label"], rows, truncated=True, limit=len(rows))
    assert solutions(body, ox.QueryResultsFormat.JSON) == rows
    assert json.loads(body)["lodestar"] == {"truncated": True, "limit": len(rows)}
    plain = [row for row in rows if not isinstance(row[1], ox.Triple)]  # rdflib reads no triple terms
    parsed = Result.parse(io.BytesIO(solutions_json(["s", "v", "label"], plain, truncated=True, limit=1)),
                          format="json")
    assert len(parsed.bindings) == len(plain) == len(rows) - 1
    by_subject = {str(b[rdflib.Variable("s")]): b for b in parsed.bindings}
    quoted = by_subject[f"{EX}thing/2"][rdflib.Variable("v")]
    assert str(quoted) == TRICKY[2].value
    assert rdflib.Variable("label") not in by_subject[f"{EX}thing/unlabelled"]


def test_the_row_cap_cuts_and_says_so(store: ox.Store) -> None:
    capped = evaluate(store, QueryJob(SELECT, max_rows=3))
    assert capped.truncated and capped.row_limit == 3
    data = json.loads(capped.body)
    assert data["lodestar"] == {"truncated": True, "limit": 3} and len(data["results"]["bindings"]) == 3
    assert len(solutions(capped.body, ox.QueryResultsFormat.JSON)) == 3
    as_tsv = evaluate(store, QueryJob(SELECT, results_format="tsv", max_rows=3))
    assert as_tsv.truncated and len(solutions(as_tsv.body, ox.QueryResultsFormat.TSV)) == 3
    exact = evaluate(store, QueryJob(SELECT, max_rows=len(TRICKY) + 1))
    assert not exact.truncated and "lodestar" not in json.loads(exact.body)
    graph = evaluate(store, QueryJob("CONSTRUCT WHERE { ?s ?p ?o }", rdf_format="ntriples", max_rows=5))
    assert graph.truncated and graph.kind == "graph"
    assert len(list(ox.parse(graph.body, format=ox.RdfFormat.N_TRIPLES))) == 5
    boolean = evaluate(store, QueryJob("ASK { ?s ?p ?o }", results_format="xml"))
    assert boolean.kind == "boolean" and not boolean.truncated and b"<boolean>true</boolean>" in boolean.body


@pytest.mark.parametrize("name", RDF_FORMATS)
def test_graph_answers_parse_back(store: ox.Store, name: str) -> None:
    fmt = RDF_FORMATS[name]
    query = f"CONSTRUCT {{ ?s <{EX}value> ?v }} WHERE {{ ?s <{EX}value> ?v FILTER(!isTriple(?v)) }}"
    answer = evaluate(store, QueryJob(query, rdf_format=name))
    assert answer.media_type == fmt.media_type
    assert len(list(ox.parse(answer.body, format=fmt.rdf))) == len(TRICKY)  # nothing lost, whatever the format


def test_the_cli_offers_the_registrys_formats(tmp_path: Path) -> None:
    from portal.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(["query", "ASK {}", "--format", "nquads"])
    assert args.format == "nquads"
    with pytest.raises(SystemExit):
        parser.parse_args(["query", "ASK {}", "--format", "png"])
    query_parser = next(a for a in parser._subparsers._group_actions[0].choices.values()  # type: ignore[union-attr]
                        if a.prog.endswith(" query"))
    [format_action] = [a for a in query_parser._actions if a.dest == "format"]
    assert list(format_action.choices) == [*RESULTS_FORMATS, *RDF_FORMATS]
