"""The public pipeline steps, each called on plain inputs without a harvest."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from frictionless import Dialect, Schema, formats

from portal.errors import MappingError, StoreError
from portal.instance import Instance
from portal.steps import DatasetRef, publish, upgrade, validate, withdraw
from portal.store import ask, select_rows
from schemas.loader import load_schema
from tests.conftest import BASE_URL, TOILETS

REF = DatasetRef("lambeth", "community-toilets")


def toilet_names(instance: Instance) -> set[str]:
    rows = select_rows(instance.store, f"""SELECT ?name WHERE {{ GRAPH <{REF.graph(instance.uris)}> {{
        ?row <{BASE_URL}/def/lambeth/community-toilets/name> ?name }} }}""")
    return {r["name"] for r in rows}


def test_dataset_ref_names_its_graph_and_uri(instance: Instance) -> None:
    assert REF.graph(instance.uris) == f"{BASE_URL}/graph/lambeth/community-toilets"
    assert REF.uri(instance.uris) == f"{BASE_URL}/dataset/lambeth/community-toilets"
    assert str(REF) == "lambeth/community-toilets"


def test_validate_takes_a_frictionless_schema() -> None:
    report, table = validate(TOILETS, Schema.from_descriptor(load_schema("public-toilets")))
    assert report.valid is True
    assert table.schema_source.startswith("given:") and table.delimiter == ","
    assert report.stats["rows"] > 10


def test_validate_infers_a_schema_when_given_none(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("id,amount\n1,10\n2,12\n3,x\n", encoding="utf-8")
    report, table = validate(bad, {"fields": [{"name": "id", "type": "integer"},
                                              {"name": "amount", "type": "integer"}]})
    assert report.valid is False
    assert [(i.code, i.location.row, i.location.field) for i in report.errors] == [("table/type-error", 4, "amount")]
    inferred, table = validate(bad)
    assert inferred.valid is True and table.schema_source == "inferred"


def test_validate_says_when_a_declared_dialect_does_not_fit(tmp_path: Path) -> None:
    report, _ = validate(TOILETS, None, Dialect(controls=[formats.CsvControl(delimiter=";")]))
    [warning] = [i for i in report.issues if i.code == "table/dialect-mismatch"]
    assert warning.severity == "warning" and "';'" in warning.message
    fitting, _ = validate(TOILETS, None, Dialect(header_rows=[1], controls=[formats.CsvControl(delimiter=",")]))
    assert not [i for i in fitting.issues if i.code == "table/dialect-mismatch"]


def test_upgrade_writes_n_triples_whole(instance: Instance, tmp_path: Path) -> None:
    _, table = validate(TOILETS, load_schema("public-toilets"))
    out = tmp_path / "rdf" / "toilets.nt"
    result = upgrade(TOILETS, table, uris=instance.uris, publisher="lambeth",
                     dataset_namespace="community-toilets", out_path=out)
    assert result.path == out
    assert result.triples == len(out.read_bytes().splitlines())
    assert [p.name for p in out.parent.iterdir()] == ["toilets.nt"]  # no .part left behind


def test_a_failed_upgrade_leaves_no_file(instance: Instance, tmp_path: Path) -> None:
    table_file = tmp_path / "table.csv"
    table_file.write_text("id,name\n1,a\n2,b\n", encoding="utf-8")
    _, table = validate(table_file, {"fields": [{"name": "id", "type": "integer"}, {"name": "name"}],
                                     "primaryKey": ["id"]})
    table_file.write_bytes(b"id,name\n1,\xff\xfe\n")  # no longer the UTF-8 it was validated as
    out = tmp_path / "rdf" / "table.nt"
    with pytest.raises(MappingError):
        upgrade(table_file, table, uris=instance.uris, publisher="p", dataset_namespace="d", out_path=out)
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


def test_publish_and_withdraw_a_graph_from_files(instance: Instance, tmp_path: Path) -> None:
    _, table = validate(TOILETS, load_schema("public-toilets"))
    rows = upgrade(TOILETS, table, uris=instance.uris, publisher="lambeth",
                   dataset_namespace="community-toilets", out_path=tmp_path / "rows.nt")
    record = tmp_path / "record.nt"
    record.write_text(f"<{REF.uri(instance.uris)}> <http://purl.org/dc/terms/title> \"Toilets\" .\n",
                      encoding="utf-8")
    graph = REF.graph(instance.uris)
    assert publish(instance.store, graph, [record, rows.path]) is True
    with TOILETS.open(encoding="utf-8", newline="") as fh:
        assert toilet_names(instance) == {row["NAME"].strip() for row in csv.DictReader(fh)}  # CSVW trims
    assert ask(instance.store, f'ASK {{ GRAPH <{graph}> {{ ?d <http://purl.org/dc/terms/title> "Toilets" }} }}')
    assert publish(instance.store, graph, [record, rows.path]) is False  # nothing changed
    withdraw(instance.store, graph)
    assert toilet_names(instance) == set()
    withdraw(instance.store, graph)  # withdrawing what is not there is no error


def test_publish_refuses_missing_files_before_touching_the_store(instance: Instance, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="missing file"):
        publish(instance.store, REF.graph(instance.uris), [tmp_path / "gone.nt"])
