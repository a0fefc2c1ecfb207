"""Sources keep their own settings and interval; runs keep how their listing ended, what they
withdrew and their per-dataset errors; a successful run is called `finished`.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the columns, and rename the runs that ended `ok` to `finished`."""
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("options_json", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("every_hours", sa.Float(), nullable=True))
    with op.batch_alter_table("harvest_runs") as batch:
        batch.add_column(sa.Column("listing_complete", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("datasets_withdrawn", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("errors_json", sa.JSON(), nullable=True))
    runs = sa.table("harvest_runs", sa.column("status", sa.String(20)),
                    sa.column("listing_complete", sa.Boolean()))
    op.execute(runs.update().where(runs.c.status == "ok").values(status="finished", listing_complete=True))


def downgrade() -> None:
    """Drop the columns and call finished runs `ok` again."""
    runs = sa.table("harvest_runs", sa.column("status", sa.String(20)))
    op.execute(runs.update().where(runs.c.status == "finished").values(status="ok"))
    with op.batch_alter_table("harvest_runs") as batch:
        batch.drop_column("errors_json")
        batch.drop_column("datasets_withdrawn")
        batch.drop_column("listing_complete")
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("every_hours")
        batch.drop_column("options_json")
