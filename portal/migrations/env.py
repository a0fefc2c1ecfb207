"""Alembic environment: runs Lodestar's revisions on the connection `portal.migrations` hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from portal.db import Base

config = context.config
connection = config.attributes.get("connection")


def _run(on: object) -> None:
    context.configure(connection=on, target_metadata=Base.metadata, render_as_batch=True,  # type: ignore[arg-type]
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    _run(connection)
else:  # a developer's `command.revision(alembic_config(url=...))`
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite://")
    with engine.connect() as opened:
        _run(opened)
        opened.commit()
    engine.dispose()
