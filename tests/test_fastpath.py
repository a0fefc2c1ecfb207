"""The validation fast path gives Frictionless' answer: same codes, rows and fields, in the same order.

Frictionless-py is the oracle: every comparison runs it on the same file and schema in the test.
"""

from __future__ import annotations

import copy
import csv
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from frictionless import Dialect, Schema, formats
from frictionless.resources import TableResource

from portal.report import Report
from schemas.fastpath import FastPathUnsupported, check_table, covers
from schemas.fastpath import engine as fast_engine
from schemas.validation import TableDescription, describe_table

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SAMPLES = SHARED / "samples" / "csv"
TABLES = REPO / "schemas" / "tables"

Located = list[tuple[str, int | None, str | None]]


def frictionless_errors(table: TableDescription, limit_errors: int = 100_000) -> Located:
    """(code, row, field) of Frictionless' errors on the file, read with the table's dialect.

    A schema declaring Table Schema v2 (exclusive bounds) is read by a v2 resource, as
    Frictionless gates those constraints on the resource's version.
    """
    path = Path(table.path)
    if "/2." in str(table.schema.get("$schema", "")):
        dialect = {"headerRows": [table.header_row], "delimiter": table.delimiter,
                   "quoteChar": table.quotechar, "doubleQuote": True, "skipInitialSpace": False}
        resource = TableResource.from_descriptor(
            {"$schema": "https://datapackage.org/profiles/2.0/dataresource.json", "name": "t",
             "path": path.name, "format": "csv", "encoding": table.encoding, "dialect": dialect,
             "schema": copy.deepcopy(table.schema)}, basepath=str(path.parent))
    else:
        control = formats.CsvControl()
        control.delimiter = table.delimiter
        control.quote_char = table.quotechar
        control.double_quote = True
        control.skip_initial_space = False
        resource = TableResource(path=path.name, basepath=str(path.parent), format="csv",
                                 encoding=table.encoding,
                                 dialect=Dialect(header_rows=[table.header_row], controls=[control]),
                                 schema=Schema.from_descriptor(copy.deepcopy(table.schema)))
    result = resource.validate(limit_errors=limit_errors)
    key = table.schema.get("primaryKey")
    single = key if isinstance(key, str) else (key[0] if isinstance(key, list) and len(key) == 1 else None)
    found: Located = []
    for error in [e for task in result.tasks for e in task.errors]:
        field = getattr(error, "field_name", None)
        if field is None and error.type == "primary-key":
            field = single
        found.append((f"table/{error.type}", getattr(error, "row_number", None), field))
    return found


