"""What every harvester produces: dataset records with their resources, source-agnostic."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol, Union

import isodate

if TYPE_CHECKING:
    from portal.egress import Egress

#: The EU access-right authority table (``PUBLIC``, ``RESTRICTED``, ``NON_PUBLIC`` …).
EU_ACCESS_RIGHT = "http://publications.europa.eu/resource/authority/access-right/"

#: DCAT-US ``accessLevel`` values (compared in lower case) → their EU access-right concept.
ACCESS_LEVELS: Mapping[str, str] = {
    "public": EU_ACCESS_RIGHT + "PUBLIC",
    "restricted public": EU_ACCESS_RIGHT + "RESTRICTED",
    "non-public": EU_ACCESS_RIGHT + "NON_PUBLIC",
}


@dataclass
class HarvestedResource:
    """A downloadable file of a dataset, as the source describes it."""

    url: str
    title: str = ""
    media_type: str = ""
    format: str = ""
    identifier: str = ""
    schema: str | None = None  # a Table Schema reference (URL or bundled name) if the source gives one
    table_schema: Any = None  # a frictionless.Schema the source carries (Data Package), inline or resolved
    dialect: Any = None  # a frictionless.Dialect the source declares for the file
    description: str = ""
    licence: str | None = None
    byte_size: int | None = None
    modified: datetime | None = None
    #: The distribution's access URL (a landing page, a service) when the source gives one; may equal `url`.
    access_url: str | None = None
    #: False when the source gives `url` only as an access URL (a page, a service), not as a download URL.
    is_download: bool = True
    rights: str | None = None  # a rights statement: an IRI, or the source's text
    extras: dict[str, Any] = field(default_factory=dict)  # the source's fields with no home here, kept as given


@dataclass
class HarvestedDataset:
    """A dataset record as the source describes it (its claims, not yet checked)."""

    identifier: str
    title: str
    description: str = ""
    uri: str | None = None  # the source's own URI for the dataset, kept for provenance
    publisher_name: str = ""
    publisher_id: str = ""  # the agent's own short identifier (dct:identifier), if it has one
    publisher_uri: str | None = None
    landing_page: str | None = None
    licence: str | None = None
    frequency: str | None = None
    themes: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    issued: datetime | None = None
    modified: datetime | None = None
    contact_email: str | None = None
    languages: list[str] = field(default_factory=list)
    #: Places the data covers: IRIs (a gazetteer entry, an administrative unit) or text (a name, WKT, GeoJSON).
    spatial: list[str] = field(default_factory=list)
    #: The period the data covers, ``{"start": iso, "end": iso}`` (either may be missing), ISO 8601 dates or times.
    temporal: dict[str, str] | None = None
    access_rights: str | None = None  # an IRI (the EU access-right table) or the source's text
    rights: str | None = None  # a rights statement: an IRI, or the source's text
    resources: list[HarvestedResource] = field(default_factory=list)
    #: The source's fields with no home in this record (CKAN extras, data.json extensions …), kept as given.
    extras: dict[str, Any] = field(default_factory=dict)
    #: The source's own spelling of values that normalisation mapped (licence, frequency, themes …).
    original: dict[str, Any] = field(default_factory=dict)


def iso_when(value: Any) -> str | None:
    """An ISO 8601 date or date-time, as text: a date stays a date (``2010-01-01``), a time keeps its offset.

    A `date`/`datetime` is written as ISO; a string is parsed by `isodate`. A year or a year and
    month (``2013``, ``2013-08``) stays as given (an ``xsd:gYear``/``xsd:gYearMonth``). Anything
    else gives None.
    """
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        parsed: date = isodate.parse_datetime(text) if "T" in text else isodate.parse_date(text)
    except (isodate.ISO8601Error, ValueError):
        return None
    if len(text) in (4, 7) and "T" not in text and "W" not in text:  # YYYY or YYYY-MM
        return text
    return parsed.isoformat()


def period_of(start: Any, end: Any) -> dict[str, str] | None:
    """``{"start": …, "end": …}`` from two ISO 8601 values (see `iso_when`); None when neither reads as one."""
    found = {name: when for name, value in (("start", start), ("end", end)) if (when := iso_when(value))}
    return found or None


def access_right_of_level(level: Any) -> str | None:
    """The EU access-right IRI of a DCAT-US ``accessLevel`` (``public`` → ``…/access-right/PUBLIC``), or None."""
    return ACCESS_LEVELS.get(level.strip().lower()) if isinstance(level, str) else None


@dataclass(frozen=True)
class ListingProblem:
    """A part of the source's listing (a page) that could not be read: the listing is incomplete."""

    where: str
    message: str


@dataclass(frozen=True)
class StillListed:
    """A dataset an incremental listing says is unchanged since the last complete run: keep it, fetch nothing."""

    identifier: str


#: What a harvester yields: records, datasets still listed but unchanged, and the listing's problems.
ListingItem = Union[HarvestedDataset, ListingProblem, StillListed]


class HarvesterBase:
    """What every harvester is built with: its read timeout, its size cap, and its egress client.

    Without `egress`, a harvester makes a default client (address guard on) for its reads.
    """

    def __init__(self, *, timeout: float = 30.0, max_bytes: int = 50 * 1024 * 1024,
                 egress: Egress | None = None) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.egress = egress


class Harvester(Protocol):
    """Reads one kind of source and yields dataset records.

    A source that cannot be read at all raises `SourceError`. A page that fails after the first
    is yielded as a `ListingProblem` and the listing goes on where it can; a listing with a
    problem is incomplete, so nothing is withdrawn after it.
    """

    kind: str
    #: The per-source settings this kind accepts (e.g. ``("organization", "api_key")``).
    options: tuple[str, ...]

    def gather(self, url: str, *, options: Mapping[str, Any] | None = None,
               since: datetime | None = None) -> Iterator[ListingItem]:
        """Read the catalogue at `url`; with `since`, an incremental source may list only what changed."""
        ...
