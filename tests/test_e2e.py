"""End to end, as a newcomer and a data officer would run it: `lodestar serve --demo` in its own
process, the portal and `/sparql` over HTTP, and CLI commands run while the portal serves."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import rdflib
import requests
from rdflib.namespace import DCTERMS

from tests.conftest import DEMO, SHARED, free_port, serve_lambeth, wait_for
from tests.test_web import validation_verdicts

pytestmark = pytest.mark.e2e
DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")  # a plain Namespace: pytest probes module attributes


@dataclass
class Portal:
    """A running `lodestar serve --demo` and the environment of its instance."""

    url: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "portal.cli", *args], env=self.env,
                              capture_output=True, text=True, timeout=600)

    def stop(self) -> int:
        """Stop it as a service manager would (SIGTERM), wait for the process to end; its exit code."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


@contextmanager
def running_portal(folder: Path, *args: str) -> Iterator[Portal]:
    """`lodestar serve *args` on a free port, its instance and log in `folder`; stopped on leaving."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LODESTAR_")}
    env.update(LODESTAR_INSTANCE=str(folder / "instance"), LODESTAR_BASE_URL=url)
    log_path = folder / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "portal.cli", "serve", *args, "--port", str(port)],
                                   env=env, stdout=log, stderr=subprocess.STDOUT)
        running = Portal(url, env, process)
        try:
            try:
                wait_for(f"{url}/-/health", timeout=600, process=process)
            except RuntimeError as exc:
                tail = log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-20:]
                raise RuntimeError("\n".join([str(exc), f"{log_path} ends:", *tail])) from None
            yield running
        finally:
            running.stop()


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    """The demo portal every test of this module shares; no test may stop it."""
    with running_portal(tmp_path_factory.mktemp("e2e"), "--demo") as running:
        yield running


def demo_titles() -> dict[str, str]:
    graph = rdflib.Graph().parse(DEMO / "catalog.ttl")
    return {str(graph.value(d, DCTERMS.identifier)): str(graph.value(d, DCTERMS.title))
            for d in graph.subjects(rdflib.RDF.type, DCAT.Dataset)}


def toilet_rows() -> list[dict[str, str]]:
    with (DEMO / "files" / "lambeth-community-toilets.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def toilet_names() -> set[str]:
    return {row["NAME"].strip() for row in toilet_rows()}


def sparql(portal: Portal, query: str, accept: str = "application/sparql-results+json") -> requests.Response:
    response = requests.post(f"{portal.url}/sparql", data={"query": query}, headers={"Accept": accept},
                             timeout=60)
    return response


def test_home_lists_every_demo_dataset(portal: Portal) -> None:
    listed = requests.get(f"{portal.url}/datasets.json", timeout=30).json()["datasets"]
    titles = demo_titles()
    assert sorted(d["title"] for d in listed) == sorted(titles.values())
    page = requests.get(portal.url + "/", timeout=30)
    assert page.status_code == 200
    for title in titles.values():
        assert title.replace("&", "&amp;") in page.text


def test_validation_report_is_on_the_dataset_page(portal: Portal) -> None:
    detail = requests.get(f"{portal.url}/dataset/lambeth/community-toilets.json", timeout=30).json()
    [resource] = detail["resources"]
    report = resource["validation"]
    assert report["valid"] is True
    assert report["stats"]["rows"] == len(toilet_rows())
    assert report["stats"]["schema_source"].startswith("given")
    assert resource["published_triples"] > 0
    html = requests.get(f"{portal.url}/dataset/lambeth/community-toilets", timeout=30).text
    assert validation_verdicts(html) == ["valid"] and detail["graph"] in html


def test_sparql_returns_the_rows_of_a_demo_dataset(portal: Portal) -> None:
    base = portal.url
    query = f"""SELECT ?name WHERE {{ GRAPH <{base}/graph/lambeth/community-toilets> {{
        ?row a <{base}/def/lambeth/community-toilets/Row> ;
             <http://schema.org/name> ?name }} }}"""
    response = sparql(portal, query)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/sparql-results+json")
    names = [b["name"]["value"] for b in response.json()["results"]["bindings"]]
    assert sorted(names) == sorted(row["NAME"].strip() for row in toilet_rows())  # one row each, none lost
    as_csv = requests.get(f"{base}/sparql", params={"query": query}, headers={"Accept": "text/csv"}, timeout=30)
    assert as_csv.headers["Content-Type"].startswith("text/csv")
    assert set(as_csv.text.splitlines()[1:]) == {n if "," not in n else f'"{n}"' for n in toilet_names()}


def test_sparql_construct_answers_turtle(portal: Portal) -> None:
    response = sparql(portal, f"CONSTRUCT {{ ?d ?p ?o }} WHERE {{ ?d a <{DCAT}Dataset> ; ?p ?o }}",
                      accept="text/turtle")
    assert response.headers["Content-Type"].startswith("text/turtle")
    graph = rdflib.Graph().parse(data=response.text, format="turtle")
    assert len(set(graph.subjects(rdflib.RDF.type, DCAT.Dataset))) == len(demo_titles())


def test_sparql_refuses_federation_with_a_json_error(portal: Portal) -> None:
    response = sparql(portal, "SELECT * WHERE { SERVICE <http://127.0.0.1:1/sparql> { ?s ?p ?o } }")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "portal/usage"


def test_cli_commands_work_while_the_portal_serves(portal: Portal) -> None:
    harvested = portal.cli("harvest", "demo")
    assert "lock" not in harvested.stderr.lower()
    assert harvested.returncode in (0, 1), harvested.stderr  # 1 only if a demo table is invalid
    assert "demo: " in harvested.stdout and "0 changed" in harvested.stdout  # nothing changed since --demo
    listed = portal.cli("sources", "list", "--format", "json")
    assert listed.returncode == 0
    assert json.loads(listed.stdout)[0]["name"] == "demo"
    queried = portal.cli("query", f"ASK {{ GRAPH <{portal.url}/graph/lambeth/community-toilets> {{ ?s ?p ?o }} }}")
    assert queried.returncode == 0, queried.stderr
    assert json.loads(queried.stdout)["boolean"] is True


def test_freshness_at_two_instants(portal: Portal) -> None:
    detail = requests.get(f"{portal.url}/dataset/chicago/building-permits-tower-cranes.json", timeout=30).json()
    changed = datetime.fromisoformat(detail["last_content_change"])
    statuses = {}
    for label, offset in (("soon", timedelta(hours=1)), ("late", timedelta(days=5))):
        result = portal.cli("freshness", "--now", (changed + offset).isoformat(), "--format", "json")
        assert result.returncode == 0, result.stderr
        statuses[label] = {d["dataset"]: d["status"] for d in json.loads(result.stdout)["datasets"]}
    # Chicago permits are declared daily: fresh after an hour, delinquent (≥ 3 days) after five.
    assert statuses["soon"]["chicago/building-permits-tower-cranes"] == "fresh"
    assert statuses["late"]["chicago/building-permits-tower-cranes"] == "delinquent"
    # Köln's defibrillators are updated irregularly: exempt at both instants.
    assert statuses["soon"]["koeln/aed-standorte"] == statuses["late"]["koeln/aed-standorte"] == "exempt"


def test_a_second_portal_on_the_same_instance_is_refused(portal: Portal) -> None:
    second = portal.cli("serve", "--port", str(free_port()))
    assert second.returncode == 3
    assert "already serves this instance" in second.stderr and portal.url in second.stderr  # and where


def test_what_was_harvested_while_serving_is_there_once_the_portal_stops(tmp_path: Path) -> None:
    # Its own portal (no demo, so it starts at once): stopping the shared one would break later tests.
    www = tmp_path / "www"
    www.mkdir()
    catalogue = serve_lambeth((www.as_uri(), www))
    with running_portal(tmp_path) as own:
        assert own.cli("sources", "add", "lambeth", catalogue).returncode == 0
        harvested = own.cli("harvest", "lambeth")
        assert harvested.returncode == 0, harvested.stderr
        count = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{own.url}/graph/lambeth/community-toilets> {{ ?s ?p ?o }} }}"
        served = sparql(own, count).json()["results"]["bindings"][0]["n"]["value"]
        assert int(served) > len(toilet_rows())  # at least a triple a row
        assert own.stop() == 0  # a clean shutdown, as after Ctrl+C
    queried = own.cli("query", count, "--format", "csv")
    assert queried.returncode == 0, queried.stderr
    assert queried.stdout.split() == ["n", served]


def test_a_writer_killed_mid_harvest_leaves_the_portal_serving(tmp_path: Path) -> None:
    # A big table (generated by the shared bench-data generator) is harvested beside the portal,
    # and the harvest is killed part-way: the portal goes on answering, with what was published.
    www = tmp_path / "www"
    www.mkdir()
    catalogue = serve_lambeth((www.as_uri(), www))
    big = www / "trees.csv"
    subprocess.run([sys.executable, str(SHARED / "bench-data" / "gen_trees.py"), "--rows", "60000",
                    "--out", str(big)], check=True, capture_output=True)
    (www / "trees.ttl").write_text(
        "@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .\n"
        "<> a dcat:Catalog ; dcat:dataset <https://trees.example/d> .\n"
        '<https://trees.example/d> a dcat:Dataset ; dct:identifier "trees" ; dct:title "Trees" ;\n'
        f"  dcat:distribution [ a dcat:Distribution ; dcat:downloadURL <{big.as_uri()}> ] .\n", encoding="utf-8")
    with running_portal(tmp_path) as own:
        assert own.cli("sources", "add", "lambeth", catalogue).returncode == 0
        assert own.cli("harvest", "lambeth").returncode == 0
        count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
        before = sparql(own, count).json()["results"]["bindings"][0]["n"]["value"]
        assert own.cli("sources", "add", "trees", (www / "trees.ttl").as_uri()).returncode == 0
        writer = subprocess.Popen([sys.executable, "-m", "portal.cli", "harvest", "trees"], env=own.env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            writer.wait(timeout=2.5)
        except subprocess.TimeoutExpired:
            writer.kill()
            writer.wait()
        assert writer.returncode == -9, "the harvest should still have been running when killed"
        assert requests.get(own.url, timeout=5).status_code == 200
        assert sparql(own, count).json()["results"]["bindings"][0]["n"]["value"] == before
        runs = json.loads(own.cli("sources", "list", "--format", "json").stdout)
        assert {r["name"]: r["last_run"]["status"] for r in runs} == {"lambeth": "finished", "trees": "failed"}
