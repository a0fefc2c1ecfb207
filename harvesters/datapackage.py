"""Frictionless Data Packages (``datapackage.json``, v1 and v2) → one dataset record per package.

Each resource becomes a `HarvestedResource` carrying its Table Schema and Table Dialect as
``frictionless.Schema`` / ``frictionless.Dialect`` objects. A schema or dialect given by URL or
relative path is fetched here, through the egress client, and handed to frictionless as a plain
dict: frictionless itself never opens a URL or a file.

The descriptor is checked against the official Data Package profile for the version it declares
(bundled in ``harvesters/profiles/``, never fetched). Errors in the package itself make the
source unreadable (`SourceError`, each error located: ``resources[2].name``, ``created``); an
error confined to one resource (its schema, its dialect, its path) drops that resource only and
is yielded as a `ListingProblem` after the record.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib import resources as package_files
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import isodate
import jsonschema
from frictionless import Dialect, FrictionlessException, Schema

from harvesters.base import HarvestedDataset, HarvestedResource, HarvesterBase, ListingItem, ListingProblem
from harvesters.datajson import NOTES_KEY, PROBLEMS_KEY, parse_when
from harvesters.fetch import read_bytes
from portal.errors import SourceError

if TYPE_CHECKING:
    from portal.egress import Egress

log = logging.getLogger(__name__)

#: Largest referenced Table Schema or Table Dialect document fetched.
MAX_REFERENCE_BYTES = 5 * 1024 * 1024
#: Keys Lodestar adds to `extras`.
VERSION_KEY = "lodestar:datapackage-version"
INLINE_KEY = "lodestar:inline-resources"
PART_KEY = "lodestar:part"

_PACKAGE_MAPPED = frozenset({"name", "title", "description", "licenses", "license", "keywords", "homepage",
                             "created", "modified", "resources"})
_RESOURCE_MAPPED = frozenset({"name", "path", "title", "description", "mediatype", "format", "bytes",
                              "schema", "dialect", "licenses"})

#: Fetches a referenced JSON document (schema or dialect) by absolute URL: its parsed object.
FetchJson = Callable[[str], Any]


def descriptor_url(url: str) -> str:
    """The descriptor's URL: `url` itself when it names a ``.json`` file, else ``datapackage.json`` in that folder."""
    if urlsplit(url).path.lower().endswith(".json"):
        return url
    return urljoin(url if url.endswith("/") else url + "/", "datapackage.json")


