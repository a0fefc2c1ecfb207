"""Curated mappings: every bundled schema's CSVW mapping converts a real sample to linked data.

Each of the 17 samples that match a bundled schema goes through the whole four/five-star path:
schema matching, the derivation pre-pass (WGS84 coordinates, district links), the bridge merged
with the curated mapping, and the W3C CSVW converter. Expected values are read from the samples
(first rows) and from the reference tables' published codes, never from the code under test.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
from rdflib import RDF, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, XSD

from portal.report import Report
from schemas.loader import bundled_schemas, load_schema
from schemas.matching import match_table
from schemas.sniff import sniff
from tests.conftest import SHARED
from vocab.bridge import column_name, csvw_metadata
from vocab.csvw import csv2rdf, file_url
from vocab.geo import to_wgs84
from vocab.linking import Linker
from vocab.mappings import HERE, mapping_for, names
from vocab.mappings.derivation import DerivationResult, derive
from vocab.reference import scheme
from vocab.uris import UriScheme

SAMPLES = SHARED / "samples" / "csv"
BASE = "http://example.org"
URIS = UriScheme(BASE)
SDO = "http://schema.org/"
GEO = "http://www.opengis.net/ont/geosparql#"
POS = "http://www.w3.org/2003/01/geo/wgs84_pos#"
SDMXD = "http://purl.org/linked-data/sdmx/2009/dimension#"
QB = "http://purl.org/linked-data/cube#"

#: The samples of tests/test_matching.py that match a schema → the district scheme of their publisher.
SAMPLE_FILES = {
    "oxford_expenditure-over-500_jan-mar-2017.csv": None,
    "oxford_expenditure-over-500_jan-mar-2014.csv": None,
    "lambeth_payments-over-500_2012-06.csv": None,
    "dh_spend-over-25k_2011-09.csv": None,
    "koeln_haushalt_teilfinanzplan.csv": None,
    "koeln_haushalt_bezirke_produktgruppen.csv": "koeln-stadtbezirk",
    "montgomerycountymd_procurement-contracts.csv": None,
    "lambeth_planning-decisions_2010.csv": None,
    "chicago_building-permits_tower-cranes.csv": None,
    "toronto_street-trees_YO-york.csv": "toronto-ward",
    "lambeth_community-toilets.csv": None,
    "adur_public-toilets.csv": None,
    "koeln_aed-standorte.csv": None,
    "lambeth_polling-stations.csv": "lambeth-ward",
    "lambeth_schools.csv": None,
    "koeln_airbase_DENW053_luftqualitaet.csv": None,
    "boston_311-service-requests_100.csv": "boston-ward",
}
#: Samples whose matched fields give no typed literal, and why.
ALL_TEXT = {
    "koeln_aed-standorte.csv": "all four fields are text (German literals)",
    "lambeth_planning-decisions_2010.csv": "its only typed fields are dates written 04-Jan-10, "
                                           "which no CSVW date format reads (month names)",
}


def things(dataset: str) -> str:
    return f"{BASE}/id/pub/{dataset}/"


def convert(path: Path, tmp_path: Path, district: str | None, dataset: str = "ds",
            report: Report | None = None) -> tuple[Graph, DerivationResult, str]:
    """The whole upgrade of one table; returns the graph, what the pre-pass did, and the schema."""
    layout = sniff(path)
    found = match_table(path)
    assert found is not None
    match, adapted = found
    derived = tmp_path / f"derived-{dataset}.csv"
    with derived.open("w", encoding="utf-8", newline="") as out:
        result = derive(path, out, schema_name=match.schema, fields=match.mapping,
                        district=Linker(scheme(district), URIS) if district else None,
                        encoding=layout.encoding, delimiter=layout.delimiter,
                        header_row=layout.header_row)
    metadata = csvw_metadata(adapted, table_url=file_url(derived), uris=URIS, publisher="pub",
                             dataset=dataset, mapping=mapping_for(match.schema), fields=match.mapping,
                             derived=result.columns, report=report)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # invalid cells (e.g. US dates) warn and stay strings
        graph = csv2rdf(file_url(derived), metadata=metadata, minimal=True)
    return graph, result, match.schema


Converted = tuple[Graph, DerivationResult, str]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Converted]:
    """Each sample converted once per module run (with its publisher's district scheme)."""
    done: dict[str, Converted] = {}

    def converted(filename: str) -> Converted:
        if filename not in done:
            done[filename] = convert(SAMPLES / filename, tmp_path_factory.mktemp("sample"),
                                     SAMPLE_FILES[filename])
        return done[filename]

    return converted


def test_every_bundled_schema_has_a_mapping() -> None:
    assert set(names()) == set(bundled_schemas())


@pytest.mark.parametrize("name", sorted(bundled_schemas()))
def test_mapping_columns_name_real_fields(name: str) -> None:
    mapping = mapping_for(name)
    assert mapping is not None
    fields = {column_name(f["name"]): f["name"] for f in load_schema(name)["fields"]}
    columns = mapping["tableSchema"]["columns"]
    for column in columns:
        if column.get("virtual") or column["name"] in fields:
            if column["name"] in fields:
                assert column["titles"] == fields[column["name"]]
            continue
        # a derived column: the pre-pass writes it under its own name
        assert column["titles"] == column["name"], column
    vocabularies = {c.get("propertyUrl", "").split(":")[0] for c in columns}
    assert vocabularies & {"schema", "dcterms"}, f"{name} maps nothing to schema.org or DCTERMS"


@pytest.mark.parametrize("name", sorted(bundled_schemas()))
def test_mapping_documents_are_csvw_metadata_for_the_processor(name: str, tmp_path: Path) -> None:
    # Standalone (placeholders unfilled), each document must describe a table the processor reads.
    mapping = json.loads((HERE / f"{name}.csv-metadata.json").read_text(encoding="utf-8"))
    columns = [c for c in mapping["tableSchema"]["columns"] if not c.get("virtual")]
    table = tmp_path / f"{name}.csv"
    table.write_text(",".join(c["titles"] if "," not in c["titles"] else f'"{c["titles"]}"'
                              for c in columns) + "\n", encoding="utf-8")
    mapping["url"] = file_url(table)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no property the processor does not know
        graph = csv2rdf(file_url(table), metadata=mapping, minimal=True)
    assert len(graph) == 0  # a header and no rows


@pytest.mark.parametrize("filename", sorted(SAMPLE_FILES))
def test_every_sample_converts_to_four_star_data(filename: str, sample: Callable[[str], Converted]) -> None:
    graph, _, schema_name = sample(filename)
    rows = set(graph.subjects(RDF.type, URIRef(f"{BASE}/def/pub/ds/Row")))
    assert rows and all(str(r).startswith(things("ds")) for r in rows)
    predicates = {str(p) for p in graph.predicates()}
    assert any(p.startswith((SDO, str(DCTERMS), SDMXD, "http://purl.org/linked-data/sdmx/")) for p in predicates)
    typed = {o.datatype for o in graph.objects() if isinstance(o, Literal) and o.datatype}
    if filename in ALL_TEXT:
        assert not typed - {XSD.string}, ALL_TEXT[filename]
    else:
        assert typed - {XSD.string}, "no typed literal"
    curated_types = {str(o) for o in graph.objects(None, RDF.type)} - {f"{BASE}/def/pub/ds/Row"}
    assert curated_types, f"{schema_name}: rows have no curated class"


def test_polling_stations_rows_wards_and_points(sample: Callable[[str], Converted]) -> None:
    graph, result, _ = sample("lambeth_polling-stations.csv")
    row = URIRef(things("ds") + "NJA")  # primary key: polling district
    assert (row, URIRef(SDO + "name"), Literal("St John Angell Town CE Primary School")) in graph
    assert (row, DCTERMS.identifier, Literal("NJA")) in graph
    # "Coldharbour" is the Lambeth ward E05000420 (ONS GSS code, vocab/reference/lambeth-ward.csv)
    assert (row, URIRef(SDO + "containedInPlace"), URIRef(f"{BASE}/id/ref/lambeth-ward/E05000420")) in graph
    assert result.links["ward_ref"].linked == 95 and result.links["ward_ref"].unmatched == 0
    geometry = URIRef(str(row) + "#geometry")
    assert (row, URIRef(GEO + "hasGeometry"), geometry) in graph
    (wkt,) = graph.objects(geometry, URIRef(GEO + "asWKT"))
    assert isinstance(wkt, Literal) and wkt.datatype == URIRef(GEO + "wktLiteral")
    assert str(wkt).startswith("POINT(-0.1")
    (lat,) = graph.objects(row, URIRef(POS + "lat"))
    assert isinstance(lat, Literal) and lat.datatype == XSD.decimal and 51.46 < float(str(lat)) < 51.47


def test_the_same_ward_is_the_same_iri_in_two_datasets(tmp_path: Path) -> None:
    # Polling stations spell the ward "Bishops"; this planning table (LGA PlanningApplications
    # layout, written here) gives it once by GSS code and once by its official name "Bishop's".
    planning = tmp_path / "planning.csv"
    planning.write_text("CaseReference,Proposal,SiteAddress,Ward\n"
                        "10/00001/FUL,Rear extension,1 Lambeth Road,E05000416\n"
                        "10/00002/FUL,New shopfront,2 Lower Marsh,Bishop's\n", encoding="utf-8")
    stations, _, _ = convert(SAMPLES / "lambeth_polling-stations.csv", tmp_path, "lambeth-ward", "polls")
    applications, _, schema_name = convert(planning, tmp_path, "lambeth-ward", "planning")
    assert schema_name == "planning-applications"
    within = URIRef(SDO + "containedInPlace")
    bishops = URIRef(f"{BASE}/id/ref/lambeth-ward/E05000416")
    in_bishops = {s for s in stations.subjects(within, bishops)}
    assert in_bishops and all(str(s).startswith(things("polls")) for s in in_bishops)
    assert set(applications.subjects(within, bishops)) == {
        URIRef(things("planning") + "10%2F00001%2FFUL"), URIRef(things("planning") + "10%2F00002%2FFUL")}


def test_koeln_budget_is_a_data_cube_with_linked_districts(sample: Callable[[str], Converted]) -> None:
    graph, result, _ = sample("koeln_haushalt_bezirke_produktgruppen.csv")
    first = URIRef(things("ds") + "1")  # no primary key: the row number
    assert (first, RDF.type, URIRef(QB + "Observation")) in graph
    assert (first, URIRef(QB + "dataSet"), URIRef(f"{BASE}/dataset/pub/ds")) in graph
    assert (first, URIRef(SDMXD + "refArea"), URIRef(f"{BASE}/id/ref/koeln-stadtbezirk/1")) in graph
    assert result.links["district_ref"].linked == 1529
    # all nine Stadtbezirke occur in the sample (vocab/reference/PROVENANCE.md)
    areas = {str(o) for o in graph.objects(None, URIRef(SDMXD + "refArea"))}
    assert areas == {f"{BASE}/id/ref/koeln-stadtbezirk/{n}" for n in range(1, 10)}


def test_air_quality_observations_link_period_and_pollutant(sample: Callable[[str], Converted]) -> None:
    graph, _, _ = sample("koeln_airbase_DENW053_luftqualitaet.csv")
    first = URIRef(things("ds") + "1")
    assert (first, URIRef(SDMXD + "refPeriod"), URIRef("http://reference.data.gov.uk/id/year/1987")) in graph
    observed = URIRef("http://www.w3.org/ns/sosa/observedProperty")
    # AirBase component codes are the EEA pollutant notations: 1 is SO2 (the first row), 8 is NO2
    assert (first, observed, URIRef("http://dd.eionet.europa.eu/vocabulary/aq/pollutant/1")) in graph
    no2 = URIRef("http://dd.eionet.europa.eu/vocabulary/aq/pollutant/8")
    captions = {str(o) for s in graph.subjects(observed, no2)
                for o in graph.objects(s, URIRef(f"{BASE}/def/pub/ds/component-caption"))}
    assert captions == {"NO2"}
    assert (first, URIRef("http://purl.org/linked-data/sdmx/2009/measure#obsValue"),
            Literal("26.0", datatype=XSD.decimal)) in graph
    # "True" in the file: the mapping declares the True|False spelling
    assert Literal(True) in set(graph.objects(first))


def test_street_trees_keep_geojson_and_link_zero_padded_wards(sample: Callable[[str], Converted]) -> None:
    graph, result, _ = sample("toronto_street-trees_YO-york.csv")
    tree = URIRef(things("ds") + "18")  # primary key _id
    assert (tree, URIRef("http://rs.tdwg.org/dwc/terms/scientificName"), Literal("Prunus spp.")) in graph
    assert (tree, URIRef(SDO + "containedInPlace"), URIRef(f"{BASE}/id/ref/toronto-ward/5")) in graph  # "05"
    (geojson,) = graph.objects(URIRef(str(tree) + "#geometry"), URIRef(GEO + "asGeoJSON"))
    assert isinstance(geojson, Literal) and geojson.datatype == URIRef(GEO + "geoJSONLiteral")
    assert json.loads(str(geojson))["coordinates"] == [-79.4732365542727, 43.693748572596]
    assert result.links["ward_ref"].unmatched == 0
    # "None" is a missing value of the schema: no triple for it
    assert Literal("None") not in set(graph.objects())


def test_oxford_spending_keys_are_percent_encoded_like_the_portal_mints_them(sample: Callable[[str], Converted]) -> None:
    graph, _, _ = sample("oxford_expenditure-over-500_jan-mar-2017.csv")
    row = URIRef(URIS.thing("pub", "ds", "1034526 - 2"))
    assert str(row) == things("ds") + "1034526%20-%202"
    assert (row, URIRef(SDO + "amount"), Literal("200.00", datatype=XSD.decimal)) in graph
    assert (row, DCTERMS.date, Literal("2017-02-07", datatype=XSD.date)) in graph  # dd/mm/yyyy
    assert (row, RDF.type, URIRef(SDO + "MoneyTransfer")) in graph


def test_chicago_permits_get_a_wkt_point_from_their_wgs84_columns(sample: Callable[[str], Converted]) -> None:
    graph, result, _ = sample("chicago_building-permits_tower-cranes.csv")
    assert result.columns == ["geometry_wkt"]
    first = URIRef(things("ds") + "1")
    assert (first, DCTERMS.identifier, Literal("100637362")) in graph
    (wkt,) = graph.objects(URIRef(str(first) + "#geometry"), URIRef(GEO + "asWKT"))
    assert str(wkt) == "POINT(-87.628497 41.902312)"  # 41.902311916, -87.628497381 in the file
    assert result.unlocated == 4  # rows without coordinates have no geometry


def _metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance on a sphere of the mean Earth radius."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(a))


def test_british_national_grid_to_wgs84_for_lambeth_town_hall() -> None:
    # Historic England list entry 1080534 (Lambeth Town Hall), as shown by British Listed
    # Buildings: OS easting 530945, northing 175210; latitude 51.4607, longitude -0.1165.
    lat, lon = to_wgs84([530945.0], [175210.0])
    assert _metres(lat[0], lon[0], 51.4607, -0.1165) < 15


def test_coordinates_are_converted_a_chunk_at_a_time(sample: Callable[[str], Converted]) -> None:
    graph, result, _ = sample("lambeth_schools.csv")
    assert (result.located, result.unlocated) == (87, 0)
    lats = [float(str(o)) for o in graph.objects(None, URIRef(POS + "lat"))]
    longs = [float(str(o)) for o in graph.objects(None, URIRef(POS + "long"))]
    # every school lies in Lambeth
    assert len(lats) == 87 and all(51.41 < v < 51.51 for v in lats)
    assert all(-0.16 < v < -0.08 for v in longs)
    lat, lon = to_wgs84([530945.0, float("nan")], [175210.0, 1.0])
    assert math.isnan(lat[1]) and math.isnan(lon[1]) and not math.isnan(lat[0])


def test_a_table_without_primary_key_is_reported(tmp_path: Path) -> None:
    report = Report("toilets")
    graph, _, _ = convert(SAMPLES / "lambeth_community-toilets.csv", tmp_path, None, report=report)
    assert [i.code for i in report.issues] == ["mapping/unstable-row-identity"]
    first = URIRef(things("ds") + "1")
    assert (first, URIRef(SDO + "name"), Literal("Aroma Portuguese Deli")) in graph
    assert (first, URIRef("http://data.ordnancesurvey.co.uk/ontology/spatialrelations/easting"),
            Literal("530410", datatype=XSD.integer)) in graph


def test_lga_planning_applications_convert_each_row_from_its_stated_crs(tmp_path: Path) -> None:
    # The LGA's example file (Hampshire County Council): 22 rows in OSGB36, 3 without coordinates.
    example = SHARED / "samples" / "schemas" / "esd-org-uk" / "PlanningApplications-example-planning-applications.csv"
    graph, result, schema_name = convert(example, tmp_path, None)
    assert schema_name == "planning-applications"
    assert (result.located, result.unlocated) == (22, 3)
    fleet = URIRef(things("ds") + "13%2F00822%2FHCCRG3")  # primary key: the case reference
    (lat,) = graph.objects(fleet, URIRef(POS + "lat"))
    (lon,) = graph.objects(fleet, URIRef(POS + "long"))
    assert 51.27 < float(str(lat)) < 51.29 and -0.86 < float(str(lon)) < -0.84  # Fleet, Hampshire
    assert (fleet, URIRef("http://xmlns.com/foaf/0.1/page"),
            URIRef("http://www3.hants.gov.uk/mineralsandwaste/application-details.htm?id=15480")) in graph


def test_a_crs_column_is_read_row_by_row(tmp_path: Path) -> None:
    # Lambeth Town Hall twice: in British National Grid and in WGS84 (Historic England list entry 1080534)
    table = tmp_path / "applications.csv"
    table.write_text("CaseReference,CaseText,LocationText,CoordinateReferenceSystem,GeoX,GeoY\n"
                     "A1,Canopy,Brixton Hill,OSGB36,530945,175210\n"
                     "A2,Canopy,Brixton Hill,WGS84,-0.1165,51.4607\n"
                     "A3,Canopy,Brixton Hill,Mars 2000,1,2\n", encoding="utf-8")
    graph, result, _ = convert(table, tmp_path, None)
    assert (result.located, result.unlocated) == (2, 1)

    def point(key: str) -> tuple[float, float]:
        (lat,) = graph.objects(URIRef(things("ds") + key), URIRef(POS + "lat"))
        (lon,) = graph.objects(URIRef(things("ds") + key), URIRef(POS + "long"))
        return float(str(lat)), float(str(lon))

    assert _metres(*point("A1"), *point("A2")) < 15
    assert not set(graph.objects(URIRef(things("ds") + "A3"), URIRef(POS + "lat")))
