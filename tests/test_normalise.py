"""The one normaliser: harvested values → EU authority tables, with the source's spelling kept.

Most cases are values found in the real samples (../shared/samples): which file each comes from is
noted beside it. Expected IRIs are written out in full, not computed by the code under test.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import SKOS

from harvesters.base import HarvestedDataset, HarvestedResource
from harvesters.dcat import datasets_in, parse_catalogue
from harvesters.normalise import normalise
from tests.conftest import SHARED
from vocab.authority import TABLES, table
from vocab.authority.match import file_type, frequency, language, licence, media_type_of, theme

EU = "http://publications.europa.eu/resource/authority/"
SAMPLES = SHARED / "samples"
VOCABULARIES = SHARED / "vocabularies"


# ---- licences ------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "code"), [
    ("http://dcat-ap.de/def/licenses/cc-zero", "CC0"),  # dcat/ckanext-dcat_dataset_gov_de.rdf
    ("http://dcat-ap.de/def/licenses/cc-by", "CC_BY"),  # dcat/ckanext-dcatde_catalog-endpoint.rdf
    ("http://dcat-ap.de/def/licenses/dl-by-de/2.0", None),  # German data licence: not in the EU table
    ("http://dcat-ap.de/def/licenses/mozilla", None),
    ("https://datos.madrid.es/egob/catalogo/aviso-legal", None),  # dcat/ckanext-dcat_dataset_gob_es.ttl
    ("cc-by", "CC_BY"),  # ckan/*: CKAN license_id, unversioned
    ("other-open", None), ("other-pd", None), ("other-undefined", None), ("uk-ogl", None),
    ("odc-odbl", "ODC_BL"), ("cc-zero", "CC0"), ("odc-by", "ODC_BY"), ("odc-pddl", "ODC_PDDL"),
    ("http://www.opendefinition.org/licenses/cc-by", "CC_BY"),  # ckan/*: license_url of cc-by
    ("https://creativecommons.org/licenses/by/4.0/", "CC_BY_4_0"),  # ckan/envidat: license_url
    ("http://creativecommons.org/licenses/by/4.0", "CC_BY_4_0"),
    ("https://creativecommons.org/licenses/by/4.0/legalcode", "CC_BY_4_0"),
    ("https://creativecommons.org/licenses/by-sa/4.0/deed.de", "CC_BYSA_4_0"),
    ("https://creativecommons.org/licenses/by-nc-nd/3.0/legalcode.fr", "CC_BYNCND_3_0"),
    ("https://creativecommons.org/publicdomain/zero/1.0/", "CC0"),
    ("Creative Commons Attribution (CC-BY 4.0)", "CC_BY_4_0"),  # ckan/envidat: license_title
    ("Creative Commons Attribution 4.0 International", "CC_BY_4_0"),
    ("Creative Commons Attribution", "CC_BY"),  # ckan/*: license_title of cc-by
    ("CC-BY-4.0", "CC_BY_4_0"), ("CC-BY-SA-4.0", "CC_BYSA_4_0"), ("CC0-1.0", "CC0"), ("ODbL-1.0", "ODC_BL"),
    ("CC-BY-NC-SA-2.0", "CC_BYNCSA_2_0"), ("EUPL-1.2", "EUPL_1_2"), ("PDDL-1.0", "ODC_PDDL"),
    ("http://publications.europa.eu/resource/authority/licence/CC_BY_4_0", "CC_BY_4_0"),
    ("https://publications.europa.eu/resource/authority/licence/CC0/", "CC0"),
    ("CC_BY_4_0", "CC_BY_4_0"),
    ("https://joinup.ec.europa.eu/collection/eupl/eupl-text-11-12", None),  # names EUPL 1.1 and 1.2 alike
    ("", None), ("Other (Open)", None),
])
def test_licences(value: str, code: str | None) -> None:
    found = licence(value)
    assert (found.uri if found else None) == (f"{EU}licence/{code}" if code else None)


# ---- frequencies ---------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "code"), [
    ("P1Y", "ANNUAL"),  # dcat/ckanext-dcat_dataset_gob_es.ttl (time:years 1.0, read as P1Y)
    ("http://publications.europa.eu/resource/authority/frequency/ANNUAL", "ANNUAL"),  # dcatde endpoint
    ("Monthly", "MONTHLY"),  # ckan/toronto: refresh_rate
    ("R/P1D", "DAILY"), ("R/P1M", "MONTHLY"), ("R/P1W", "WEEKLY"), ("R/P3M", "QUARTERLY"), ("P12M", "ANNUAL"),
    ("R/P6M", "ANNUAL_2"), ("R/PT1H", "HOURLY"), ("R/2024-01-01T00:00:00Z/P1D", "DAILY"),
    ("daily", "DAILY"), ("weekly", "WEEKLY"), ("monthly", "MONTHLY"), ("quarterly", "QUARTERLY"),
    ("annual", "ANNUAL"), ("irregular", "IRREG"), ("biennial", "BIENNIAL"),
    ("semiweekly", "WEEKLY_2"), ("threeTimesAYear", "ANNUAL_3"),  # udata / DC Collection labels
    ("http://purl.org/cld/freq/quarterly", "QUARTERLY"),
    ("jährlich", "ANNUAL"), ("mensual", "MONTHLY"), ("jaarlijks", "ANNUAL"),  # EU table labels
    ("semidaily", "DAILY_2"), ("quinquennial", "QUINQUENNIAL"),  # udata, later EU codes
    ("indien nodig", "AS_NEEDED"),  # dcat/antwerpen_dcat.xml, in descriptions ("as needed" in Dutch)
    ("punctual", "AS_NEEDED"),  # udata's id; udata maps punctual → as_needed (LEGACY_FREQUENCIES)
    ("every full moon", None), ("", None), ("R/P0D", None), ("R/P1X", None),
])
def test_frequencies(value: str, code: str | None) -> None:
    assert frequency(value) == (f"{EU}frequency/{code}" if code else None)


@pytest.mark.parametrize(("value", "duration"), [
    ("P3D", "P3D"), ("R/P2D", "P2D"), ("every 3 days", "P3D"),  # read, but no EU concept: an ISO 8601 duration
    ("fourTimesADay", "PT6H"), ("threeTimesADay", "PT8H"),  # udata labels
])
def test_frequencies_without_an_eu_concept(value: str, duration: str) -> None:
    assert frequency(value) == duration


# ---- file types and media types ------------------------------------------------------------

@pytest.mark.parametrize(("value", "code", "media_type"), [
    ("CSV", "CSV", "text/csv"),  # dcat/antwerpen_dcat.xml dc:format, ckan/* format
    ("csv", "CSV", "text/csv"), (".csv", "CSV", "text/csv"), ("CSV file", "CSV", "text/csv"),
    ("text/csv", "CSV", "text/csv"), ("text/csv; charset=utf-8", "CSV", "text/csv"),
    ("https://www.iana.org/assignments/media-types/text/csv", "CSV", "text/csv"),
    ("GeoJSON", "GEOJSON", "application/geo+json"),  # antwerpen
    ("application/vnd.geo+json", "GEOJSON", "application/geo+json"),  # antwerpen dcat:mediaType (old name)
    ("Web Page", "HTML", "text/html"),  # antwerpen
    ("KML", "KML", "application/vnd.google-earth.kml+xml"), ("ZIP", "ZIP", "application/zip"),
    ("XLS", "XLS", "application/vnd.ms-excel"),  # gob_es dct:IMT label
    ("application/vnd.ms-excel", "XLS", "application/vnd.ms-excel"),
    ("http://publications.europa.eu/resource/authority/file-type/GEOJSON", "GEOJSON", "application/geo+json"),
    ("https://www.iana.org/assignments/media-types/application/gml+xml", "GML", "application/gml+xml"),
    ("JSON", "JSON", "application/json"), (".json", "JSON", "application/json"),
    ("application/xml", "XML", "application/xml"), ("ODT", "ODT", "application/vnd.oasis.opendocument.text"),
    ("gpkg", "GPKG", "application/geopackage+sqlite3"), ("SHP", "SHP", None), ("Shapefile", "SHP", None),
    ("PDF", "PDF", "application/pdf"),
    ("ArcGIS GeoServices REST API", None, None),  # antwerpen: no such EU file type
    ("zip+csv", None, None), ("Kartenviewer", None, None),  # ckan/dados.gov.br, dcatde endpoint
    ("http://publications.europa.eu/resource/authority/file-type/WFS", None, None),  # an old code, gone
    ("application/octet-stream", None, None),  # two EU file types (BIN, OCTET): not guessed
])
def test_file_types(value: str, code: str | None, media_type: str | None) -> None:
    found = file_type(value)
    assert (found.uri if found else None) == (f"{EU}file-type/{code}" if code else None)
    if found is not None:
        assert media_type_of(found) == media_type


# ---- languages and themes ------------------------------------------------------------------

@pytest.mark.parametrize(("value", "code"), [
    ("es", "SPA"),  # gob_es dct:language
    ("http://publications.europa.eu/resource/authority/language/DEU", "DEU"),  # gov_de
    ("en", "ENG"),  # data.json / CKAN "language": "en"
    ("de-DE", "DEU"), ("nl_BE", "NLD"), ("fra", "FRA"), ("ger", "DEU"), ("dut", "NLD"), ("ENG", "ENG"),
    ("English", "ENG"), ("Deutsch", "DEU"), ("Nederlands", "NLD"), ("espagnol", "SPA"),
    ("xx", None), ("Klingon", None), ("", None),
])
def test_languages(value: str, code: str | None) -> None:
    found = language(value)
    assert (found.uri if found else None) == (f"{EU}language/{code}" if code else None)


@pytest.mark.parametrize(("value", "code"), [
    ("http://publications.europa.eu/resource/authority/data-theme/ECON", "ECON"),  # gov_de
    ("ENVI", "ENVI"), ("Environment", "ENVI"), ("Umwelt", "ENVI"), ("Milieu", "ENVI"), ("Medio ambiente", "ENVI"),
    ("Transport", "TRAN"), ("Verkehr", "TRAN"), ("Health", "HEAL"), ("Gesundheit", "HEAL"),
    ("Economy and finance", "ECON"), ("Economy", "ECON"), ("Sport", "EDUC"), ("Energie", "ENER"),
    ("geospatial", None),  # antwerpen dcat:theme literal
    ("http://datos.gob.es/kos/sector-publico/sector/deporte", None),  # gob_es: a national sector, kept
    ("Government", "GOVE"),  # a part of one label only ("Government and public sector")
    ("Open data", None), ("Regions and towns", None),
])
def test_themes(value: str, code: str | None) -> None:
    found = theme(value)
    assert (found.uri if found else None) == (f"{EU}data-theme/{code}" if code else None)


# ---- whole records -------------------------------------------------------------------------

def _sample_record(name: str) -> HarvestedDataset:
    path = SAMPLES / "dcat" / name
    [record] = list(datasets_in(parse_catalogue(path.read_bytes(), f"http://example.test/{name}")))
    return record


def test_madrid_record() -> None:
    record = _sample_record("ckanext-dcat_dataset_gob_es.ttl")
    normalise(record)
    assert record.frequency == f"{EU}frequency/ANNUAL"
    assert record.languages == [f"{EU}language/SPA"]
    assert record.licence == "https://datos.madrid.es/egob/catalogo/aviso-legal"  # no EU concept: as given
    [resource] = record.resources
    assert (resource.format, resource.media_type) == (f"{EU}file-type/XLS", "application/vnd.ms-excel")
    assert record.original["frequency"] == "P1Y"
    assert record.original["languages"] == ["es"]
    assert record.original["formats"] == {resource.url: {"format": "XLS"}}
    assert record.original["unmapped"] == {
        "licence": "https://datos.madrid.es/egob/catalogo/aviso-legal",
        "themes": ["http://datos.gob.es/kos/sector-publico/sector/deporte"]}


def test_rostock_record() -> None:
    record = _sample_record("ckanext-dcat_dataset_gov_de.rdf")
    normalise(record)
    assert record.licence == f"{EU}licence/CC0"
    assert record.original["licence"] == "http://dcat-ap.de/def/licenses/cc-zero"
    assert all(r.licence == f"{EU}licence/CC0" for r in record.resources)
    assert "themes" not in record.original and "languages" not in record.original  # already EU IRIs
    csv = next(r for r in record.resources if r.url.endswith(".csv"))
    assert (csv.format, csv.media_type) == (f"{EU}file-type/CSV", "text/csv")
    assert record.original["unmapped"]["formats"] == {
        "https://geo.sv.rostock.de/geodienste/lieferservices/wfs": {"format": f"{EU}file-type/WFS"},
        "https://geo.sv.rostock.de/geodienste/lieferservices/wms": {"format": f"{EU}file-type/WMS"}}


def test_a_ckan_shaped_record() -> None:
    """Values as a CKAN harvester would hand them over (ckan/toronto and ckan/demo.ckan.org shapes)."""
    record = HarvestedDataset(
        identifier="street-tree-data", title="Street Tree Data", licence="cc-by", frequency="Monthly",
        themes=["Environment", "Parks"], languages=["en"],
        resources=[HarvestedResource(url="https://example.test/trees.csv", format="CSV", media_type="text/csv"),
                   HarvestedResource(url="https://example.test/trees.zip", format="zip+csv"),
                   HarvestedResource(url="https://example.test/trees.geojson", format="GeoJSON")])
    normalise(record)
    assert record.licence == f"{EU}licence/CC_BY"
    assert record.frequency == f"{EU}frequency/MONTHLY"
    assert record.themes == [f"{EU}data-theme/ENVI", "Parks"]
    assert record.languages == [f"{EU}language/ENG"]
    trees_csv, trees_zip, trees_geojson = record.resources
    assert (trees_csv.format, trees_csv.media_type) == (f"{EU}file-type/CSV", "text/csv")
    assert (trees_zip.format, trees_zip.media_type) == ("zip+csv", "")
    assert (trees_geojson.format, trees_geojson.media_type) == (f"{EU}file-type/GEOJSON", "application/geo+json")
    assert record.original == {
        "licence": "cc-by", "frequency": "Monthly", "themes": ["Environment", "Parks"], "languages": ["en"],
        "formats": {"https://example.test/trees.csv": {"format": "CSV"},
                    "https://example.test/trees.geojson": {"format": "GeoJSON", "media_type": ""}},
        "unmapped": {"themes": ["Parks"], "formats": {"https://example.test/trees.zip": {"format": "zip+csv"}}},
    }
    json.dumps(record.original)  # storable as JSON


def test_unknown_frequency_is_left_and_noted() -> None:
    record = HarvestedDataset(identifier="x", title="x", frequency="every full moon")
    normalise(record)
    assert record.frequency == "every full moon"
    assert record.original == {"unmapped": {"frequency": "every full moon"}}


def test_a_period_without_an_eu_concept_becomes_a_duration() -> None:
    record = HarvestedDataset(identifier="x", title="x", frequency="every 3 days")
    normalise(record)
    assert record.frequency == "P3D"
    assert record.original == {"frequency": "every 3 days"}


def test_normalise_twice_changes_nothing() -> None:
    record = _sample_record("ckanext-dcat_dataset_gov_de.rdf")
    normalise(record)
    once = copy.deepcopy(record)
    normalise(record)
    assert record == once


def test_every_antwerp_record_normalises() -> None:
    path = SAMPLES / "dcat" / "antwerpen_dcat.xml"
    graph = parse_catalogue(path.read_bytes(), "http://example.test/antwerpen_dcat.xml")
    formats: dict[str, int] = {}
    for record in datasets_in(graph):
        normalise(record)
        for resource in record.resources:
            formats[resource.format] = formats.get(resource.format, 0) + 1
    # Antwerp's distributions: CSV, GeoJSON, KML, ZIP, web pages, and ArcGIS REST services: no EU file
    # type by their label, but JSON by their media type (application/json).
    assert formats == {f"{EU}file-type/CSV": 476, f"{EU}file-type/GEOJSON": 476, f"{EU}file-type/KML": 475,
                       f"{EU}file-type/ZIP": 475, f"{EU}file-type/HTML": 491, f"{EU}file-type/JSON": 491}


# ---- the tables themselves -----------------------------------------------------------------

SOURCE_FILES = {"licence": "licence/licences-skos.rdf", "data-theme": "data-theme/data-theme-skos-ap-act.rdf",
                "file-type": "file-type/filetypes-skos.rdf", "language": "language/language-subset-geonetwork.rdf",
                "frequency": "frequency/frequencies-skos-ap-act.rdf"}


@pytest.mark.parametrize("name", TABLES)
def test_compact_tables_hold_every_concept_of_the_source(name: str) -> None:
    source = Graph()
    source.parse(VOCABULARIES / SOURCE_FILES[name], format="xml")
    compact = table(name)
    concepts = {str(c) for c in source.subjects(SKOS.inScheme, URIRef(compact.scheme))}
    assert {c.uri for c in compact.concepts.values()} == concepts


def test_compact_tables_are_in_the_repository() -> None:
    folder = Path(__file__).resolve().parents[1] / "vocab" / "authority"
    assert {p.stem for p in folder.glob("*.json")} == set(TABLES)
    assert "vocabularies/" in (folder / "PROVENANCE.md").read_text(encoding="utf-8")


def test_characters_no_database_or_xml_holds_become_replacement_characters() -> None:
    record = HarvestedDataset(
        identifier="a\x00b", title="Trees\x00", description="line one\nline two\ttab\x0b",
        keywords=["ok", "bad\x01"], extras={"key\x02": {"deep": ["\ud800x"]}, "n": 3},
        resources=[HarvestedResource(url="http://x.example/t.csv", title="T\x1f", extras={"v": "\ufffe"})])
    normalise(record)
    assert (record.identifier, record.title) == ("a\ufffdb", "Trees\ufffd")
    assert record.description == "line one\nline two\ttab\ufffd"  # tab, line feed, carriage return stay
    assert record.keywords == ["ok", "bad\ufffd"]
    assert record.extras == {"key\ufffd": {"deep": ["\ufffdx"]}, "n": 3}
    assert (record.resources[0].title, record.resources[0].extras) == ("T\ufffd", {"v": "\ufffd"})
    before = repr(record)
    normalise(record)
    assert repr(record) == before


def test_first_unprintable_names_what_a_name_or_url_may_not_hold() -> None:
    from vocab.text import first_unprintable

    assert first_unprintable("leeds/trees") is None and first_unprintable("a b") is None
    assert first_unprintable("a b", space=False) == " "
    for bad in ("\x00", "\x07", "\u200b", "\ud800", "\uffff", "\u2028"):
        assert first_unprintable(f"ok{bad}x") == bad, repr(bad)
