"""The columnar fast path of csv2rdf (vocab/csvw/vectorised.py) against the row path it must equal.

Every comparison converts the same table twice, with `columnar=True` and `columnar=False`, and
requires the same N-Triples lines (both paths number blank nodes the same way, so even standard
mode compares line for line) and the same warnings. Tables: the shared benchmark generator's
street-tree register (names that need CSV quoting and N-Triples escaping, injected invalid cells),
small hand-made tables with awkward cells, and every positive case of the W3C CSVW suite.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import warnings
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.test_csvw_conformance import BASE, SuiteLoader, _entries
from vocab.csvw import CsvwWarning, csv2rdf_stream, file_loader
from vocab.csvw import vectorised
from vocab.csvw.chunks import Layout, layout_of, parse
from vocab.csvw.columnar import PYTHON_WHITESPACE, TablePlan, Unsupported
from vocab.csvw.dialect import Dialect
from vocab.csvw.loaders import file_url
from vocab.csvw.metadata import Loader
from vocab.csvw.model import bind_columns
from vocab.csvw.processor import prepare

BENCH_DATA = Path(__file__).resolve().parents[2] / "shared" / "bench-data"
TREES_METADATA = BENCH_DATA / "mappings" / "trees.csv-metadata.json"


def convert(url: str, metadata: str | Mapping[str, Any] | None, minimal: bool, columnar: bool,
            loader: Loader = file_loader) -> tuple[list[bytes], Counter[str]]:
    """The sorted N-Triples lines and the warnings of one conversion."""
    out = io.BytesIO()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        csv2rdf_stream(url, out, metadata=metadata, minimal=minimal, loader=loader, columnar=columnar)
    messages = Counter(str(w.message) for w in caught if issubclass(w.category, CsvwWarning))
    return sorted(out.getvalue().splitlines()), messages


def paths(url: str, metadata: str | Mapping[str, Any] | None, minimal: bool,
          loader: Loader = file_loader) -> list[str]:
    """Which path converted each table."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        group, fetch = prepare(url, metadata, loader)
        return vectorised.convert_group_columnar(group, fetch, io.BytesIO(), minimal)


def assert_same(url: str, metadata: str | Mapping[str, Any] | None, minimal: bool,
                loader: Loader = file_loader) -> list[bytes]:
    fast, fast_warnings = convert(url, metadata, minimal, True, loader)
    rows, row_warnings = convert(url, metadata, minimal, False, loader)
    assert fast == rows
    assert fast_warnings == row_warnings
    return fast


def write_table(folder: Path, name: str, text: str, metadata: dict[str, Any] | None = None) -> tuple[str, str | None]:
    (folder / name).write_bytes(text.encode("utf-8"))
    if metadata is None:
        return file_url(folder / name), None
    (folder / f"{name}-metadata.json").write_text(json.dumps({"@context": "http://www.w3.org/ns/csvw", "url": name,
                                                               **metadata}), encoding="utf-8")
    return file_url(folder / name), file_url(folder / f"{name}-metadata.json")


def test_the_whitespace_constant_is_what_str_strip_removes() -> None:
    assert set(PYTHON_WHITESPACE) == {chr(c) for c in range(0x110000) if chr(c).isspace()}


# --- the benchmark's street-tree table ---------------------------------------------------------------

@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """20,000 generated rows with 60 injected invalid cells, and the shared CSVW mapping beside them."""
    folder = tmp_path_factory.mktemp("trees")
    csv = folder / "trees.csv"
    subprocess.run([sys.executable, str(BENCH_DATA / "gen_trees.py"), "--rows", "20000", "--errors", "60",
                    "--out", str(csv)], check=True, capture_output=True)
    (folder / "trees.csv-metadata.json").write_bytes(TREES_METADATA.read_bytes())
    return file_url(csv), file_url(folder / "trees.csv-metadata.json")


@pytest.mark.parametrize("minimal", [True, False], ids=["minimal", "standard"])
def test_trees_give_the_same_triples_and_warnings(trees: tuple[str, str], minimal: bool) -> None:
    lines = assert_same(*trees, minimal)
    assert paths(*trees, minimal) == ["columnar"]
    # The generator's special street names reach the output escaped, and invalid cells as plain strings.
    assert any(b'\\"Zum Anker\\"' in line for line in lines)
    assert any(b'"Am Markt, Nordseite"' in line for line in lines)
    assert any(b"#trunkDiameter> \"12cm\" ." in line for line in lines)