def load_json(data: bytes, url: str) -> Any:
    """Parse a JSON document; a syntax error becomes a `SourceError` with its line and column."""
    try:
        return json.loads(data)
    except json.JSONDecodeError as exc:
        raise SourceError(f"{url}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from exc
    except UnicodeDecodeError as exc:
        raise SourceError(f"{url}: not valid JSON: {exc}") from exc


def version_of(descriptor: Mapping[str, Any]) -> str:
    """The Data Package Standard version a descriptor claims: "2.0" for a v2 ``$schema``, else "1.0"."""
    claimed = descriptor.get("$schema")
    if isinstance(claimed, str) and "/profiles/2." in urlsplit(claimed).path and \
            urlsplit(claimed).netloc.endswith("datapackage.org"):
        return "2.0"
    return "1.0"


@cache
def _validator(version: str) -> jsonschema.Draft7Validator:
    text = (package_files.files("harvesters") / "profiles" / f"datapackage-{version}.json").read_text("utf-8")
    checker = jsonschema.FormatChecker()
    checker.checks("date-time", raises=(ValueError, TypeError, isodate.ISO8601Error))(_is_datetime)
    return jsonschema.Draft7Validator(json.loads(text), format_checker=checker)


def _is_datetime(value: object) -> bool:
    if isinstance(value, str):
        isodate.parse_datetime(value)  # RFC 3339 date-times are ISO 8601 ones
    return True


def where(path: Sequence[str | int]) -> str:
    """A descriptor location as ``resources[2].schema.fields[0].type``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(descriptor)"


@dataclass
class Located:
    """The profile's complaints about one descriptor, sorted by where they are."""

    package: list[str] = field(default_factory=list)
    resource: dict[int, list[str]] = field(default_factory=dict)  # the resource itself is unusable
    schema: dict[int, list[str]] = field(default_factory=dict)  # its schema (or dialect) is


def check_descriptor(descriptor: Mapping[str, Any], version: str) -> Located:
    """Validate a descriptor against its version's profile and sort the errors by location."""
    found = Located()
    for error in sorted(_validator(version).iter_errors(descriptor), key=lambda e: [str(p) for p in e.path]):
        path = list(error.absolute_path)
        if version == "1.0" and path[-1:] == ["dialect"] and error.validator == "required":
            # The v1 profile requires `delimiter` and `doubleQuote`, but the CSV Dialect spec gives
            # every property a default and the profile's own example omits `doubleQuote`.
            continue
        message = f"{where(path)}: {error.message}"
        if error.context:  # oneOf / anyOf: say what the alternatives wanted
            reasons = list(dict.fromkeys(sub.message for sub in error.context))
            best = jsonschema.exceptions.best_match(error.context)
            message += " (" + ("; ".join(reasons) if len(reasons) <= 3 else (best.message if best else "")) + ")"
        if len(path) >= 2 and path[0] == "resources" and isinstance(path[1], int):
            bucket = found.schema if len(path) >= 3 and path[2] in ("schema", "dialect") else found.resource
            bucket.setdefault(path[1], []).append(message)
        else:
            found.package.append(message)
    names: dict[str, int] = {}
    for n, resource in enumerate(descriptor.get("resources") or []):
        name = resource.get("name") if isinstance(resource, dict) else None
        if isinstance(name, str):
            if name in names:
                found.package.append(f"resources[{n}].name: {name!r} is also the name of resources[{names[name]}]"
                                     f" (resource names must be unique)")
            names.setdefault(name, n)
    return found


def _reference(base: str, ref: str) -> str:
    """The absolute URL of a path or URL in the descriptor; refuses what would leave the package's place."""
    parts = urlsplit(ref)
    if parts.scheme.lower() in ("http", "https"):
        return ref
    if parts.scheme or ref.startswith(("/", "~")) or ".." in ref.split("/"):
        raise SourceError(f"{ref!r} is not a URL nor a relative path inside the package")
    return urljoin(base, ref)


def _frictionless(kind: type[Schema] | type[Dialect], descriptor: Any, label: str) -> Any:
    """A frictionless object from a descriptor dict (a copy: frictionless rewrites what it reads)."""
    if not isinstance(descriptor, dict):
        raise SourceError(f"{label} is a JSON object, not {type(descriptor).__name__}")
    try:
        return kind.from_descriptor(copy.deepcopy(descriptor))
    except FrictionlessException as exc:
        notes = [r.note for r in exc.reasons] or [exc.error.note]
        raise SourceError(f"{label} is not valid: " + "; ".join(notes)) from exc


@dataclass
class _Resolved:
    """A resource's schema and dialect descriptors, fetched if referenced, with their URLs."""

    schema: Any = None
    schema_url: str | None = None
    dialect: Any = None
    problems: list[str] = field(default_factory=list)


def _resolve(resource: Mapping[str, Any], base: str, fetch_json: FetchJson) -> _Resolved:
    resolved = _Resolved(schema=resource.get("schema"), dialect=resource.get("dialect"))
    for key in ("schema", "dialect"):
        ref = resource.get(key)
        if not isinstance(ref, str):
            continue
        try:
            url = _reference(base, ref)
            setattr(resolved, key, fetch_json(url))
            if key == "schema":
                resolved.schema_url = url
        except SourceError as exc:
            resolved.problems.append(f"{key} {ref!r}: {exc}")
    return resolved


def _publisher(contributors: Any) -> tuple[str, str | None, str | None]:
    """Name, URL and e-mail of the publisher: the contributor in the publisher role, else the first organisation."""
    people = [c for c in contributors if isinstance(c, dict)] if isinstance(contributors, list) else []

    def roles(c: dict[str, Any]) -> list[str]:
        given = c.get("roles", c.get("role", []))  # v2: roles (list); v1: role (string)
        return [given] if isinstance(given, str) else [r for r in given if isinstance(r, str)]

    chosen = next((c for c in people if "publisher" in roles(c)), None) or next(
        (c for c in people if c.get("organization")), None)
    if chosen is None:
        return "", None, None
    name = chosen.get("organization") if "publisher" not in roles(chosen) else (
        chosen.get("title") or chosen.get("organization"))
    path = chosen.get("path")
    return (str(name or ""), path if isinstance(path, str) and path.startswith(("http://", "https://")) else None,
            chosen.get("email") if isinstance(chosen.get("email"), str) else None)


def _first_licence(value: Any) -> str | None:
    licences = value if isinstance(value, list) else [value] if value else []
    for licence in licences:
        if isinstance(licence, dict) and (given := licence.get("path") or licence.get("url") or licence.get("name")):
            return str(given)
        if isinstance(licence, str) and licence:
            return licence
    return None


def _parts(resource: Mapping[str, Any], index: int, base: str, resolved: _Resolved, schema: Any,
           dialect: Any) -> list[HarvestedResource]:
    """One `HarvestedResource` per file of the resource (a multi-part resource has several)."""
    paths = resource["path"] if isinstance(resource["path"], list) else [resource["path"]]
    name = str(resource.get("name") or f"resource-{index + 1}")
    extras = {k: v for k, v in resource.items() if k not in _RESOURCE_MAPPED}
    if isinstance(resource.get("licenses"), list) and len(resource["licenses"]) > 1:
        extras["licenses"] = resource["licenses"]
    later_dialect = dialect
    if len(paths) > 1 and (dialect is None or dialect.header):
        # Parts after the first continue the first one's table: they carry no header row.
        base_descriptor = dialect.to_descriptor() if dialect is not None else {}
        later_dialect = Dialect.from_descriptor({**base_descriptor, "header": False})
    out = []
    for k, path in enumerate(paths):
        part_extras = dict(extras)
        if len(paths) > 1:
            part_extras[PART_KEY] = f"{k + 1}/{len(paths)}"
        title = str(resource.get("title") or name)
        out.append(HarvestedResource(
            url=_reference(base, path), title=title if len(paths) == 1 else f"{title} (part {k + 1} of {len(paths)})",
            media_type=str(resource.get("mediatype") or ""), format=str(resource.get("format") or ""),
            identifier=name if len(paths) == 1 else f"{name}#{k + 1}", schema=resolved.schema_url,
            table_schema=schema, dialect=dialect if k == 0 else later_dialect,
            description=str(resource.get("description") or ""), licence=_first_licence(resource.get("licenses")),
            byte_size=resource["bytes"] if isinstance(resource.get("bytes"), int) and len(paths) == 1 else None,
            extras=part_extras))
    return out


def _refuse_invalid_package(located: Located, url: str, version: str) -> None:
    if located.package:
        raise SourceError(f"{url}: the Data Package descriptor is not valid (profile {version}): "
                          + "; ".join(located.package))


def package_items(descriptor: Any, url: str, fetch_json: FetchJson) -> Iterator[ListingItem]:
    """The record of one Data Package descriptor, then a `ListingProblem` for each resource left out.

    Raises `SourceError` (every error located) when the package descriptor itself is not valid.
    """
    if not isinstance(descriptor, dict):
        raise SourceError(f"{url}: a Data Package descriptor is a JSON object, not {type(descriptor).__name__}")
    version = version_of(descriptor)
    located = check_descriptor(descriptor, version)
    _refuse_invalid_package(located, url, version)  # before fetching anything
    raw_resources = descriptor["resources"]
    assert isinstance(raw_resources, list)  # the profile requires it
    resolved = [_resolve(r, url, fetch_json) if isinstance(r, dict) else _Resolved() for r in raw_resources]
    if any(isinstance(r.get(key), str) for r in raw_resources if isinstance(r, dict)
           for key in ("schema", "dialect")):
        # Validate again with the referenced schemas and dialects in place, so that their errors are located too.
        checked = dict(descriptor, resources=[
            {**r, **({"schema": x.schema} if isinstance(x.schema, dict) else {}),
             **({"dialect": x.dialect} if isinstance(x.dialect, dict) else {})} if isinstance(r, dict) else r
            for r, x in zip(raw_resources, resolved)])
        located = check_descriptor(checked, version)
    publisher_name, publisher_uri, email = _publisher(descriptor.get("contributors"))
    identifier = str(descriptor.get("name") or descriptor.get("id") or url)
    extras: dict[str, Any] = {k: v for k, v in descriptor.items() if k not in _PACKAGE_MAPPED}
    extras[VERSION_KEY] = version
    claimed = descriptor.get("$schema", descriptor.get("profile"))
    if isinstance(claimed, str) and claimed.startswith(("http://", "https://")) and \
            not urlsplit(claimed).netloc.endswith(("datapackage.org", "specs.frictionlessdata.io")):
        extras.setdefault(NOTES_KEY, []).append(
            f"the custom profile {claimed} is not fetched; checked against the Data Package {version} profile")
    if isinstance(descriptor.get("licenses"), list) and len(descriptor["licenses"]) > 1:
        extras["licenses"] = descriptor["licenses"]
    record = HarvestedDataset(
        identifier=identifier, title=str(descriptor.get("title") or identifier),
        description=str(descriptor.get("description") or ""),
        uri=descriptor["id"] if str(descriptor.get("id", "")).startswith(("http://", "https://")) else None,
        publisher_name=publisher_name, publisher_uri=publisher_uri,
        landing_page=descriptor.get("homepage") if isinstance(descriptor.get("homepage"), str) else None,
        licence=_first_licence(descriptor.get("licenses") or descriptor.get("license")),
        keywords=[str(k) for k in descriptor.get("keywords") or [] if isinstance(k, (str, int, float))],
        issued=parse_when(descriptor.get("created")), modified=parse_when(descriptor.get("modified")),
        contact_email=email, extras=extras)
    problems: list[ListingProblem] = []
    for n, (resource, refs) in enumerate(zip(raw_resources, resolved)):
        if not isinstance(resource, dict):
            problems.append(ListingProblem(f"{url} resources[{n}]", "resource not harvested: "
                                           + "; ".join(located.resource.get(n, ["not a JSON object"]))))
            continue
        label = f"{url} resources[{n}]" + (f" ({resource['name']})" if isinstance(resource.get("name"), str) else "")
        complaints = located.resource.get(n, []) + refs.problems + located.schema.get(n, [])
        if "path" not in resource and "data" in resource and not complaints:
            extras.setdefault(INLINE_KEY, []).append(resource)
            extras.setdefault(NOTES_KEY, []).append(
                f"resources[{n}] holds its data inline: kept here, not downloadable")
            continue
        try:
            if complaints:
                raise SourceError("; ".join(complaints))
            schema = None if refs.schema is None else _frictionless(Schema, refs.schema, "the schema")
            dialect = None if refs.dialect is None else _frictionless(Dialect, refs.dialect, "the dialect")
            record.resources.extend(_parts(resource, n, url, refs, schema, dialect))
        except SourceError as exc:
            problems.append(ListingProblem(label, f"resource not harvested: {exc}"))
    if problems:
        extras[PROBLEMS_KEY] = [f"{p.where}: {p.message}" for p in problems]
    yield record
    yield from problems


class DataPackageHarvester(HarvesterBase):
    """Harvests one Frictionless Data Package (``datapackage.json``, or the folder that holds it)."""

    kind = "datapackage"
    options: tuple[str, ...] = ()

    def _fetch_json(self, url: str) -> Any:
        data, _ = read_bytes(url, timeout=self.timeout, max_bytes=min(self.max_bytes, MAX_REFERENCE_BYTES),
                             egress=self.egress)
        return load_json(data, url)

    def gather(self, url: str, *, options: Mapping[str, Any] | None = None,
               since: datetime | None = None) -> Iterator[ListingItem]:
        """Read the descriptor and its referenced schemas and dialects; yield the package's record."""
        url = descriptor_url(url)
        data, _ = read_bytes(url, timeout=self.timeout, max_bytes=self.max_bytes, egress=self.egress)
        descriptor = load_json(data, url)
        local = url.lower().startswith("file:")
        fetched: dict[str, Any] = {}  # a schema shared by many resources is fetched once

        def fetch_json(ref: str) -> Any:
            if ref.lower().startswith("file:") and not local:
                raise SourceError("a remote package may not point at local files")
            if ref not in fetched:
                fetched[ref] = self._fetch_json(ref)
            return fetched[ref]

        yield from package_items(descriptor, url, fetch_json)
