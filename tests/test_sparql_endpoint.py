"""`/sparql` over a real waitress server on loopback: the SPARQL 1.1 Protocol, datasets, limits,
and what runaway, crashing, greedy or impatient clients can (not) do to the portal."""

from __future__ import annotations

import http.client
import http.server
import json
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import pytest
from flask import Flask

from portal.config import Settings, load_settings
from portal.instance import Instance
from portal.query_pool import QueryPool, server_threads
from portal.web import create_app
from portal.web.sparql import POOL, close_query_pool
from tests.conftest import BASE_URL, serve_wsgi

ONE, TWO, BIG = (f"{BASE_URL}/graph/test/{name}" for name in ("one", "two", "big"))
#: Four patterns crossed over ~1,500 triples: ~5·10^12 solutions to count, hours of work.
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
ATTACK = "SELECT * WHERE { ?s ?p ?o FILTER(?o<" + "(" * 20000 + "?s>1" + ")" * 20000 + ") }"
LIMITS = {"sparql_timeout": 2.0, "sparql_workers": 3, "sparql_queue": 8, "sparql_client_share": 2,
          "sparql_max_rows": 100, "sparql_worker_memory_mb": 400}


def ntriples(graph: str, count: int) -> bytes:
    """`count` triples about things of `graph`."""
    return "".join(f'<{graph}/thing/{i}> <{BASE_URL}/def/test/value> "{i}" .\n' for i in range(count)).encode()


@dataclass
class Reply:
    """An HTTP answer: status, headers and body."""

    status: int
    headers: Message
    body: bytes

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


@dataclass
class Portal:
    """A portal served by waitress on loopback, with its app and instance."""

    url: str
    app: Flask
    instance: Instance
    threads: list[threading.Thread] = field(default_factory=list)

    def request(self, method: str, path: str, *, body: bytes | str | None = None,
                headers: dict[str, str] | None = None, source: str = "127.0.0.1", timeout: float = 60) -> Reply:
        """One request from a client bound to the loopback address `source`."""
        parts = urlsplit(self.url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout, source_address=(source, 0))
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return Reply(response.status, response.headers, response.read())
        finally:
            conn.close()

    def query(self, sparql: str, *, source: str = "127.0.0.1", accept: str | None = None,
              params: str = "", timeout: float = 60) -> Reply:
        """A direct POST of `sparql`."""
        headers = {"Content-Type": "application/sparql-query"}
        if accept:
            headers["Accept"] = accept
        return self.request("POST", "/sparql" + (f"?{params}" if params else ""), body=sparql.encode(),
                            headers=headers, source=source, timeout=timeout)

    def get(self, path: str, *, source: str = "127.0.0.1", accept: str | None = None) -> Reply:
        """A GET."""
        return self.request("GET", path, headers={"Accept": accept} if accept else {}, source=source)

    @property
    def pool(self) -> QueryPool:
        """The app's query pool (made by the first query)."""
        pool: QueryPool = self.app.extensions[POOL]
        return pool

    def in_threads(self, *calls: Callable[[], Any]) -> tuple[list[Any], list[threading.Thread]]:
        """Start each call in a thread of its own (joined at teardown too); their results, or
        exceptions, land in the returned list."""
        results: list[Any] = [None] * len(calls)

        def run(i: int, call: Callable[[], Any]) -> None:
            try:
                results[i] = call()
            except Exception as exc:  # a connection cut at teardown after a failed assertion
                results[i] = exc

        threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
        self.threads += threads
        for thread in threads:
            thread.start()
        return results, threads

    def admitted(self) -> int:
        """How many queries the pool holds now (running or waiting)."""
        pool: QueryPool | None = self.app.extensions.get(POOL)
        return len(pool._queries) if pool is not None else 0


@contextmanager
def serving(app: Flask, settings: Settings) -> Iterator[str]:
    """Serve `app` with waitress on a free loopback port, as `lodestar serve` does; stop it all after."""
    try:
        with serve_wsgi(app, threads=server_threads(settings), channel_request_lookahead=1,
                        ident="Lodestar-test") as url:
            yield url
    finally:
        close_query_pool(app)


