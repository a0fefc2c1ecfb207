"""The CSVW converter's parts and entry points: URI templates, number patterns, loaders over real HTTP,
metadata discovery, warnings and errors, the streaming writer and the `lodestar csv2rdf` command.

The W3C suite itself runs in test_csvw_conformance.py; the suite's files are reused here as inputs
with known expected results.
"""

from __future__ import annotations

import functools
import http.server
import io
import json
import warnings
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic

from portal.cli import main
from portal.egress import Egress
from portal.errors import MappingError
from tests.conftest import serve_http
from vocab.csvw import CsvwError, CsvwWarning, csv2rdf, csv2rdf_stream, egress_loader, file_loader, file_url
from vocab.csvw.formats import number_parser
from vocab.csvw.templates import expand, parse_template

SUITE = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "csvw"
EX = "http://example.org/"
RDF = Namespace("http://www.w3.org/1999/02/22-rdf-syntax-ns#")  # rdflib's closed ones upset collection
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")


# URI templates ----------------------------------------------------------------------------------

# Variables and expansions from RFC 6570 §3.2 (the specification's own examples).
RFC_VARIABLES = {"var": "value", "hello": "Hello World!", "path": "/foo/bar", "empty": "", "x": "1024",
                 "y": "768", "list": ["red", "green", "blue"],
                 "keys": {"semi": ";", "dot": ".", "comma": ","}}


@pytest.mark.parametrize(("template", "expected"), [
    ("{var}", "value"), ("{hello}", "Hello%20World%21"), ("{+hello}", "Hello%20World!"),
    ("{+path}/here", "/foo/bar/here"), ("{#hello}", "#Hello%20World!"), ("{x,y}", "1024,768"),
    ("{var:3}", "val"), ("{list}", "red,green,blue"), ("{list*}", "red,green,blue"),
    ("{keys}", "semi,%3B,dot,.,comma,%2C"), ("{keys*}", "semi=%3B,dot=.,comma=%2C"),
    ("{+keys*}", "semi=;,dot=.,comma=,"), ("X{.list*}", "X.red.green.blue"),
    ("{/list*,path:4}", "/red/green/blue/%2Ffoo"), ("{;x,y,empty}", ";x=1024;y=768;empty"),
    ("{?x,y,empty}", "?x=1024&y=768&empty="), ("{?list*}", "?list=red&list=green&list=blue"),
    ("{&keys*}", "&semi=%3B&dot=.&comma=%2C"), ("{?undef}", ""), ("{#keys}", "#semi,;,dot,.,comma,,"),
])
def test_uri_templates_expand_as_rfc6570_says(template: str, expected: str) -> None:
    assert expand(parse_template(template), RFC_VARIABLES) == expected


def test_reserved_expansion_keeps_percent_triplets_and_encodes_the_rest() -> None:
    # A CSVW column name derived from the title "Inventory Date-x" is Inventory%20Date%2Dx.
    assert expand(parse_template("{#_name}"), {"_name": "Inventory%20Date%2Dx y"}) == "#Inventory%20Date%2Dx%20y"


@pytest.mark.parametrize("template", ["{unclosed", "close}", "{a:x}"])
def test_malformed_templates_are_errors(template: str) -> None:
    with pytest.raises(CsvwError):
        parse_template(template)


# Number formats ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("pattern", "decimal", "group", "text", "value"), [
    (None, ".", None, "-12.50", "-12.50"), (None, ",", ".", "1.234,5", "1234.5"), ("#,##0.00", ".", None, "1,234.50", "1234.50"),
    ("#,##,##0", ".", None, "12,34,567", "1234567"), ("0.0##,###", ".", None, "1.123,45", "1.12345"),
    ("000%", ".", None, "-123%", "-1.23"), ("\u2030000", ".", None, "\u2030123", "0.123"),
    ("0.0E0", ".", None, "1.5E3", "1.5E3"),
])
def test_number_patterns_read_what_they_describe(pattern: str | None, decimal: str, group: str | None,
                                                 text: str, value: str) -> None:
    from decimal import Decimal

    assert number_parser(pattern, decimal, group)(text) == Decimal(value)


