"""Harvest sources as pages: what is registered, how often, and every run with its errors."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template

from portal.sources import get_source, list_sources, run_summary, source_summary
from portal.web import get_instance

bp = Blueprint("sources", __name__)

#: Runs shown on a source page (the JSON twin takes `?limit=`).
PAGE_RUNS = 50


@bp.get("/sources")
def sources() -> str:
    """Every registered source with its last run."""
    instance = get_instance()
    return render_template("sources.html", sources=[source_summary(s) for s in list_sources(instance)],
                           default_hours=float(instance.settings.harvest_every_hours))


@bp.get("/sources.json")
def sources_json() -> Response:
    """Every registered source as JSON."""
    return jsonify(sources=[source_summary(s) for s in list_sources(get_instance())])


def _detail(name: str) -> dict[str, object]:
    source = get_source(get_instance(), name)
    return {**source_summary(source), "runs": [run_summary(r) for r in reversed(source.runs[-PAGE_RUNS:])]}


@bp.get("/source/<name>")
def source(name: str) -> str:
    """One source: its settings and its run history, newest first, with per-dataset errors."""
    return render_template("source.html", s=_detail(name),
                           default_hours=float(get_instance().settings.harvest_every_hours))


@bp.get("/source/<name>.json")
def source_json(name: str) -> Response:
    """One source and its run history as JSON."""
    return jsonify(_detail(name))
