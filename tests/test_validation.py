"""The validation step: detecting how a CSV is written, and validating it into located issues."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import pytest

from portal.errors import DataError, NotFoundError
from portal.instance import Instance
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


def expanded(report: Report) -> list[tuple[str, int | None, str | None]]:
    """(code, row, field) of every occurrence, a collapsed issue standing for each of its rows."""
    found = []
    for i in report.issues:
        for row in (i.rows if i.count > 1 else (i.location.row,)):
            found.append((i.code, row, i.location.field))
    return sorted(found, key=str)


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
    engine = report.stats.pop("engine")
    reason = report.stats.pop("engine_reason")
    assert report.stats == {"rows": rows, "fields": len(table.schema["fields"]), "errors": 0,
                            "encoding": "utf-8", "delimiter": ",", "header_row": 1,
                            "schema_source": f"given:{name}", "partial": False}
    assert (engine, reason) == ("fast", None) or (engine == "frictionless" and reason)
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
                               limit_errors=5, engine="frictionless")
    assert [i.code for i in report.errors] == ["table/type-error"] * 5
    assert report.issues[-1].code == "table/error-limit" and report.stats["partial"] is True
    assert report.stats["rows"] == 5 and report.stats["errors"] == 5


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
    assert ("table/missing-cell", 19, "Subj Description") in located(report)
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


def test_empty_file_is_a_source_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    report, _ = validate_table(path, "public-toilets")
    assert [(i.code, i.message) for i in report.issues] == [("table/source-error", "the source is empty")]
    assert report.stats["engine"] == "none" and not report.valid


def test_unusable_given_schema_is_a_schema_error_in_the_report(tmp_path: Path) -> None:
    bad: dict[str, Any] = {"fields": [{"name": "a", "type": "banana"}]}
    report, table = validate_table(DEMO_FILES / "koeln-aed-standorte.csv", bad)
    [issue] = report.issues
    assert issue.code == "table/schema-error" and "not a valid Table Schema" in issue.message
    assert not report.valid and report.stats["rows"] == 0
    with pytest.raises(NotFoundError):
        validate_table(DEMO_FILES / "koeln-aed-standorte.csv", "no-such-schema")


def test_lambeth_payments_report_leads_with_the_header_mismatch() -> None:
    """Lambeth's file read against Oxford's layout: the cause first, its consequences collapsed."""
    path = SAMPLES / "lambeth_payments-over-500_2012-06.csv"
    report, _ = validate_table(path, "spending-over-500")
    labels = ("table/incorrect-label", "table/missing-label", "table/extra-label")
    lead = [i for i in report.issues[:9]]
    assert all(i.code in labels for i in lead) and not any(i.code in labels for i in report.issues[9:])
    assert [i.location.column for i in lead[:6]] == [1, 2, 3, 4, 5, 6]
    assert "misplaced" in lead[2].message and "'Supplier Name'" in lead[2].message
    assert "closest schema field: 'Amount'" in lead[4].message  # "Invoice Nett Amount"
    header = report.stats["header"]
    assert header["missing_fields"] == ["Type of Expenditure", "Supplier ID", "Supplier Name"]
    assert {"column": 5, "label": "Invoice Nett Amount", "closest": "Amount", "similarity": 0.9} in header["unknown_columns"]
    # every row's error in a field the header misplaces is one issue with its true count
    pattern = [i for i in report.issues if i.code == "table/constraint-error" and i.location.field == "Trans No"]
    [trans_no] = pattern
    assert trans_no.count > 3000 and trans_no.rows[:3] == (11, 12, 13) and trans_no.value == "1534.24"
    assert len(report.issues) < 40 and report.stats["rows"] > 3000 and not report.stats["partial"]
    # the same totals everywhere
    totals = report.totals()
    assert report.stats["errors"] == totals["errors"] == sum(
        s["count"] for s in report.summary() if s["severity"] == "error") > 20_000
    again = Report.from_dict(report.to_dict())
    assert again.totals() == totals and again.summary() == report.summary()


def test_errors_beyond_the_per_type_cap_are_counted_not_listed(tmp_path: Path) -> None:
    path = tmp_path / "ages.csv"
    path.write_text("id,age\n" + "".join(f"{n},old\n" for n in range(1, 251)), encoding="utf-8")
    schema = {"fields": [{"name": "id", "type": "integer"}, {"name": "age", "type": "integer"}]}
    for engine in ("auto", "frictionless"):
        report, _ = validate_table(path, schema, engine=engine)
        listed = [i for i in report.issues if i.code == "table/type-error"]
        assert len(listed) == 100 and report.counts["table/type-error"] == 250
        assert listed[0].location.column == 2
        if report.stats["engine"] == "frictionless":  # the fast path does not give cell values yet
            assert listed[0].value == "old"
        assert report.stats["errors"] == 250 and report.stats["rows"] == 250
        [note] = [i for i in report.issues if i.code == "table/not-listed"]
        assert "150 more table/type-error" in note.message


def test_the_report_says_which_path_checked_it(tmp_path: Path) -> None:
    report, _ = validate_table(DEMO_FILES / "lambeth-community-toilets.csv", "public-toilets")
    assert report.stats["engine"] in ("fast", "frictionless")
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("id,name\n1,a\n2\n", encoding="utf-8")
    report, _ = validate_table(ragged, {"fields": [{"name": "id", "type": "integer"},
                                                   {"name": "name", "type": "string"}]})
    assert report.stats["engine"] == "frictionless" and report.stats["engine_reason"]
    forced, _ = validate_table(ragged, None, engine="frictionless")
    assert forced.stats["engine_reason"] == "the frictionless path was asked for"


def test_dataset_page_shows_the_invalid_version_beside_the_published_one(
        instance: Instance, source: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A new version that fails validation is shown with its report; the last valid one stays published."""
    from portal.cli import main
    from portal.pipeline import harvest
    from portal.web import create_app
    from portal.web.sparql import close_query_pool

    harvest(instance, "lambeth")
    served = source / "toilets.csv"
    lines = served.read_text(encoding="utf-8").splitlines(keepends=True)
    for n, x in ((2, ",531767,"), (6, ",531768,"), (8, ",532089,")):
        assert x in lines[n]
        lines[n] = lines[n].replace(x, ",east-ish,")
    served.write_text("".join(lines), encoding="utf-8")
    harvest(instance, "lambeth")
    app = create_app({"TESTING": True}, instance=instance)
    try:
        client = app.test_client()
        detail = client.get("/dataset/lambeth/community-toilets.json").get_json()
        html = client.get("/dataset/lambeth/community-toilets").get_data(as_text=True)
    finally:
        close_query_pool(app)
    [resource] = detail["resources"]
    stored = resource["validation"]
    assert stored["valid"] is False and resource["published_triples"] > 0
    assert resource["published_version"] != resource["content_hash"]
    errors = stored["totals"]["errors"]
    assert errors == stored["stats"]["errors"] == 3
    assert [i["location"]["row"] for i in stored["issues"] if i["severity"] == "error"] == [3, 7, 9]
    assert f"{errors:,} error(s)" in html
    assert "Published version (last valid)" in html and "Latest version (invalid)" in html
    assert re.search(r"Validation:\s*<span[^>]*>invalid</span>", html)
    assert f"Checked by the {stored['stats']['engine']} path" in html
    # the CLI on the same file gives the same count
    assert main(["validate", str(served), "--schema", "public-toilets"]) == 1
    assert f"{errors:,} error(s)" in capsys.readouterr().out
