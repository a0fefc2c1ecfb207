"""The operational database: sources, harvest runs, datasets, resource versions, freshness.

The tables are made and upgraded by the Alembic migrations in `portal.migrations`, never by
`create_all`; a change to a model here needs a new revision there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    WriteOnlyMapped,
    mapped_column,
    relationship,
    sessionmaker,
)
from sqlalchemy.types import TypeDecorator

from portal.errors import ConfigError, StoreError

#: Milliseconds a SQLite connection waits for another writer before giving up. Writers hold
#: the database for short transactions only, so a longer wait means something is wrong.
SQLITE_BUSY_MS = 5000


def utcnow() -> datetime:
    """The current instant, timezone-aware in UTC."""
    return datetime.now(timezone.utc)


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC and always read back timezone-aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        """Store as naive UTC; refuse naive input, whose zone nobody knows."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        """Read back as timezone-aware UTC."""
        return None if value is None else value.replace(tzinfo=timezone.utc)


class Base(DeclarativeBase):
    """Declarative base of every table."""


class InstanceInfo(Base):
    """Facts an instance keeps about itself (such as the base URL its URIs were minted under)."""

    __tablename__ = "instance_info"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Source(Base):
    """A harvest source registered by a data officer."""

    __tablename__ = "sources"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    url: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(40))
    publisher: Mapped[str | None] = mapped_column(String(100))
    #: The kind's own settings (organization, api_key …), as `sources add` was given them.
    options_json: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=dict)
    every_hours: Mapped[float | None] = mapped_column(Float)  # None: the instance's harvest interval
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    runs: Mapped[list[HarvestRun]] = relationship(back_populates="source", order_by="HarvestRun.id")
    datasets: Mapped[list[Dataset]] = relationship(back_populates="source")


class HarvestRun(Base):
    """One harvest of one source: when, by which process, how it ended, what it saw."""

    __tablename__ = "harvest_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(20), default="running")  # running|finished|partial|failed
    message: Mapped[str] = mapped_column(Text, default="")
    datasets_seen: Mapped[int] = mapped_column(Integer, default=0)
    datasets_changed: Mapped[int] = mapped_column(Integer, default=0)
    datasets_withdrawn: Mapped[int] = mapped_column(Integer, default=0)
    #: True when the source's whole listing was read (only then may it withdraw, or serve as `since`).
    listing_complete: Mapped[bool | None] = mapped_column(Boolean)
    #: Per-dataset (or per-page) problems: [{"dataset": identifier or page, "message": …}].
    errors_json: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, default=list)
    pid: Mapped[int | None] = mapped_column(Integer)  # the harvesting process, to spot abandoned runs
    hostname: Mapped[str | None] = mapped_column(String(255))
    process_token: Mapped[str | None] = mapped_column(String(100))  # tells the process from a pid reuse
    source: Mapped[Source] = relationship(back_populates="runs")


class Dataset(Base):
    """A harvested dataset, identified in the portal by publisher and slug.

    Publication is recorded in two steps so that the store and the database can be brought
    back into agreement after a crash: `graph_digest`/`graph_files` say what the dataset's named
    graph should hold (the record file and the converted tables); `published_digest` says what
    the store was last confirmed to hold. They differ while a publication is pending.
    """

    __tablename__ = "datasets"
    __table_args__ = (UniqueConstraint("publisher", "slug"),
                      Index("ix_datasets_status_record_modified", "status", "record_modified"))
    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    publisher: Mapped[str] = mapped_column(String(100))
    publisher_name: Mapped[str] = mapped_column(Text, default="")
    slug: Mapped[str] = mapped_column(String(100))
    identifier: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    frequency: Mapped[str | None] = mapped_column(Text)
    metadata_json: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    claimed_modified: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_content_change: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: The last time the publisher confirmed the dataset still current (counts as an update).
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: None: no table seen yet; "unpublished": tables checked, none ever valid; "published": one was.
    publication_state: Mapped[str | None] = mapped_column(String(20))
    #: The last recorded freshness status and when it was taken (the history is in FreshnessStatus).
    freshness_status: Mapped[str | None] = mapped_column(String(20))
    freshness_since: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: When the dataset's published record last changed: metadata, content, withdrawal or return.
    record_modified: Mapped[datetime | None] = mapped_column(UtcDateTime, default=utcnow)
    first_seen: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    triples: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default="active", server_default="active")  # |withdrawn
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    graph_files: Mapped[list[str] | None] = mapped_column(JSON)  # relative to the instance folder
    graph_digest: Mapped[str | None] = mapped_column(String(80))
    published_digest: Mapped[str | None] = mapped_column(String(80))
    source: Mapped[Source] = relationship(back_populates="datasets")
    resources: Mapped[list[Resource]] = relationship(back_populates="dataset", order_by="Resource.id")
    statuses: Mapped[list[FreshnessStatus]] = relationship(
        back_populates="dataset", order_by="FreshnessStatus.id")

    @property
    def withdrawn(self) -> bool:
        """True when the source no longer lists the dataset."""
        return self.status == "withdrawn"


class Resource(Base):
    """A file of a dataset (a DCAT distribution).

    `latest_version` is the most recently fetched version and `published_version` the newest
    one that validated and was converted; both are kept up to date as versions are added, so
    neither needs the version history loaded.
    """

    __tablename__ = "resources"
    __table_args__ = (UniqueConstraint("dataset_id", "slug"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"))
    slug: Mapped[str] = mapped_column(String(100))
    url: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text, default="")
    media_type: Mapped[str] = mapped_column(String(100), default="")
    schema_ref: Mapped[str | None] = mapped_column(Text)
    rdf_namespace: Mapped[str | None] = mapped_column(String(200))  # fixed once minted (Cool URIs)
    latest_version_id: Mapped[int | None] = mapped_column(ForeignKey(
        "resource_versions.id", name="fk_resources_latest_version_id", use_alter=True))
    published_version_id: Mapped[int | None] = mapped_column(ForeignKey(
        "resource_versions.id", name="fk_resources_published_version_id", use_alter=True))
    dataset: Mapped[Dataset] = relationship(back_populates="resources")
    versions: WriteOnlyMapped[ResourceVersion] = relationship(
        foreign_keys="ResourceVersion.resource_id", order_by="ResourceVersion.id",
        back_populates="resource")
    latest_version: Mapped[ResourceVersion | None] = relationship(
        foreign_keys=[latest_version_id], post_update=True)
    published_version: Mapped[ResourceVersion | None] = relationship(
        foreign_keys=[published_version_id], post_update=True)


class ResourceVersion(Base):
    """One fetch of a resource whose content differed from the previous fetch."""

    __tablename__ = "resource_versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"))
    url: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(80))
    size: Mapped[int] = mapped_column(Integer)
    fetched_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    checked_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    valid: Mapped[bool | None] = mapped_column(Boolean)
    report_json: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    rdf_path: Mapped[str | None] = mapped_column(Text)
    triples: Mapped[int] = mapped_column(Integer, default=0)
    resource: Mapped[Resource] = relationship(foreign_keys=[resource_id], back_populates="versions")


class FreshnessStatus(Base):
    """A freshness evaluation of one dataset at one instant (the history is kept)."""

    __tablename__ = "freshness_statuses"
    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"))
    evaluated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(20))
    previous: Mapped[str | None] = mapped_column(String(20))
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    overdue_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reason: Mapped[str] = mapped_column(Text, default="")
    dataset: Mapped[Dataset] = relationship(back_populates="statuses")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def describe(engine: Engine) -> str:
    """The database's URL as it may be shown (no password)."""
    return engine.url.render_as_string(hide_password=True)


