"""Guard-rails of the validation step: caps checked before any parser, bombs, budgets, csv limit."""

from __future__ import annotations

import csv
import gzip
import io
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from schemas.guard import PYTHON_CSV_FIELD_LIMIT, Limits, csv_field_limit
from schemas.validation import validate_table
from tests.conftest import REPO, TOILETS

SCHEMA = {"fields": [{"name": "id", "type": "integer"}, {"name": "name", "type": "string"}]}


def table(tmp_path: Path, rows: int, name: str = "t.csv") -> Path:
    path = tmp_path / name
    path.write_text("id,name\n" + "".join(f"{n},row {n}\n" for n in range(1, rows + 1)), encoding="utf-8")
    return path


def codes(report: object) -> list[str]:
    return [i.code for i in getattr(report, "issues")]


def test_importing_the_validator_gives_back_pythons_csv_field_limit() -> None:
    code = ("import csv, frictionless.formats.csv.parser; raised = csv.field_size_limit(); "
            "import schemas.validation; print(raised, csv.field_size_limit())")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         check=True).stdout.split()
    assert int(out[0]) > PYTHON_CSV_FIELD_LIMIT  # frictionless raised it for the whole process
    assert int(out[1]) == PYTHON_CSV_FIELD_LIMIT


def test_validation_leaves_the_csv_field_limit_as_it_found_it(tmp_path: Path) -> None:
    before = csv.field_size_limit()
    report, _ = validate_table(TOILETS, "public-toilets", engine="frictionless")
    assert report.valid and csv.field_size_limit() == before
    with csv_field_limit(10 * 1024 * 1024):
        assert csv.field_size_limit() == 10 * 1024 * 1024
    assert csv.field_size_limit() == before


@pytest.mark.parametrize("schema", [SCHEMA, None])
def test_cells_larger_than_pythons_csv_limit_are_read_within_the_cap(tmp_path: Path,
                                                                     schema: dict[str, object] | None) -> None:
    path = tmp_path / "big-cell.csv"
    path.write_text("id,name\n1,small\n2," + "g" * 300_000 + "\n", encoding="utf-8")
    before = csv.field_size_limit()
    report, _ = validate_table(path, schema)
    assert report.valid and report.stats["rows"] == 2, [str(i) for i in report.issues]
    assert csv.field_size_limit() == before == PYTHON_CSV_FIELD_LIMIT


def test_a_long_line_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    path.write_text("id,name\n1,short\n2," + "x" * 5000 + "\n3,short\n", encoding="utf-8")
    report, _ = validate_table(path, SCHEMA, limits=Limits(max_line_bytes=4096, max_field_bytes=1024))
    [issue] = report.issues
    assert issue.code == "table/line-too-long" and "line 3" in issue.message
    assert report.stats["rows"] == 0 and report.stats["engine"] == "none" and not report.valid


def test_an_unclosed_quote_is_a_field_too_large(tmp_path: Path) -> None:
    path = tmp_path / "quote.csv"
    path.write_text('id,name\n1,ok\n2,"never closed\n' + "".join(f"{n},more\n" for n in range(3, 400)),
                    encoding="utf-8")
    report, _ = validate_table(path, SCHEMA, limits=Limits(max_field_bytes=1000))
    assert codes(report) == ["table/field-too-large"]
    assert "line 3" in report.issues[0].message


def test_a_large_unquoted_cell_is_a_field_too_large(tmp_path: Path) -> None:
    path = tmp_path / "cell.csv"
    path.write_text("id,name\n1," + "y" * 3000 + "\n", encoding="utf-8")
    report, _ = validate_table(path, SCHEMA, limits=Limits(max_field_bytes=2000))
    assert codes(report) == ["table/field-too-large"]
    fits, _ = validate_table(path, SCHEMA, limits=Limits(max_field_bytes=4000))
    assert fits.valid


def test_too_many_columns(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"c{n}" for n in range(60)) + "\n" + ",".join("1" * 60) + "\n",
                    encoding="utf-8")
    report, _ = validate_table(path, limits=Limits(max_columns=50))
    assert codes(report) == ["table/too-many-columns"] and "line 1" in report.issues[0].message
    # quoted delimiters are not cells
    quoted = tmp_path / "quoted.csv"
    quoted.write_text('id,name\n1,"' + "," * 80 + '"\n', encoding="utf-8")
    assert validate_table(quoted, SCHEMA, limits=Limits(max_columns=50))[0].valid


def test_a_gzipped_table_is_decoded_and_validated(tmp_path: Path) -> None:
    plain, _ = validate_table(TOILETS, "public-toilets")
    packed = tmp_path / "toilets.csv.gz"
    packed.write_bytes(gzip.compress(TOILETS.read_bytes()))
    report, described = validate_table(packed, "public-toilets")
    assert report.valid and report.stats["rows"] == plain.stats["rows"] == 30
    assert described.decoded_from == str(packed) and Path(described.path).read_bytes() == TOILETS.read_bytes()
    Path(described.path).unlink()


