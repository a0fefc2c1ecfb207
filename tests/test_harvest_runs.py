"""What a data officer can rely on from a harvest run: its end state, guarded withdrawals, no overlap,
incremental listings, conditional GET, unchanged sources writing nothing, and the run history."""

from __future__ import annotations

import functools
import http.server
import json
import os
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from harvesters.base import HarvestedDataset, ListingItem, StillListed
from harvesters.dcat import DcatHarvester
from portal.cli import main
from portal.db import Dataset, HarvestRun, ResourceVersion, Source
from portal.errors import UsageError
from portal.instance import Instance
from portal.pipeline import add_source, harvest, harvest_due
from portal.runs import source_lock
from portal.store.access import embedded_store_path
from portal.store.generations import Layout
from portal.watch import evaluate_freshness
from tests.conftest import LAMBETH_CATALOGUE, TOILETS, serve_http

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)

#: A dataset block of the catalogue, repeated with a number to make sources of several datasets.
EXTRA = """
<https://example.org/dataset/copy-{n}> a dcat:Dataset ;
    dct:identifier "copy-{n}" ;
    dct:title "Toilets copy {n}"@en ;
    dct:publisher [ a foaf:Agent ; dct:identifier "lambeth" ; foaf:name "London Borough of Lambeth" ] ;
    dcat:distribution [ a dcat:Distribution ; dcat:downloadURL <{{url}}/toilets.csv> ;
                        dcat:mediaType "text/csv" ] .
"""


def write_catalogue(root: Path, url: str, copies: int) -> None:
    """The Lambeth catalogue with `copies` more datasets sharing its table."""
    extra = "".join(EXTRA.format(n=n).replace("{url}", url) for n in range(copies))
    (root / "catalog.ttl").write_text(LAMBETH_CATALOGUE.replace("{title}", "Community toilets") + extra,
                                      encoding="utf-8")
    if not (root / "toilets.csv").exists():
        (root / "toilets.csv").write_bytes(TOILETS.read_bytes())


def active(instance: Instance) -> set[str]:
    with instance.session() as session:
        return set(session.scalars(select(Dataset.identifier).where(Dataset.status == "active")))


def test_an_empty_listing_withdraws_nothing_until_confirmed(instance: Instance,
                                                          file_server: tuple[str, Path]) -> None:
    url, root = file_server
    write_catalogue(root, url, 2)
    add_source(instance, "lambeth", f"{url}/catalog.ttl")
    assert harvest(instance, "lambeth", now=T0).status == "finished"
    before = active(instance)
    assert len(before) == 3

    (root / "catalog.ttl").write_text("@prefix dcat: <http://www.w3.org/ns/dcat#> .\n", encoding="utf-8")
    held = harvest(instance, "lambeth", now=T0 + timedelta(hours=1))
    assert (held.status, held.datasets_withdrawn) == ("partial", 0)
    assert held.withdrawal_held is not None and "listed no datasets" in held.withdrawal_held
    assert "--confirm-withdrawals" in held.withdrawal_held
    assert active(instance) == before

    done = harvest(instance, "lambeth", now=T0 + timedelta(hours=2), confirm_withdrawals=True)
    assert (done.status, done.datasets_withdrawn) == ("finished", 3)
    assert active(instance) == set()


def test_withdrawing_more_than_the_share_is_held(instance: Instance, file_server: tuple[str, Path]) -> None:
    url, root = file_server
    write_catalogue(root, url, 3)
    add_source(instance, "lambeth", f"{url}/catalog.ttl")
    harvest(instance, "lambeth", now=T0)
    write_catalogue(root, url, 0)  # 3 of 4 gone: more than the default half
    held = harvest(instance, "lambeth", now=T0 + timedelta(hours=1))
    assert held.status == "partial" and held.withdrawal_held is not None
    assert "3 of its 4 datasets" in held.withdrawal_held and len(active(instance)) == 4
    write_catalogue(root, url, 2)  # 1 of 4 gone: within the share
    assert harvest(instance, "lambeth", now=T0 + timedelta(hours=2)).datasets_withdrawn == 1


def test_two_runs_of_one_source_never_overlap(instance: Instance, source: Path) -> None:
    with instance.session() as session:
        source_id = session.scalar(select(Source.id))
    assert source_id is not None
    with source_lock(instance, source_id, "lambeth"):
        with pytest.raises(UsageError, match="being harvested right now"):
            harvest(instance, "lambeth", now=T0)
    assert harvest(instance, "lambeth", now=T0).status == "finished"


