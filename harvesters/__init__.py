"""Harvesters: one module per source kind behind one interface, and a registry by name."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from harvesters.base import HarvestedDataset, HarvestedResource, Harvester, ListingItem, ListingProblem, StillListed

if TYPE_CHECKING:
    from portal.egress import Egress

#: Source kinds, each imported only when a source of that kind is harvested.
HARVESTERS = {
    "dcat": "harvesters.dcat:DcatHarvester",
    "ckan": "harvesters.ckan:CkanHarvester",
    "datajson": "harvesters.datajson:DataJsonHarvester",
    "datapackage": "harvesters.datapackage:DataPackageHarvester",
}


def harvester_class(kind: str) -> type[Harvester]:
    """The class registered for `kind` (imported now); `KeyError` names the known kinds."""
    try:
        module_name, class_name = HARVESTERS[kind].split(":")
    except KeyError:
        raise KeyError(f"unknown source kind {kind!r}; known: {', '.join(sorted(HARVESTERS))}") from None
    cls: type[Harvester] = getattr(importlib.import_module(module_name), class_name)
    return cls


def harvester_for(kind: str, *, timeout: float = 30.0, max_bytes: int = 50 * 1024 * 1024,
                  egress: Egress | None = None) -> Harvester:
    """Instantiate the harvester registered for `kind`; it reads through `egress` (default: guard on)."""
    cls: Any = harvester_class(kind)
    harvester: Harvester = cls(timeout=timeout, max_bytes=max_bytes, egress=egress)
    return harvester


__all__ = ["HARVESTERS", "HarvestedDataset", "HarvestedResource", "Harvester", "ListingItem", "ListingProblem",
           "StillListed", "harvester_class", "harvester_for"]
