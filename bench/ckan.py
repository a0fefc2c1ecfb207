"""`python -m bench.ckan`: harvest a loopback CKAN of 10,000 packages through `portal.pipeline.harvest`.

The portal (`bench.ckan_portal`) generates its packages from the real recorded CKAN package shapes
in ``../shared/samples/ckan/``; each package has one small CSV resource. Measured, in one process:

- the full first run (every package new: listing, download, validation, conversion, publication);
- the no-change run (the next run, incremental: nothing was modified), median of several, with the
  number of resource bodies it downloaded (target: under 5 % of the full run, and none);
- the listing alone (the harvester's ``gather``), full and incremental, to show what the listing
  costs beside the rest of the pipeline.

``--record`` writes the figures as bench/RESULTS.md's "## CKAN harvest" section.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import platform
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from bench.children import child_server
from bench.ckan_portal import recorded_packages
from bench.results import write_section

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "RESULTS.md"


def _instance(folder: Path) -> Any:
    from portal.config import load_settings
    from portal.instance import Instance

    settings = load_settings({"instance": str(folder), "base_url": "http://lodestar.bench",
                              "allow_private_addresses": True}, environ={})
    return Instance(settings)


@contextmanager
def portal_process(packages: int) -> Iterator[str]:
    """The loopback portal in a process of its own (so that it takes no share of ours); yields its URL."""
    with child_server(["bench.ckan_portal", "--packages", str(packages)], "the loopback portal") as url:
        yield url


def _stats(url: str) -> dict[str, Any]:
    """What the portal was asked so far (its resource downloads, its API calls)."""
    from portal.egress import Egress

    with Egress(allow_private_addresses=True) as egress:
        data, _ = egress.read(url + "/_stats")
    stats: dict[str, Any] = json.loads(data)
    return stats


def _listing(url: str, since: datetime | None, runs: int) -> tuple[float, int]:
    """Median time of the harvester's listing alone, and how many items it gave."""
    from harvesters.ckan import CkanHarvester
    from portal.egress import Egress

    times, count = [], 0
    with Egress(allow_private_addresses=True) as egress:
        for _ in range(runs):
            started = time.perf_counter()
            count = sum(1 for _ in CkanHarvester(egress=egress).gather(url, since=since))
            times.append(time.perf_counter() - started)
    return statistics.median(times), count


def run(packages: int, runs: int, profile: bool) -> dict[str, Any]:
    """Measure; returns the figures."""
    from portal.pipeline import add_source, harvest

    figures: dict[str, Any] = {"packages": packages, "shapes": len(recorded_packages())}
    with tempfile.TemporaryDirectory(prefix="bench-ckan-") as tmp, portal_process(packages) as url:
        instance = _instance(Path(tmp) / "instance")
        try:
            add_source(instance, "bench", url, kind="ckan")
            profiler = cProfile.Profile() if profile else None
            started = time.perf_counter()
            if profiler is not None:
                profiler.enable()
            full = harvest(instance, "bench")
            if profiler is not None:
                profiler.disable()
            figures["full_s"] = time.perf_counter() - started
            figures["full_status"], figures["full_seen"] = full.status, full.datasets_seen
            figures["full_changed"], figures["full_bodies"] = full.datasets_changed, _stats(url)["resource_bodies"]
            print(f"full run: {figures['full_s']:.1f} s, {full.status}, {full.datasets_seen} seen", flush=True)
            if profiler is not None:
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
                figures["profile"] = out.getvalue()
            times, bodies, conditional = [], [], []
            for _ in range(runs):
                before = _stats(url)
                started = time.perf_counter()
                again = harvest(instance, "bench")
                times.append(time.perf_counter() - started)
                after = _stats(url)
                bodies.append(after["resource_bodies"] - before["resource_bodies"])
                conditional.append(after["resource_not_modified"] - before["resource_not_modified"])
                assert again.status == "finished" and again.datasets_changed == 0, again.problems
            figures["nochange_s"], figures["nochange_bodies"] = statistics.median(times), max(bodies)
            figures["nochange_conditional"] = max(conditional)
            figures["nochange_seen"] = again.datasets_seen
        finally:
            instance.close()
        figures["list_full_s"], figures["list_full_n"] = _listing(url, None, runs)
        since = datetime.now(timezone.utc) - timedelta(minutes=1)
        figures["list_incr_s"], figures["list_incr_n"] = _listing(url, since, runs)
    return figures