@pytest.fixture
def make_portal(settings: Settings) -> Iterator[Callable[..., Portal]]:
    """Start a portal over graphs ONE (3 triples), TWO (2) and BIG (1,500), with `LIMITS` and overrides."""
    with_stack: list[Any] = []

    def make(**overrides: Any) -> Portal:
        values = {**settings.values, **LIMITS, **overrides}
        instance = Instance(load_settings(values, environ={}))
        with_stack.append(instance)
        for graph, count in ((ONE, 3), (TWO, 2), (BIG, 1500)):
            instance.store.replace_graph(graph, ntriples(graph, count))
        app = create_app({"TESTING": True}, instance=instance)
        served = serving(app, instance.settings)
        url = served.__enter__()
        with_stack.append(served)
        portal = Portal(url, app, instance)
        with_stack.append(portal)
        return portal

    yield make
    for item in reversed(with_stack):
        if isinstance(item, Portal):
            close_query_pool(item.app)  # queries in flight fail at once
            for thread in item.threads:
                thread.join(timeout=30)
        elif isinstance(item, Instance):
            item.close()
        else:
            item.__exit__(None, None, None)


@pytest.fixture
def portal(make_portal: Callable[..., Portal]) -> Portal:
    """A portal with the test limits."""
    return make_portal()


def count(reply: Reply) -> int:
    """The ?n of a COUNT query's JSON answer."""
    assert reply.status == 200, reply.body[:300]
    return int(reply.json()["results"]["bindings"][0]["n"]["value"])


def answers_at_once(portal: Portal, source: str = "127.0.0.1", within: float = 1.0) -> None:
    """The home page and a trivial ASK answer within `within` seconds."""
    for check in (lambda: portal.get("/", source=source), lambda: portal.query("ASK { ?s ?p ?o }", source=source)):
        started = time.monotonic()
        reply = check()
        assert reply.status == 200, reply.body[:300]
        assert time.monotonic() - started < within


def process_state(pid: int) -> str:
    """A process's state letter from /proc ("T" when stopped, "R" running, "S" sleeping …)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        return fh.read().rsplit(")", 1)[1].split()[0]


def turns_settle(pool: QueryPool, running: int, paused: int, within: float = 2.0) -> bool:
    """True once the workers of admitted queries are `running` evaluating and `paused` stopped.

    A stopped process shows "T" only once it next gets the CPU, hence the patience."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with pool._lock:  # turns do not change while we look
            states = [process_state(q.worker.pid) for q in pool._queries if q.worker is not None]
        if len(states) == running + paused and states.count("T") == paused:
            return True
        time.sleep(0.05)
    return False


# -- the guard in front of the endpoint ---------------------------------------------------------

@pytest.mark.parametrize("query", [
    ATTACK,
    ATTACK.replace("?o<", "?o<="),
    ATTACK.replace("?o<", "?o>"),
    ATTACK.replace("?o<", "?o="),
    "SELECT * WHERE " + "{" * 3000 + "}" * 3000,
    "SELECT * WHERE { FILTER(" + "(" * 3000 + "1" + ")" * 3000 + ") }",
    "SELECT * WHERE { ?s ?p ?o FILTER(" + "+".join(["1"] * 10000) + ") }",
])
def test_crashing_queries_are_refused_and_the_portal_still_answers(portal: Portal, query: str) -> None:
    reply = portal.query(query)
    assert reply.status == 400
    assert reply.json()["error"]["code"] == "portal/usage"
    assert portal.get("/-/health").status == 200
    answers_at_once(portal)


def test_the_attack_that_crashed_the_portal_only_fails_its_own_worker(portal: Portal) -> None:
    """Past the guard (straight into the pool), the parser crash ends one worker, not the portal."""
    from portal.errors import QueryCrashedError
    from portal.query_pool import QueryJob

    assert portal.query("ASK {}").status == 200
    with pytest.raises(QueryCrashedError, match="signal 11"):
        portal.pool.run(QueryJob(ATTACK))
    answers_at_once(portal)


# -- limits ----------------------------------------------------------------------------------------

def test_a_runaway_query_is_stopped_at_the_time_limit_while_a_cheap_one_answers(portal: Portal) -> None:
    started = time.monotonic()
    results, threads = portal.in_threads(lambda: portal.query(RUNAWAY, source="127.0.0.2"))
    time.sleep(0.3)
    answers_at_once(portal, source="127.0.0.3")
    threads[0].join()
    stopped: Reply = results[0]
    assert stopped.status == 503
    assert stopped.json()["error"]["code"] == "sparql/timeout"
    assert "2 s" in stopped.json()["error"]["message"]
    assert 1.9 < time.monotonic() - started < 5


