"""The address guard under the egress client: connections that refuse non-public addresses.

A host name is resolved once, every address it resolves to is checked by a policy, and the
socket connects to a checked address (TLS still verifies the certificate against the name).
A watchdog cuts a request's socket when its whole-request deadline passes.
"""

from __future__ import annotations

import heapq
import ipaddress
import itertools
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.connection import allowed_gai_family

from portal.errors import SourceError

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: Decides whether an address may be connected to: None allows it, a reason (``"loopback"``) refuses it.
AddressPolicy = Callable[[IPAddress], str | None]

_SHARED = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def public_address_refusal(address: IPAddress) -> str | None:
    """Why `address` is not a public unicast address (e.g. ``"loopback"``); None when it is one."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour
        if inner is None and address in _NAT64:
            inner = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if inner is not None:
            reason = public_address_refusal(inner)
            return f"{reason} (as {address})" if reason else None
    checks = (("unspecified", address.is_unspecified), ("loopback", address.is_loopback),
              ("link-local", address.is_link_local), ("multicast", address.is_multicast),
              ("shared", address in _SHARED), ("reserved", address.is_reserved),
              ("private", address.is_private),
              ("site-local", isinstance(address, ipaddress.IPv6Address) and address.is_site_local))
    for reason, hit in checks:
        if hit:
            return reason
    return None if address.is_global else "non-public"


def any_address(address: IPAddress) -> str | None:
    """The policy of `allow_private_addresses`: every address may be connected to."""
    return None


# -- the connection layer: resolve once, check every address, connect to a checked one --------------

_ACTIVE = threading.local()  # the watchdog of the request this thread is sending, if any


Resolved = list[tuple[Any, Any, Any, Any, Any]]


def refused_address(infos: Resolved, policy: AddressPolicy) -> tuple[IPAddress, str] | None:
    """The first resolved address the policy refuses, with the reason (None: all may be used)."""
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(sockaddr[0])
        reason = policy(address)
        if reason:
            return address, reason
    return None


def _connect_checked(conn: HTTPConnection, policy: AddressPolicy) -> socket.socket:
    host = conn._dns_host  # noqa: SLF001 (urllib3's host without IPv6 brackets)
    try:
        infos = socket.getaddrinfo(host, conn.port, allowed_gai_family(), socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise NameResolutionError(conn.host, conn, exc) from exc
    refused = refused_address(infos, policy)
    if refused is not None:
        raise SourceError(f"refused to connect to {conn.host} at {refused[0]}, a {refused[1]} address "
                          "(allow_private_addresses lifts this guard for local sources)")
    error: OSError | None = None
    for family, kind, proto, _, sockaddr in infos:
        sock = socket.socket(family, kind, proto)
        try:
            for option in conn.socket_options or ():
                sock.setsockopt(*option)
            if conn.timeout is None or isinstance(conn.timeout, (int, float)):
                sock.settimeout(conn.timeout)
            if conn.source_address:
                sock.bind(conn.source_address)
            sock.connect(sockaddr)
        except OSError as exc:
            sock.close()
            error = exc
            continue
        sys.audit("http.client.connect", conn, conn.host, conn.port)
        return sock
    if isinstance(error, TimeoutError):
        raise ConnectTimeoutError(conn, f"connection to {conn.host} timed out "
                                        f"(connect timeout={conn.timeout})") from error
    raise NewConnectionError(conn, f"failed to establish a new connection: {error}") from error


def _watch(sock: socket.socket | None) -> None:
    watchdog: _Watchdog | None = getattr(_ACTIVE, "watchdog", None)
    if watchdog is not None and sock is not None:
        watchdog.attach(sock)


class GuardedHTTPConnection(HTTPConnection):
    """An urllib3 connection that connects only to addresses its policy allows."""

    address_policy: AddressPolicy = staticmethod(public_address_refusal)

    def _new_conn(self) -> socket.socket:
        return _connect_checked(self, type(self).address_policy)

    def connect(self) -> None:
        """Connect, then put the socket under the deadline of the request being sent.

        Connecting and a TLS handshake are bounded by the connect timeout (at most the time left).
        """
        super().connect()
        _watch(self.sock)  # the TLS socket, when there is one

    def request(self, *args: Any, **kwargs: Any) -> None:
        """Send a request, under its deadline (a kept-alive connection is watched anew)."""
        _watch(self.sock)
        super().request(*args, **kwargs)


class GuardedHTTPSConnection(GuardedHTTPConnection, HTTPSConnection):
    """The TLS twin of `GuardedHTTPConnection` (SNI and certificate checks stay on the host name)."""


class GuardedAdapter(HTTPAdapter):
    """A requests transport whose connection pools use the guarded connections of one policy."""

    def __init__(self, policy: AddressPolicy) -> None:
        guard = {"address_policy": staticmethod(policy)}
        self._pool_classes = {
            "http": type("GuardedHTTPConnectionPool", (HTTPConnectionPool,), {
                "ConnectionCls": type("PolicyHTTPConnection", (GuardedHTTPConnection,), guard)}),
            "https": type("GuardedHTTPSConnectionPool", (HTTPSConnectionPool,), {
                "ConnectionCls": type("PolicyHTTPSConnection", (GuardedHTTPSConnection,), guard)}),
        }
        super().__init__(max_retries=0)  # retries are the Egress's own

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        """Build the pool manager, then give it the guarded pool classes."""
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pool_classes

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        """Refuse proxies: the guard has to see the address actually connected."""
        raise SourceError(f"outbound HTTP through a proxy ({proxy}) is not supported")


def _nothing() -> None:
    pass


@dataclass(order=True)
class _Alarm:
    """A call due at a monotonic instant, unless cancelled first."""

    when: float
    seq: int
    call: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)


class _AlarmClock:
    """One thread that makes every watchdog's call at its deadline.

    A thread per request (`threading.Timer`) costs about a millisecond to start and stop, as much as
    a whole request to a fast receiver; here a deadline is a heap entry and cancelling it a flag.
    """

    def __init__(self) -> None:
        self._seq = itertools.count()
        self._reset()
        os.register_at_fork(after_in_child=self._reset)  # a forked child has no clock thread

    def _reset(self) -> None:
        self._heap: list[_Alarm] = []
        self._wake = threading.Condition()
        self._thread = False  # started on the first alarm
        self._cancelled = 0  # cancelled entries still in the heap

    def at(self, when: float, call: Callable[[], None]) -> _Alarm:
        """Make `call` at monotonic instant `when`, on the clock's thread."""
        alarm = _Alarm(when, next(self._seq), call)
        with self._wake:
            if not self._thread:
                self._thread = True
                threading.Thread(target=self._run, name="lodestar-deadlines", daemon=True).start()
            heapq.heappush(self._heap, alarm)
            if self._heap[0] is alarm:
                self._wake.notify()
        return alarm

    def cancel(self, alarm: _Alarm) -> None:
        """Never make `alarm`'s call; the heap drops cancelled entries once they are the majority."""
        with self._wake:
            if alarm.cancelled:
                return
            alarm.cancelled, alarm.call = True, _nothing
            self._cancelled += 1
            if self._cancelled > 64 and self._cancelled * 2 > len(self._heap):
                self._heap = [a for a in self._heap if not a.cancelled]
                heapq.heapify(self._heap)
                self._cancelled = 0

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._heap and self._heap[0].cancelled:
                    heapq.heappop(self._heap)
                    self._cancelled -= 1
                if not self._heap:
                    self._wake.wait()
                    continue
                wait = self._heap[0].when - time.monotonic()
                if wait > 0:
                    self._wake.wait(wait)
                    continue
                due = heapq.heappop(self._heap)
                due.cancelled = True  # made: a later cancel has nothing to drop
            try:
                due.call()
            except Exception:  # a failing call must not stop every later deadline
                log.exception("a deadline's call failed")


