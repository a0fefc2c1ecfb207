"""DCAT-US (Project Open Data) ``data.json`` catalogues → dataset records.

Two shapes are read, told apart by the document itself, never by its URL:

- v1.1: a catalogue object (``"@type": "dcat:Catalog"``, ``"conformsTo":
  "https://project-open-data.cio.gov/v1.1/schema"``) whose ``dataset`` array holds the entries;
- v1.0: the legacy bare array of entries (Socrata published these in 2013), with ``accessURL``,
  ``webService``, ``mbox``, a publisher string and ``distribution[].formats[]``.

The document is downloaded to a temporary file under the source's size cap and read with
``ijson``: one pass checks the whole document's syntax and sniffs its shape, a second yields the
entries one at a time, so no more than one entry is held as Python objects.

Only datasets whose ``accessLevel`` is ``public`` (any case; missing counts as public) are
yielded: a portal republishes what its sources publish openly, and a dataset turned
``restricted public`` or ``non-public`` drops out of the listing like one that was deleted.

``accessLevel`` also becomes the record's access right, as its EU access-right concept (``public``
→ ``…/access-right/PUBLIC``); ``spatial`` (text, or a GeoJSON object) its place, ``temporal``
(an ISO 8601 interval ``start/end``, either side possibly a duration) its period, and ``rights``
its rights statement. These fields stay in ``extras`` as given too. A v1.1 distribution that gives
only an ``accessURL`` is an access URL, not a download; in v1.0 ``accessURL`` was the download.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urlsplit

import ijson
import isodate

from harvesters.base import (
    HarvestedDataset, HarvestedResource, HarvesterBase, ListingItem, ListingProblem, access_right_of_level, iso_when,
)
from harvesters.fetch import fetch
from portal.errors import SourceError

if TYPE_CHECKING:
    from portal.egress import Egress

log = logging.getLogger(__name__)

#: The `conformsTo` of a DCAT-US v1.1 catalogue.
V11_SCHEMA = "https://project-open-data.cio.gov/v1.1/schema"
#: Keys Lodestar adds to a record's `extras` (the source's own keys never contain a colon).
VERSION_KEY = "lodestar:dcat-us-version"
PROBLEMS_KEY = "lodestar:problems"
NOTES_KEY = "lodestar:notes"

#: Entry fields that have a home in `HarvestedDataset`; every other field goes to `extras` as given.
_MAPPED = frozenset({
    "@type", "identifier", "title", "description", "keyword", "modified", "issued", "publisher",
    "license", "theme", "language", "landingPage", "distribution", "accrualPeriodicity",
})
_DIST_MAPPED = frozenset({"@type", "downloadURL", "mediaType", "format", "formats", "title", "description"})
_UTF8_BOM = b"\xef\xbb\xbf"


@dataclass
class CatalogShape:
    """What the first pass learnt about a data.json document: its version and where its entries are."""

    version: str  # "1.1" (catalogue object) or "1.0" (bare array)
    prefix: str  # the ijson prefix of the entries: "item" or "dataset.item"
    fields: dict[str, Any] = field(default_factory=dict)  # the catalogue object's own scalar fields
    notes: list[str] = field(default_factory=list)


def _located(url: str, fh: IO[bytes], start: int, exc: Exception) -> SourceError:
    """The syntax error as `line L, column C` from the stdlib parser (error path only: it reads the text)."""
    fh.seek(start)
    try:
        json.loads(fh.read().decode("utf-8", "replace"))
    except json.JSONDecodeError as located:
        return SourceError(f"{url}: not valid JSON at line {located.lineno}, column {located.colno}: "
                           f"{located.msg}")
    return SourceError(f"{url}: not valid JSON: {str(exc).splitlines()[0]}")


def sniff(fh: IO[bytes], url: str = "data.json") -> CatalogShape:
    """Read the whole document once (checking its syntax) and tell its version from its shape.

    `fh` must be seekable and is left where the JSON starts (after a UTF-8 byte order mark).
    """
    start = 3 if fh.read(3) == _UTF8_BOM else 0
    fh.seek(start)
    root: str | None = None
    fields: dict[str, Any] = {}
    dataset_event: str | None = None
    try:
        for prefix, event, value in ijson.parse(fh, use_float=True):
            if root is None:
                root = event
            elif root == "start_map" and prefix and "." not in prefix:
                if prefix == "dataset" and dataset_event is None:
                    dataset_event = event
                elif event in ("string", "number", "boolean", "null") and prefix not in fields:
                    fields[prefix] = value
    except ijson.JSONError as exc:
        raise _located(url, fh, start, exc) from exc
    fh.seek(start)
    if root == "start_array":
        return CatalogShape("1.0", "item")
    if root != "start_map":
        raise SourceError(f"{url}: a data.json document is a catalogue object or an array of datasets, "
                          f"not a single JSON {'value' if root is None else root}")
    if dataset_event != "start_array":
        raise SourceError(f"{url}: a JSON object without a `dataset` array is not a DCAT-US catalogue")
    shape = CatalogShape("1.1", "dataset.item", fields)
    conforms = fields.get("conformsTo")
    if not isinstance(conforms, str) or _same_schema(conforms) != _same_schema(V11_SCHEMA):
        shape.notes.append(f"the catalogue declares conformsTo {conforms!r}, not {V11_SCHEMA}; "
                           f"read as v1.1 from its shape")
    return shape


def _same_schema(uri: str) -> str:
    parts = urlsplit(uri.strip())
    return parts.netloc.lower() + parts.path.rstrip("/")


# -- values ------------------------------------------------------------------------------------------

def parse_when(value: Any) -> datetime | None:
    """An ISO 8601 date or date-time (also a partial date: ``2013``, ``2013-08``) as an aware datetime.

    A partial date stands for its first day; a time without an offset is read as UTC. Anything
    else (a repeating duration, free text) gives None.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        parsed: datetime | date = isodate.parse_datetime(text) if "T" in text else isodate.parse_date(text)
    except (isodate.ISO8601Error, ValueError):
        try:
            parsed = datetime.fromisoformat(text)  # "2013-08-28 10:00:00", as some exports write it
        except ValueError:
            return None
    if not isinstance(parsed, datetime):
        parsed = datetime(parsed.year, parsed.month, parsed.day)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def frequency_problem(value: str) -> str | None:
    """Why `value` is not a DCAT-US accrualPeriodicity (``R/P1D``, ``R/PT1H``, ``irregular`` …); None if it is.

    The repetition designator (``R`` or ``Rn``) is split off at the ISO 8601 interval separator
    ``/``; the duration itself is parsed by `isodate`.
    """
    text = value.strip()
    if text.lower() == "irregular":
        return None
    repeat, slash, duration = text.partition("/")
    if not slash or not repeat.startswith("R") or not (repeat[1:] == "" or repeat[1:].isdigit()):
        return (f"accrualPeriodicity {value!r} is not an ISO 8601 repeating duration "
                f"(R/<duration>) nor 'irregular'")
    try:
        parsed = isodate.parse_duration(duration)
    except (isodate.ISO8601Error, ValueError) as exc:
        return f"accrualPeriodicity {value!r}: the duration {duration!r} is not ISO 8601 ({exc})"
    if parsed == timedelta(0):
        return f"accrualPeriodicity {value!r}: a zero duration is no frequency"
    return None


