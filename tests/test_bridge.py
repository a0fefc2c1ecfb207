"""The Table Schema → CSVW bridge: datatypes, keys, missing values, curated mappings, four stars without one."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
from rdflib import RDF, Graph, Literal, URIRef
from rdflib.namespace import XSD

from portal.errors import MappingError
from portal.report import Report
from schemas.loader import load_schema
from tests.conftest import SHARED
from vocab.bridge import column_name, csvw_metadata, datatype_for, dialect
from vocab.csv2rdf import table_to_graph
from vocab.csvw import CsvwWarning, csv2rdf, file_url
from vocab.uris import UriScheme

BASE = "http://example.org"
URIS = UriScheme(BASE)
ROW = URIRef(f"{BASE}/def/pub/ds/Row")


def term(name: str) -> URIRef:
    return URIRef(f"{BASE}/def/pub/ds/{name}")


def thing(key: str) -> URIRef:
    return URIRef(f"{BASE}/id/pub/ds/{key}")


def bridge(tmp_path: Path, text: str, schema: dict[str, Any], **options: Any) -> Graph:
    """Convert `text` (a CSV written here) with the bridged metadata of `schema`."""
    table = tmp_path / "table.csv"
    table.write_bytes(text.encode(options.pop("encoding", "utf-8")))
    metadata = csvw_metadata(schema, table_url=file_url(table), uris=URIS, publisher="pub",
                             dataset="ds", **options)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return csv2rdf(file_url(table), metadata=metadata, minimal=True)


@pytest.mark.parametrize(("field", "expected"), [
    ({"name": "a", "type": "integer"}, "integer"),
    ({"name": "a", "type": "number"}, "decimal"),
    ({"name": "a", "type": "number", "decimalChar": ",", "groupChar": "."},
     {"base": "decimal", "format": {"decimalChar": ",", "groupChar": "."}}),
    ({"name": "a", "type": "date"}, "date"),
    ({"name": "a", "type": "date", "format": "%d/%m/%Y"}, {"base": "date", "format": "dd/MM/yyyy"}),
    ({"name": "a", "type": "date", "format": "%d-%b-%y"}, "date"),  # month names: no CSVW pattern
    ({"name": "a", "type": "datetime", "format": "any"}, "dateTime"),
    ({"name": "a", "type": "year"}, "gYear"),
    ({"name": "a", "type": "boolean"}, "boolean"),
    ({"name": "a", "type": "boolean", "trueValues": ["Yes", "Y"], "falseValues": ["No", "N"]},
     {"base": "boolean", "format": "Yes|No"}),
    ({"name": "a", "type": "string", "format": "uri"}, "anyURI"),
    # constraints were enforced by validation before conversion: not restated
    ({"name": "a", "type": "string", "constraints": {"pattern": "[A-Z][0-9]+", "maxLength": 8}}, "string"),
    ({"name": "a", "type": "integer", "constraints": {"minimum": 0, "maximum": 100}}, "integer"),
    ({"name": "a", "type": "geojson"}, "json"),
    ({"name": "a", "type": "any"}, "string"),
])
def test_datatypes_follow_type_and_format(field: dict[str, Any], expected: Any) -> None:
    assert datatype_for(field) == expected


def test_column_names_are_uri_template_variables() -> None:
    assert column_name("Trans No") == "trans_no"
    assert column_name("_id") == "id"  # CSVW reserves names starting with _
    assert column_name("Öffnungszeiten") == "offnungszeiten"
    assert column_name("Montageort des Defibrillators") == "montageort_des_defibrillators"


def test_without_a_mapping_rows_get_iris_and_typed_literals(tmp_path: Path) -> None:
    schema = {"fields": [{"name": "Bin No", "type": "integer"}, {"name": "Emptied", "type": "date",
                                                                   "format": "%d/%m/%Y"},
                         {"name": "Full", "type": "boolean", "trueValues": ["ja"], "falseValues": ["nein"]},
                         {"name": "Street", "type": "string"}],
              "missingValues": ["", "n/a"]}
    report = Report("bins")
    graph = bridge(tmp_path, "Bin No,Emptied,Full,Street\n7,03/02/2024,ja,Hauptstraße\n8,n/a,nein,\n",
                   schema, report=report)
    first, second = thing("1"), thing("2")  # no primary key: data row numbers
    assert set(graph.subjects(RDF.type, ROW)) == {first, second}
    assert (first, term("bin-no"), Literal("7", datatype=XSD.integer)) in graph
    assert (first, term("emptied"), Literal("2024-02-03", datatype=XSD.date)) in graph
    assert (first, term("full"), Literal(True)) in graph
    assert (second, term("full"), Literal(False)) in graph
    assert (first, term("street"), Literal("Hauptstraße")) in graph
    assert not set(graph.objects(second, term("emptied")))  # "n/a" is missing
    assert not set(graph.objects(second, term("street")))
    assert [i.code for i in report.issues] == ["mapping/unstable-row-identity"]


def test_the_bridge_mints_the_same_rows_and_terms_as_the_table_schema_converter(tmp_path: Path) -> None:
    schema = {"fields": [{"name": "Trans No", "type": "string"}, {"name": "Amount", "type": "number"}],
              "primaryKey": ["Trans No"]}
    text = "Trans No,Amount\n1034526 - 2,200.00\nA/B?c#d,3\n"
    graph = bridge(tmp_path, text, schema)
    (tmp_path / "old.csv").write_text(text, encoding="utf-8")
    old = table_to_graph(tmp_path / "old.csv", schema=schema, encoding="utf-8", delimiter=",",
                         uris=URIS, publisher="pub", dataset="ds")
    rows = set(graph.subjects(RDF.type, ROW))
    assert rows == set(old.subjects(RDF.type, ROW))
    assert rows == {URIRef(URIS.thing("pub", "ds", "1034526 - 2")), URIRef(URIS.thing("pub", "ds", "A/B?c#d"))}
    assert {p for p in graph.predicates() if p != RDF.type} == {p for p in old.predicates()
                                                                  if p not in (RDF.type, URIRef("http://www.w3.org/ns/csvw#rownum"))}


def test_composite_keys_join_encoded_values_with_a_comma(tmp_path: Path) -> None:
    schema = {"fields": [{"name": "a"}, {"name": "b"}], "primaryKey": ["a", "b"]}
    graph = bridge(tmp_path, 'a,b\n"x,y",z\nx,"y,z"\n', schema)
    assert set(graph.subjects(RDF.type, ROW)) == {thing("x%2Cy,z"), thing("x,y%2Cz")}


def test_a_curated_mapping_wins_and_adds_virtual_columns(tmp_path: Path) -> None:
    schema = {"fields": [{"name": "NAME"}, {"name": "Region"}, {"name": "PIN1"}, {"name": "PIN2"}]}
    mapping = {"tableSchema": {"columns": [
        {"name": "name", "titles": "name", "propertyUrl": "schema:name"},
        {"name": "district", "titles": "district", "propertyUrl": "schema:containedInPlace",
         "valueUrl": "{+ref}/district/{district}"},
        {"name": "pin", "titles": "pin", "propertyUrl": "{+terms}/parcel", "valueUrl": "{+base}/parcel/{pin}"},
        {"name": "kind", "virtual": True, "propertyUrl": "rdf:type", "valueUrl": "schema:Place"},
        {"name": "shape", "virtual": True, "propertyUrl": "schema:geo", "valueUrl": "{+row}#shape",
         "dc:requires": "geometry_wkt"},
    ]}}
    fields = {"NAME": "name", "Region": "district", "PIN1": "pin", "PIN2": "pin"}
    graph = bridge(tmp_path, "NAME,Region,PIN1,PIN2\nMuseum,Innenstadt,11,12\n", schema,
                   mapping=mapping, fields=fields)
    row = thing("1")
    assert (row, URIRef("http://schema.org/name"), Literal("Museum")) in graph
    assert (row, URIRef("http://schema.org/containedInPlace"),
            URIRef(f"{BASE}/id/ref/district/Innenstadt")) in graph
    assert set(graph.objects(row, term("parcel"))) == {URIRef(f"{BASE}/parcel/11"), URIRef(f"{BASE}/parcel/12")}
    assert {o for o in graph.objects(row, RDF.type)} == {ROW, URIRef("http://schema.org/Place")}
    assert not set(graph.objects(row, URIRef("http://schema.org/geo")))  # its derived column is absent


def test_derived_columns_follow_the_fields(tmp_path: Path) -> None:
    schema = {"fields": [{"name": "id"}], "primaryKey": "id"}
    mapping = {"tableSchema": {"columns": [
        {"name": "geometry_wkt", "titles": "geometry_wkt", "aboutUrl": "{+row}#geometry",
         "propertyUrl": "http://www.opengis.net/ont/geosparql#asWKT",
         "datatype": {"base": "string", "@id": "http://www.opengis.net/ont/geosparql#wktLiteral"}}]}}
    graph = bridge(tmp_path, "id,geometry_wkt,note\nA1,POINT(1 2),x\n", schema, mapping=mapping,
                   derived=["geometry_wkt", "note"])
    wkt = Literal("POINT(1 2)", datatype=URIRef("http://www.opengis.net/ont/geosparql#wktLiteral"))
    assert (URIRef(f"{thing('A1')}#geometry"), URIRef("http://www.opengis.net/ont/geosparql#asWKT"), wkt) in graph
    assert (thing("A1"), term("note"), Literal("x")) in graph  # not curated: a term of the dataset


def test_the_dialect_reads_the_file_as_sniffed(tmp_path: Path) -> None:
    schema = {"fields": [{"name": "Bezirk", "type": "integer"},
                         {"name": "Plan", "type": "number", "decimalChar": ",", "groupChar": "."}]}
    text = "Haushalt der Stadt\n\nBezirk;Plan\n1;2.952,5\n"
    graph = bridge(tmp_path, text, schema, encoding="latin-1",
                   dialect=dialect(encoding="latin-1", delimiter=";", header_row=3))
    assert (thing("1"), term("plan"), Literal("2952.5", datatype=XSD.decimal)) in graph


def test_header_labels_are_checked_against_the_titles(tmp_path: Path) -> None:
    table = tmp_path / "table.csv"
    table.write_text("a,c\n1,2\n", encoding="utf-8")
    metadata = csvw_metadata({"fields": [{"name": "a"}, {"name": "b"}]}, table_url=file_url(table),
                             uris=URIS, publisher="pub", dataset="ds")
    with pytest.warns(CsvwWarning, match="titled"):
        csv2rdf(file_url(table), metadata=metadata, minimal=True)


def test_a_primary_key_outside_the_fields_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="primary key"):
        csvw_metadata({"fields": [{"name": "a"}], "primaryKey": ["b"]}, table_url="file:///t.csv",
                      uris=URIS, publisher="pub", dataset="ds")


def test_a_bundled_schema_without_its_mapping_still_gives_four_stars() -> None:
    sample = SHARED / "samples" / "csv" / "oxford_expenditure-over-500_jan-mar-2017.csv"
    metadata = csvw_metadata(load_schema("spending-over-500"), table_url=file_url(sample), uris=URIS,
                             publisher="pub", dataset="ds", mapping=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        graph = csv2rdf(file_url(sample), metadata=metadata, minimal=True)
    rows = set(graph.subjects(RDF.type, ROW))
    assert len(rows) == 3913  # the sample's data rows, each keyed by its unique "Trans No"
    first = thing("1034526%20-%202")  # first row: Trans No "1034526 - 2", Amount 200.00, 07/02/2017
    assert (first, term("amount"), Literal("200.00", datatype=XSD.decimal)) in graph
    assert (first, term("paid-date"), Literal("2017-02-07", datatype=XSD.date)) in graph
    assert (first, term("supplier-name"), Literal("ATKINS LIMITED")) in graph
