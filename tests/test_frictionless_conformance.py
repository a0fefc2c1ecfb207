"""The Frictionless validation cases of ../shared/conformance/frictionless, run from their manifest.

Every case runs twice: through the public steps (`portal.steps.validate`, `validate_package`) and
through the `lodestar validate` command with ``--format json``. Both must find the same error
types at the same positions (row, field number, resource) as frictionless-py 5.19.0 did upstream.
A collapsed issue (a cascade reported once with its count) stands for each of its rows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from portal.cli import main
from portal.report import Report
from portal.steps import validate, validate_package
from schemas.structure import LABEL_TYPES

SUITE = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "frictionless"
MANIFEST = json.loads((SUITE / "cases.json").read_text(encoding="utf-8"))
CASES = {case["id"]: case for case in MANIFEST["cases"]}

def cases() -> list[str]:
    """Every case id of the manifest; each must pass (none is marked expected to fail)."""
    return list(CASES)


def rows_of(reports: list[Report], flatten: list[str]) -> list[list[Any]]:
    """The error rows of the reports, keyed like the manifest's ``flatten``, in a stable order."""
    found: list[list[Any]] = []
    for task, report in enumerate(reports, start=1):
        for issue in report.issues:
            if issue.severity != "error":
                continue
            kind = issue.code.split("/", 1)[1]
            rows: list[int | None] = [issue.location.row]
            if issue.count > 1:
                assert len(issue.rows) == issue.count, f"{issue}: cannot expand a capped cascade"
                rows = list(issue.rows)
            for row in rows:
                if kind in LABEL_TYPES:  # header errors sit on the header row, which is 1 here
                    assert row == 1, issue
                    row = None
                values = {"taskNumber": task, "rowNumber": row, "fieldNumber": issue.location.column,
                          "type": kind, "note": issue.message, "message": issue.message}
                found.append([values[key] for key in flatten])
    return found


def expected_rows(case: dict[str, Any]) -> list[list[Any]]:
    return [list(row) for row in case["expected"]["errors"]]


def assert_matches(case: dict[str, Any], reports: list[Report]) -> None:
    """Same validity; same errors (notes as substrings of our messages)."""
    flatten = case["expected"]["flatten"]
    found, expected = rows_of(reports, flatten), expected_rows(case)
    assert all(r.valid for r in reports) is case["expected"]["valid"], [str(i) for r in reports for i in r.issues]
    text_keys = [i for i, key in enumerate(flatten) if key in ("note", "message")]
    if text_keys:
        assert len(found) == len(expected), found
        for got, want in zip(sorted(found, key=str), sorted(expected, key=str)):
            for i, (g, w) in enumerate(zip(got, want)):
                assert (w in g) if i in text_keys else (g == w), (got, want)
        return
    assert sorted(found, key=str) == sorted(expected, key=str)


def run_step(case: dict[str, Any]) -> list[Report]:
    """The case through the public steps."""
    options = case.get("options", {})
    if case["kind"] == "package":
        return validate_package(SUITE / case["path"], limit_errors=options.get("limitErrors"))
    if case["kind"] == "package-descriptor":
        source = SUITE / case["path"] if "path" in case else case["descriptor"]
        return validate_package(source, check_data=False)
    report, _ = validate(SUITE / case["path"], str(SUITE / case["schema"]) if "schema" in case else None,
                         case.get("dialect"), resource=case.get("resource"),
                         limit_errors=options.get("limitErrors"), pick_errors=options.get("pickErrors"))
    return [report]


def run_cli(case: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> list[Report]:
    """The case through `lodestar validate … --format json`; exit 1 exactly when invalid."""
    options = case.get("options", {})
    args = ["validate"]
    if case["kind"] == "package":
        args.append(str(SUITE / case["path"]))
    elif case["kind"] == "package-descriptor":
        if "path" in case:
            args.append(str(SUITE / case["path"]))
        else:
            inline = tmp_path / "datapackage.json"
            inline.write_text(json.dumps(case["descriptor"]), encoding="utf-8")
            args.append(str(inline))
        args.append("--descriptor-only")
    elif "dialect" in case or "resource" in case:
        described = {"name": "case", "path": str(SUITE / case["path"]), **case.get("resource", {})}
        if "dialect" in case:
            described["dialect"] = case["dialect"]
        if "schema" in case:
            described["schema"] = str(SUITE / case["schema"])
        descriptor = tmp_path / "resource.json"
        descriptor.write_text(json.dumps(described), encoding="utf-8")
        args.append(str(descriptor))
    else:
        args.append(str(SUITE / case["path"]))
        if "schema" in case:
            args += ["--schema", str(SUITE / case["schema"])]
    if "limitErrors" in options:
        args += ["--limit-errors", str(options["limitErrors"])]
    for pick in options.get("pickErrors", []):
        args += ["--pick-errors", pick]
    code = main([*args, "--format", "json"])
    body = json.loads(capsys.readouterr().out)
    assert code == (0 if case["expected"]["valid"] else 1)
    if "reports" in body:
        return [Report.from_dict(r) for r in body["reports"]]
    return [Report.from_dict(body)]


@pytest.mark.parametrize("case_id", cases())
def test_case_through_the_validate_step(case_id: str) -> None:
    case = CASES[case_id]
    assert_matches(case, run_step(case))


@pytest.mark.parametrize("case_id", cases())
def test_case_through_the_cli(case_id: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = CASES[case_id]
    assert_matches(case, run_cli(case, tmp_path, capsys))


def test_the_manifest_is_the_one_described() -> None:
    assert len(CASES) == 36 and sum(c["expected"]["valid"] for c in CASES.values()) == 9
