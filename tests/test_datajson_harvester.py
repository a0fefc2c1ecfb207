"""The DCAT-US data.json harvester on the real recorded catalogues (../shared/samples/dcat), served over loopback.

The San Francisco, Seattle, Raleigh and Somerville files are Socrata's legacy v1.0 bare arrays
(2013); the data.ny.gov excerpt is a v1.1 catalogue object. The catalogue written in this file
(`WRITTEN_V11`) follows the field list of the DCAT-US v1.1 schema
(https://resources.data.gov/resources/dcat-us/) and its values are this test's own.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from harvesters import harvester_for
from harvesters.base import HarvestedDataset, Harvester, ListingItem, ListingProblem
from harvesters.datajson import NOTES_KEY, PROBLEMS_KEY, VERSION_KEY, frequency_problem, parse_when
from portal.egress import Egress
from portal.errors import SourceError, SourceUnavailableError
from portal.instance import Instance
from tests.conftest import SHARED

SAMPLES = SHARED / "samples" / "dcat"
SAN_FRANCISCO = "socrata-2013-08-28_data.sfgov.org.data.json"
LEGACY = [SAN_FRANCISCO, "socrata-2013-08-28_data.seattle.gov.data.json",
          "socrata-2013-08-28_data.raleighnc.gov.data.json", "socrata-2013-08-28_data.somervillema.gov.data.json"]
NEW_YORK = "data.ny.gov_excerpt.data.json"


@pytest.fixture
def datajson() -> Iterator[Harvester]:
    """The data.json harvester, allowed to reach the loopback file server."""
    with Egress(allow_private_addresses=True, backoff=0.01, retries=0) as egress:
        yield harvester_for("datajson", egress=egress)


def serve(file_server: tuple[str, Path], name: str, as_name: str | None = None) -> str:
    url, root = file_server
    target = root / (as_name or name)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SAMPLES / name, target)
    return f"{url}/{as_name or name}"


def serve_text(file_server: tuple[str, Path], name: str, text: str | bytes) -> str:
    url, root = file_server
    (root / name).write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return f"{url}/{name}"


def records(items: list[ListingItem]) -> list[HarvestedDataset]:
    return [item for item in items if isinstance(item, HarvestedDataset)]


def entries_of(name: str) -> list[dict[str, Any]]:
    """The sample's entries, read with the standard library: the count the harvester must reach."""
    document = json.loads((SAMPLES / name).read_text(encoding="utf-8"))
    entries = document if isinstance(document, list) else document["dataset"]
    assert isinstance(entries, list)
    return entries


# -- the real samples ------------------------------------------------------------------------------------

def test_all_370_san_francisco_entries(datajson: Harvester, file_server: tuple[str, Path]) -> None:
    entries = entries_of(SAN_FRANCISCO)
    assert len(entries) == 370  # the samples' README counts 370 entries
    items = list(datajson.gather(serve(file_server, SAN_FRANCISCO)))
    got = records(items)
    assert len(items) == len(got) == 370
    assert [r.identifier for r in got] == [e["identifier"] for e in entries]
    assert all(r.extras[VERSION_KEY] == "1.0" for r in got)
    # The first entry describes the data.json itself: Socrata's `frequency` key is its frequency.
    assert got[0].identifier == "https://data.sfgov.org/data.json" and got[0].frequency == "hourly"
    assert got[0].resources == []  # only a webService: an API, not a file
    assert got[0].extras["webService"] == "https://data.sfgov.org/data.json"


@pytest.mark.parametrize("name", LEGACY + [NEW_YORK])
def test_every_sample_with_its_count(datajson: Harvester, file_server: tuple[str, Path], name: str) -> None:
    entries = entries_of(name)
    got = records(list(datajson.gather(serve(file_server, name))))
    assert [r.identifier for r in got] == [e["identifier"] for e in entries]
    assert [r.title for r in got] == [e["title"].strip() for e in entries]
    with_files = [e for e in entries if e.get("distribution") or e.get("accessURL")]
    assert sum(1 for r in got if r.resources) == len(with_files)


