"""The database's migrations (Alembic), run from code whenever an instance is opened.

No ``alembic.ini`` is needed: `alembic_config` builds the configuration with the script location
inside this package. To write a new revision, change the models in `portal.db` and run::

    python -c "from alembic import command; from portal.migrations import alembic_config; \\
               command.revision(alembic_config(url='sqlite:///scratch.db'), 'what changed', autogenerate=True)"

against a scratch database upgraded to the current head, then read and mend what it wrote
(revisions use plain SQLAlchemy types, never the models, so that they stay as they were).
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from portal.db import database_errors, describe
from portal.errors import ConfigError

log = logging.getLogger(__name__)

#: The folder of ``env.py`` and ``versions/``.
SCRIPT_LOCATION = Path(__file__).resolve().parent
#: The revision whose tables are those Lodestar made before it had migrations.
BASELINE = "0001"


def alembic_config(connection: Connection | None = None, *, url: str | None = None) -> Config:
    """An Alembic configuration for this package's migrations, on a connection (or a URL)."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url)
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision this version of Lodestar knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at, or None when it has no version table."""
    return MigrationContext.configure(connection).get_current_revision()


def baseline_columns() -> dict[str, set[str]]:
    """Every table of the baseline revision with its columns (made in a scratch in-memory database)."""
    engine = create_engine("sqlite://")
    try:
        with engine.connect() as connection:
            command.upgrade(alembic_config(connection), BASELINE)
            inspector = inspect(connection)
            return {table: {c["name"] for c in inspector.get_columns(table)}
                    for table in inspector.get_table_names() if table != "alembic_version"}
    finally:
        engine.dispose()


def _check_baseline(engine: Engine, connection: Connection) -> None:
    """Refuse, clearly, tables without a version that are not those of the baseline revision."""
    inspector = inspect(connection)
    found = set(inspector.get_table_names())
    for table, columns in baseline_columns().items():
        if table not in found:
            raise ConfigError(f"the database {describe(engine)} has tables but no {table!r} table: it "
                              f"was not made by Lodestar; use an empty database or a new instance folder")
        missing = columns - {c["name"] for c in inspector.get_columns(table)}
        if missing:
            raise ConfigError(f"the database {describe(engine)} was not made by a known version of "
                              f"Lodestar: table {table!r} lacks {', '.join(sorted(missing))}")


def _known(engine: Engine, revision: str) -> None:
    """Refuse a database at a revision this code does not know (made by a newer Lodestar)."""
    try:
        ScriptDirectory.from_config(alembic_config()).get_revision(revision)
    except CommandError:
        raise ConfigError(
            f"the database {describe(engine)} is at schema revision {revision!r}, which this version "
            f"of Lodestar does not know (newest known: {head_revision()!r}): it was upgraded by a newer "
            f"Lodestar; run that version, or restore a backup made before the upgrade") from None


def _upgrade(engine: Engine, connection: Connection) -> None:
    current = current_revision(connection)
    if current is None:
        tables = set(inspect(connection).get_table_names())
        if tables & set(baseline_columns()):
            _check_baseline(engine, connection)
            log.warning("database %s predates migrations: stamped at revision %s", describe(engine), BASELINE)
            command.stamp(alembic_config(connection), BASELINE)
    else:
        _known(engine, current)
    if current != head_revision():
        command.upgrade(alembic_config(connection), "head")
    connection.commit()


def upgrade_database(engine: Engine) -> None:
    """Bring the database to the newest revision: make it, adopt an older unversioned one, or refuse a newer one."""
    with database_errors(engine):
        with engine.connect() as connection:
            sqlite = engine.dialect.name == "sqlite"
            if sqlite:  # batch migrations copy tables; foreign keys are checked again afterwards
                connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            try:
                _upgrade(engine, connection)
            except (ConfigError, CommandError):
                raise
            except SQLAlchemyError:
                # Another process may have upgraded the same database at the same moment.
                connection.rollback()
                if current_revision(connection) != head_revision():
                    raise
            finally:
                if sqlite:
                    connection.exec_driver_sql("PRAGMA foreign_keys=ON")
