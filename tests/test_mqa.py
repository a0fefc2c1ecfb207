"""The data.europa.eu MQA score: hand-built records scored by hand, the best-distribution rule, DCAT-AP 2.1.1
compliance, the quality cache, and real samples harvested on loopback (their facts counted by rdflib).

Also: the coverage and rights fields the MQA needs, read by every harvester from the recorded samples.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from pyshacl import validate
from rdflib import Graph, Literal, Namespace, URIRef
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from harvesters import harvester_for
from harvesters.base import HarvestedDataset, Harvester
from harvesters.ckan_packages import dataset_from_package
from harvesters.datajson import entries_in
from portal import mqa_shacl
from portal.alerts.models import DatasetQuality
from portal.catalogue import dataset_record
from portal.db import Dataset, Resource, ResourceVersion, Source
from portal.egress import Egress
from portal.instance import Instance
from portal.mqa import (
    DIMENSIONS, DatasetMqa, Indicator, assess_all, assess_dataset, check_compliance, mqa_graph, publisher_mqa,
    rating, summarise,
)
from portal.pipeline import add_source, harvest
from tests.conftest import SHARED
from vocab import namespaces as ns
from vocab.uris import UriScheme

NOW = datetime(2025, 3, 1, 12, tzinfo=timezone.utc)
URIS = UriScheme("http://portal.example")
EU = "http://publications.europa.eu/resource/authority/"
DCAT_SAMPLES = SHARED / "samples" / "dcat"
SHAPES_2_1_1 = SHARED / "conformance" / "dcat-ap" / "2.1.1"
POD = Namespace("https://project-open-data.cio.gov/v1.1/schema#")
SCHEMA = Namespace("http://schema.org/")

FULL_META: dict[str, Any] = {
    "themes": [EU + "data-theme/ENVI"], "keywords": ["trees"], "licence": EU + "licence/CC_BY_4_0",
    "issued": "2020-01-01T00:00:00+00:00", "contact_email": "officer@leeds.example",
    "spatial": ["http://sws.geonames.org/2644688/"], "temporal": {"start": "2010-01-01", "end": "2024"},
    "access_rights": EU + "access-right/PUBLIC", "rights": "© Leeds City Council",
}


def csv_file(slug: str = "trees", *, fetched: bool = True, checked_at: datetime = NOW, **said: Any) -> dict[str, Any]:
    """One file of a hand-built dataset: what the source said of it, and whether Lodestar fetched it."""
    return {"slug": slug, "url": f"http://files.example/{slug}.csv", "fetched": fetched, "checked_at": checked_at,
            "said": {"format": EU + "file-type/CSV", "media_type": "text/csv", **said}}


def build(meta: dict[str, Any], files: Sequence[dict[str, Any]] = (), *, description: str = "All street trees",
          modified: datetime | None = NOW, slug: str = "trees") -> Dataset:
    """A dataset with its resources and versions, in memory (what `dataset_record` and the MQA read)."""
    dataset = Dataset(publisher="leeds", slug=slug, identifier=slug, title="Street trees", description=description,
                      last_content_change=modified, last_seen=NOW, metadata_json=dict(meta))
    described = []
    for f in files:
        resource = Resource(dataset=dataset, slug=f["slug"], url=f["url"], title=f["slug"].title(),
                            media_type=f["said"].get("media_type", ""))
        if f["fetched"]:
            resource.latest_version = ResourceVersion(resource=resource, url=f["url"], content_hash="ab" * 32,
                                                      size=1234, fetched_at=NOW, checked_at=f["checked_at"])
        described.append({"url": f["url"], **f["said"]})
    dataset.metadata_json["resources"] = described
    return dataset


def points(score: DatasetMqa) -> dict[str, float]:
    return {i.key: i.points for i in score.indicators}


def conforming(record: Graph) -> bool:
    """The record checked by pySHACL against the SEMIC file in the shared conformance folder (not our copy)."""
    shapes = Graph().parse(SHAPES_2_1_1 / "shacl" / "dcat-ap_2.1.1_shacl_shapes.ttl")
    return bool(validate(record, shacl_graph=shapes, inference="none")[0])


# ---- hand-built records, scored by hand ---------------------------------------------------------------------

def test_a_complete_record_earns_all_405_points() -> None:
    dataset = build(FULL_META, [csv_file()])
    score = assess_dataset(URIS, dataset, dataset.resources)
    assert conforming(dataset_record(URIS, dataset))
    assert all(i.points == i.max_points and i.advice == "" for i in score.indicators), \
        [i for i in score.indicators if i.points < i.max_points]
    assert len(score.indicators) == 23
    assert score.total == 405 and score.rating == "Excellent"
    assert score.dimensions == {"findability": (100, 100), "accessibility": (100, 100),
                                "interoperability": (110, 110), "reusability": (75, 75), "contextuality": (20, 20)}
    assert score.fix_first == []


def test_an_empty_record_is_bad_and_says_what_to_fix_first() -> None:
    dataset = build({}, description="", modified=None)
    score = assess_dataset(URIS, dataset, dataset.resources)
    # By hand: Lodestar's record always names the publisher (10); no description fails DCAT-AP (0 of 30).
    assert score.total == 10 and score.rating == "Bad"
    assert [i.key for i in score.indicators if i.points] == ["publisher-availability"]
    assert score.fix_first[0].key == "access-url-status" and score.fix_first[0].gain == 50
    gains = [i.gain for i in score.fix_first]
    assert gains == sorted(gains, reverse=True) and sum(gains) == 395
    compliance = next(i for i in score.indicators if i.key == "dcat-ap-compliance")
    assert "dct:description" in compliance.advice  # the violation is named
    licence = next(i for i in score.indicators if i.key == "licence-availability")
    assert "CC BY 4.0" in licence.advice and EU + "licence/CC_BY_4_0" in licence.advice


def test_a_record_at_the_bad_band_edge() -> None:
    meta = {"keywords": ["trees"], "themes": [EU + "data-theme/ENVI"], "spatial": ["Leeds"],
            "contact_email": "officer@leeds.example", "access_rights": "open to all"}
    dataset = build(meta, description="", modified=None)
    # keywords 30 + themes 30 + spatial 20 + contact 20 + publisher 10 + access rights (text) 10 = 120
    score = assess_dataset(URIS, dataset, dataset.resources)
    assert score.total == 120 and score.rating == "Bad"
    in_vocabulary = build({**meta, "access_rights": EU + "access-right/PUBLIC"}, description="", modified=None)
    assert assess_dataset(URIS, in_vocabulary, in_vocabulary.resources).rating == "Sufficient"  # 125


@pytest.mark.parametrize(("total", "expected"), [
    (0, "Bad"), (120, "Bad"), (121, "Sufficient"), (220, "Sufficient"), (221, "Good"), (350, "Good"),
    (351, "Excellent"), (405, "Excellent"), (120.5, "Sufficient"), (350.25, "Excellent")])
def test_rating_bands(total: float, expected: str) -> None:
    assert rating(total) == expected


def test_the_record_says_coverage_and_rights_in_dcat_ap_terms() -> None:
    geojson = '{"type": "Point", "coordinates": [-1.55, 53.8]}'
    meta = {**FULL_META, "spatial": ["http://sws.geonames.org/2644688/", "POLYGON ((1 2, 3 4, 5 6, 1 2))", geojson,
                                     "Pointe-à-Pitre"]}
    dataset = build(meta, [csv_file(rights="Attribution: Leeds City Council")])
    record = dataset_record(URIS, dataset)
    subject = URIRef(URIS.dataset("leeds", "trees"))
    dist = URIRef(URIS.distribution("leeds", "trees", "trees"))
    places = list(record.objects(subject, ns.DCTERMS.spatial))
    assert URIRef("http://sws.geonames.org/2644688/") in places and len(places) == 4
    locn = Namespace("http://www.w3.org/ns/locn#")
    geometries = {str(g): g.datatype for p in places
                  if isinstance(g := record.value(p, locn.geometry), Literal)}
    assert geometries == {"POLYGON ((1 2, 3 4, 5 6, 1 2))": URIRef("http://www.opengis.net/ont/geosparql#wktLiteral"),
                          geojson: URIRef("https://www.iana.org/assignments/media-types/application/vnd.geo+json")}
    assert {str(record.value(p, ns.SKOS.prefLabel)) for p in places
            if record.value(p, ns.SKOS.prefLabel) is not None} == {"Pointe-à-Pitre"}
    period = record.value(subject, ns.DCTERMS.temporal)
    assert record.value(period, ns.DCAT.startDate) == Literal("2010-01-01", datatype=ns.XSD.date)
    assert record.value(period, ns.DCAT.endDate) == Literal("2024", datatype=ns.XSD.gYear)
    assert record.value(subject, ns.DCTERMS.accessRights) == URIRef(EU + "access-right/PUBLIC")
    rights = record.value(subject, ns.DCTERMS.rights)
    assert (rights, ns.RDF.type, ns.DCTERMS.RightsStatement) in record
    assert str(record.value(rights, ns.RDFS.label)) == "© Leeds City Council"
    assert str(record.value(record.value(dist, ns.DCTERMS.rights), ns.RDFS.label)) == "Attribution: Leeds City Council"
    assert record.value(dist, ns.DCTERMS.license) == URIRef(EU + "licence/CC_BY_4_0")  # the dataset's licence
    assert record.value(dist, ns.DCAT.byteSize) == Literal("1234", datatype=ns.XSD.decimal)
    assert not list(record.objects(dist, ns.SPDX.checksum))
    assert record.value(dist, URIRef(URIS.portal_term("contentSha256"))) == Literal("ab" * 32,
                                                                                   datatype=ns.XSD.hexBinary)
    assert check_compliance(record).conforms


# ---- distributions -----------------------------------------------------------------------------------------

def test_distribution_indicators_come_from_the_best_distribution_not_an_average() -> None:
    good = csv_file("trees")
    pdf = {"slug": "leaflet", "url": "http://files.example/leaflet.pdf", "fetched": False, "checked_at": NOW,
           "said": {"rights": "Leaflet text © Leeds"}}
    dataset = build({**FULL_META, "rights": None, "licence": None}, [good, pdf])
    score = assess_dataset(URIS, dataset, dataset.resources)
    got = points(score)
    # The CSV is the best distribution; an average over two files would give half of each of these.
    for key, weight in (("access-url-status", 50), ("download-url-status", 30), ("format-availability", 20),
                        ("format-non-proprietary", 20), ("format-machine-readable", 20),
                        ("byte-size-availability", 5)):
        assert got[key] == weight, key
    # Only the PDF states rights; the best distribution does not, so rights earn nothing.
    assert got["rights-availability"] == 0
    rights = next(i for i in score.indicators if i.key == "rights-availability")
    assert rights.met == "1 of 2 distributions meet it, not the best one (“Trees”)"
    assert rights.advice.endswith(": “Trees”")
    access = next(i for i in score.indicators if i.key == "access-url-status")
    assert access.met == "the best distribution “Trees” meets it; 1 of 2 do"


def test_the_best_distribution_is_the_one_with_most_points() -> None:
    broken_csv = csv_file("trees", checked_at=NOW - timedelta(days=1))  # failed at the last harvest
    answering_pdf = {"slug": "report", "url": "http://files.example/report.pdf", "fetched": True,
                     "checked_at": NOW, "said": {"format": EU + "file-type/PDF", "media_type": "application/pdf"}}
    dataset = build(FULL_META, [broken_csv, answering_pdf])
    got = points(assess_dataset(URIS, dataset, dataset.resources))
    # CSV: 20+10+10+20+20 (interoperability) + 20+0 (download URL, no answer) + licence 30 + rights 5 + size 5 = 140
    # PDF: 50+20+30 (answers) + 20+10+10 (format, media type, vocabularies) + 30 + 5 + 5 = 180: it is the best
    assert (got["access-url-status"], got["download-url-status"]) == (50, 30)
    assert (got["format-non-proprietary"], got["format-machine-readable"]) == (0, 0)


def test_an_access_url_only_distribution_has_no_download_url() -> None:
    service = {"slug": "wms", "url": "http://maps.example/wms", "fetched": True, "checked_at": NOW,
               "said": {"is_download": False, "format": EU + "file-type/WMS_SRVC"}}
    dataset = build(FULL_META, [service])
    record = dataset_record(URIS, dataset)
    dist = URIRef(URIS.distribution("leeds", "trees", "wms"))
    assert list(record.objects(dist, ns.DCAT.accessURL)) == [URIRef("http://maps.example/wms")]
    assert list(record.objects(dist, ns.DCAT.downloadURL)) == []
    got = points(assess_dataset(URIS, dataset, dataset.resources, record=record))
    assert (got["access-url-status"], got["download-url-availability"], got["download-url-status"]) == (50, 0, 0)


def test_a_dataset_without_distributions_earns_no_distribution_points() -> None:
    dataset = build(FULL_META)
    score = assess_dataset(URIS, dataset, dataset.resources)
    # findability 100, compliance 30, access rights 15 + contact 20 + publisher 10, issued 5 + modified 5
    assert score.total == 185
    assert next(i for i in score.indicators if i.key == "licence-availability").met == "no distribution"


# ---- DCAT-AP 2.1.1 compliance ---------------------------------------------------------------------------------

def test_the_semic_example_conforms_and_our_shapes_are_the_official_file() -> None:
    bundled = Path(mqa_shacl.__file__).parents[1] / "vocab" / "shapes" / mqa_shacl.SHAPES_FILE
    assert bundled.read_bytes() == (SHAPES_2_1_1 / "shacl" / mqa_shacl.SHAPES_FILE).read_bytes()
    example = Graph().parse(SHAPES_2_1_1 / "examples" / "example1.nt")  # "a coherent and DCAT-AP compliant" record
    assert check_compliance(example).conforms


def test_a_dataset_without_description_fails_the_dataset_shape() -> None:
    dataset = build(FULL_META, [csv_file()], description="")
    compliance = check_compliance(dataset_record(URIS, dataset))
    assert not compliance.conforms and compliance.violation_count == 1
    [violation] = compliance.violations
    assert (violation.shape, violation.path, violation.focus) == ("Dataset", "dct:description",
                                                                 URIS.dataset("leeds", "trees"))


def test_a_sha256_checksum_or_an_integer_byte_size_fails_2_1_1() -> None:
    dataset = build(FULL_META, [csv_file()])
    record = dataset_record(URIS, dataset)
    assert check_compliance(record).conforms
    dist = URIRef(URIS.distribution("leeds", "trees", "trees"))
    checksum = URIRef(f"{dist}#checksum")
    with_checksum = record + Graph()
    for triple in ((dist, ns.SPDX.checksum, checksum), (checksum, ns.RDF.type, ns.SPDX.Checksum),
                   (checksum, ns.SPDX.algorithm, ns.SPDX.checksumAlgorithm_sha256),
                   (checksum, ns.SPDX.checksumValue, Literal("ab" * 32, datatype=ns.XSD.hexBinary))):
        with_checksum.add(triple)
    assert [(v.shape, v.path) for v in check_compliance(with_checksum).violations] == [("Checksum", "spdx:algorithm")]
    integer_size = record + Graph()
    integer_size.set((dist, ns.DCAT.byteSize, Literal(1234, datatype=ns.XSD.nonNegativeInteger)))
    assert [(v.shape, v.path) for v in check_compliance(integer_size).violations] == [("Distribution",
                                                                                       "dcat:byteSize")]


# ---- publishers and DQV ---------------------------------------------------------------------------------------

def _score(slug: str, missing: dict[str, int]) -> DatasetMqa:
    specs = [(d, k, w) for d, k, w in (("findability", "keyword-availability", 30), ("findability",
             "temporal-availability", 20), ("reusability", "licence-availability", 20))]
    indicators = [Indicator(d, k, k, w - missing.get(k, 0), w, "", "advice" if k in missing else "")
                  for d, k, w in specs]
    return summarise("leeds", slug, indicators, NOW)


def test_publisher_means_and_the_fix_that_gains_most_over_its_datasets() -> None:
    scores = [_score("a", {"temporal-availability": 20}), _score("b", {"temporal-availability": 20,
                                                                       "licence-availability": 20}),
              _score("c", {"keyword-availability": 30})]
    publisher = publisher_mqa(scores)
    assert publisher.datasets == 3
    assert publisher.total == round((50 + 30 + 40) / 3, 2)
    assert publisher.dimensions["findability"] == (round((30 + 30 + 20) / 3, 2), 100)
    assert [(f.key, f.gain, f.datasets) for f in publisher.fix_first] == [
        ("temporal-availability", 40, 2), ("keyword-availability", 30, 1), ("licence-availability", 20, 1)]
    assert publisher.to_dict()["fix_first"][0]["datasets"] == 2
    with pytest.raises(ValueError):
        publisher_mqa([])


def test_mqa_graph_has_one_measurement_per_dimension_and_for_the_total() -> None:
    dataset = build(FULL_META, [csv_file()])
    score = assess_dataset(URIS, dataset, dataset.resources, assessed_at=NOW)
    graph = mqa_graph(URIS, [score])
    subject = URIRef(URIS.dataset("leeds", "trees"))
    measurements = list(graph.objects(subject, ns.DQV.hasQualityMeasurement))
    assert len(measurements) == len(DIMENSIONS) + 1
    values: dict[str, Literal] = {}
    for m in measurements:
        value = graph.value(m, ns.DQV.value)
        assert isinstance(value, Literal)
        values[str(graph.value(m, ns.DQV.isMeasurementOf)).rsplit("/", 1)[1]] = value
    assert values["mqa-score"].toPython() == 405 and values["mqa-score"].datatype == ns.XSD.decimal
    assert values["mqa-interoperability"].toPython() == 110
    assert {Literal(NOW.isoformat(), datatype=ns.XSD.dateTime)} == {graph.value(m, ns.PROV.generatedAtTime)
                                                                    for m in measurements}


# ---- the cache ------------------------------------------------------------------------------------------------

@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[Graph]:
    """Every record pySHACL is run on (the real check, counted)."""
    calls: list[Graph] = []
    real = mqa_shacl.check_compliance

    def spy(record: Graph) -> mqa_shacl.Compliance:
        calls.append(record)
        return real(record)

    monkeypatch.setattr(mqa_shacl, "check_compliance", spy)
    return calls


def store(instance: Instance, dataset: Dataset) -> int:
    """Write a hand-built dataset (and its resources and versions) to the database."""
    with instance.session() as session:
        source = session.scalar(select(Source).where(Source.name == "s")) or Source(name="s", url="http://x",
                                                                                   kind="dcat")
        dataset.source = source
        session.add(dataset)
        session.flush()
        return dataset.id


def test_the_cache_runs_shacl_only_for_changed_records(instance: Instance, counted: list[Graph]) -> None:
    first = store(instance, build(FULL_META, [csv_file()]))
    store(instance, build({"keywords": ["lamps"]}, [csv_file("lamps")], slug="lamps"))
    scores = assess_all(instance)
    assert len(counted) == 2 and [s.slug for s in scores] == ["lamps", "trees"]
    again = assess_all(instance)
    assert len(counted) == 2  # nothing changed: read from the cache
    assert [s.to_dict() for s in again] == [s.to_dict() for s in scores]
    with instance.session() as session:
        assert session.scalar(select(DatasetQuality).where(DatasetQuality.dataset_id == first)) is not None
        # the next harvest did not reach the file: same record, another accessibility
        session.get(Dataset, first).last_seen = NOW + timedelta(days=1)  # type: ignore[union-attr]
    rescored = {s.slug: s for s in assess_all(instance)}
    assert len(counted) == 2  # re-scored, but the record was not validated again
    assert rescored["trees"].dimensions["accessibility"] == (20, 100)  # only "a download URL is given"
    with instance.session() as session:
        lamps = session.scalar(select(Dataset).where(Dataset.slug == "lamps"))
        assert lamps is not None
        lamps.metadata_json = {**lamps.metadata_json, "themes": [EU + "data-theme/TRAN"]}
    assert {s.slug: s.total for s in assess_all(instance)}["lamps"] == scores[0].total + 30
    assert len(counted) == 3  # the changed record only
    assess_all(instance, "leeds", refresh=True)
    assert len(counted) == 5


def test_a_staged_record_is_cached_under_its_graph_digest(instance: Instance, counted: list[Graph]) -> None:
    dataset = build(FULL_META, [csv_file()])
    dataset.graph_digest = "d1"
    store(instance, dataset)
    [score] = assess_all(instance)
    assert score.total == 405 and len(counted) == 1
    assert assess_all(instance, "leeds")[0].total == 405 and len(counted) == 1
    assert assess_all(instance, "nobody") == []
    with instance.session() as session:
        row = session.scalar(select(DatasetQuality))
        assert row is not None and row.mqa_json["mqa"]["total"] == 405 and len(row.digest) == 64


# ---- real samples -----------------------------------------------------------------------------------------------

ROSTOCK = "ckanext-dcat_dataset_gov_de.rdf"
ROSTOCK_FILES = "https://geo.sv.rostock.de/"


def sample_graph(name: str) -> Graph:
    return Graph().parse(DCAT_SAMPLES / name, format="xml" if name.endswith((".rdf", ".xml")) else "turtle")


@pytest.fixture
def dcat() -> Iterator[Harvester]:
    with Egress(allow_private_addresses=True, backoff=0.01) as egress:
        yield harvester_for("dcat", egress=egress)


def records(harvester: Harvester, url: str) -> list[HarvestedDataset]:
    return [item for item in harvester.gather(url) if isinstance(item, HarvestedDataset)]


def test_dcat_coverage_and_rights_from_rostock(dcat: Harvester, file_server: tuple[str, Path]) -> None:
    url, root = file_server
    shutil.copyfile(DCAT_SAMPLES / ROSTOCK, root / ROSTOCK)
    [record] = records(dcat, f"{url}/{ROSTOCK}")
    graph = sample_graph(ROSTOCK)
    [subject] = graph.subjects(ns.RDF.type, ns.DCAT.Dataset)
    assert len(record.spatial) == len(list(graph.objects(subject, ns.DCTERMS.spatial))) == 2
    assert record.temporal is None and not list(graph.objects(subject, ns.DCTERMS.temporal))
    assert record.access_rights == str(graph.value(subject, ns.DCTERMS.accessRights))
    given = {str(d): str(graph.value(d, ns.DCTERMS.rights)) for d in graph.objects(subject, ns.DCAT.distribution)}
    assert {r.identifier: r.rights for r in record.resources} == given
    downloads = {str(o) for d in graph.objects(subject, ns.DCAT.distribution)
                 for o in graph.objects(d, ns.DCAT.downloadURL)}
    assert {r.url for r in record.resources if r.is_download} == downloads
    assert all(r.access_url for r in record.resources)


def test_dcat_coverage_from_antwerp_and_the_dcat_ap_de_endpoint(dcat: Harvester,
                                                               file_server: tuple[str, Path]) -> None:
    url, root = file_server
    for name in ("antwerpen_dcat.xml", "ckanext-dcatde_catalog-endpoint.rdf"):
        shutil.copyfile(DCAT_SAMPLES / name, root / name)
    antwerp = records(dcat, f"{url}/antwerpen_dcat.xml")
    graph = sample_graph("antwerpen_dcat.xml")
    bboxes = sorted(str(o) for _, o in graph.subject_objects(ns.DCTERMS.spatial))
    assert len(bboxes) == len(antwerp) == 491
    assert sorted(s for r in antwerp for s in r.spatial) == bboxes
    public = sum(1 for o in graph.objects(None, POD.accessLevel) if str(o).lower() == "public")
    assert sum(r.access_rights == EU + "access-right/PUBLIC" for r in antwerp) == public == 491
    assert not any(f.is_download for r in antwerp for f in r.resources)  # accessURL only, as the sample has
    endpoint = {r.identifier: r for r in records(dcat, f"{url}/ckanext-dcatde_catalog-endpoint.rdf")}
    graph = sample_graph("ckanext-dcatde_catalog-endpoint.rdf")
    periods = {}
    for dataset, period in graph.subject_objects(ns.DCTERMS.temporal):
        start, end = graph.value(period, SCHEMA.startDate), graph.value(period, SCHEMA.endDate)
        periods[str(graph.value(dataset, ns.DCTERMS.identifier))] = (str(start), str(end))
    assert len(periods) == 4
    assert {i: (r.temporal["start"], r.temporal["end"]) for i, r in endpoint.items() if r.temporal} == periods


def test_ckan_spatial_from_envidat() -> None:
    package = json.loads((SHARED / "samples" / "ckan" / "envidat.ch_package_show.json").read_text())["result"]
    record = dataset_from_package("https://www.envidat.ch", package)
    assert record is not None and record.spatial == [package["spatial"].strip()]


def test_ckanext_dcat_fields() -> None:
    package = {"id": "x", "extras": [{"key": "temporal_start", "value": "2010-01-01"},
                                     {"key": "temporal_end", "value": "2012-12-31T23:59:59"},
                                     {"key": "spatial_uri", "value": "http://sws.geonames.org/2644688/"},
                                     {"key": "access_rights", "value": EU + "access-right/PUBLIC"}],
               "resources": [{"url": "http://x.example/a.csv", "rights": "Attribution required",
                              "access_url": "http://x.example/a"}]}
    record = dataset_from_package("http://x.example", package)
    assert record is not None
    assert record.temporal == {"start": "2010-01-01", "end": "2012-12-31T23:59:59"}
    assert record.spatial == ["http://sws.geonames.org/2644688/"]
    assert record.access_rights == EU + "access-right/PUBLIC"
    [resource] = record.resources
    assert (resource.rights, resource.access_url, resource.is_download) == ("Attribution required",
                                                                           "http://x.example/a", True)


@pytest.mark.parametrize("name", ["data.ny.gov_excerpt.data.json", "socrata-2013-08-28_data.seattle.gov.data.json"])
def test_datajson_access_level_becomes_the_eu_access_right(name: str) -> None:
    entries = json.loads((DCAT_SAMPLES / name).read_text())
    entries = entries["dataset"] if isinstance(entries, dict) else entries
    public = sum(1 for e in entries if str(e.get("accessLevel", "")).lower() == "public")
    with (DCAT_SAMPLES / name).open("rb") as fh:
        got = [r for r in entries_in(fh, name) if isinstance(r, HarvestedDataset)]
    assert sum(r.access_rights == EU + "access-right/PUBLIC" for r in got) == public > 0


def test_datajson_spatial_temporal_rights_and_access_urls(file_server: tuple[str, Path]) -> None:
    document = {"conformsTo": "https://project-open-data.cio.gov/v1.1/schema", "dataset": [{
        "identifier": "t", "title": "T", "accessLevel": "public", "spatial": "Seattle, WA",
        "temporal": "2000-01-15T00:45:00Z/P1W", "rights": "Contains personal data",
        "distribution": [{"accessURL": "https://example.org/api"},
                         {"downloadURL": "https://example.org/t.csv", "accessURL": "https://example.org/t"}]}]}
    url, root = file_server
    (root / "data.json").write_text(json.dumps(document), encoding="utf-8")
    with Egress(allow_private_addresses=True) as egress:
        [record] = [r for r in harvester_for("datajson", egress=egress).gather(f"{url}/data.json")
                    if isinstance(r, HarvestedDataset)]
    assert record.spatial == ["Seattle, WA"] and record.rights == "Contains personal data"
    assert record.temporal == {"start": "2000-01-15T00:45:00+00:00", "end": "2000-01-22T00:45:00+00:00"}
    api, csv = record.resources
    assert (api.url, api.access_url, api.is_download) == ("https://example.org/api", "https://example.org/api", False)
    assert (csv.url, csv.access_url, csv.is_download) == ("https://example.org/t.csv", "https://example.org/t", True)


def test_rostock_harvested_on_loopback_and_scored(instance: Instance, file_server: tuple[str, Path]) -> None:
    url, root = file_server
    text = (DCAT_SAMPLES / ROSTOCK).read_text(encoding="utf-8").replace(ROSTOCK_FILES, url + "/")
    (root / ROSTOCK).write_text(text, encoding="utf-8")
    served = ["download/opendata/lieferservices/lieferservices.json",
              "download/opendata/lieferservices/lieferservices.csv"]
    for path in served:  # two of the nine files answer; the services and other downloads do not
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text('{"type": "FeatureCollection", "features": []}' if path.endswith(".json")
                                 else "name,street\nPizza Roma,Lange Str. 1\n", encoding="utf-8")
    add_source(instance, "rostock", f"{url}/{ROSTOCK}")
    harvest(instance, "rostock")
    graph = sample_graph(ROSTOCK)
    [subject] = graph.subjects(ns.RDF.type, ns.DCAT.Dataset)
    [score] = assess_all(instance)
    met = {i.key for i in score.indicators if i.points == i.max_points}
    # What the sample says, counted by rdflib; file facts from the two distributions that answer.
    json_dist = next(d for d in graph.objects(subject, ns.DCAT.distribution)
                     if str(graph.value(d, ns.DCAT.downloadURL)).endswith("lieferservices.json"))
    expected = {
        "keyword-availability": bool(list(graph.objects(subject, ns.DCAT.keyword))),
        "category-availability": bool(list(graph.objects(subject, ns.DCAT.theme))),
        "spatial-availability": bool(list(graph.objects(subject, ns.DCTERMS.spatial))),
        "temporal-availability": bool(list(graph.objects(subject, ns.DCTERMS.temporal))),
        "access-rights-availability": graph.value(subject, ns.DCTERMS.accessRights) is not None,
        "access-rights-vocabulary": str(graph.value(subject, ns.DCTERMS.accessRights)).startswith(EU + "access-right/"),
        "contact-point-availability": graph.value(subject, ns.DCAT.contactPoint) is not None,
        "publisher-availability": True,  # Lodestar's record always names the publisher
        "date-issued-availability": graph.value(subject, ns.DCTERMS.issued) is not None,
        "date-modified-availability": True,  # Lodestar fetched content, so it records its last change
        "access-url-status": True, "download-url-availability": True, "download-url-status": True,
        "format-availability": graph.value(json_dist, ns.DCTERMS.format) is not None,
        "media-type-availability": graph.value(json_dist, ns.DCAT.mediaType) is not None,
        "format-media-type-vocabulary": str(graph.value(json_dist, ns.DCTERMS.format)) == EU + "file-type/GEOJSON",
        "format-non-proprietary": True, "format-machine-readable": True,  # GeoJSON is on both EDP lists
        "licence-availability": graph.value(json_dist, ns.DCTERMS.license) is not None,
        "known-licence": True,  # dcat-ap.de's cc-zero is CC0 in the EU licence table
        "rights-availability": graph.value(json_dist, ns.DCTERMS.rights) is not None,
        "byte-size-availability": True,  # Lodestar fetched the file and records its size
        "dcat-ap-compliance": conforming(record_of(instance)),
    }
    assert met == {key for key, holds in expected.items() if holds}
    assert expected["temporal-availability"] is False and expected["dcat-ap-compliance"] is True
    assert score.total == 405 - 20 and score.rating == "Excellent"
    assert [i.key for i in score.fix_first] == ["temporal-availability"]
    access = next(i for i in score.indicators if i.key == "access-url-status")
    nine = len(list(graph.objects(subject, ns.DCAT.distribution)))
    assert access.met.endswith(f"{len(served)} of {nine} do")
    with instance.session() as session:
        dataset = session.scalar(select(Dataset))
        assert dataset is not None
        assert dataset.metadata_json["access_rights"] == str(graph.value(subject, ns.DCTERMS.accessRights))
        assert len(dataset.metadata_json["spatial"]) == 2


def record_of(instance: Instance) -> Graph:
    with instance.session() as session:
        dataset = session.scalars(select(Dataset).options(
            selectinload(Dataset.resources).selectinload(Resource.latest_version))).one()
        return dataset_record(instance.uris, dataset)
