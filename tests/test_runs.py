"""Harvest runs end on record however they end, hold no transaction while they wait on the network,
and leave the store and the database in agreement (or agreeing again after `reconcile`)."""

from __future__ import annotations

import http.server
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from portal.config import Settings
from portal.db import Dataset, HarvestRun
from portal.errors import UsageError
from portal.instance import Instance
from portal.pipeline import add_source, harvest
from portal.publication import reconcile, store_digests
from portal.runs import ABANDONED
from portal.store import select_rows
from tests.conftest import BASE_URL, LAMBETH_CATALOGUE, REPO, TOILETS, serve_http

GRAPH = f"{BASE_URL}/graph/lambeth/community-toilets"


@dataclass
class StallingServer:
    """A loopback HTTP server whose `/toilets.csv` answers only once `release` is set."""

    url: str
    stalled: threading.Event
    release: threading.Event


@pytest.fixture
def stalling_server(tmp_path: Path) -> Iterator[StallingServer]:
    root = tmp_path / "www"
    root.mkdir()
    (root / "catalog.ttl").write_text(LAMBETH_CATALOGUE.replace("{title}", "Toilets"), encoding="utf-8")
    shutil.copyfile(TOILETS, root / "toilets.csv")
    stalled, release = threading.Event(), threading.Event()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

        def do_GET(self) -> None:
            if self.path.startswith("/toilets.csv"):
                stalled.set()
                release.wait(30)
            super().do_GET()

        def log_message(self, format: str, *args: object) -> None:
            pass

    try:
        with serve_http(Handler) as (url, _):
            try:
                yield StallingServer(url, stalled, release)
            finally:
                release.set()
    finally:
        release.set()


def runs(settings: Settings) -> list[HarvestRun]:
    with Instance(settings) as instance, instance.session() as session:
        return list(session.scalars(select(HarvestRun).order_by(HarvestRun.id)))


def test_a_stalled_download_holds_no_transaction(instance: Instance, stalling_server: StallingServer) -> None:
    add_source(instance, "lambeth", f"{stalling_server.url}/catalog.ttl")
    failure: list[BaseException] = []

    def run() -> None:
        try:
            harvest(instance, "lambeth")
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            failure.append(exc)

    harvesting = threading.Thread(target=run)
    harvesting.start()
    try:
        assert stalling_server.stalled.wait(10), "the harvest never reached the download"
        started = time.monotonic()
        add_source(instance, "other", f"{stalling_server.url}/other.ttl")
        assert time.monotonic() - started < 1.0
        with instance.session() as session:
            [running] = session.scalars(select(HarvestRun)).all()
            assert (running.status, running.pid) == ("running", os.getpid())
    finally:
        stalling_server.release.set()
        harvesting.join()
    assert failure == []
    assert [r.status for r in runs(instance.settings)] == ["finished"]


def subprocess_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LODESTAR_")}
    env.update(LODESTAR_INSTANCE=str(settings.instance_path), LODESTAR_BASE_URL=BASE_URL,
               LODESTAR_ALLOW_PRIVATE_ADDRESSES="1")
    return env


@pytest.mark.parametrize(("signum", "reason"), [(signal.SIGKILL, ABANDONED),
                                                (signal.SIGTERM, "terminated (SIGTERM)")])
