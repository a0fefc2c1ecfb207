"""The CSV → N-Triples converter, on real municipal files and on hand-made nasty ones."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pyoxigraph
import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import CSVW, RDF

from portal.errors import DataError, MappingError
from vocab.csv2rdf import ConversionStats, table_to_graph, table_to_ntriples
from vocab.uris import UriScheme

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "portal" / "demo" / "files"
SAMPLES = ROOT.parent / "shared" / "samples" / "csv"
BASE = "http://127.0.0.1:5000"
URIS = UriScheme(BASE)
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")  # rdflib's strict XSD upsets pytest collection


def convert(path: Path, schema: dict[str, Any], *, encoding: str = "utf-8", delimiter: str = ",",
            **options: Any) -> tuple[str, ConversionStats]:
    """Run the converter into a string."""
    out = io.StringIO()
    stats = table_to_ntriples(path, schema=schema, encoding=encoding, delimiter=delimiter,
                              uris=URIS, publisher=options.pop("publisher", "pub"),
                              dataset=options.pop("dataset", "ds"), out=out, **options)
    return out.getvalue(), stats


def parse_both(text: str) -> tuple[Graph, list[pyoxigraph.Triple]]:
    """Parse N-Triples with rdflib and with pyoxigraph; both must accept it and agree on size."""
    graph = Graph().parse(data=text, format="nt")
    triples = list(pyoxigraph.parse(text.encode("utf-8"), format=pyoxigraph.RdfFormat.N_TRIPLES))
    assert len(graph) == len(triples) == text.count("\n")
    return graph, triples


def term(name: str, dataset: str = "ds") -> URIRef:
    """The URI of a portal term of the test dataset."""
    return URIRef(URIS.term("pub", dataset, name))


def thing(key: str, dataset: str = "ds") -> URIRef:
    """The URI of a row of the test dataset."""
    return URIRef(URIS.thing("pub", dataset, key))


def write_csv(path: Path, rows: list[list[str]], **fmt: Any) -> Path:
    """Write rows with the csv module (which quotes what needs quoting)."""
    with path.open("w", encoding=fmt.pop("encoding", "utf-8"), newline="") as handle:
        csv.writer(handle, **fmt).writerows(rows)
    return path


def strings(*names: str, **extra: Any) -> dict[str, Any]:
    """A Table Schema of string fields."""
    return {"fields": [{"name": n, "type": "string"} for n in names], **extra}


# --- real files -------------------------------------------------------------------------------

AED = DEMO / "koeln-aed-standorte.csv"
AED_FIELDS = ["Standort", "Adresse", "Montageort des Defibrillators", "Öffnungszeiten"]


def test_koeln_aed_crlf_umlaut_header_trailing_spaces() -> None:
    text, stats = convert(AED, strings(*AED_FIELDS), dataset="aed")
    graph, _ = parse_both(text)
    with AED.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))[1:]
    cells = sum(1 for row in rows for cell in row if cell != "")
    assert stats == ConversionStats(rows=len(rows), triples=cells + 2 * len(rows), type_fallbacks=0)
    first = thing("1", "aed")
    assert (first, RDF.type, term("Row", "aed")) in graph
    assert (first, CSVW.rownum, Literal(1, datatype=XSD.integer)) in graph
    assert (first, term("offnungszeiten", "aed"), Literal(rows[0][3])) in graph
    assert rows[0][3].endswith(" ")  # kept exactly as in the file
    assert (thing(str(len(rows)), "aed"), term("adresse", "aed"),
            Literal("Rathaus Spanischer Bau, 50667 Köln")) in graph
    assert len(set(graph.predicates())) == 2 + len(AED_FIELDS)


TREES = DEMO / "toronto-street-trees-york.csv"
TREE_TYPES = {"_id": "integer", "OBJECTID": "integer", "TREE_POSITION_NUMBER": "integer",
              "DBH_TRUNK": "integer", "geometry": "geojson"}


def tree_schema() -> dict[str, Any]:
    """The Toronto trees schema: typed ids, sizes and geometry; `None` is missing."""
    with TREES.open(encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle))
    return {"fields": [{"name": n, "type": TREE_TYPES.get(n, "string")} for n in header],
            "primaryKey": "_id", "missingValues": ["", "None"]}


def test_toronto_trees_triple_count_and_types() -> None:
    text, stats = convert(TREES, tree_schema(), dataset="trees")
    with TREES.open(encoding="utf-8", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    cells = sum(1 for row in rows for cell in row if cell not in ("", "None"))
    assert stats.rows == len(rows)
    assert stats.triples == cells + 2 * len(rows) == text.count("\n")
    assert stats.type_fallbacks == 0
    store = pyoxigraph.Store()
    store.bulk_load(text.encode("utf-8"), format=pyoxigraph.RdfFormat.N_TRIPLES)
    assert len(store) == stats.triples
    lines = text.splitlines(keepends=True)
    graph, _ = parse_both("".join(lines[:3000]))  # rdflib is slow; a slice shows it agrees
    row = dict(zip(header, rows[0]))
    subject = thing(row["_id"], "trees")
    assert (subject, term("ward", "trees"), Literal(row["WARD"])) in graph
    assert row["WARD"].startswith("0")  # leading zeros of a string column survive
    assert (subject, term("dbh-trunk", "trees"),
            Literal(row["DBH_TRUNK"], datatype=XSD.integer)) in graph
    assert (subject, term("geometry", "trees"), Literal(row["geometry"], datatype=RDF.JSON)) in graph
    assert (subject, term("suffix", "trees"), None) not in graph  # "None" is a missing value
    assert not any(str(o) == "None" for o in graph.objects())


HAUSHALT = SAMPLES / "koeln_haushalt_teilfinanzplan.csv"


def test_koeln_haushalt_semicolons_group_char_composite_key() -> None:
    schema = strings("Produktbereich", "Produktbereichsbezeichnung", "Teilplan",
                     "Teilplanbezeichnung", "Teilpanzeile", primaryKey=["Teilplan", "Teilpanzeile"])
    for year in ["Ist 2010", "Plan 2011", "Plan 2012", "Plan 2013", "Plan 2014", "Plan 2015"]:
        schema["fields"].append({"name": year, "type": "integer", "groupChar": "."})
    text, stats = convert(HAUSHALT, schema, encoding="utf-8", delimiter=";", dataset="haushalt")
    graph, _ = parse_both(text)
    with HAUSHALT.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter=";"))[1:]
    assert stats.rows == len(rows) == 1746 and stats.type_fallbacks == 0
    assert stats.triples == sum(1 for r in rows for c in r if c) + 2 * len(rows)
    first = thing("0101-16 - Rückflüsse von Darlehen", "haushalt")
    assert str(first).endswith("/0101-16%20-%20R%C3%BCckfl%C3%BCsse%20von%20Darlehen")
    assert (first, term("produktbereich", "haushalt"), Literal("01")) in graph
    big = next(r for r in rows if r[5] == "-1.091.347")
    subject = thing(f"{big[2]}-{big[4]}", "haushalt")
    assert (subject, term("ist-2010", "haushalt"), Literal(-1091347, datatype=XSD.integer)) in graph


def test_file_in_another_encoding_is_a_data_error() -> None:
    latin1 = SAMPLES / "itnrw_33111-02ir_flaechennutzung_latin1.csv"
    with pytest.raises(DataError, match="utf-8"):
        convert(latin1, strings("a"), encoding="utf-8", delimiter=";", header_row=9)


# --- nasty cells ------------------------------------------------------------------------------

NASTY = ['say "hi"', "back\\slash", "line\nbreak", "crlf\r\nbreak", "tab\there", "Köln Ä ß",
         "emoji 😀🇩🇪", "\\u0041 not an escape", "nul\x00byte", "ls\u2028ps\u2029nel\x85",
         "  spaces kept  ", "<http://x> .", "'single' `tick`", "\\\"", "control\x01\x1f\x7f"]


def test_nasty_cells_round_trip_through_both_parsers(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "nasty.csv", [["id", "text"]]
                     + [[str(i), v] for i, v in enumerate(NASTY)])
    text, stats = convert(path, strings("id", "text", primaryKey="id"))
    assert stats.rows == len(NASTY)
    graph, triples = parse_both(text)
    predicate = str(term("text"))
    ox_values = {str(t.subject): t.object.value for t in triples
                 if t.predicate.value == predicate and isinstance(t.object, pyoxigraph.Literal)}
    for i, value in enumerate(NASTY):
        assert graph.value(thing(str(i)), term("text")) == Literal(value)
        assert ox_values[f"<{thing(str(i))}>"] == value


def test_nasty_keys_are_percent_encoded(tmp_path: Path) -> None:
    keys = ["a b", "a/b", "Köln", '<"{|}^`\\>', "50%", "x?y#z", ".", ".."]
    path = write_csv(tmp_path / "keys.csv", [["key"]] + [[k] for k in keys])
    text, _ = convert(path, strings("key", primaryKey="key"))
    graph, _ = parse_both(text)
    for key in keys:
        assert (thing(key), term("key"), Literal(key)) in graph


# --- typed literals ---------------------------------------------------------------------------

TYPED_FIELDS: list[dict[str, Any]] = [
    {"name": "id", "type": "integer"},
    {"name": "date", "type": "date", "format": "%d/%m/%Y"},
    {"name": "iso date", "type": "date"},
    {"name": "count", "type": "integer"},
    {"name": "amount", "type": "number"},
    {"name": "german", "type": "number", "decimalChar": ",", "groupChar": "."},
    {"name": "flag", "type": "boolean"},
    {"name": "ja", "type": "boolean", "trueValues": ["ja"], "falseValues": ["nein"]},
    {"name": "when", "type": "datetime"},
    {"name": "clock", "type": "time"},
    {"name": "year", "type": "year"},
    {"name": "month", "type": "yearmonth"},
    {"name": "tags", "type": "array"},
    {"name": "price", "type": "integer", "bareNumber": False},
]


def typed_graph(tmp_path: Path, rows: list[list[str]]) -> tuple[Graph, ConversionStats]:
    """Convert rows under TYPED_FIELDS and parse the result."""
    path = write_csv(tmp_path / "typed.csv", [[f["name"] for f in TYPED_FIELDS], *rows])
    text, stats = convert(path, {"fields": TYPED_FIELDS, "primaryKey": "id"})
    return parse_both(text)[0], stats


def test_typed_literals(tmp_path: Path) -> None:
    graph, stats = typed_graph(tmp_path, [
        ["007", "07/02/2017", "2017-02-07", "0042", "003.1400", "1.234,50", "TRUE", "ja",
         "2017-02-07T10:30:00Z", "10:30:00", "2017", "2017-2", '["a", 1]', "€ 95"],
        ["8", "31/12/1999", "1999-12-31", "-0", "-0.50", "-7", "0", "nein",
         "2017-02-07T10:30:00.250+01:00", "23:59:59", "1999", "1999-12", "[]", "5%"],
        ["9", "", "", "+12", "1.5E3", "0,0", "false", "", "", "", "", "", "", ""],
    ])
    assert stats.type_fallbacks == 0

    def value(key: str, name: str) -> Literal:
        """The one literal of a row's column."""
        found = graph.value(thing(key), term(name))
        assert isinstance(found, Literal), (key, name)
        return found

    assert value("7", "date") == Literal("2017-02-07", datatype=XSD.date)
    assert value("7", "iso-date") == Literal("2017-02-07", datatype=XSD.date)
    assert value("7", "count") == Literal("42", datatype=XSD.integer)
    assert value("7", "id") == Literal("7", datatype=XSD.integer)
    assert value("7", "amount") == Literal("3.14", datatype=XSD.decimal)
    assert value("7", "german") == Literal("1234.5", datatype=XSD.decimal)
    assert value("7", "flag") == Literal("true", datatype=XSD.boolean)
    assert value("7", "ja") == Literal("true", datatype=XSD.boolean)
    assert value("7", "when") == Literal("2017-02-07T10:30:00Z", datatype=XSD.dateTime)
    assert value("7", "clock") == Literal("10:30:00", datatype=XSD.time)
    assert value("7", "year") == Literal("2017", datatype=XSD.gYear)
    assert value("7", "month") == Literal("2017-02", datatype=XSD.gYearMonth)
    assert value("7", "tags") == Literal('["a", 1]', datatype=RDF.JSON)
    assert value("7", "price") == Literal("95", datatype=XSD.integer)
    assert value("8", "count") == Literal("0", datatype=XSD.integer)
    assert value("8", "amount") == Literal("-0.5", datatype=XSD.decimal)
    assert value("8", "flag") == Literal("false", datatype=XSD.boolean)
    assert value("8", "ja") == Literal("false", datatype=XSD.boolean)
    assert value("8", "when") == Literal("2017-02-07T10:30:00.25+01:00", datatype=XSD.dateTime)
    assert value("8", "price") == Literal("5", datatype=XSD.integer)
    assert value("9", "count") == Literal("12", datatype=XSD.integer)
    assert value("9", "amount") == Literal("1.5E3", datatype=XSD.double)
    assert value("9", "german") == Literal("0", datatype=XSD.decimal)
    assert graph.value(thing("9"), term("date")) is None  # missing value: no triple


