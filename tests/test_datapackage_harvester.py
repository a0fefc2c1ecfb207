"""The Data Package harvester on the Frictionless fixtures (../shared/conformance/frictionless), served over loopback.

The fixture packages, tables and schemas are frictionless-py's own test data (see that folder's
README for provenance); the descriptors written in this file are this test's own and point at
those real tables and schemas. The HSDS package is Open Referral's published `datapackage.json`
(../shared/samples/schemas/openreferral).
"""

from __future__ import annotations

import functools
import http.server
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from frictionless import Dialect, Schema

from harvesters import harvester_for
from harvesters.base import HarvestedDataset, Harvester, ListingItem, ListingProblem
from harvesters.datapackage import INLINE_KEY, PART_KEY, PROBLEMS_KEY, VERSION_KEY, descriptor_url
from portal.egress import Egress
from portal.errors import SourceError, SourceUnavailableError
from portal.instance import Instance
from tests.conftest import SHARED, serve_http

FIXTURES = SHARED / "conformance" / "frictionless" / "data"
HSDS = SHARED / "samples" / "schemas" / "openreferral" / "hsds-3.0_datapackage.json"
V2 = "https://datapackage.org/profiles/2.0/datapackage.json"


class Recorder(http.server.SimpleHTTPRequestHandler):
    """Serves a folder and remembers every path asked for."""

    asked: list[str] = []

    def do_GET(self) -> None:
        type(self).asked.append(self.path)
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path, list[str]]]:
    """A loopback server of a temporary folder: (base URL, folder, paths asked for)."""
    root = tmp_path / "www"
    root.mkdir()
    asked: list[str] = []
    handler = type("Recording", (Recorder,), {"asked": asked})
    with serve_http(functools.partial(handler, directory=str(root))) as (url, _):
        yield url, root, asked


@pytest.fixture
def datapackage() -> Iterator[Harvester]:
    """The Data Package harvester, allowed to reach the loopback server."""
    with Egress(allow_private_addresses=True, backoff=0.01, retries=0) as egress:
        yield harvester_for("datapackage", egress=egress)


def put(root: Path, name: str, content: Any) -> None:
    target = root / name
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, Path):
        shutil.copyfile(content, target)
    else:
        target.write_text(content if isinstance(content, str) else json.dumps(content, indent=2), encoding="utf-8")


def split(items: list[ListingItem]) -> tuple[HarvestedDataset, list[ListingProblem]]:
    [record] = [i for i in items if isinstance(i, HarvestedDataset)]
    return record, [i for i in items if isinstance(i, ListingProblem)]


# -- the fixture packages ----------------------------------------------------------------------------------

def test_fixture_package_from_its_folder_url(datapackage: Harvester, server: tuple[str, Path, list[str]]) -> None:
    url, root, asked = server
    shutil.copytree(FIXTURES / "package", root / "package")
    expected = json.loads((FIXTURES / "package" / "datapackage.json").read_text(encoding="utf-8"))
    record, problems = split(list(datapackage.gather(f"{url}/package/")))
    assert problems == [] and asked == ["/package/datapackage.json"]  # only the descriptor is read
    assert record.identifier == expected["name"] and record.extras[VERSION_KEY] == "1.0"
    assert [r.url for r in record.resources] == [f"{url}/package/{r['path']}" for r in expected["resources"]]
    data, data2 = record.resources
    assert isinstance(data.table_schema, Schema) and isinstance(data2.table_schema, Schema)
    assert data.table_schema.to_descriptor()["fields"] == expected["resources"][0]["schema"]["fields"]
    assert data.table_schema.primary_key == ["id"]
    assert data2.table_schema.foreign_keys == [
        {"fields": ["parent"], "reference": {"resource": "data", "fields": ["id"]}}]
    assert data.schema is None and data.dialect is None  # inline schema, no dialect
    assert data.identifier == "data"


@pytest.mark.parametrize("fixture", ["package/datapackage.json", "invalid/datapackage.json"])
def test_fixture_descriptors_are_valid(datapackage: Harvester, server: tuple[str, Path, list[str]],
                                       fixture: str) -> None:
    # `invalid/` has invalid *data* (blank rows, a broken primary key); its descriptor is valid.
    url, root, _ = server
    shutil.copytree(FIXTURES / Path(fixture).parent, root / "pkg")
    record, problems = split(list(datapackage.gather(f"{url}/pkg/datapackage.json")))
    assert problems == [] and len(record.resources) == 2


