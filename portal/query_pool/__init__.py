"""A bounded pool of query worker processes for the public SPARQL endpoint.

Public queries on the embedded store run in worker processes (`portal.query_pool.worker`) that
open the store read-only, so nothing a visitor sends can take the portal down or starve others:

- each admitted query gets a worker process of its own; at most `sparql_workers` of them
  evaluate at any moment, the others (up to `sparql_queue` more) wait paused (SIGSTOP). The
  queries that have had the least evaluation time run first (least-attained-service
  scheduling), so a cheap query answers at once even while runaway queries fill the pool;
- a query that has evaluated for `sparql_timeout` seconds, or whose worker grows past
  `sparql_worker_memory_mb` (its RSS, read from /proc every 50 ms; all workers together may use
  `sparql_workers` times that), is stopped by killing its worker (SIGKILL);
- a worker that crashes (a parser stack overflow, say) fails only its own query; a killed or
  crashed worker is replaced;
- past `sparql_workers + sparql_queue` queries the answer is 503 with Retry-After; one client
  address may have `sparql_client_share` queries admitted, past that 429 with Retry-After;
- a query whose client disconnects is stopped (waitress tells, see `server_threads`).

Workers are started with 'spawn' (never a fork of a threaded process holding RocksDB files) on
the first query, not at import or in the app factory; `QueryPool.close` stops them.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from portal.config import Settings
from portal.errors import (ClientGoneError, ConfigError, EndpointBusyError, QueryCrashedError, QueryMemoryError,
                           QueryTimeoutError, StoreError, TooManyQueriesError, UsageError)
from portal.query_pool.worker import CappedResult, QueryJob, serve_jobs

__all__ = ["CappedResult", "QueryJob", "QueryPool", "server_threads"]

log = logging.getLogger(__name__)

#: Seconds between two looks at a running query (answer, time, memory, client, turns).
POLL = 0.05
#: Evaluation seconds a running query is ahead before a waiting one takes its turn.
QUANTUM = 0.25
#: Server threads beyond those the pool can occupy: pages, health checks, cheap requests.
SPARE_THREADS = 8
_PAGE = os.sysconf("SC_PAGE_SIZE")


def server_threads(settings: Settings) -> int:
    """How many threads the web server needs so that queries can never occupy every one of them."""
    return int(settings.sparql_workers) + int(settings.sparql_queue) + SPARE_THREADS


def resident_bytes(pid: int) -> int | None:
    """A process's resident set size, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


class _Worker:
    """One worker process and the pipe to it."""

    def __init__(self, context: Any, store_path: Path) -> None:
        parent_end, child_end = context.Pipe()
        self.process: BaseProcess = context.Process(
            target=serve_jobs, args=(str(store_path), child_end, os.getpid()),
            name="lodestar-query-worker", daemon=True)
        self.process.start()
        child_end.close()
        self.conn: Connection = parent_end
        assert self.process.pid is not None
        self.pid: int = self.process.pid

    def alive(self) -> bool:
        """True while the process runs."""
        return self.process.is_alive()

    def kill(self) -> None:
        """Stop the process at once, whatever it does (paused or not), and release the pipe."""
        _signal(self.pid, signal.SIGKILL)
        self.process.join(timeout=10)
        self.conn.close()

    def stop(self) -> None:
        """Ask an idle worker to end, and make sure it does."""
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.process.join(timeout=1)
        self.kill()


@dataclass(eq=False)
class _Query:
    """An admitted query: its worker, the evaluation time it has had, and whether it runs now."""

    client: str
    arrived: float
    worker: _Worker | None = None
    service: float = 0.0
    since: float = 0.0
    paused: bool = False
    verdict: str | None = None  # set by the scheduler when the query must be stopped


