"""Migrations: a new database is made by them, an older instance is adopted and upgraded in place,
a newer one is refused, and the models never drift from what the revisions make."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import Engine

from portal.config import Settings, load_settings
from portal.db import Base, Dataset, HarvestRun, Resource, make_engine
from portal.errors import ConfigError
from portal.instance import Instance
from portal.listing import list_datasets
from portal.migrations import BASELINE, alembic_config, current_revision, head_revision, upgrade_database
from tests.conftest import BASE_URL, free_port


def build_baseline_instance(settings: Settings) -> None:
    """An instance as the Lodestar before migrations left it: the baseline tables, no version table, rows."""
    settings.instance_path.mkdir(parents=True)
    engine = create_engine(settings.sqlalchemy_url)
    with engine.connect() as connection:
        command.upgrade(alembic_config(connection), BASELINE)
        connection.execute(text("DROP TABLE alembic_version"))
        connection.execute(text(
            "INSERT INTO sources (id, name, url, kind, publisher, created_at) "
            "VALUES (1, 'lambeth', 'http://127.0.0.1:9/catalog.ttl', 'dcat', NULL, '2026-01-01 00:00:00')"))
        connection.execute(text(
            "INSERT INTO harvest_runs (id, source_id, started_at, status, message, datasets_seen, "
            "datasets_changed) VALUES (1, 1, '2026-01-01 00:00:00', 'running', '', 0, 0)"))
        connection.execute(text(
            "INSERT INTO datasets (id, source_id, publisher, publisher_name, slug, identifier, title, "
            "description, metadata_json, first_seen, last_seen, triples) VALUES (1, 1, 'lambeth', "
            "'Lambeth', 'toilets', 'community-toilets', 'Toilets', '', '{}', '2026-01-01 00:00:00', "
            "'2026-01-01 00:00:00', 0)"))
        connection.execute(text(
            "INSERT INTO resources (id, dataset_id, slug, url, title, media_type) "
            "VALUES (1, 1, 'toilets', 'http://127.0.0.1:9/toilets.csv', '', 'text/csv')"))
        for version_id, valid, rdf_path in ((1, "TRUE", "'rdf/1/toilets-a.nt'"), (2, "FALSE", "NULL")):
            connection.execute(text(
                "INSERT INTO resource_versions (id, resource_id, url, content_hash, size, fetched_at, "
                f"checked_at, valid, rdf_path, triples) VALUES ({version_id}, 1, "
                f"'http://127.0.0.1:9/toilets.csv', 'hash{version_id}', 10, '2026-01-0{version_id} 00:00:00', "
                f"'2026-01-0{version_id} 00:00:00', {valid}, {rdf_path}, 5)"))
        connection.commit()
    engine.dispose()


def test_an_instance_from_before_migrations_is_adopted_and_upgraded(settings: Settings) -> None:
    build_baseline_instance(settings)
    with Instance(settings) as instance:
        with instance.engine.connect() as connection:
            assert current_revision(connection) == head_revision()
            columns = {c["name"] for c in inspect(connection).get_columns("datasets")}
        assert {"status", "withdrawn_at", "graph_digest", "published_digest"} <= columns
        with instance.session() as session:
            dataset = session.scalars(select(Dataset)).one()
            assert (dataset.slug, dataset.status, dataset.withdrawn_at) == ("toilets", "active", None)
            resource = session.scalars(select(Resource)).one()
            assert resource.latest_version_id == 2  # the newest fetch…
            assert resource.published_version_id == 1  # …and the newest that validated and was converted
            run = session.scalars(select(HarvestRun)).one()
            assert run.status == "failed"  # left running by a Lodestar that did not record its process
        [summary] = list_datasets(instance)
        assert summary["validation"] == {"valid": 0, "invalid": 1}
    with Instance(settings) as again:  # opening again changes nothing
        with again.engine.connect() as connection:
            assert current_revision(connection) == head_revision()


def test_a_database_from_a_newer_lodestar_is_refused(settings: Settings) -> None:
    with Instance(settings):
        pass
    engine = create_engine(settings.sqlalchemy_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(ConfigError, match="revision '9999'.*newer Lodestar"):
        Instance(settings)


def test_the_models_match_what_the_migrations_make(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    upgrade_database(engine)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    engine.dispose()


def test_the_newest_revision_can_be_undone_and_redone(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    upgrade_database(engine)
    with engine.connect() as connection:
        command.downgrade(alembic_config(connection), BASELINE)
        connection.commit()
        assert "instance_info" not in inspect(connection).get_table_names()
    upgrade_database(engine)
    with engine.connect() as connection:
        assert current_revision(connection) == head_revision()
    engine.dispose()


# --- PostgreSQL --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """A real PostgreSQL server on loopback (Debian's binaries); yields a URL without database name."""
    import psycopg  # noqa: F401  (the driver the URL names; installed by `make test`)

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if found and not (initdb and pg_ctl):
        pg_ctl, initdb = found[-1], str(Path(found[-1]).with_name("initdb"))
    assert initdb and pg_ctl, "PostgreSQL server binaries are missing: run scripts/system-packages"
    with tempfile.TemporaryDirectory(prefix="lodestar-pg-") as name:  # reachable by the postgres user
        yield from _postgres_in(Path(name), initdb, pg_ctl)


def _postgres_in(folder: Path, initdb: str, pg_ctl: str) -> Iterator[str]:
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root
        shutil.chown(folder, "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    subprocess.run([*run_as, initdb, "-D", str(folder / "data"), "-A", "trust", "-U", "lodestar"],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run([*run_as, pg_ctl, "-D", str(folder / "data"), "-w", "-l", str(folder / "log"), "-o",
                    f"-p {port} -k {folder} -c listen_addresses=127.0.0.1", "start"],
                   check=True, stdout=subprocess.DEVNULL)
    try:
        yield f"postgresql+psycopg://lodestar@127.0.0.1:{port}"
    finally:
        subprocess.run([*run_as, pg_ctl, "-D", str(folder / "data"), "-m", "immediate", "stop"],
                       check=False, stdout=subprocess.DEVNULL)


