"""Harvest sources: registered once by a data officer, each with its kind's own settings and interval."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from harvesters import HARVESTERS, harvester_class
from portal.db import HarvestRun, Source
from portal.errors import NotFoundError, UsageError
from portal.instance import Instance
from vocab.uris import RESERVED_PUBLISHERS, slugify

#: Option values never shown back (`sources list`, the source page).
SECRET_OPTIONS = frozenset({"api_key"})


def add_source(instance: Instance, name: str, url: str, kind: str = "dcat", publisher: str | None = None,
               *, options: Mapping[str, Any] | None = None, every_hours: float | None = None) -> Source:
    """Register a harvest source under a unique name, with the settings its kind accepts."""
    if kind not in HARVESTERS:
        raise UsageError(f"unknown source kind {kind!r}; known: {', '.join(sorted(HARVESTERS))}")
    if not slugify(name) == name:
        raise UsageError(f"source name {name!r} must be a slug such as {slugify(name)!r}")
    if urlparse(url).scheme.lower() not in ("http", "https", "file") or not urlparse(url).netloc + urlparse(url).path:
        raise UsageError(f"source URL {url!r} must be an http(s) or file URL of a catalogue")
    given = {key: value for key, value in (options or {}).items() if value not in (None, "")}
    accepted = harvester_class(kind).options
    unknown = sorted(set(given) - set(accepted))
    if unknown:
        raise UsageError(f"a {kind} source takes no {', '.join(unknown)} "
                         f"(it takes: {', '.join(accepted) or 'no options'})")
    if publisher is not None and (slugify(publisher) != publisher or publisher in RESERVED_PUBLISHERS):
        raise UsageError(f"publisher {publisher!r} must be a slug and not one of "
                         f"{', '.join(sorted(RESERVED_PUBLISHERS))}")
    if every_hours is not None and not every_hours > 0:
        raise UsageError(f"--every must be a positive number of hours, not {every_hours}")
    with instance.session() as session:
        if session.scalar(select(Source).where(Source.name == name)) is not None:
            raise UsageError(f"a source named {name!r} already exists")
        source = Source(name=name, url=url, kind=kind, publisher=publisher, options_json=given,
                        every_hours=every_hours)
        session.add(source)
    return source


def list_sources(instance: Instance) -> list[Source]:
    """Every registered source with its runs loaded."""
    with instance.session() as session:
        return list(session.scalars(select(Source).order_by(Source.name).options(selectinload(Source.runs))))


def get_source(instance: Instance, name: str) -> Source:
    """One source with its runs loaded; `NotFoundError` names how to list them."""
    with instance.session() as session:
        source = session.scalar(select(Source).where(Source.name == name).options(selectinload(Source.runs)))
    if source is None:
        raise NotFoundError(f"no source named {name!r} (see `lodestar sources list`)")
    return source


def shown_options(source: Source) -> dict[str, Any]:
    """The source's settings as they may be shown: secrets masked."""
    return {key: ("***" if key in SECRET_OPTIONS else value) for key, value in (source.options_json or {}).items()}


def interval(source: Source, default_hours: float) -> timedelta:
    """How often the source is harvested: its own interval, else the instance's."""
    return timedelta(hours=source.every_hours or default_hours)


def is_due(source: Source, now: datetime, default_hours: float) -> bool:
    """True when the source has never been harvested or its interval has passed since its last run."""
    if not source.runs:
        return True
    return now - source.runs[-1].started_at >= interval(source, default_hours)


def run_summary(run: HarvestRun) -> dict[str, Any]:
    """A run as plain values: for `lodestar runs`, the source page and its JSON twin."""
    return {
        "id": run.id, "status": run.status,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "datasets_seen": run.datasets_seen, "datasets_changed": run.datasets_changed,
        "datasets_withdrawn": run.datasets_withdrawn, "listing_complete": run.listing_complete,
        "message": run.message, "errors": list(run.errors_json or []),
    }


def source_summary(source: Source) -> dict[str, Any]:
    """A source as plain values, with its last run."""
    return {
        "name": source.name, "kind": source.kind, "url": source.url, "publisher": source.publisher,
        "options": shown_options(source), "every_hours": source.every_hours,
        "last_run": run_summary(source.runs[-1]) if source.runs else None,
    }