def test_unparsable_cells_fall_back_to_strings_and_are_counted(tmp_path: Path) -> None:
    graph, stats = typed_graph(tmp_path, [
        ["1", "2017-02-07", "07/02/2017", "12a", "1,5", "1,2,3", "yes", "jein", "2017-02-07",
         "10:30", "17", "2017-13", "{}", "n/a"],
    ])
    assert stats.type_fallbacks == 13
    assert graph.value(thing("1"), term("count")) == Literal("12a")
    assert graph.value(thing("1"), term("date")) == Literal("2017-02-07")
    assert graph.value(thing("1"), term("tags")) == Literal("{}")


def test_table_to_graph_matches_ntriples() -> None:
    graph = table_to_graph(AED, schema=strings(*AED_FIELDS), encoding="utf-8", delimiter=",",
                           uris=URIS, publisher="pub", dataset="ds")
    text, _ = convert(AED, strings(*AED_FIELDS))
    assert graph.isomorphic(Graph().parse(data=text, format="nt"))


# --- keys and headers -------------------------------------------------------------------------

def test_duplicate_primary_key_names_the_row(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "dup.csv", [["id", "x"], ["1", "a"], ["2", "b"], ["1", "c"]])
    with pytest.raises(MappingError, match=r"dup\.csv.*row 3.*'1'.*\['id'\]"):
        convert(path, strings("id", "x", primaryKey="id"))


