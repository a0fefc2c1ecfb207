"""The validation step: detecting how a CSV is written, and validating it into located issues."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from portal.errors import DataError, NotFoundError
from portal.report import Report
from schemas.loader import bundled_schemas
from schemas.validation import TableDescription, describe_table, validate_table

REPO = Path(__file__).resolve().parents[1]
DEMO_FILES = REPO / "portal" / "demo" / "files"
SAMPLES = REPO.parent / "shared" / "samples" / "csv"

#: Bundled schema → (demo file, data rows). Every demo file is valid against its schema.
DEMO = {
    "public-toilets": ("lambeth-community-toilets.csv", 30),
    "defibrillators": ("koeln-aed-standorte.csv", 25),
    "spending-over-500": ("oxford-expenditure-over-500-2017-q1.csv", 3913),
    "street-trees": ("toronto-street-trees-york.csv", 10991),
}

#: A small schema for hand-written dirty tables.
PEOPLE = {
    "fields": [
        {"name": "id", "type": "integer"},
        {"name": "name", "type": "string", "constraints": {"required": True}},
        {"name": "age", "type": "integer", "constraints": {"minimum": 0}},
    ],
    "primaryKey": ["id"],
}


def located(report: Report) -> list[tuple[str, int | None, str | None]]:
    """(code, row, field) of every issue, in report order."""
    return [(i.code, i.location.row, i.location.field) for i in report.issues]


def read_rows(table: TableDescription) -> tuple[list[str], list[list[str]]]:
    """Read a file the way a downstream converter does: with `csv` and the description."""
    with open(table.path, encoding=table.encoding, newline="") as fh:
        rows = list(csv.reader(fh, **table.csv_options()))
    return rows[table.header_row - 1], rows[table.header_row:]


@pytest.mark.parametrize("name", sorted(DEMO))
def test_each_demo_file_is_valid_against_its_bundled_schema(name: str) -> None:
    filename, rows = DEMO[name]
    path = DEMO_FILES / filename
    report, table = validate_table(path, name)
    assert report.issues == []
    assert report.subject == str(path)
    assert report.stats == {"rows": rows, "fields": len(table.schema["fields"]), "errors": 0,
                            "encoding": "utf-8", "delimiter": ",", "header_row": 1,
                            "schema_source": f"given:{name}", "truncated": False}
    assert (table.encoding, table.delimiter, table.quotechar, table.header_row) == ("utf-8", ",", '"', 1)
    assert table.schema["name"] == name


def test_describe_table_gives_what_the_csv_module_needs() -> None:
    table = describe_table(DEMO_FILES / "koeln-aed-standorte.csv", "defibrillators")
    assert table.schema_source == "given:defibrillators"
    header, rows = read_rows(table)
    assert header == [f["name"] for f in table.schema["fields"]]
    assert header[3] == "Öffnungszeiten" and len(rows) == 25
    assert rows[0][0] == "Römisch Germanisches Museum"


def test_a_schema_file_path_is_recorded_as_given() -> None:
    path = bundled_schemas()["public-toilets"]
    report, table = validate_table(DEMO_FILES / "lambeth-community-toilets.csv", path)
    assert report.valid and table.schema_source == f"given:{path}"


def test_dirty_table_issues_are_located_by_row_and_field(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("id,name,age\n1,Ann,34\n2,Bob,thirty\n3,,51\n3,Cy,-2\n", encoding="utf-8")
    report, table = validate_table(path, PEOPLE)
    assert located(report) == [
        ("table/type-error", 3, "age"),
        ("table/constraint-error", 4, "name"),
        ("table/constraint-error", 5, "age"),
        ("table/primary-key", 5, "id"),
    ]
    assert all(i.severity == "error" and i.location.file == str(path) for i in report.issues)
    assert 'cell "thirty"' in report.issues[0].message
    assert report.stats["errors"] == 4 and report.stats["rows"] == 4
    assert not report.valid and table.schema_source == "given:descriptor"


def test_structure_errors_keep_frictionless_names(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("id,name,name\n1,a,b\n\n2,c\n", encoding="utf-8")
    report, _ = validate_table(path)
    assert located(report) == [
        ("table/duplicate-label", 1, "name2"),
        ("table/blank-row", 3, None),
        ("table/missing-cell", 4, "name2"),
    ]


def test_error_limit_truncates_visibly(tmp_path: Path) -> None:
    path = tmp_path / "many.csv"
    path.write_text("id,age\n" + "".join(f"{n},x\n" for n in range(1, 40)), encoding="utf-8")
    report, _ = validate_table(path, {"fields": [{"name": "id", "type": "integer"},
                                                 {"name": "age", "type": "integer"}]},
                               limit_errors=5)
    assert [i.code for i in report.errors] == ["table/type-error"] * 5
    assert report.issues[-1].code == "table/error-limit" and report.stats["truncated"] is True


def test_inferred_schema_from_padded_header_names() -> None:
    path = SAMPLES / "chicago_building-permits_tower-cranes.csv"
    report, table = validate_table(path)
    assert table.schema_source == "inferred" and report.stats["schema_source"] == "inferred"
    assert report.valid and report.stats["rows"] == 441 and report.stats["fields"] == 131
    names = [f["name"] for f in table.schema["fields"]]
    assert names[:4] == ["ID", "PERMIT#", "PERMIT_TYPE", "ISSUE_DATE"]  # "  PERMIT_TYPE" in the file
    header, rows = read_rows(table)
    assert header[2] == "  PERMIT_TYPE" and len(rows) == 441


def test_semicolon_table_with_zero_padded_codes() -> None:
    report, table = validate_table(SAMPLES / "koeln_haushalt_teilfinanzplan.csv")
    assert report.valid and report.stats["rows"] == 1746
    assert (table.delimiter, table.encoding, table.header_row) == (";", "utf-8", 1)
    fields = {f["name"]: f["type"] for f in table.schema["fields"]}
    assert "Teilpanzeile" in fields
    assert fields["Produktbereich"] == fields["Teilplan"] == "string"  # "01", "0101" keep their zeros


def test_cp1252_table_is_detected_and_decodes() -> None:
    report, table = validate_table(SAMPLES / "lambeth_planning-decisions_2010.csv")
    assert table.encoding == "cp1252" and report.stats["encoding"] == "cp1252"
    assert report.valid and report.stats["rows"] == 2585
    header, rows = read_rows(table)
    assert header == ["REFVAL", "ADDRESS", "PROPOSAL", "DATEDECISS", "DECSN"]
    assert len(rows) == 2585
    assert any("1000m² " in row[2] for row in rows)


def test_report_preamble_is_skipped_and_real_defects_reported() -> None:
    path = SAMPLES / "lambeth_payments-over-500_2012-06.csv"
    report, table = validate_table(path)
    assert table.header_row == 10
    header, _ = read_rows(table)
    assert header == ["Body", "Department", "Supplier Name", "Invoice Creation Date",
                      "Invoice Nett Amount", "Subj Description"]
    # "25/06/2012900": the date and the amount ran together, so the row lacks a cell
    assert located(report)[0] == ("table/missing-cell", 19, "Subj Description")
    assert [row for code, row, _ in located(report) if code == "table/blank-row"] == [3166, 3168, 3169, 3170]


def test_inferred_type_that_later_rows_break_is_widened(tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    lines = ["ref,count"] + [f"r{n},{n}" for n in range(1500)]
    lines[1400] = "r1399,n/a"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report, table = validate_table(path)
    assert located(report) == [("schema/widened", None, "count")]
    assert report.issues[0].severity == "info" and report.valid
    assert table.schema["fields"][1] == {"name": "count", "type": "string"}


def test_bom_tab_and_pipe_dialects(tmp_path: Path) -> None:
    bom = tmp_path / "bom.csv"
    bom.write_bytes("name,city\nZoë,Köln\n".encode("utf-8-sig"))
    _, table = validate_table(bom)
    assert table.encoding == "utf-8-sig" and read_rows(table)[0] == ["name", "city"]
    for delimiter in ("\t", "|"):
        path = tmp_path / "other.txt"
        path.write_text(delimiter.join(["a", "b, c", "d"]) + "\n" + delimiter.join(["1", "2", "3"]) + "\n",
                        encoding="utf-8")
        report, table = validate_table(path)
        assert table.delimiter == delimiter and report.valid and report.stats["fields"] == 3


@pytest.mark.parametrize("content, reason", [
    (bytes(range(256)) * 4, "binary data"),
    (b"", "is empty"),
    (b"<!DOCTYPE html>\n<html><head><title>Not found</title></head></html>\n", "HTML page"),
    (b"PK\x03\x04" + b"\x00" * 100, "ZIP archive"),
])
def test_a_file_that_is_not_a_table_gives_one_unreadable_error(tmp_path: Path, content: bytes,
                                                               reason: str) -> None:
    path = tmp_path / "download.csv"
    path.write_bytes(content)
    report, table = validate_table(path, "public-toilets")
    [issue] = report.issues
    assert (issue.code, issue.severity, issue.location.file, issue.location.row) == (
        "table/unreadable", "error", str(path), None)
    assert reason in issue.message and report.stats["errors"] == 1
    assert table.schema_source == "given:public-toilets"
    with pytest.raises(DataError, match=reason):
        describe_table(path)


def test_missing_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        validate_table(tmp_path / "gone.csv")
    with pytest.raises(NotFoundError):
        describe_table(tmp_path / "gone.csv")


def test_unusable_given_schema_is_an_error_not_a_report(tmp_path: Path) -> None:
    bad: dict[str, Any] = {"fields": [{"name": "a", "type": "banana"}]}
    with pytest.raises(DataError, match="not a valid Table Schema"):
        validate_table(DEMO_FILES / "koeln-aed-standorte.csv", bad)
    with pytest.raises(NotFoundError):
        validate_table(DEMO_FILES / "koeln-aed-standorte.csv", "no-such-schema")
