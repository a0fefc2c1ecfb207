"""Alert events as Atom feeds (RFC 4287, built with feedgen), filtered by publisher, theme or dataset.

Entry ids are the events' stable URLs (`{base}/alert/{event_id}`), so a feed reader sees each
status change once however often it polls. Feeds are paged (RFC 5005): the newest page links to
older ones with ``rel="next"``. A feed's validator is its newest event: `FeedPage.etag` and
`FeedPage.last_modified` let the web layer answer conditional GETs with 304.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

from feedgen.feed import FeedGenerator
from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session

from portal.alerts.events import KINDS, view_of
from portal.alerts.models import AlertEvent
from portal.errors import UsageError
from vocab.authority.match import theme as theme_concept
from vocab.text import clean_text, first_unprintable
from vocab.uris import UriScheme

#: Entries per feed page.
PAGE_SIZE = 100


@dataclass(frozen=True)
class FeedFilter:
    """What a feed is about: a publisher, a theme (EU data-theme IRI), a dataset (``publisher/slug``), a kind."""

    publisher: str | None = None
    theme: str | None = None
    dataset: str | None = None
    kind: str | None = None

    @classmethod
    def parse(cls, publisher: str | None = None, theme: str | None = None, dataset: str | None = None,
              kind: str | None = None) -> FeedFilter:
        """Check and normalise filters given by a visitor (a theme code such as ``ENVI`` becomes its IRI;
        a field left empty, as a form sends it, is no filter)."""
        publisher, theme, dataset, kind = (value or None for value in (publisher, theme, dataset, kind))
        theme_iri = None
        if theme:
            concept = theme_concept(theme)
            if concept is None:
                raise UsageError(f"theme: {theme!r} is not an EU data theme (a code such as ENVI, or its IRI)")
            theme_iri = concept.uri
        if dataset is not None and (dataset.count("/") != 1 or not all(dataset.split("/"))):
            raise UsageError(f"dataset: name it as PUBLISHER/DATASET, not {dataset!r}")
        if kind is not None and kind not in KINDS:
            raise UsageError(f"kind: one of {', '.join(KINDS)}, not {kind!r}")
        for name, value in (("publisher", publisher), ("dataset", dataset)):
            # no control character, surrogate or noncharacter reaches the feed's XML
            if value is not None and (len(value) > 201 or first_unprintable(value, space=False) is not None):
                raise UsageError(f"{name}: {value!r} is not a publisher or dataset name")
        return cls(publisher or None, theme_iri, dataset or None, kind)

    def query(self) -> dict[str, str]:
        """The filters as query parameters (for links)."""
        return {k: v for k, v in (("publisher", self.publisher), ("theme", self.theme),
                                  ("dataset", self.dataset), ("kind", self.kind)) if v}


def select_events(session: Session, *, publisher: str | None = None, theme: str | None = None,
                  dataset: str | None = None, kind: str | None = None, before: int | None = None,
                  limit: int = PAGE_SIZE) -> list[AlertEvent]:
    """The newest events matching the filters (newest first); `before` pages back from an event row id."""
    filters = FeedFilter.parse(publisher, theme, dataset, kind)
    query = select(AlertEvent).order_by(AlertEvent.id.desc()).limit(max(1, min(limit, 1000)))
    if filters.publisher:
        query = query.where(AlertEvent.publisher == filters.publisher)
    if filters.dataset:
        owner, slug = filters.dataset.split("/")
        query = query.where(AlertEvent.publisher == owner, AlertEvent.dataset_slug == slug)
    if filters.kind:
        query = query.where(AlertEvent.kind == filters.kind)
    if filters.theme:
        quoted = '"' + filters.theme.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + '"'
        query = query.where(cast(AlertEvent.themes_json, String).like(f"%{quoted}%", escape="\\"))
    if before is not None:
        query = query.where(AlertEvent.id < before)
    return list(session.scalars(query))


@dataclass(frozen=True)
class FeedPage:
    """One page of a feed, serialised, with what a conditional GET needs."""

    body: bytes
    etag: str
    last_modified: datetime | None


def _http_quoted(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def atom_page(uris: UriScheme, events: list[AlertEvent], filters: FeedFilter, *, self_url: str,
              site_title: str, before: int | None = None, page_size: int = PAGE_SIZE,
              empty_since: datetime | None = None) -> FeedPage:
    """The Atom document of one page of events (newest first).

    An empty page is as old as `empty_since` (when the portal began watching; Atom needs a date).
    """
    feed = FeedGenerator()
    about = ", ".join(f"{k} {v}" for k, v in filters.query().items())
    feed.id(f"{uris.base}/alerts.atom" + (f"?{urlencode(sorted(filters.query().items()))}" if about else ""))
    feed.title(f"{site_title}: freshness alerts" + (f" ({about})" if about else ""))
    feed.subtitle("Datasets whose expected update did not happen (due, overdue, delinquent), "
                  "back to fresh, or withdrawn by their source.")
    feed.link(href=self_url, rel="self", type="application/atom+xml")
    feed.link(href=f"{uris.base}/alerts", rel="alternate", type="text/html")
    feed.generator("Lodestar")
    newest = max((e.recorded_at for e in events), default=None)
    feed.updated(newest or empty_since or datetime(1970, 1, 1, tzinfo=timezone.utc))
    if len(events) == page_size:
        query = dict(filters.query(), before=str(events[-1].id))
        feed.link(href=f"{uris.base}/alerts.atom?{urlencode(query)}", rel="next", type="application/atom+xml")
    for event in events:
        view = view_of(event, uris.dataset(event.publisher, event.dataset_slug))
        entry = feed.add_entry(order="append")
        entry.id(f"{uris.base}/alert/{event.event_id}")
        entry.title(clean_text(view.summary))
        links = [{"href": view.link, "rel": "alternate", "type": "text/html"},
                 {"href": f"{uris.base}/alert/{event.event_id}.json", "rel": "alternate", "type": "application/json"}]
        entry.link(links)
        entry.register_extension("lodestar_links", _EntryLinks)
        entry.lodestar_links.links = links
        entry.published(event.occurred_at)
        entry.updated(event.recorded_at)
        entry.author({"name": clean_text(event.publisher)})
        entry.category(term=event.kind, label=f"{event.kind} ({event.severity})")
        for theme in view.themes:
            entry.category(term=theme, scheme="http://publications.europa.eu/resource/authority/data-theme")
        entry.summary(clean_text(_summary(view.evidence, view.summary)))
    body = feed.atom_str(pretty=True)
    marker = f"{about}|{before}|{events[0].id if events else 0}|{len(events)}"
    return FeedPage(body, f'"{_http_quoted(marker)}"', newest)


class _EntryLinks:
    """A feedgen entry extension that writes the ``rel`` and ``type`` of the entry's links.

    feedgen 1.0 writes an entry's ``<link>`` with its ``href`` only (lkiesow/python-feedgen#135),
    so two untyped alternates would break RFC 4287 §4.1.1 and readers could open the JSON.
    """

    def __init__(self) -> None:
        self.links: list[dict[str, str]] = []

    def extend_atom(self, entry: Any) -> Any:
        for element, link in zip(entry.findall("link"), self.links):
            if element.get("href") == link["href"]:
                element.set("rel", link["rel"])
                element.set("type", link["type"])
        return entry

    def extend_rss(self, item: Any) -> Any:
        return item


def _summary(evidence: dict[str, object], summary: str) -> str:
    """The entry text: what happened and the evidence, in words."""
    parts = [summary + "."]
    reason = evidence.get("reason")
    if isinstance(reason, str) and reason:
        parts.append(reason)
    claim = evidence.get("claim")
    if isinstance(claim, str) and claim:
        parts.append(f"The publisher {claim}.")
    return " ".join(parts)
