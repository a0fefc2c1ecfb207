"""Runs know their process; datasets record publication and withdrawal; resources point at
their latest and published versions; the instance remembers its base URL.

Revision ID: 0002
Revises: 0001
Create Date: 2026-03-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the new table and columns, then fill the version pointers from the history."""
    op.create_table(
        "instance_info",
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("harvest_runs") as batch:
        batch.add_column(sa.Column("pid", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("hostname", sa.String(255), nullable=True))
        batch.add_column(sa.Column("process_token", sa.String(100), nullable=True))
    with op.batch_alter_table("datasets") as batch:
        batch.add_column(sa.Column("status", sa.String(20), nullable=False, server_default="active"))
        batch.add_column(sa.Column("withdrawn_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("graph_files", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("graph_digest", sa.String(80), nullable=True))
        batch.add_column(sa.Column("published_digest", sa.String(80), nullable=True))
    with op.batch_alter_table("resources") as batch:
        batch.add_column(sa.Column("latest_version_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("published_version_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_resources_latest_version_id", "resource_versions",
                                 ["latest_version_id"], ["id"])
        batch.create_foreign_key("fk_resources_published_version_id", "resource_versions",
                                 ["published_version_id"], ["id"])

    resources = sa.table("resources", sa.column("id", sa.Integer()),
                         sa.column("latest_version_id", sa.Integer()),
                         sa.column("published_version_id", sa.Integer()))
    versions = sa.table("resource_versions", sa.column("id", sa.Integer()),
                        sa.column("resource_id", sa.Integer()), sa.column("valid", sa.Boolean()),
                        sa.column("rdf_path", sa.Text()))
    of_resource = versions.c.resource_id == resources.c.id
    op.execute(resources.update().values(
        latest_version_id=sa.select(sa.func.max(versions.c.id)).where(of_resource).scalar_subquery(),
        published_version_id=sa.select(sa.func.max(versions.c.id)).where(
            of_resource, versions.c.valid == sa.true(), versions.c.rdf_path.is_not(None)).scalar_subquery(),
    ))


def downgrade() -> None:
    """Remove what `upgrade` added."""
    with op.batch_alter_table("resources") as batch:
        batch.drop_constraint("fk_resources_published_version_id", type_="foreignkey")
        batch.drop_constraint("fk_resources_latest_version_id", type_="foreignkey")
        batch.drop_column("published_version_id")
        batch.drop_column("latest_version_id")
    with op.batch_alter_table("datasets") as batch:
        for column in ("published_digest", "graph_digest", "graph_files", "withdrawn_at", "status"):
            batch.drop_column(column)
    with op.batch_alter_table("harvest_runs") as batch:
        batch.drop_column("process_token")
        batch.drop_column("hostname")
        batch.drop_column("pid")
    op.drop_table("instance_info")
