"""`python -m bench.validation`: the validation fast path against frictionless-py, side by side.

Data: the street-tree table from ``../shared/bench-data/gen_trees.py`` (1M rows, 12 columns, 200
injected errors; generated once into the git-ignored ``bench/out/validation/``) with its schema
``trees.schema.json``, and the Toronto street-tree sample with the bundled ``street-trees``
schema. Each validator runs in its own process, so its peak RSS (VmHWM) is its own; the times
are those of the validation call alone (imports and file sniffing excluded, for both tools).
Both must report the same set of (code, row, field). The section "## Validation" of
bench/RESULTS.md is replaced (or appended); the other sections are left as they are.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench.publish import Measured, measure
from bench.results import write_section

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
BENCH_DATA = SHARED / "bench-data"
CACHE = REPO / "bench" / "out" / "validation"
TORONTO = SHARED / "samples" / "csv" / "toronto_street-trees_YO-york.csv"
TORONTO_SCHEMA = REPO / "schemas" / "tables" / "street-trees.schema.json"

#: Child: Lodestar's public `validate` step on one file, as the harvest and the CLI run it (sniffing,
#: guard-rails, the header check and the fast path); prints its time, rows and located issues.
_FAST = """
import json, sys, time
from portal.steps import validate
from schemas.collector import IssueCollector
# List every error (the step lists at most 100 of a kind and counts the rest), so that the whole
# set can be compared with Frictionless' own.
IssueCollector.__init__.__kwdefaults__["per_code"] = 10**9
schema = json.loads(open(sys.argv[2], encoding="utf-8").read())
# The first call in a process pays for lazy imports and thread pools; a harvester or the
# scheduler validates table after table in one process. Both are timed.
start = time.perf_counter()
validate(sys.argv[1], schema)
cold = time.perf_counter() - start
start, cpu = time.perf_counter(), time.process_time()
report, table = validate(sys.argv[1], schema)
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
located = []
for i in report.issues:
    if i.severity != "error":
        continue
    rows = list(i.rows) if i.count > 1 and i.rows else [i.location.row]
    located += [[i.code, row, i.location.field] for row in rows]
print(json.dumps({"seconds": seconds, "cold": cold, "cpu": cpu, "rows": report.stats.get("rows"),
                  "engine": report.stats.get("engine"), "located": located}))
"""

#: Child: frictionless-py as a user would run it on the same file and schema.
_PEER = """
import json, sys, time
from pathlib import Path
import frictionless
path = Path(sys.argv[1])
descriptor = json.loads(open(sys.argv[2], encoding="utf-8").read())
resource = frictionless.Resource(path=path.name, basepath=str(path.parent),
                                 schema=frictionless.Schema.from_descriptor(descriptor))
start, cpu = time.perf_counter(), time.process_time()
report = resource.validate(limit_errors=1_000_000)
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
key = descriptor.get("primaryKey") or []
single = key[0] if isinstance(key, list) and len(key) == 1 else (key if isinstance(key, str) else None)
located = []
for error in [e for task in report.tasks for e in task.errors]:
    field = getattr(error, "field_name", None)
    if field is None and error.type == "primary-key":
        field = single
    located.append(["table/" + error.type, getattr(error, "row_number", None), field])
print(json.dumps({"seconds": seconds, "cpu": cpu, "rows": report.tasks[0].stats.get("rows"),
                  "located": located}))
