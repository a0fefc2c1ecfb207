"""Triple stores behind one protocol, at the level of SPARQL and whole named graphs.

Backends are registered by name and imported only when chosen:
``oxigraph`` (embedded pyoxigraph on disk, the default) and ``sparql`` (any SPARQL 1.1
Query + Update + Graph Store Protocol endpoint).
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol, runtime_checkable

QueryKind = Literal["bindings", "boolean", "graph"]

#: The formats a backend must answer in are those of `portal.formats`: `RESULTS_FORMATS` for SELECT
#: and ASK, `RDF_FORMATS` for CONSTRUCT and DESCRIBE, both by short name (``json``, ``turtle`` …).


@dataclass(frozen=True)
class QueryResult:
    """A serialised query answer: what kind it is, its body and media type."""

    kind: QueryKind
    body: bytes
    media_type: str

    def json(self) -> Any:
        """The body parsed as SPARQL JSON results (bindings or boolean answers only)."""
        if not self.media_type.startswith("application/sparql-results+json"):
            raise ValueError(f"not a SPARQL JSON result: {self.media_type}")
        return json.loads(self.body)


#: What a graph's new content may be given as: N-Triples bytes, one N-Triples file, or several
#: files whose concatenation is the graph (a dataset record plus its converted tables).
GraphContent = bytes | Path | Sequence[Path]


@runtime_checkable
class TripleStore(Protocol):
    """What the portal needs of a triple store.

    Queries see the union of all named graphs as their default graph, unless `default_graphs`
    names the graphs to use instead; `named_graphs` limits what `GRAPH ?g` ranges over.
    """

    def query(self, sparql: str, *, bindings_format: str = "json", graph_format: str = "turtle",
              default_graphs: Sequence[str] | None = None,
              named_graphs: Sequence[str] | None = None) -> QueryResult:
        """Run a SPARQL 1.1 query; SELECT/ASK answer in `bindings_format`, CONSTRUCT/DESCRIBE in `graph_format`."""
        ...

    def replace_graph(self, graph: str, content: GraphContent) -> bool:
        """Make `graph` hold exactly `content` (N-Triples), streamed; readers see the old or the new graph,
        never half. Returns False when the graph already held exactly that content (nothing written)."""
        ...

    def replace_graphs(self, contents: Mapping[str, GraphContent]) -> set[str]:
        """`replace_graph` for many graphs at once (in one step where the store can); returns the
        graphs whose content changed."""
        ...

    def drop_graph(self, graph: str) -> None:
        """Withdraw a named graph if it exists (readers switch in one step)."""
        ...

    def graph_ntriples(self, graph: str) -> bytes:
        """The content of a named graph as N-Triples (empty when it does not exist)."""
        ...

    def graphs(self) -> list[str]:
        """The IRIs of all non-empty named graphs."""
        ...

    def close(self) -> None:
        """Release the store."""
        ...


def select_rows(store: TripleStore, sparql: str) -> list[dict[str, str]]:
    """Run a SELECT and return each solution as {variable: lexical value}."""
    result = store.query(sparql, bindings_format="json")
    data = result.json()
    return [{k: v["value"] for k, v in row.items()} for row in data["results"]["bindings"]]


def ask(store: TripleStore, sparql: str) -> bool:
    """Run an ASK query."""
    return bool(store.query(sparql, bindings_format="json").json()["boolean"])


BACKENDS = {
    "oxigraph": "portal.store.oxigraph:OxigraphStore",
    "sparql": "portal.store.sparql_http:SparqlHttpStore",
}


def backend(name: str) -> type:
    """Import and return the store class registered under `name`."""
    try:
        module_name, class_name = BACKENDS[name].split(":")
    except KeyError:
        raise KeyError(f"unknown store backend {name!r}; known: {', '.join(BACKENDS)}") from None
    return getattr(importlib.import_module(module_name), class_name)
