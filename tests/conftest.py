"""Shared fixtures: a fresh instance per test, real servers on loopback."""

from __future__ import annotations

import functools
import http.server
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from portal.config import Settings, load_settings
from portal.instance import Instance

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DEMO = REPO / "portal" / "demo"
BASE_URL = "http://lodestar.test"
TOILETS = DEMO / "files" / "lambeth-community-toilets.csv"

#: A one-dataset DCAT catalogue written for the tests; its table is the real Lambeth file.
LAMBETH_CATALOGUE = """
@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
<> a dcat:Catalog ; dcat:dataset <https://lambeth.example/dataset/toilets> .
<https://lambeth.example/dataset/toilets> a dcat:Dataset ;
  dct:identifier "community-toilets" ;
  dct:title "{title}"@en ;
  dct:publisher [ a foaf:Agent ; dct:identifier "lambeth" ; foaf:name "London Borough of Lambeth" ] ;
  dct:accrualPeriodicity <http://publications.europa.eu/resource/authority/frequency/MONTHLY> ;
  dcat:distribution [ a dcat:Distribution ;
    dcat:downloadURL <toilets.csv> ;
    dcat:mediaType <https://www.iana.org/assignments/media-types/text/csv> ;
    dct:conformsTo <urn:lodestar:schema:public-toilets> ] .
"""


def free_port() -> int:
    """A TCP port on loopback nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, timeout: float = 30.0, process: subprocess.Popen[bytes] | None = None) -> None:
    """Poll `url` until it answers, or fail the test; fail at once if `process` (its server) has ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server for {url} exited with code {process.returncode} before answering")
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up within {timeout} s")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings of a fresh instance in a temporary folder, ignoring the environment."""
    return load_settings({"instance": str(tmp_path / "instance"), "base_url": BASE_URL,
                          "allow_private_addresses": True}, environ={})


@pytest.fixture
def instance(settings: Settings) -> Iterator[Instance]:
    """A fresh instance: real SQLite file, real embedded Oxigraph store."""
    opened = Instance(settings)
    yield opened
    opened.close()


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The environment a `lodestar` command reads: a fresh instance folder, loopback sources allowed."""
    for name in ("LODESTAR_STORE", "LODESTAR_DATABASE_URL", "LODESTAR_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LODESTAR_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("LODESTAR_ALLOW_PRIVATE_ADDRESSES", "1")  # the sources are on loopback
    monkeypatch.setenv("LODESTAR_HTTP_RETRIES", "0")  # an unreachable source fails at once
    return tmp_path / "instance"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    timeout = 10  # a client that connects and never asks cannot keep the server from closing

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve_wsgi(app: Any, port: int = 0, **options: Any) -> Iterator[str]:
    """A WSGI app served by waitress on loopback in a thread, as `lodestar serve` does; yields its URL.

    Stopping closes the sockets from inside waitress's own loop (closing them from here races its
    select(): a bad file descriptor in the server thread).
    """
    from waitress import create_server, wasyncore

    server = create_server(app, host="127.0.0.1", port=port, **{"threads": 4, **options})
    thread = threading.Thread(target=server.run, name="waitress")
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
        thread.join(timeout=10)
        server.task_dispatcher.shutdown(timeout=10)
        assert not thread.is_alive()


@contextmanager
def serve_http(handler: Callable[..., http.server.BaseHTTPRequestHandler], host: str = "127.0.0.1",
               server_class: type[http.server.ThreadingHTTPServer] = http.server.ThreadingHTTPServer,
               ) -> Iterator[tuple[str, http.server.ThreadingHTTPServer]]:
    """A real HTTP server on loopback in a thread; yields its base URL and the server, then stops and joins it."""
    server = server_class((host, 0), handler)
    server.daemon_threads = False  # so that server_close() joins the request threads
    # serve_forever() looks for shutdown() every poll_interval: 0.5 s by default, on every teardown.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}", server
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


@pytest.fixture
def file_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real HTTP server on loopback serving a temporary folder: (base URL, folder)."""
    root = tmp_path / "www"
    root.mkdir()
    with serve_http(functools.partial(_QuietHandler, directory=str(root))) as (url, _):
        yield url, root


def oxigraph_binary() -> str:
    """The `oxigraph` server program installed beside this Python (PyPI package `oxigraph`)."""
    beside = Path(sys.executable).with_name("oxigraph")
    found = str(beside) if beside.exists() else shutil.which("oxigraph")
    if not found:
        raise RuntimeError("the oxigraph server is not installed: run `make test`, which installs it")
    return found


@pytest.fixture(scope="session")
def oxigraph_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Oxigraph SPARQL server on loopback; yields its base URL."""
    port = free_port()
    location = tmp_path_factory.mktemp("oxigraph-server")
    process = subprocess.Popen(
        [oxigraph_binary(), "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}",
         "--union-default-graph"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(url + "/query", process=process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def serve_lambeth(file_server: tuple[str, Path], title: str = "Community toilets") -> str:
    """Put the Lambeth catalogue and its table in the served folder; returns the catalogue's URL."""
    url, root = file_server
    (root / "catalog.ttl").write_text(LAMBETH_CATALOGUE.replace("{title}", title), encoding="utf-8")
    shutil.copyfile(TOILETS, root / "toilets.csv")
    return f"{url}/catalog.ttl"


@pytest.fixture
def source(instance: Instance, file_server: tuple[str, Path]) -> Path:
    """A DCAT source named `lambeth` served over HTTP; returns the folder it serves."""
    from portal.pipeline import add_source

    add_source(instance, "lambeth", serve_lambeth(file_server))
    return file_server[1]