def fast_errors(table: TableDescription, **options: Any) -> tuple[Located, Report]:
    """(code, row, field) of the fast path's issues, and its report."""
    report = Report(subject=table.path)
    check_table(table, report=report, **options)
    return [(i.code, i.location.row, i.location.field) for i in report.issues], report


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    """Write rows with the csv module (minimal quoting, \\n line ends)."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    return path


def table_for(path: Path, schema: dict[str, Any]) -> TableDescription:
    """Describe a file as the validation step does, with the given schema."""
    return describe_table(path, schema)


def assert_same(table: TableDescription) -> Located:
    """The fast path's errors equal Frictionless' (same order); returns them."""
    assert covers(table.schema) is None
    expected = frictionless_errors(table)
    got, _ = fast_errors(table)
    assert got == expected
    return got


# --- real samples with the bundled schemas -----------------------------------------------

SAMPLE_SCHEMAS = [
    ("toronto_street-trees_YO-york.csv", "street-trees"),
    ("koeln_aed-standorte.csv", "defibrillators"),
    ("lambeth_community-toilets.csv", "public-toilets"),
    ("adur_public-toilets.csv", "public-toilets"),
    ("oxford_expenditure-over-500_jan-mar-2017.csv", "spending-over-500"),
    ("oxford_expenditure-over-500_jan-mar-2014.csv", "spending-over-500"),
]


@pytest.mark.parametrize(("filename", "schema"), SAMPLE_SCHEMAS)
def test_samples_with_bundled_schemas_match_frictionless(filename: str, schema: str) -> None:
    descriptor = json.loads((TABLES / f"{schema}.schema.json").read_text(encoding="utf-8"))
    table = describe_table(SAMPLES / filename, descriptor)
    try:
        assert_same(table)
    except FastPathUnsupported:
        # A file the fast path cannot read like csv.reader must be one Frictionless sees as
        # ragged or mislabelled; say which, so a silent fallback cannot hide a regression.
        assert any(code in {"table/extra-cell", "table/missing-cell", "table/blank-row",
                            "table/incorrect-label", "table/extra-label", "table/missing-label",
                            "table/blank-label", "table/duplicate-label"}
                   for code, _, _ in frictionless_errors(table))


def test_toronto_sample_is_read_by_the_fast_path_and_clean() -> None:
    descriptor = json.loads((TABLES / "street-trees.schema.json").read_text(encoding="utf-8"))
    table = describe_table(SAMPLES / "toronto_street-trees_YO-york.csv", descriptor)
    report = Report(subject=table.path)
    stats = check_table(table, report=report)
    assert stats.rows == 10991 and not stats.partial and report.issues == []


def test_toronto_sample_with_broken_geometries_matches_frictionless(tmp_path: Path) -> None:
    source = SAMPLES / "toronto_street-trees_YO-york.csv"
    with source.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    geometry = rows[0].index("geometry")
    broken = ['{"type": "Point", "coordinates": [-79.4, 43.7, 12.0]}',  # 3 numbers: not a position
              '{"type": "Point", "coordinates": [-79.4]}',
              '{"type": "Point", "coordinates": ["-79.4", 43.7]}',
              '{"type": "Pont", "coordinates": [-79.4, 43.7]}',
              '{"type": "Point"}',
              '{"type": "Point", "coordinates": [-79.4, 43.7]',
              '{"type": "LineString", "coordinates": [[-79.4, 43.7], [-79.5, 43.8]]}',
              '{"type": "LineString", "coordinates": [[-79.4, 43.7]]}',
              '{"type": "MultiPoint", "coordinates": [[-79.4, 43.7]]}',
              '{"coordinates": [-79.4, 4.37e1], "type": "Point"}',
              '[1, 2]', 'None', '']
    for n, value in enumerate(broken, start=1):
        rows[n * 7][geometry] = value
    rows[50][0] = rows[49][0]        # duplicate primary key
    rows[60][1] = "x"                # type error in a unique integer
    rows[70][2] = rows[71][2]        # unique STRUCTID
    rows[80][11] = "5"               # ward pattern [0-9]{2}
    descriptor = json.loads((TABLES / "street-trees.schema.json").read_text(encoding="utf-8"))
    table = describe_table(write_csv(tmp_path / "trees.csv", rows), descriptor)
    got = assert_same(table)
    assert ("table/type-error", 8, "geometry") in got
    assert ("table/primary-key", 51, "_id") in got


# --- the benchmark table with injected errors -------------------------------------------


def test_generated_trees_with_injected_errors_match_frictionless(tmp_path: Path) -> None:
    out = tmp_path / "trees.csv"
    subprocess.run([sys.executable, str(SHARED / "bench-data" / "gen_trees.py"), "--rows", "5000",
                    "--errors", "200", "--out", str(out)], check=True, capture_output=True)
    schema = json.loads((SHARED / "bench-data" / "trees.schema.json").read_text(encoding="utf-8"))
    got = assert_same(table_for(out, schema))
    codes = {code for code, _, _ in got}
    assert codes == {"table/type-error", "table/constraint-error", "table/unique-error",
                     "table/primary-key"}


# --- every type and constraint, with injected errors --------------------------------------

TYPES_SCHEMA: dict[str, Any] = {
    "$schema": "https://datapackage.org/profiles/2.0/tableschema.json",
    "fields": [
        {"name": "id", "type": "integer", "constraints": {"unique": True, "minimum": 1}},
        {"name": "int", "type": "integer",
         "constraints": {"maximum": 100, "exclusiveMinimum": -5, "enum": [1, 5, 7, 50, 200, -3]}},
        {"name": "bare", "type": "integer", "bareNumber": False},
        {"name": "num", "type": "number", "constraints": {"minimum": "0.5", "exclusiveMaximum": 10}},
        {"name": "euro", "type": "number", "decimalChar": ",", "groupChar": "."},
        {"name": "pct", "type": "number", "bareNumber": False, "constraints": {"maximum": 100}},
        {"name": "flag", "type": "boolean", "trueValues": ["yes", "Y"], "falseValues": ["no", "N"],
         "constraints": {"enum": [True]}},
        {"name": "day", "type": "date",
         "constraints": {"minimum": "2000-01-01", "exclusiveMaximum": "2030-01-01"}},
        {"name": "uk_day", "type": "date", "format": "%d/%m/%Y"},
        {"name": "stamp", "type": "datetime", "constraints": {"maximum": "2030-01-01T00:00:00"}},
        {"name": "clock", "type": "time", "constraints": {"minimum": "06:00:00"}},
        {"name": "year", "type": "year", "constraints": {"minimum": 1900}},
        {"name": "month", "type": "yearmonth", "constraints": {"maximum": "2025-06"}},
        {"name": "span", "type": "duration"},
        {"name": "shape", "type": "geojson"},
        {"name": "where", "type": "geopoint"},
        {"name": "doc", "type": "object"},
        {"name": "list", "type": "array", "constraints": {"minLength": 1}},
        {"name": "whatever", "type": "any", "constraints": {"enum": ["a", "b"]}},
        {"name": "mail", "type": "string", "format": "email"},
        {"name": "link", "type": "string", "format": "uri"},
        {"name": "uuid", "type": "string", "format": "uuid"},
        {"name": "code", "type": "string",
         "constraints": {"required": True, "pattern": "A|B[0-9]", "minLength": 2, "maxLength": 3,
                         "unique": True}},
        {"name": "kind", "type": "string", "constraints": {"enum": ["x", "y"]}},
    ],
    "missingValues": ["", "n/a"],
}

GOOD = ["1", "5", "12", "2.5", "1.234,5", "50%", "yes", "2020-02-29", "29/02/2020",
        "2020-01-01T10:00:00", "07:30:00", "1999", "2020-12", "P1Y2M3DT4H5M6S",
        '{"type": "Point", "coordinates": [1.5, -2]}', "13.4, 52.5", '{"a": 1}', "[1]", "a",
        "someone@example.org", "https://example.org/x", "123e4567-e89b-12d3-a456-426614174000",
        "B12", "x"]
#: (column, bad value) pairs; each row of the test table is GOOD with one cell replaced.
BAD = [
    ("id", "0"), ("id", "+7"), ("id", " 8"), ("id", "1_0"), ("id", "007"), ("id", "abc"),
    ("id", "99999999999999999999"), ("int", "100"), ("int", "101"), ("int", "-5"), ("int", "6"),
    ("int", "5.0"), ("bare", "€ 12"), ("bare", "12 kg"), ("bare", "kg"), ("num", "0.5"),
    ("num", "0.49999999999999999999"), ("num", "10"), ("num", "9.99999999999999999999"),
    ("num", "1e1"), ("num", ".7"), ("num", "NaN"), ("num", "1,5"), ("num", " 3 "),
    ("euro", "1.234.567,89"), ("euro", "1,2.3"), ("euro", "12.5"), ("euro", "x"),
    ("pct", "100.5 %"), ("pct", "$99"), ("flag", "no"), ("flag", "true"), ("flag", "Y"),
    ("day", "1999-12-31"), ("day", "2030-01-01"), ("day", "2021-02-29"), ("day", "2020-2-3"),
    ("day", "0000-01-01"), ("day", "20200101"), ("uk_day", "31/04/2020"), ("uk_day", "1/2/2020"),
    ("uk_day", "2020-01-01"), ("stamp", "2030-01-01T00:00:01"), ("stamp", "2020-01-01 10:00:00"),
    ("stamp", "2020-01-01T25:00:00"), ("clock", "05:59:59"),
    ("clock", "24:00:00"), ("clock", "7:30:00"), ("year", "1899"), ("year", "99"),
    ("year", "20201"), ("month", "2025-07"), ("month", "2020-13"), ("month", "2020-1"),
    ("span", "P"), ("span", "PT"), ("span", "P1W"), ("span", "1 day"), ("span", "PT0.5S"),
    ("shape", '{"type": "Point", "coordinates": [1, 2, 3]}'),
    ("shape", '{"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}'),
    ("shape", '{"type": "Point", "coordinates": [NaN, 2]}'), ("shape", "{}"),
    ("where", "181, 0"), ("where", "13.4,91"), ("where", "13.4 52.5"), ("where", "[13.4, 52.5]"),
    ("doc", "[1]"), ("doc", "{bad"), ("list", "[]"), ("list", '{"a": 1}'), ("whatever", "c"),
    ("mail", "nobody"), ("link", "example.org"), ("uuid", "123e4567"), ("code", "A"),
    ("code", "B1234"), ("code", "C12"), ("code", "B12"), ("code", "A\n"), ("code", "AB"),
    ("code", "n/a"), ("kind", "z"), ("kind", "X"),
]


def _types_rows() -> list[list[str]]:
    names = [f["name"] for f in TYPES_SCHEMA["fields"]]
    rows = [names]
    for n, (column, value) in enumerate(BAD, start=1):
        row = list(GOOD)
        row[0] = str(n + 1000)
        row[names.index("code")] = f"B{n % 10}{n // 10 % 10}"
        row[names.index(column)] = value
        rows.append(row)
    rows.append([""] * len(names))                          # blank row
    rows.append(["n/a"] * len(names))                       # blank too: every cell missing
    rows.append(["1001"] + GOOD[1:])                        # duplicate id and code
    return rows


def test_every_type_and_constraint_matches_frictionless(tmp_path: Path) -> None:
    table = table_for(write_csv(tmp_path / "types.csv", _types_rows()), TYPES_SCHEMA)
    got = assert_same(table)
    codes = {code for code, _, _ in got}
    assert {"table/type-error", "table/constraint-error", "table/unique-error",
            "table/blank-row"} <= codes
    # Each injected value gives an error except the spellings Frictionless accepts.
    assert len({row for _, row, _ in got}) > len(BAD) // 2


def test_the_same_rows_checked_through_the_residue_only(tmp_path: Path) -> None:
    """Formats without a bulk reading (every cell read by Frictionless' reader) agree too."""
    schema = copy.deepcopy(TYPES_SCHEMA)
    for f in schema["fields"]:
        if f["type"] == "date" and "format" not in f:
            f["format"] = "any"
    table = table_for(write_csv(tmp_path / "types.csv", _types_rows()), schema)
    assert_same(table)


def test_composite_primary_key_with_partly_missing_cells(tmp_path: Path) -> None:
    schema = {"fields": [{"name": "a", "type": "integer"}, {"name": "b", "type": "string"},
                         {"name": "c", "type": "number"}],
              "primaryKey": ["a", "b"]}
    rows = [["a", "b", "c"], ["1", "x", "1"], ["1", "y", "2"], ["01", "x", "3"], ["", "", "4"],
            ["", "x", "5"], ["", "x", "6"], ["2", "", "7"], ["+2", "", "8"], ["q", "x", "9"],
            ["", "", "10"], ["1", "y", "1.0"]]
    table = table_for(write_csv(tmp_path / "pk.csv", rows), schema)
    got = assert_same(table)
    assert got == [("table/primary-key", 4, None), ("table/primary-key", 5, None),
                   ("table/primary-key", 7, None), ("table/primary-key", 9, None),
                   ("table/type-error", 10, "a"),  # unreadable: None, so (None, "x") again
                   ("table/primary-key", 10, None), ("table/primary-key", 11, None),
                   ("table/primary-key", 12, None)]


def test_unique_numbers_compare_as_decimals(tmp_path: Path) -> None:
    schema = {"fields": [{"name": "n", "type": "number", "constraints": {"unique": True}},
                         {"name": "label", "type": "string"}]}
    rows = [["n", "label"], ["1", "a"], ["1.0", "b"], ["-0", "c"], ["0", "d"], ["0.1", "e"],
            ["0.10000000000000000001", "f"], ["1e0", "g"]]
    table = table_for(write_csv(tmp_path / "n.csv", rows), schema)
    assert assert_same(table) == [("table/unique-error", 3, "n"), ("table/unique-error", 5, "n"),
                                  ("table/unique-error", 8, "n")]


def test_unique_fields_of_every_hashable_type(tmp_path: Path) -> None:
    """Values Frictionless reads as equal are duplicates, however they are spelled."""
    kinds = [("i", "integer", ["5", "+5", "05", "6", "x", "", "99999999999999999999",
                               "99999999999999999999", "7", "8", "9", "10"]),
             ("d", "date", ["2020-01-02", "2020-1-2", "2020-01-03", "bad", "", "2020-01-04",
                            "2020-01-05", "2020-01-06", "2020-01-07", "2020-01-08", "2020-01-09",
                            "2020-01-10"]),
             ("t", "time", ["10:00:00", "10:00:00", "11:00:00", "11:00:00+01:00", "11:00:00+01:00",
                            "", "12:00:00", "13:00:00", "14:00:00", "15:00:00", "16:00:00",
                            "17:00:00"]),
             ("dt", "datetime", ["2020-01-01T10:00:00", "2020-01-01T10:00:00Z",
                                 "2020-01-01T11:00:00+01:00", "2020-01-01T10:00:00",
                                 "", "", "2021-01-01T10:00:00", "2022-01-01T10:00:00",
                                 "2023-01-01T10:00:00", "2024-01-01T10:00:00",
                                 "2025-01-01T10:00:00", "2026-01-01T10:00:00"]),
             ("b", "boolean", ["true", "1", "false", "", "", "", "", "", "", "", "", ""]),
             ("y", "year", ["2020", "2021", "2020", "", "", "", "", "", "", "", "", ""]),
             ("ym", "yearmonth", ["2020-01", "2020-1", "2020-02", "", "", "", "", "", "", "", "",
                                  ""]),
             ("s", "string", ["a", "a ", "a", "", "", "", "", "", "", "", "", ""]),
             ("n", "number", ["1", "1.00", "1e0", "NaN", "NaN", "-0", "0", "", "", "", "", ""])]
    schema = {"fields": [{"name": name, "type": kind, "constraints": {"unique": True}}
                         for name, kind, _ in kinds]}
    rows = [[name for name, _, _ in kinds]]
    rows += [[cells[n] for _, _, cells in kinds] for n in range(12)]
    table = table_for(write_csv(tmp_path / "unique.csv", rows), schema)
    got = assert_same(table)
    assert ("table/unique-error", 3, "i") in got and ("table/unique-error", 3, "d") in got
    assert ("table/unique-error", 9, "i") in got  # beyond int64, still compared


def test_hand_written_expectations_with_messages(tmp_path: Path) -> None:
    schema = {"fields": [{"name": "id", "type": "integer"},
                         {"name": "name", "type": "string", "constraints": {"required": True}},
                         {"name": "age", "type": "integer", "constraints": {"minimum": 0}}],
              "primaryKey": ["id"]}
    rows = [["id", "name", "age"], ["1", "Ann", "30"], ["1", "Bob", "-2"], ["x", "", "4"],
            ["", "", ""], ["3", "Cy", "old"]]
    table = table_for(write_csv(tmp_path / "people.csv", rows), schema)
    got, report = fast_errors(table)
    assert got == [("table/constraint-error", 3, "age"), ("table/primary-key", 3, "id"),
                   ("table/type-error", 4, "id"), ("table/constraint-error", 4, "name"),
                   ("table/primary-key", 4, "id"), ("table/blank-row", 5, None),
                   ("table/primary-key", 5, "id"), ("table/type-error", 6, "age")]
    messages = [i.message for i in report.issues]
    assert '"-2"' in messages[0] and "minimum" in messages[0]
    assert "the same as in the row at position 2" in messages[1]
    assert '"x"' in messages[2] and "integer" in messages[2]
    assert '"old"' in messages[7]
    assert [(i.location.column, i.value) for i in report.issues] == [
        (3, "-2"), (None, None), (1, "x"), (2, ""), (None, None), (None, None), (None, None),
        (3, "old")]
    assert got == frictionless_errors(table)


def test_preamble_and_semicolons(tmp_path: Path) -> None:
    path = tmp_path / "report.csv"
    path.write_text("Haushalt 2024\nStand: Mai\n\nBezirk;Betrag;Jahr\nInnenstadt;1.234,50;2024\n"
                    "Porz;x;2024\nKalk;12,00;24\n", encoding="cp1252")
    schema = {"fields": [{"name": "Bezirk", "type": "string"},
                         {"name": "Betrag", "type": "number", "decimalChar": ",", "groupChar": "."},
                         {"name": "Jahr", "type": "year"}]}
    table = table_for(path, schema)
    assert table.header_row == 4 and table.delimiter == ";"
    assert assert_same(table) == [("table/type-error", 6, "Betrag"), ("table/type-error", 7, "Jahr")]


def test_quoted_line_breaks_and_odd_quotes(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text('id,text\n1,"two\nlines"\n2,ab"c\n3,"x"y\nz,"a ""b"""\n', encoding="utf-8")
    schema = {"fields": [{"name": "id", "type": "integer"},
                         {"name": "text", "type": "string", "constraints": {"maxLength": 3}}]}
    table = table_for(path, schema)
    assert assert_same(table) == [("table/constraint-error", 2, "text"),
                                  ("table/constraint-error", 3, "text"),
                                  ("table/type-error", 5, "id"), ("table/constraint-error", 5, "text")]


@pytest.mark.parametrize(("body", "expected"), [
    ("a,b\n1,2\n\n3,x\n\n", [("table/blank-row", 3, None), ("table/type-error", 4, "b"),
                              ("table/blank-row", 5, None)]),
    ("a,b\n1,2\n3,\"4\n5,6\n", [("table/type-error", 3, "b")]),   # unterminated quote
    ("a,b\r\n1,2\r\n3,x", [("table/type-error", 3, "b")]),        # CRLF, no final newline
    ("a,b\r\n1,\"2\r\n\"\r\n\"3\r\n3\",4\r\n", [("table/type-error", 3, "a")]),  # CRLF in quotes
])
def test_blank_lines_and_unterminated_quotes_agree(tmp_path: Path, body: str,
                                                   expected: Located) -> None:
    path = tmp_path / "lines.csv"
    path.write_bytes(body.encode("utf-8"))
    schema = {"fields": [{"name": "a", "type": "integer"}, {"name": "b", "type": "integer"}]}
    table = TableDescription(str(path), "utf-8", ",", '"', 1, schema, "given:test")
    assert assert_same(table) == expected


# --- fall-back ---------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "missing"), [
    ("a,b\n1,2\n3\n", [""]),              # missing cell
    ("a,b\n1,2\n3,4,5\n", [""]),          # extra cell
    ("a,b\n1,2\n \n3,4\n", [""]),         # a line holding one space: one cell
    ("a,c\n1,2\n", [""]),                 # label differs from the field name
    ("a,b\r1,2\r3,x\r", [""]),             # bare carriage returns
    ("a,b\n1,2\n\n3,4\n", ["-"]),         # blank line, and "" is not a missing value
])
def test_files_pyarrow_reads_differently_raise_before_reporting(tmp_path: Path, body: str,
                                                                 missing: list[str]) -> None:
    path = tmp_path / "odd.csv"
    path.write_bytes(body.encode("utf-8"))
    schema = {"fields": [{"name": "a", "type": "integer"}, {"name": "b", "type": "integer"}],
              "missingValues": missing}
    table = TableDescription(str(path), "utf-8", ",", '"', 1, schema, "given:test")
    report = Report(subject=str(path))
    with pytest.raises(FastPathUnsupported):
        check_table(table, report=report)
    assert report.issues == []
    assert frictionless_errors(table) != []  # Frictionless does see a problem there


