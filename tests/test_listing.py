"""The home page's and /datasets.json's listing: a fixed number of queries, whatever the catalogue's size."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import event

from portal.db import Dataset, FreshnessStatus, Resource, ResourceVersion, Source
from portal.instance import Instance
from portal.listing import list_datasets

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)


def add_datasets(instance: Instance, count: int, *, versions: int = 3, statuses: int = 3) -> None:
    """`count` datasets, each with two tables of `versions` versions and a freshness history."""
    with instance.session() as session:
        source = Source(name=f"s{count}", url="file:///c.ttl", kind="dcat")
        session.add(source)
        for n in range(count):
            dataset = Dataset(source=source, publisher="p", slug=f"d{count}-{n}", identifier=f"d{n}",
                              title=f"Dataset {n}", last_content_change=T0)
            session.add(dataset)
            for k in range(2):
                resource = Resource(dataset=dataset, slug=f"t{k}", url=f"http://x.test/{n}/{k}.csv")
                session.add(resource)
                for v in range(versions):
                    version = ResourceVersion(resource=resource, url=resource.url, content_hash=f"{n}{k}{v}",
                                              size=1, fetched_at=T0 + timedelta(days=v), valid=(v + k) % 2 == 0)
                    session.add(version)
                    resource.latest_version = version
            for s, status in enumerate(["fresh", "due", "overdue"][:statuses]):
                session.add(FreshnessStatus(dataset=dataset, evaluated_at=T0 + timedelta(days=s), status=status))


@contextmanager
def counted(instance: Instance) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(instance.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(instance.engine, "before_cursor_execute", count)


def test_the_listing_makes_the_same_queries_for_1_and_20_datasets(instance: Instance) -> None:
    add_datasets(instance, 1)
    with counted(instance) as one:
        [only] = list_datasets(instance)
    add_datasets(instance, 19, versions=5)
    with counted(instance) as twenty:
        listed = list_datasets(instance)
    assert len(listed) == 20
    assert len(one) == len(twenty) <= 4
    assert only["freshness"]["status"] == "overdue"  # the newest status, not the first
    assert only["validation"] == {"valid": 1, "invalid": 1}  # latest versions: v2 of t0 valid, of t1 not


def test_the_latest_version_is_reached_without_its_history(instance: Instance) -> None:
    add_datasets(instance, 1, versions=50)
    with instance.session() as session, counted(instance) as statements:
        resource = session.query(Resource).first()
        assert resource is not None and resource.latest_version is not None
        assert resource.latest_version.content_hash == "0049"
    assert len(statements) == 2  # the resource, then one version: never the 50
