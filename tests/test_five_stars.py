"""End to end, the way a data officer and a developer meet the upgrade: a council's CSV with no
declared schema is matched, mapped to shared vocabularies, its wards linked to the shared register,
its grid references turned into WGS84 — and the record, the stars and SPARQL all say so."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import rdflib

from portal.instance import Instance
from portal.pipeline import add_source, harvest
from portal.store import ask, select_rows
from portal.web import create_app
from tests.conftest import BASE_URL, SHARED

POLLING = SHARED / "samples" / "csv" / "lambeth_polling-stations.csv"

CATALOGUE = """
@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
<https://lambeth.example/dataset/polling> a dcat:Dataset ;
  dct:identifier "polling-stations" ;
  dct:title "Polling stations"@en ;
  dct:license <https://creativecommons.org/licenses/by/4.0/> ;
  dct:publisher [ a foaf:Agent ; dct:identifier "lambeth" ; foaf:name "London Borough of Lambeth" ] ;
  dcat:distribution [ a dcat:Distribution ; dcat:downloadURL <polling.csv> ; dcat:mediaType "text/csv" ] .
"""



@pytest.fixture
def polling(instance: Instance, file_server: tuple[str, Path]) -> Instance:
    url, root = file_server
    (root / "catalog.ttl").write_text(CATALOGUE, encoding="utf-8")
    shutil.copyfile(POLLING, root / "polling.csv")
    add_source(instance, "lambeth", f"{url}/catalog.ttl")
    assert harvest(instance, "lambeth").status == "finished"
    return instance


def test_wards_link_to_the_shared_register_and_the_record_says_so(polling: Instance) -> None:
    client = create_app({"TESTING": True}, instance=polling).test_client()
    detail = client.get("/dataset/lambeth/polling-stations.json").get_json()
    stats = detail["resources"][0]["validation"]["stats"]
    assert stats["schema_source"] == "matched:polling-stations" and stats["mapping"] == "polling-stations"
    with POLLING.open(encoding="utf-8") as fh:
        rows = sum(1 for _ in fh) - 1
    links = next(iter(stats["links"].values()))
    assert (links["linked"], links["total"]) == (rows, rows)

    # one SPARQL query joins a polling station to its ward's label in the shared register
    ward = polling.uris.reference("lambeth-ward", "E05000420")  # Coldharbour
    found = select_rows(polling.store, f"""
        PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
        SELECT DISTINCT ?label WHERE {{
          GRAPH <{BASE_URL}/graph/lambeth/polling-stations> {{ ?station ?p <{ward}> }}
          <{ward}> skos:prefLabel ?label }}""")
    assert [r["label"] for r in found] == ["Coldharbour"]
    assert ask(polling.store, """PREFIX wgs: <http://www.w3.org/2003/01/geo/wgs84_pos#>
        ASK { ?s wgs:lat ?lat ; wgs:long ?long FILTER(?lat > 51.4 && ?lat < 51.5 && ?long > -0.2 && ?long < -0.05) }""")

    record = rdflib.Graph().parse(data=client.get("/dataset/lambeth/polling-stations.ttl").get_data(as_text=True),
                                  format="turtle")
    dist = rdflib.URIRef(f"{BASE_URL}/dataset/lambeth/polling-stations/resource/polling-csv")
    assert (dist, rdflib.DCTERMS.conformsTo, rdflib.URIRef(f"{BASE_URL}/schemas/polling-stations")) in record
    assert (dist, rdflib.URIRef(f"{BASE_URL}/def/rdfMapping"),
            rdflib.URIRef(f"{BASE_URL}/schemas/polling-stations/mapping")) in record
    counted = [int(v) for m in record.objects(dist, rdflib.URIRef("http://www.w3.org/ns/dqv#hasQualityMeasurement"))
               for v in record.objects(m, rdflib.URIRef("http://www.w3.org/ns/dqv#value"))
               if "#links-" in str(m)]
    assert counted == [rows]

    served = detail["stars"]["as_served"]
    assert served["stars"] == 5, served
    assert detail["stars"]["as_published"]["stars"] == 3


def test_the_schema_pages_show_the_schema_and_its_mapping(polling: Instance) -> None:
    client = create_app({"TESTING": True}, instance=polling).test_client()
    listing = client.get("/schemas.json").get_json()["schemas"]
    assert {"polling-stations", "public-toilets", "spending-over-500"} <= {s["name"] for s in listing}
    page = client.get("/schemas/polling-stations").get_data(as_text=True)
    assert "urn:lodestar:schema:polling-stations" in page
    descriptor = client.get("/schemas/polling-stations.json").get_json()
    assert descriptor["fields"] and descriptor["name"] == "polling-stations"
    mapping = client.get("/schemas/polling-stations/mapping")
    assert mapping.status_code == 200 and "tableSchema" in mapping.get_data(as_text=True)
    assert client.get("/schemas/nothing-like-it").status_code == 404
    assert client.get("/schemas/nothing-like-it.json").get_json()["error"]["status"] == 404


def test_suppliers_are_organisations_in_the_org_ontology(instance: Instance, tmp_path: Path) -> None:
    from portal.steps import upgrade, validate
    from schemas.loader import load_schema

    sample = SHARED / "samples" / "csv" / "oxford_expenditure-over-500_jan-mar-2017.csv"
    report, table = validate(sample, load_schema("spending-over-500"))
    assert report.valid
    done = upgrade(sample, table, uris=instance.uris, publisher="oxford", dataset_namespace="spending",
                   out_path=tmp_path / "spending.nt", schema_name="spending-over-500")
    graph = rdflib.Graph().parse(done.path, format="nt")
    org = rdflib.URIRef("http://www.w3.org/ns/org#Organization")
    recipient = rdflib.URIRef("http://schema.org/recipient")
    parties = set(graph.subjects(rdflib.RDF.type, org))
    assert parties and all(graph.value(p, rdflib.URIRef("http://schema.org/name")) for p in parties)
    assert {o for o in graph.objects(None, recipient)} == parties