def _repeating(value: str) -> bool:
    return frequency_problem(value) is None and value.strip().lower() != "irregular"


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else str(value)


def _strings(value: Any) -> list[str]:
    """A list of strings from a list, or from one string with comma-separated items (v1.0)."""
    items = value if isinstance(value, list) else (value.split(",") if isinstance(value, str) else [])
    seen: dict[str, None] = {}
    for item in items:
        text = _text(item) if not isinstance(item, (dict, list)) else ""
        if text:
            seen.setdefault(text, None)
    return list(seen)


def _media_type(value: str) -> str:
    return value.split(";", 1)[0].strip()


def _is_table_schema(ref: Any, media_type: Any = None) -> bool:
    """Whether a describedBy / conformsTo reference names a Table Schema document.

    True for a JSON Schema-typed description (``application/schema+json``) and for a document
    named ``…schema.json`` (``tableschema.json``, ``trees.schema.json``); a data dictionary such as
    Socrata's ``columns.json`` (``application/json``) is not one.
    """
    if not isinstance(ref, str) or not ref.lower().startswith(("http://", "https://")):
        return False
    kind = media_type.lower() if isinstance(media_type, str) else ""
    return "schema+json" in kind or urlsplit(ref).path.lower().endswith("schema.json")


# -- entries -----------------------------------------------------------------------------------------

