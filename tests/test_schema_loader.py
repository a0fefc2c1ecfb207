"""The schema loader: bundled schemas, files, dicts, and legacy (esd, UTF-16) descriptors."""

from __future__ import annotations

import csv
import json
import warnings
from pathlib import Path

import pytest
from frictionless import Schema

from portal.errors import DataError, NotFoundError
from schemas.loader import LegacySchemaWarning, bundled_schemas, load_schema

REPO = Path(__file__).resolve().parents[1]
DEMO_FILES = REPO / "portal" / "demo" / "files"
ESD = REPO.parent / "shared" / "samples" / "schemas" / "esd-org-uk"

#: Each bundled schema and the demo file it was written for.
DEMO_TABLES = {
    "public-toilets": "lambeth-community-toilets.csv",
    "defibrillators": "koeln-aed-standorte.csv",
    "spending-over-500": "oxford-expenditure-over-500-2017-q1.csv",
    "street-trees": "toronto-street-trees-york.csv",
}


def test_bundled_schemas_include_the_four_demo_schemas() -> None:
    found = bundled_schemas()
    assert set(DEMO_TABLES) <= set(found)  # the others: tests/test_schemas_bundled.py
    for name, path in found.items():
        assert path.name == f"{name}.schema.json" and path.is_file()


@pytest.mark.parametrize("name", sorted(DEMO_TABLES))
def test_bundled_schema_is_a_valid_documented_table_schema(name: str) -> None:
    descriptor = load_schema(name)
    assert descriptor["name"] == name and descriptor["title"] and descriptor["description"]
    Schema.from_descriptor(descriptor)  # raises if Frictionless disagrees
    for field in descriptor["fields"]:
        assert field["title"] and field["description"] and field["type"]
    with (DEMO_FILES / DEMO_TABLES[name]).open(encoding="utf-8", newline="") as fh:
        header = next(csv.reader(fh))
    assert [f["name"] for f in descriptor["fields"]] == header


def test_bundled_schemas_declare_what_the_data_needs() -> None:
    trees = {f["name"]: f for f in load_schema("street-trees")["fields"]}
    assert load_schema("street-trees")["primaryKey"] == ["_id"]
    assert load_schema("street-trees")["missingValues"] == ["", "None"]
    assert trees["_id"]["type"] == "integer" and trees["DBH_TRUNK"]["type"] == "integer"
    assert trees["WARD"]["type"] == "string"
    spending = {f["name"]: f for f in load_schema("spending-over-500")["fields"]}
    assert (spending["Paid Date"]["type"], spending["Paid Date"]["format"]) == ("date", "%d/%m/%Y")
    assert spending["Amount"]["type"] == "number"
    toilets = {f["name"]: f for f in load_schema("public-toilets")["fields"]}
    assert toilets["X"]["type"] == toilets["Y"]["type"] == "integer"


def test_a_path_and_a_dict_load_too_and_the_dict_is_copied() -> None:
    path = bundled_schemas()["defibrillators"]
    from_path = load_schema(path)
    from_str = load_schema(str(path))
    assert from_path == from_str == load_schema("defibrillators")
    given = {"fields": [{"name": "id", "type": "integer"}]}
    loaded = load_schema(given)
    assert loaded == given and loaded is not given


def test_unknown_name_and_missing_file_are_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no bundled schema named 'parking'"):
        load_schema("parking")
    with pytest.raises(NotFoundError, match="nowhere.json"):
        load_schema(tmp_path / "nowhere.json")


def test_unusable_files_are_data_errors_that_name_the_file(tmp_path: Path) -> None:
    not_json = tmp_path / "notes.json"
    not_json.write_text("fields: id, name\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"notes\.json is not valid JSON"):
        load_schema(not_json)
    a_list = tmp_path / "list.json"
    a_list.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(DataError, match=r"list\.json is not a Table Schema"):
        load_schema(a_list)
    bad_type = tmp_path / "bad.json"
    bad_type.write_text(json.dumps({"fields": [{"name": "a", "type": "banana"}]}), encoding="utf-8")
    with pytest.raises(DataError, match=r"bad\.json is not a valid Table Schema"):
        load_schema(bad_type)
    with pytest.raises(DataError, match="no list of fields"):
        load_schema({"title": "no fields"})


def test_utf16_legacy_esd_schema_loads_with_a_warning() -> None:
    path = ESD / "Spend-Spend.json"
    assert path.read_bytes()[:2] == b"{\x00"  # UTF-16LE without a BOM
    with pytest.warns(LegacySchemaWarning, match="XSD types"):
        descriptor = load_schema(path)
    fields = {f["name"]: f for f in descriptor["fields"]}
    assert len(fields) == 22
    assert fields["Amount"]["type"] == "number"
    assert (fields["OrganisationURI"]["type"], fields["OrganisationURI"]["format"]) == ("string", "uri")
    assert fields["CardTransaction"] == {
        "name": "CardTransaction", "title": fields["CardTransaction"]["title"], "type": "string",
        "constraints": {"required": False, "pattern": "(GPC|CCC|None)"}}
    assert all("type" not in f["constraints"] for f in descriptor["fields"])


def test_string_booleans_and_bad_escapes_are_normalised() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        descriptor = load_schema(ESD / "PublicToilets-PublicToilets.json")
    messages = [str(w.message) for w in caught if issubclass(w.category, LegacySchemaWarning)]
    assert any("backslash escapes" in m for m in messages)
    assert any("string booleans" in m for m in messages)
    assert all(isinstance(f["constraints"]["required"], bool) for f in descriptor["fields"])
    extract = descriptor["fields"][0]
    assert extract["name"] == "ExtractDate" and extract["constraints"]["required"] is True


def test_utf16_with_bom_and_utf8_with_bom_are_read(tmp_path: Path) -> None:
    text = json.dumps({"fields": [{"name": "Straße", "type": "string"}]})
    for encoding in ("utf-16", "utf-8-sig"):
        path = tmp_path / f"{encoding}.json"
        path.write_text(text, encoding=encoding)
        assert load_schema(path)["fields"][0]["name"] == "Straße"
