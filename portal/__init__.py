"""Lodestar: an open-data publishing and linked-data portal for municipalities."""

__version__ = "0.1.0"