"""


def trees_table(rows: int, errors: int) -> Path:
    """The generated street-tree table with injected errors, cached between runs."""
    CACHE.mkdir(parents=True, exist_ok=True)
    out = CACHE / f"trees_{rows}_e{errors}.csv"
    if not out.exists():
        subprocess.run([sys.executable, str(BENCH_DATA / "gen_trees.py"), "--rows", str(rows),
                        "--errors", str(errors), "--out", str(out)], check=True, capture_output=True)
    return out


def _child(script: str, path: Path, schema: Path) -> tuple[Measured, dict[str, Any]]:
    measured = measure([sys.executable, "-c", script, str(path), str(schema)])
    return measured, json.loads(measured.output)


def _located(result: dict[str, Any]) -> set[tuple[str, int | None, str | None]]:
    return {(code, row, field) for code, row, field in result["located"]}


def compare(path: Path, schema: Path, runs: int, peer_runs: int) -> dict[str, Any]:
    """Fast path (median of `runs` child processes) against frictionless-py (`peer_runs`)."""
    fast = [_child(_FAST, path, schema) for _ in range(runs)]
    peer = [_child(_PEER, path, schema) for _ in range(peer_runs)]
    fast_set, peer_set = _located(fast[-1][1]), _located(peer[-1][1])
    t_fast = statistics.median(r["seconds"] for _, r in fast)
    t_peer = statistics.median(r["seconds"] for _, r in peer)
    c_fast = statistics.median(r["cpu"] for _, r in fast)
    c_peer = statistics.median(r["cpu"] for _, r in peer)
    return {"rows": fast[-1][1]["rows"], "fast_seconds": t_fast, "peer_seconds": t_peer,
            "fast_cpu": c_fast, "peer_cpu": c_peer, "cpu_ratio": c_peer / c_fast,
            "fast_rss": max(m.max_rss_mb for m, _ in fast), "peer_rss": max(m.max_rss_mb for m, _ in peer),
            "fast_wall": statistics.median(m.seconds for m, _ in fast),
            "fast_cold": statistics.median(r["cold"] for _, r in fast),
            "same": fast_set == peer_set, "errors": len(fast_set),
            "only_fast": sorted(fast_set - peer_set, key=str)[:5],
            "only_peer": sorted(peer_set - fast_set, key=str)[:5],
            "ratio": t_peer / t_fast, "runs": runs, "peer_runs": peer_runs}


def tiled_toronto(copies: int) -> Path:
    """The Toronto sample repeated `copies` times, ids renumbered so keys stay unique."""
    CACHE.mkdir(parents=True, exist_ok=True)
    out = CACHE / f"toronto_x{copies}.csv"
    if out.exists():
        return out
    with TORONTO.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    ids = [header.index(name) for name in ("_id", "OBJECTID")]
    struct = header.index("STRUCTID")
    with out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        n = 0
        for _ in range(copies):
            for row in body:
                n += 1
                row = list(row)
                for i in ids:
                    row[i] = str(n)
                row[struct] = f"YO{n}"
                writer.writerow(row)
    return out


def _time_schema(path: Path, schema: dict[str, Any], runs: int) -> float:
    """Median CPU seconds (all threads) of `check_table` on a file with a schema, in this process.

    CPU time rather than wall time: the machine is shared, and a part's cost is a difference
    of two runs, which wall-time noise would swamp.
    """
    from portal.report import Report
    from schemas.fastpath import check_table
    from schemas.validation import describe_table

    table = describe_table(path, schema)

    def once() -> None:
        report = Report(subject=str(path))
        check_table(table, report=report)
        if report.issues:
            raise RuntimeError(f"unexpected issues: {report.issues[:3]}")

    once()  # warm up: imports, regex compilation
    times = []
    for _ in range(runs):
        start = time.process_time()
        once()
        times.append(time.process_time() - start)
    return statistics.median(times)


def geometry_share(path: Path, runs: int) -> dict[str, float]:
    """Time of the geojson column's check against the other columns' checks together.

    Each part is the time of the schema that checks only that part, less the time of a schema
    that checks nothing (every field `any`, no constraints or keys): the cost of reading.
    """
    full = json.loads(TORONTO_SCHEMA.read_text(encoding="utf-8"))

    def variant(keep: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        schema = json.loads(json.dumps(full))
        for f in schema["fields"]:
            if not keep(f):
                f["type"] = "any"
                f.pop("constraints", None)
                f.pop("format", None)
        if not keep({"name": "_id"}):
            schema.pop("primaryKey", None)
        return schema

    base = _time_schema(path, variant(lambda f: False), runs)
    geometry = _time_schema(path, variant(lambda f: f["name"] == "geometry"), runs)
    others = _time_schema(path, variant(lambda f: f["name"] != "geometry"), runs)
    everything = _time_schema(path, full, runs)
    return {"read": base, "geometry": geometry - base, "others": others - base, "all": everything}


def section(big: dict[str, Any], toronto: dict[str, Any], share: dict[str, float],
            tiled_rows: int, runs: int) -> list[str]:
    """The "## Validation" section of RESULTS.md."""
    def row(table: str, result: dict[str, Any]) -> list[str]:
        return [f"| {table} | frictionless-py `Resource.validate` (median of {result['peer_runs']}) | "
                f"{result['peer_seconds']:,.2f} s | {result['peer_cpu']:,.2f} s | "
                f"{result['peer_rss']:,.0f} MB | "
                f"{result['rows'] / result['peer_seconds']:,.0f} | {result['errors']} | — |",
                f"| {table} | Lodestar `validate` step, first call in a fresh process (median of {result['runs']}) | "
                f"{result['fast_cold']:,.2f} s | | | {result['rows'] / result['fast_cold']:,.0f} | | "
                f"{result['peer_seconds'] / result['fast_cold']:,.1f}× wall |",
                f"| {table} | Lodestar `validate` step (sniff, guard-rails, header check, fast path), "
                f"second call (median of {result['runs']}) | "
                f"{result['fast_seconds']:,.2f} s | {result['fast_cpu']:,.2f} s | "
                f"{result['fast_rss']:,.0f} MB | "
                f"{result['rows'] / result['fast_seconds']:,.0f} | {result['errors']} "
                f"({'same' if result['same'] else 'DIFFERENT'} (code, row, field) set) | "
                f"**{result['ratio']:,.1f}×** wall, {result['cpu_ratio']:,.1f}× CPU |"]

    lines = ["## Validation", "",
             f"Measured {datetime.now(timezone.utc):%Y-%m-%d} with `python -m bench.validation` "
             f"(Python {platform.python_version()}, {platform.machine()}). Each validator runs in its "
             "own process; times are the validation call alone (median) — for Lodestar, both the first "
             "call in a fresh process (as `lodestar validate` makes it) and the next one (as a harvest "
             "or the scheduler makes them, table after table) — peak RSS is the process's "
             "VmHWM; CPU is the process's CPU time over all its threads during the call (the fast "
             "path runs on every core, Frictionless on one). Both tools must report the same set of "
             f"(code, row, field). Load average when the run ended: {_load()}.", "",
             "| table | validator | wall time | CPU time | peak RSS | rows/s | errors | speed-up |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    lines += row(f"generated street trees, {big['rows']:,} rows, 200 injected errors", big)
    lines += row(f"Toronto street trees sample, {toronto['rows']:,} rows", toronto)
    if not (big["same"] and toronto["same"]):
        lines += ["", f"Disagreements (first five): fast only {big['only_fast']} {toronto['only_fast']}; "
                  f"frictionless only {big['only_peer']} {toronto['only_peer']}"]
    lines += ["", "The machine is shared: the wall-time ratio moves with the load of the moment "
              "(Frictionless runs on one core for a minute, the fast path on two for a second); the "
              "CPU-time ratio is the steadier figure to compare across runs.",
              "", f"The fast path's whole-process wall time on the big table (start-up, imports and "
              f"sniffing included) was {big['fast_wall']:,.2f} s.", "",
              f"### Where the time goes on the Toronto table ({tiled_rows:,} rows: the sample "
              f"repeated, ids renumbered; median CPU time of {runs} runs in one process)", "",
              "Each part is the time of a schema checking only that part, less that of a schema "
              "checking nothing (every field `any`).", "",
              "| part | CPU time |", "|---|---:|",
              f"| reading the CSV (every field `any`) | {share['read'] * 1000:,.0f} ms |",
              f"| the `geometry` column (GeoJSON Point check) | {share['geometry'] * 1000:,.0f} ms |",
              f"| the 15 other columns together (types, patterns, unique, primary key) | "
              f"{share['others'] * 1000:,.0f} ms |",
              f"| the whole schema | {share['all'] * 1000:,.0f} ms |", "",
              "A GeoJSON cell is accepted in bulk when it is a Point spelled as strict JSON with exactly "
              "`type` and `coordinates` (two numbers); any other cell is checked by Frictionless' own "
              "GeoJSON reader, so the answer never differs, only the time."]
    return lines


def _load() -> str:
    """The 1-minute load average, and the number of cores (the machine is shared)."""
    import os

    return f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def main(argv: list[str] | None = None) -> int:
    """Run the validation benchmark and write its section of bench/RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the generated table")
    parser.add_argument("--errors", type=int, default=200, help="injected invalid cells")
    parser.add_argument("--runs", type=int, default=5, help="fast-path runs (median)")
    parser.add_argument("--peer-runs", type=int, default=1, help="frictionless runs (median)")
    parser.add_argument("--toronto-copies", type=int, default=20)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "RESULTS.md")
    args = parser.parse_args(argv)
    schema = BENCH_DATA / "trees.schema.json"
    big = compare(trees_table(args.rows, args.errors), schema, args.runs, args.peer_runs)
    toronto = compare(TORONTO, TORONTO_SCHEMA, max(args.runs, 5), max(args.peer_runs, 3))
    tiled = tiled_toronto(args.toronto_copies)
    with tiled.open("rb") as fh:
        tiled_rows = sum(1 for _ in fh) - 1
    share = geometry_share(tiled, max(args.runs, 9))
    lines = section(big, toronto, share, tiled_rows, max(args.runs, 9))
    write_section(lines, args.out)
    print("\n".join(lines))
    return 0 if big["same"] and toronto["same"] else 1


if __name__ == "__main__":
    sys.exit(main())
