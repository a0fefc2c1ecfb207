"""What every harvester produces: dataset records with their resources, source-agnostic."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, Union

if TYPE_CHECKING:
    from portal.egress import Egress


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
    resources: list[HarvestedResource] = field(default_factory=list)
    #: The source's fields with no home in this record (CKAN extras, data.json extensions …), kept as given.
    extras: dict[str, Any] = field(default_factory=dict)
    #: The source's own spelling of values that normalisation mapped (licence, frequency, themes …).
    original: dict[str, Any] = field(default_factory=dict)


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