def test_legacy_socrata_entry_mapping(datajson: Harvester, file_server: tuple[str, Path]) -> None:
    entries = entries_of("socrata-2013-08-28_data.seattle.gov.data.json")
    got = {r.identifier: r for r in records(list(
        datajson.gather(serve(file_server, "socrata-2013-08-28_data.seattle.gov.data.json"))))}
    crime = got["e3zj-s4zh"]
    entry = next(e for e in entries if e["identifier"] == "e3zj-s4zh")
    assert crime.keywords == ["crime", "violent", "seattle"]
    assert crime.issued == datetime(2009, 11, 23, tzinfo=timezone.utc)  # releaseDate, the v1.0 name
    assert crime.modified == datetime(2013, 3, 22, tzinfo=timezone.utc)
    assert crime.licence == entry["license"]  # kept as given, for the normaliser
    assert [(r.url, r.media_type, r.format) for r in crime.resources] == [
        (d["accessURL"], d["formats"][0]["value"], d["formats"][0]["label"]) for d in entry["distribution"]]
    # Fields with no home are kept as given.
    assert crime.extras["accessLevel"] == "Public"
    assert crime.extras["webService"] == "https://data.seattle.gov/resource/e3zj-s4zh"
    assert crime.extras["feed"] == entry["feed"] and crime.extras["created"] == "2009-11-23"
    assert "releaseDate" not in crime.extras  # it became `issued`


def test_comma_separated_v10_keywords_and_params_in_media_type(datajson: Harvester,
                                                                file_server: tuple[str, Path]) -> None:
    got = {r.identifier: r for r in records(list(
        datajson.gather(serve(file_server, "socrata-2013-08-28_data.raleighnc.gov.data.json"))))}
    parking = got["g3uq-k7zm"]
    assert parking.keywords == []  # "keyword": "" in the file
    [zipfile] = parking.resources
    assert zipfile.media_type == "application/zip"  # "application/zip; charset=binary"
    schools = {r.identifier: r for r in records(list(
        datajson.gather(serve(file_server, SAN_FRANCISCO))))}["7ygx-tr8p"]
    assert schools.keywords == ["education", "san francisco", "schools"]


def test_new_york_v11_catalogue(datajson: Harvester, file_server: tuple[str, Path]) -> None:
    [record] = records(list(datajson.gather(serve(file_server, NEW_YORK))))
    assert record.extras[VERSION_KEY] == "1.1"
    assert record.publisher_name == "State of New York"
    assert record.contact_email == "opendata@its.ny.gov"
    assert record.extras["contactPoint"]["fn"] == "Open Data NY"
    assert record.issued == datetime(2016, 7, 21, tzinfo=timezone.utc)
    assert record.modified == datetime(2019, 6, 10, tzinfo=timezone.utc)
    assert record.landing_page == "https://data.ny.gov/d/22ew-dxez"
    assert record.themes == ["Economic Development"]
    assert len(record.keywords) == 13
    assert [r.media_type for r in record.resources] == ["text/csv", "application/rdf+xml", "application/json",
                                                       "application/xml"]
    # Socrata's columns.json is a data dictionary, not a Table Schema: kept, not used as one.
    json_dist = record.resources[2]
    assert json_dist.schema is None
    assert json_dist.extras["describedBy"] == "https://data.ny.gov/api/views/22ew-dxez/columns.json"
    assert PROBLEMS_KEY not in record.extras


def test_version_is_sniffed_from_the_document_not_the_url(datajson: Harvester,
                                                          file_server: tuple[str, Path]) -> None:
    v11 = records(list(datajson.gather(serve(file_server, NEW_YORK, "legacy/v1.0/data.json"))))
    v10 = records(list(datajson.gather(serve(file_server, SAN_FRANCISCO, "v1.1/catalog.json"))))
    assert {r.extras[VERSION_KEY] for r in v11} == {"1.1"}
    assert {r.extras[VERSION_KEY] for r in v10} == {"1.0"}


