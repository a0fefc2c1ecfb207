"""The generated CKAN catalogue behind `bench.ckan_portal`: packages from real recorded shapes, search, faults.

Provenance: every package is a copy of a real package recorded from a CKAN Action API, read from
``../shared/samples/ckan/`` (see ``samples/README.md`` there): demo.ckan.org (fixtures of
Amsterdam/dcatd), EnviDat (fixtures of malkreide/wsl-envidat-mcp), dados.gov.br (response bodies
from frictionless-py's cassettes) and the City of Toronto (a git-scrape by
benwebber/open-data-toronto-street-tree-data). Package *i* is recorded package *i mod n* with its
own id, name, ``metadata_modified`` (one minute after package *i - 1*) and resources, whose URLs
point at small CSV files the portal serves.
"""

from __future__ import annotations

import copy
import json
import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from harvesters.ckan_packages import parse_time

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples" / "ckan"
ALWAYS = 1 << 30  # a fault's count that never runs out
_NAMESPACE = uuid.UUID("1b7c3f0e-8f6a-4b0e-9a3e-2f1d0c4b5a69")
_EPOCH = datetime(2024, 1, 1, tzinfo=timezone.utc)


def recorded_packages(folder: Path = SAMPLES) -> list[dict[str, Any]]:
    """Every distinct package dictionary in the recorded answers (search results and package_show)."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob("*.json")):
        answer = json.loads(path.read_text(encoding="utf-8"))
        result = answer.get("result", answer) if isinstance(answer, dict) and "success" in answer else answer
        if isinstance(result, dict) and isinstance(result.get("results"), list):
            packages = result["results"]
        elif isinstance(result, dict) and "resources" in result and "name" in result:
            packages = [result]
        else:
            continue  # package_list, organization_list, organization_show
        for package in packages:
            found.setdefault(package["id"], package)
    return list(found.values())


@dataclass
class Faults:
    """What goes wrong, per ``package_search`` page (keyed by the page's ``start``); counts run down."""

    hang: dict[int, int] = field(default_factory=dict)  # answer only after `hang_seconds`
    hang_seconds: float = 5.0
    status: dict[int, tuple[int, int | None, int]] = field(default_factory=dict)  # (status, Retry-After, times)
    truncate: dict[int, int] = field(default_factory=dict)  # send half the body, then close
    fail: dict[int, int] = field(default_factory=dict)  # HTTP 500 with an HTML page
    repeat: dict[int, int] = field(default_factory=dict)  # start asked → start served instead
    oversize: dict[int, int] = field(default_factory=dict)  # pad the answer with this many bytes
    count_change: dict[int, int] = field(default_factory=dict)  # from this page on, count is off by this
    empty: bool = False  # the portal lists nothing
    unsearchable: set[str] = field(default_factory=set)  # fields q/fq may not name (Search Query Error)

    def take(self, table: dict[int, int], start: int) -> bool:
        """True (and one fewer left) when `table` holds a fault for the page at `start`."""
        left = table.get(start, 0)
        if left <= 0:
            return False
        table[start] = left - 1
        return True


class SearchQueryError(Exception):
    """A ``q``/``fq``/``sort`` this server does not understand (CKAN: "Search Query Error", 400)."""


def parse_filters(text: str) -> list[tuple[str, str]]:
    """Solr clauses ``field:value``, ``field:"value"``, ``field:[A TO B]`` joined by spaces/AND/``+``."""
    clauses, i, n = [], 0, len(text)
    while i < n:
        if text[i].isspace() or text[i] == "+":
            i += 1
            continue
        if text.startswith("AND", i) and (i + 3 == n or text[i + 3].isspace()):
            i += 3
            continue
        colon = text.find(":", i)
        if colon < 0 or any(c.isspace() for c in text[i:colon]):
            word_end = next((j for j in range(i, n) if text[j].isspace()), n)
            clauses.append(("text", text[i:word_end]))
            i = word_end
            continue
        name, i = text[i:colon], colon + 1
        if i < n and text[i] == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise SearchQueryError(f"unbalanced quote in {text!r}")
            value, i = text[i + 1:end], end + 1
        elif i < n and text[i] in "[{":
            end = next((j for j in range(i, n) if text[j] in "]}"), -1)
            if end < 0:
                raise SearchQueryError(f"unbalanced range in {text!r}")
            value, i = text[i:end + 1], end + 1
        else:
            end = next((j for j in range(i, n) if text[j].isspace()), n)
            value, i = text[i:end], end
        if name in ("OR", "NOT") or value in ("OR", "NOT"):
            raise SearchQueryError("only AND is supported")
        clauses.append((name, value))
    return clauses


def _range(value: str) -> tuple[datetime | None, datetime | None]:
    inner = value[1:-1].split(" TO ")
    if len(inner) != 2:
        raise SearchQueryError(f"not a range: {value!r}")

    def bound(text: str) -> datetime | None:
        text = text.strip()
        if text == "*":
            return None
        parsed = parse_time(text)
        if parsed is None:
            raise SearchQueryError(f"not a date: {text!r}")
        return parsed

    return bound(inner[0]), bound(inner[1])


class LoopbackCkan:
    """The portal's state: generated packages, their changes, faults, and what was asked."""

    def __init__(self, packages: int, *, templates: list[dict[str, Any]] | None = None,
                 resources_per_package: int | None = 2, epoch: datetime = _EPOCH) -> None:
        self.templates = templates if templates is not None else recorded_packages()
        self.size, self.resources_per_package, self.epoch = packages, resources_per_package, epoch
        self.faults = Faults()
        self.base_url = "http://127.0.0.1"
        self.calls: Counter[str] = Counter()
        self.authorizations: list[str | None] = []  # the Authorization header of each API call
        self.searches: list[tuple[float, int, dict[str, str]]] = []  # (time, status, params)
        self.resource_bodies = 0  # resource GETs answered with a body
        self.resource_not_modified = 0  # resource GETs answered 304
        self._modified: dict[int, datetime] = {}
        self._versions: Counter[int] = Counter()
        self._removed: set[int] = set()
        self._lock = threading.Lock()
        self.stopping = threading.Event()

    # -- the packages ---------------------------------------------------------------------------

    def template(self, i: int) -> dict[str, Any]:
        """The recorded package that package `i` copies."""
        return self.templates[i % len(self.templates)]

    def package_id(self, i: int) -> str:
        """Package `i`'s id (a UUID, as CKAN's)."""
        return str(uuid.uuid5(_NAMESPACE, f"package-{i}"))

    def package_name(self, i: int) -> str:
        """Package `i`'s name (unique; CKAN names are at most 100 characters)."""
        return f"{self.template(i)['name'][:80]}-{i}"

    def organization(self, i: int) -> str | None:
        """The name of package `i`'s organisation, if it has one."""
        org = self.template(i).get("organization")
        return org.get("name") if isinstance(org, dict) else None

    def modified(self, i: int) -> datetime:
        """Package `i`'s ``metadata_modified``."""
        return self._modified.get(i, self.epoch + timedelta(minutes=i))

    def touch(self, i: int, when: datetime, *, content: bool = False) -> None:
        """Edit package `i` at `when` (its metadata; with `content`, its resource files too)."""
        with self._lock:
            self._modified[i] = when
            if content:
                self._versions[i] += 1

    def remove(self, i: int) -> None:
        """Delete package `i` from the portal."""
        with self._lock:
            self._removed.add(i)

    def listed(self) -> list[int]:
        """The indexes of the packages the portal lists now."""
        if self.faults.empty:
            return []
        return [i for i in range(self.size) if i not in self._removed]

    def package(self, i: int) -> dict[str, Any]:
        """Package `i` as ``package_show`` gives it."""
        package = copy.deepcopy(self.template(i))
        package_id = package["id"] = self.package_id(i)
        package["name"] = self.package_name(i)
        package["metadata_created"] = self.epoch.replace(tzinfo=None).isoformat()
        package["metadata_modified"] = self.modified(i).astimezone(timezone.utc).replace(tzinfo=None).isoformat()
        resources = package.get("resources") or []
        if self.resources_per_package is not None:
            resources = resources[: self.resources_per_package]
        for pos, resource in enumerate(resources):
            resource["id"] = str(uuid.uuid5(_NAMESPACE, f"resource-{i}-{pos}"))
            resource["package_id"] = package_id
            resource["url"] = f"{self.base_url}/files/{i}/{pos}.csv"
        package["resources"] = resources
        package["num_resources"] = len(resources)
        return package

    def file(self, i: int, pos: int) -> bytes:
        """The CSV served for resource `pos` of package `i`."""
        version = self._versions[i]
        return (f"id,package,resource,version\n1,{self.package_name(i)},{pos},{version}\n"
                f"2,{self.package_name(i)},{pos},{version}\n").encode()

    # -- the actions ----------------------------------------------------------------------------

    def search(self, params: dict[str, str]) -> dict[str, Any]:
        """``package_search``: the indexes matching, sorted, one page of them."""
        indexes = self.listed()
        for name, value in parse_filters(params.get("q", "*:*")) + parse_filters(params.get("fq", "")):
            indexes = self._filter(indexes, name, value)
        keys = [part.split() for part in params.get("sort", "score desc, metadata_modified desc").split(",")]
        for key in reversed(keys):  # stable sorts, last key first
            if len(key) != 2 or key[1] not in ("asc", "desc"):
                raise SearchQueryError(f"bad sort {params.get('sort')!r}")
            sort_key: Any = {"metadata_modified": self.modified, "id": self.package_id,
                             "name": self.package_name, "score": lambda i: 0}.get(key[0])
            if sort_key is None:
                raise SearchQueryError(f"cannot sort on {key[0]!r}")
            indexes = sorted(indexes, key=sort_key, reverse=key[1] == "desc")
        try:
            rows, start = min(int(params.get("rows", 10)), 1000), int(params.get("start", 0))
        except ValueError as exc:
            raise SearchQueryError(str(exc)) from exc
        page = indexes[start:start + rows]
        fields = [f for f in params.get("fl", "").replace(",", " ").split() if f]
        if fields:
            results = [{f: v for f, v in (("id", self.package_id(i)), ("name", self.package_name(i)),
                                          ("metadata_modified", self.modified(i).isoformat()))
                        if f in fields} for i in page]
        else:
            results = [self.package(i) for i in page]
        return {"count": len(indexes), "sort": params.get("sort"), "facets": {}, "search_facets": {},
                "results": results}

    def _filter(self, indexes: list[int], name: str, value: str) -> list[int]:
        if name in self.faults.unsearchable:
            raise SearchQueryError(f"cannot search on {name}")
        if name == "text" and value in ("*:*", "*"):
            return indexes
        if name == "*" and value == "*":
            return indexes
        if name == "organization":
            return [i for i in indexes if self.organization(i) == value]
        if name in ("id", "name"):
            getter = self.package_id if name == "id" else self.package_name
            return [i for i in indexes if getter(i) == value]
        if name == "capacity" and value == "public":
            return indexes
        if name == "metadata_modified":
            low, high = _range(value)
            return [i for i in indexes if (low is None or self.modified(i) >= low)
                    and (high is None or self.modified(i) <= high)]
        raise SearchQueryError(f"cannot search on {name}:{value}")

    def show(self, ident: str) -> dict[str, Any] | None:
        """``package_show`` by id or name."""
        for i in self.listed():
            if ident in (self.package_id(i), self.package_name(i)):
                return self.package(i)
        return None

    def organizations(self, all_fields: bool) -> list[Any]:
        """``organization_list``."""
        counts = Counter(org for i in self.listed() if (org := self.organization(i)))
        if not all_fields:
            return sorted(counts)
        titles = {t["organization"]["name"]: t["organization"].get("title") for t in self.templates
                  if isinstance(t.get("organization"), dict)}
        return [{"name": name, "title": titles.get(name) or name, "package_count": counts[name],
                 "is_organization": True, "type": "organization", "state": "active"} for name in sorted(counts)]


