"""`python -m bench.freshness`: evaluate the freshness of 100,000 datasets (target: under 1 s).

An instance is filled with N datasets (bulk-inserted) whose declared frequencies are spelt the many
ways real catalogues spell them (EU IRIs, ISO 8601 durations, CKAN/udata labels, free text in five
languages, unreadable text) and whose last content changes, confirmations and publisher claims are
spread over two years. Measured, medians of several runs in one process:

- Lodestar's evaluation (`portal.evaluation.evaluate_all`: one query, then columns);
- a recorded evaluation where nothing changed (what `lodestar schedule` does every hour);
- the first recorded evaluation, where every status is new (N history rows, the alert events);
- `/freshness.json` pages as a watchdog asks for them (filters, paging), through the Flask app;
- the way a portal would otherwise do it — HDX's freshness and our earlier watch alike: load every
  dataset as an ORM object and judge it in a Python loop (`portal.freshness.evaluate`), with the same
  verdicts (checked).

``--record`` writes the "## Freshness evaluation" section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import functools
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TypeVar

from sqlalchemy import insert, select

from bench.results import write_section
from portal.config import load_settings
from portal.db import Dataset, Source
from portal.evaluation import FreshnessTable, evaluate_all
from portal.freshness import evaluate
from portal.instance import Instance
from portal.watch import evaluate_freshness
from portal.web import create_app
from vocab.frequencies import normalise_frequency

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "RESULTS.md"
NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)
T = TypeVar("T")
#: Requests of `/freshness.json` measured, with what each asks for.
PAGES = {"": "the first page of 1,000, with the counts", "?publisher=town-007&status=overdue,delinquent":
         "one publisher's late datasets", "?limit=10000&offset=50000": "a page of 10,000 from the middle"}

#: Frequency spellings as catalogues write them (EU IRIs, ISO durations, labels, free text, junk).
SPELLINGS: tuple[str | None, ...] = (
    "http://publications.europa.eu/resource/authority/frequency/DAILY",
    "http://publications.europa.eu/resource/authority/frequency/MONTHLY",
    "http://publications.europa.eu/resource/authority/frequency/ANNUAL",
    "http://purl.org/cld/freq/weekly", "R/P1D", "R/P1W", "R/P1M", "P3M", "R/P1Y", "PT1H",
    "daily", "weekly", "monthly", "quarterly", "annually", "irregular", "as needed", "never",
    "monatlich", "jährlich", "mensuelle", "trimestriel", "jaarlijks", "wekelijks", "anual", "semanal",
    "every 2 weeks", "twice a year", "7", "30", "-1", None, None, "whenever budget allows",
)


def populate(instance: Instance, count: int, seed: int = 1) -> None:
    """Insert `count` datasets with varied frequencies and histories (bulk, a few seconds at 100k)."""
    rng = random.Random(seed)
    with instance.session() as session:
        source = Source(name="bench", url="http://bench.example/catalog", kind="dcat")
        session.add(source)
        session.flush()
        rows = []
        for n in range(count):
            first = NOW - timedelta(days=rng.uniform(30, 730))
            change = first + (NOW - first) * rng.random() if rng.random() < 0.9 else None
            rows.append({
                "source_id": source.id, "publisher": f"town-{n % 250:03}", "slug": f"dataset-{n:06}",
                "identifier": f"d{n}", "title": f"Dataset {n}", "description": "",
                "frequency": rng.choice(SPELLINGS), "metadata_json": {"themes": []},
                "claimed_modified": NOW - timedelta(days=rng.uniform(0, 60)), "last_content_change": change,
                "confirmed_at": NOW - timedelta(days=rng.uniform(0, 40)) if rng.random() < 0.05 else None,
                "publication_state": "unpublished" if rng.random() < 0.03 else "published",
                "first_seen": first, "last_seen": NOW, "record_modified": first, "status": "active",
                "triples": 0,
            })
            if len(rows) == 10_000:
                session.execute(insert(Dataset), rows)
                rows = []
        if rows:
            session.execute(insert(Dataset), rows)


def orm_loop(instance: Instance, now: datetime) -> list[str]:
    """The per-object way: load every active dataset with the ORM and judge each in Python."""
    with instance.session() as session:
        datasets = session.scalars(select(Dataset).where(Dataset.status == "active")
                                   .order_by(Dataset.publisher, Dataset.slug)).all()
        statuses = []
        for dataset in datasets:
            result = evaluate(normalise_frequency(dataset.frequency), dataset.last_content_change, now,
                              confirmed=dataset.confirmed_at)
            statuses.append("unpublished" if dataset.publication_state == "unpublished" else result.status)
        return statuses


def timed(fn: Callable[[], T], runs: int) -> tuple[float, T]:
    """The median wall time of `runs` calls, and the last call's result."""
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    assert result is not None
    return statistics.median(times), result