@pytest.mark.parametrize(("pattern", "text"), [
    ("##0", "1,234"), ("#,#00", "1234"), ("#0.0", "1"), ("#0.0#", "12.345"), ("#0.#", "1,234.5"),
    (None, "1,,234"), ("0.00E0", "10.10e10"), (None, "12abc"),
])
def test_number_patterns_refuse_what_they_do_not_describe(pattern: str | None, text: str) -> None:
    with pytest.raises(ValueError):
        number_parser(pattern, ".", "," if pattern is None else None)(text)


# Conversion from local files -----------------------------------------------------------------------

def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_discovered_metadata_drives_templates_datatypes_and_lists(tmp_path: Path) -> None:
    table = _write(tmp_path, "stops.csv", "id,name,opened,tags\n7,Market Sq.,3/1/2020,a b  c\n8,,,\n")
    _write(tmp_path, "stops.csv-metadata.json", json.dumps({
        "@context": ["http://www.w3.org/ns/csvw", {"@language": "en"}],
        "url": "stops.csv", "dc:title": "Stops",
        "tableSchema": {
            "aboutUrl": "http://example.org/stop/{id}",
            "columns": [
                {"name": "id", "titles": "id", "datatype": "integer"},
                {"name": "name", "titles": "name", "propertyUrl": "schema:name", "lang": "de"},
                {"name": "opened", "titles": "opened", "datatype": {"base": "date", "format": "M/d/yyyy"}},
                {"name": "tags", "titles": "tags", "separator": " ", "null": "", "ordered": False},
                {"name": "kind", "virtual": True, "propertyUrl": "rdf:type", "valueUrl": "schema:Place"},
            ]}}))
    graph = csv2rdf(file_url(table), minimal=True)
    stop7, stop8 = URIRef(EX + "stop/7"), URIRef(EX + "stop/8")
    base = file_url(table)
    assert (stop7, URIRef(base + "#id"), Literal("7", datatype=XSD.integer)) in graph
    assert (stop7, URIRef("http://schema.org/name"), Literal("Market Sq.", lang="de")) in graph
    assert (stop7, URIRef(base + "#opened"), Literal("2020-03-01", datatype=XSD.date)) in graph
    assert set(graph.objects(stop7, URIRef(base + "#tags"))) == {Literal("a"), Literal("b"), Literal("c")}
    assert (stop8, RDF.type, URIRef("http://schema.org/Place")) in graph
    assert not list(graph.objects(stop8, URIRef("http://schema.org/name")))  # empty cell: no triple
    assert len(graph) == 9  # row 7: id, name, opened, 3 tags, type; row 8: id, type
    standard = csv2rdf(file_url(table))
    titles = list(standard.objects(None, URIRef("http://purl.org/dc/terms/title")))
    assert titles == [Literal("Stops", lang="en")]


def test_without_metadata_the_header_names_the_properties(tmp_path: Path) -> None:
    table = _write(tmp_path, "plain.csv", "Ward Name,count\nNorth,3\n")
    graph = csv2rdf(str(table), minimal=True)  # a bare path is read by the default file loader
    url = file_url(table)
    assert set(graph.predicate_objects()) == {(URIRef(url + "#Ward%20Name"), Literal("North")),
                                              (URIRef(url + "#count"), Literal("3"))}


def test_an_invalid_cell_warns_and_is_kept_as_a_plain_string(tmp_path: Path) -> None:
    table = _write(tmp_path, "n.csv", "n\n12\ntwelve\n")
    _write(tmp_path, "n.csv-metadata.json", json.dumps({
        "@context": "http://www.w3.org/ns/csvw", "url": "n.csv",
        "tableSchema": {"columns": [{"name": "n", "titles": "n", "datatype": "integer"}]}}))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        graph = csv2rdf(file_url(table), minimal=True)
    assert set(graph.objects()) == {Literal("12", datatype=XSD.integer), Literal("twelve")}
    assert any(issubclass(w.category, CsvwWarning) and "twelve" in str(w.message) for w in caught)


@pytest.mark.parametrize("document", [
    {"url": "t.csv"},  # no @context
    {"@context": "http://www.w3.org/ns/csvw", "tables": []},
    {"@context": "http://www.w3.org/ns/csvw", "url": "t.csv", "@id": "_:b0"},
    {"@context": "http://www.w3.org/ns/csvw", "url": "t.csv",
     "tableSchema": {"columns": [{"name": "a", "datatype": {"base": "date", "minLength": 1}}]}},
])
def test_metadata_the_specification_forbids_raises_a_mapping_error(tmp_path: Path, document: dict[str, object]) -> None:
    _write(tmp_path, "t.csv", "a\n1\n")
    metadata = _write(tmp_path, "m.json", json.dumps(document))
    with pytest.raises(CsvwError) as raised:
        csv2rdf(file_url(metadata))
    assert isinstance(raised.value, MappingError)