def test_a_gzip_bomb_stops_at_the_decoded_byte_budget(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.csv.gz"
    bomb.write_bytes(gzip.compress(b"id,name\n" + b"1,aaaaaaaaaaaaaaaaaaaa\n" * 1_000_000))
    assert bomb.stat().st_size < 200_000  # ~23 MB decoded
    report, _ = validate_table(bomb, SCHEMA, limits=Limits(max_decoded_bytes=5_000_000))
    assert codes(report) == ["table/decoded-too-large"] and not report.valid
    assert "5,000,000" in report.issues[0].message


def test_a_zip_with_one_table_is_read_and_a_zip_bomb_is_stopped(tmp_path: Path) -> None:
    archive = tmp_path / "toilets.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("toilets.csv", TOILETS.read_bytes())
    report, described = validate_table(archive, "public-toilets")
    assert report.valid and report.stats["rows"] == 30
    Path(described.path).unlink()
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("big.csv", b"id,name\n" + b"2,bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n" * 500_000)
    report, _ = validate_table(bomb, SCHEMA, limits=Limits(max_decoded_bytes=1_000_000))
    assert codes(report) == ["table/decoded-too-large"]
    two = tmp_path / "two.zip"
    with zipfile.ZipFile(two, "w") as z:
        z.writestr("a.csv", b"id\n1\n")
        z.writestr("b.csv", b"id\n2\n")
    report, _ = validate_table(two)
    assert codes(report) == ["table/unreadable"] and "2 files" in report.issues[0].message


@pytest.mark.parametrize("engine", ["auto", "frictionless"])
def test_a_row_budget_marks_the_report_partial(tmp_path: Path, engine: str) -> None:
    path = table(tmp_path, 100)
    report, _ = validate_table(path, SCHEMA, limits=Limits(max_rows=10), engine=engine)
    assert report.stats["partial"] is True and report.stats["rows"] == 10
    [note] = [i for i in report.issues if i.code == "table/row-budget"]
    assert note.severity == "warning" and "10 rows" in note.message
    whole, _ = validate_table(path, SCHEMA, engine=engine)
    assert whole.stats["partial"] is False and whole.stats["rows"] == 100


def test_a_time_budget_marks_the_report_partial(tmp_path: Path) -> None:
    path = table(tmp_path, 3000)
    report, _ = validate_table(path, SCHEMA, limits=Limits(max_seconds=0.0), engine="frictionless")
    assert report.stats["partial"] is True and report.stats["rows"] < 3000
    assert "table/time-budget" in codes(report)


def test_the_scan_finds_a_long_line_across_chunk_borders(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from schemas import guard

    monkeypatch.setattr(guard, "CHUNK_BYTES", 4096)
    path = tmp_path / "chunks.csv"
    buffer = io.StringIO()
    buffer.write("id,name\n")
    for n in range(1, 20_000):
        buffer.write(f"{n},{'z' * (40 if n != 15_000 else 900)}\n")
    path.write_text(buffer.getvalue(), encoding="utf-8")
    breach = guard.scan(path, Limits(max_line_bytes=800, max_field_bytes=800))
    assert breach is not None and breach.code == "table/line-too-long" and breach.line == 15_001
    quoted = tmp_path / "quoted.csv"
    quoted.write_text("id,name\n" + "".join(f'{n},"a\nb"\n' for n in range(5000)) + '9,"open\n'
                      + "x\n" * 2000, encoding="utf-8")
    breach = guard.scan(quoted, Limits(max_field_bytes=1000))
    assert breach is not None and breach.code == "table/field-too-large" and breach.line == 10_002


@pytest.mark.parametrize("cell", ["x" * 5000, '"' + "y" * 3000 + '"'])
def test_caps_hold_past_the_head_where_the_fast_path_reads(tmp_path: Path, cell: str) -> None:
    """Beyond the head the byte scan checks up front, the fast path's bounded reader refuses the
    record and the whole-file scan runs before the Frictionless path: the cap still holds."""
    from schemas.validation import HEAD_ROWS

    path = tmp_path / "late.csv"
    late = HEAD_ROWS + 500
    rows = [f"{n},short" for n in range(1, late)] + [f"{late},{cell}"] + [f"{n},short" for n in range(late + 1, late + 50)]
    path.write_text("id,name\n" + "\n".join(rows) + "\n", encoding="utf-8")
    report, _ = validate_table(path, SCHEMA, limits=Limits(max_line_bytes=4096, max_field_bytes=2048))
    [issue] = report.issues
    assert issue.code in ("table/line-too-long", "table/field-too-large")
    assert f"line {late + 1}" in issue.message and not report.valid
    fits, _ = validate_table(path, SCHEMA, limits=Limits(max_line_bytes=16384, max_field_bytes=8192))
    assert fits.valid and fits.stats["engine"] == "fast"
