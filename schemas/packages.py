"""Validating a Frictionless Data Package: its descriptor, then each of its tables.

A descriptor error (``package-error``, ``resource-error``) is an issue coded
``package/<type>`` in a report about the descriptor; the tables are then not read. Otherwise
each table resource gets its own report, checked by the frictionless path with the package as
context, so that foreign keys to other resources resolve.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from frictionless import FrictionlessException, Package
from frictionless.resources import TableResource

from portal.errors import DataError, NotFoundError
from portal.report import Report
from schemas import frictionless_path
from schemas.collector import IssueCollector
from schemas.guard import Limits


def validate_package(source: str | Path | dict[str, Any], *, check_data: bool = True,
                     limit_errors: int | None = None, limits: Limits | None = None
                     ) -> list[Report]:
    """Validate a Data Package (a ``datapackage.json`` path or a descriptor dict).

    Returns one report about the descriptor when it has errors or `check_data` is False, else
    one report per resource, in the package's order. A missing file raises `NotFoundError`, a
    file that is not JSON `DataError`.
    """
    descriptor, where, basepath = _read(source)
    subject = where
    report = Report(subject=subject)
    try:  # Frictionless normalises v1 descriptors (a string primaryKey, say) before checking
        package = Package(descriptor, basepath=basepath)
        errors = list(Package.metadata_validate(package.to_descriptor()))
    except FrictionlessException as exc:
        errors = exc.to_errors()
    for error in errors:
        report.add(f"package/{error.type}", "error", error.message, file=where)
    if not report.valid or not check_data:
        report.stats.update(resources=len(descriptor.get("resources", []) or []),
                            errors=report.totals()["errors"], engine="none")
        return [report]
    limits = limits or Limits()
    deadline = limits.deadline()
    reports = []
    for resource in package.resources:
        reports.append(_validate_resource(resource, where, limit_errors, limits, deadline))
    return reports


def _read(source: str | Path | dict[str, Any]) -> tuple[dict[str, Any], str, str]:
    """The descriptor, a name for reports, and the folder its paths are relative to."""
    if isinstance(source, dict):
        return dict(source), str(source.get("name") or "datapackage"), "."
    path = Path(source)
    if not path.is_file():
        raise NotFoundError(f"data package {path} does not exist")
    try:
        descriptor = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"data package {path} is not a JSON document: {exc}") from exc
    if not isinstance(descriptor, dict):
        raise DataError(f"data package {path} is not a JSON object")
    return descriptor, str(path), str(path.parent)


def _validate_resource(resource: Any, where: str, limit_errors: int | None, limits: Limits,
                       deadline: float | None) -> Report:
    """One resource of the package, checked by Frictionless in the package's context."""
    name = f"{where}#{resource.name}"
    report = Report(subject=name)
    collector = IssueCollector(name, limit_errors=limit_errors)
    if not isinstance(resource, TableResource):
        report.stats.update(rows=0, errors=0, engine="none", resource=resource.name)
        return report
    header_row = resource.dialect.header_rows[0] if resource.dialect.header else 0
    declared = {k: getattr(resource, k) for k in ("bytes", "hash", "rows") if getattr(resource, k)}
    path = Path(resource.normpath) if resource.normpath else None
    stats = frictionless_path.check_resource(
        resource, collector, header_row=header_row, schema=resource.schema.to_descriptor(),
        path=path, limits=limits, deadline=deadline, declared=declared)
    collector.finish(report)
    report.stats.update(rows=stats.rows, errors=report.totals()["errors"], partial=stats.partial,
                        engine="frictionless", engine_reason="a package's tables are checked in "
                        "its context (foreign keys across resources)", resource=resource.name)
    return report


def descriptor_kind(path: str | Path) -> str | None:
    """``"package"`` or ``"resource"`` for a JSON Data Package / Data Resource file, else None."""
    path = Path(path)
    if path.suffix.lower() != ".json" or not path.is_file():
        return None
    try:
        descriptor = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if isinstance(descriptor, dict) and "resources" in descriptor:
        return "package"
    if isinstance(descriptor, dict) and "path" in descriptor:
        return "resource"
    return None


def read_resource(path: str | Path) -> dict[str, Any]:
    """A Data Resource descriptor file → ``path`` (resolved), ``schema``, ``dialect``, ``declared``.

    A relative data or schema path is relative to the descriptor's folder.
    """
    path = Path(path)
    try:
        descriptor = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"data resource {path} is not a JSON document: {exc}") from exc
    if not isinstance(descriptor, dict) or not isinstance(descriptor.get("path"), str):
        raise DataError(f"data resource {path} names no single data path")
    schema = descriptor.get("schema")
    if isinstance(schema, str):
        schema = str(path.parent / schema)
    return {"path": str(path.parent / descriptor["path"]), "schema": schema,
            "dialect": descriptor.get("dialect"),
            "declared": {k: descriptor[k] for k in ("bytes", "rows", "hash") if k in descriptor}}