def test_trees_in_many_small_chunks(trees: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunk boundaries change nothing: blank node labels run on, repeated keys are found across chunks."""
    monkeypatch.setattr(vectorised, "CHUNK_BYTES", 2048)
    assert_same(*trees, minimal=False)
    _, found = convert(*trees, minimal=True, columnar=True)
    assert any("repeats the primary key" in message for message in found)


# --- hand-made tables ---------------------------------------------------------------------------------

AWKWARD = (
    'id,name,score,when,flag,ratio,link,note\n'
    '1,"Gasse ""Zum Anker""",12,2020-01-31,true,1.5E3,http://x.example/a b,plain\n'
    '2,back\\slash,+7,2020-02-30,0,NaN,../up,"tab\there"\n'
    '3,"control \x01 and \x1f",007,0000-01-01,yes,-0,%41,"line break"\n'
    '4, padded\xa0,  8 ,2021-12-31,false,.5,/./x,"\u2028sep"\n'
    '5,Stra\u00dfe \u00e9t\u00e9,NA,,1,1e400,?q=1,\x1cedge\x1c\n'
    '6,,12cm,31.12.2020,maybe,abc,#frag,\n'
    '6,dup key,-,2020-01-01T10:00:00,true,2,,x  y\n'
)
AWKWARD_SCHEMA: dict[str, Any] = {
    "tableSchema": {
        "aboutUrl": "http://ex.example/thing/{id}",
        "primaryKey": "id",
        "rowTitles": ["name"],
        "columns": [
            {"name": "id", "titles": "id", "datatype": "integer", "required": True},
            {"name": "name", "titles": "name", "lang": "de", "required": True,
             "propertyUrl": "http://ex.example/def/{_name}"},
            {"name": "score", "titles": "score", "datatype": "integer", "null": ["NA", "-"]},
            {"name": "when", "titles": "when", "datatype": "date"},
            {"name": "flag", "titles": "flag", "datatype": "boolean"},
            {"name": "ratio", "titles": "ratio", "datatype": "double"},
            {"name": "link", "titles": "link", "valueUrl": "http://ex.example/ref/{+link}"},
            {"name": "note", "titles": "note", "datatype": "token", "default": "none"},
            {"name": "named", "virtual": True, "propertyUrl": "http://ex.example/def/named",
             "valueUrl": "http://ex.example/name/{name}/{_row}"},
            {"name": "kind", "virtual": True, "propertyUrl": "rdf:type", "valueUrl": "http://ex.example/def/Thing"},
        ],
    },
}


@pytest.mark.parametrize("minimal", [True, False], ids=["minimal", "standard"])
def test_awkward_cells(tmp_path: Path, minimal: bool) -> None:
    url, metadata = write_table(tmp_path, "awkward.csv", AWKWARD, AWKWARD_SCHEMA)
    lines = assert_same(url, metadata, minimal)
    assert paths(url, metadata, minimal) == ["columnar"]
    text = b"\n".join(lines).decode("utf-8")
    assert '"Gasse \\"Zum Anker\\""@de' in text
    assert '"back\\\\slash"@de' in text
    assert '"control \\u0001 and"@de' in text  # \x1f is whitespace to str.strip, so trimmed
    assert "<http://ex.example/name/Stra%C3%9Fe%20%C3%A9t%C3%A9/5>" in text
    assert "<http://ex.example/ref/http://x.example/a%20b>" in text
    assert '"+7"^^<http://www.w3.org/2001/XMLSchema#integer>' in text
    assert '"12cm" .' in text  # an invalid integer, kept as a plain string


@pytest.mark.parametrize("minimal", [True, False], ids=["minimal", "standard"])
def test_blank_subjects_and_relative_templates(tmp_path: Path, minimal: bool) -> None:
    """No aboutUrl: a blank node per row (only for rows that say something); relative templates resolve."""
    text = "a,b,c\n1,x,\n,,\n3,,z\n,,\n5,y,w\n"
    schema = {"tableSchema": {"columns": [
        {"name": "a", "titles": "a", "datatype": "integer"},
        {"name": "b", "titles": "b", "propertyUrl": "#prop-{_column}"},
        {"name": "c", "titles": "c", "valueUrl": "../c/{c}"}]}}
    url, metadata = write_table(tmp_path, "blank.csv", text, schema)
    lines = assert_same(url, metadata, minimal)
    assert paths(url, metadata, minimal) == ["columnar"]
    assert any(line.startswith(b"_:b") for line in lines)


def test_embedded_metadata_only(tmp_path: Path) -> None:
    url, _ = write_table(tmp_path, "plain.csv", "Name,Größe\nAnna,1.70\n\u00c9mile,\n")
    for minimal in (True, False):
        assert_same(url, None, minimal)
    assert paths(url, None, True) == ["columnar"]


