"""The DCAT harvester on real recorded catalogues (../shared/samples/dcat), served over loopback HTTP."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from harvesters import harvester_for
from harvesters.base import Harvester
from harvesters.dcat import parse_catalogue
from portal.egress import Egress
from portal.errors import SourceError, SourceUnavailableError
from tests.conftest import SHARED

SAMPLES = SHARED / "samples" / "dcat"


@pytest.fixture
def dcat() -> Iterator[Harvester]:
    """The DCAT harvester, allowed to reach the loopback file server."""
    with Egress(allow_private_addresses=True, backoff=0.01) as egress:
        yield harvester_for("dcat", egress=egress)


def serve(file_server: tuple[str, Path], name: str) -> str:
    url, root = file_server
    shutil.copyfile(SAMPLES / name, root / name)
    return f"{url}/{name}"


def test_municipal_turtle_record_from_madrid(dcat: Harvester, file_server: tuple[str, Path]) -> None:
    [dataset] = list(dcat.gather(serve(file_server, "ckanext-dcat_dataset_gob_es.ttl")))
    assert dataset.title
    assert dataset.resources, "distributions are read"
    assert all(r.url.startswith("http") for r in dataset.resources)
    # The frequency is a dct:Frequency whose rdf:value is a time:DurationDescription.
    assert dataset.frequency == "P1Y"  # time:years 1.0, reached through rdf:value


def test_dcat_ap_de_record_from_rostock(dcat: Harvester, file_server: tuple[str, Path]) -> None:
    [dataset] = list(dcat.gather(serve(file_server, "ckanext-dcat_dataset_gov_de.rdf")))
    # The record's dct:publisher is a foaf:Organization; its foaf:name is the publisher's name.
    assert dataset.publisher_name == "Hanse- und Universitätsstadt Rostock"
    assert dataset.publisher_uri == "https://www.opendata-hro.de/organization/b952e781-ab4c-456a-8e7a-2845f7efaf83"
    assert dataset.licence and dataset.licence.startswith("http")
    assert any(t.startswith("http://publications.europa.eu/resource/authority/data-theme/") for t in dataset.themes)
    assert dataset.modified is not None and dataset.modified.tzinfo is not None


def test_antwerp_catalogue_with_blank_node_datasets(dcat: Harvester, file_server: tuple[str, Path]) -> None:
    datasets = list(dcat.gather(serve(file_server, "antwerpen_dcat.xml")))
    # The README of the samples counts 491 datasets in this catalogue.
    assert len(datasets) == 491
    assert len({d.identifier for d in datasets}) == len(datasets)
    assert sum(len(d.resources) for d in datasets) > 2000


def test_berlin_catalogue_endpoint(dcat: Harvester, file_server: tuple[str, Path]) -> None:
    datasets = list(dcat.gather(serve(file_server, "ckanext-dcatde_catalog-endpoint.rdf")))
    assert len(datasets) == 6


def test_missing_catalogue_is_unavailable(dcat: Harvester, file_server: tuple[str, Path]) -> None:
    url, _ = file_server
    with pytest.raises(SourceUnavailableError, match="404"):
        list(dcat.gather(f"{url}/nothing-here.ttl"))


def test_unparsable_catalogue_is_a_source_error(dcat: Harvester, file_server: tuple[str, Path]) -> None:
    url, root = file_server
    (root / "broken.ttl").write_text("@prefix dcat: <http://www.w3.org/ns/dcat#> .\n<a> dcat:x ", encoding="utf-8")
    with pytest.raises(SourceError, match="broken.ttl"):
        list(dcat.gather(f"{url}/broken.ttl"))


def test_json_ld_with_a_remote_context_is_not_fetched() -> None:
    data = json.dumps({"@context": "http://127.0.0.1:1/context.jsonld", "@id": "x"}).encode()
    with pytest.raises(SourceError, match="remote @context"):
        parse_catalogue(data, "http://example.test/catalog.jsonld", "application/ld+json")


def test_unknown_kind() -> None:
    with pytest.raises(KeyError, match="unknown source kind"):
        harvester_for("gopher")