def test_invalid_descriptor_is_a_located_source_error(datapackage: Harvester,
                                                       server: tuple[str, Path, list[str]]) -> None:
    # The frictionless case `package-descriptor-errors`: duplicate resource names and a bad `created`.
    url, root, _ = server
    put(root, "multiple-errors.package.json", FIXTURES / "multiple-errors.package.json")
    with pytest.raises(SourceError) as raised:
        list(datapackage.gather(f"{url}/multiple-errors.package.json"))
    message = str(raised.value)
    assert "created: 'test' is not a 'date-time'" in message
    assert "resources[2].name: 'number-two' is also the name of resources[1]" in message


def test_v2_resource_without_a_name_is_a_problem_of_that_resource(
        datapackage: Harvester, server: tuple[str, Path, list[str]]) -> None:
    # The frictionless case `package-descriptor-resource-name`, plus a good resource beside it.
    url, root, _ = server
    put(root, "table.csv", FIXTURES / "table.csv")
    put(root, "datapackage.json", {"$schema": V2, "name": "p",
                                   "resources": [{"path": "table.csv"}, {"name": "ok", "path": "table.csv"}]})
    record, [problem] = split(list(datapackage.gather(f"{url}/datapackage.json")))
    assert record.extras[VERSION_KEY] == "2.0"
    assert [r.identifier for r in record.resources] == ["ok"]
    assert problem.where == f"{url}/datapackage.json resources[0]"
    assert "'name' is a required property" in problem.message


def test_hsds_package_with_21_tables(datapackage: Harvester, server: tuple[str, Path, list[str]]) -> None:
    url, root, _ = server
    put(root, "hsds/datapackage.json", HSDS)
    expected = json.loads(HSDS.read_text(encoding="utf-8"))
    record, problems = split(list(datapackage.gather(f"{url}/hsds")))
    assert problems == []
    assert len(record.resources) == len(expected["resources"]) == 21
    assert record.title == expected["title"] and record.landing_page == expected["homepage"]
    assert record.licence == expected["license"]["url"]
    assert record.extras["version"] == expected["version"]
    for resource, given in zip(record.resources, expected["resources"]):
        assert resource.table_schema.field_names == [f["name"] for f in given["schema"]["fields"]]
        assert resource.media_type == given["mediatype"]


# -- referenced schemas and dialects -------------------------------------------------------------------------

def test_referenced_schema_and_dialect_arrive_as_frictionless_objects(
        datapackage: Harvester, server: tuple[str, Path, list[str]]) -> None:
    url, root, asked = server
    put(root, "pkg/table.csv", FIXTURES / "table.csv")
    put(root, "pkg/delimiter.csv", FIXTURES / "delimiter.csv")
    put(root, "pkg/schemas/table.json", FIXTURES / "schema.json")
    put(root, "shared/schema.json", FIXTURES / "schema.json")
    put(root, "pkg/semicolon.json", {"delimiter": ";", "header": True})
    put(root, "pkg/datapackage.json", {
        "name": "referenced", "title": "Referenced", "created": "2024-05-01T10:00:00Z",
        "keywords": ["a", "b"], "homepage": "https://example.org/referenced",
        "licenses": [{"name": "ODC-PDDL-1.0", "path": "http://opendatacommons.org/licenses/pddl/"}],
        "contributors": [{"title": "Jane", "role": "author"},
                         {"title": "Open Data Team", "role": "publisher", "email": "data@example.org"}],
        "sources": [{"title": "Survey"}], "version": "1.2.0",
        "resources": [
            {"name": "relative", "path": "table.csv", "schema": "schemas/table.json"},
            {"name": "absolute", "path": "delimiter.csv", "schema": f"{url}/shared/schema.json",
             "dialect": "semicolon.json", "encoding": "utf-8", "hash": "md5:0"},
        ]})
    record, problems = split(list(datapackage.gather(f"{url}/pkg/datapackage.json")))
    assert problems == []
    relative, absolute = record.resources
    assert isinstance(relative.table_schema, Schema)
    assert [(f.name, f.type) for f in relative.table_schema.fields] == [("id", "integer"), ("name", "string")]
    assert relative.schema == f"{url}/pkg/schemas/table.json"
    assert isinstance(absolute.table_schema, Schema) and absolute.schema == f"{url}/shared/schema.json"
    assert isinstance(absolute.dialect, Dialect)
    assert absolute.dialect.to_descriptor()["csv"]["delimiter"] == ";"
    assert absolute.extras == {"encoding": "utf-8", "hash": "md5:0"}
    assert sorted(asked) == ["/pkg/datapackage.json", "/pkg/schemas/table.json", "/pkg/semicolon.json",
                             "/shared/schema.json"]
    assert record.publisher_name == "Open Data Team" and record.contact_email == "data@example.org"
    assert record.licence == "http://opendatacommons.org/licenses/pddl/"
    assert record.keywords == ["a", "b"] and record.landing_page == "https://example.org/referenced"
    assert record.issued is not None and record.issued.isoformat() == "2024-05-01T10:00:00+00:00"
    assert record.extras["sources"] == [{"title": "Survey"}] and record.extras["version"] == "1.2.0"


