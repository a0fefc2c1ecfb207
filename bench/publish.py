"""Publishing a big table: Lodestar's generational store against pyoxigraph `bulk_load`, at real size.

Every measured step runs in its own process, so peak memory (max RSS, from `wait4`) is that
step's alone. The N-Triples are what Lodestar's converter makes of the shared street-tree
table (about 11.85 triples a row).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

GRAPH = "http://127.0.0.1:5000/graph/bench/trees"

_PEER = """
import sys, pyoxigraph as ox
store = ox.Store(sys.argv[1])
store.bulk_load(path=sys.argv[2], format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(sys.argv[3]))
store.flush()
"""

_OURS = """
import json, sys
from pathlib import Path
from portal.store.oxigraph import OxigraphStore
store = OxigraphStore(sys.argv[1])
before = store.layout.active()
changed = store.replace_graph(sys.argv[3], Path(sys.argv[2]))
print(json.dumps({"changed": changed, "new_generation": store.layout.active() != before, **store.last_write}))
store.close()
"""


@dataclass(frozen=True)
class Measured:
    """One step run in a child process."""

    seconds: float
    max_rss_mb: float
    output: str


def _peak_rss_mb(pid: int) -> float | None:
    """A process's resident-memory high-water mark (VmHWM, reset at exec), in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _tree(root: int) -> list[int]:
    """`root` and its descendants, from /proc."""
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        try:
            for task in Path(f"/proc/{pid}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _rss_mb(pid: int) -> float:
    """A process's resident memory now (VmRSS), in MB; 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def measure(args: list[str], env: dict[str, str] | None = None, *, tree: bool = False) -> Measured:
    """Run a child process to completion; its wall time and peak RSS.

    The peak is read from the child's own VmHWM while it runs: `wait4`'s ru_maxrss would also
    count this (large) benchmark process, whose high-water mark a forked child inherits. With
    `tree`, the peak is that of the summed RSS of the child and its descendants (for tools that
    work in several processes), sampled every 50 ms.
    """
    start = time.perf_counter()
    child = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, env=env)
    assert child.stdout is not None
    peak = [0.0]
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.05):
            found = (sum(_rss_mb(pid) for pid in _tree(child.pid)) if tree
                     else _peak_rss_mb(child.pid))
            if found is not None:
                peak[0] = max(peak[0], found)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        output = child.stdout.read()
        child.wait()
    finally:
        done.set()
        watcher.join()
    elapsed = time.perf_counter() - start
    child.stdout.close()
    if child.returncode != 0:
        raise RuntimeError(f"{args[:3]} failed with {child.returncode}")
    return Measured(elapsed, peak[0], output)


def change_one_percent_of_rows(source: Path, out: Path) -> int:
    """Copy the N-Triples with the height of every hundredth tree changed; returns rows changed."""
    changed = 0
    with source.open("rb") as src, out.open("wb") as dst:
        for line in src:
            if b"/height-m>" in line:
                subject = line[:line.find(b" ")]
                key = subject.rsplit(b"/", 1)[-1].rstrip(b">")
                if key.isdigit() and int(key) % 100 == 0:
                    line = line.replace(b'"', b'"1', 1)
                    changed += 1
            dst.write(line)
    return changed


def bench_publish(nt_path: Path, triples: int, workdir: Path, runs: int) -> list[dict[str, object]]:
    """First publish (ours and the peer's bulk_load), unchanged re-publish, 1 % re-publish (vs the first)."""
    py = sys.executable
    rows: list[dict[str, object]] = []
    peer, first = [], []
    for run in range(runs):
        peer.append(measure([py, "-c", _PEER, str(workdir / f"peer-{run}"), str(nt_path), GRAPH]))
        first.append(measure([py, "-c", _OURS, str(workdir / f"ours-{run}"), str(nt_path), GRAPH]))
    store = workdir / f"ours-{runs - 1}"
    unchanged = measure([py, "-c", _OURS, str(store), str(nt_path), GRAPH])
    modified = workdir / "one-percent.nt"
    changed_rows = change_one_percent_of_rows(nt_path, modified)
    one_percent = measure([py, "-c", _OURS, str(store), str(modified), GRAPH])

    def median(values: list[float]) -> float:
        return sorted(values)[len(values) // 2]

    def visible(m: Measured) -> float:
        """Wall time until readers saw the graph: the child's, less the optimize that follows."""
        timings = json.loads(m.output)
        return m.seconds - (timings["done_after"] - timings["visible_after"])

    t_peer, t_first = median([m.seconds for m in peer]), median([m.seconds for m in first])
    t_visible = median([visible(m) for m in first])
    rows.append({"step": "pyoxigraph bulk_load (peer; not atomic)", "seconds": t_peer,
                 "rss_mb": max(m.max_rss_mb for m in peer), "triples_per_s": triples / t_peer})
    rows.append({"step": "Lodestar first publish, until readers see it (atomic switch)", "seconds": t_visible,
                 "rss_mb": max(m.max_rss_mb for m in first), "triples_per_s": triples / t_visible,
                 "vs_peer_throughput": t_peer / t_visible})
    rows.append({"step": "Lodestar first publish, with the optimized generation that follows", "seconds": t_first,
                 "rss_mb": max(m.max_rss_mb for m in first), "triples_per_s": triples / t_first,
                 "vs_peer_throughput": t_peer / t_first})
    rows.append({"step": "Lodestar re-publish, unchanged", "seconds": unchanged.seconds,
                 "rss_mb": unchanged.max_rss_mb, "note": json.loads(unchanged.output)})
    rows.append({"step": f"Lodestar re-publish, 1 % of rows changed ({changed_rows:,} rows)",
                 "seconds": one_percent.seconds, "rss_mb": one_percent.max_rss_mb,
                 "vs_first": one_percent.seconds / t_visible, "note": json.loads(one_percent.output)})
    return rows