def _resource(dist: Mapping[str, Any], version: str) -> HarvestedResource | None:
    url = _text(dist.get("downloadURL")) or _text(dist.get("accessURL"))
    if not url:
        return None
    extras = {k: v for k, v in dist.items() if k not in _DIST_MAPPED}
    if not dist.get("downloadURL"):
        extras.pop("accessURL", None)  # it is the resource's URL
    media_type, fmt = _text(dist.get("mediaType")), _text(dist.get("format"))
    formats = dist.get("formats")
    if isinstance(formats, list) and formats and isinstance(formats[0], dict):  # Socrata v1.0
        media_type = media_type or _text(formats[0].get("value"))
        fmt = fmt or _text(formats[0].get("label"))
        if len(formats) > 1:
            extras["formats"] = formats
    if not media_type and "/" in fmt and version == "1.0":  # v1.0 `format` is the media type
        media_type = fmt
    schema = None
    if _is_table_schema(dist.get("describedBy"), dist.get("describedByType")):
        schema = str(dist["describedBy"])
    elif _is_table_schema(dist.get("conformsTo")):
        schema = str(dist["conformsTo"])
    access_url = _text(dist.get("accessURL")) or None
    return HarvestedResource(url=url, title=_text(dist.get("title")), media_type=_media_type(media_type),
                             format=fmt, description=_text(dist.get("description")), schema=schema,
                             access_url=access_url if version == "1.1" else None,
                             is_download=bool(_text(dist.get("downloadURL"))) or version == "1.0",
                             extras=extras)


def _resources(entry: Mapping[str, Any], version: str, notes: list[str]) -> list[HarvestedResource]:
    dists = entry.get("distribution")
    if not isinstance(dists, list) or not dists:
        # v1.0 without a distribution array: the entry's own accessURL and format are its one file.
        dists = [{"accessURL": entry["accessURL"], "format": entry.get("format")}] if entry.get("accessURL") else []
    resources: dict[str, HarvestedResource] = {}
    for n, dist in enumerate(dists):
        resource = _resource(dist, version) if isinstance(dist, dict) else None
        if resource is None:
            notes.append(f"distribution[{n}] has no downloadURL or accessURL and is not harvested")
        elif resource.url not in resources:
            resources[resource.url] = resource
    return list(resources.values())


def temporal_of(value: Any) -> dict[str, str] | None:
    """A DCAT-US ``temporal`` (``start/end``, either side possibly an ISO 8601 duration) as ``{"start", "end"}``.

    The interval is split at its ``/`` separator; dates and durations are read by `isodate`. A
    value that is no interval gives None.
    """
    if not isinstance(value, str) or value.count("/") != 1:
        return None
    first, second = (part.strip() for part in value.split("/"))
    try:
        if first.upper().startswith("P") and (end := parse_when(second)):
            start = end - isodate.parse_duration(first)
            return {"start": start.isoformat(), "end": iso_when(second) or end.isoformat()}
        if second.upper().startswith("P") and (start := parse_when(first)):
            end = start + isodate.parse_duration(second)
            return {"start": iso_when(first) or start.isoformat(), "end": end.isoformat()}
    except (isodate.ISO8601Error, ValueError, OverflowError):
        return None
    found = {name: when for name, part in (("start", first), ("end", second)) if (when := iso_when(part))}
    return found or None


def _spatial(value: Any) -> list[str]:
    """A DCAT-US ``spatial``: a place name, a bounding box, a GeoJSON object — kept as text."""
    if isinstance(value, dict):
        return [json.dumps(value, ensure_ascii=False)]
    return [value.strip()] if isinstance(value, str) and value.strip() else []


def _publisher(entry: Mapping[str, Any], extras: dict[str, Any]) -> tuple[str, str | None]:
    publisher = entry.get("publisher")
    if isinstance(publisher, dict):
        if "subOrganizationOf" in publisher:
            extras["publisher"] = publisher  # the hierarchy has no home in the record
        uri = publisher.get("@id")
        return _text(publisher.get("name")), uri if isinstance(uri, str) else None
    return _text(publisher), None


def _contact_email(entry: Mapping[str, Any]) -> str | None:
    contact = entry.get("contactPoint")
    email = contact.get("hasEmail") if isinstance(contact, dict) else entry.get("mbox")  # v1.0: mbox
    email = _text(email)
    return email.removeprefix("mailto:") or None


def _dates(entry: Mapping[str, Any], extras: dict[str, Any], problems: list[str],
           notes: list[str]) -> tuple[datetime | None, datetime | None]:
    found: dict[str, datetime | None] = {}
    for key in ("issued", "releaseDate", "modified"):
        value = entry.get(key)
        if value is None:
            continue
        found[key] = when = parse_when(value)
        if when is None:
            extras[key] = value
            if key == "modified" and isinstance(value, str) and _repeating(value):
                notes.append(f"modified {value!r} is a repeating duration, not a date")
            else:
                problems.append(f"{key} {value!r} is not an ISO 8601 date")
    issued = found.get("issued")
    if issued is None and found.get("releaseDate") is not None:  # v1.0 (Socrata) name of `issued`
        issued = found["releaseDate"]
        extras.pop("releaseDate")
    return issued, found.get("modified")


