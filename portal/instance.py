"""An opened Lodestar instance: settings, database, triple store and URI scheme together.

Open one as a context manager, so that the store and the database are released however the
work ends::

    with Instance.open() as instance:
        harvest(instance, "lambeth")
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from portal.config import Settings, load_settings
from portal.db import InstanceInfo, database_errors, make_engine, make_sessionmaker
from portal.egress import Egress
from portal.errors import ConfigError
from portal.migrations import upgrade_database
from portal.runs import fail_abandoned_runs
from portal.store import TripleStore
from portal.store.access import open_store
from vocab.uris import UriScheme

#: The `instance_info` key of the base URL every URI of the instance was minted under.
BASE_URL_KEY = "base_url"


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
        self._egress: Egress | None = None
        try:
            upgrade_database(self.engine)
            self._check_base_url()
            with self.session() as session:
                fail_abandoned_runs(session)
        except BaseException:
            self.engine.dispose()
            raise

    @classmethod
    def open(cls, overrides: Mapping[str, Any] | None = None) -> Instance:
        """Resolve settings and open the instance they name (use it in a `with` block)."""
        return cls(load_settings(overrides))

    def __enter__(self) -> Instance:
        """The instance itself; `close` runs when the block ends."""
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        """Release the store and the database, whatever happened in the block."""
        self.close()

    def _check_base_url(self) -> None:
        """Record the base URL of a new instance; refuse to mint under another one later."""
        with self.session() as session:
            recorded = session.scalar(select(InstanceInfo.value).where(InstanceInfo.key == BASE_URL_KEY))
            if recorded is None:
                session.add(InstanceInfo(key=BASE_URL_KEY, value=self.uris.base))
                return
        if recorded != self.uris.base:
            raise ConfigError(
                f"the instance in {self.path} was created with base URL {recorded} but is being opened "
                f"with {self.uris.base}: every URI it published is minted under {recorded}, and Cool "
                f"URIs do not change. Set LODESTAR_BASE_URL={recorded} (or base_url in "
                f"{self.path / 'config.toml'}) to keep serving it, or start a new instance folder "
                f"for {self.uris.base} and harvest into that")

    @property
    def store(self) -> TripleStore:
        """The triple store, opened on first use (the embedded one is shared by every process of the instance)."""
        if self._store is None:
            self._store = open_store(self.settings)
        return self._store

    @property
    def egress(self) -> Egress:
        """The one outbound HTTP client of this instance (address guard, timeouts, size caps)."""
        if self._egress is None:
            self._egress = Egress.from_settings(self.settings)
        return self._egress

    @property
    def downloads(self) -> Path:
        """Folder of downloaded resource files, named by content hash."""
        return self.path / "downloads"

    @property
    def rdf_dir(self) -> Path:
        """Folder of converted tables and dataset records (N-Triples), by dataset id."""
        return self.path / "rdf"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A short database transaction: committed on success, rolled back on error.

        A database that cannot answer (locked past the busy wait, gone) raises `StoreError`.
        Never keep one open across downloads, validation, conversion or store writes.
        """
        with database_errors(self.engine), self.sessions() as session:
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
        if self._egress is not None:
            self._egress.close()
            self._egress = None
        self.engine.dispose()
