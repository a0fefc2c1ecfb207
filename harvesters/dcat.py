"""DCAT catalogues in RDF (Turtle, RDF/XML, N-Triples, JSON-LD), one document or Hydra-paged → dataset records.

Pages are read one at a time through the egress client and their datasets yielded before the
next page is fetched, so only one page's graph is held at once. The first page failing raises
`SourceError`; a later page failing, a page URL or page content seen twice (a loop), the page cap
being reached, or a chain that ends before the page the catalogue calls last, each yield a
`ListingProblem` and end the listing (the next page's address is only known from the page before).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urldefrag

from harvesters.base import HarvesterBase, ListingItem, ListingProblem
from harvesters.dcat_paging import paging_of
from harvesters.dcat_parse import parse_catalogue
from harvesters.dcat_records import datasets_in
from harvesters.fetch import read_bytes
from portal.errors import SourceError, UsageError

if TYPE_CHECKING:
    from portal.egress import Egress

#: Pages read at most in one listing unless the source's ``max_pages`` option says otherwise.
DEFAULT_MAX_PAGES = 1000


def _max_pages(options: Mapping[str, Any] | None) -> int:
    value = (options or {}).get("max_pages")
    if value is None or value == "":
        return DEFAULT_MAX_PAGES
    try:
        pages = int(value)
    except (TypeError, ValueError):
        raise UsageError(f"max_pages must be a whole number, not {value!r}") from None
    if pages < 1:
        raise UsageError(f"max_pages must be at least 1, not {pages}")
    return pages


class DcatHarvester(HarvesterBase):
    """Harvests a DCAT catalogue published as one RDF document or as Hydra pages."""

    kind = "dcat"
    options: tuple[str, ...] = ("max_pages",)

    def gather(self, url: str, *, options: Mapping[str, Any] | None = None,
               since: datetime | None = None) -> Iterator[ListingItem]:
        """Read the catalogue page by page and yield its datasets, and a `ListingProblem` if it ends badly."""
        max_pages = _max_pages(options)
        seen_urls: set[str] = set()
        seen_contents: set[str] = set()
        seen_datasets: set[str] = set()
        page_url: str | None = urldefrag(url)[0]
        number = 0
        while page_url is not None:
            number += 1
            if number > max_pages:
                yield ListingProblem(page_url, f"stopped after {max_pages} pages (the source's page cap); "
                                               "the listing is incomplete")
                return
            seen_urls.add(page_url)
            try:
                data, media_type = read_bytes(page_url, timeout=self.timeout, max_bytes=self.max_bytes,
                                              egress=self.egress)
                digest = hashlib.sha256(data).hexdigest()
                if digest in seen_contents:
                    yield ListingProblem(page_url, f"page {number} repeats an earlier page's content "
                                                   "(a paging loop); the listing stops here")
                    return
                seen_contents.add(digest)
                graph = parse_catalogue(data, page_url, media_type)
                del data
            except SourceError as exc:
                if number == 1:
                    raise
                yield ListingProblem(page_url, f"page {number} could not be read: {exc}")
                return
            paging = paging_of(graph, page_url)
            for record in datasets_in(graph):
                if record.identifier not in seen_datasets:  # a dataset that moved pages while we read
                    seen_datasets.add(record.identifier)
                    yield record
            del graph
            if paging.ends_early(page_url):
                yield ListingProblem(page_url, f"page {number} has no next page, but the catalogue says "
                                               f"its last page is {paging.last}")
                return
            if paging.next is not None and paging.next in seen_urls:
                yield ListingProblem(paging.next, f"page {number} links back to a page already read "
                                                  "(a paging loop); the listing stops here")
                return
            page_url = paging.next


__all__ = ["DcatHarvester", "datasets_in", "parse_catalogue"]
