"""CKAN's `package_search` over the database: Solr query syntax turned into SQL.

`q` and `fq` are parsed by luqum (a Lucene query parser; Solr's standard syntax is Lucene's) and
the tree becomes one SQL condition, so a page is a `LIMIT`/`OFFSET` query whatever the catalogue's
size. Terms with no field are free text, matched (case-insensitively, each term a substring) against
title, description, name and tags. Fields understood: `organization`, `owner_org`, `tags`,
`res_format`, `license_id`, `name`, `id`, `title`, `notes`, `text`, `metadata_modified` and
`metadata_created` (exact, or ranges such as ``[2024-01-01T00:00:00Z TO *]``), `groups` (the
portal has none, so it matches nothing), and the constant facts of every listed dataset
(`dataset_type:dataset`, `type:dataset`, `state:active`, `capacity:public`, `private:false`). As in CKAN's Solr schema, terms side by side must all match.

Sorting: `metadata_modified`, `metadata_created`, `name`, `title` (`title_string`) and `id`, each
`asc` or `desc`; `score` is accepted and ignored (there is no relevance ranking), so the default,
``score desc, metadata_modified desc``, orders by `metadata_modified`. Ties always end in the row
id, so paging through `start`/`rows` sees every dataset once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from luqum import tree
from luqum.exceptions import ParseError
from luqum.thread import parse
from sqlalchemy import ColumnElement, and_, exists, false, func, not_, or_, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import TableValuedAlias

from portal.ckan_view import CkanView, metadata_modified, package_id, package_name
from portal.ckan_vocabulary import format_of, licence_of, licence_values, media_types_of
from portal.db import Dataset, Resource
from portal.errors import UsageError

#: The most rows one page may have (CKAN's `ckan.search.rows_max` default); more are cut to this.
ROWS_MAX = 1000
#: The sort CKAN applies when none is given.
DEFAULT_SORT = "score desc, metadata_modified desc"
#: Facet fields that can be counted, and the most values a facet lists unless `facet.limit` says.
FACETS = ("organization", "tags", "res_format", "license_id")
FACET_LIMIT = 50


class SearchQueryError(UsageError):
    """A `q`, `fq` or `sort` that cannot be understood (CKAN's "Search Query Error")."""

    code = "ckan/search-query"


@dataclass
class SearchRequest:
    """The parameters of one `package_search`, already checked for type."""

    q: str = ""
    fq: str = ""
    rows: int = 10
    start: int = 0
    sort: str | None = None
    fl: list[str] | None = None
    facet_fields: list[str] = field(default_factory=list)
    facet_limit: int = FACET_LIMIT


def _like(value: str) -> str:
    """`value` as a LIKE pattern: `*` and `?` are Solr's wildcards, LIKE's own are escaped."""
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


def _unescape(value: str) -> str:
    """A query term without Lucene's backslash escapes (``a\\:b`` is ``a:b``)."""
    out, escaped = [], False
    for char in value:
        if escaped or char != "\\":
            out.append(char)
            escaped = False
        else:
            escaped = True
    return "".join(out)


def _solr_time(value: str, field_name: str) -> datetime | None:
    """A Solr date (``2024-01-01T00:00:00Z``, ``NOW`` or ``*``) as a UTC instant; None for ``*``."""
    if value == "*":
        return None
    if value.upper() == "NOW":
        return datetime.now(timezone.utc)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise SearchQueryError(f"{field_name}: {value!r} is not a date such as 2024-01-01T00:00:00Z") from None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


class QueryTranslator:
    """Turns a parsed Solr query into an SQL condition on `Dataset` rows."""

    def __init__(self, session: Session, view: CkanView) -> None:
        self.session = session
        self.view = view
        self.dialect = session.get_bind().dialect.name

    def condition(self, text: str) -> ColumnElement[bool]:
        """The SQL condition for one `q` or `fq` string (everything for an empty one)."""
        if not text.strip():
            return true()
        try:
            parsed = parse(text)
        except (ParseError, ValueError) as exc:
            raise SearchQueryError(f"cannot parse {text!r}: {exc}") from None
        return self._node(parsed, None)

    def _node(self, node: tree.Item, field_name: str | None) -> ColumnElement[bool]:
        if isinstance(node, (tree.AndOperation, tree.UnknownOperation)):
            return and_(*(self._node(child, field_name) for child in node.children))
        if isinstance(node, tree.OrOperation):
            return or_(*(self._node(child, field_name) for child in node.children))
        if isinstance(node, (tree.Not, tree.Prohibit)):
            return not_(self._node(node.a, field_name))
        if isinstance(node, (tree.Plus, tree.Group, tree.FieldGroup)):
            return self._node(node.children[0], field_name)
        if isinstance(node, tree.Boost):
            return self._node(node.expr, field_name)
        if isinstance(node, tree.SearchField):
            if node.name == "*" and isinstance(node.expr, tree.Word) and node.expr.value == "*":
                return true()
            return self._node(node.expr, node.name)
        if isinstance(node, tree.Range):
            return self._range(field_name, node.low.value, node.high.value, node.include_low, node.include_high)
        if isinstance(node, tree.From):
            return self._range(field_name, node.a.value, "*", node.include, True)
        if isinstance(node, tree.To):
            return self._range(field_name, "*", node.a.value, True, node.include)
        if isinstance(node, tree.Phrase):
            return self._term(field_name, _unescape(node.value[1:-1]), phrase=True)
        if isinstance(node, tree.Word):
            return self._term(field_name, _unescape(node.value), phrase=False)
        raise SearchQueryError(f"{node} is not supported here (fuzzy, proximity and regex queries are not)")

    def _range(self, field_name: str | None, low: str, high: str, include_low: bool,
               include_high: bool) -> ColumnElement[bool]:
        if field_name == "metadata_modified":
            column: Any = metadata_modified()
        elif field_name == "metadata_created":
            column = Dataset.first_seen
        else:
            raise SearchQueryError(f"ranges are supported on metadata_modified and metadata_created, not {field_name}")
        start, end = _solr_time(_unescape(low), field_name), _solr_time(_unescape(high), field_name)
        parts = []
        if start is not None:
            parts.append(column >= start if include_low else column > start)
        if end is not None:
            parts.append(column <= end if include_high else column < end)
        return and_(true(), *parts)

    def _term(self, field_name: str | None, value: str, phrase: bool) -> ColumnElement[bool]:
        wild = not phrase and ("*" in value or "?" in value)
        if field_name in (None, "text", "q"):
            return self._free_text(value if wild else f"*{value}*")
        if field_name in ("organization", "groups_organization"):
            return Dataset.publisher.like(_like(value), escape="\\") if wild else Dataset.publisher == value
        if field_name == "owner_org":
            publisher = self.view.publisher_of(self.session, value)
            return Dataset.publisher == publisher if publisher is not None else false()
        if field_name == "tags":
            return self._keyword(lambda kw: kw.like(_like(value), escape="\\") if wild else kw == value)
        if field_name == "res_format":
            return self._format(value)
        if field_name == "license_id":
            licence = Dataset.metadata_json["licence"].as_string()
            return licence.in_(licence_values(value))
        if field_name in ("name", "id"):
            return self._named(value)
        if field_name in ("title", "notes"):
            column = Dataset.title if field_name == "title" else Dataset.description
            return func.lower(column).like(_like(value.lower() if wild else f"*{value.lower()}*"), escape="\\")
        if field_name in ("metadata_modified", "metadata_created"):
            return self._range(field_name, value, value, True, True)
        constant = {"dataset_type": "dataset", "type": "dataset", "state": "active", "capacity": "public",
                    "private": "false", "site_id": None}
        if field_name in constant:
            return true() if constant[field_name] in (None, value.lower()) else false()
        if field_name == "groups":  # the portal has no CKAN groups: no dataset is in one
            return false()
        raise SearchQueryError(f"unknown field {field_name!r}")

    def _free_text(self, pattern: str) -> ColumnElement[bool]:
        like = _like(pattern.lower())
        name = func.lower(Dataset.publisher + "--" + Dataset.slug)
        return or_(func.lower(Dataset.title).like(like, escape="\\"),
                   func.lower(Dataset.description).like(like, escape="\\"),
                   name.like(like, escape="\\"),
                   self._keyword(lambda kw: func.lower(kw).like(like, escape="\\")))

    def keywords(self) -> TableValuedAlias:
        """The dataset's keywords as a table with one `value` column (JSON functions differ by database)."""
        if self.dialect == "postgresql":
            return func.json_array_elements_text(Dataset.metadata_json["keywords"]).table_valued("value")
        return func.json_each(Dataset.metadata_json, "$.keywords").table_valued("value")

    def _keyword(self, test: Callable[[Any], ColumnElement[bool]]) -> ColumnElement[bool]:
        keywords = self.keywords()
        return exists(select(1).select_from(keywords).where(test(keywords.c.value)))

    def _format(self, fmt: str) -> ColumnElement[bool]:
        types = media_types_of(fmt)
        suffix = f"%.{_like(fmt.lower())}"
        return exists(select(1).where(Resource.dataset_id == Dataset.id, or_(
            func.lower(Resource.media_type).in_(types),
            and_(Resource.media_type == "", func.lower(Resource.url).like(suffix, escape="\\")))))

    def _named(self, value: str) -> ColumnElement[bool]:
        dataset = self.view.lookup(self.session, value)
        return Dataset.id == dataset.id if dataset is not None else false()


def _order(sort: str) -> list[Any]:
    """SQL ORDER BY terms for a CKAN sort string, ending in the row id so that ties are stable."""
    terms: list[Any] = []
    columns: dict[str, Sequence[Any]] = {
        "metadata_modified": (metadata_modified(),), "metadata_created": (Dataset.first_seen,),
        "name": (Dataset.publisher, Dataset.slug), "title": (Dataset.title,), "title_string": (Dataset.title,),
        "id": (Dataset.id,),
    }
    for part in sort.split(","):
        words = part.split()
        if not words:
            continue
        if len(words) != 2 or words[1].lower() not in ("asc", "desc"):
            raise SearchQueryError(f"sort {part.strip()!r} must be a field and asc or desc")
        name, direction = words[0], words[1].lower()
        if name == "score":
            continue
        if name not in columns:
            raise SearchQueryError(f"cannot sort by {name!r}; known: {', '.join(sorted(columns))}, score")
        terms += [c.desc() if direction == "desc" else c.asc() for c in columns[name]]
    return [*terms, Dataset.id.asc()]


#: Result fields `fl` may ask for that the dataset row alone gives (no resources read).
_ROW_FIELDS = {"id", "name", "title", "metadata_modified", "metadata_created", "owner_org", "state", "type",
               "private", "notes", "url", "license_id"}


def package_search(view: CkanView, request: SearchRequest) -> dict[str, Any]:
    """CKAN's `package_search` result: count, one page of packages, sort, facets."""
    rows = max(0, min(request.rows, ROWS_MAX))
    sort = request.sort or DEFAULT_SORT
    with view.instance.session() as session:
        translator = QueryTranslator(session, view)
        where = and_(Dataset.status == "active", translator.condition(request.q), translator.condition(request.fq))
        order = _order(sort)
        count = session.scalar(select(func.count()).select_from(Dataset).where(where)) or 0
        if request.fl and set(request.fl) <= {"id", "name"}:  # an id listing: three columns, no dicts
            named = list(session.execute(select(Dataset.id, Dataset.publisher, Dataset.slug).where(where)
                                         .order_by(*order).limit(rows).offset(request.start))) if rows else []
            packages = [{"id": package_id(view.uris, row_id, publisher, slug),
                         "name": package_name(publisher, slug, row_id)} for row_id, publisher, slug in named]
        else:
            datasets = list(session.scalars(select(Dataset).where(where).order_by(*order)
                                            .limit(rows).offset(request.start))) if rows else []
            if request.fl and set(request.fl) <= _ROW_FIELDS:
                packages = [view.package(d, []) for d in datasets]
            else:
                packages = view.packages(session, datasets)
        if request.fl:
            packages = [{k: p[k] for k in request.fl if k in p} for p in packages]
        facets = {name: _facet(session, translator, where, name, request.facet_limit)
                  for name in request.facet_fields}
    return {
        "count": count,
        "sort": sort,
        "results": packages,
        "facets": {name: {value: n for value, n, _ in items} for name, items in facets.items()},
        "search_facets": {name: {"title": name, "items": [
            {"name": value, "display_name": title, "count": n} for value, n, title in items]}
            for name, items in facets.items()},
    }


def _facet(session: Session, translator: QueryTranslator, where: ColumnElement[bool], name: str,
           limit: int) -> list[tuple[str, int, str]]:
    """The most frequent values of one facet among the matching datasets: (value, datasets, title)."""
    if name not in FACETS:
        raise SearchQueryError(f"cannot count facet {name!r}; known: {', '.join(FACETS)}")
    matching = select(Dataset.id).where(where).scalar_subquery()
    counts: dict[str, int] = {}
    titles: dict[str, str] = {}
    if name == "organization":
        for value, title, n in session.execute(select(Dataset.publisher, func.max(Dataset.publisher_name),
                                                      func.count()).where(where).group_by(Dataset.publisher)):
            counts[value], titles[value] = int(n), title or value
    elif name == "license_id":
        licence = Dataset.metadata_json["licence"].as_string()
        for value, n in session.execute(select(licence, func.count()).where(where).group_by(licence)):
            key = licence_of(value).id
            counts[key] = counts.get(key, 0) + int(n)
    elif name == "tags":
        keywords = translator.keywords()
        for value, n in session.execute(select(keywords.c.value, func.count(func.distinct(Dataset.id)))
                                        .select_from(Dataset).join(keywords, true())
                                        .where(Dataset.id.in_(matching)).group_by(keywords.c.value)):
            counts[str(value)] = int(n)
    else:  # res_format: datasets with at least one resource of the format
        seen: set[tuple[str, int]] = set()
        for media, url, dataset_id in session.execute(select(
                Resource.media_type, Resource.url, Resource.dataset_id).where(Resource.dataset_id.in_(matching))):
            key = format_of(media, url)
            if key and (key, dataset_id) not in seen:
                seen.add((key, dataset_id))
                counts[key] = counts.get(key, 0) + 1
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return [(value, n, titles.get(value, value)) for value, n in ranked]


__all__ = ["DEFAULT_SORT", "FACETS", "ROWS_MAX", "SearchQueryError", "SearchRequest", "package_search"]