def test_frictionless_opens_no_url_itself(datapackage: Harvester, server: tuple[str, Path, list[str]]) -> None:
    url, root, asked = server
    put(root, "table.csv", FIXTURES / "table.csv")
    put(root, "datapackage.json", {"$schema": f"{url}/custom-package.json", "name": "p", "resources": [{
        "name": "t", "path": "table.csv",
        "schema": {"$schema": f"{url}/custom-profile.json", "fields": [{"name": "id", "type": "integer"}]},
        "dialect": {"$schema": f"{url}/custom-dialect.json", "delimiter": ","}}]})
    record, problems = split(list(datapackage.gather(f"{url}/datapackage.json")))
    assert problems == [] and isinstance(record.resources[0].table_schema, Schema)
    assert isinstance(record.resources[0].dialect, Dialect)
    assert asked == ["/datapackage.json"]  # no profile was fetched, by us or by frictionless
    assert record.extras[VERSION_KEY] == "1.0"
    assert record.extras["lodestar:notes"] == [
        f"the custom profile {url}/custom-package.json is not fetched; checked against the Data Package 1.0 profile"]


def test_bad_schemas_are_problems_of_their_resource_only(datapackage: Harvester,
                                                         server: tuple[str, Path, list[str]]) -> None:
    url, root, _ = server
    put(root, "table.csv", FIXTURES / "table.csv")
    put(root, "broken.json", '{"fields": [')
    put(root, "datapackage.json", {"name": "p", "resources": [
        {"name": "unknown-type", "path": "table.csv", "schema": {"fields": [{"name": "id", "type": "nope"}]}},
        {"name": "missing", "path": "table.csv", "schema": "missing.json"},
        {"name": "broken", "path": "table.csv", "schema": "broken.json"},
        {"name": "bad-key", "path": "table.csv",
         "schema": {"fields": [{"name": "id", "type": "integer"}], "primaryKey": ["nothing"]}},
        {"name": "escapes", "path": "table.csv", "schema": "../../secret.json"},
        {"name": "local", "path": "table.csv", "schema": "file:///etc/passwd"},
        {"name": "good", "path": "table.csv", "schema": "schema.json"},
    ]})
    put(root, "schema.json", FIXTURES / "schema.json")
    record, problems = split(list(datapackage.gather(f"{url}/datapackage.json")))
    assert [r.identifier for r in record.resources] == ["good"]
    by_name = {p.where.rsplit("(", 1)[-1].rstrip(")"): p.message for p in problems}
    assert list(by_name) == ["unknown-type", "missing", "broken", "bad-key", "escapes", "local"]
    assert "resources[0].schema.fields[0]" in by_name["unknown-type"]
    assert "404" in by_name["missing"]
    assert "line 1, column 13" in by_name["broken"]
    assert 'primary key' in by_name["bad-key"]
    assert "not a URL nor a relative path inside the package" in by_name["escapes"]
    assert "not a URL nor a relative path inside the package" in by_name["local"]
    assert len(record.extras[PROBLEMS_KEY]) == 6


def test_multi_part_resource_is_one_resource_per_part(datapackage: Harvester,
                                                      server: tuple[str, Path, list[str]]) -> None:
    url, root, asked = server
    put(root, "datapackage.json", {"name": "p", "resources": [{
        "name": "parts", "title": "Parts", "path": ["part1.csv", "part2.csv", "https://example.org/part3.csv"],
        "schema": "schema.json", "dialect": {"delimiter": ";"}},
        {"name": "again", "path": "again.csv", "schema": "schema.json"}]})
    put(root, "schema.json", FIXTURES / "schema.json")
    record, problems = split(list(datapackage.gather(f"{url}/datapackage.json")))
    assert problems == [] and asked == ["/datapackage.json", "/schema.json"]  # a shared schema is read once
    first, second, third, again = record.resources
    assert [r.url for r in record.resources] == [f"{url}/part1.csv", f"{url}/part2.csv",
                                                 "https://example.org/part3.csv", f"{url}/again.csv"]
    assert [r.extras.get(PART_KEY) for r in record.resources] == ["1/3", "2/3", "3/3", None]
    assert first.title == "Parts (part 1 of 3)" and third.identifier == "parts#3"
    assert first.dialect.header is True and second.dialect.header is False and third.dialect.header is False
    assert second.dialect.to_descriptor()["csv"]["delimiter"] == ";"
    assert all(r.table_schema is first.table_schema for r in (first, second, third))
    assert again.table_schema.field_names == first.table_schema.field_names and again.dialect is None


