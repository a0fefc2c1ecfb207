"""CKAN portals through their Action API (`ckanapi.RemoteCKAN`), paged and incremental.

Every call goes through the egress client (address guard, deadline, size cap, retries honouring
``Retry-After``): ckanapi is handed a requests-compatible session that sends through it, and only
GET is used so that the egress client may retry. The listing is ``package_search`` with a stable
sort, paged by ``start``/``rows``. A page served twice, a count that changes during the run, or a
page that fails after its retries make the listing incomplete (`ListingProblem`); only the first
page's failure means the source cannot be read (`SourceError`).

With ``since``, the changed packages are searched by ``metadata_modified`` (minus a skew margin)
and every other package is listed by id only (``fl=id,name``) as `StillListed`.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import ckanapi
import requests

from harvesters.base import HarvesterBase, ListingItem, ListingProblem, StillListed
from harvesters.ckan_packages import dataset_from_package
from harvesters.fetch import default_egress
from portal.errors import SourceError, SourceUnavailableError

if TYPE_CHECKING:
    from portal.egress import Egress

log = logging.getLogger(__name__)

#: How far before `since` the incremental search starts, for clocks that disagree.
SKEW = timedelta(minutes=10)
#: The order that keeps paging stable: a package edited during the run moves to the end, not back.
SORT = "metadata_modified asc, id asc"
_API_SUFFIXES = ("/api/3/action", "/api/action", "/api/3", "/api")


def portal_root(url: str) -> str:
    """The portal's root URL, from a root URL or one ending in ``/api/3/action`` (or ``/api/3``)."""
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/")
    for suffix in _API_SUFFIXES:
        if path.endswith(suffix):
            path = path[: -len(suffix)]
            break
    return urlunsplit((parts.scheme, parts.netloc, path.rstrip("/"), "", ""))