_ALARMS = _AlarmClock()


class _Watchdog:
    """Cuts the connection of one request when its deadline passes, whatever it is waiting for.

    Setting the socket timeout between chunks is not enough: one buffered read loops over many
    socket reads (a 64 KiB chunk at 4 bytes a second), and neither header lines nor a gzip header
    yield a chunk at all. Shutting the socket down makes the read in progress return at once.
    """

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.ends = None if seconds is None else time.monotonic() + seconds
        self.fired = False
        self._sock: socket.socket | None = None
        self._done = False
        self._lock = threading.Lock()
        self._alarm: _Alarm | None = None
        if self.ends is not None:
            self._alarm = _ALARMS.at(self.ends, self._fire)

    def left(self) -> float | None:
        """Seconds until the deadline (negative once past); None without a deadline."""
        return None if self.ends is None else self.ends - time.monotonic()

    def expired(self) -> bool:
        """True once the deadline has passed."""
        left = self.left()
        return self.fired or (left is not None and left <= 0)

    def message(self, url: str) -> str:
        """The error message for a request cut at its deadline."""
        return f"{url}: gave up at the whole-request deadline of {self.seconds:g} s (http_deadline)"

    def attach(self, sock: socket.socket) -> None:
        """Watch `sock`, the socket now carrying the request.

        The socket, not its urllib3 connection: a connection drops its socket once the answer
        will close it, while the answer's body is still read from that socket.
        """
        with self._lock:
            if not self._done:
                self._sock = sock
                if self.fired:
                    self._cut(sock)

    def cancel(self) -> None:
        """The request is over: stop watching."""
        if self._alarm is not None:
            _ALARMS.cancel(self._alarm)
        with self._lock:
            self._done, self._sock = True, None

    def _fire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.fired = True
            if self._sock is not None:
                self._cut(self._sock)

    @staticmethod
    def _cut(sock: socket.socket) -> None:
        try:  # the plain socket's shutdown, leaving a TLS wrapper's state to its own thread
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:  # already closed, or a plain socket since wrapped for TLS
            pass
