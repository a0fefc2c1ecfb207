"""An opened Lodestar instance: settings, database, triple store and URI scheme together."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from portal.config import Settings, load_settings
from portal.db import make_engine, make_sessionmaker
from portal.store import TripleStore
from portal.store.access import open_store
from vocab.uris import UriScheme


class Instance:
    """Everything one process needs to run the pipeline against one instance folder."""

    def __init__(self, settings: Settings, store: TripleStore | None = None) -> None:
        self.settings = settings
        self.path: Path = settings.instance_path
        self.path.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = make_engine(settings.sqlalchemy_url)
        self.sessions: sessionmaker[Session] = make_sessionmaker(self.engine)
        self.uris = UriScheme(settings.base_url)
        self._store = store

    @classmethod
    def open(cls, overrides: Mapping[str, Any] | None = None) -> Instance:
        """Resolve settings and open the instance they name."""
        return cls(load_settings(overrides))

    @property
    def store(self) -> TripleStore:
        """The triple store, opened on first use (or reached through a running portal)."""
        if self._store is None:
            self._store = open_store(self.settings)
        return self._store

    @property
    def downloads(self) -> Path:
        """Folder of downloaded resource files, named by content hash."""
        return self.path / "downloads"

    @property
    def rdf_dir(self) -> Path:
        """Folder of converted tables (N-Triples), one file per resource version."""
        return self.path / "rdf"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A database session committed on success, rolled back on error."""
        with self.sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def close(self) -> None:
        """Release the store and the database connections."""
        if self._store is not None:
            self._store.close()
            self._store = None
        self.engine.dispose()