# -- a written v1.1 catalogue ------------------------------------------------------------------------------

def dataset(identifier: str, **fields: Any) -> dict[str, Any]:
    return {"@type": "dcat:Dataset", "identifier": identifier, "title": f"Dataset {identifier}",
            "accessLevel": "public", **fields}


WRITTEN_V11: dict[str, Any] = {
    "@context": "https://project-open-data.cio.gov/v1.1/schema/catalog.jsonld",
    "@type": "dcat:Catalog",
    "conformsTo": "https://project-open-data.cio.gov/v1.1/schema",
    "dataset": [
        dataset(
            "full", description="Every field", keyword=["trees", "parks"], modified="2013-08",
            issued="2012-01-15T14:30:00-05:00", accrualPeriodicity="R/P1D",
            license="https://creativecommons.org/publicdomain/zero/1.0/",
            publisher={"@type": "org:Organization", "name": "Parks Department",
                       "subOrganizationOf": {"@type": "org:Organization", "name": "City of Example"}},
            contactPoint={"@type": "vcard:Contact", "fn": "Jane Doe", "hasEmail": "mailto:jane@example.org"},
            spatial="-122.5,37.7,-122.3,37.8", temporal="2010-01-01/2012-12-31", theme=["Environment"],
            language=["en-US", "es"], landingPage="https://example.org/trees",
            bureauCode=["015:11"], programCode=["015:001"], dataQuality=True,
            systemOfRecords="https://example.org/sorn",
            references=["https://example.org/paper"], primaryITInvestmentUII="023-000000001",
            describedBy="https://example.org/dictionary.pdf", rights="none", isPartOf="collection-1",
            **{"x-city-extension": {"ward": 5}},
            distribution=[
                {"@type": "dcat:Distribution", "downloadURL": "https://example.org/trees.csv",
                 "mediaType": "text/csv", "format": "CSV", "title": "Trees", "description": "All trees",
                 "describedBy": "https://example.org/trees.json", "describedByType": "application/schema+json",
                 "conformsTo": "https://example.org/standards/trees"},
                {"@type": "dcat:Distribution", "accessURL": "https://example.org/api/trees", "format": "API"},
                {"@type": "dcat:Distribution", "downloadURL": "https://example.org/trees.zip",
                 "accessURL": "https://example.org/download-page",
                 "describedBy": "https://example.org/trees.schema.json"},
                {"@type": "dcat:Distribution", "title": "no URL"},
            ]),
        dataset("hourly", accrualPeriodicity="R/PT1H", modified="R/P1D"),
        dataset("fortnightly-half-month", accrualPeriodicity="R/P0.5M"),
        dataset("irregular", accrualPeriodicity="irregular", modified="2014-02-03 10:20:30"),
        dataset("words", accrualPeriodicity="weekly", modified="last tuesday"),
        dataset("bad-unit", accrualPeriodicity="R/P1X"),
        dataset("restricted", accessLevel="restricted public"),
        dataset("secret", accessLevel="non-public"),
        {"title": "no identifier", "accessLevel": "public"},
        "not an object",
        dataset("last"),
    ],
}


@pytest.fixture
def written(datajson: Harvester, file_server: tuple[str, Path]) -> list[ListingItem]:
    return list(datajson.gather(serve_text(file_server, "data.json", json.dumps(WRITTEN_V11, indent=1))))