def test_a_killed_worker_is_replaced_and_the_next_queries_answer(portal: Portal) -> None:
    assert portal.query("ASK {}").status == 200
    results, threads = portal.in_threads(lambda: portal.query(RUNAWAY))
    deadline = time.monotonic() + 5
    while not portal.admitted() or portal.pool._queries[0].worker is None:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    victim = portal.pool._queries[0].worker
    assert victim is not None
    time.sleep(0.2)
    os.kill(victim.pid, signal.SIGKILL)
    threads[0].join()
    crashed: Reply = results[0]
    assert crashed.status == 500 and crashed.json()["error"]["code"] == "sparql/worker-crashed"
    assert victim.pid not in portal.pool.running()
    for _ in range(3):
        answers_at_once(portal)


def test_eight_runaways_from_eight_addresses_starve_neither_pages_nor_cheap_queries(
        make_portal: Callable[..., Portal]) -> None:
    # A time limit far beyond the test's patience: eight workers spawning on a busy two-core machine
    # must not use up the runaways' time before their turns can be seen. A starved cheap query would
    # wait for a runaway's 60 s, so "at once" can be a lenient 10 s.
    portal = make_portal(sparql_timeout=60.0)
    sources = [f"127.0.0.{i}" for i in range(2, 10)]
    results, threads = portal.in_threads(*(lambda s=s: portal.query(RUNAWAY, source=s) for s in sources))
    deadline = time.monotonic() + 30
    while portal.admitted() < 8:
        assert time.monotonic() < deadline, "the eight runaway queries were not all admitted"
        time.sleep(0.02)
    # three evaluate, five wait their turn paused
    assert turns_settle(portal.pool, running=3, paused=5, within=30)
    answers_at_once(portal, source="127.0.0.20", within=10)
    answers_at_once(portal, source="127.0.0.21", within=10)
    close_query_pool(portal.app)  # no need to wait for each to use up its time
    for thread in threads:
        thread.join()
    assert all(r.status == 503 for r in results)


def test_one_address_gets_its_share_and_then_429(portal: Portal) -> None:
    results, threads = portal.in_threads(*(lambda: portal.query(RUNAWAY, source="127.0.0.2") for _ in range(8)))
    refused = []
    deadline = time.monotonic() + 10
    while len(refused) < 6:
        assert time.monotonic() < deadline
        refused = [r for r in results if r is not None]
        time.sleep(0.02)
    for reply in refused:
        assert reply.status == 429
        assert reply.json()["error"]["code"] == "sparql/too-many-queries"
        assert int(reply.headers["Retry-After"]) > 0
    answers_at_once(portal, source="127.0.0.3")
    close_query_pool(portal.app)
    for thread in threads:
        thread.join()
    assert sum(r.status == 429 for r in results) == 6


def test_past_workers_and_queue_the_answer_is_503_with_retry_after(make_portal: Callable[..., Portal]) -> None:
    portal = make_portal(sparql_workers=1, sparql_queue=1)
    results, threads = portal.in_threads(*(lambda s=s: portal.query(RUNAWAY, source=s) for s in ("127.0.0.2", "127.0.0.3")))
    deadline = time.monotonic() + 5
    while portal.admitted() < 2:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    busy = portal.query("ASK {}", source="127.0.0.4")
    assert busy.status == 503 and busy.json()["error"]["code"] == "sparql/busy"
    assert int(busy.headers["Retry-After"]) > 0
    close_query_pool(portal.app)
    for thread in threads:
        thread.join()


def test_a_query_past_the_memory_cap_is_stopped(make_portal: Callable[..., Portal]) -> None:
    portal = make_portal(sparql_worker_memory_mb=150, sparql_timeout=20.0)
    reply = portal.query("SELECT ?a ?d WHERE { ?a ?b ?c . ?d ?e ?f } ORDER BY ?c ?f LIMIT 1")
    assert reply.status == 503 and reply.json()["error"]["code"] == "sparql/too-much-memory"
    answers_at_once(portal)


