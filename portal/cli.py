"""`lodestar`: thin commands over the pipeline.

Exit codes: 0 ok, 1 data errors, 2 usage/config, 3 source/store unreachable.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from portal.errors import PortalError, UsageError
from portal.instance import Instance
from portal.report import Report


def _instance() -> Instance:
    """The instance the settings name (close it, or better open it in a `with` block)."""
    return Instance.open()


def cmd_serve(args: argparse.Namespace) -> int:
    """Bring the store into agreement with the database, then own the store and serve the portal."""
    from portal.publication import reconcile
    from portal.web.server import serve

    with Instance.open() as instance:
        reconcile(instance)
    return serve(host=args.host, port=args.port, demo=args.demo)


def cmd_validate(args: argparse.Namespace) -> int:
    """Validate a CSV (or a Data Resource / Data Package descriptor) against its Table Schema."""
    from portal.steps import validate, validate_package
    from schemas.packages import descriptor_kind, read_resource

    options = {"limit_errors": args.limit_errors, "pick_errors": args.pick_errors}
    kind = descriptor_kind(args.file)
    if kind == "package":
        reports = validate_package(args.file, check_data=not args.descriptor_only,
                                   limit_errors=args.limit_errors)
    else:
        if kind == "resource":
            described = read_resource(args.file)
            report, table = validate(described["path"], args.schema or described["schema"],
                                     described["dialect"], resource=described["declared"], **options)
        else:
            report, table = validate(args.file, args.schema, **options)
        if table.decoded_from is not None:  # a gzip'd or zipped table was checked from a copy
            Path(table.path).unlink(missing_ok=True)
        reports = [report]
    valid = all(r.valid for r in reports)
    if args.format == "json":
        body = reports[0].to_dict() if kind != "package" else {
            "subject": args.file, "valid": valid, "reports": [r.to_dict() for r in reports]}
        print(json.dumps(body, indent=2, default=str))
    else:
        for report in reports:
            _print_report(report)
    return 0 if valid else 1


def _print_report(report: Report) -> None:
    """A report as text: the verdict and the same totals as the JSON and the page, then issues."""
    stats, totals = report.stats, report.totals()
    state = "valid" if report.valid else "INVALID"
    partial = " (partial: not every row was checked)" if stats.get("partial") else ""
    engine = stats.get("engine", "?")
    why = f" — {stats['engine_reason']}" if stats.get("engine_reason") and engine != "fast" else ""
    print(f"{report.subject}: {state} — {stats.get('rows', '?')} rows checked{partial}, "
          f"{totals['errors']:,} error(s), {totals['warnings']:,} warning(s), "
          f"schema {stats.get('schema_source', '?')}")
    print(f"  checked by the {engine} path{why}")
    header = stats.get("header")
    if header:
        print(f"  the header does not match the schema: {header['summary']}")
    for row in report.summary():
        shown = f" ({row['listed']:,} listed)" if row["listed"] < row["count"] else ""
        print(f"  {row['count']:>8,}  {row['code']}{shown}")
    for issue in report.issues:
        print(f"  {issue}")


def cmd_query(args: argparse.Namespace) -> int:
    """Run a SPARQL query against the instance's store and print the answer."""
    from portal.formats import RDF_FORMATS, RESULTS_FORMATS

    text = sys.stdin.read() if args.sparql == "-" else args.sparql
    # --format names one format: answers of the other kind come in its default (JSON, Turtle).
    bindings_format = args.format if args.format in RESULTS_FORMATS else "json"
    graph_format = args.format if args.format in RDF_FORMATS else "turtle"
    instance = _instance()
    try:
        result = instance.store.query(text, bindings_format=bindings_format, graph_format=graph_format)
    finally:
        instance.close()
    sys.stdout.write(result.body.decode("utf-8"))
    if not result.body.endswith(b"\n"):
        sys.stdout.write("\n")
    return 0


def cmd_schedule(args: argparse.Namespace) -> int:
    """Run harvests and freshness checks on their schedule (or each once with --once)."""
    from portal.config import load_settings
    from portal.scheduler import build_scheduler, run_once

    settings = load_settings()
    from portal.cli_sources import yield_to_readers

    yield_to_readers()
    if args.once:
        run_once(settings)
        return 0
    scheduler = build_scheduler(settings)
    print(f"Lodestar scheduler: harvests each source when due (default every {settings.harvest_every_hours} h, "
          f"checked every {settings.harvest_check_minutes} min), freshness every "
          f"{settings.freshness_every_minutes} min (Ctrl+C to stop)", flush=True)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    return 0


def cmd_settings(args: argparse.Namespace) -> int:
    """Print the settings table."""
    from portal.config import settings_table

    print(settings_table())
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = argparse.ArgumentParser(
        prog="lodestar", description="Lodestar: harvest, validate, publish and watch municipal open data.",
        epilog="Exit codes: 0 ok, 1 data errors, 2 usage or configuration, 3 source or store unreachable.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="serve the portal")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5000)
    p.add_argument("--demo", action="store_true", help="harvest the bundled demo catalogue into an empty instance")
    p.set_defaults(func=cmd_serve)

    from portal.cli_sources import register as register_source_commands

    register_source_commands(sub)

    p = sub.add_parser("validate", help="validate a CSV file (or a Data Resource/Package descriptor)")
    p.add_argument("file")
    p.add_argument("--schema", help="bundled schema name or Table Schema file")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--limit-errors", type=int, help="stop after this many errors (partial report)")
    p.add_argument("--pick-errors", action="append", metavar="TYPE",
                   help="report only this error type or #tag (repeatable)")
    p.add_argument("--descriptor-only", action="store_true",
                   help="for a Data Package: check the descriptor, not the data")
    p.set_defaults(func=cmd_validate)

    from portal.formats import RDF_FORMATS, RESULTS_FORMATS

    p = sub.add_parser("query", help="run a SPARQL query ('-' reads it from stdin)")
    p.add_argument("sparql")
    p.add_argument("--format", choices=(*RESULTS_FORMATS, *RDF_FORMATS), default="json",
                   help="SELECT/ASK answer format, or CONSTRUCT/DESCRIBE format (default json, turtle)")
    p.set_defaults(func=cmd_query)

    p = sub.add_parser("schedule", help="run harvests and freshness checks on a schedule")
    p.add_argument("--once", action="store_true", help="run each job once and exit")
    p.set_defaults(func=cmd_schedule)

    p = sub.add_parser("settings", help="print the settings table")
    p.set_defaults(func=cmd_settings)

    from portal.cli_schemas import register as register_schema_commands

    register_schema_commands(sub)

    from portal.cli_csvw import register as register_csvw_commands

    register_csvw_commands(sub)

    from portal.cli_alerts import register as register_alert_commands
    from portal.cli_subscribe import register as register_subscribe_commands
    from portal.cli_webhooks import register as register_webhook_commands

    register_alert_commands(sub)
    register_webhook_commands(sub)
    register_subscribe_commands(sub)
    return parser


def _terminate(signum: int, frame: FrameType | None) -> None:
    """SIGTERM ends a command like Ctrl-C does: through the code, so that runs are recorded as ended."""
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; map errors to the fixed exit codes."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if in_main_thread else None
    try:
        return int(args.func(args))
    except PortalError as exc:
        print(f"lodestar: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("lodestar: interrupted", file=sys.stderr)
        return 130
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