def test_covers_names_what_it_leaves_to_frictionless() -> None:
    assert covers(TYPES_SCHEMA) is None
    v1 = {k: v for k, v in TYPES_SCHEMA.items() if k != "$schema"}
    assert "exclusiveMinimum" in str(covers(v1))  # Frictionless rejects it in a v1 schema
    assert covers({"fields": [{"name": "a", "type": "string"}]}) is not None
    assert "foreign" in str(covers({"fields": [{"name": "a"}, {"name": "b"}], "foreignKeys": [
        {"fields": "a", "reference": {"resource": "", "fields": "b"}}]}))
    assert "geojson" in str(covers({"fields": [{"name": "g", "type": "geojson",
                                                "constraints": {"unique": True}},
                                               {"name": "b"}]}))


# --- budgets -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trees_2000(tmp_path_factory: pytest.TempPathFactory) -> TableDescription:
    out = tmp_path_factory.mktemp("trees") / "trees.csv"
    subprocess.run([sys.executable, str(SHARED / "bench-data" / "gen_trees.py"), "--rows", "2000",
                    "--errors", "100", "--out", str(out)], check=True, capture_output=True)
    schema = json.loads((SHARED / "bench-data" / "trees.schema.json").read_text(encoding="utf-8"))
    return table_for(out, schema)


