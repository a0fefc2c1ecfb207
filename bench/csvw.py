"""`python -m bench.csvw`: CSV → N-Triples through a CSVW mapping, against morph-kgc (RML), side by side.

Data: the street-tree table from ``../shared/bench-data/gen_trees.py`` (1M rows by default,
generated once into the git-ignored ``bench/out/csvw/``) with the same mapping written as CSVW
metadata (ours) and as RML (morph-kgc), both from ``../shared/bench-data/mappings/``.

Every conversion runs in its own process and writes its N-Triples to a new file (an earlier run's
file is deleted first: truncating 1.5 GB of cached pages would be timed too); the time is the
process's wall time (start-up and imports included, for both tools) and the memory is the peak of
the summed resident sets of the process and its children, sampled every 50 ms (morph-kgc forks
worker processes). morph-kgc 2.10 pins pyoxigraph < 0.4 and rdflib < 7.3, which the project's own
pins exclude, so it runs from its own virtual environment under ``bench/out/csvw/``, made on
first use with pip. The outputs must hold the same triples: each file's lines are compared by
count and an order-independent fingerprint (sums of the two halves of each line's 64-bit hash).
The section "## CSV → RDF through CSVW" of bench/RESULTS.md is replaced (or appended).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.publish import Measured, measure
from bench.results import write_section

REPO = Path(__file__).resolve().parents[1]
BENCH_DATA = REPO.parent / "shared" / "bench-data"
CACHE = REPO / "bench" / "out" / "csvw"
MORPH_KGC = "morph-kgc==2.10.0"
SECTION = "## CSV → RDF through CSVW"

#: Child: our converter on one table; prints the conversion's own time.
_OURS = """
import json, sys, time
start = time.perf_counter()
from vocab.csvw import csv2rdf_stream
imported = time.perf_counter()
with open(sys.argv[3], "wb") as out:
    csv2rdf_stream(sys.argv[1], out, metadata=sys.argv[2], minimal=sys.argv[4] == "minimal",
                   columnar=sys.argv[5] == "columnar")
print(json.dumps({"convert": time.perf_counter() - imported}))
"""


def table(rows: int) -> Path:
    """The generated street-tree table with its CSVW metadata and RML mapping beside it (cached)."""
    folder = CACHE / str(rows)
    folder.mkdir(parents=True, exist_ok=True)
    csv = folder / "trees.csv"
    if not csv.exists():
        subprocess.run([sys.executable, str(BENCH_DATA / "gen_trees.py"), "--rows", str(rows), "--out", str(csv)],
                       check=True, capture_output=True)
    shutil.copyfile(BENCH_DATA / "mappings" / "trees.csv-metadata.json", folder / "trees.csv-metadata.json")
    rml = (BENCH_DATA / "mappings" / "trees.rml.ttl").read_text(encoding="utf-8")
    (folder / "trees.rml.ttl").write_text(rml.replace('rml:source "trees.csv"', f'rml:source "{csv}"'),
                                          encoding="utf-8")
    return csv


def morph_kgc() -> Path:
    """The Python of a virtual environment holding morph-kgc (made on first use)."""
    venv = CACHE / "morph-kgc-venv"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", MORPH_KGC], check=True)
    return python


def run_morph_kgc(python: Path, csv: Path, out: Path) -> Measured:
    """morph-kgc materialising the RML mapping to N-Triples, with its default settings."""
    out.unlink(missing_ok=True)  # freeing an earlier run's file is no part of this run
    config = csv.parent / "morph-kgc.ini"
    config.write_text(f"[CONFIGURATION]\noutput_file={out}\noutput_format=N-TRIPLES\nlogging_level=WARNING\n\n"
                      f"[trees]\nmappings={csv.parent / 'trees.rml.ttl'}\n", encoding="utf-8")
    return measure([str(python), "-m", "morph_kgc", str(config)], tree=True)


def run_ours(csv: Path, out: Path, columnar: bool, minimal: bool = True) -> Measured:
    """Our converter through the CSVW metadata, in a child process."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out.unlink(missing_ok=True)  # freeing an earlier run's file is no part of this run
    return measure([sys.executable, "-c", _OURS, str(csv), str(csv.parent / "trees.csv-metadata.json"), str(out),
                "minimal" if minimal else "standard", "columnar" if columnar else "rows"], env=env)


