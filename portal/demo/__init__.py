"""The bundled demo catalogue: five real municipal datasets, so a new portal is never empty.

The demo is harvested like any remote source, through the DCAT harvester from a file: URL.
"""

from __future__ import annotations

import logging
from pathlib import Path

from portal.instance import Instance

#: The name the demo source is registered under.
SOURCE_NAME = "demo"

log = logging.getLogger(__name__)


def catalogue_url() -> str:
    """The file: URL of the bundled demo catalogue."""
    return (Path(__file__).resolve().parent / "catalog.ttl").as_uri()


def seed(instance: Instance) -> bool:
    """Register and harvest the demo catalogue when the instance has no source yet."""
    from portal.pipeline import add_source, harvest, list_sources

    if list_sources(instance):
        return False
    add_source(instance, SOURCE_NAME, catalogue_url(), "dcat")
    outcome = harvest(instance, SOURCE_NAME)
    log.warning("demo catalogue harvested: %d datasets", outcome.datasets_seen)
    return True
