"""Alerts for watchdogs, no account needed: the Atom feed, the alert pages, and `/freshness.json`."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request, url_for
from sqlalchemy import func, select

from portal.alerts.events import view_of
from portal.alerts.feed import PAGE_SIZE, FeedFilter, atom_page, select_events
from portal.alerts.models import AlertEvent
from portal.db import Source
from portal.errors import NotFoundError, UsageError
from portal.freshness import RECORDED_STATUSES, parse_instant
from portal.freshness_view import MAX_PAGE, PAGE_SIZE, FreshnessQuery, freshness_document
from portal.web import get_instance

bp = Blueprint("alerts", __name__)


def _filters() -> FeedFilter:
    args = request.args
    return FeedFilter.parse(args.get("publisher"), args.get("theme"), args.get("dataset"), args.get("kind"))


def _before() -> int | None:
    raw = request.args.get("before")
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise UsageError(f"before: an event number, not {raw!r}")
    return int(raw)


def _events(filters: FeedFilter, before: int | None, limit: int = PAGE_SIZE) -> list[AlertEvent]:
    with get_instance().session() as session:
        return select_events(session, publisher=filters.publisher, theme=filters.theme, dataset=filters.dataset,
                             kind=filters.kind, before=before, limit=limit)


@bp.get("/alerts.atom")
def alerts_atom() -> Response:
    """Every alert as an Atom feed (newest first, paged), filtered by ?publisher=, ?theme=, ?dataset=."""
    instance = get_instance()
    filters, before = _filters(), _before()
    events = _events(filters, before)
    since = None
    if not events:  # an empty feed is as old as the first source watched
        with instance.session() as session:
            since = session.scalar(select(func.min(Source.created_at)))
    page = atom_page(instance.uris, events, filters, self_url=request.url,
                     site_title=str(instance.settings.site_title), before=before, empty_since=since)
    response = Response(page.body, mimetype="application/atom+xml")
    response.set_etag(page.etag.strip('"'))
    if page.last_modified is not None:  # never later than now (RFC 9110 §8.8.2.1), e.g. events recorded with --now
        response.last_modified = min(page.last_modified, datetime.now(timezone.utc))
    response.cache_control.public = True
    response.cache_control.max_age = 60
    response.make_conditional(request)  # 304 when If-None-Match / If-Modified-Since say it is unchanged
    return response


def _event_json(event: AlertEvent) -> dict[str, Any]:
    uris = get_instance().uris
    return view_of(event, uris.dataset(event.publisher, event.dataset_slug)).payload() | {
        "url": f"{uris.base}/alert/{event.event_id}"}


@bp.get("/alerts")
def alerts_page() -> str:
    """The newest alerts as a page, with the feed links for the chosen filters."""
    filters = _filters()
    events = _events(filters, _before())
    ahead = (datetime.now(timezone.utc) + timedelta(days=60)).strftime("%Y-%m-%dT00:00:00Z")
    chosen: dict[str, Any] = {k: v for k, v in (("publisher", filters.publisher), ("dataset", filters.dataset)) if v}
    return render_template("alerts.html", events=[_event_json(e) for e in events], filters=filters.query(),
                           page_size=PAGE_SIZE, older=events[-1].id if len(events) == PAGE_SIZE else None,
                           ahead=ahead, what_if=url_for("alerts.freshness_page", now=ahead, **chosen))


@bp.get("/alerts.json")
def alerts_json() -> Response:
    """The newest alerts as JSON (same filters and paging as the feed)."""
    filters = _filters()
    events = _events(filters, _before())
    return jsonify(filters=filters.query(), alerts=[_event_json(e) for e in events],
                   next=events[-1].id if len(events) == PAGE_SIZE else None)


def _event(event_id: str) -> AlertEvent:
    with get_instance().session() as session:
        event = session.scalar(select(AlertEvent).where(AlertEvent.event_id == event_id))
    if event is None:
        raise NotFoundError(f"no alert {event_id}")
    return event


@bp.get("/alert/<event_id>")
def alert_page(event_id: str) -> str | Response:
    """One alert: what changed, the evidence, and the dataset."""
    if event_id.endswith(".json"):
        return jsonify(_event_json(_event(event_id[:-5])))
    return render_template("alert.html", alert=_event_json(_event(event_id)))


def _now() -> datetime | None:
    raw = request.args.get("now")
    return None if raw is None else parse_instant(raw, "now")


def _count(name: str, default: int, most: int, least: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9 or not least <= int(raw) <= most:
        raise UsageError(f"{name}: a whole number from {least} to {most}, not {raw!r}")
    return int(raw)


def _freshness_query(page_size: int) -> FreshnessQuery:
    """?publisher=, ?dataset=, ?status= (comma-separated), ?limit=, ?offset= — checked."""
    args = request.args
    checked = FeedFilter.parse(publisher=args.get("publisher"), dataset=args.get("dataset"))
    statuses = frozenset(s.strip() for s in (args.get("status") or "").split(",") if s.strip())
    known = RECORDED_STATUSES - {"withdrawn"}
    if not statuses <= known:
        raise UsageError(f"status: one or more of {', '.join(sorted(known))} (comma-separated), not "
                         f"{args.get('status')!r}")
    return FreshnessQuery(checked.publisher, checked.dataset, statuses, offset=_count("offset", 0, 10**9, 0),
                          limit=_count("limit", page_size, MAX_PAGE, 1))


def _freshness(page_size: int) -> dict[str, Any]:
    """The freshness document for the request, with the link to its next page (None on the last)."""
    query = _freshness_query(page_size)
    now = _now()
    doc = freshness_document(get_instance(), now, query)
    after = query.offset + query.limit
    more = dict(query.params(), offset=str(after), **({"now": now.isoformat()} if now else {}))
    doc["next"] = url_for(request.endpoint or "alerts.freshness_json", **more, _external=True) if (
        after < doc["total"]) else None
    return doc


@bp.get("/freshness.json")
def freshness_json() -> Response:
    """Every dataset's status with its evidence; the last recorded evaluation, or a what-if at ?now=.
    Filtered by ?publisher=, ?dataset=, ?status=; paged by ?limit= (1000 by default) and ?offset=."""
    return jsonify(_freshness(PAGE_SIZE))


@bp.get("/freshness")
def freshness_page() -> str:
    """Every dataset's status with its evidence, as a page (200 datasets at a time)."""
    return render_template("freshness.html", doc=_freshness(200))