def postgres_database(server: str, name: str) -> str:
    with create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT").connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    return f"{server}/{name}"


def test_migrations_on_postgresql(postgres: str, tmp_path: Path) -> None:
    url = postgres_database(postgres, "lodestar_fresh")
    engine: Engine = make_engine(url)
    upgrade_database(engine)
    with engine.connect() as connection:
        assert current_revision(connection) == head_revision()
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    engine.dispose()
    legacy = load_settings({"instance": str(tmp_path / "pg"), "base_url": BASE_URL,
                            "database_url": postgres_database(postgres, "lodestar_legacy")}, environ={})
    build_baseline_instance(legacy)
    with Instance(legacy) as instance, instance.session() as session:
        assert session.scalars(select(Resource.published_version_id)).one() == 1


def test_a_harvest_on_postgresql(postgres: str, tmp_path: Path, file_server: tuple[str, Path]) -> None:
    from portal.pipeline import add_source, harvest
    from portal.publication import reconcile
    from tests.conftest import serve_lambeth

    settings = load_settings({"instance": str(tmp_path / "pg"), "base_url": BASE_URL,
                              "database_url": postgres_database(postgres, "lodestar_harvest"),
                              "allow_private_addresses": True}, environ={})
    with Instance(settings) as instance:
        add_source(instance, "lambeth", serve_lambeth(file_server))
        assert harvest(instance, "lambeth").status == "finished"
        assert harvest(instance, "lambeth").datasets_changed == 0
        [summary] = list_datasets(instance)
        assert summary["validation"] == {"valid": 1, "invalid": 0} and summary["triples"] > 100
        assert reconcile(instance).changed is False


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_unstorable_characters_in_a_remote_record_are_replaced_not_fatal(
        database: str, tmp_path: Path, file_server: tuple[str, Path], request: pytest.FixtureRequest) -> None:
    """A title with NUL (PostgreSQL refuses it) or another C0 control (XML refuses it) is kept, marked
    with U+FFFD; the harvest, the alert feed and the RDF/XML record all still work."""
    import xml.etree.ElementTree as ET
    from datetime import datetime, timedelta, timezone

    from rdflib import Graph

    from portal.pipeline import add_source, harvest
    from portal.watch import evaluate_freshness
    from portal.web import create_app
    from tests.conftest import serve_lambeth

    values = {"instance": str(tmp_path / "i"), "base_url": BASE_URL, "allow_private_addresses": True}
    if database == "postgresql":
        values["database_url"] = postgres_database(request.getfixturevalue("postgres"), "lodestar_unstorable")
    with Instance(load_settings(values, environ={})) as instance:
        add_source(instance, "lambeth", serve_lambeth(file_server, title="Community\\u0000toilets\\u0001 café"))
        assert harvest(instance, "lambeth").status == "finished"
        [summary] = list_datasets(instance)
        assert summary["title"] == "Community\ufffdtoilets\ufffd café"
        assert evaluate_freshness(instance, datetime.now(timezone.utc) + timedelta(days=60)).changed
        client = create_app(instance=instance).test_client()
        feed = client.get("/alerts.atom")
        assert feed.status_code == 200
        [entry] = ET.fromstring(feed.data).findall("{http://www.w3.org/2005/Atom}entry")
        assert "Community\ufffdtoilets\ufffd café" in (entry.findtext("{http://www.w3.org/2005/Atom}title") or "")
        record = client.get("/dataset/lambeth/community-toilets.rdf")
        assert record.status_code == 200 and len(Graph().parse(data=record.data, format="xml")) > 10
