"""The embedded default store: pyoxigraph on disk, one writer process, many reader threads."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox

from portal.errors import StoreBusyError, StoreError, UsageError
from portal.store import BINDINGS_FORMATS, GRAPH_FORMATS, QueryKind, QueryResult

_BINDINGS = {
    "json": ox.QueryResultsFormat.JSON,
    "xml": ox.QueryResultsFormat.XML,
    "csv": ox.QueryResultsFormat.CSV,
    "tsv": ox.QueryResultsFormat.TSV,
}
_GRAPHS = {
    "turtle": ox.RdfFormat.TURTLE,
    "ntriples": ox.RdfFormat.N_TRIPLES,
    "rdfxml": ox.RdfFormat.RDF_XML,
    "nquads": ox.RdfFormat.N_QUADS,
    "jsonld": ox.RdfFormat.JSON_LD,
}


def _is_lock_error(exc: OSError) -> bool:
    text = str(exc).lower()
    return "lock" in text and ("hold" in text or "resource temporarily unavailable" in text
                               or "no locks available" in text)


def _has_blank_nodes(triples: list[ox.Triple]) -> bool:
    return any(isinstance(t.subject, ox.BlankNode) or isinstance(t.object, ox.BlankNode) for t in triples)


class OxigraphStore:
    """A pyoxigraph `Store` in a folder; the process that opens it owns it until `close`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        try:
            self._store: ox.Store | None = ox.Store(str(self.path))
        except OSError as exc:
            if _is_lock_error(exc):
                raise StoreBusyError(f"the store in {self.path} is open in another process") from exc
            raise StoreError(f"cannot open the store in {self.path}: {exc}") from exc

    @property
    def store(self) -> ox.Store:
        """The underlying pyoxigraph store (open)."""
        if self._store is None:
            raise StoreError(f"the store in {self.path} is closed")
        return self._store

    def query(self, sparql: str, *, bindings_format: str = "json",
              graph_format: str = "turtle") -> QueryResult:
        """Run a SPARQL query and serialise its answer."""
        try:
            answer = self.store.query(sparql, use_default_graph_as_union=True)
        except SyntaxError as exc:
            raise UsageError(f"SPARQL syntax error: {exc}") from exc
        except OSError as exc:
            raise StoreError(f"query failed: {exc}") from exc
        if isinstance(answer, ox.QueryTriples):
            return QueryResult("graph", answer.serialize(format=_GRAPHS[graph_format]) or b"",
                               GRAPH_FORMATS[graph_format])
        kind: QueryKind = "boolean" if isinstance(answer, ox.QueryBoolean) else "bindings"
        body = answer.serialize(format=_BINDINGS[bindings_format]) or b""
        return QueryResult(kind, body, BINDINGS_FORMATS[bindings_format])

    def update(self, sparql: str) -> None:
        """Run a SPARQL Update request; Oxigraph applies it in one transaction."""
        try:
            self.store.update(sparql)
        except SyntaxError as exc:
            raise UsageError(f"SPARQL Update syntax error: {exc}") from exc
        except OSError as exc:
            raise StoreError(f"update failed: {exc}") from exc

    def replace_graph(self, graph: str, ntriples: Path | bytes) -> None:
        """Make `graph` hold exactly the given triples, in one update transaction.

        Only the difference is written: Oxigraph deletes quads one index entry at a time, so
        dropping and refilling a big graph costs far more than a re-harvest that changed a few
        rows. Graphs with blank nodes (which DELETE DATA cannot name) are dropped and refilled.
        Malformed input is refused before the store is touched.
        """
        data = ntriples.read_bytes() if isinstance(ntriples, Path) else ntriples
        try:
            new = list(ox.parse(data, format=ox.RdfFormat.N_TRIPLES))
        except SyntaxError as exc:
            raise StoreError(f"invalid N-Triples for <{graph}>: {exc}") from exc
        target = ox.NamedNode(graph)
        old = list(ox.parse(self.store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=target) or b"",
                            format=ox.RdfFormat.N_TRIPLES))
        if _has_blank_nodes(new) or _has_blank_nodes(old):
            body = "\n".join(f"{t} ." for t in new)
            self.update(f"DROP SILENT GRAPH <{graph}> ;\nINSERT DATA {{ GRAPH <{graph}> {{\n{body}\n}} }}")
            return
        old_lines, new_lines = {str(t) for t in old}, {str(t) for t in new}
        removed, added = old_lines - new_lines, new_lines - old_lines
        if not removed and not added:
            return
        steps = []
        if removed:
            steps.append(f"DELETE DATA {{ GRAPH <{graph}> {{\n" + " .\n".join(removed) + " .\n} }")
        if added:
            steps.append(f"INSERT DATA {{ GRAPH <{graph}> {{\n" + " .\n".join(added) + " .\n} }")
        self.update(" ;\n".join(steps))

    def drop_graph(self, graph: str) -> None:
        """Remove `graph` if present."""
        self.update(f"DROP SILENT GRAPH <{graph}>")

    def graph_ntriples(self, graph: str) -> bytes:
        """Serialise one named graph as N-Triples."""
        quads = self.store.quads_for_pattern(None, None, None, ox.NamedNode(graph))
        return ox.serialize((ox.Triple(q.subject, q.predicate, q.object) for q in quads),
                            format=ox.RdfFormat.N_TRIPLES) or b""

    def graphs(self) -> list[str]:
        """IRIs of the named graphs."""
        return sorted(g.value for g in self.store.named_graphs() if isinstance(g, ox.NamedNode))

    def close(self) -> None:
        """Flush and release the on-disk store (and its lock)."""
        if self._store is not None:
            self._store.flush()
            self._store = None
