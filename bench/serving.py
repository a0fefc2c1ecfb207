"""A big harvest while the portal serves: its time and memory, and what it does to query latency.

A real `lodestar serve` runs on loopback; `lodestar harvest` of a DCAT catalogue naming the
street-tree table runs beside it, as a data officer would run it. Cheap `/sparql` queries are
timed before (idle) and during the harvest.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from bench.publish import measure

CATALOGUE = """@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
<> a dcat:Catalog ; dcat:dataset <https://bench.example/dataset/trees> .
<https://bench.example/dataset/trees> a dcat:Dataset ; dct:identifier "street-trees" ;
  dct:title "Street trees" ;
  dcat:distribution [ a dcat:Distribution ; dcat:downloadURL <{csv}> ;
    dcat:mediaType <https://www.iana.org/assignments/media-types/text/csv> ;
    dct:conformsTo <{schema}> ] .
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (the portal's query workers), in MB."""
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for one in pids:
        try:
            for line in Path(f"/proc/{one}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def _latencies(url: str, seconds: float | None = None, count: int | None = None,
               stop: threading.Event | None = None) -> list[float]:
    query = "ASK { ?s a ?type }"
    out: list[float] = []
    session = requests.Session()
    end = time.monotonic() + (seconds or 1e9)
    while (count is None or len(out) < count) and time.monotonic() < end and not (stop and stop.is_set()):
        start = time.perf_counter()
        response = session.get(f"{url}/sparql", params={"query": query},
                               headers={"Accept": "application/sparql-results+json"}, timeout=60)
        out.append(time.perf_counter() - start)
        response.raise_for_status()
        time.sleep(0.02)
    return out


def p95(values: list[float]) -> float:
    """The 95th percentile."""
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 20 else max(values)


def bench_harvest_while_serving(csv_path: Path, schema_path: Path, workdir: Path) -> dict[str, float]:
    """Serve, then harvest the table beside the portal; times, memory and query latency."""
    workdir.mkdir(parents=True, exist_ok=True)
    instance = workdir / "instance"
    env = dict(os.environ, LODESTAR_INSTANCE=str(instance), LODESTAR_ALLOW_PRIVATE_ADDRESSES="1")
    catalogue = workdir / "catalog.ttl"
    catalogue.write_text(CATALOGUE.replace("{csv}", csv_path.as_uri()).replace("{schema}", schema_path.as_uri()),
                         encoding="utf-8")
    lodestar = str(Path(sys.executable).with_name("lodestar"))
    port = _free_port()
    portal = subprocess.Popen([lodestar, "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{url}/-/health", timeout=2)
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        subprocess.run([lodestar, "sources", "add", "trees", catalogue.as_uri()], env=env, check=True,
                       capture_output=True)
        idle = _latencies(url, count=200)
        portal_before = _rss_mb(portal.pid)
        stop = threading.Event()
        during: list[float] = []
        peak = [portal_before]

        def load() -> None:
            while not stop.is_set():
                during.extend(_latencies(url, seconds=1.0, stop=stop))
                peak[0] = max(peak[0], _rss_mb(portal.pid))

        thread = threading.Thread(target=load)
        thread.start()
        try:
            harvest = measure([lodestar, "harvest", "trees"], env=env)
        finally:
            stop.set()
            thread.join()
    finally:
        portal.terminate()
        portal.wait(timeout=60)
    return {"harvest_seconds": harvest.seconds, "harvest_rss_mb": harvest.max_rss_mb,
            "portal_rss_before_mb": portal_before, "portal_rss_peak_mb": peak[0],
            "growth_mb": harvest.max_rss_mb + peak[0] - portal_before,
            "p95_idle_ms": p95(idle) * 1000, "p95_during_ms": p95(during) * 1000,
            "queries_during": len(during)}