class _Stopped(Exception):
    """A worker must be killed; `error` is what the query's caller gets."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def _kill_all(workers: dict[int, _Worker]) -> None:
    """At interpreter exit: no worker outlives the portal."""
    for pid in list(workers):
        _signal(pid, signal.SIGKILL)


class QueryPool:
    """Runs public queries in worker processes, with a time limit, memory caps, a bounded number of
    admitted queries and a per-client share. Thread-safe: every web server thread may call `run`."""

    def __init__(self, store_path: Path, *, workers: int = 3, queue: int = 8, client_share: int = 2,
                 timeout: float = 30.0, memory_mb: int = 1024, retry_after: int = 5) -> None:
        if workers < 1 or queue < 0 or client_share < 1 or timeout <= 0 or memory_mb < 1:
            raise ConfigError("sparql_workers, sparql_client_share, sparql_timeout and "
                              "sparql_worker_memory_mb must be positive, sparql_queue at least 0")
        self.store_path = Path(store_path)
        self.workers, self.queue, self.client_share = workers, queue, client_share
        self.timeout, self.memory_bytes, self.retry_after = timeout, memory_mb << 20, retry_after
        #: Wall-clock bound of an admitted query: its time limit, stretched by a fair share of turns.
        self.wall_limit = timeout * (workers + queue) / workers + 1.0
        self._context = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._queries: list[_Query] = []
        self._clients: Counter[str] = Counter()
        self._all: dict[int, _Worker] = {}
        self._closed = False
        self._scheduled = 0.0
        self._finalizer = weakref.finalize(self, _kill_all, self._all)

    @classmethod
    def from_settings(cls, settings: Settings, store_path: Path) -> QueryPool:
        """A pool sized and limited by the instance's settings."""
        return cls(store_path, workers=int(settings.sparql_workers), queue=int(settings.sparql_queue),
                   client_share=int(settings.sparql_client_share), timeout=float(settings.sparql_timeout),
                   memory_mb=int(settings.sparql_worker_memory_mb))

    # -- one query --------------------------------------------------------------------------

    def run(self, job: QueryJob, *, client: str = "", disconnected: Callable[[], bool] | None = None
            ) -> CappedResult:
        """Answer `job` in a worker; refuse when the client's share or the pool is full."""
        query = self._admit(client)
        worker: _Worker | None = None
        try:
            worker = self._take()
            with self._lock:
                query.worker, query.since = worker, time.monotonic()
                self._schedule(query.since)
            return self._ask(query, worker, job, disconnected or (lambda: False))
        except _Stopped as stopped:
            assert worker is not None
            worker.kill()
            worker = None
            raise stopped.error from None
        finally:
            self._leave(query, worker)
            if worker is None:
                self._warm()

    def _admit(self, client: str) -> _Query:
        with self._lock:
            if self._closed:
                raise StoreError("the SPARQL endpoint is shutting down")
            if self._clients[client] >= self.client_share:
                raise TooManyQueriesError(
                    f"{self.client_share} of your queries are already running or waiting; send the next "
                    f"when one has answered", retry_after=self.retry_after)
            if len(self._queries) >= self.workers + self.queue:
                raise EndpointBusyError(f"{len(self._queries)} queries are running or waiting, as many as "
                                        f"this endpoint takes; try again shortly", retry_after=self.retry_after)
            query = _Query(client, time.monotonic())
            self._queries.append(query)
            self._clients[client] += 1
            return query

    def _take(self) -> _Worker:
        """An idle worker, or a new one."""
        with self._lock:
            if self._idle:
                return self._idle.pop()
        try:
            worker = _Worker(self._context, self.store_path)
        except OSError as exc:
            raise StoreError(f"cannot start a query worker: {exc}") from exc
        with self._lock:
            self._all[worker.pid] = worker
        return worker

    def _warm(self) -> None:
        """After a worker was killed or crashed: a fresh idle one takes its place."""
        with self._lock:
            wanted = not self._closed and len(self._all) < self.workers
        if wanted:
            try:
                worker = _Worker(self._context, self.store_path)
            except OSError:
                log.exception("cannot start a query worker")
                return
            with self._lock:
                self._all[worker.pid] = worker
                if not self._closed:
                    self._idle.append(worker)
                    return
            worker.kill()

    def _leave(self, query: _Query, worker: _Worker | None) -> None:
        """Forget the query; keep its worker for the next one if it is sound and wanted."""
        with self._lock:
            self._queries.remove(query)
            self._clients[query.client] -= 1
            if self._clients[query.client] <= 0:
                del self._clients[query.client]
            if query.worker is not None and (worker is None or not worker.alive()):
                self._all.pop(query.worker.pid, None)
            keep = worker is not None and worker.alive() and not self._closed and len(self._idle) < self.workers
            if keep:
                assert worker is not None
                if query.paused:
                    _signal(worker.pid, signal.SIGCONT)
                self._idle.append(worker)
            elif worker is not None:
                self._all.pop(worker.pid, None)
            self._schedule(time.monotonic())
        if worker is not None and not keep:
            worker.stop()

    def _ask(self, query: _Query, worker: _Worker, job: QueryJob, gone: Callable[[], bool]) -> CappedResult:
        """Send the job and watch the worker until it answers; raise `_Stopped` to have it killed."""
        try:
            worker.conn.send(job)
        except OSError:
            raise self._stopped(worker, "crash") from None
        while True:
            try:
                if worker.conn.poll(POLL):
                    reply = worker.conn.recv()
                    break
            except (EOFError, OSError):
                raise self._stopped(worker, "crash") from None
            with self._lock:
                self._schedule(time.monotonic(), every=POLL / 2)
                verdict = query.verdict
            if verdict is not None:
                raise self._stopped(worker, verdict)
            if not worker.alive():
                raise self._stopped(worker, "crash")
            if gone():
                raise self._stopped(worker, "gone")
        status, value = reply
        if status == "ok":
            assert isinstance(value, CappedResult)
            return value
        if status == "usage":
            raise UsageError(value)
        raise StoreError(f"the query failed: {value}")

    def _stopped(self, worker: _Worker, why: str) -> _Stopped:
        """The error that says why a worker is being stopped."""
        error: Exception
        if self._closed:
            error = StoreError("the SPARQL endpoint is shutting down")
        elif why == "timeout":
            error = QueryTimeoutError(f"the query ran longer than {self.timeout:g} s, this endpoint's time "
                                      f"limit, and was stopped")
        elif why == "busy":
            error = EndpointBusyError(f"the endpoint was too busy to give the query its {self.timeout:g} s "
                                      f"within {self.wall_limit:g} s; try again shortly",
                                      retry_after=self.retry_after)
        elif why == "memory":
            error = QueryMemoryError(f"the query needed more than {self.memory_bytes >> 20} MB, this "
                                     f"endpoint's memory limit per query, and was stopped")
        elif why == "gone":
            error = ClientGoneError("the client disconnected; its query was stopped")
        else:
            worker.process.join(timeout=1)
            code = worker.process.exitcode
            note = f" (signal {-code})" if code is not None and code < 0 else ""
            error = QueryCrashedError(f"the query worker crashed{note} while evaluating this query; it "
                                      f"cannot be answered (other queries are not affected)")
        return _Stopped(error)

    # -- turns ------------------------------------------------------------------------------

    def _schedule(self, now: float, every: float = 0.0) -> None:
        """Account evaluation time; let the `workers` least-served queries run and pause the rest;
        pass verdicts on queries past their time or memory. Call with the lock held; `every` skips
        the work when another thread did it less than that many seconds ago."""
        if now - self._scheduled < every:
            return
        self._scheduled = now
        started = [q for q in self._queries if q.worker is not None and q.verdict is None]
        total = 0
        for query in started:
            assert query.worker is not None
            if not query.paused:
                query.service += now - query.since
            query.since = now
            rss = resident_bytes(query.worker.pid) or 0
            total += rss
            if query.service >= self.timeout:
                query.verdict = "timeout"
            elif now - query.arrived >= self.wall_limit:
                query.verdict = "busy"
            elif rss > self.memory_bytes:
                query.verdict = "memory"
        if total > self.memory_bytes * self.workers and started:
            biggest = max(started, key=lambda q: resident_bytes(q.worker.pid) or 0 if q.worker else 0)
            biggest.verdict = biggest.verdict or "memory"
        live = [q for q in started if q.verdict is None]
        live.sort(key=lambda q: (q.service - (0 if q.paused else QUANTUM), q.arrived))
        pause = [q for q in live[self.workers:] if not q.paused]
        resume = [q for q in live[:self.workers] if q.paused]
        for query in pause + resume:  # pause first: never more than `workers` evaluate at once
            assert query.worker is not None
            query.paused = query in pause
            _signal(query.worker.pid, signal.SIGSTOP if query.paused else signal.SIGCONT)

    # -- lifecycle --------------------------------------------------------------------------

    def running(self) -> list[int]:
        """Process ids of the live workers (for monitoring and tests)."""
        with self._lock:
            return [pid for pid, w in self._all.items() if w.alive()]

    def close(self) -> None:
        """Stop every worker; queries in flight fail, later ones are refused."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            busy = [w for w in self._all.values() if w not in idle]
        for worker in idle:
            worker.stop()
        for worker in busy:
            _signal(worker.pid, signal.SIGKILL)
        self._finalizer.detach()
