"""A remote store: any SPARQL 1.1 Query + Update + Graph Store Protocol endpoint over HTTP.

This is how a portal that outgrows one machine runs on Oxigraph server, Virtuoso, GraphDB or
Fuseki, and how CLI commands reach the store owned by a running `lodestar serve`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path

import requests

from portal.errors import StoreError, UsageError
from portal.store import BINDINGS_FORMATS, GRAPH_FORMATS, QueryResult


class SparqlHttpStore:
    """Talks the SPARQL 1.1 Protocol and Graph Store Protocol to one endpoint."""

    def __init__(self, query_url: str, update_url: str | None = None, graph_url: str | None = None,
                 *, headers: Mapping[str, str] | None = None, timeout: float = 30.0) -> None:
        self.query_url = query_url
        self.update_url = update_url or query_url.replace("/query", "/update")
        self.graph_url = graph_url or query_url.replace("/query", "/store")
        self.timeout = timeout
        self.headers = dict(headers or {})
        self._local = threading.local()

    @property
    def session(self) -> requests.Session:
        """This thread's HTTP session (sessions are not shared between threads)."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.headers.update(self.headers)
        return session

    def _call(self, method: str, url: str, **kwargs: object) -> requests.Response:
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)  # type: ignore[arg-type]
        except requests.RequestException as exc:
            raise StoreError(f"store endpoint {url} unreachable: {exc}") from exc
        if response.status_code == 400:
            raise UsageError(f"store endpoint refused the request: {response.text[:500]}")
        if response.status_code >= 300 and not (method == "GET" and response.status_code == 404):
            raise StoreError(f"store endpoint {url} answered {response.status_code}: {response.text[:500]}")
        return response

    def query(self, sparql: str, *, bindings_format: str = "json",
              graph_format: str = "turtle") -> QueryResult:
        """POST the query and keep the answer's body as served."""
        accept = f"{BINDINGS_FORMATS[bindings_format]}, {GRAPH_FORMATS[graph_format]};q=0.9"
        response = self._call("POST", self.query_url, data=sparql.encode("utf-8"),
                              headers={"Content-Type": "application/sparql-query", "Accept": accept})
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        if media_type in GRAPH_FORMATS.values():
            return QueryResult("graph", response.content, media_type)
        kind = "bindings"
        if media_type == BINDINGS_FORMATS["json"] and b'"boolean"' in response.content[:200]:
            kind = "boolean"
        return QueryResult(kind, response.content, media_type)  # type: ignore[arg-type]

    def update(self, sparql: str) -> None:
        """POST a SPARQL Update request."""
        self._call("POST", self.update_url, data=sparql.encode("utf-8"),
                   headers={"Content-Type": "application/sparql-update"})

    def replace_graph(self, graph: str, ntriples: Path | bytes) -> None:
        """Graph Store Protocol PUT: the endpoint replaces the graph in one step."""
        data = ntriples.read_bytes() if isinstance(ntriples, Path) else ntriples
        self._call("PUT", self.graph_url, params={"graph": graph}, data=data,
                   headers={"Content-Type": "application/n-triples"})

    def drop_graph(self, graph: str) -> None:
        """Drop the graph with a SPARQL Update (silent when absent)."""
        self.update(f"DROP SILENT GRAPH <{graph}>")

    def graph_ntriples(self, graph: str) -> bytes:
        """Graph Store Protocol GET in N-Triples."""
        response = self._call("GET", self.graph_url, params={"graph": graph},
                              headers={"Accept": "application/n-triples"})
        return b"" if response.status_code == 404 else response.content

    def graphs(self) -> list[str]:
        """The named graphs, by SPARQL."""
        result = self.query("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?g")
        return [row["g"]["value"] for row in result.json()["results"]["bindings"]]

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()
