"""`lodestar csv2rdf`: convert a CSV file or a CSVW metadata document to RDF with the W3C CSVW rules."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from portal.errors import UsageError


def cmd_csv2rdf(args: argparse.Namespace) -> int:
    """Convert a tabular file (path or URL) to N-Triples or Turtle on standard output."""
    from portal.config import load_settings
    from portal.egress import Egress
    from vocab.csvw import csv2rdf, csv2rdf_stream, egress_loader

    url = _url(args.source)
    metadata = None if args.metadata is None else _url(args.metadata)
    with Egress.from_settings(load_settings()) as egress:
        loader = egress_loader(egress)
        if args.format == "nt":
            csv2rdf_stream(url, sys.stdout.buffer, metadata=metadata, minimal=args.minimal, loader=loader)
            sys.stdout.buffer.flush()
            return 0
        graph = csv2rdf(url, metadata=metadata, minimal=args.minimal, loader=loader)
    sys.stdout.write(graph.serialize(format="turtle"))
    return 0


def _url(source: str) -> str:
    """A URL as it is; a local path as its `file:` URL (UsageError when there is no such file)."""
    from vocab.csvw import file_url

    if source.startswith(("http://", "https://", "file:")):
        return source
    if not Path(source).is_file():
        raise UsageError(f"csv2rdf: no such file: {source}")
    return file_url(source)


def register(sub: Any) -> None:
    """Add the csv2rdf command to the `lodestar` parser."""
    p = sub.add_parser("csv2rdf", help="convert CSV (with CSVW metadata) to RDF, per W3C csv2rdf")
    p.add_argument("source", metavar="URL_OR_FILE",
                   help="a CSV file or a CSVW metadata document (path or URL)")
    p.add_argument("--metadata", metavar="FILE", help="user metadata that overrides any found")
    p.add_argument("--minimal", action="store_true", help="minimal mode: only the cells' triples")
    p.add_argument("--format", choices=("nt", "ttl"), default="nt", help="output format (default nt)")
    p.set_defaults(func=cmd_csv2rdf)
