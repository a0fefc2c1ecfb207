"""Every outbound HTTP request goes through one `Egress` client.

It gives each request a connect timeout, a per-read timeout and a whole-request deadline, caps
the decoded size of answers, follows a few redirects itself, retries idempotent requests with
backoff (honouring ``Retry-After``), sends an identifying ``User-Agent``, and refuses to connect
to loopback, private, link-local and other non-public addresses (SSRF) unless told otherwise.

The address guard sits in the connection layer: a host name is resolved once, every address it
resolves to is checked, and the socket connects to a checked address; TLS still verifies the
certificate against the host name. Redirect targets and names such as ``localhost`` are covered
because the check is on the address actually connected.
"""

from __future__ import annotations

import email.utils
import hashlib
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.structures import CaseInsensitiveDict

from portal import __version__
from portal.errors import SourceError, SourceUnavailableError
from portal.netguard import (  # noqa: F401  (public_address_refusal is re-exported)
    AddressPolicy,
    GuardedAdapter,
    _ACTIVE,
    _Watchdog,
    any_address,
    public_address_refusal,
)

if TYPE_CHECKING:
    from portal.config import Settings

#: A request body: bytes, a one-shot iterable of chunks, or a function making the chunks afresh.
#: Only bytes and such a function can be sent again (for a retry or a 307/308 redirect).
Body = bytes | Iterable[bytes] | Callable[[], Iterable[bytes]]
Params = Mapping[str, str] | Sequence[tuple[str, str]]

CHUNK = 1 << 16
DEFAULT_MAX_BYTES = 200 * 1024 * 1024
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
#: A server asking for a longer pause than this (seconds) gets its error answer returned instead.
MAX_RETRY_WAIT = 120.0
_CREDENTIALS = ("authorization", "proxy-authorization", "cookie")

def user_agent_for(base_url: str | None = None) -> str:
    """``Lodestar/<version> (+<base_url>)``: who is asking, and where to find out more."""
    return f"Lodestar/{__version__}" + (f" (+{base_url})" if base_url else "")


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """A ``Retry-After`` header (delta-seconds or HTTP-date) as seconds from `now`; None if absent or bad."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # delta-seconds is 1*DIGIT, ASCII digits only
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000": UTC by RFC 5322
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


# -- answers and the client -------------------------------------------------------------------------

def _settled(last_modified: str, seen_at: datetime) -> bool:
    """True when an HTTP date lies at least a second before `seen_at` (False when unparsable)."""
    try:
        stamp = email.utils.parsedate_to_datetime(last_modified)
    except (TypeError, ValueError):
        return False
    if stamp.tzinfo is None:  # RFC 9110 dates are GMT; a zone-less one is read as such
        stamp = stamp.replace(tzinfo=timezone.utc)
    return stamp <= seen_at - timedelta(seconds=1)


@dataclass(frozen=True)
class Fetched:
    """The result of one download: where the bytes are and what they are."""

    url: str
    path: Path | None  # None when the server said the content is unchanged (304)
    sha256: str | None
    size: int
    media_type: str
    etag: str | None = None
    last_modified: str | None = None

    @property
    def not_modified(self) -> bool:
        """True when a conditional GET said nothing changed."""
        return self.path is None


class Reply:
    """An HTTP answer of any status; its body is read decoded, under the request's deadline and size cap."""

    def __init__(self, url: str, response: requests.Response, watchdog: _Watchdog,
                 max_bytes: int | None) -> None:
        self.url = url
        self.final_url: str = response.url
        self.status: int = response.status_code
        self.headers: CaseInsensitiveDict[str] = response.headers
        self.size = 0
        self._response, self._watchdog, self._max_bytes = response, watchdog, max_bytes
        self._content: bytes | None = None

    @property
    def media_type(self) -> str:
        """The Content-Type without parameters."""
        return self.headers.get("Content-Type", "").split(";")[0].strip()

    def raise_for_status(self) -> None:
        """Raise `SourceUnavailableError` for an error status (4xx, 5xx)."""
        if self.status >= 400:
            raise SourceUnavailableError(f"{self.url}: HTTP {self.status}")

    def iter_bytes(self, chunk_size: int = CHUNK) -> Iterator[bytes]:
        """The body in decoded chunks; raises `SourceError` past the size cap and at the deadline."""
        cap, declared = self._max_bytes, self.headers.get("Content-Length", "")
        encoded = self.headers.get("Content-Encoding", "identity").lower() not in ("", "identity")
        try:
            if cap is not None and not encoded and declared.isdigit() and int(declared) > cap:
                raise SourceError(f"{self.url}: {declared} bytes is more than the limit of {cap}")
            for chunk in self._response.iter_content(chunk_size):
                self.size += len(chunk)
                if cap is not None and self.size > cap:
                    raise SourceError(f"{self.url}: larger than the limit of {cap} bytes")
                if self._watchdog.fired:
                    break
                yield chunk
            if self._watchdog.fired:  # a cut connection can look like a body that ended
                raise SourceUnavailableError(self._watchdog.message(self.url))
        except requests.RequestException as exc:
            if self._watchdog.expired():
                raise SourceUnavailableError(self._watchdog.message(self.url)) from exc
            raise SourceUnavailableError(f"{self.url}: download broke off: {exc}") from exc
        finally:
            self.close()

    def read(self) -> bytes:
        """The whole body (kept for later calls)."""
        if self._content is None:
            self._content = b"".join(self.iter_bytes())
        return self._content

    @property
    def text(self) -> str:
        """The body as text (UTF-8, undecodable bytes replaced)."""
        return self.read().decode("utf-8", "replace")

    def close(self) -> None:
        """Release the connection and stop the deadline's watchdog."""
        self._watchdog.cancel()
        self._response.close()

    def __enter__(self) -> Reply:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _replayable(data: Body | None) -> bool:
    return data is None or isinstance(data, bytes) or callable(data)


