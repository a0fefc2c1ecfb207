"""The TripleStore contract, run against every backend.

Backends: the embedded pyoxigraph store (in generations), and a real Oxigraph server reached
over the SPARQL 1.1 Protocol and Graph Store Protocol.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import rdflib
from rdflib.compare import isomorphic

from portal.errors import PortalError, UsageError
from portal.store import TripleStore, ask, select_rows
from portal.store.oxigraph import OxigraphStore
from portal.store.sparql_http import SparqlHttpStore

G1 = "http://lodestar.test/graph/p/one"
G2 = "http://lodestar.test/graph/p/two"


def rows_nt(n: int, tag: str = "v") -> bytes:
    """N-Triples for n subjects, each with one literal tagged so versions can be told apart."""
    return "".join(
        f'<http://lodestar.test/id/p/one/{i}> <http://lodestar.test/def/p/one/value> "{tag}{i}" .\n'
        for i in range(n)).encode()


def count(store: TripleStore, graph: str) -> int:
    rows = select_rows(store, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
    return int(rows[0]["n"])


@pytest.fixture(params=["embedded", "oxigraph-server"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TripleStore]:
    """One fresh, empty store per backend."""
    if request.param == "embedded":
        embedded = OxigraphStore(tmp_path / "store")
        yield embedded
        embedded.close()
    else:
        url = request.getfixturevalue("oxigraph_server")
        remote = SparqlHttpStore(url + "/query", url + "/update", url + "/store")
        remote.update("DROP SILENT ALL")
        yield remote
        remote.close()


def test_replace_then_query(store: TripleStore) -> None:
    store.replace_graph(G1, rows_nt(5))
    assert count(store, G1) == 5
    assert G1 in store.graphs()


def test_replace_leaves_nothing_of_the_old_graph(store: TripleStore) -> None:
    store.replace_graph(G1, rows_nt(10, "old"))
    store.replace_graph(G1, rows_nt(3, "new"))
    values = {r["o"] for r in select_rows(store, f"SELECT ?o WHERE {{ GRAPH <{G1}> {{ ?s ?p ?o }} }}")}
    assert values == {"new0", "new1", "new2"}


def test_replace_touches_no_other_graph(store: TripleStore) -> None:
    store.replace_graph(G1, rows_nt(4))
    store.replace_graph(G2, rows_nt(2))
    store.replace_graph(G1, rows_nt(1))
    assert (count(store, G1), count(store, G2)) == (1, 2)


def test_replace_from_a_file(store: TripleStore, tmp_path: Path) -> None:
    path = tmp_path / "rows.nt"
    path.write_bytes(rows_nt(7))
    store.replace_graph(G1, path)
    assert count(store, G1) == 7


def test_malformed_data_is_refused_and_the_old_graph_kept(store: TripleStore) -> None:
    store.replace_graph(G1, rows_nt(3))
    with pytest.raises(PortalError):
        store.replace_graph(G1, rows_nt(2) + b"<http://x/s> <http://x/p> \"unterminated .\n")
    assert count(store, G1) == 3


def test_drop_graph(store: TripleStore) -> None:
    store.replace_graph(G1, rows_nt(3))
    store.drop_graph(G1)
    store.drop_graph(G1)  # dropping a missing graph is silent
    assert count(store, G1) == 0
    assert G1 not in store.graphs()


def test_graph_round_trip(store: TripleStore) -> None:
    data = (
        b'<http://x/s> <http://x/p> "Stra\\u00DFe \\"quoted\\"\\nline"@de .\n'
        b'<http://x/s> <http://x/q> "42"^^<http://www.w3.org/2001/XMLSchema#integer> .\n'
        b'<http://x/s> <http://x/r> _:b1 .\n_:b1 <http://x/p> "K\xc3\xb6ln \xf0\x9f\x8c\xb3" .\n'
    )
    store.replace_graph(G1, data)
    expected = rdflib.Graph().parse(data=data, format="nt")
    actual = rdflib.Graph().parse(data=store.graph_ntriples(G1), format="nt")
    assert isomorphic(expected, actual)
    assert store.graph_ntriples("http://lodestar.test/graph/none") == b""


def test_default_graph_is_the_union_of_named_graphs(store: TripleStore) -> None:
    store.replace_graph(G1, rows_nt(2))
    store.replace_graph(G2, rows_nt(3, "w"))
    rows = select_rows(store, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    assert int(rows[0]["n"]) == 5


def test_query_kinds(store: TripleStore) -> None:
    store.replace_graph(G1, rows_nt(2))
    assert ask(store, "ASK { ?s ?p \"v1\" }") is True
    assert ask(store, "ASK { ?s ?p \"nope\" }") is False
    graph = store.query("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", graph_format="turtle")
    assert graph.kind == "graph" and graph.media_type == "text/turtle"
    assert len(rdflib.Graph().parse(data=graph.body, format="turtle")) == 2
    csv = store.query("SELECT ?o WHERE { ?s ?p ?o } ORDER BY ?o", bindings_format="csv")
    assert csv.media_type == "text/csv"
    assert csv.body.decode().split() == ["o", "v0", "v1"]


def test_syntax_errors_are_usage_errors(store: TripleStore) -> None:
    with pytest.raises(UsageError):
        store.query("SELEC ?x WHERE { ?x ?y ?z }")


def test_readers_see_the_old_or_the_new_graph_never_half(store: TripleStore) -> None:
    old, new = 300, 700
    store.replace_graph(G1, rows_nt(old, "old"))
    seen: set[int] = set()
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            seen.add(count(store, G1))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i in range(4):
            store.replace_graph(G1, rows_nt(new if i % 2 == 0 else old, f"r{i}"))
    finally:
        stop.set()
        thread.join()
    assert seen <= {old, new}
    assert seen  # the reader did read


def test_replace_with_overlapping_content(store: TripleStore) -> None:
    lines = rows_nt(15).splitlines(keepends=True)
    store.replace_graph(G1, b"".join(lines[:10]))
    store.replace_graph(G1, b"".join(lines[5:]))
    values = {r["o"] for r in select_rows(store, f"SELECT ?o WHERE {{ GRAPH <{G1}> {{ ?s ?p ?o }} }}")}
    assert values == {f"v{i}" for i in range(5, 15)}


def test_replace_a_graph_with_blank_nodes_by_one_without(store: TripleStore) -> None:
    store.replace_graph(G1, b"_:a <http://x/p> _:b .\n_:b <http://x/p> \"leaf\" .\n")
    store.replace_graph(G1, rows_nt(2))
    assert count(store, G1) == 2
    assert not ask(store, 'ASK { ?s ?p "leaf" }')


def test_replace_from_several_files(store: TripleStore, tmp_path: Path) -> None:
    first, second = tmp_path / "a.nt", tmp_path / "b.nt"
    first.write_bytes(rows_nt(3))
    second.write_bytes(rows_nt(6)[len(rows_nt(3)):].rstrip(b"\n"))  # no final newline
    store.replace_graph(G1, [first, second])
    assert count(store, G1) == 6


def test_default_and_named_graphs_select_graphs(store: TripleStore) -> None:
    store.replace_graph(G1, rows_nt(2))
    store.replace_graph(G2, rows_nt(3, "w"))
    query = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    assert int(store.query(query, default_graphs=[G2]).json()["results"]["bindings"][0]["n"]["value"]) == 3
    named = store.query("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }", named_graphs=[G1]).json()
    assert [b["g"]["value"] for b in named["results"]["bindings"]] == [G1]