def test_canonical_integer_keys_collide(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "dup.csv", [["id"], ["7"], ["007"]])
    with pytest.raises(MappingError, match="row 2"):
        convert(path, {"fields": [{"name": "id", "type": "integer"}], "primaryKey": ["id"]})


def test_empty_primary_key_is_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "empty.csv", [["id", "x"], ["1", "a"], ["", "b"]])
    with pytest.raises(MappingError, match=r"row 2.*'id'"):
        convert(path, strings("id", "x", primaryKey="id"))


@pytest.mark.parametrize(("header", "message"), [
    (["Standort", "Adresse", "Montageort", "Öffnungszeiten"], r"column 3.*'Montageort'"),
    (["Standort", "Adresse", "Montageort des Defibrillators"], r"lacks.*'Öffnungszeiten'"),
    ([*AED_FIELDS, "extra"], r"column 5.*'extra'"),
])
def test_header_mismatch(tmp_path: Path, header: list[str], message: str) -> None:
    path = write_csv(tmp_path / "aed.csv", [header, ["a"] * len(header)])
    with pytest.raises(MappingError, match=r"aed\.csv.*" + message):
        convert(path, strings(*AED_FIELDS))
    with pytest.raises(MappingError, match=r"^https://example\.org/aed\.csv: "):
        convert(path, strings(*AED_FIELDS), source_label="https://example.org/aed.csv")


def test_header_row_bom_blank_and_short_rows(tmp_path: Path) -> None:
    path = tmp_path / "preamble.csv"
    path.write_text("Title line\r\nNote: two columns\r\na;b\r\n1;x\r\n\r\n2\r\n", encoding="utf-8-sig")
    text, stats = convert(path, strings("a", "b"), delimiter=";", header_row=3)
    graph, _ = parse_both(text)
    assert stats.rows == 2 and stats.triples == 2 * 2 + 3
    assert (thing("2"), term("a"), Literal("2")) in graph


def test_field_size_limit_is_restored(tmp_path: Path) -> None:
    before = csv.field_size_limit()
    path = write_csv(tmp_path / "one.csv", [["a"], ["x" * 1000]])
    convert(path, strings("a"))
    assert csv.field_size_limit() == before


def test_unknown_type_and_primary_key_are_mapping_errors(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "one.csv", [["a"], ["1"]])
    with pytest.raises(MappingError, match="'a'.*unknown field type 'decimal'"):
        convert(path, {"fields": [{"name": "a", "type": "decimal"}]})
    with pytest.raises(MappingError, match="primary key field 'b'"):
        convert(path, strings("a", primaryKey="b"))