def test_tab_separated_and_crlf(tmp_path: Path) -> None:
    url, metadata = write_table(tmp_path, "tabs.csv", "a\tb\r\n1\tx y\r\n2\t\"q\"\"uote\"\r\n",
                                {"dialect": {"delimiter": "\t"}, "tableSchema": {"columns": [
                                    {"name": "a", "titles": "a", "datatype": "integer"},
                                    {"name": "b", "titles": "b"}]}})
    assert_same(url, metadata, True)
    assert paths(url, metadata, True) == ["columnar"]


# --- where the row path takes over ---------------------------------------------------------------------

@pytest.mark.parametrize("minimal", [True, False], ids=["minimal", "standard"])
def test_lists(tmp_path: Path, minimal: bool) -> None:
    """Unordered lists go the columnar way (their cells through the row path's functions)."""
    text = 'id,tags,sizes\n1,a b  c,1 x 3\n2,,\n3,NA,7\n4," é/f ",\n'
    schema = {"tableSchema": {"aboutUrl": "http://ex.example/{id}", "columns": [
        {"name": "id", "titles": "id"},
        {"name": "tags", "titles": "tags", "separator": " ", "null": "NA", "valueUrl": "http://ex.example/t/{tags}"},
        {"name": "sizes", "titles": "sizes", "separator": " ", "datatype": "integer"},
        {"name": "label", "virtual": True, "propertyUrl": "http://ex.example/label",
         "valueUrl": "http://ex.example/l/{+sizes}"}]}}
    url, metadata = write_table(tmp_path, "lists.csv", text, schema)
    lines = assert_same(url, metadata, minimal)
    assert paths(url, metadata, minimal) == ["columnar"]
    sizes = [line for line in lines if line.startswith(b"<http://ex.example/1> ") and b"#sizes>" in line]
    assert len(sizes) == 3 and any(line.endswith(b'"x" .') for line in sizes)  # "x": an invalid item, kept


def test_ordered_lists_fall_back_per_table(tmp_path: Path) -> None:
    url, metadata = write_table(tmp_path, "ordered.csv", "id,tags\n1,a b c\n2,\n",
                                {"tableSchema": {"columns": [
                                    {"name": "id", "titles": "id"},
                                    {"name": "tags", "titles": "tags", "separator": " ", "ordered": True}]}})
    assert_same(url, metadata, False)
    assert paths(url, metadata, True) == ["rows: an ordered list column (rdf:List nodes)"]


def test_standard_mode_with_two_subjects_falls_back(tmp_path: Path) -> None:
    schema = {"tableSchema": {"columns": [
        {"name": "a", "titles": "a", "aboutUrl": "http://ex.example/a/{a}"},
        {"name": "b", "titles": "b", "aboutUrl": "http://ex.example/b/{b}"}]}}
    url, metadata = write_table(tmp_path, "two.csv", "a,b\n1,2\n", schema)
    assert_same(url, metadata, False)
    assert_same(url, metadata, True)
    assert paths(url, metadata, False)[0].startswith("rows: standard mode")
    assert paths(url, metadata, True) == ["columnar"]


def test_dialects_outside_the_subset() -> None:
    assert isinstance(layout_of(Dialect(comment_prefix="#"), 3), str)
    assert isinstance(layout_of(Dialect(skip_rows=2), 3), str)
    assert isinstance(layout_of(Dialect(encoding="latin-1"), 3), str)
    assert isinstance(layout_of(Dialect(), 3), Layout)


@pytest.mark.parametrize("chunk", [
    b"1,2,3\n4,5\n",  # a short row: the row path warns about it
    b"1,2,3\n4,5,6,7\n",  # a long row
    b'1,"two\nlines",3\n',  # a quoted line break
    b"1,2,3\r4,5,6\n",  # a bare carriage return
    b"1,2,3\n\n4,5,6\n",  # a blank line
    b'1,x"y,3\n',  # a quote inside an unquoted cell
    b'1,"ab"c,3\n',  # text after a closing quote
    b"1,\xff,3\n",  # not UTF-8
])
def test_doubtful_chunks_are_refused(chunk: bytes) -> None:
    assert parse(chunk, Layout(",", '"', 3)) is None


def test_plain_chunks_are_accepted() -> None:
    frame = parse(b'1,"a, ""b""",\r\n2,,z\n', Layout(",", '"', 3))
    assert frame is not None
    assert frame.rows() == [("1", 'a, "b"', ""), ("2", "", "z")]