def _group(folder: Path, districts: str, trees: str) -> str:
    _write(folder, "districts.csv", districts)
    _write(folder, "trees.csv", trees)
    metadata = _write(folder, "group.json", json.dumps({
        "@context": "http://www.w3.org/ns/csvw",
        "tables": [
            {"url": "districts.csv", "tableSchema": {
                "columns": [{"name": "code", "titles": "code"}, {"name": "label", "titles": "label"}],
                "primaryKey": "code", "aboutUrl": "http://example.org/district/{code}"}},
            {"url": "trees.csv", "tableSchema": {
                "columns": [{"name": "id", "titles": "id"},
                            {"name": "district", "titles": "district",
                             "valueUrl": "http://example.org/district/{district}"}],
                "foreignKeys": [{"columnReference": "district",
                                 "reference": {"resource": "districts.csv", "columnReference": "code"}}]}},
        ]}))
    return file_url(metadata)


def test_foreign_keys_are_checked_against_the_referenced_rows(tmp_path: Path) -> None:
    url = _group(tmp_path, "code,label\nN,North\nS,South\n", "id,district\n1,N\n2,S\n3,\n")
    graph = csv2rdf(url, minimal=True)
    assert (None, URIRef(file_url(tmp_path / "trees.csv") + "#district"),
            URIRef("http://example.org/district/S")) in graph
    with pytest.raises(CsvwError, match="matches no row"):
        csv2rdf(_group(tmp_path, "code,label\nN,North\n", "id,district\n1,N\n2,W\n"))


def test_a_repeated_primary_key_warns(tmp_path: Path) -> None:
    url = _group(tmp_path, "code,label\nN,North\nN,Nord\n", "id,district\n1,N\n")
    with pytest.warns(CsvwWarning, match="repeats the primary key"):
        csv2rdf(url)


def test_a_missing_table_is_an_error_not_an_empty_graph(tmp_path: Path) -> None:
    metadata = _write(tmp_path, "m.json", json.dumps({"@context": "http://www.w3.org/ns/csvw", "url": "gone.csv"}))
    with pytest.raises(CsvwError, match="gone.csv"):
        csv2rdf(file_url(metadata))


def test_streaming_gives_the_suites_expected_graph() -> None:
    # test036: tree-ops-ext with lists, datatypes and notes, discovered from {+url}-metadata.json.
    url = file_url(SUITE / "test036" / "tree-ops-ext.csv")
    out = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CsvwWarning)
        csv2rdf_stream(url, out)
    produced = Graph().parse(data=out.getvalue().decode("utf-8"), format="nt")
    expected = Graph().parse(SUITE / "test036" / "result.ttl", format="turtle", publicID=url)
    assert isomorphic(produced, expected)


def test_streaming_writes_one_line_per_triple_for_many_rows(tmp_path: Path) -> None:
    rows = "".join(f"{n},name {n}\n" for n in range(1, 5001))
    table = _write(tmp_path, "big.csv", "id,name\n" + rows)
    _write(tmp_path, "big.csv-metadata.json", json.dumps({
        "@context": "http://www.w3.org/ns/csvw", "url": "big.csv",
        "tableSchema": {"aboutUrl": "http://example.org/r/{id}", "columns": [
            {"name": "id", "titles": "id", "datatype": "integer", "suppressOutput": True},
            {"name": "name", "titles": "name"}]}}))
    out = io.BytesIO()
    csv2rdf_stream(file_url(table), out, minimal=True)
    lines = out.getvalue().decode("utf-8").splitlines()
    assert len(lines) == 5000
    assert lines[4999] == f'<http://example.org/r/5000> <{file_url(table)}#name> "name 5000" .'


# Over HTTP, through the egress client ------------------------------------------------------------

class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder; a CSV's response carries the Link header of `links` when it has one."""

    links: dict[str, str] = {}

    def end_headers(self) -> None:
        link = self.links.get(self.path)
        if link:
            self.send_header("Link", link)
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def _serve(root: Path, links: dict[str, str]) -> AbstractContextManager[tuple[str, http.server.ThreadingHTTPServer]]:
    handler = type("Handler", (_Handler,), {"links": links})
    return serve_http(functools.partial(handler, directory=str(root)))