def solr_time(moment: datetime) -> str:
    """`moment` in Solr's date syntax (UTC, ``Z``), as CKAN's ``metadata_modified`` is indexed."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class EgressSession:
    """A requests-compatible session for ckanapi that sends every request through an `Egress` client."""

    def __init__(self, egress: Egress, max_bytes: int | None = None) -> None:
        self.egress, self.max_bytes = egress, max_bytes

    def request(self, method: str, url: str, params: Mapping[str, Any] | None = None, data: Any = None,
                headers: Mapping[str, str] | None = None, **_ignored: Any) -> requests.Response:
        """Send through the egress client (its own timeouts apply) and answer as a `requests.Response`."""
        query = {k: str(v) for k, v in (params or {}).items() if v is not None}
        body = data if isinstance(data, bytes) or data is None else str(data).encode()
        reply = self.egress.request(method, url, params=query, data=body, headers=dict(headers or {}),
                                    max_bytes=self.max_bytes)
        if reply.status >= 400 and "json" not in reply.media_type:  # not CKAN's error shape
            raise SourceUnavailableError(f"{url}: HTTP {reply.status}")
        response = requests.Response()
        response.status_code, response.url = reply.status, reply.final_url
        response.headers = reply.headers
        response._content = reply.read()
        response.encoding = "utf-8"
        return response

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        """GET, as `requests.Session.get`."""
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        """POST, as `requests.Session.post` (not retried by the egress client)."""
        return self.request("POST", url, **kwargs)

    def close(self) -> None:
        """Nothing to release: the egress client owns the connections."""


class CkanHarvester(HarvesterBase):
    """Harvests a CKAN portal (or a CKAN-compatible Action API) package by package."""

    kind = "ckan"
    options: tuple[str, ...] = ("organization", "api_key")
    #: Packages per ``package_search`` page; CKAN's own cap (``ckan.search.rows_max``) is 1000.
    rows = 100
    #: Ids per page of the id-only listing of an incremental run.
    id_rows = 1000
    #: Tries per page (a body that broke off is tried again; the egress client retries the rest).
    page_attempts = 2
    #: Failed pages in a row after which the listing gives up.
    max_failed_pages = 3

    def gather(self, url: str, *, options: Mapping[str, Any] | None = None,
               since: datetime | None = None) -> Iterator[ListingItem]:
        """List the portal's public packages (with `since`: the changed ones, and the rest by id)."""
        options = options or {}
        root = portal_root(url)
        if urlsplit(root).scheme not in ("http", "https"):
            raise SourceError(f"{url}: a CKAN portal is read over http(s)")
        with contextlib.ExitStack() as stack:
            egress = self.egress or stack.enter_context(default_egress(timeout=self.timeout,
                                                                       max_bytes=self.max_bytes))
            ckan = ckanapi.RemoteCKAN(root, apikey=options.get("api_key") or None, get_only=True,
                                      user_agent=egress.user_agent,
                                      session=EgressSession(egress, self.max_bytes))
            ckan.base_url = "api/3/action/"
            filters = [_organization_filter(str(options["organization"]))] if options.get("organization") else []
            if since is None:
                yield from self._datasets(ckan, root, filters)
                return
            changed = filters + [f"metadata_modified:[{solr_time(since - SKEW)} TO *]"]
            listing = self._datasets(ckan, root, changed)
            try:
                first = next(listing, None)
            except SourceUnavailableError:
                raise
            except SourceError as exc:  # a CKAN-like API that cannot search by date: list everything
                log.warning("%s: no incremental listing (%s); listing every package", root, exc)
                yield from self._datasets(ckan, root, filters)
                return
            yielded: set[str] = set()
            for item in itertools.chain([first] if first is not None else [], listing):
                if not isinstance(item, ListingProblem):
                    yielded.add(item.identifier)
                yield item
            for entry in self._pages(ckan, filters, fields="id,name", rows=self.id_rows, first_raises=False):
                if isinstance(entry, ListingProblem):
                    yield entry
                elif (identifier := _identifier(entry)) and identifier not in yielded:
                    yield StillListed(identifier)

    def _datasets(self, ckan: ckanapi.RemoteCKAN, root: str, filters: list[str]) -> Iterator[ListingItem]:
        for item in self._pages(ckan, filters, rows=self.rows, first_raises=True):
            if isinstance(item, ListingProblem):
                yield item
            elif (record := dataset_from_package(root, item)) is not None:
                yield record

    def _pages(self, ckan: ckanapi.RemoteCKAN, filters: list[str], *, rows: int, first_raises: bool,
               fields: str | None = None) -> Iterator[dict[str, Any] | ListingProblem]:
        """The packages of every page, each once; problems with the paging as `ListingProblem`s."""
        params: dict[str, Any] = {"q": "*:*", "sort": SORT, "rows": rows, "include_private": "false"}
        if filters:
            params["fq"] = " AND ".join(filters)
        if fields:
            params["fl"] = fields
        start, expected, failed = 0, None, 0
        pages: dict[tuple[str, ...], int] = {}
        seen: set[str] = set()
        while expected is None or start < expected:
            where = f"package_search start={start}"
            try:
                result = self._page(ckan, {**params, "start": start})
            except SourceError as exc:
                if expected is None and first_raises:
                    raise
                failed += 1
                yield ListingProblem(where, str(exc))
                if expected is None or failed >= self.max_failed_pages:
                    yield ListingProblem(where, "the listing stopped here; later packages were not read")
                    return
                start += rows
                continue
            failed = 0
            count, packages = result["count"], result["results"]
            if expected is not None and count != expected:
                yield ListingProblem(where, f"the portal's package count changed from {expected} to {count} "
                                            "during the listing; packages may have been missed")
            expected = count
            if not packages:
                if start < count:
                    yield ListingProblem(where, f"an empty page at {start} of {count} packages; "
                                                "the listing stopped here")
                return
            ids = tuple(_identifier(p) for p in packages)
            if ids in pages:
                yield ListingProblem(where, f"the portal served the page at {pages[ids]} again; "
                                            "its paging is not stable, so the listing stopped here")
                return
            pages[ids] = start
            for package, identifier in zip(packages, ids):
                if identifier and identifier not in seen:
                    seen.add(identifier)
                    yield package
            start += len(packages)  # a portal capping rows below ours gives shorter pages

    def _page(self, ckan: ckanapi.RemoteCKAN, params: dict[str, Any]) -> dict[str, Any]:
        """One ``package_search`` answer, checked; tried again when its body broke off."""
        for attempt in range(self.page_attempts):
            try:
                result = _call(ckan, "package_search", params)
            except SourceUnavailableError:
                if attempt == self.page_attempts - 1:
                    raise
                continue
            if not (isinstance(result, dict) and isinstance(result.get("count"), int)
                    and isinstance(result.get("results"), list)):
                raise SourceError(f"{ckan.address}: package_search did not answer with a count and results")
            result["results"] = [p for p in result["results"] if isinstance(p, dict)]
            return result
        raise AssertionError("the last attempt returns or raises")


def _identifier(package: Mapping[str, Any]) -> str:
    value = package.get("id") or package.get("name")
    return value.strip() if isinstance(value, str) else ""


def _organization_filter(name: str) -> str:
    """A Solr filter on the organisation's name, quoted unless it is a plain CKAN name."""
    if name and all(c.isascii() and (c.isalnum() or c in "-_") for c in name):
        return f"organization:{name}"
    return "organization:" + json.dumps(name)


def _call(ckan: ckanapi.RemoteCKAN, action: str, params: dict[str, Any]) -> Any:
    """Call an action; ckanapi's and the network's exceptions become `SourceError`s."""
    try:
        return ckan.call_action(action, params)
    except (ckanapi.NotFound, ckanapi.NotAuthorized, ckanapi.ValidationError, ckanapi.SearchQueryError,
            ckanapi.SearchError, ckanapi.SearchIndexError) as exc:
        raise SourceError(f"{ckan.address}: {action} refused: {type(exc).__name__} {_short(exc)}") from exc
    except ckanapi.CKANAPIError as exc:  # the answer was not CKAN's JSON (a body cut short, an HTML page)
        raise SourceUnavailableError(f"{ckan.address}: {action} did not answer in CKAN's JSON") from exc
    except requests.RequestException as exc:
        raise SourceUnavailableError(f"{ckan.address}: {action}: {exc}") from exc


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) <= 300 else text[:300] + "…"
