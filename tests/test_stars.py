"""Star ratings: licences, formats and links as real sources give them, and the ratings on a harvested dataset.

Licence values come from the recorded samples in ../shared/samples (each case names its file;
`test_licence_values_are_the_samples_own` checks they are really there) and pass through the
harvester's normaliser first, so the rating sees what a harvest stores.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from rdflib import Graph, Literal, URIRef, Variable
from sqlalchemy import select

from harvesters import HarvestedDataset, HarvestedResource
from harvesters.normalise import normalise
from portal.db import Resource
from portal.instance import Instance
from portal.openness import judge_format, judge_licence
from portal.pipeline import harvest
from portal.stars import NO_LINKS, Distribution, add_measurements, link_counts, rate, rate_as_published
from portal.store import ask, select_rows
from portal.web import create_app
from portal.web.sparql import close_query_pool
from tests.conftest import BASE_URL, SHARED, TOILETS
from vocab.linking import linker
from vocab.uris import UriScheme

SAMPLES = SHARED / "samples"
SERVED_AT = f"{BASE_URL}/dataset/p/d"
DATASET = f"{BASE_URL}/dataset/lambeth/community-toilets"
GRAPH = f"{BASE_URL}/graph/lambeth/community-toilets"
OGL3 = "http://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"
CSV_FILE = ("https://example.org/data.csv", "CSV", "")


def _datajson_licence(name: str, starts: str) -> str:
    """The first licence text in a recorded data.json catalogue that starts with `starts`."""
    entries = json.loads((SAMPLES / "dcat" / name).read_text(encoding="utf-8"))
    return next(e["license"] for e in entries if str(e.get("license", "")).startswith(starts))


def _ckan(name: str, field: str) -> str:
    """A licence field of a recorded CKAN `package_show` answer."""
    package = json.loads((SAMPLES / "ckan" / name).read_text(encoding="utf-8"))
    return str(package.get("result", package)[field])


def harvested(licence: str | None, files: list[tuple[str, str, str]]) -> tuple[dict[str, Any], list[Distribution]]:
    """Metadata and distributions as a harvest stores them: the record normalised, each file fetched."""
    record = HarvestedDataset("d", "D", licence=licence, resources=[
        HarvestedResource(url, format=fmt, media_type=media) for url, fmt, media in files])
    normalise(record)
    metadata = {"licence": record.licence, "original": record.original,
                "resources": [{"url": r.url, "format": r.format, "media_type": r.media_type, "licence": r.licence}
                              for r in record.resources]}
    return metadata, [Distribution(r.url, r.url.rsplit("/", 1)[-1], r.format, r.media_type, r.licence, fetched=True)
                      for r in record.resources]


# (raw licence, sample it comes from, open?, words the evidence or next step must contain)
LICENCES = [
    (_ckan("demo.ckan.org_17be64bb-da74-4195-9bb8-565c39846af2.json", "license_id"), "CKAN license_id", True,
     "EU licence table (CC_BY)"),
    (_ckan("demo.ckan.org_17be64bb-da74-4195-9bb8-565c39846af2.json", "license_url"), "CKAN license_url", True,
     "EU licence table (CC_BY)"),
    (_ckan("demo.ckan.org_62513382-3b26-4bc8-9096-40b6ce8383c0.json", "license_id"), "CKAN other-open", False,
     "add a licence (“Other (Open)” says the data is open but names no licence"),
    (_ckan("envidat.ch_package_show.json", "license_id"), "CKAN other-undefined", False, "add a licence ("),
    ("https://creativecommons.org/licenses/by/4.0/", "envidat.ch_package_search.json license_url", True,
     "CC BY 4.0, open per the EU licence table (CC_BY_4_0)"),
    ("http://dcat-ap.de/def/licenses/cc-zero", "ckanext-dcat_dataset_gov_de.rdf", True, "(CC0)"),
    ("http://dcat-ap.de/def/licenses/dl-by-de/2.0", "ckanext-dcatde_catalog-endpoint.rdf", True,
     "Datenlizenz Deutschland – Namensnennung 2.0, open per Lodestar's list of open licences"),
    ("http://dcat-ap.de/def/licenses/dl-zero-de/2.0", "ckanext-dcatde_catalog-endpoint.rdf", True,
     "Datenlizenz Deutschland – Zero 2.0"),
    ("http://dcat-ap.de/def/licenses/cc-by-nd", "ckanext-dcatde_catalog-endpoint.rdf", False,
     "choose an open licence (CC BY-ND 4.0 forbids derivative works"),
    ("http://dcat-ap.de/def/licenses/mozilla", "ckanext-dcatde_catalog-endpoint.rdf", False,
     "add a licence Lodestar recognises as open"),
    ("https://datos.madrid.es/egob/catalogo/aviso-legal", "ckanext-dcat_dataset_gob_es.ttl", False,
     "is neither in the EU licence table nor in Lodestar's list"),
    (_datajson_licence("socrata-2013-08-28_data.sfgov.org.data.json", "Creative Commons 1.0 Universal"),
     "data.json text naming CC0 on its last line", True, "CC0 1.0"),
    (_datajson_licence("socrata-2013-08-28_data.sfgov.org.data.json", "Creative Commons Attribution-Share"),
     "data.json text naming CC BY-SA 3.0", True, "(CC_BYSA_3_0)"),
    (_datajson_licence("socrata-2013-08-28_data.sfgov.org.data.json", "Creative Commons Attribution-Noncommercial"),
     "data.json text naming CC BY-NC-SA 3.0", False, "forbids commercial use"),
    (_datajson_licence("socrata-2013-08-28_data.raleighnc.gov.data.json", "Public Domain\n"),
     "data.json “Public Domain” with no dedication", False, "add a licence Lodestar recognises as open"),
    (OGL3, "OGL v3 (Lambeth and Oxford files, per the samples README)", True, "Open Government Licence v3.0"),
    ("OGL-UK-3.0", "SPDX id", True, "Open Government Licence v3.0"),
    (None, "data.ny.gov_excerpt.data.json has no license", False, "add a licence (none is declared"),
]


@pytest.mark.parametrize("raw, where, is_open, words", LICENCES, ids=[c[1] for c in LICENCES])
def test_licence_decides_the_first_star(raw: str | None, where: str, is_open: bool, words: str) -> None:
    metadata, files = harvested(raw, [CSV_FILE])
    rating = rate_as_published(metadata, files)
    first = rating["evidence"][0]
    assert first["earned"] is is_open
    assert rating["stars"] == (3 if is_open else 0)  # the CSV gives stars 2 and 3 once star 1 is there
    assert words in (first["why"] if is_open else f"{first['why']} | {rating['next']}")
    assert rating["evidence"][2]["met"] is True  # the CSV's open format is still shown without a licence


def test_licence_values_are_the_samples_own() -> None:
    checked = 0
    for raw, where, _, _ in LICENCES:
        named = [p for p in (SAMPLES / "dcat" / where.split()[0], SAMPLES / "ckan" / where.split()[0]) if p.is_file()]
        if raw is not None and named:
            assert raw in named[0].read_text(encoding="utf-8"), (raw, where)
            checked += 1
    assert checked == 7
    assert "license" not in (SAMPLES / "dcat" / "data.ny.gov_excerpt.data.json").read_text(encoding="utf-8")


@pytest.mark.parametrize("raw, code", [("cc-by", "CC_BY"), ("http://www.opendefinition.org/licenses/cc-by", "CC_BY"),
                                       ("CC-BY-4.0", "CC_BY_4_0"), ("odc-odbl", "ODC_BL")])
def test_the_normalised_iri_and_the_source_spelling_get_one_verdict(raw: str, code: str) -> None:
    metadata, _ = harvested(raw, [])
    assert metadata["licence"] == f"http://publications.europa.eu/resource/authority/licence/{code}"
    assert metadata["original"]["licence"] == raw
    stored, spelled = judge_licence(metadata["licence"]), judge_licence(raw)
    assert stored is not None and spelled is not None
    assert (stored.open, stored.name, stored.basis) == (spelled.open, spelled.name, spelled.basis)
    assert stored.open is True and stored.basis == f"the EU licence table ({code})"
    first = rate_as_published(*harvested(raw, [CSV_FILE]))["evidence"][0]["why"]
    assert f"(the source says “{raw}”)" in first


# (files as a source declares them: url, format, media type) → stars as published under CC BY 4.0
FORMATS = [
    ([("https://x.org/a.csv", "CSV", "")], 3, None),
    ([("https://x.org/a.xlsx", "XLSX", "")], 2, "publish it in an open format too (CSV instead of Excel"),
    ([("https://x.org/a", "", "application/vnd.ms-excel")], 2, "open format"),
    ([("https://x.org/a.pdf", "PDF", "")], 1, "publish the data as a structured file"),
    ([("https://x.org/page", "Web Page", "")], 1, "structured file"),
    ([("https://x.org/a.geojson", "", "application/vnd.geo+json")], 3, None),
    ([("https://x.org/a.zip", "ZIP", "")], 1, "structured file"),
    ([("https://x.org/export/trees.csv?download=1", "", "")], 3, None),  # known by its file name only
    ([("https://x.org/a.pdf", "PDF", ""), ("https://x.org/a.xlsx", "XLSX", ""), ("https://x.org/a.json", "JSON", "")],
     3, None),
    ([("https://x.org/a.ttl", "", "text/turtle")], 4, "not assessed"),
]


@pytest.mark.parametrize("files, stars, words", FORMATS)
def test_formats_decide_stars_two_to_four(files: list[tuple[str, str, str]], stars: int, words: str | None) -> None:
    metadata, distributions = harvested("CC-BY-4.0", files)
    rating = rate_as_published(metadata, distributions)
    assert rating["stars"] == stars
    if words is not None:
        assert words in rating["next"]


def test_the_data_ny_gov_distributions_earn_four_stars_once_licensed() -> None:
    entry = json.loads((SAMPLES / "dcat" / "data.ny.gov_excerpt.data.json").read_text())["dataset"][0]
    files = [(d["downloadURL"], "", d["mediaType"]) for d in entry["distribution"]]
    unlicensed = rate_as_published(*harvested(entry.get("license"), files))
    assert unlicensed["stars"] == 0 and unlicensed["next"].startswith("add a licence")
    assert [e["met"] for e in unlicensed["evidence"]] == [False, True, True, True, None]
    licensed = rate_as_published(*harvested("CC0-1.0", files))
    assert licensed["stars"] == 4
    five = licensed["evidence"][4]
    assert five["met"] is None and five["why"].startswith("not assessed:")
    assert "rows.rdf?accessType=DOWNLOAD: RDF XML (by its format)" in licensed["evidence"][3]["why"]


def test_five_stars_as_published_needs_counted_outside_links() -> None:
    metadata, [ttl] = harvested("CC0-1.0", [("https://x.org/a.ttl", "RDF_TURTLE", "")])
    linked = Distribution(ttl.url, "a.ttl", ttl.format, ttl.media_type, outside_iris=42)
    closed = Distribution(ttl.url, "a.ttl", ttl.format, ttl.media_type, outside_iris=0)
    assert rate_as_published(metadata, [linked])["stars"] == 5
    assert rate_as_published(metadata, [linked])["next"] is None
    assert rate_as_published(metadata, [closed])["stars"] == 4


def test_files_nobody_could_fetch_are_not_on_the_web() -> None:
    metadata, [csv_file] = harvested("CC0-1.0", [CSV_FILE])
    gone = Distribution(csv_file.url, "data.csv", csv_file.format, csv_file.media_type, fetched=False)
    rating = rate_as_published(metadata, [gone])
    assert rating["stars"] == 0 and "could be fetched" in rating["evidence"][0]["why"]


DISTRICT = {"district": {"linked": 3210, "total": 3400, "scheme": "the district register",
                         "unmatched_examples": ["Nrth Ward", "Sth"]}}


def _served(**facts: Any) -> Distribution:
    return Distribution("https://x.org/t.csv", "t", "CSV", "text/csv", fetched=True, table_rows=3400, **facts)


@pytest.mark.parametrize("licence, table, links, stars, next_step", [
    ("CC-BY-4.0", _served(latest_valid=True, published_triples=30_600, row_iris=f"{BASE_URL}/id/p/d/"), DISTRICT, 5,
     "to link every value: 3,210 of 3,400 `district` values link to the district register; "
     "190 do not match: “Nrth Ward”, “Sth”, …."),
    ("CC-BY-4.0", _served(latest_valid=True, published_triples=30_600), None, 4, NO_LINKS),
    ("CC-BY-4.0", _served(latest_valid=True, published_triples=30_600),
     {"district": {"linked": 100, "total": 3400, "scheme": "the district register"}}, 4,
     "make most values of a column match the register's codes or labels: 100 of 3,400 `district` values"),
    ("CC-BY-4.0", _served(latest_valid=False), None, 3, "fix the errors in the validation report of t"),
    ("other-open", _served(latest_valid=True, published_triples=30_600), DISTRICT, 0,
     "add a licence (“Other (Open)” says the data is open but names no licence; CC BY 4.0 or CC0 1.0 would earn "
     "the first star) — Lodestar serves the data under the publisher's licence and cannot choose one"),
])
def test_stars_as_served(licence: str, table: Distribution, links: Any, stars: int, next_step: str) -> None:
    metadata, _ = harvested(licence, [])
    served = rate(metadata, [table], served_at=SERVED_AT, links=links)["as_served"]
    assert served["stars"] == stars
    assert served["next"] == next_step or served["next"].startswith(next_step)
    assert [e["star"] for e in served["evidence"]] == [1, 2, 3, 4, 5]
    assert served["evidence"][0]["why"].startswith(f"served by Lodestar at {SERVED_AT}")


def test_row_iris_and_links_are_the_evidence_of_stars_four_and_five() -> None:
    metadata, _ = harvested("CC-BY-4.0", [])
    table = _served(latest_valid=True, published_triples=30_600, row_iris=f"{BASE_URL}/id/p/d/", links=DISTRICT)
    evidence = rate(metadata, [table], served_at=SERVED_AT)["as_served"]["evidence"]
    assert evidence[3]["why"] == f"t: each row has its own IRI under {BASE_URL}/id/p/d/ (30,600 triples)"
    stale = _served(latest_valid=False, published_triples=30_600, schema_source="matched:public-toilets")
    why = rate(metadata, [stale], served_at=SERVED_AT)["as_served"]["evidence"][3]["why"]
    assert why == ("t: each row has its own IRI under the dataset (30,600 triples, schema matched:public-toilets); "
                   "its latest version does not validate, so the last valid one stays published")
    assert evidence[4]["why"].startswith("3,210 of 3,400 `district` values link to the district register; 190 do")


def test_link_statistics_read_in_both_shapes() -> None:
    uris = UriScheme(BASE_URL)
    wards = linker(uris, "lambeth-ward")
    stats = wards.stats("AREA")
    with TOILETS.open(encoding="utf-8") as table:
        list(wards.link_all((row["AREA"] for row in csv.DictReader(table)), stats))
    as_dict = stats.as_dict()
    keyed = link_counts({"AREA": as_dict})
    assert keyed == link_counts([as_dict]) == link_counts(as_dict)
    [count] = keyed
    assert (count.linked, count.total, count.unmatched) == (stats.linked, stats.total, stats.unmatched)
    assert count.message == stats.message()


def test_format_and_licence_verdicts_name_their_table() -> None:
    assert judge_format("http://publications.europa.eu/resource/authority/file-type/XLSX", None).kind == "proprietary"
    assert judge_format(None, "application/ld+json").kind == "rdf"
    assert judge_format(None, None, "https://x.org/report.pdf").kind == "document"
    verdict = judge_licence("http://publications.europa.eu/resource/authority/licence/ODC_BL")
    assert verdict is not None and verdict.open and verdict.basis == "the EU licence table (ODC_BL)"
    assert judge_licence("   ") is None


def test_measurements_answer_sparql_on_stars() -> None:
    uris = UriScheme(BASE_URL)
    graph = Graph()
    for slug, licence in (("low", None), ("high", "CC-BY-4.0")):
        metadata, files = harvested(licence, [CSV_FILE])
        add_measurements(graph, uris, URIRef(f"{BASE_URL}/dataset/p/{slug}"),
                         rate(metadata, files, served_at=SERVED_AT))
    below_three = graph.query(f"""PREFIX dqv: <http://www.w3.org/ns/dqv#>
        SELECT ?d ?v WHERE {{ ?d dqv:hasQualityMeasurement ?m .
        ?m dqv:isMeasurementOf <{BASE_URL}/def/starsAsPublished> ; dqv:value ?v FILTER(?v < 3) }}""")
    found = [(b[Variable("d")], b[Variable("v")]) for b in below_three.bindings]
    assert found == [(URIRef(f"{BASE_URL}/dataset/p/low"), Literal(0))]  # typed xsd:integer


def _with_licence(folder: Path, licence: str) -> None:
    catalogue = folder / "catalog.ttl"
    text = catalogue.read_text(encoding="utf-8")
    catalogue.write_text(text.replace('dct:identifier "community-toilets" ;',
                                      f'dct:identifier "community-toilets" ;\n  dct:license <{licence}> ;'),
                         encoding="utf-8")


def test_a_harvested_dataset_shows_both_ratings_everywhere(instance: Instance, source: Path) -> None:
    _with_licence(source, OGL3)
    harvest(instance, "lambeth")
    app = create_app({"TESTING": True}, instance=instance)
    try:
        client = app.test_client()
        detail = client.get("/dataset/lambeth/community-toilets.json").get_json()
        page = client.get("/dataset/lambeth/community-toilets").get_data(as_text=True)
    finally:
        close_query_pool(app)
    published, served = detail["stars"]["as_published"], detail["stars"]["as_served"]
    [table] = detail["resources"]
    assert table["published_triples"] > 0
    assert (published["stars"], served["stars"]) == (3, 4)
    assert "Open Government Licence v3.0 (UK), open per Lodestar's list" in published["evidence"][0]["why"]
    assert "read by Lodestar as a table of 30 rows" in published["evidence"][1]["why"]
    assert published["next"].startswith("publish an RDF distribution")
    assert served["evidence"][3]["why"] == (
        f"{table['slug']}: each row has its own IRI under {BASE_URL}/id/lambeth/community-toilets/ "
        f"({table['published_triples']:,} triples, schema {table['validation']['stats']['schema_source']})")
    assert served["next"] == NO_LINKS
    for heading, count, shown in (("As the publisher published it", 3, "★★★☆☆"), ("As Lodestar serves it", 4, "★★★★☆")):
        assert f'{heading}: <span class="star-count" aria-label="{count} of 5 stars">{shown}</span>' in page
    assert NO_LINKS in page and "publish an RDF distribution" in page
    prefixes = "PREFIX dqv: <http://www.w3.org/ns/dqv#> PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>"
    for metric, value in (("starsAsPublished", 3), ("starsAsServed", 4)):
        assert ask(instance.store, f"""{prefixes} ASK {{ GRAPH <{GRAPH}> {{
            <{DATASET}> dqv:hasQualityMeasurement ?m . ?m a dqv:QualityMeasurement ;
            dqv:isMeasurementOf <{BASE_URL}/def/{metric}> ; dqv:value ?v .
            FILTER(?v = {value} && datatype(?v) = xsd:integer) }} }}""")
    below = f"""{prefixes} SELECT ?d WHERE {{ GRAPH ?g {{ ?d dqv:hasQualityMeasurement ?m .
        ?m dqv:isMeasurementOf <{BASE_URL}/def/starsAsPublished> ; dqv:value ?v FILTER(?v < %d) }} }}"""
    assert select_rows(instance.store, below % 3) == []
    assert select_rows(instance.store, below % 4) == [{"d": DATASET}]
    assert ask(instance.store, f"""{prefixes} ASK {{ GRAPH <{GRAPH}> {{
        ?m dqv:isMeasurementOf <{BASE_URL}/def/starsAsServed> ; <http://www.w3.org/2000/01/rdf-schema#comment> ?c .
        FILTER(STRSTARTS(?c, "star 4 (URIs to denote things) earned: ")) }} }}""")


def test_an_unlicensed_harvest_says_add_a_licence_and_reads_stored_links(instance: Instance, source: Path) -> None:
    harvest(instance, "lambeth")  # the test catalogue declares no licence
    wards = linker(instance.uris, "lambeth-ward")
    stats = wards.stats("AREA")
    with TOILETS.open(encoding="utf-8") as table:
        list(wards.link_all((row["AREA"] for row in csv.DictReader(table)), stats))
    with instance.session() as session:  # where the upgrade step will keep its link statistics
        version = session.scalars(select(Resource)).one().published_version
        assert version is not None and version.report_json is not None
        report = dict(version.report_json)
        report["stats"] = {**report["stats"], "links": {"AREA": stats.as_dict()}}
        version.report_json = report
    app = create_app({"TESTING": True}, instance=instance)
    try:
        stars = app.test_client().get("/dataset/lambeth/community-toilets.json").get_json()["stars"]
    finally:
        close_query_pool(app)
    for rating in stars.values():
        assert rating["stars"] == 0 and rating["next"].startswith("add a licence (none is declared")
    served = stars["as_served"]["evidence"]
    assert [e["met"] for e in served] == [False, True, True, True, False]
    assert served[4]["why"].startswith(
        "1 of 30 `AREA` values link to Wards of the London Borough of Lambeth (2002–2022); 29 do not match: "
        "“Streatham” (5)")


@pytest.mark.parametrize(("value", "is_open", "name"), [
    ("https://creativecommons.org/licenses/by/3.0/de/", True, "CC BY 3.0 DE"),  # Köln's AED register
    ("http://creativecommons.org/licenses/by-sa/3.0/at/deed.de", True, "CC BY-SA 3.0 AT"),
    ("https://creativecommons.org/licenses/by-nc-sa/3.0/de/", False, "CC BY-NC-SA 3.0 DE"),
    ("https://creativecommons.org/licenses/by-nd/2.5/es/", False, "CC BY-ND 2.5 ES"),
    ("https://open.toronto.ca/open-data-license/", True, "Open Government Licence – Toronto"),
    ("https://creativecommons.org/about/", None, ""),
])
def test_ported_creative_commons_and_city_licences(value: str, is_open: bool | None, name: str) -> None:
    from portal.openness import judge_licence

    verdict = judge_licence(value)
    assert verdict is not None and (verdict.open, verdict.name) == (is_open, name)