def fingerprint(path: Path) -> tuple[int, int, int]:
    """(lines, sum of low hash halves, sum of high hash halves): equal for the same lines in any order."""
    import polars as pl

    lines = pl.scan_csv(path, has_header=False, separator="\x01", quote_char=None, schema={"l": pl.String})
    hashed = lines.select(pl.col("l").hash(seed=0).alias("h"))
    result = hashed.select(pl.len().alias("n"), (pl.col("h") % (1 << 32)).cast(pl.Int64).sum().alias("low"),
                           (pl.col("h") // (1 << 32)).cast(pl.Int64).sum().alias("high")).collect(engine="streaming")
    return int(result["n"][0]), int(result["low"][0]), int(result["high"][0])


def load_average() -> str:
    """The 1-, 5- and 15-minute load averages."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def compare(rows: int, row_rows: int, runs: int, peer_runs: int) -> dict[str, object]:
    """Everything side by side in this one run."""
    csv = table(rows)
    small = table(row_rows)
    python = morph_kgc()
    out = CACHE / "out"
    out.mkdir(exist_ok=True)
    load_before = load_average()
    ours: list[Measured] = []
    theirs: list[Measured] = []
    # Interleaved, so that both tools see the same (shared, noisy) machine.
    for index in range(max(runs, peer_runs)):
        if index < runs:
            ours.append(run_ours(csv, out / "ours.nt", columnar=True))
        if index < peer_runs:
            theirs.append(run_morph_kgc(python, csv, out / "morph-kgc.nt"))
    rows_path = [run_ours(small, out / "rows.nt", columnar=False) for _ in range(runs)]
    standard = [run_ours(csv, out / "standard.nt", columnar=True, minimal=False) for _ in range(runs)]
    load_after = load_average()
    ours_print, theirs_print = fingerprint(out / "ours.nt"), fingerprint(out / "morph-kgc.nt")
    small_fast = run_ours(small, out / "small-columnar.nt", columnar=True)
    row_same = fingerprint(out / "rows.nt") == fingerprint(out / "small-columnar.nt") and bool(small_fast)
    row_triples, standard_triples = fingerprint(out / "rows.nt")[0], fingerprint(out / "standard.nt")[0]
    for written in out.glob("*.nt"):  # gigabytes each: not kept
        written.unlink()
    return {"rows": rows, "row_rows": row_rows, "runs": runs, "peer_runs": peer_runs,
            "ours": ours, "theirs": theirs, "rows_path": rows_path, "standard": standard,
            "triples": ours_print[0], "peer_triples": theirs_print[0], "same": ours_print == theirs_print,
            "row_triples": row_triples, "standard_triples": standard_triples, "row_same": row_same,
            "load": (load_before, load_after)}


def _median(runs: list[Measured]) -> tuple[float, float]:
    return statistics.median(r.seconds for r in runs), max(r.max_rss_mb for r in runs)


def section(result: dict[str, object]) -> list[str]:
    """The section of RESULTS.md."""
    ours, theirs = cast_runs(result["ours"]), cast_runs(result["theirs"])
    rows_path, standard = cast_runs(result["rows_path"]), cast_runs(result["standard"])
    triples, row_triples = int(str(result["triples"])), int(str(result["row_triples"]))
    standard_triples = int(str(result["standard_triples"]))
    t_ours, m_ours = _median(ours)
    t_peer, m_peer = _median(theirs)
    t_rows, m_rows = _median(rows_path)
    t_std, m_std = _median(standard)
    convert = statistics.median(json.loads(r.output)["convert"] for r in ours)
    rate = triples / t_ours
    load = result["load"]
    assert isinstance(load, tuple)
    load_before, load_after = load
    rows, row_rows = int(str(result["rows"])), int(str(result["row_rows"]))
    same = "yes" if result["same"] else "NO"
    return [
        SECTION, "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} with `python -m bench.csvw` on the generated "
        f"street-tree table ({rows:,} rows, 12 columns), Python {platform.python_version()}, {os.cpu_count()} cores "
        f"shared with other work: load average {load_before} before, {load_after} after. Each conversion is its own "
        "process writing N-Triples to a file; time is the process's wall time (start-up included), memory the peak "
        "of its process tree's summed RSS. Ours: median of "
        f"{result['runs']} runs; morph-kgc: median of {result['peer_runs']}, interleaved with ours.", "",
        "| converter | mapping | rows | time | triples | triples/s | vs morph-kgc | peak RSS |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
        f"| morph-kgc 2.10 (4 processes, its default) | RML | {rows:,} | {t_peer:,.1f} s | "
        f"{int(str(result['peer_triples'])):,} | {int(str(result['peer_triples'])) / t_peer:,.0f} | 1.00× | "
        f"{m_peer:,.0f} MB |",
        f"| `vocab.csvw.csv2rdf_stream`, columnar path, minimal | CSVW | {rows:,} | {t_ours:,.1f} s | {triples:,} | "
        f"{rate:,.0f} | **{t_peer / t_ours:,.1f}×** | {m_ours:,.0f} MB |",
        f"| same, standard mode (row and table nodes too) | CSVW | {rows:,} | {t_std:,.1f} s | {standard_triples:,} | "
        f"{standard_triples / t_std:,.0f} | — | {m_std:,.0f} MB |",
        f"| same, row path (`columnar=False`), minimal | CSVW | {row_rows:,} | {t_rows:,.1f} s | {row_triples:,} | "
        f"{row_triples / t_rows:,.0f} | — | {m_rows:,.0f} MB |",
        "",
        f"- Same triples as morph-kgc: **{same}** ({triples:,} lines each side, equal order-independent "
        "fingerprints). Row path and columnar path on the smaller table: "
        f"{'the same lines' if result['row_same'] else 'DIFFERENT'}.",
        f"- Each run: ours {', '.join(f'{r.seconds:.1f} s' for r in ours)}; morph-kgc "
        f"{', '.join(f'{r.seconds:.1f} s' for r in theirs)}; standard mode "
        f"{', '.join(f'{r.seconds:.1f} s' for r in standard)}; row path {', '.join(f'{r.seconds:.1f} s' for r in rows_path)}.",
        f"- Throughput ratio by triples per second: {rate / (int(str(result['peer_triples'])) / t_peer):,.1f}× "
        f"morph-kgc. The columnar conversion alone (after imports and start-up) took {convert:,.1f} s "
        f"({triples / convert:,.0f} triples/s).",
        "- The columnar path (vocab/csvw/vectorised.py) reads the table in 2 MB chunks, each checked to parse "
        "exactly as the row path's reader would (else the row path takes over from there), builds each column's "
        "N-Triples lines with polars expressions (cells they cannot decide go through the row path's own "
        "converters), and hands polars' string buffers to a writer thread without copying them. Its memory "
        "includes the loader's bytes of the whole file (about 110 MB here: `loader(url)` returns them whole) "
        "and polars' and pyarrow's libraries (about 150 MB).",
        "- Term spelling: both write literals as they stand in the CSV (no canonical numeric forms: CSVW keeps a "
        "valid integer, decimal or date's lexical form, so does morph-kgc), plain strings without "
        "`^^xsd:string`, the same escapes, and district IRIs percent-encoded alike; the triples are equal line "
        "for line.",
    ]


def cast_runs(value: object) -> list[Measured]:
    """The runs stored in a result."""
    assert isinstance(value, list)
    return [r for r in value if isinstance(r, Measured)]


def bench(rows: int = 1_000_000, row_rows: int = 100_000, runs: int = 3, peer_runs: int = 1,
          out: Path = REPO / "bench" / "RESULTS.md") -> bool:
    """Run the comparison, write its section of `out`; whether the triples were the same."""
    result = compare(rows, row_rows, runs, peer_runs)
    lines = section(result)
    write_section(lines, out)
    print("\n".join(lines))
    return bool(result["same"]) and bool(result["row_same"])


def main() -> int:
    """Command line: `python -m bench.csvw [--rows N] [--runs N] [--peer-runs N]`."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the generated table")
    parser.add_argument("--row-rows", type=int, default=100_000, help="rows for the (slower) row path")
    parser.add_argument("--runs", type=int, default=3, help="runs of ours (median)")
    parser.add_argument("--peer-runs", type=int, default=1, help="runs of morph-kgc (median)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "RESULTS.md")
    args = parser.parse_args()
    return 0 if bench(args.rows, args.row_rows, args.runs, args.peer_runs, args.out) else 1


if __name__ == "__main__":
    sys.exit(main())
