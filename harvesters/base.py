"""What every harvester produces: dataset records with their resources, source-agnostic."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass
class HarvestedResource:
    """A downloadable file of a dataset, as the source describes it."""

    url: str
    title: str = ""
    media_type: str = ""
    format: str = ""
    identifier: str = ""
    schema: str | None = None  # a Table Schema reference (URL or bundled name) if the source gives one


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
    resources: list[HarvestedResource] = field(default_factory=list)


class Harvester(Protocol):
    """Reads one kind of source and yields dataset records."""

    kind: str

    def gather(self, url: str) -> Iterator[HarvestedDataset]:
        """Read the catalogue at `url`; raise `SourceError` if it cannot be read at all."""
        ...