def test_a_harvest_process_that_ends_mid_download_leaves_a_failed_run(
        settings: Settings, stalling_server: StallingServer, signum: int, reason: str) -> None:
    with Instance(settings) as instance:
        add_source(instance, "lambeth", f"{stalling_server.url}/catalog.ttl")
    process = subprocess.Popen([sys.executable, "-m", "portal.cli", "harvest", "lambeth"], cwd=REPO,
                               env=subprocess_env(settings), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        assert stalling_server.stalled.wait(30), "the harvest never reached the download"
        [running] = runs(settings)
        assert (running.status, running.pid) == ("running", process.pid)
        process.send_signal(signum)
        assert process.wait(timeout=30) == (-signal.SIGKILL if signum == signal.SIGKILL else 128 + signum)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    [ended] = runs(settings)  # opening the instance finds a run whose process is gone
    assert (ended.status, ended.message) == ("failed", reason)
    assert ended.finished_at is not None


def test_an_unexpected_error_fails_the_run_and_goes_on(instance: Instance, source: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug in validation")

    monkeypatch.setattr("portal.harvesting.validate", broken)
    with pytest.raises(RuntimeError, match="a bug in validation"):
        harvest(instance, "lambeth")
    [run] = runs(instance.settings)
    assert (run.status, run.message) == ("failed", "unexpected error RuntimeError: a bug in validation")


def test_ctrl_c_fails_the_run(instance: Instance, source: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("portal.harvesting.validate", interrupted)
    with pytest.raises(KeyboardInterrupt):
        harvest(instance, "lambeth")
    [run] = runs(instance.settings)
    assert (run.status, run.message) == ("failed", "interrupted (Ctrl-C)")


def test_a_source_is_not_harvested_twice_at_once(instance: Instance, stalling_server: StallingServer) -> None:
    add_source(instance, "lambeth", f"{stalling_server.url}/catalog.ttl")
    harvesting = threading.Thread(target=harvest, args=(instance, "lambeth"))
    harvesting.start()
    try:
        assert stalling_server.stalled.wait(10)
        with pytest.raises(UsageError, match="is being harvested right now"):
            harvest(instance, "lambeth")
    finally:
        stalling_server.release.set()
        harvesting.join()


# --- the store and the database agree -------------------------------------------------------


def agree(instance: Instance) -> bool:
    """True when the graph digest in the store is the one the database records as published."""
    with instance.session() as session:
        dataset = session.scalars(select(Dataset)).one()
    return (dataset.published_digest == dataset.graph_digest
            and store_digests(instance).get(GRAPH) == dataset.graph_digest)


def row_count(instance: Instance) -> int:
    rows = select_rows(instance.store, f"SELECT (COUNT(?r) AS ?n) WHERE {{ GRAPH <{GRAPH}> {{ "
                                       f"?r a <http://schema.org/PublicToilet> }} }}")
    return int(rows[0]["n"])


def test_harvest_leaves_store_and_database_agreeing(instance: Instance, source: Path) -> None:
    harvest(instance, "lambeth")
    assert agree(instance)
    assert reconcile(instance).changed is False


def test_a_crash_after_the_store_write_is_mended_by_reconcile(instance: Instance, source: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(*args: object, **kwargs: object) -> None:
        raise SystemExit("killed between the store write and the database commit")

    monkeypatch.setattr("portal.publication.record_all_published", crash)
    with pytest.raises(SystemExit):
        harvest(instance, "lambeth")
    monkeypatch.undo()
    assert not agree(instance)  # the store holds the graph, the database does not say so
    mended = reconcile(instance)
    assert mended.confirmed == ["lambeth/community-toilets"] and mended.republished == []
    assert agree(instance)
    [run] = runs(instance.settings)
    assert run.status == "failed" and run.message.startswith("terminated")


def test_a_crash_before_the_store_write_is_mended_by_reconcile(instance: Instance, source: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    harvest(instance, "lambeth")
    rows_before = row_count(instance)
    with (source / "toilets.csv").open("a", encoding="utf-8", newline="") as fh:
        fh.write('New Café,Male/Female,"1 Test Street, SW9 9ZZ",SW9 9ZZ,Brixton,531000,175000,,Mon\n')

    def crash(*args: object, **kwargs: object) -> None:
        raise SystemExit("killed before the store write")

    monkeypatch.setattr("portal.publication.write_graphs", crash)
    with pytest.raises(SystemExit):
        harvest(instance, "lambeth")
    monkeypatch.undo()
    assert row_count(instance) == rows_before and not agree(instance)  # recorded, not yet published
    assert reconcile(instance).republished == ["lambeth/community-toilets"]
    assert row_count(instance) == rows_before + 1 and agree(instance)


def test_a_pid_given_to_a_later_process_does_not_keep_a_run_alive(instance: Instance, source: Path) -> None:
    from portal.db import Source
    from portal.runs import fail_abandoned_runs, this_process

    pid, host = this_process()  # this process is alive, but is not the one that started the run
    with instance.session() as session:
        lambeth = session.scalars(select(Source)).one()
        session.add(HarvestRun(source=lambeth, status="running", pid=pid, hostname=host,
                               process_token="another-boot:12345"))
        session.add(HarvestRun(source=lambeth, status="running", pid=pid, hostname="elsewhere",
                               process_token="another-boot:12345"))
    with instance.session() as session:
        assert fail_abandoned_runs(session) == 1
    assert [(r.hostname, r.status) for r in runs(instance.settings)] == [(host, "failed"), ("elsewhere", "running")]
    assert harvest(instance, "lambeth").status == "finished"  # neither blocks a new harvest