def test_inline_data_resource_is_kept_in_extras(datapackage: Harvester, server: tuple[str, Path, list[str]]) -> None:
    url, root, _ = server
    inline = {"name": "inline", "data": [{"id": 1, "name": "one"}]}
    put(root, "datapackage.json", {"name": "p", "resources": [inline, {"name": "file", "path": "t.csv"}]})
    record, problems = split(list(datapackage.gather(f"{url}/datapackage.json")))
    assert problems == [] and [r.identifier for r in record.resources] == ["file"]
    assert record.extras[INLINE_KEY] == [inline]
    assert any("inline" in note for note in record.extras["lodestar:notes"])


def test_unparsable_descriptor_is_located(datapackage: Harvester, server: tuple[str, Path, list[str]]) -> None:
    url, root, _ = server
    put(root, "datapackage.json", '{\n  "name": "p",\n  "resources": [\n    {"name": "a" "path": "a.csv"}\n  ]\n}\n')
    with pytest.raises(SourceError, match=r"datapackage\.json: not valid JSON at line 4, column 18"):
        list(datapackage.gather(f"{url}/datapackage.json"))


@pytest.mark.parametrize(("descriptor", "message"), [
    ([], "a JSON object, not list"),
    ({"name": "p"}, "'resources' is a required property"),
    ({"name": "p", "resources": []}, r"resources: \[\] should be non-empty"),
])
def test_unusable_descriptors(datapackage: Harvester, server: tuple[str, Path, list[str]], descriptor: Any,
                              message: str) -> None:
    url, root, _ = server
    put(root, "datapackage.json", descriptor)
    with pytest.raises(SourceError, match=message):
        list(datapackage.gather(f"{url}/datapackage.json"))


def test_missing_package_is_unavailable(datapackage: Harvester, server: tuple[str, Path, list[str]]) -> None:
    url, _, _ = server
    with pytest.raises(SourceUnavailableError, match="404"):
        list(datapackage.gather(f"{url}/nothing/"))


@pytest.mark.parametrize(("given", "expected"), [
    ("https://x.org/pkg/datapackage.json", "https://x.org/pkg/datapackage.json"),
    ("https://x.org/pkg/other.json", "https://x.org/pkg/other.json"),
    ("https://x.org/pkg/", "https://x.org/pkg/datapackage.json"),
    ("https://x.org/pkg", "https://x.org/pkg/datapackage.json"),
])
def test_descriptor_url(given: str, expected: str) -> None:
    assert descriptor_url(given) == expected


# -- end to end ------------------------------------------------------------------------------------------------

@pytest.mark.e2e
def test_pipeline_validates_package_tables_with_the_package_schema_and_dialect(
        instance: Instance, server: tuple[str, Path, list[str]]) -> None:
    from portal.pipeline import add_source, harvest

    url, root, _ = server
    # table.csv is "id,name" with two rows. The package's inline schema says `name` is an integer,
    # which an inferred schema never would: only the package's schema makes that table invalid.
    # without-headers.csv is the same kind of table with no header row: it is valid against
    # schema.json only if it is read with the package's dialect (`header: false`).
    put(root, "pkg/table.csv", FIXTURES / "table.csv")
    put(root, "pkg/without-headers.csv", FIXTURES / "without-headers.csv")
    put(root, "pkg/schema.json", FIXTURES / "schema.json")
    put(root, "pkg/datapackage.json", {"name": "languages", "resources": [
        {"name": "strict", "path": "table.csv", "mediatype": "text/csv",
         "schema": {"fields": [{"name": "id", "type": "integer"}, {"name": "name", "type": "integer"}]}},
        {"name": "headless", "path": "without-headers.csv", "mediatype": "text/csv", "schema": "schema.json",
         "dialect": {"header": False}}]})
    add_source(instance, "pkg", f"{url}/pkg/", kind="datapackage")
    outcome = harvest(instance, "pkg")
    strict, headless = outcome.reports
    assert not strict.valid
    assert {issue.code for issue in strict.errors} == {"table/type-error"}
    assert len(strict.errors) == 2  # both rows' `name`
    assert headless.valid, [str(issue) for issue in headless.errors]


def test_local_package_reads_relative_references_as_files(datapackage: Harvester, tmp_path: Path) -> None:
    folder = tmp_path / "local"
    put(folder, "table.csv", FIXTURES / "table.csv")
    put(folder, "schemas/table.json", FIXTURES / "schema.json")
    put(folder, "datapackage.json", {"name": "local", "resources": [
        {"name": "t", "path": "table.csv", "schema": "schemas/table.json"}]})
    record, problems = split(list(datapackage.gather(folder.as_uri() + "/")))
    assert problems == []
    [table] = record.resources
    assert table.url == (folder / "table.csv").as_uri()
    assert table.table_schema.field_names == ["id", "name"]
