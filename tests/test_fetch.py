"""Downloads: content hash, ETag-conditional GET, size cap, errors — against real loopback servers.

The servers listen on loopback, so the tests hand `fetch` a client with the address guard lifted;
that the default client refuses loopback is shown in test_egress.py.
"""

from __future__ import annotations

import hashlib
import http.server
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import serve_http

from harvesters.fetch import fetch, read_bytes
from portal.egress import Egress
from portal.errors import SourceError, SourceUnavailableError

BODY = "Standort,Adresse\nRömisch Germanisches Museum,\"Roncalliplatz 4, 50667 Köln\"\n".encode()


class EtagHandler(http.server.BaseHTTPRequestHandler):
    """Serves BODY with a strong ETag and answers 304 to a matching If-None-Match."""

    hits: list[str | None] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's spelling)
        etag = '"' + hashlib.sha256(BODY).hexdigest()[:16] + '"'
        self.hits.append(self.headers.get("If-None-Match"))
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/csv; charset=utf-8")
        self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def etag_server() -> Iterator[str]:
    with serve_http(EtagHandler) as (url, _):
        yield f"{url}/aed.csv"


@pytest.fixture
def egress() -> Iterator[Egress]:
    with Egress(allow_private_addresses=True, read_timeout=10, backoff=0.01) as client:
        yield client


def test_download_is_hashed_and_typed(etag_server: str, tmp_path: Path, egress: Egress) -> None:
    fetched = fetch(etag_server, tmp_path, timeout=10, max_bytes=10_000, egress=egress)
    assert fetched.sha256 == hashlib.sha256(BODY).hexdigest()
    assert fetched.path is not None and fetched.path.read_bytes() == BODY
    assert (fetched.size, fetched.media_type) == (len(BODY), "text/csv")
    assert fetched.etag is not None


def test_known_etag_makes_the_get_conditional(etag_server: str, tmp_path: Path, egress: Egress) -> None:
    first = fetch(etag_server, tmp_path, timeout=10, max_bytes=10_000, egress=egress)
    again = fetch(etag_server, tmp_path, timeout=10, max_bytes=10_000, etag=first.etag, egress=egress)
    assert again.not_modified and again.path is None
    assert EtagHandler.hits[-1] == first.etag


def test_size_cap(etag_server: str, tmp_path: Path, egress: Egress) -> None:
    with pytest.raises(SourceError, match="limit"):
        fetch(etag_server, tmp_path, timeout=10, max_bytes=10, egress=egress)
    assert not list(tmp_path.glob("*"))  # nothing half-written is left behind


def test_http_errors_and_unreachable_hosts(file_server: tuple[str, Path], tmp_path: Path,
                                          egress: Egress) -> None:
    from tests.conftest import free_port

    url, _ = file_server
    with pytest.raises(SourceUnavailableError, match="404"):
        fetch(f"{url}/missing.csv", tmp_path, timeout=10, max_bytes=1000, egress=egress)
    with pytest.raises(SourceUnavailableError):
        fetch(f"http://127.0.0.1:{free_port()}/x.csv", tmp_path, timeout=5, max_bytes=1000, egress=egress)


def test_file_urls_and_unsupported_schemes(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes(BODY)
    fetched = fetch(source.as_uri(), tmp_path / "out", timeout=10, max_bytes=10_000)
    assert fetched.sha256 == hashlib.sha256(BODY).hexdigest() and fetched.media_type == "text/csv"
    with pytest.raises(SourceUnavailableError, match="no such file"):
        fetch((tmp_path / "nope.csv").as_uri(), tmp_path, timeout=10, max_bytes=10)
    with pytest.raises(SourceError, match="unsupported URL scheme"):
        fetch("ftp://127.0.0.1/x.csv", tmp_path, timeout=10, max_bytes=10)


def test_read_bytes_over_http_and_from_files(etag_server: str, tmp_path: Path, egress: Egress) -> None:
    assert read_bytes(etag_server, timeout=10, max_bytes=10_000, egress=egress) == (BODY, "text/csv")
    source = tmp_path / "in.csv"
    source.write_bytes(BODY)
    assert read_bytes(source.as_uri(), timeout=10, max_bytes=10_000) == (BODY, "text/csv")
    with pytest.raises(SourceError, match="limit"):
        read_bytes(etag_server, timeout=10, max_bytes=10, egress=egress)