class Egress:
    """The portal's one HTTP client: timeouts, deadline, size cap, redirects, retries, address guard."""

    def __init__(self, *, connect_timeout: float = 10.0, read_timeout: float = 30.0,
                 deadline: float | None = 300.0, max_redirects: int = 5, retries: int = 3,
                 max_bytes: int | None = DEFAULT_MAX_BYTES, allow_private_addresses: bool = False,
                 address_policy: AddressPolicy | None = None, user_agent: str = user_agent_for(),
                 backoff: float = 0.5) -> None:
        self.connect_timeout, self.read_timeout, self.deadline = connect_timeout, read_timeout, deadline
        self.max_redirects, self.retries, self.backoff = max_redirects, retries, backoff
        self.max_bytes, self.user_agent = max_bytes, user_agent
        self.address_policy: AddressPolicy = address_policy or (
            any_address if allow_private_addresses else public_address_refusal)
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> Egress:
        """The client the settings describe (`http_*`, `max_download_bytes`, `allow_private_addresses`)."""
        return cls(connect_timeout=float(settings.http_connect_timeout),
                   read_timeout=float(settings.http_timeout), deadline=float(settings.http_deadline),
                   max_redirects=int(settings.http_max_redirects), retries=int(settings.http_retries),
                   max_bytes=int(settings.max_download_bytes),
                   allow_private_addresses=bool(settings.allow_private_addresses),
                   user_agent=user_agent_for(settings.base_url))

    def _session(self) -> requests.Session:
        """This thread's session (requests does not promise that one session is thread-safe)."""
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.trust_env = False  # no proxy or .netrc from the environment
            session.headers["User-Agent"] = self.user_agent
            adapter = GuardedAdapter(self.address_policy)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def request(self, method: str, url: str, *, params: Params | None = None, data: Body | None = None,
                headers: Mapping[str, str] | None = None, stream: bool = False,
                max_bytes: int | None = None) -> Reply:
        """Send a request (following redirects, retrying as set) and return the answer, of any status.

        With `stream` the body is left to be read from the reply (close it); otherwise it is read
        now. `max_bytes` overrides the client's size cap for this answer.
        """
        watchdog = _Watchdog(self.deadline)
        try:
            response = self._follow(method.upper(), url, params, data, dict(headers or {}), watchdog)
        except BaseException:
            watchdog.cancel()
            raise
        reply = Reply(url, response, watchdog, self.max_bytes if max_bytes is None else max_bytes)
        if not stream:
            with reply:
                reply.read()
        return reply

    def read(self, url: str, max_bytes: int | None = None) -> tuple[bytes, str]:
        """GET a document whole (a catalogue, a schema): its bytes and media type."""
        with self.request("GET", url, stream=True, max_bytes=max_bytes) as reply:
            reply.raise_for_status()
            return reply.read(), reply.media_type

    def download(self, url: str, dest_dir: Path, *, max_bytes: int | None = None,
                 etag: str | None = None, last_modified: str | None = None,
                 seen_at: datetime | None = None) -> Fetched:
        """GET `url` into `dest_dir` as a file named by its SHA-256, conditional on what was seen before.

        A known ETag makes the GET conditional (If-None-Match). A known Last-Modified does too
        (If-Modified-Since), but only when it lies a whole second before `seen_at`, the moment
        that version was downloaded: Last-Modified has one-second resolution, so a file rewritten
        within the second it was last fetched would otherwise look unchanged.
        """
        dest_dir.mkdir(parents=True, exist_ok=True)
        headers = {"If-None-Match": etag} if etag else {}
        if last_modified and seen_at is not None and _settled(last_modified, seen_at):
            headers["If-Modified-Since"] = last_modified
        with self.request("GET", url, headers=headers, stream=True, max_bytes=max_bytes) as reply:
            if reply.status == 304:
                return Fetched(url, None, None, 0, "", etag, last_modified)
            reply.raise_for_status()
            digest = hashlib.sha256()
            with tempfile.NamedTemporaryFile(dir=dest_dir, delete=False, suffix=".part") as out:
                try:
                    for chunk in reply.iter_bytes():
                        digest.update(chunk)
                        out.write(chunk)
                except BaseException:
                    out.close()
                    Path(out.name).unlink(missing_ok=True)
                    raise
            final = dest_dir / digest.hexdigest()
            Path(out.name).replace(final)
            return Fetched(url, final, digest.hexdigest(), reply.size, reply.media_type,
                           reply.headers.get("ETag"), reply.headers.get("Last-Modified"))

    def _follow(self, method: str, url: str, params: Params | None, data: Body | None,
                headers: dict[str, str], watchdog: _Watchdog) -> requests.Response:
        current = url
        for _ in range(self.max_redirects + 1):
            response = self._retrying(method, current, params, data, headers, watchdog, url)
            location = response.headers.get("Location")
            if response.status_code not in REDIRECT_STATUSES or not location:
                return response
            response.close()
            target = urljoin(response.url, location)
            old, new = urlsplit(response.url), urlsplit(target)
            if (old.scheme, old.netloc.lower()) != (new.scheme, new.netloc.lower()):
                headers = {k: v for k, v in headers.items() if k.lower() not in _CREDENTIALS}
            if response.status_code == 303 and method != "HEAD" or (
                    response.status_code in (301, 302) and method == "POST"):
                method, data = "GET", None
                headers = {k: v for k, v in headers.items()
                           if k.lower() not in ("content-type", "content-length")}
            elif not _replayable(data):
                raise SourceError(f"{url}: redirected to {target}, but the request body cannot be sent twice")
            current, params = target, None
        raise SourceError(f"{url}: more than {self.max_redirects} redirects")

    def _retrying(self, method: str, url: str, params: Params | None, data: Body | None,
                  headers: dict[str, str], watchdog: _Watchdog, asked: str) -> requests.Response:
        tries = 1 + (self.retries if method in IDEMPOTENT and _replayable(data) else 0)
        for attempt in range(tries):
            last = attempt == tries - 1
            try:
                response = self._send(method, url, params, data, headers, watchdog, asked)
            except requests.exceptions.SSLError as exc:  # a certificate problem does not go away
                raise self._unavailable(url, exc, watchdog) from exc
            except requests.ConnectionError as exc:
                wait = self.backoff * 2 ** attempt
                if last or watchdog.expired() or not self._may_wait(wait, watchdog):
                    raise self._unavailable(url, exc, watchdog) from exc
                time.sleep(wait)
                continue
            except requests.RequestException as exc:
                raise self._unavailable(url, exc, watchdog) from exc
            if response.status_code in RETRY_STATUSES and not last:
                after = retry_after_seconds(response.headers.get("Retry-After"))
                wait = self.backoff * 2 ** attempt if after is None else after
                if self._may_wait(wait, watchdog):
                    response.close()
                    time.sleep(wait)
                    continue
            return response
        raise AssertionError("the last attempt returns or raises")

    @staticmethod
    def _may_wait(wait: float, watchdog: _Watchdog) -> bool:
        left = watchdog.left()
        return wait <= MAX_RETRY_WAIT and (left is None or wait < left)

    @staticmethod
    def _unavailable(url: str, exc: Exception, watchdog: _Watchdog) -> SourceUnavailableError:
        return SourceUnavailableError(watchdog.message(url) if watchdog.expired() else f"{url}: {exc}")

    def _send(self, method: str, url: str, params: Params | None, data: Body | None,
              headers: dict[str, str], watchdog: _Watchdog, asked: str) -> requests.Response:
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            where = "" if url == asked else f" redirected to {url}, which is"
            raise SourceError(f"{asked}:{where} not an http(s) URL (unsupported URL scheme "
                              f"{parts.scheme!r})")
        connect, read, left = self.connect_timeout, self.read_timeout, watchdog.left()
        if left is not None:
            if left <= 0:
                raise SourceUnavailableError(watchdog.message(asked))
            connect, read = min(connect, left), min(read, left)
        body: Any = data
        if data is not None and not isinstance(data, bytes):
            body = iter(data() if callable(data) else data)  # an iterator: streamed, chunked
        session = self._session()
        prepared = session.prepare_request(requests.Request(method, url, params=params, data=body,
                                                            headers=headers))
        _ACTIVE.watchdog = watchdog
        try:
            return session.send(prepared, allow_redirects=False, stream=True, timeout=(connect, read))
        except SourceError as exc:  # the address guard's refusal, raised in the connection layer
            raise SourceError(f"{asked}: {exc}") from exc
        finally:
            _ACTIVE.watchdog = None

    def close(self) -> None:
        """Close every thread's session."""
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    def __enter__(self) -> Egress:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