def test_v11_fields_are_mapped(written: list[ListingItem]) -> None:
    full = records(written)[0]
    assert full.identifier == "full" and full.description == "Every field"
    assert full.keywords == ["trees", "parks"]
    assert full.modified == datetime(2013, 8, 1, tzinfo=timezone.utc)  # a partial date: its first day
    assert full.issued == datetime(2012, 1, 15, 19, 30, tzinfo=timezone.utc)
    assert full.issued.utcoffset() == timedelta(hours=-5)
    assert full.frequency == "R/P1D"
    assert full.publisher_name == "Parks Department"
    assert full.extras["publisher"]["subOrganizationOf"]["name"] == "City of Example"
    assert full.contact_email == "jane@example.org"
    assert full.languages == ["en-US", "es"] and full.themes == ["Environment"]
    assert full.landing_page == "https://example.org/trees"
    assert full.licence == "https://creativecommons.org/publicdomain/zero/1.0/"


def test_v11_fields_without_a_home_are_kept_in_extras(written: list[ListingItem]) -> None:
    full = records(written)[0]
    for key in ("bureauCode", "programCode", "dataQuality", "systemOfRecords", "references",
                "primaryITInvestmentUII", "spatial", "temporal", "rights", "isPartOf", "describedBy",
                "x-city-extension", "accessLevel"):
        assert full.extras[key] == WRITTEN_V11["dataset"][0][key], key
    assert PROBLEMS_KEY not in full.extras


def test_v11_distributions(written: list[ListingItem]) -> None:
    full = records(written)[0]
    csv, api, zipped = full.resources
    assert (csv.url, csv.media_type, csv.format, csv.title, csv.description) == (
        "https://example.org/trees.csv", "text/csv", "CSV", "Trees", "All trees")
    assert csv.schema == "https://example.org/trees.json"  # describedByType application/schema+json
    assert csv.extras["conformsTo"] == "https://example.org/standards/trees"
    assert api.url == "https://example.org/api/trees" and api.schema is None
    assert zipped.url == "https://example.org/trees.zip"  # downloadURL wins over accessURL
    assert zipped.extras["accessURL"] == "https://example.org/download-page"
    assert zipped.schema == "https://example.org/trees.schema.json"  # named like a Table Schema
    assert full.extras[NOTES_KEY] == ["distribution[3] has no downloadURL or accessURL and is not harvested"]


def test_accrual_periodicity_values(written: list[ListingItem]) -> None:
    got = {r.identifier: r for r in records(written)}
    assert got["hourly"].frequency == "R/PT1H"
    assert got["fortnightly-half-month"].frequency == "R/P0.5M"
    assert got["irregular"].frequency == "irregular"
    for valid in ("hourly", "fortnightly-half-month", "irregular"):
        assert PROBLEMS_KEY not in got[valid].extras, valid
    # Unparsable values are kept as given, with a problem note.
    assert got["words"].frequency == "weekly"
    assert any("accrualPeriodicity 'weekly'" in p for p in got["words"].extras[PROBLEMS_KEY])
    assert got["bad-unit"].frequency == "R/P1X"
    assert any("'P1X'" in p for p in got["bad-unit"].extras[PROBLEMS_KEY])


def test_modified_that_is_not_a_date(written: list[ListingItem]) -> None:
    got = {r.identifier: r for r in records(written)}
    hourly = got["hourly"]
    assert hourly.modified is None and hourly.extras["modified"] == "R/P1D"
    assert "modified 'R/P1D' is a repeating duration, not a date" in hourly.extras[NOTES_KEY]
    assert got["irregular"].modified == datetime(2014, 2, 3, 10, 20, 30, tzinfo=timezone.utc)
    words = got["words"]
    assert words.modified is None and words.extras["modified"] == "last tuesday"
    assert "modified 'last tuesday' is not an ISO 8601 date" in words.extras[PROBLEMS_KEY]


def test_only_public_datasets_are_yielded_and_bad_entries_are_problems(written: list[ListingItem]) -> None:
    assert [r.identifier for r in records(written)] == [
        "full", "hourly", "fortnightly-half-month", "irregular", "words", "bad-unit", "last"]
    problems = [item for item in written if isinstance(item, ListingProblem)]
    assert [p.where.rsplit(" ", 1)[-1] for p in problems] == ["dataset[8]", "dataset[9]"]
    assert "no identifier" in problems[0].message and "not str" in problems[1].message


