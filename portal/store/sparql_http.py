"""A remote store: any SPARQL 1.1 Query + Update + Graph Store Protocol endpoint over HTTP.

This is how a portal that outgrows one machine runs on Oxigraph server, Virtuoso, GraphDB or
Fuseki, and how CLI commands reach the store owned by a running `lodestar serve`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from portal.egress import CHUNK, Body, Egress, Params, Reply
from portal.errors import SourceError, StoreError, UsageError
from portal.formats import RDF_FORMATS, rdf_format, results_format
from portal.store import GraphContent, QueryResult


def _file_chunks(paths: Sequence[Path]) -> Iterator[bytes]:
    """The files' bytes one after the other, a chunk at a time; a line break between files if missing."""
    for path in paths:
        last = b"\n"
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(CHUNK), b""):
                last = chunk[-1:]
                yield chunk
        if last != b"\n":
            yield b"\n"


class SparqlHttpStore:
    """Talks the SPARQL 1.1 Protocol and Graph Store Protocol to one endpoint."""

    def __init__(self, query_url: str, update_url: str | None = None, graph_url: str | None = None,
                 *, headers: Mapping[str, str] | None = None, timeout: float = 30.0,
                 egress: Egress | None = None) -> None:
        self.query_url = query_url
        self.update_url = update_url or query_url.replace("/query", "/update")
        self.graph_url = graph_url or query_url.replace("/query", "/store")
        self.headers = dict(headers or {})
        # The store's URLs come from the administrator's settings (or from this portal's own
        # announcement in the instance folder), never from harvested data, so they are trusted:
        # a store usually listens on loopback or the LAN, hence private addresses are allowed.
        # Replacing a large graph may rightly take long, so there is no whole-request deadline
        # and no size cap; every read still gives up after `timeout` seconds without data.
        self.egress = egress or Egress(allow_private_addresses=True, read_timeout=timeout,
                                       connect_timeout=min(10.0, timeout), deadline=None, max_bytes=None)

    def _call(self, method: str, url: str, *, params: Params | None = None, data: Body | None = None,
              headers: Mapping[str, str] | None = None) -> Reply:
        try:
            reply = self.egress.request(method, url, params=params, data=data,
                                        headers={**self.headers, **(headers or {})})
        except SourceError as exc:
            raise StoreError(f"store endpoint {url} unreachable: {exc}") from exc
        if reply.status == 400:
            raise UsageError(f"store endpoint refused the request: {reply.text[:500]}")
        if reply.status >= 300 and not (method == "GET" and reply.status == 404):
            raise StoreError(f"store endpoint {url} answered {reply.status}: {reply.text[:500]}")
        return reply

    def query(self, sparql: str, *, bindings_format: str = "json", graph_format: str = "turtle",
              default_graphs: Sequence[str] | None = None,
              named_graphs: Sequence[str] | None = None) -> QueryResult:
        """POST the query, graphs as `default-graph-uri`/`named-graph-uri`; keep the body as served."""
        results, graph = results_format(bindings_format), rdf_format(graph_format)
        accept = f"{results.media_type}, {graph.media_type};q=0.9"
        params = ([("default-graph-uri", g) for g in default_graphs or ()]
                  + [("named-graph-uri", g) for g in named_graphs or ()])
        reply = self._call("POST", self.query_url, params=params, data=sparql.encode("utf-8"),
                           headers={"Content-Type": "application/sparql-query", "Accept": accept})
        body = reply.read()
        if reply.media_type in {f.media_type for f in RDF_FORMATS.values()}:
            return QueryResult("graph", body, reply.media_type)
        kind = "bindings"
        if reply.media_type == results_format("json").media_type and b'"boolean"' in body[:200]:
            kind = "boolean"
        return QueryResult(kind, body, reply.media_type)  # type: ignore[arg-type]

    def update(self, sparql: str) -> None:
        """POST a SPARQL Update request."""
        self._call("POST", self.update_url, data=sparql.encode("utf-8"),
                   headers={"Content-Type": "application/sparql-update"})

    def replace_graph(self, graph: str, content: GraphContent) -> bool:
        """Graph Store Protocol PUT of N-Triples (files streamed); the endpoint swaps the graph at once."""
        data: Body
        if isinstance(content, bytes):
            data = content
        else:
            paths = [content] if isinstance(content, Path) else list(content)
            data = functools.partial(_file_chunks, paths)  # made afresh for a retry
        self._call("PUT", self.graph_url, params={"graph": graph}, data=data,
                   headers={"Content-Type": "application/n-triples"})
        return True

    def replace_graphs(self, contents: Mapping[str, GraphContent]) -> set[str]:
        """One Graph Store Protocol PUT per graph (the protocol has no batch)."""
        return {graph for graph, content in contents.items() if self.replace_graph(graph, content)}

    def drop_graph(self, graph: str) -> None:
        """Drop the graph with a SPARQL Update (silent when absent)."""
        self.update(f"DROP SILENT GRAPH <{graph}>")

    def graph_ntriples(self, graph: str) -> bytes:
        """Graph Store Protocol GET in N-Triples."""
        reply = self._call("GET", self.graph_url, params={"graph": graph},
                           headers={"Accept": "application/n-triples"})
        return b"" if reply.status == 404 else reply.read()

    def graphs(self) -> list[str]:
        """The named graphs, by SPARQL."""
        result = self.query("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?g")
        return [row["g"]["value"] for row in result.json()["results"]["bindings"]]

    def close(self) -> None:
        """Close the HTTP sessions."""
        self.egress.close()