@pytest.mark.parametrize("minimal", [True, False], ids=["minimal", "standard"])
def test_the_row_path_takes_over_from_a_doubtful_chunk(tmp_path: Path, minimal: bool,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows after a short row, a quoted line break and a quote mid-cell: converted by the row path, numbered on."""
    monkeypatch.setattr(vectorised, "CHUNK_BYTES", 64)
    body = "".join(f"{i},name {i},{i * 3}\n" for i in range(1, 40))
    text = "id,name,n\n" + body + "40,short\n" + '41,"two\nlines",5\n42,x"y,6\n' + body.replace(",name", ",again")
    schema = {"tableSchema": {"aboutUrl": "http://ex.example/{id}", "columns": [
        {"name": "id", "titles": "id", "datatype": "integer"}, {"name": "name", "titles": "name"},
        {"name": "n", "titles": "n", "datatype": "integer"}]}}
    url, metadata = write_table(tmp_path, "doubtful.csv", text, schema)
    assert_same(url, metadata, minimal)
    taken = paths(url, metadata, minimal)
    assert taken[0].startswith("columnar, then rows from row ")
    assert int(taken[0].split("row ")[1].split(":")[0]) > 1


def test_a_handover_warns_once_about_the_metadata(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An unusable number format is warned about once, though both paths plan the table's columns."""
    monkeypatch.setattr(vectorised, "CHUNK_BYTES", 32)
    text = "id,n\n" + "".join(f"{i},{i}.5\n" for i in range(1, 30)) + "30\n31,2.5\n"
    schema = {"tableSchema": {"columns": [
        {"name": "id", "titles": "id", "datatype": "integer"},
        {"name": "n", "titles": "n", "datatype": {"base": "decimal", "format": "000%"}}]}}
    url, metadata = write_table(tmp_path, "handover.csv", text, schema)
    assert_same(url, metadata, True)
    _, found = convert(url, metadata, True, True)
    assert found["invalid number pattern '000%': ignored"] == 1
    assert paths(url, metadata, True)[0].startswith("columnar, then rows from row ")


class Refusing(io.RawIOBase):
    """An output whose writes fail, as a closed pipe's do."""

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        raise BrokenPipeError("closed")


def test_write_errors_reach_the_caller(trees: tuple[str, str]) -> None:
    with pytest.raises(BrokenPipeError), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the table's invalid cells
        csv2rdf_stream(trees[0], Refusing(), metadata=trees[1], minimal=True)  # type: ignore[arg-type]


def test_a_table_plan_refuses_ordered_lists() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        group, fetch = prepare(BASE + "test001.csv", {"@context": "http://www.w3.org/ns/csvw", "url": "test001.csv",
                                                      "tableSchema": {"columns": [
                                                          {"titles": "GID", "separator": ";", "ordered": True}]}},
                               SuiteLoader({}))
        table = group.tables[0]
        bind_columns(table, [["GID"]])
    with pytest.raises(Unsupported):
        TablePlan(table, True, "true")


# --- the W3C suite ----------------------------------------------------------------------------------------

def _positive() -> list[Any]:
    return [pytest.param(entry, id=entry["id"].split("#")[-1]) for entry in _entries()
            if entry["type"].split(":")[-1] != "NegativeRdfTest"]


def _case(entry: dict[str, Any]) -> tuple[str, str | None, bool, SuiteLoader]:
    action = BASE + entry["action"]
    option = entry.get("option", {})
    metadata = BASE + option["metadata"] if "metadata" in option else None
    loader = SuiteLoader({action: entry["httpLink"]} if "httpLink" in entry else {})
    return action, metadata, bool(option.get("minimal")), loader


@pytest.mark.parametrize("chunk_bytes", [vectorised.CHUNK_BYTES, 16], ids=["chunks", "tiny-chunks"])
@pytest.mark.parametrize("entry", _positive())
def test_w3c_case_same_on_both_paths(entry: dict[str, Any], chunk_bytes: int,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiny chunks hand every doubtful line of a case to the row path, and test numbering across chunks."""
    monkeypatch.setattr(vectorised, "CHUNK_BYTES", chunk_bytes)
    assert_same(*_case(entry))


def test_the_fast_path_takes_most_w3c_cases() -> None:
    taken = [paths(*_case(entry)) for entry in _entries() if entry["type"].split(":")[-1] != "NegativeRdfTest"]
    columnar = [t for t in taken if t and all(path.startswith("columnar") for path in t)]
    assert len(columnar) >= 195, Counter(p for t in taken for p in t).most_common(10)
