"""Placeholder: being written (its helper replaces this file)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint(__name__.rsplit(".", 1)[-1], __name__)
