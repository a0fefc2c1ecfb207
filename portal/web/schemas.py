"""The bundled Table Schemas as pages, each with its JSON descriptor and its CSVW mapping: what a
data officer's table is checked against, and how it becomes linked data."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, render_template

from portal.errors import NotFoundError
from schemas.loader import bundled_schemas, load_schema
from vocab.mappings import mapping_for

bp = Blueprint("schemas", __name__)


def _descriptor(name: str) -> dict[str, Any]:
    if name not in bundled_schemas():
        raise NotFoundError(f"no bundled schema named {name!r} (see /schemas)")
    return load_schema(name)


def _summaries() -> list[dict[str, Any]]:
    return [{"name": name, "title": d.get("title", name), "description": d.get("description", ""),
             "fields": len(d.get("fields", [])), "mapping": mapping_for(name) is not None}
            for name in sorted(bundled_schemas()) for d in [load_schema(name)]]


@bp.get("/schemas")
def schemas() -> str:
    """Every bundled schema, with how many fields it has and whether it has a curated mapping."""
    return render_template("schemas.html", schemas=_summaries())


@bp.get("/schemas.json")
def schemas_json() -> Response:
    """Every bundled schema as JSON."""
    return jsonify(schemas=_summaries())


@bp.get("/schemas/<name>")
def schema(name: str) -> str:
    """One schema: its fields, types and constraints, and its mapping's vocabularies."""
    return render_template("schema.html", name=name, d=_descriptor(name), mapping=mapping_for(name))


@bp.get("/schemas/<name>.json")
def schema_json(name: str) -> Response:
    """The Frictionless Table Schema descriptor itself."""
    return jsonify(_descriptor(name))


@bp.get("/schemas/<name>/mapping")
@bp.get("/schemas/<name>/mapping.json")
def mapping(name: str) -> Response:
    """The curated CSVW metadata document (a template: base, publisher and dataset are filled in)."""
    _descriptor(name)
    document = mapping_for(name)
    if document is None:
        raise NotFoundError(f"the schema {name!r} has no curated mapping: its tables go through the bridge")
    response = jsonify(document)
    response.mimetype = "application/csvm+json"
    return response
