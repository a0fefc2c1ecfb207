"""`lodestar sources`, `lodestar harvest` and `lodestar runs`: thin commands over the pipeline."""

from __future__ import annotations

import argparse
import json
from typing import Any

from harvesters import HARVESTERS
from portal.errors import UsageError
from portal.instance import Instance


def yield_to_readers() -> None:
    """Lower this process's CPU priority: harvests are background work beside a serving portal."""
    from portal.store.oxigraph import lower_priority

    lower_priority()


def cmd_sources_add(args: argparse.Namespace) -> int:
    """Register a harvest source with its kind's settings."""
    from portal.sources import add_source

    options = {"organization": args.organization, "api_key": args.api_key, "max_pages": args.max_pages}
    with Instance.open() as instance:
        add_source(instance, args.name, args.url, args.kind, args.publisher, options=options,
                   every_hours=args.every)
    every = f", every {args.every:g} h" if args.every else ""
    print(f"added source {args.name} ({args.kind}{every}) {args.url}")
    return 0


def cmd_sources_list(args: argparse.Namespace) -> int:
    """Show registered sources, their settings and their last harvest."""
    from portal.sources import list_sources, source_summary

    with Instance.open() as instance:
        summaries = [source_summary(s) for s in list_sources(instance)]
        default_hours = float(instance.settings.harvest_every_hours)
    if args.format == "json":
        print(json.dumps(summaries, indent=2))
        return 0
    for s in summaries:
        run = s["last_run"]
        last = f"{run['status']} at {run['started_at'][:16].replace('T', ' ')}" if run else "never harvested"
        options = " ".join(f"{k}={v}" for k, v in s["options"].items())
        every = f"every {s['every_hours'] or default_hours:g} h"
        print("\t".join(x for x in (s["name"], s["kind"], s["url"], every, options, last) if x))
    return 0


def _print_outcome(outcome: Any) -> None:
    withdrawn = f", {outcome.datasets_withdrawn} withdrawn" if outcome.datasets_withdrawn else ""
    print(f"{outcome.source}: {outcome.status}, {outcome.datasets_seen} datasets, "
          f"{outcome.datasets_changed} changed{withdrawn}")
    if outcome.withdrawal_held:
        print(f"  {outcome.withdrawal_held}")
    for report in outcome.reports:
        if not report.valid:
            print(f"  invalid table {report.subject}: {report.totals()['errors']} error(s)")
            for issue in report.errors[:5]:
                print(f"    {issue}")
    for problem in outcome.problems:
        print(f"  not harvested: {problem}")


def cmd_harvest(args: argparse.Namespace) -> int:
    """Harvest one source or all of them."""
    from portal.pipeline import harvest, harvest_all

    if bool(args.name) == bool(args.all):
        raise UsageError("give a source NAME or --all")
    if args.all and args.confirm_withdrawals:
        raise UsageError("--confirm-withdrawals is given for one source at a time")
    yield_to_readers()
    with Instance.open() as instance:
        outcomes = harvest_all(instance) if args.all else [
            harvest(instance, args.name, confirm_withdrawals=args.confirm_withdrawals, full=args.full)]
    for outcome in outcomes:
        _print_outcome(outcome)
    if any(outcome.failed for outcome in outcomes):
        return 3
    return 1 if any(outcome.has_data_errors for outcome in outcomes) else 0


def cmd_runs(args: argparse.Namespace) -> int:
    """Show the harvest history of one source or all, newest first, with per-dataset errors."""
    from portal.sources import get_source, list_sources, run_summary

    with Instance.open() as instance:
        sources = [get_source(instance, args.name)] if args.name else list_sources(instance)
    runs = sorted(((s.name, run_summary(r)) for s in sources for r in s.runs), key=lambda x: -x[1]["id"])
    runs = runs[:args.limit]
    if args.format == "json":
        print(json.dumps([{"source": name, **run} for name, run in runs], indent=2))
        return 0
    for name, run in runs:
        ended = (run["finished_at"] or "")[:19].replace("T", " ")
        print(f"run {run['id']}\t{name}\t{run['status']}\t{run['started_at'][:19].replace('T', ' ')} → "
              f"{ended or '…'}\t{run['datasets_seen']} seen, {run['datasets_changed']} changed, "
              f"{run['datasets_withdrawn']} withdrawn")
        if run["status"] == "failed" or (run["message"] and not run["errors"]):
            print(f"  {run['message']}")
        for error in run["errors"][:args.errors]:
            print(f"  {error.get('dataset') or error.get('page') or name}: {error['message']}")
        if len(run["errors"]) > args.errors:
            print(f"  … and {len(run['errors']) - args.errors} more (--format json lists them all)")
    return 0


def register(sub: Any) -> None:
    """Add the source, harvest and runs commands to the `lodestar` parser."""
    sources = sub.add_parser("sources", help="manage harvest sources").add_subparsers(
        dest="action", required=True)
    p = sources.add_parser("add", help="register a source")
    p.add_argument("name")
    p.add_argument("url")
    p.add_argument("--kind", default="dcat", choices=sorted(HARVESTERS), help="source kind (default dcat)")
    p.add_argument("--publisher", help="publisher slug for all its datasets")
    p.add_argument("--organization", help="CKAN: harvest only this organisation's datasets")
    p.add_argument("--api-key", help="CKAN: API key sent with every call (never shown back)")
    p.add_argument("--max-pages", type=int, help="DCAT: most catalogue pages followed (default 1000)")
    p.add_argument("--every", type=float, metavar="HOURS",
                   help="hours between scheduled harvests (default: the harvest_every_hours setting)")
    p.set_defaults(func=cmd_sources_add)
    p = sources.add_parser("list", help="list sources")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_sources_list)

    p = sub.add_parser("harvest", help="harvest a source (or --all)")
    p.add_argument("name", nargs="?")
    p.add_argument("--all", action="store_true")
    p.add_argument("--confirm-withdrawals", action="store_true",
                   help="withdraw what the source no longer lists even if that is most or all of it")
    p.add_argument("--full", action="store_true",
                   help="list every dataset, not only what changed since the last complete run")
    p.set_defaults(func=cmd_harvest)

    p = sub.add_parser("runs", help="harvest history with per-dataset errors")
    p.add_argument("name", nargs="?", help="only this source")
    p.add_argument("--limit", type=int, default=20, help="most runs shown (default 20)")
    p.add_argument("--errors", type=int, default=10, help="errors shown per run in text (default 10)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_runs)