def test_http_metadata_discovery_through_egress(tmp_path: Path) -> None:
    for name in ("tree-ops-ext.csv", "tree-ops-ext.csv-metadata.json"):
        (tmp_path / name).write_bytes((SUITE / "test036" / name).read_bytes())
    with _serve(tmp_path, {}) as (base, _), Egress(allow_private_addresses=True, retries=0) as egress:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CsvwWarning)
            graph = csv2rdf(f"{base}/tree-ops-ext.csv", loader=egress_loader(egress))
    expected = Graph().parse(SUITE / "test036" / "result.ttl", format="turtle", publicID=f"{base}/result.ttl")
    assert isomorphic(graph, expected)  # /.well-known/csvm was a real 404, then {+url}-metadata.json


def test_http_link_header_names_the_metadata(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_bytes((SUITE / "test014" / "tree-ops.csv").read_bytes())
    (tmp_path / "described.json").write_bytes((SUITE / "test014" / "linked-metadata.json").read_bytes())
    metadata = json.loads((tmp_path / "described.json").read_text(encoding="utf-8"))
    metadata["url"] = "data.csv"
    metadata["tableSchema"]["aboutUrl"] = "#gid-{GID}"
    (tmp_path / "described.json").write_text(json.dumps(metadata), encoding="utf-8")
    links = {"/data.csv": '<described.json>; rel="describedby"; type="application/csvm+json"'}
    with _serve(tmp_path, links) as (base, _), Egress(allow_private_addresses=True, retries=0) as egress:
        graph = csv2rdf(f"{base}/data.csv", loader=egress_loader(egress), minimal=True)
    # Only the linked metadata gives rows an aboutUrl; without it the subjects would be blank nodes.
    assert URIRef(f"{base}/data.csv#gid-1") in set(graph.subjects())


def test_the_file_loader_reports_a_missing_file_as_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        file_loader(file_url(tmp_path / "absent.csv"))


# The command -----------------------------------------------------------------------------------

def test_cli_writes_n_triples_and_turtle(tmp_path: Path, cli_env: Path, capfdbinary: pytest.CaptureFixture[bytes]) -> None:
    table = SUITE / "test036" / "tree-ops-ext.csv"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CsvwWarning)
        assert main(["csv2rdf", str(table), "--minimal"]) == 0
        nt = Graph().parse(data=capfdbinary.readouterr().out.decode("utf-8"), format="nt")
        assert main(["csv2rdf", str(table), "--minimal", "--format", "ttl"]) == 0
        ttl = Graph().parse(data=capfdbinary.readouterr().out.decode("utf-8"), format="turtle")
    assert len(nt) > 0 and isomorphic(nt, ttl)
    assert (URIRef("http://example.org/tree-ops-ext#gid-1"), None, None) in nt


def test_cli_refuses_a_missing_file_with_the_usage_exit_code(tmp_path: Path, cli_env: Path) -> None:
    assert main(["csv2rdf", str(tmp_path / "nothing.csv")]) == 2


def test_cli_reports_bad_metadata_as_a_data_error(tmp_path: Path, cli_env: Path) -> None:
    table = _write(tmp_path, "t.csv", "a\n1\n")
    metadata = _write(tmp_path, "m.json", json.dumps({"url": "t.csv"}))
    assert main(["csv2rdf", str(table), "--metadata", str(metadata)]) == 1


def test_cli_reads_a_url_through_the_egress_client(cli_env: Path, file_server: tuple[str, Path],
                                                   capfdbinary: pytest.CaptureFixture[bytes]) -> None:
    base, root = file_server
    for name in ("tree-ops-ext.csv", "tree-ops-ext.csv-metadata.json"):
        (root / name).write_bytes((SUITE / "test036" / name).read_bytes())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CsvwWarning)
        assert main(["csv2rdf", f"{base}/tree-ops-ext.csv"]) == 0
    produced = Graph().parse(data=capfdbinary.readouterr().out.decode("utf-8"), format="nt")
    expected = Graph().parse(SUITE / "test036" / "result.ttl", format="turtle",
                             publicID=f"{base}/result.ttl")
    assert isomorphic(produced, expected)
