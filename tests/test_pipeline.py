"""The pipeline on a catalogue served by a real HTTP server on loopback.

The catalogue is written here; its table is the real Lambeth community-toilets file.
"""

from __future__ import annotations

import csv
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from portal.db import Dataset, HarvestRun, ResourceVersion
from portal.errors import SourceUnavailableError
from portal.instance import Instance
from portal.pipeline import harvest
from portal.store import ask, select_rows
from portal.watch import evaluate_freshness
from tests.conftest import BASE_URL, LAMBETH_CATALOGUE, TOILETS, serve_lambeth

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
GRAPH = f"{BASE_URL}/graph/lambeth/community-toilets"
ROW = f"{BASE_URL}/def/lambeth/community-toilets/Row"

def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def names_in_store(instance: Instance) -> set[str]:
    rows = select_rows(instance.store, f"""
        SELECT ?name WHERE {{ GRAPH <{GRAPH}> {{
          ?row a <{ROW}> ; <http://schema.org/name> ?name }} }}""")
    return {r["name"] for r in rows}


def test_harvest_publishes_every_row_and_the_record(instance: Instance, source: Path) -> None:
    outcome = harvest(instance, "lambeth", now=T0)
    assert (outcome.status, outcome.datasets_seen, outcome.datasets_changed) == ("finished", 1, 1)
    assert [r.valid for r in outcome.reports] == [True]
    expected = csv_rows(TOILETS)
    assert names_in_store(instance) == {r["NAME"].strip() for r in expected}  # CSVW trims cells
    count = select_rows(instance.store, f"SELECT (COUNT(?r) AS ?n) WHERE {{ ?r a <{ROW}> }}")
    assert int(count[0]["n"]) == len(expected)
    dataset = f"{BASE_URL}/dataset/lambeth/community-toilets"
    assert ask(instance.store, f"""PREFIX dcat: <http://www.w3.org/ns/dcat#>
        ASK {{ GRAPH <{GRAPH}> {{ <{dataset}> a dcat:Dataset ; dcat:distribution ?d }}
               GRAPH <{BASE_URL}/graph/catalog> {{ <{BASE_URL}/catalog> dcat:dataset <{dataset}> }} }}""")
    with instance.session() as session:
        row = session.scalar(select(Dataset))
        assert row is not None and row.last_content_change == T0
        assert row.statuses[-1].status == "fresh"


def test_reharvest_of_unchanged_content_changes_nothing(instance: Instance, source: Path) -> None:
    harvest(instance, "lambeth", now=T0)
    again = harvest(instance, "lambeth", now=T0 + timedelta(days=1))
    assert again.datasets_changed == 0
    with instance.session() as session:
        assert len(session.scalars(select(ResourceVersion)).all()) == 1
        dataset = session.scalar(select(Dataset))
        assert dataset is not None and dataset.last_content_change == T0
        assert [r.status for r in session.scalars(select(HarvestRun))] == ["finished", "finished"]


def test_metadata_edit_is_not_a_content_change(instance: Instance, source: Path) -> None:
    harvest(instance, "lambeth", now=T0)
    (source / "catalog.ttl").write_text(LAMBETH_CATALOGUE.replace("{title}", "Toilets open to all"), encoding="utf-8")
    outcome = harvest(instance, "lambeth", now=T0 + timedelta(days=40))
    assert outcome.datasets_changed == 1  # the record changed…
    assert ask(instance.store, f'ASK {{ GRAPH <{GRAPH}> {{ ?d <http://purl.org/dc/terms/title> "Toilets open to all" }} }}')
    with instance.session() as session:
        dataset = session.scalar(select(Dataset))
        assert dataset is not None and dataset.last_content_change == T0  # …the data did not
        assert dataset.statuses[-1].status == "due"  # monthly: due after 30 days, overdue after 44


