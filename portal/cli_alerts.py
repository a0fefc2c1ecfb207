"""`lodestar alerts …` and `lodestar confirm-current`: the alert events, their delivery and its log."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    """Add the alert commands."""
