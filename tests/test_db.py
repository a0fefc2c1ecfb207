"""The operational database: timestamps stay aware, short busy waits, and unusable databases give clear errors."""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.exc import StatementError

from portal.config import Settings, load_settings
from portal.db import Source, make_engine, make_sessionmaker
from portal.errors import ConfigError, StoreError
from portal.instance import Instance
from portal.migrations import upgrade_database


def fresh_engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    upgrade_database(engine)
    return engine


def test_timestamps_are_stored_and_read_back_in_utc(tmp_path: Path) -> None:
    sessions = make_sessionmaker(fresh_engine(tmp_path))
    noon_in_cologne = datetime(2026, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    with sessions() as session:
        session.add(Source(name="s", url="file:///c.ttl", kind="dcat", created_at=noon_in_cologne))
        session.commit()
    with sessions() as session:
        created = session.query(Source).one().created_at
    assert created == noon_in_cologne and created.tzinfo == timezone.utc


def test_naive_timestamps_are_refused(tmp_path: Path) -> None:
    sessions = make_sessionmaker(fresh_engine(tmp_path))
    with sessions() as session, pytest.raises(StatementError, match="naive datetime"):
        session.add(Source(name="s", url="file:///c.ttl", kind="dcat", created_at=datetime(2026, 1, 1)))
        session.commit()


def test_tables_that_are_not_lodestars_are_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE sources (id INTEGER PRIMARY KEY, name TEXT)")
    with pytest.raises(ConfigError, match="was not made by Lodestar|lacks"):
        upgrade_database(make_engine(f"sqlite:///{path}"))


def test_unusable_database_urls(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="LODESTAR_DATABASE_URL"):
        make_engine("nosuchdb://x")
    with pytest.raises(StoreError, match="cannot be used"):
        upgrade_database(make_engine(f"sqlite:///{tmp_path / 'missing-folder' / 'x.db'}"))


def test_sqlite_waits_about_five_seconds_for_another_writer(instance: Instance) -> None:
    with instance.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000


def test_a_locked_database_is_a_store_error(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process holding the write lock gives exit code 3 and a message, not a traceback."""
    monkeypatch.setattr("portal.db.SQLITE_BUSY_MS", 100)  # the real wait is five seconds
    locked, release = threading.Event(), threading.Event()

    def hold_the_lock() -> None:
        other = sqlite3.connect(settings.instance_path / "lodestar.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        locked.set()
        release.wait(30)
        other.execute("ROLLBACK")
        other.close()

    with Instance(settings) as instance:
        holder = threading.Thread(target=hold_the_lock)
        holder.start()
        try:
            assert locked.wait(5)
            with pytest.raises(StoreError, match="database is locked") as raised:
                with instance.session() as session:
                    session.add(Source(name="s", url="file:///c.ttl", kind="dcat"))
        finally:
            release.set()
            holder.join()
    assert raised.value.exit_code == 3
    assert "another Lodestar command is writing" in str(raised.value)


def test_an_instance_keeps_the_base_url_it_was_made_with(settings: Settings) -> None:
    with Instance(settings) as instance:
        assert instance.uris.base == "http://lodestar.test"
    moved = load_settings({**settings.values, "base_url": "https://data.example.org"}, environ={})
    with pytest.raises(ConfigError) as refused:
        Instance(moved)
    message = str(refused.value)
    assert "http://lodestar.test" in message and "https://data.example.org" in message
    assert "LODESTAR_BASE_URL=http://lodestar.test" in message and "new instance folder" in message
    with Instance(settings):  # the base URL it was made with still opens it
        pass

