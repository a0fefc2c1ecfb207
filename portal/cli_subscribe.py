"""Placeholder: being written (its helper replaces this file)."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    """Add the commands (none yet)."""
