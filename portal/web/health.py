"""Liveness: `/-/health` answers while the web process runs, whatever the store or the workers do."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("health", __name__, url_prefix="/-")


@bp.get("/health")
def health() -> dict[str, str]:
    """Liveness probe."""
    return {"status": "ok"}
