"""`lodestar schedule`: the jobs, their intervals, and a real scheduler run on loopback sources."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import select

from portal.config import Settings, load_settings
from portal.db import Dataset, HarvestRun
from portal.instance import Instance
from portal.pipeline import add_source
from portal.scheduler import build_scheduler, run_once
from tests.conftest import free_port, serve_lambeth


def register_sources(settings: Settings, file_server: tuple[str, Path]) -> None:
    """A working source and one whose server is gone."""
    catalogue_url = serve_lambeth(file_server)
    instance = Instance(settings)
    add_source(instance, "a-gone", f"http://127.0.0.1:{free_port()}/catalog.ttl")
    add_source(instance, "lambeth", catalogue_url)
    instance.close()


def runs_by_source(settings: Settings) -> dict[str, list[str]]:
    instance = Instance(settings)
    try:
        with instance.session() as session:
            runs: dict[str, list[str]] = {}
            for run in session.scalars(select(HarvestRun).order_by(HarvestRun.id)):
                runs.setdefault(run.source.name, []).append(run.status)
            return runs
    finally:
        instance.close()


def test_intervals_come_from_the_settings(tmp_path: Path) -> None:
    settings = load_settings({"instance": str(tmp_path), "harvest_every_hours": 6,
                              "freshness_every_minutes": 15}, environ={})
    jobs = {job.id: job for job in build_scheduler(settings).get_jobs()}
    assert jobs["harvest"].trigger.interval.total_seconds() == 6 * 3600
    assert jobs["freshness"].trigger.interval.total_seconds() == 15 * 60


def test_run_once_harvests_every_source_despite_a_failing_one(settings: Settings,
                                                             file_server: tuple[str, Path]) -> None:
    register_sources(settings, file_server)
    run_once(settings)
    assert runs_by_source(settings) == {"a-gone": ["failed"], "lambeth": ["ok"]}
    instance = Instance(settings)
    with instance.session() as session:
        dataset = session.scalar(select(Dataset))
        assert dataset is not None and dataset.statuses[-1].status == "fresh"
    instance.close()


def test_the_scheduler_runs_its_jobs(settings: Settings, file_server: tuple[str, Path]) -> None:
    register_sources(settings, file_server)
    scheduler = build_scheduler(settings)
    thread = threading.Thread(target=scheduler.start, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "lambeth" not in runs_by_source(settings):
            time.sleep(0.5)
    finally:
        scheduler.shutdown(wait=True)
        thread.join(timeout=30)
    assert runs_by_source(settings)["lambeth"] == ["ok"]