def test_a_disconnecting_client_stops_its_query(make_portal: Callable[..., Portal]) -> None:
    portal = make_portal(sparql_workers=1, sparql_timeout=10.0)
    assert portal.query("ASK {}").status == 200
    [worker_pid] = portal.pool.running()
    parts = urlsplit(portal.url)
    body = RUNAWAY.encode()
    with socket.create_connection((parts.hostname, parts.port)) as sock:
        sock.sendall(b"POST /sparql HTTP/1.1\r\nHost: test\r\nContent-Type: application/sparql-query\r\n"
                     + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        time.sleep(0.5)
        assert portal.admitted() == 1, "the query is not running"
    left = time.monotonic()
    while worker_pid in portal.pool.running():
        assert time.monotonic() - left < 2, "the query of the client that left is still running"
        time.sleep(0.02)
    started = time.monotonic()
    assert portal.query("ASK { ?s ?p ?o }").status == 200
    assert time.monotonic() - started < 2  # the one worker is free again, long before the 10 s limit


def test_the_row_cap_marks_truncation(portal: Portal) -> None:
    select = "SELECT ?s ?o WHERE { ?s ?p ?o }"
    capped = portal.query(select)
    assert capped.status == 200
    assert capped.headers["Lodestar-Truncated"] == "true" and capped.headers["Lodestar-Row-Limit"] == "100"
    data = capped.json()
    assert data["lodestar"] == {"truncated": True, "limit": 100}
    assert len(data["results"]["bindings"]) == 100
    as_csv = portal.query(select, accept="text/csv")
    assert as_csv.headers["Lodestar-Truncated"] == "true"
    assert len(as_csv.body.decode().splitlines()) == 101  # header line + 100 rows
    graph = portal.query("CONSTRUCT WHERE { ?s ?p ?o }", accept="application/n-triples")
    assert graph.headers["Lodestar-Truncated"] == "true" and graph.body.count(b" .\n") == 100
    whole = portal.query("SELECT ?s WHERE { ?s ?p ?o } LIMIT 100")
    assert whole.headers["Lodestar-Truncated"] == "false" and "lodestar" not in whole.json()
    assert "Lodestar-Truncated" in capped.headers["Access-Control-Expose-Headers"]


# -- datasets ----------------------------------------------------------------------------------

COUNT_ALL = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
COUNT_NAMED = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"


def test_default_and_named_graph_uris_pick_the_dataset(portal: Portal) -> None:
    assert count(portal.query(COUNT_ALL)) == 1505  # the union of all graphs by default
    one = urlencode({"default-graph-uri": ONE})
    assert count(portal.get(f"/sparql?query={quote(COUNT_ALL)}&{one}")) == 3
    both = urlencode([("default-graph-uri", ONE), ("default-graph-uri", TWO)])
    assert count(portal.query(COUNT_ALL, params=both)) == 5
    form = urlencode([("query", COUNT_ALL), ("default-graph-uri", TWO)])
    assert count(portal.request("POST", "/sparql", body=form,
                                headers={"Content-Type": "application/x-www-form-urlencoded"})) == 2
    named = urlencode({"named-graph-uri": TWO})
    assert count(portal.query(COUNT_NAMED, params=named)) == 2
    assert count(portal.query(COUNT_ALL, params=named)) == 0  # a dataset without default graphs
    unknown = urlencode({"default-graph-uri": "http://nowhere.test/graph"})
    assert count(portal.query(COUNT_ALL, params=unknown)) == 0
    bad = portal.query(COUNT_ALL, params=urlencode({"default-graph-uri": "not an iri"}))
    assert bad.status == 400


def test_from_and_from_named_pick_graphs_and_the_protocol_wins(portal: Portal) -> None:
    assert count(portal.query(f"SELECT (COUNT(*) AS ?n) FROM <{ONE}> WHERE {{ ?s ?p ?o }}")) == 3
    prefixed = f"PREFIX g: <{BASE_URL}/graph/test/> SELECT (COUNT(*) AS ?n) FROM g:one FROM g:two WHERE {{ ?s ?p ?o }}"
    assert count(portal.query(prefixed)) == 5
    relative = f"BASE <{BASE_URL}/graph/> SELECT (COUNT(*) AS ?n) FROM NAMED <test/two> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}"
    assert count(portal.query(relative)) == 2
    overridden = portal.query(f"SELECT (COUNT(*) AS ?n) FROM <{ONE}> WHERE {{ ?s ?p ?o }}",
                              params=urlencode({"default-graph-uri": TWO}))
    assert count(overridden) == 2


class _Counting(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (the handler's name is http.server's)
        self.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/turtle")
        self.end_headers()
        self.wfile.write(b"<http://evil.test/s> <http://evil.test/p> <http://evil.test/o> .\n")

    do_POST = do_GET

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_graphs_are_never_dereferenced(portal: Portal) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    try:
        there = f"http://127.0.0.1:{server.server_address[1]}/"
        assert count(portal.query(f"SELECT (COUNT(*) AS ?n) FROM <{there}> WHERE {{ ?s ?p ?o }}")) == 0
        assert count(portal.query(f"SELECT (COUNT(*) AS ?n) FROM NAMED <{there}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}")) == 0
        assert count(portal.query(COUNT_ALL, params=urlencode({"default-graph-uri": there}))) == 0
        assert portal.query(f"SELECT * WHERE {{ SERVICE <{there}> {{ ?s ?p ?o }} }}").status == 400
        assert _Counting.hits == []
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def test_rdflib_and_sparqlwrapper_see_only_the_graph_they_name(portal: Portal) -> None:
    import rdflib
    from rdflib.plugins.stores.sparqlstore import SPARQLStore
    from SPARQLWrapper import JSON, SPARQLWrapper

    graph = rdflib.Graph(store=SPARQLStore(f"{portal.url}/sparql"), identifier=rdflib.URIRef(ONE))
    assert len(graph) == 3
    assert {str(s) for s in graph.subjects()} == {f"{ONE}/thing/{i}" for i in range(3)}
    wrapper = SPARQLWrapper(f"{portal.url}/sparql")
    wrapper.addDefaultGraph(TWO)
    wrapper.setQuery(COUNT_ALL)
    wrapper.setReturnFormat(JSON)
    result: Any = wrapper.query().convert()
    assert result["results"]["bindings"][0]["n"]["value"] == "2"


# -- the protocol ----------------------------------------------------------------------------

@pytest.mark.parametrize("method, path, body, headers", [
    ("GET", "/sparql?query=ASK%20%7B%7D&query=SELECT%20%2A%20%7B%7D", None, {}),  # two queries
    ("POST", "/sparql", "ASK {}", {"Content-Type": "text/plain"}),  # wrong media type
    ("POST", "/sparql", "query=ASK%20%7B%7D", {}),  # a form without its media type
    ("POST", "/sparql", "ASK {}".encode("utf-16"), {"Content-Type": "application/sparql-query; charset=UTF-16"}),
    ("GET", "/sparql?query=ASK%20%7B", None, {}),  # syntax error
    ("PUT", "/sparql?query=ASK%20%7B%7D", None, {}),
    ("POST", "/sparql", "update=DROP%20ALL", {"Content-Type": "application/x-www-form-urlencoded"}),
    ("GET", "/sparql?query=ASK%20%7B%7D&format=png", None, {}),
])
def test_bad_requests_get_4xx_in_the_one_error_shape(portal: Portal, method: str, path: str,
                                                     body: str | bytes | None, headers: dict[str, str]) -> None:
    reply = portal.request(method, path, body=body, headers=headers)
    assert 400 <= reply.status < 500
    error = reply.json()["error"]
    assert set(error) == {"status", "code", "message"} and error["status"] == reply.status
    assert reply.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("query, accept, fmt, media_type", [
    ("SELECT * WHERE { ?s ?p ?o } LIMIT 2", None, None, "application/sparql-results+json"),
    ("SELECT * WHERE { ?s ?p ?o } LIMIT 2", "application/sparql-results+xml", None, "application/sparql-results+xml"),
    ("SELECT * WHERE { ?s ?p ?o } LIMIT 2", "text/tab-separated-values", None, "text/tab-separated-values"),
    ("SELECT * WHERE { ?s ?p ?o } LIMIT 2", None, "csv", "text/csv"),
    ("ASK {}", "application/json", None, "application/sparql-results+json"),
    ("CONSTRUCT WHERE { ?s ?p ?o } LIMIT 2", None, None, "text/turtle"),
    ("CONSTRUCT WHERE { ?s ?p ?o } LIMIT 2", "application/rdf+xml", None, "application/rdf+xml"),
    ("DESCRIBE ?s WHERE { ?s ?p ?o } LIMIT 1", "application/ld+json", None, "application/ld+json"),
    ("CONSTRUCT WHERE { ?s ?p ?o } LIMIT 2", None, "nquads", "application/n-quads"),
])
def test_answers_in_every_format(portal: Portal, query: str, accept: str | None, fmt: str | None,
                                 media_type: str) -> None:
    params = urlencode({"query": query, **({"format": fmt} if fmt else {})})
    reply = portal.get(f"/sparql?{params}", accept=accept)
    assert reply.status == 200, reply.body[:300]
    assert reply.headers.get_content_type() == media_type
    assert reply.headers["Access-Control-Allow-Origin"] == "*"
