"""The query worker process: evaluates public SPARQL queries over a read-only view of the store.

It runs in its own process (started with 'spawn' by `portal.query_pool`), so a parser crash,
a runaway query or a memory blow-up ends only this process. It answers one job at a time, caps
the rows it serialises, lets go of old store generations while idle, and ends itself as soon
as the portal that started it is gone.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import resource
import signal
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import pyoxigraph as ox

from portal.errors import PortalError, UsageError
from portal.formats import rdf_format, results_format
from portal.store import QueryKind, QueryResult

log = logging.getLogger(__name__)

#: Seconds without a job after which an idle worker lets go of an old store generation.
IDLE_REFRESH = 2.0
#: How often a worker checks that the portal that started it still runs.
PARENT_CHECK = 0.5
#: How much lower than the web process a worker runs (a niceness, 0–19).
WORKER_NICENESS = 5
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


@dataclass(frozen=True)
class QueryJob:
    """One public query as a worker receives it (relative IRIs resolve against `base_iri`).

    With neither `default_graphs` nor `named_graphs` the query sees the union of all graphs as its
    default graph and every graph by name; with either, the dataset is exactly what they list.
    """

    sparql: str
    default_graphs: tuple[str, ...] | None = None
    named_graphs: tuple[str, ...] | None = None
    results_format: str = "json"
    rdf_format: str = "turtle"
    max_rows: int = 10_000
    base_iri: str | None = None


@dataclass(frozen=True)
class CappedResult(QueryResult):
    """A serialised answer that says whether the row cap cut it short, and at how many rows."""

    truncated: bool = False
    row_limit: int | None = None


def term_json(term: Any) -> dict[str, Any]:
    """An RDF term in the SPARQL 1.1 Query Results JSON encoding (with SPARQL 1.2's triple terms)."""
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Triple):
        return {"type": "triple", "value": {"subject": term_json(term.subject),
                                            "predicate": term_json(term.predicate),
                                            "object": term_json(term.object)}}
    encoded: dict[str, Any] = {"type": "literal", "value": term.value}
    if term.language:
        encoded["xml:lang"] = term.language
        if term.direction is not None:
            encoded["its:dir"] = "rtl" if term.direction == ox.BaseDirection.RTL else "ltr"
    elif term.datatype.value != _XSD_STRING:
        encoded["datatype"] = term.datatype.value
    return encoded


def solutions_json(variables: list[str], rows: list[Any], *, truncated: bool = False,
                   limit: int | None = None) -> bytes:
    """SELECT solutions as SPARQL JSON results; a truncated answer says so in a `lodestar` member.

    The member sits between ``head`` and ``results``: JSON results parsers skip members they do
    not know, and streaming ones (pyoxigraph's) stop reading after ``results``.
    """
    document: dict[str, Any] = {"head": {"vars": variables}}
    if truncated:
        document["lodestar"] = {"truncated": True, "limit": limit}
    document["results"] = {"bindings": [
        {name: term_json(value) for name, value in zip(variables, row) if value is not None} for row in rows]}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def evaluate(store: ox.Store, job: QueryJob) -> CappedResult:
    """Run one job on `store` and serialise at most `job.max_rows` solutions or triples."""
    options: dict[str, Any] = {"base_iri": job.base_iri}
    if job.default_graphs is None and job.named_graphs is None:
        options["use_default_graph_as_union"] = True
    else:
        options["default_graph"] = [ox.NamedNode(g) for g in job.default_graphs or ()]
        options["named_graphs"] = [ox.NamedNode(g) for g in job.named_graphs or ()]
    answer = store.query(job.sparql, **options)
    cap = job.max_rows
    if isinstance(answer, ox.QueryBoolean):
        fmt = results_format(job.results_format)
        return CappedResult("boolean", answer.serialize(format=fmt.results) or b"", fmt.media_type)
    if isinstance(answer, ox.QueryTriples):
        graph = rdf_format(job.rdf_format)
        triples = list(itertools.islice(answer, cap + 1))
        truncated = len(triples) > cap
        body = ox.serialize(triples[:cap], format=graph.rdf) or b""
        return CappedResult("graph", body, graph.media_type, truncated, cap)
    fmt = results_format(job.results_format)
    variables = [v.value for v in answer.variables]
    rows = list(itertools.islice(answer, cap + 1))
    truncated = len(rows) > cap
    del rows[cap:]
    if fmt.name == "json":
        body = solutions_json(variables, rows, truncated=truncated, limit=cap)
    else:  # pyoxigraph's own serialisers, fed the capped solutions
        parsed = ox.parse_query_results(solutions_json(variables, rows), format=ox.QueryResultsFormat.JSON)
        body = parsed.serialize(format=fmt.results) or b""
    kind: QueryKind = "bindings"
    return CappedResult(kind, body, fmt.media_type, truncated, cap)


def answer(store: ox.Store, job: QueryJob) -> tuple[str, Any]:
    """The reply to send back: ("ok", result), or (error kind, message) for a clean error."""
    try:
        return "ok", evaluate(store, job)
    except SyntaxError as exc:
        return "usage", f"SPARQL syntax error: {exc}"
    except (UsageError, ValueError) as exc:
        return "usage", str(exc)
    except RuntimeError as exc:  # pyoxigraph's evaluation errors: an unsupported function, say
        return "usage", f"the query cannot be evaluated: {exc}"
    except (OSError, PortalError) as exc:
        return "store", str(exc)
    except Exception as exc:  # anything else still gets an answer; the worker goes on
        log.exception("query failed")
        return "error", f"{type(exc).__name__}: {exc}"


def _watch_parent(parent: int) -> None:
    """End this process when the portal that started it is gone (even in the middle of a query)."""
    while True:
        if os.getppid() != parent:
            os._exit(1)
        time.sleep(PARENT_CHECK)


def serve_jobs(store_path: str, conn: Connection, parent: int) -> None:
    """The worker's main loop: answer jobs from `conn` until it closes or sends None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is for the portal; it stops the workers
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a killed or crashed worker leaves no core file
    os.nice(WORKER_NICENESS)  # pages and health checks of the web process come first
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True, name="parent-watch").start()
    from portal.store.oxigraph import StoreReader

    reader = StoreReader(store_path)
    try:
        while True:
            if not conn.poll(IDLE_REFRESH):
                try:
                    reader.refresh()
                except PortalError as exc:
                    log.warning("store refresh failed: %s", exc)
                continue
            try:
                job = conn.recv()
            except EOFError:
                return
            if job is None:
                return
            try:
                store = reader.store()
            except PortalError as exc:
                conn.send(("store", str(exc)))
                continue
            conn.send(answer(store, job))
    finally:
        reader.close()