class Incremental:
    """A source kind that lists the Lambeth catalogue fully, or (with `since`) only as still listed."""

    kind = "incremental"
    options = ()
    seen_since: list[datetime | None] = []

    def __init__(self, **settings: object) -> None:
        self.dcat = DcatHarvester(**settings)  # type: ignore[arg-type]

    def gather(self, url: str, *, options: object = None, since: datetime | None = None) -> Iterator[ListingItem]:
        """Every record on a full listing; their identifiers as unchanged on an incremental one."""
        Incremental.seen_since.append(since)
        for record in self.dcat.gather(url):
            assert isinstance(record, HarvestedDataset)
            yield StillListed(record.identifier) if since is not None else record


def test_an_incremental_listing_keeps_unchanged_datasets_and_fetches_nothing(
        instance: Instance, source: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(__import__("harvesters").HARVESTERS, "incremental", "tests.test_harvest_runs:Incremental")
    Incremental.seen_since.clear()
    with instance.session() as session:
        src = session.scalar(select(Source).where(Source.name == "lambeth"))
        assert src is not None
        src.kind = "incremental"
    first = harvest(instance, "lambeth", now=T0)
    assert first.status == "finished" and first.datasets_changed == 1
    (source / "toilets.csv").unlink()  # an incremental run must not even try to fetch it
    second = harvest(instance, "lambeth", now=T0 + timedelta(days=1))
    assert (second.status, second.datasets_seen, second.datasets_changed, second.datasets_withdrawn) == (
        "finished", 1, 0, 0)
    assert Incremental.seen_since == [None, T0]  # since the start of the last complete run
    with instance.session() as session:
        dataset = session.scalar(select(Dataset))
        assert dataset is not None and dataset.last_seen == T0 + timedelta(days=1)
        assert session.scalar(select(ResourceVersion).where(ResourceVersion.id > 1)) is None
    full = harvest(instance, "lambeth", now=T0 + timedelta(days=2), full=True)
    assert full.errors and "toilets.csv" in full.problems[0]  # a full run fetches again


class _Recording(http.server.SimpleHTTPRequestHandler):
    """Serves a folder (with Last-Modified, no ETag) and records each answer's status."""

    statuses: list[tuple[str, int]] = []

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        _Recording.statuses.append((self.path, int(code)))

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_last_modified_makes_the_download_conditional(instance: Instance, tmp_path: Path) -> None:
    root = tmp_path / "www"
    root.mkdir()
    _Recording.statuses.clear()
    with serve_http(functools.partial(_Recording, directory=str(root))) as (url, _):
        write_catalogue(root, url, 0)
        hour_ago = time.time() - 3600
        os.utime(root / "toilets.csv", (hour_ago, hour_ago))
        add_source(instance, "lambeth", f"{url}/catalog.ttl")
        harvest(instance, "lambeth")
        harvest(instance, "lambeth")
    table = [status for path, status in _Recording.statuses if path == "/toilets.csv"]
    assert table == [200, 304]


def test_an_unchanged_source_writes_nothing_and_raises_no_alert(instance: Instance, source: Path) -> None:
    harvest(instance, "lambeth", now=T0)
    store_path = embedded_store_path(instance.settings)
    assert store_path is not None
    generation = Layout(store_path).active()
    again = harvest(instance, "lambeth", now=T0 + timedelta(minutes=5))
    assert (again.status, again.datasets_changed) == ("finished", 0)
    assert Layout(store_path).active() == generation
    assert not any(o.alert for o in evaluate_freshness(instance, T0 + timedelta(minutes=6)))


def test_sources_are_harvested_at_their_own_interval(instance: Instance, file_server: tuple[str, Path]) -> None:
    url, root = file_server
    write_catalogue(root, url, 0)
    add_source(instance, "hourly", f"{url}/catalog.ttl", publisher="a", every_hours=1)
    add_source(instance, "daily", f"{url}/catalog.ttl", publisher="b")
    assert sorted(o.source for o in harvest_due(instance, now=T0)) == ["daily", "hourly"]
    assert [o.source for o in harvest_due(instance, now=T0 + timedelta(minutes=30))] == []
    assert [o.source for o in harvest_due(instance, now=T0 + timedelta(hours=1))] == ["hourly"]
    assert sorted(o.source for o in harvest_due(instance, now=T0 + timedelta(hours=24))) == ["daily", "hourly"]


class WithOptions(DcatHarvester):
    """A DCAT harvester that accepts the CKAN-style options (to test their storage)."""

    kind = "with-options"
    options = ("organization", "api_key")


def test_source_options_are_kept_and_secrets_never_shown(cli_env: Path, file_server: tuple[str, Path],
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(__import__("harvesters").HARVESTERS, "with-options", "tests.test_harvest_runs:WithOptions")
    url, root = file_server
    write_catalogue(root, url, 0)
    assert main(["sources", "add", "city", f"{url}/catalog.ttl", "--kind", "with-options",
                 "--organization", "parks", "--api-key", "s3cret", "--every", "6"]) == 0
    assert main(["sources", "add", "plain", f"{url}/catalog.ttl", "--organization", "parks"]) == 2
    capsys.readouterr()
    assert main(["sources", "list", "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["options"] == {"organization": "parks", "api_key": "***"}
    assert listed[0]["every_hours"] == 6
    assert main(["sources", "list"]) == 0
    text = capsys.readouterr().out
    assert "organization=parks" in text and "s3cret" not in text and "every 6 h" in text


def test_runs_show_the_history_with_per_dataset_errors(cli_env: Path, file_server: tuple[str, Path],
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    url, root = file_server
    write_catalogue(root, url, 1)
    assert main(["sources", "add", "lambeth", f"{url}/catalog.ttl"]) == 0
    assert main(["harvest", "lambeth"]) == 0
    (root / "catalog.ttl").write_text((root / "catalog.ttl").read_text(encoding="utf-8").replace(
        f"<{url}/toilets.csv> ;\n                        dcat:mediaType",
        f"<{url}/missing.csv> ;\n                        dcat:mediaType"), encoding="utf-8")
    assert main(["harvest", "lambeth"]) == 1
    capsys.readouterr()
    assert main(["runs", "lambeth", "--format", "json"]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert [r["status"] for r in runs] == ["partial", "finished"]
    assert runs[0]["errors"][0]["dataset"] == "copy-0" and "missing.csv" in runs[0]["errors"][0]["message"]
    assert main(["runs"]) == 0
    text = capsys.readouterr().out
    assert "partial" in text and "copy-0: " in text and "missing.csv" in text
    assert main(["runs", "nowhere"]) == 2


def test_the_source_page_shows_the_run_history(instance: Instance, file_server: tuple[str, Path]) -> None:
    from portal.web import create_app

    url, root = file_server
    write_catalogue(root, url, 1)
    add_source(instance, "lambeth", f"{url}/catalog.ttl", every_hours=12)
    harvest(instance, "lambeth", now=T0)
    (root / "toilets.csv").unlink()
    (root / "catalog.ttl").write_text((root / "catalog.ttl").read_text(encoding="utf-8").replace(
        "copy-0", "copy-9"), encoding="utf-8")
    harvest(instance, "lambeth", now=T0 + timedelta(days=1))
    client = create_app({"TESTING": True}, instance=instance).test_client()

    detail = client.get("/source/lambeth.json").get_json()
    assert [r["status"] for r in detail["runs"]] == ["partial", "finished"]
    assert {e["dataset"] for e in detail["runs"][0]["errors"]} == {"community-toilets", "copy-9"}
    assert detail["every_hours"] == 12
    page = client.get("/source/lambeth").get_data(as_text=True)
    assert "partial" in page and "copy-9" in page and "toilets.csv" in page and "12 hours" in page
    listing = client.get("/sources").get_data(as_text=True)
    assert 'href="/source/lambeth"' in listing
    assert client.get("/sources.json").get_json()["sources"][0]["last_run"]["status"] == "partial"
    assert client.get("/source/nowhere").status_code == 404


def test_an_inferred_schema_is_stored_with_the_version_and_shown(instance: Instance,
                                                                file_server: tuple[str, Path]) -> None:
    from portal.web import create_app

    url, root = file_server
    (root / "counts.csv").write_text("station,count\nnorth,12\nsouth,7\n", encoding="utf-8")
    (root / "catalog.ttl").write_text(LAMBETH_CATALOGUE.replace("{title}", "Bike counts").replace(
        "toilets.csv", "counts.csv").replace("dct:conformsTo <urn:lodestar:schema:public-toilets>",
                                              "dct:title \"counts\""), encoding="utf-8")
    add_source(instance, "lambeth", f"{url}/catalog.ttl")
    harvest(instance, "lambeth", now=T0)
    client = create_app({"TESTING": True}, instance=instance).test_client()
    detail = client.get("/dataset/lambeth/community-toilets.json").get_json()
    stats = detail["resources"][0]["validation"]["stats"]
    assert stats["schema_source"] == "inferred"
    assert [(f["name"], f["type"]) for f in stats["schema"]["fields"]] == [("station", "string"), ("count", "integer")]
    page = client.get("/dataset/lambeth/community-toilets").get_data(as_text=True)
    assert "Inferred fields" in page and "<code>count</code> integer" in page
