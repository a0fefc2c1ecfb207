"""`lodestar schedule`: the jobs, their intervals, and a real scheduler run on loopback sources."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED
from sqlalchemy import select

from portal.config import Settings, load_settings
from portal.db import Dataset, HarvestRun
from portal.instance import Instance
from portal.pipeline import add_source
from portal.scheduler import build_scheduler, run_once
from tests.conftest import free_port, serve_lambeth


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared settings, with no retries: the gone source fails at once."""
    return load_settings({**settings.values, "http_retries": 0}, environ={})


def register_sources(settings: Settings, file_server: tuple[str, Path]) -> None:
    """A working source and one whose server is gone."""
    catalogue_url = serve_lambeth(file_server)
    with Instance(settings) as instance:
        add_source(instance, "a-gone", f"http://127.0.0.1:{free_port()}/catalog.ttl")
        add_source(instance, "lambeth", catalogue_url)


def runs_by_source(settings: Settings) -> dict[str, list[str]]:
    with Instance(settings) as instance, instance.session() as session:
        runs: dict[str, list[str]] = {}
        for run in session.scalars(select(HarvestRun).order_by(HarvestRun.id)):
            runs.setdefault(run.source.name, []).append(run.status)
        return runs


def test_intervals_come_from_the_settings(tmp_path: Path) -> None:
    settings = load_settings({"instance": str(tmp_path), "harvest_every_hours": 6,
                              "freshness_every_minutes": 15}, environ={})
    jobs = {job.id: job for job in build_scheduler(settings).get_jobs()}
    assert jobs["harvest"].trigger.interval.total_seconds() == 5 * 60  # looks for due sources
    assert jobs["freshness"].trigger.interval.total_seconds() == 15 * 60


def test_run_once_harvests_every_source_despite_a_failing_one(settings: Settings,
                                                             file_server: tuple[str, Path]) -> None:
    register_sources(settings, file_server)
    run_once(settings)
    assert runs_by_source(settings) == {"a-gone": ["failed"], "lambeth": ["finished"]}
    with Instance(settings) as instance, instance.session() as session:
        dataset = session.scalar(select(Dataset))
        assert dataset is not None and dataset.statuses[-1].status == "fresh"


def test_the_scheduler_runs_its_jobs(settings: Settings, file_server: tuple[str, Path]) -> None:
    register_sources(settings, file_server)
    scheduler = build_scheduler(settings)
    harvested = threading.Event()
    scheduler.add_listener(lambda event: harvested.set() if event.job_id == "harvest" else None,
                           EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    thread = threading.Thread(target=scheduler.start)
    thread.start()
    try:
        assert harvested.wait(60), "the harvest job did not run"
    finally:
        scheduler.shutdown(wait=True)
        thread.join(timeout=30)
    assert runs_by_source(settings) == {"a-gone": ["failed"], "lambeth": ["finished"]}