def dataset_of(entry: Mapping[str, Any], version: str) -> HarvestedDataset | None:
    """The record of one data.json entry; None when it has no identifier."""
    identifier = _text(entry.get("identifier"))
    if not identifier:
        return None
    extras: dict[str, Any] = {k: v for k, v in entry.items() if k not in _MAPPED}
    problems: list[str] = []
    notes: list[str] = []
    issued, modified = _dates(entry, extras, problems, notes)
    frequency = _text(entry.get("accrualPeriodicity")) or None
    if frequency and version == "1.1" and (problem := frequency_problem(frequency)):
        problems.append(problem)
    if frequency is None and version == "1.0" and _text(entry.get("frequency")):
        frequency = _text(extras.pop("frequency"))  # Socrata's v1.0 key
    publisher_name, publisher_uri = _publisher(entry, extras)
    resources = _resources(entry, version, notes)
    if not isinstance(entry.get("distribution"), list) or not entry["distribution"]:
        for key in ("accessURL", "format"):  # they made the entry's one resource
            extras.pop(key, None)
    keywords = entry.get("keyword")
    if not isinstance(keywords, list) and isinstance(entry.get("keywords"), list):
        keywords = extras.pop("keywords")  # Socrata v1.0 gives both; the list is the reliable one
    contact_email = _contact_email(entry)
    if not isinstance(entry.get("contactPoint"), dict) and contact_email:
        extras.pop("mbox", None)
    extras[VERSION_KEY] = version
    if problems:
        extras[PROBLEMS_KEY] = problems
    if notes:
        extras[NOTES_KEY] = notes
    uri = entry.get("@id") if isinstance(entry.get("@id"), str) else (
        identifier if identifier.startswith(("http://", "https://")) else None)
    return HarvestedDataset(
        identifier=identifier, title=_text(entry.get("title")) or identifier,
        description=_text(entry.get("description")), uri=uri,
        publisher_name=publisher_name, publisher_uri=publisher_uri,
        landing_page=_text(entry.get("landingPage")) or None, licence=_text(entry.get("license")) or None,
        frequency=frequency, themes=_strings(entry.get("theme")), keywords=_strings(keywords),
        issued=issued, modified=modified, contact_email=contact_email,
        languages=_strings(entry.get("language")), spatial=_spatial(entry.get("spatial")),
        temporal=temporal_of(entry.get("temporal")), access_rights=access_right_of_level(entry.get("accessLevel")),
        rights=_text(entry.get("rights")) or None, resources=resources, extras=extras)


def is_public(entry: Mapping[str, Any]) -> bool:
    """Whether the entry's accessLevel lets a portal republish it (``public``; missing counts as public)."""
    level = entry.get("accessLevel")
    return level is None or _text(level).lower() == "public"


def entries_in(fh: IO[bytes], url: str = "data.json") -> Iterator[ListingItem]:
    """Yield the records of a data.json document read from `fh` (seekable), one entry at a time."""
    shape = sniff(fh, url)
    for note in shape.notes:
        log.info("%s: %s", url, note)
    where = "dataset" if shape.version == "1.1" else ""
    skipped = 0
    for n, entry in enumerate(ijson.items(fh, shape.prefix, use_float=True)):
        place = f"{url} {where}[{n}]"
        if not isinstance(entry, dict):
            yield ListingProblem(place, f"an entry is a JSON object, not {type(entry).__name__}")
            continue
        if not is_public(entry):
            skipped += 1
            continue
        record = dataset_of(entry, shape.version)
        if record is None:
            yield ListingProblem(place, "the entry has no identifier, so it cannot be kept in sync")
            continue
        if shape.notes:
            record.extras.setdefault(NOTES_KEY, []).extend(shape.notes)
        yield record
    if skipped:
        log.info("%s: %d entries are not public (accessLevel) and were not harvested", url, skipped)


class DataJsonHarvester(HarvesterBase):
    """Harvests a DCAT-US data.json catalogue (v1.1 catalogue object or v1.0 bare array)."""

    kind = "datajson"
    options: tuple[str, ...] = ()

    def gather(self, url: str, *, options: Mapping[str, Any] | None = None,
               since: datetime | None = None) -> Iterator[ListingItem]:
        """Download the catalogue (under the size cap) to a temporary file and yield its public datasets."""
        with tempfile.TemporaryDirectory(prefix="lodestar-datajson-") as tmp:
            fetched = fetch(url, Path(tmp), timeout=self.timeout, max_bytes=self.max_bytes, egress=self.egress)
            assert fetched.path is not None  # no ETag was sent, so the answer is never 304
            with fetched.path.open("rb") as fh:
                yield from entries_in(fh, url)