def test_content_change_is_detected_and_republished(instance: Instance, source: Path) -> None:
    harvest(instance, "lambeth", now=T0)
    with (source / "toilets.csv").open("a", encoding="utf-8", newline="") as fh:
        fh.write('New Café,Male/Female,"1 Test Street, SW9 9ZZ",SW9 9ZZ,Brixton,531000,175000,,Mon - Fri: 09:00 - 17:00\n')
    t1 = T0 + timedelta(days=3)
    outcome = harvest(instance, "lambeth", now=t1)
    assert outcome.datasets_changed == 1
    assert "New Café" in names_in_store(instance)
    with instance.session() as session:
        dataset = session.scalar(select(Dataset))
        assert dataset is not None and dataset.last_content_change == t1
        assert len(session.scalars(select(ResourceVersion)).all()) == 2


def test_invalid_new_version_is_reported_and_the_published_rows_stay(instance: Instance, source: Path,
                                                                     file_server: tuple[str, Path]) -> None:
    harvest(instance, "lambeth", now=T0)
    before = names_in_store(instance)
    lines = (source / "toilets.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    header = lines[0].rstrip("\r\n").split(",")
    x = header.index("X")
    row = next(csv.reader([lines[3]]))
    row[x] = "not-a-number"
    bad_row = ",".join(f'"{c}"' for c in row) + "\n"
    (source / "toilets.csv").write_text("".join(lines[:3] + [bad_row] + lines[4:]), encoding="utf-8")
    outcome = harvest(instance, "lambeth", now=T0 + timedelta(days=1))
    [report] = outcome.reports
    assert not report.valid
    located = {(i.code, i.location.file, i.location.row, i.location.field) for i in report.errors}
    assert ("table/type-error", f"{file_server[0]}/toilets.csv", 4, "X") in located  # the URL, not our copy
    assert names_in_store(instance) == before


def test_unreachable_resource_keeps_what_was_published(instance: Instance, source: Path) -> None:
    harvest(instance, "lambeth", now=T0)
    before = names_in_store(instance)
    (source / "toilets.csv").unlink()
    outcome = harvest(instance, "lambeth", now=T0 + timedelta(days=1))
    assert outcome.status == "partial"
    assert "404" in outcome.problems[0]
    assert names_in_store(instance) == before


def test_unreachable_source_fails_the_run(instance: Instance, source: Path) -> None:
    (source / "catalog.ttl").unlink()
    with pytest.raises(SourceUnavailableError):
        harvest(instance, "lambeth", now=T0)
    with instance.session() as session:
        assert [r.status for r in session.scalars(select(HarvestRun))] == ["failed"]


def test_freshness_differs_between_two_instants(instance: Instance, source: Path) -> None:
    harvest(instance, "lambeth", now=T0)
    early = evaluate_freshness(instance, T0 + timedelta(days=2))
    late = evaluate_freshness(instance, T0 + timedelta(days=50))
    assert [o.result.status for o in early] == ["fresh"]
    assert [(o.previous, o.result.status, o.alert) for o in late] == [("fresh", "overdue", True)]
    assert ask(instance.store, f"""PREFIX dqv: <http://www.w3.org/ns/dqv#>
        ASK {{ GRAPH <{BASE_URL}/graph/freshness> {{
          <{BASE_URL}/dataset/lambeth/community-toilets> dqv:hasQualityMeasurement [ dqv:value "overdue" ] }} }}""")


def test_a_remote_catalogue_cannot_publish_local_files(instance: Instance, source: Path) -> None:
    secret = source.parent / "secret.csv"
    secret.write_text("name,password\nadmin,hunter2\n", encoding="utf-8")
    catalogue = LAMBETH_CATALOGUE.replace("{title}", "Toilets").replace("<toilets.csv>", f"<{secret.as_uri()}>")
    (source / "catalog.ttl").write_text(catalogue, encoding="utf-8")
    outcome = harvest(instance, "lambeth", now=T0)
    assert outcome.status == "partial"
    assert "may not point at local files" in outcome.problems[0]
    assert not ask(instance.store, 'ASK { ?s ?p "hunter2" }')
    with instance.session() as session:
        assert session.scalars(select(ResourceVersion)).all() == []


def test_a_what_if_evaluation_leaves_no_trace(instance: Instance, source: Path) -> None:
    harvest(instance, "lambeth", now=T0)
    [what_if] = evaluate_freshness(instance, T0 + timedelta(days=400), record=False)
    assert what_if.result.status == "delinquent"
    with instance.session() as session:
        dataset = session.scalar(select(Dataset))
        assert dataset is not None and [s.status for s in dataset.statuses] == ["fresh"]
    assert not ask(instance.store, 'ASK { ?s ?p "delinquent" }')


def test_the_pipeline_runs_on_a_remote_sparql_store(tmp_path: Path, oxigraph_server: str,
                                                    file_server: tuple[str, Path]) -> None:
    from portal.config import load_settings
    from portal.pipeline import add_source
    from portal.store.sparql_http import SparqlHttpStore

    catalogue_url = serve_lambeth(file_server)
    remote = Instance(load_settings({"instance": str(tmp_path / "remote"), "base_url": BASE_URL,
                                     "store": f"{oxigraph_server}/query", "allow_private_addresses": True},
                                    environ={}))
    try:
        assert isinstance(remote.store, SparqlHttpStore)
        remote.store.drop_graph(GRAPH)
        add_source(remote, "lambeth", catalogue_url)
        assert harvest(remote, "lambeth", now=T0).status == "finished"
        assert names_in_store(remote) == {r["NAME"].strip() for r in csv_rows(TOILETS)}
    finally:
        remote.close()


def test_two_tables_of_one_dataset_mint_distinct_row_uris(instance: Instance, source: Path) -> None:
    two = LAMBETH_CATALOGUE.replace("{title}", "Toilets").replace(
        "dct:conformsTo <urn:lodestar:schema:public-toilets> ] .",
        "dct:conformsTo <urn:lodestar:schema:public-toilets> ] , [ a dcat:Distribution ;\n"
        '    dct:title "Second copy" ; dcat:downloadURL <copy.csv> ;\n'
        "    dct:conformsTo <urn:lodestar:schema:public-toilets> ] .")
    (source / "catalog.ttl").write_text(two, encoding="utf-8")
    (source / "copy.csv").write_bytes((source / "toilets.csv").read_bytes())
    outcome = harvest(instance, "lambeth", now=T0)
    assert [r.valid for r in outcome.reports] == [True, True]
    rows = len(csv_rows(TOILETS))
    subjects = select_rows(instance.store, f"""SELECT (COUNT(DISTINCT ?r) AS ?n) WHERE {{
        GRAPH <{GRAPH}> {{ ?r a <http://schema.org/PublicToilet> }} }}""")
    assert int(subjects[0]["n"]) == 2 * rows
    second = f"{BASE_URL}/id/lambeth/community-toilets.second-copy/1"
    assert ask(instance.store, f"ASK {{ <{second}> ?p ?o }}")


def test_an_unreachable_store_fails_the_run_and_says_so(tmp_path: Path, file_server: tuple[str, Path]) -> None:
    from portal.config import load_settings
    from portal.errors import StoreError
    from portal.pipeline import add_source
    from tests.conftest import free_port

    catalogue_url = serve_lambeth(file_server)
    broken = Instance(load_settings({"instance": str(tmp_path / "broken"), "base_url": BASE_URL,
                                     "store": f"http://127.0.0.1:{free_port()}/query",
                                     "allow_private_addresses": True}, environ={}))
    try:
        add_source(broken, "lambeth", catalogue_url)
        with pytest.raises(StoreError, match="unreachable"):
            harvest(broken, "lambeth", now=T0)
        with broken.session() as session:
            [run] = session.scalars(select(HarvestRun)).all()
            assert run.status == "failed" and "unreachable" in run.message
    finally:
        broken.close()
