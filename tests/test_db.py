"""The operational database: timestamps stay aware, and unusable databases give clear errors."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy.exc import StatementError

from portal.db import Source, make_engine, make_sessionmaker
from portal.errors import ConfigError, StoreError


def test_timestamps_are_stored_and_read_back_in_utc(tmp_path: Path) -> None:
    sessions = make_sessionmaker(make_engine(f"sqlite:///{tmp_path / 'x.db'}"))
    noon_in_cologne = datetime(2026, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    with sessions() as session:
        session.add(Source(name="s", url="file:///c.ttl", kind="dcat", created_at=noon_in_cologne))
        session.commit()
    with sessions() as session:
        created = session.query(Source).one().created_at
    assert created == noon_in_cologne and created.tzinfo == timezone.utc


def test_naive_timestamps_are_refused(tmp_path: Path) -> None:
    sessions = make_sessionmaker(make_engine(f"sqlite:///{tmp_path / 'x.db'}"))
    with sessions() as session, pytest.raises(StatementError, match="naive datetime"):
        session.add(Source(name="s", url="file:///c.ttl", kind="dcat", created_at=datetime(2026, 1, 1)))
        session.commit()


def test_a_database_from_another_version_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE sources (id INTEGER PRIMARY KEY, name TEXT)")
    with pytest.raises(ConfigError, match="table 'sources' lacks url"):
        make_engine(f"sqlite:///{path}")


def test_unusable_database_urls(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="LODESTAR_DATABASE_URL"):
        make_engine("nosuchdb://x")
    with pytest.raises(StoreError, match="cannot be used"):
        make_engine(f"sqlite:///{tmp_path / 'missing-folder' / 'x.db'}")
