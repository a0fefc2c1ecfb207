"""The operational database: sources, harvest runs, datasets, resource versions, freshness."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    inspect,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    relationship,
    sessionmaker,
)
from sqlalchemy.types import TypeDecorator

from portal.errors import ConfigError, StoreError


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


class Source(Base):
    """A harvest source registered by a data officer."""

    __tablename__ = "sources"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    url: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(40))
    publisher: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    runs: Mapped[list[HarvestRun]] = relationship(back_populates="source", order_by="HarvestRun.id")
    datasets: Mapped[list[Dataset]] = relationship(back_populates="source")


class HarvestRun(Base):
    """One harvest of one source: when, how it ended, what it saw."""

    __tablename__ = "harvest_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(20), default="running")  # running|ok|partial|failed
    message: Mapped[str] = mapped_column(Text, default="")
    datasets_seen: Mapped[int] = mapped_column(Integer, default=0)
    datasets_changed: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[Source] = relationship(back_populates="runs")


class Dataset(Base):
    """A harvested dataset, identified in the portal by publisher and slug."""

    __tablename__ = "datasets"
    __table_args__ = (UniqueConstraint("publisher", "slug"),)
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
    first_seen: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    triples: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[Source] = relationship(back_populates="datasets")
    resources: Mapped[list[Resource]] = relationship(back_populates="dataset", order_by="Resource.id")
    statuses: Mapped[list[FreshnessStatus]] = relationship(
        back_populates="dataset", order_by="FreshnessStatus.id")


class Resource(Base):
    """A file of a dataset (a DCAT distribution)."""

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
    dataset: Mapped[Dataset] = relationship(back_populates="resources")
    versions: Mapped[list[ResourceVersion]] = relationship(
        back_populates="resource", order_by="ResourceVersion.id")

    @property
    def latest(self) -> ResourceVersion | None:
        """The most recently fetched version."""
        return self.versions[-1] if self.versions else None


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
    resource: Mapped[Resource] = relationship(back_populates="versions")


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
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str) -> Engine:
    """Create an engine (SQLite gets WAL and a busy timeout) and the tables; check older ones fit."""
    try:
        engine = create_engine(url, future=True)
    except (ArgumentError, ImportError) as exc:
        raise ConfigError(f"LODESTAR_DATABASE_URL: cannot use {url!r}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        Base.metadata.create_all(engine)
        _check_columns(engine)
    except OperationalError as exc:
        raise StoreError(f"the database at {engine.url.render_as_string(hide_password=True)} "
                         f"cannot be used: {exc.orig}") from exc
    return engine


def _check_columns(engine: Engine) -> None:
    """Refuse, with a clear message, a database made by a Lodestar whose tables differ."""
    inspector = inspect(engine)
    for table in Base.metadata.sorted_tables:
        found = {column["name"] for column in inspector.get_columns(table.name)}
        missing = [column.name for column in table.columns if column.name not in found]
        if missing:
            raise ConfigError(
                f"the database {engine.url.render_as_string(hide_password=True)} was made by another "
                f"version of Lodestar: table {table.name!r} lacks {', '.join(missing)}; "
                f"start a new instance folder (there are no migrations yet)")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose objects stay usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)