def test_error_limit_reports_the_first_errors_and_counts_them_all(trees_2000: TableDescription) -> None:
    everything = frictionless_errors(trees_2000)
    report = Report(subject=trees_2000.path)
    stats = check_table(trees_2000, report=report, limit_errors=10)
    assert [(i.code, i.location.row, i.location.field) for i in report.issues] == everything[:10]
    assert frictionless_errors(trees_2000, limit_errors=10) == everything[:10]
    assert stats.partial and stats.stopped_by == "limit_errors" and stats.reported == 10
    assert sum(stats.errors.values()) == len(everything)
    assert stats.rows == 2000


def test_row_budget_stops_early_and_says_so(trees_2000: TableDescription) -> None:
    report = Report(subject=trees_2000.path)
    stats = check_table(trees_2000, report=report, max_rows=500)
    assert stats.rows == 500 and stats.partial and stats.stopped_by == "max_rows"
    assert all(i.location.row is not None and i.location.row <= 501 for i in report.issues)
    full = [e for e in frictionless_errors(trees_2000) if e[1] is not None and e[1] <= 501]
    assert [(i.code, i.location.row, i.location.field) for i in report.issues] == full


def test_a_past_deadline_stops_before_reading(trees_2000: TableDescription) -> None:
    stats = check_table(trees_2000, report=Report(subject="x"), deadline=time.monotonic() - 1)
    assert stats.partial and stats.stopped_by == "deadline" and stats.rows == 0