def listing_only(packages: int, runs: int) -> str:
    """The harvester's listing alone at `packages`, full and incremental, as table rows."""
    with portal_process(packages) as url:
        full_s, full_n = _listing(url, None, runs)
        incr_s, incr_n = _listing(url, datetime.now(timezone.utc) - timedelta(minutes=1), runs)
    return "\n".join([
        f"| listing alone at {packages:,} packages, full (`gather`, 100 a page) | {full_s:.2f} s | "
        f"{_rate(full_n, full_s)} | 0 | 0 | {full_n:,} records |",
        f"| listing alone at {packages:,} packages, incremental (`fl=id,name`, 1000 a page) | {incr_s:.2f} s | "
        f"{_rate(incr_n, incr_s)} | 0 | 0 | {incr_n:,} still listed |",
    ])


def _rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f}" if seconds > 0 else "—"


def markdown(figures: dict[str, Any], runs: int) -> str:
    """The "## CKAN harvest" section."""
    n = figures["packages"]
    share = figures["nochange_s"] / figures["full_s"]
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    return "\n".join([
        "",
        "## CKAN harvest",
        "",
        f"Measured {when} with `python -m bench.ckan --packages {n}` (Python {platform.python_version()}, "
        f"{platform.machine()}). A loopback CKAN (`bench/ckan_portal.py`) of {n:,} packages generated from "
        f"{figures['shapes']} real recorded package shapes (`../shared/samples/ckan/`), one small CSV "
        "resource each, harvested through `portal.pipeline.harvest` into a fresh instance. The full run is "
        f"one run; the no-change run and the listings are medians of {runs}.",
        "",
        "| run | time | datasets/s | resource bodies downloaded | conditional GETs (304) | note |",
        "|---|---:|---:|---:|---:|---|",
        f"| full (first) run | {figures['full_s']:.1f} s | {_rate(n, figures['full_s'])} | "
        f"{figures['full_bodies']:,} | 0 | {figures['full_status']}, {figures['full_changed']:,} published |",
        f"| no-change run (incremental) | {figures['nochange_s']:.2f} s | {_rate(n, figures['nochange_s'])} | "
        f"{figures['nochange_bodies']} | {figures['nochange_conditional']} | "
        f"{share:.1%} of the full run (target < 5 %) |",
        f"| listing alone, full (`gather`, 100 a page) | {figures['list_full_s']:.2f} s | "
        f"{_rate(figures['list_full_n'], figures['list_full_s'])} | 0 | 0 | {figures['list_full_n']:,} records |",
        f"| listing alone, incremental (`fl=id,name`, 1000 a page) | {figures['list_incr_s']:.2f} s | "
        f"{_rate(figures['list_incr_n'], figures['list_incr_s'])} | 0 | 0 | "
        f"{figures['list_incr_n']:,} still listed |",
        "",
    ])


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print (and with --record, append) its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="print where the full run spends its time")
    parser.add_argument("--record", action="store_true", help="write the table as bench/RESULTS.md's "
                                                               "\"## CKAN harvest\" section")
    parser.add_argument("--listing-only", action="store_true",
                        help="time only the harvester's listing (no pipeline), full and incremental")
    parser.add_argument("--listing-packages", type=int, default=None,
                        help="also time the listing alone at this many packages (e.g. 10000 when the "
                             "pipeline runs at fewer)")
    args = parser.parse_args(argv)
    if args.listing_only:
        print(listing_only(args.packages, args.runs))
        return 0
    figures = run(args.packages, args.runs, args.profile)
    if "profile" in figures:
        print(figures["profile"])
    table = markdown(figures, args.runs)
    if args.listing_packages and args.listing_packages != args.packages:
        table += listing_only(args.listing_packages, args.runs) + "\n"
    print(table)
    if args.record:
        lines = table.strip("\n").splitlines()
        start = next(n for n, line in enumerate(lines) if line.startswith("## "))
        write_section(lines[start:], RESULTS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
