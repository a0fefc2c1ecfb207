"""Datasets record when their published record last changed (metadata or content), for
incremental readers of the portal such as CKAN harvesters.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the column and its index; fill it with the best earlier evidence of a change."""
    with op.batch_alter_table("datasets") as batch:
        batch.add_column(sa.Column("record_modified", sa.DateTime(), nullable=True))
    datasets = sa.table("datasets", sa.column("record_modified", sa.DateTime()),
                        sa.column("first_seen", sa.DateTime()), sa.column("last_content_change", sa.DateTime()),
                        sa.column("withdrawn_at", sa.DateTime()))
    op.execute(datasets.update().values(record_modified=sa.case(
        (datasets.c.withdrawn_at.is_not(None), datasets.c.withdrawn_at),
        (datasets.c.last_content_change > datasets.c.first_seen, datasets.c.last_content_change),
        else_=datasets.c.first_seen)))
    op.create_index("ix_datasets_status_record_modified", "datasets", ["status", "record_modified"])


def downgrade() -> None:
    """Drop the index and the column."""
    op.drop_index("ix_datasets_status_record_modified", table_name="datasets")
    with op.batch_alter_table("datasets") as batch:
        batch.drop_column("record_modified")