def test_duplicates_are_confirmed_from_the_file_when_keys_outgrow_memory(
        trees_2000: TableDescription, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fast_engine, "KEY_TEXT_BUDGET", 0)
    got, _ = fast_errors(trees_2000)
    assert got == frictionless_errors(trees_2000)
    assert any(code == "table/unique-error" for code, _, _ in got)


def test_small_chunks_give_the_same_answer(trees_2000: TableDescription,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from schemas.fastpath import reader

    monkeypatch.setattr(reader, "BLOCK_SIZE", 4096)
    got, _ = fast_errors(replace(trees_2000))
    assert got == frictionless_errors(trees_2000)


def test_the_benchmark_replaces_only_its_own_section(tmp_path: Path) -> None:
    from bench.validation import write_section

    out = tmp_path / "RESULTS.md"
    out.write_text("# Benchmark results\n\n## Conversion\n\nkept\n", encoding="utf-8")
    write_section(["## Validation", "", "first"], out)
    write_section(["## Validation", "", "second"], out)
    text = out.read_text(encoding="utf-8")
    assert text == "# Benchmark results\n\n## Conversion\n\nkept\n\n## Validation\n\nsecond\n"
    out.write_text(text + "\n## Later\n\nalso kept\n", encoding="utf-8")
    write_section(["## Validation", "", "third"], out)
    assert out.read_text(encoding="utf-8") == ("# Benchmark results\n\n## Conversion\n\nkept\n\n"
                                              "## Validation\n\nthird\n\n## Later\n\nalso kept\n")


def test_read_ahead_hands_over_items_errors_and_stops_with_its_consumer() -> None:
    import threading

    from schemas.fastpath.prefetch import read_ahead

    assert list(read_ahead(iter(range(50)))) == list(range(50))

    def broken() -> Iterator[int]:
        yield 1
        raise ValueError("block 2 is not CSV")

    seen = []
    with pytest.raises(ValueError, match="block 2"):
        for item in read_ahead(broken()):
            seen.append(item)
    assert seen == [1]

    produced = []

    def endless() -> Iterator[int]:
        n = 0
        while True:
            produced.append(n)
            yield n
            n += 1

    for item in read_ahead(endless(), depth=2):
        if item == 3:
            break
    assert not any(t.name == "fastpath-read-ahead" for t in threading.enumerate())
    assert len(produced) <= 3 + 2 + 2  # it stopped soon after the consumer did