@contextmanager
def database_errors(engine: Engine) -> Iterator[None]:
    """Turn a database that cannot answer (locked, gone, refusing) into a `StoreError`.

    This is the one place where SQLAlchemy's operational errors become portal errors.
    """
    try:
        yield
    except OperationalError as exc:
        reason = str(exc.orig).strip() or type(exc.orig).__name__
        hint = (" (another Lodestar command is writing to it; try again when it has finished)"
                if "locked" in reason or "busy" in reason else "")
        raise StoreError(f"the database at {describe(engine)} cannot be used: {reason}{hint}") from exc
    except PoolTimeoutError as exc:
        raise StoreError(f"the database at {describe(engine)} has no free connection: {exc}") from exc


def make_engine(url: str) -> Engine:
    """Create an engine for a database URL (SQLite gets WAL, a short busy wait and foreign keys).

    The tables are not touched here: `portal.migrations.upgrade_database` makes or upgrades them.
    """
    try:
        engine = create_engine(url)
    except (ArgumentError, ImportError) as exc:
        raise ConfigError(f"LODESTAR_DATABASE_URL: cannot use {url!r}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose objects stay usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


# The alert tables are part of the same schema: importing them completes `Base.metadata`.
from portal.alerts import models as _alert_models  # noqa: E402,F401
