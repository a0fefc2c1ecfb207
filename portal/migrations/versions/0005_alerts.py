"""Freshness alerts: events, webhook endpoints, e-mail subscriptions, deliveries and their attempts,
"still current" confirmations and metadata quality assessments.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create the alert tables and the datasets' confirmation column."""
    with op.batch_alter_table("datasets") as batch:
        batch.add_column(sa.Column("confirmed_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("publication_state", sa.String(20), nullable=True))
        batch.add_column(sa.Column("freshness_status", sa.String(20), nullable=True))
        batch.add_column(sa.Column("freshness_since", sa.DateTime(), nullable=True))
    _fill_dataset_columns()
    op.create_table(
        "alert_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("event_id", sa.String(40), nullable=False, unique=True),
        sa.Column("dataset_id", sa.Integer(), sa.ForeignKey("datasets.id"), nullable=False),
        sa.Column("publisher", sa.String(100), nullable=False),
        sa.Column("dataset_slug", sa.String(100), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("previous", sa.String(20), nullable=True),
        sa.Column("severity", sa.String(20), nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("themes_json", sa.JSON(), nullable=True),
        sa.Column("evidence_json", sa.JSON(), nullable=True),
        sa.Column("fanned_out", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_alert_events_fanned_out", "alert_events", ["fanned_out"])
    op.create_index("ix_alert_events_publisher", "alert_events", ["publisher"])
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("endpoint_id", sa.String(40), nullable=False, unique=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret", sa.String(100), nullable=False),
        sa.Column("previous_secret", sa.String(100), nullable=True),
        sa.Column("previous_until", sa.DateTime(), nullable=True),
        sa.Column("publisher", sa.String(100), nullable=True),
        sa.Column("theme", sa.Text(), nullable=True),
        sa.Column("dataset", sa.String(201), nullable=True),
        sa.Column("min_severity", sa.String(20), nullable=False),
        sa.Column("owner_email", sa.String(320), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_at", sa.DateTime(), nullable=True),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.Column("failures_in_row", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "email_subscriptions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("subscription_id", sa.String(40), nullable=False, unique=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("publisher", sa.String(100), nullable=True),
        sa.Column("theme", sa.Text(), nullable=True),
        sa.Column("dataset", sa.String(201), nullable=True),
        sa.Column("min_severity", sa.String(20), nullable=False),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=True),
        sa.Column("token_expires", sa.DateTime(), nullable=True),
        sa.Column("unsubscribe_hash", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(), nullable=True),
        sa.Column("unsubscribed_at", sa.DateTime(), nullable=True),
        sa.Column("last_digest_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_email_subscriptions_email", "email_subscriptions", ["email"])
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("event_id", sa.Integer(), sa.ForeignKey("alert_events.id"), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("target", sa.String(320), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_until", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.UniqueConstraint("event_id", "channel", "target"),
    )
    op.create_index("ix_deliveries_status_next", "deliveries", ["status", "next_attempt_at"])
    op.create_table(
        "delivery_attempts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("delivery_id", sa.Integer(), sa.ForeignKey("deliveries.id"), nullable=False),
        sa.Column("attempted_at", sa.DateTime(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("response_excerpt", sa.Text(), nullable=True),
        sa.Column("manual", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_delivery_attempts_delivery", "delivery_attempts", ["delivery_id"])
    op.create_table(
        "freshness_confirmations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("dataset_id", sa.Integer(), sa.ForeignKey("datasets.id"), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(), nullable=False),
        sa.Column("confirmed_by", sa.String(320), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
    )
    op.create_table(
        "dataset_quality",
        sa.Column("dataset_id", sa.Integer(), sa.ForeignKey("datasets.id"), primary_key=True),
        sa.Column("digest", sa.String(80), nullable=False),
        sa.Column("assessed_at", sa.DateTime(), nullable=False),
        sa.Column("mqa_json", sa.JSON(), nullable=False),
    )


def _fill_dataset_columns() -> None:
    """Derive the new dataset columns from the rows that already say it."""
    bind = op.get_bind()
    bind.execute(sa.text("""
        UPDATE datasets SET publication_state = CASE
          WHEN EXISTS (SELECT 1 FROM resources r WHERE r.dataset_id = datasets.id
                       AND r.published_version_id IS NOT NULL) THEN 'published'
          WHEN EXISTS (SELECT 1 FROM resources r JOIN resource_versions v ON v.resource_id = r.id
                       WHERE r.dataset_id = datasets.id AND v.valid IS NOT NULL) THEN 'unpublished'
          ELSE NULL END"""))
    bind.execute(sa.text("""
        UPDATE datasets SET
          freshness_status = (SELECT f.status FROM freshness_statuses f WHERE f.dataset_id = datasets.id
                              ORDER BY f.id DESC LIMIT 1),
          freshness_since = (SELECT f.evaluated_at FROM freshness_statuses f WHERE f.dataset_id = datasets.id
                             ORDER BY f.id DESC LIMIT 1)"""))


def downgrade() -> None:
    """Drop the tables and the column."""
    for table in ("dataset_quality", "freshness_confirmations", "delivery_attempts", "deliveries",
                  "email_subscriptions", "webhook_endpoints", "alert_events"):
        op.drop_table(table)
    with op.batch_alter_table("datasets") as batch:
        for column in ("freshness_since", "freshness_status", "publication_state", "confirmed_at"):
            batch.drop_column(column)
