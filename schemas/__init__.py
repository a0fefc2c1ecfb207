"""Frictionless Table Schemas for common municipal datasets, their loader, and table validation.

`schemas.loader` finds and checks schemas (bundled under ``schemas/tables``, files, or dicts);
`schemas.validation` detects how a CSV is written and validates it into a `portal.report.Report`.
"""