def test_catalogue_object_without_conforms_to_is_read_with_a_note(datajson: Harvester,
                                                                  file_server: tuple[str, Path]) -> None:
    document = {"dataset": [dataset("a")]}
    [record] = records(list(datajson.gather(serve_text(file_server, "data.json", json.dumps(document)))))
    assert record.extras[VERSION_KEY] == "1.1"
    assert "conformsTo None" in record.extras[NOTES_KEY][0]


def test_utf8_byte_order_mark(datajson: Harvester, file_server: tuple[str, Path]) -> None:
    body = b"\xef\xbb\xbf" + json.dumps([dataset("bom")]).encode("utf-8")
    [record] = records(list(datajson.gather(serve_text(file_server, "data.json", body))))
    assert record.identifier == "bom"


# -- values ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    ("2013", datetime(2013, 1, 1, tzinfo=timezone.utc)),
    ("2013-08", datetime(2013, 8, 1, tzinfo=timezone.utc)),
    ("2013-08-28", datetime(2013, 8, 28, tzinfo=timezone.utc)),
    ("2013-08-28T10:15:00Z", datetime(2013, 8, 28, 10, 15, tzinfo=timezone.utc)),
    ("2013-08-28T10:15:00+02:00", datetime(2013, 8, 28, 8, 15, tzinfo=timezone.utc)),
    ("2013-08-28 10:15:00", datetime(2013, 8, 28, 10, 15, tzinfo=timezone.utc)),
    ("R/P1D", None), ("", None), ("yesterday", None), (20130828, None),
])
def test_dates(value: Any, expected: datetime | None) -> None:
    assert parse_when(value) == expected


@pytest.mark.parametrize("value", ["R/P1D", "R/PT1H", "R/P0.5M", "R/P1Y", "R/P1W", "R/P3.5D", "R5/P1M",
                                   "irregular", "Irregular"])
def test_valid_frequencies(value: str) -> None:
    assert frequency_problem(value) is None


@pytest.mark.parametrize("value", ["P1D", "R/", "R/1D", "R/P", "daily", "RX/P1D", "R/P1D/extra", "R/PT", "R/P0D"])
def test_invalid_frequencies(value: str) -> None:
    assert frequency_problem(value) is not None


# -- faults ------------------------------------------------------------------------------------------------