def bench(count: int, runs: int) -> list[str]:
    """Run the measurements; returns the RESULTS.md section."""
    with tempfile.TemporaryDirectory() as tmp:
        instance = Instance(load_settings({"instance": tmp}, environ={}))
        try:
            populate(instance, count)

            def columns() -> FreshnessTable:
                with instance.session() as session:
                    return evaluate_all(session, NOW)

            ours, table = timed(columns, runs)
            statuses = [table.status(row) for row in table.rows()]  # in the loop's order
            loop, expected = timed(lambda: orm_loop(instance, NOW), max(1, runs // 2))
            assert statuses == expected, "the columnar evaluation disagrees with evaluate()"
            start = time.perf_counter()
            first = evaluate_freshness(instance, NOW)
            first_time = time.perf_counter() - start
            steady, again = timed(lambda: evaluate_freshness(instance, NOW), runs)
            assert not again.changed
            client = create_app(instance=instance).test_client()

            def page(query: str) -> int:
                answer = client.get(f"/freshness.json{query}")
                assert answer.status_code == 200, answer.get_data(as_text=True)
                return len(answer.data)

            pages = [(query, *timed(functools.partial(page, query), runs)) for query in PAGES]
        finally:
            instance.close()
    counts = {s: statuses.count(s) for s in sorted(set(statuses))}
    return [
        f"## Freshness evaluation ({count:,} datasets)",
        "",
        f"`python -m bench.freshness --datasets {count} --record`; SQLite, medians of {runs} runs in one process. "
        f"Statuses: {', '.join(f'{s} {n:,}' for s, n in counts.items())}. Frequencies are spelt "
        f"{len(SPELLINGS)} ways (EU IRIs, ISO 8601 durations, labels and free text in five languages, junk).",
        "",
        "| what | median | vs Lodestar |",
        "|---|---:|---:|",
        f"| Lodestar: evaluate every dataset (one query, then columns) | {ours:.3f} s | 1.00× |",
        f"| ORM objects judged one by one in Python (HDX-style loop, same verdicts) | {loop:.3f} s | "
        f"{loop / ours:.1f}× |",
        f"| Lodestar: recorded evaluation, nothing changed (the hourly job) | {steady:.3f} s | {steady / ours:.2f}× |",
        f"| Lodestar: first recorded evaluation ({len(first.changed):,} statuses and {first.events:,} alert "
        f"events written in one transaction, the freshness graph replaced) | {first_time:.2f} s | "
        f"{first_time / ours:.1f}× |",
        *(f"| `/freshness.json{query}` ({what}; {size / 1e3:,.0f} kB) | {took:.3f} s | {took / ours:.1f}× |"
          for (query, took, size), what in zip(pages, PAGES.values())),
    ]


def main(argv: list[str] | None = None) -> int:
    """Measure, print, and with --record write the section of bench/RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args(argv)
    lines = bench(args.datasets, args.runs)
    print("\n".join(lines))
    if args.record:
        write_section(lines, RESULTS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
