"""Hydra paging of DCAT catalogues: where the next page is, and whether the last one was reached.

Both the current ``hydra:PartialCollectionView`` (``hydra:next``, ``first``, ``last``) and the older
``hydra:PagedCollection`` (``hydra:nextPage``, ``firstPage``, ``lastPage``) are read; links may be
IRIs or string literals (ckanext-dcat writes literals) and are resolved against the page's URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urldefrag, urljoin

from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.term import Node

from vocab.namespaces import RDF

HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
_NEXT = (HYDRA.next, HYDRA.nextPage)
_LAST = (HYDRA.last, HYDRA.lastPage)


@dataclass(frozen=True)
class Paging:
    """What one page says about the listing: its own IRI, the next page and the last page (absolute URLs)."""

    view: str | None = None
    next: str | None = None
    last: str | None = None

    def ends_early(self, page_url: str) -> bool:
        """Whether the page has no next link although the catalogue names a different last page."""
        if self.next is not None or self.last is None:
            return False
        return self.last not in {page_url, self.view}


def _link(graph: Graph, view: Node, predicates: tuple[URIRef, ...], base: str) -> str | None:
    for predicate in predicates:
        for value in sorted(graph.objects(view, predicate), key=str):
            if isinstance(value, (URIRef, Literal)) and str(value).strip():
                return urldefrag(urljoin(base, str(value).strip()))[0]
    return None


def paging_of(graph: Graph, page_url: str) -> Paging:
    """The Hydra view of this page, if it has one; the view named by the page's own URL wins."""
    views: set[Node] = set(graph.subjects(RDF.type, HYDRA.PartialCollectionView))
    views.update(graph.subjects(RDF.type, HYDRA.PagedCollection))
    views.update(graph.objects(None, HYDRA.view))
    views.update(s for p in (*_NEXT, *_LAST) for s in graph.subjects(p, None))
    if not views:
        return Paging()
    own = [v for v in views if isinstance(v, URIRef) and urldefrag(str(v))[0] == page_url]
    ordered = own + sorted((v for v in views if v not in own), key=lambda v: (_link(graph, v, _NEXT, page_url)
                                                                             is None, str(v)))
    view = ordered[0]
    return Paging(view=str(view) if isinstance(view, URIRef) else None,
                  next=_link(graph, view, _NEXT, page_url), last=_link(graph, view, _LAST, page_url))