def test_truncated_catalogue_is_a_located_error_before_any_record(datajson: Harvester,
                                                                  file_server: tuple[str, Path]) -> None:
    whole = (SAMPLES / SAN_FRANCISCO).read_bytes()
    cut = whole[: len(whole) // 2]
    text = cut.decode("utf-8", "ignore")
    line, column = text.count("\n") + 1, len(text.rsplit("\n", 1)[-1]) + 1  # the end of what arrived
    listing = datajson.gather(serve_text(file_server, "data.json", cut))
    with pytest.raises(SourceError, match=rf"data\.json: not valid JSON at line {line}, column {column}"):
        next(listing)  # nothing is yielded from a document that is not whole


def test_invalid_json_is_located(datajson: Harvester, file_server: tuple[str, Path]) -> None:
    body = '[\n  {"identifier": "a"},\n  {"identifier" "b"}\n]\n'
    with pytest.raises(SourceError, match=r"line 3, column 17: Expecting ':' delimiter"):
        list(datajson.gather(serve_text(file_server, "data.json", body)))


@pytest.mark.parametrize(("body", "message"), [
    ('{"@type": "dcat:Catalog", "conformsTo": "https://project-open-data.cio.gov/v1.1/schema"}',
     "without a `dataset` array"),
    ('{"dataset": {"identifier": "a"}}', "without a `dataset` array"),
    ('"a string"', "not a single JSON string"),
    ("", "not valid JSON"),
])
def test_documents_that_are_not_catalogues(datajson: Harvester, file_server: tuple[str, Path], body: str,
                                           message: str) -> None:
    with pytest.raises(SourceError, match=message):
        list(datajson.gather(serve_text(file_server, "data.json", body)))


def test_oversized_catalogue_is_refused(file_server: tuple[str, Path]) -> None:
    url = serve(file_server, SAN_FRANCISCO)
    with Egress(allow_private_addresses=True, retries=0) as egress:
        small = harvester_for("datajson", egress=egress, max_bytes=100_000)
        with pytest.raises(SourceError, match="100000"):
            list(small.gather(url))


def test_missing_catalogue_is_unavailable(datajson: Harvester, file_server: tuple[str, Path]) -> None:
    url, _ = file_server
    with pytest.raises(SourceUnavailableError, match="404"):
        list(datajson.gather(f"{url}/nothing/data.json"))


def test_local_catalogue_file(datajson: Harvester) -> None:
    got = records(list(datajson.gather((SAMPLES / NEW_YORK).as_uri())))
    assert [r.identifier for r in got] == [e["identifier"] for e in entries_of(NEW_YORK)]


@pytest.mark.e2e
def test_pipeline_harvests_a_datajson_source(instance: Instance, file_server: tuple[str, Path]) -> None:
    from portal.pipeline import add_source, harvest
    from tests.conftest import TOILETS

    url, root = file_server
    shutil.copyfile(TOILETS, root / "toilets.csv")
    catalogue = {**WRITTEN_V11, "dataset": [
        dataset("toilets", accrualPeriodicity="R/P1M", publisher={"name": "Lambeth"},
                distribution=[{"downloadURL": f"{url}/toilets.csv", "mediaType": "text/csv"}]),
        dataset("hidden", accessLevel="non-public",
                distribution=[{"downloadURL": f"{url}/toilets.csv", "mediaType": "text/csv"}])]}
    add_source(instance, "lambeth-json", serve_text(file_server, "data.json", json.dumps(catalogue)), kind="datajson")
    outcome = harvest(instance, "lambeth-json")
    assert outcome.status == "finished", outcome.problems
    assert outcome.datasets_seen == 1  # the non-public entry is not harvested
    [report] = outcome.reports
    assert report.valid


def test_v10_specification_shapes(datajson: Harvester, file_server: tuple[str, Path]) -> None:
    # The Project Open Data v1.0 field names (2013): publisher and contactPoint as strings, mbox,
    # free-text accrualPeriodicity, dataDictionary, and distribution[].format as the media type.
    entry = {"identifier": "1234", "title": "Budget", "accessLevel": "public", "publisher": "Finance Office",
             "contactPoint": "John Roe", "mbox": "john@example.org", "accrualPeriodicity": "Annually",
             "issued": "2012", "modified": "2013-01-05", "language": "en", "theme": "Finance",
             "keyword": ["budget"], "dataDictionary": "https://example.org/budget-dictionary.html",
             "distribution": [{"accessURL": "https://example.org/budget.csv", "format": "text/csv"}],
             "webService": "https://example.org/api/budget"}
    [record] = records(list(datajson.gather(serve_text(file_server, "data.json", json.dumps([entry])))))
    assert record.extras[VERSION_KEY] == "1.0"
    assert record.publisher_name == "Finance Office" and record.contact_email == "john@example.org"
    assert record.extras["contactPoint"] == "John Roe" and "mbox" not in record.extras
    assert record.frequency == "Annually" and PROBLEMS_KEY not in record.extras  # v1.0 frequency is free text
    assert record.issued == datetime(2012, 1, 1, tzinfo=timezone.utc)
    assert record.languages == ["en"] and record.themes == ["Finance"]
    assert record.extras["dataDictionary"] == entry["dataDictionary"]
    assert record.extras["webService"] == entry["webService"]
    [resource] = record.resources
    assert (resource.url, resource.media_type, resource.format) == ("https://example.org/budget.csv", "text/csv",
                                                                    "text/csv")
