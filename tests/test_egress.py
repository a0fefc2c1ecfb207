"""The egress client against real loopback servers: address guard, deadline, size caps, redirects,
retries, User-Agent, and the remote store's use of it."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from harvesters import harvester_for
from harvesters.fetch import fetch
from portal import __version__
from portal.config import Settings, load_settings
from portal.egress import Egress, retry_after_seconds
from portal.netguard import _ALARMS, IPAddress, _Watchdog, public_address_refusal
from portal.errors import SourceError, SourceUnavailableError
from portal.store.sparql_http import SparqlHttpStore
from tests.conftest import BASE_URL
from tests.conftest import serve_http

BODY = b"id,name\n1,Roncalliplatz\n"


class Server(http.server.ThreadingHTTPServer):
    """A loopback HTTP server that counts the connections it accepts and records requests."""

    def __init__(self, address: tuple[str, int], handler: type[http.server.BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self.connections = 0
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self.lock = threading.Lock()

    def verify_request(self, request: Any, client_address: Any) -> bool:
        with self.lock:
            self.connections += 1
        return True


class Handler(http.server.BaseHTTPRequestHandler):
    """Records every request, then lets `answer` reply."""

    server: Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _record(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while (size := int(self.rfile.readline().strip(), 16)) > 0:
                body += self.rfile.read(size)
                self.rfile.readline()
            self.rfile.readline()
        else:
            body = self.rfile.read(length)
        with self.server.lock:
            self.server.requests.append((self.command, self.path, dict(self.headers), body))
            hit = len(self.server.requests)
        self.answer(hit)

    do_GET = do_POST = do_PUT = do_HEAD = _record  # noqa: N815 (http.server's spelling)

    def answer(self, hit: int) -> None:
        self.reply(200, BODY, {"Content-Type": "text/csv"})

    def reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


@contextmanager
def serving(handler: type[Handler], host: str = "127.0.0.1") -> Iterator[tuple[str, Server]]:
    """Run `handler` on `host`; yields the base URL and the server."""
    with serve_http(handler, host, Server) as (url, server):
        yield url, server  # type: ignore[misc]


def local(**limits: Any) -> Egress:
    """A client for loopback test servers (guard lifted), with short backoff."""
    return Egress(allow_private_addresses=True, backoff=0.05, **limits)


# -- the address guard (on) -------------------------------------------------------------------------

@pytest.mark.parametrize("address, reason", [
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("10.1.2.3", "private"), ("172.16.0.1", "private"),
    ("192.168.1.1", "private"), ("fd00::1", "private"), ("169.254.169.254", "link-local"),
    ("fe80::1", "link-local"), ("0.0.0.0", "unspecified"), ("::", "unspecified"),
    ("224.0.0.1", "multicast"), ("ff02::1", "multicast"), ("240.0.0.1", "reserved"),
    ("100.64.0.1", "shared"), ("192.0.2.7", "private"), ("fec0::1", "site-local"),
    ("::ffff:127.0.0.1", "loopback"), ("::ffff:169.254.169.254", "link-local"),
    ("::ffff:10.0.0.1", "private"), ("64:ff9b::a9fe:a9fe", "link-local"), ("2002:c0a8:101::1", "private"),
])
def test_policy_refuses_every_non_public_address(address: str, reason: str) -> None:
    refusal = public_address_refusal(ipaddress.ip_address(address))
    assert refusal is not None and refusal.split()[0] == reason


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700:4700::1111", "::ffff:93.184.215.14"])
def test_policy_allows_public_addresses(address: str) -> None:
    assert public_address_refusal(ipaddress.ip_address(address)) is None


def test_loopback_is_refused_by_address_and_by_name_and_nothing_is_connected(tmp_path: Path) -> None:
    with serving(Handler) as (url, server):
        port = server.server_address[1]
        with Egress() as egress:
            for target in (f"http://127.0.0.1:{port}/data.csv", f"http://localhost:{port}/data.csv"):
                with pytest.raises(SourceError, match="loopback address") as refused:
                    egress.request("GET", target)
                assert target in str(refused.value) and "127.0.0.1" in str(refused.value)
        # the defaults of the harvesting functions keep the guard on
        with pytest.raises(SourceError, match="refused to connect"):
            fetch(f"{url}/data.csv", tmp_path, timeout=5, max_bytes=1000)
        with pytest.raises(SourceError, match="refused to connect"):
            list(harvester_for("dcat").gather(f"{url}/catalog.ttl"))
        assert server.connections == 0 and server.requests == []
    assert not list(tmp_path.iterdir())


class RedirectToSecret(Handler):
    secret = ""

    def answer(self, hit: int) -> None:
        self.reply(302, headers={"Location": self.secret})


def test_a_redirect_from_an_allowed_host_to_loopback_is_refused() -> None:
    def only_127_0_0_2(address: IPAddress) -> str | None:
        return None if str(address) == "127.0.0.2" else public_address_refusal(address)

    with serving(Handler) as (secret_url, secret), serving(RedirectToSecret, "127.0.0.2") as (url, hop):
        RedirectToSecret.secret = f"{secret_url}/admin"
        with Egress(address_policy=only_127_0_0_2) as egress:
            with pytest.raises(SourceError) as refused:
                egress.request("GET", f"{url}/catalog.ttl")
            with pytest.raises(SourceError, match="loopback"):
                egress.request("GET", f"{secret_url}/admin")
        assert f"{url}/catalog.ttl" in str(refused.value)
        assert "127.0.0.1" in str(refused.value) and "loopback address" in str(refused.value)
        assert len(hop.requests) == 1  # the first hop passed the guard
        assert secret.connections == 0 and secret.requests == []


def test_credentials_are_not_carried_to_another_host() -> None:
    with serving(Handler) as (other_url, other), serving(RedirectToSecret, "127.0.0.2") as (url, hop):
        RedirectToSecret.secret = f"{other_url}/elsewhere"
        with local() as egress:
            egress.request("GET", f"{url}/x", headers={"Authorization": "Bearer t", "X-Kept": "1"})
        assert hop.requests[0][2]["Authorization"] == "Bearer t"
        assert "Authorization" not in other.requests[0][2] and other.requests[0][2]["X-Kept"] == "1"


def test_a_redirect_to_another_scheme_is_refused() -> None:
    class ToFile(Handler):
        def answer(self, hit: int) -> None:
            self.reply(301, headers={"Location": "file:///etc/passwd"})

    with serving(ToFile) as (url, _), local() as egress:
        with pytest.raises(SourceError, match="not an http"):
            egress.read(f"{url}/x")


def test_the_guard_setting(tmp_path: Path) -> None:
    assert load_settings({"instance": str(tmp_path)}, environ={}).allow_private_addresses is False
    env = {"LODESTAR_ALLOW_PRIVATE_ADDRESSES": "true"}
    assert load_settings({"instance": str(tmp_path)}, environ=env).allow_private_addresses is True


# -- deadline, size caps, redirects, retries, identity (guard lifted) -------------------------------

class Trickle(Handler):
    def answer(self, hit: int) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "100000")
        self.end_headers()
        try:
            for _ in range(20):
                self.wfile.write(b"abcd")
                self.wfile.flush()
                time.sleep(1)
        except OSError:
            pass


def test_a_trickling_body_is_cut_at_the_deadline(tmp_path: Path) -> None:
    with serving(Trickle) as (url, _), local(deadline=2.0, read_timeout=10.0) as egress:
        started = time.monotonic()
        with pytest.raises(SourceUnavailableError, match="deadline"):
            fetch(f"{url}/slow.csv", tmp_path, egress=egress)
        assert time.monotonic() - started < 2.0 + 1.5
    assert not list(tmp_path.iterdir())


def test_deadlines_hold_for_concurrent_requests_after_many_finished_ones(tmp_path: Path) -> None:
    # Deadlines share one clock: thousands of finished requests must neither pile up in it nor keep
    # it from cutting the trickles that are still running.
    with serving(Trickle) as (url, _), local(deadline=1.5, read_timeout=10.0) as egress:
        for _ in range(2000):
            _Watchdog(300.0).cancel()
        assert len(_ALARMS._heap) < 200
        errors: list[BaseException] = []

        def slow(i: int) -> None:
            try:
                egress.read(f"{url}/slow-{i}.csv")
            except BaseException as exc:  # noqa: BLE001 - the test inspects it
                errors.append(exc)

        threads = [threading.Thread(target=slow, args=(i,)) for i in range(4)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert time.monotonic() - started < 1.5 + 5
        assert len(errors) == 4 and all("deadline" in str(e) for e in errors), errors


class TrickleHeaders(Handler):
    def answer(self, hit: int) -> None:
        try:
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")
            for i in range(20):
                self.wfile.write(f"X-Slow-{i}: yes\r\n".encode())
                self.wfile.flush()
                time.sleep(0.5)
        except OSError:
            pass


def test_trickling_headers_are_cut_at_the_deadline_too() -> None:
    with serving(TrickleHeaders) as (url, _), local(deadline=1.5, read_timeout=10.0) as egress:
        started = time.monotonic()
        with pytest.raises(SourceUnavailableError, match="deadline"):
            egress.read(f"{url}/slow.ttl")
        assert time.monotonic() - started < 1.5 + 1.5


DECODED = b"0123456789" * 200_000  # 2 MB that gzip makes a few kB


class Gzipped(Handler):
    def answer(self, hit: int) -> None:
        self.reply(200, gzip.compress(DECODED), {"Content-Encoding": "gzip", "Content-Type": "text/csv"})


def test_the_size_cap_counts_decoded_bytes(tmp_path: Path) -> None:
    with serving(Gzipped) as (url, _), local() as egress:
        with pytest.raises(SourceError, match="limit"):
            fetch(f"{url}/bomb.csv", tmp_path / "capped", max_bytes=100_000, egress=egress)
        assert not list((tmp_path / "capped").iterdir())
        fetched = fetch(f"{url}/bomb.csv", tmp_path / "whole", max_bytes=len(DECODED), egress=egress)
        assert fetched.size == len(DECODED) and fetched.sha256 == hashlib.sha256(DECODED).hexdigest()


class Hops(Handler):
    def answer(self, hit: int) -> None:
        left = int(self.path.rsplit("/", 1)[1])
        if left:
            self.reply(307, headers={"Location": f"/hop/{left - 1}"})
        else:
            self.reply(200, BODY)


def test_redirects_are_followed_up_to_the_limit() -> None:
    with serving(Hops) as (url, server), local(max_redirects=2) as egress:
        assert egress.read(f"{url}/hop/2") == (BODY, "")
        with pytest.raises(SourceError, match="more than 2 redirects"):
            egress.read(f"{url}/hop/5")
        assert len(server.requests) == 3 + 3


class BusyOnce(Handler):
    def answer(self, hit: int) -> None:
        if hit == 1:
            self.reply(503, b"busy", {"Retry-After": "1"})
        else:
            self.reply(200, BODY)


def test_retry_after_is_honoured() -> None:
    with serving(BusyOnce) as (url, server), local() as egress:
        started = time.monotonic()
        assert egress.read(f"{url}/data.csv")[0] == BODY
        assert 1.0 <= time.monotonic() - started < 2.5
        assert len(server.requests) == 2


def test_retry_after_forms() -> None:
    now = datetime(2015, 10, 21, 7, 27, 58, tzinfo=timezone.utc)
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=now) == 2.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:00:00 GMT", now=now) == 0.0
    assert retry_after_seconds("120", now=now) == 120.0
    assert retry_after_seconds("soon", now=now) is None and retry_after_seconds(None) is None
    for odd in ("²", "٣", "-5", "1e5", "12.5", "Mon, 99 Foo 2015"):  # not 1*DIGIT nor an HTTP-date
        assert retry_after_seconds(odd, now=now) is None, odd


class AlwaysBusy(Handler):
    def answer(self, hit: int) -> None:
        self.reply(503, b"busy", {"Retry-After": "0"})


def test_idempotent_requests_are_retried_and_post_is_not() -> None:
    with serving(AlwaysBusy) as (url, server), local(retries=2) as egress:
        assert egress.request("POST", f"{url}/hook", data=b"{}").status == 503
        assert len(server.requests) == 1
        assert egress.request("PUT", f"{url}/hook", data=b"{}").status == 503
        assert len(server.requests) == 1 + 3


def test_retries_never_wait_past_the_deadline(tmp_path: Path) -> None:
    class SlowDown(Handler):
        def answer(self, hit: int) -> None:
            self.reply(429, headers={"Retry-After": "30"})

    with serving(SlowDown) as (url, server), local(deadline=2.0) as egress:
        started = time.monotonic()
        with pytest.raises(SourceUnavailableError, match="HTTP 429"):
            fetch(f"{url}/data.csv", tmp_path, egress=egress)
        assert time.monotonic() - started < 1.0 and len(server.requests) == 1


class HangUpOnce(Handler):
    def answer(self, hit: int) -> None:
        if hit == 1:
            self.connection.shutdown(socket.SHUT_RDWR)  # no answer at all
            self.close_connection = True
        else:
            self.reply(200, BODY)


def test_connection_errors_are_retried() -> None:
    with serving(HangUpOnce) as (url, server), local() as egress:
        assert egress.read(f"{url}/data.csv")[0] == BODY
        assert len(server.requests) == 2


def test_the_user_agent_names_lodestar_and_the_portal(settings: Settings) -> None:
    with serving(Handler) as (url, server), Egress.from_settings(settings) as egress:
        egress.read(f"{url}/data.csv")
        assert server.requests[0][2]["User-Agent"] == f"Lodestar/{__version__} (+{BASE_URL})"
        assert (egress.connect_timeout, egress.read_timeout, egress.deadline) == (10.0, 30.0, 300.0)
        assert (egress.max_redirects, egress.retries) == (5, 3)


# -- the remote store goes out through the egress client --------------------------------------------

class GraphStore(Handler):
    def answer(self, hit: int) -> None:
        self.reply(204)


def test_the_store_streams_files_in_one_put(tmp_path: Path) -> None:
    first, second = tmp_path / "a.nt", tmp_path / "b.nt"
    first.write_bytes(b'<http://x/a> <http://x/p> "1" .')  # no final line break
    second.write_bytes(b'<http://x/b> <http://x/p> "2" .\n')
    with serving(GraphStore) as (url, server):
        store = SparqlHttpStore(f"{url}/query", f"{url}/update", f"{url}/store",
                                headers={"Authorization": "Bearer t"})
        assert store.replace_graph("http://lodestar.test/graph/g", [first, second]) is True
        store.close()
    [(method, path, headers, body)] = server.requests
    assert (method, path) == ("PUT", "/store?graph=http%3A%2F%2Flodestar.test%2Fgraph%2Fg")
    assert headers["Content-Type"] == "application/n-triples"
    assert headers["Transfer-Encoding"] == "chunked"  # streamed, not read whole
    assert headers["Authorization"] == "Bearer t" and headers["User-Agent"].startswith("Lodestar/")
    assert body == first.read_bytes() + b"\n" + second.read_bytes()


def test_the_store_sends_the_query_graphs(oxigraph_server: str) -> None:
    g1, g2 = "http://lodestar.test/graph/e/one", "http://lodestar.test/graph/e/two"
    store = SparqlHttpStore(f"{oxigraph_server}/query", f"{oxigraph_server}/update",
                            f"{oxigraph_server}/store")
    try:
        store.replace_graph(g1, b'<http://x/a> <http://x/p> "1" .\n')
        store.replace_graph(g2, b'<http://x/b> <http://x/p> "2" .\n<http://x/c> <http://x/p> "3" .\n')
        count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
        assert store.query(count, default_graphs=[g1]).json()["results"]["bindings"][0]["n"]["value"] == "1"
        named = store.query("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }", named_graphs=[g2])
        assert [r["g"]["value"] for r in named.json()["results"]["bindings"]] == [g2]
    finally:
        store.drop_graph(g1)
        store.drop_graph(g2)
        store.close()
