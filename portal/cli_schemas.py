"""`lodestar schemas list|show|match`: the bundled Table Schemas, and which one a CSV fits."""

from __future__ import annotations

import argparse
import json
from typing import Any


def cmd_schemas_list(args: argparse.Namespace) -> int:
    """List the bundled schemas: name, title and number of fields."""
    from schemas.loader import bundled_schemas, load_schema

    rows = []
    for name in bundled_schemas():
        descriptor = load_schema(name)
        rows.append({"name": name, "title": descriptor.get("title", ""),
                     "fields": len(descriptor.get("fields", []))})
    if args.format == "json":
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    width = max((len(r["name"]) for r in rows), default=4)
    for row in rows:
        print(f"{row['name']:<{width}}  {row['fields']:>3} fields  {row['title']}")
    return 0


def cmd_schemas_show(args: argparse.Namespace) -> int:
    """Show one bundled schema's fields with their types and constraints (or its descriptor)."""
    from schemas.loader import bundled_schemas, load_schema

    if args.name not in bundled_schemas():
        from portal.errors import NotFoundError

        known = ", ".join(bundled_schemas())
        raise NotFoundError(f"no bundled schema named {args.name!r} (bundled: {known})")
    descriptor = load_schema(args.name)
    if args.format == "json":
        print(json.dumps(descriptor, indent=2, ensure_ascii=False))
        return 0
    print(f"{args.name}: {descriptor.get('title', '')}")
    if descriptor.get("description"):
        print(f"  {descriptor['description']}")
    for source in descriptor.get("sources", []):
        print(f"  source: {source.get('title', '')} <{source.get('path', '')}>")
    key = descriptor.get("primaryKey")
    if key:
        print(f"  primary key: {', '.join([key] if isinstance(key, str) else key)}")
    if descriptor.get("missingValues") is not None:
        print(f"  missing values: {json.dumps(descriptor['missingValues'], ensure_ascii=False)}")
    for spec in descriptor.get("fields", []):
        print(f"  {spec['name']}  {_type_text(spec)}{_constraints_text(spec)}")
        if spec.get("title") and spec["title"] != spec["name"]:
            print(f"      {spec['title']}")
    return 0


def _type_text(spec: dict[str, Any]) -> str:
    """A field's type with its format, e.g. ``date (%d/%m/%Y)``."""
    text = str(spec.get("type", "any"))
    if spec.get("format") and spec["format"] != "default":
        text += f" ({spec['format']})"
    return text


def _constraints_text(spec: dict[str, Any]) -> str:
    """A field's constraints in a short line: ``required, unique, pattern [0-9]+``."""
    parts = []
    for key, value in (spec.get("constraints") or {}).items():
        if value is True:
            parts.append(key)
        elif key == "enum":
            parts.append("one of " + " | ".join(str(v) for v in value))
        else:
            parts.append(f"{key} {value}")
    return f"  — {', '.join(parts)}" if parts else ""


def cmd_schemas_match(args: argparse.Namespace) -> int:
    """Match a CSV file's header to the bundled schemas; exit 1 when none fits."""
    from schemas.matching import MATCH_THRESHOLD, match_schemas, read_header, shown_candidates

    header = read_header(args.file)
    candidates = match_schemas(header)
    best = candidates[0] if candidates and candidates[0].matched else None
    if args.format == "json":
        print(json.dumps({"file": args.file, "header": header, "threshold": MATCH_THRESHOLD,
                          "best": best.schema if best else None,
                          "candidates": [m.to_dict() for m in candidates]},
                         indent=2, ensure_ascii=False))
        return 0 if best else 1
    print(f"{args.file}: {len(header)} column(s)")
    for match in shown_candidates(candidates):
        flag = "match" if match.matched else "no match"
        print(f"  {match.score:.2f}  {match.schema:<24} {flag:<8}  {match.fields_matched}/"
              f"{match.fields_total} fields — {match.title}")
    if best is None:
        print(f"no bundled schema fits (best score below {MATCH_THRESHOLD}); "
              f"validation will infer a schema")
        return 1
    print(f"best: {best.schema}")
    for column in best.columns:
        if column.field is not None:
            via = f"{column.via}, " if column.via else ""
            print(f"  {column.column!r} → {column.field} ({via}{column.score:.2f})")
        else:
            near = (f"; closest field {column.closest} ({column.closest_score:.2f})"
                    if column.closest else "")
            print(f"  {column.column!r} → unknown column{near}")
    if best.missing_required:
        print(f"  missing required field(s): {', '.join(best.missing_required)}")
    return 0


def register(sub: Any) -> None:
    """Add the schemas command group to the `lodestar` parser."""
    group = sub.add_parser("schemas", help="bundled Table Schemas and schema matching").add_subparsers(
        dest="action", required=True)
    p = group.add_parser("list", help="list the bundled schemas")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_schemas_list)
    p = group.add_parser("show", help="show a bundled schema's fields")
    p.add_argument("name")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_schemas_show)
    p = group.add_parser("match", help="find the bundled schema a CSV file's header fits")
    p.add_argument("file")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_schemas_match)
