"""Which schemas the fast path covers, and why it leaves the others to Frictionless."""

from __future__ import annotations

import copy
from typing import Any

from frictionless import FrictionlessException, Schema

from schemas.fastpath.columns import KEYED_TYPES


def frictionless_schema(descriptor: dict[str, Any]) -> Schema:
    """Frictionless' reading of a schema descriptor (the descriptor itself is left untouched)."""
    return Schema.from_descriptor(copy.deepcopy(descriptor))


def key_fields(schema: Schema) -> list[str]:
    """The fields of the primary key, in order (empty without one)."""
    key = schema.primary_key
    return list(key) if key else []


def covers(schema: dict[str, Any]) -> str | None:
    """None when the fast path can check every field and constraint of `schema`; else why not."""
    try:
        parsed = frictionless_schema(schema)
        checked = Schema.validate_descriptor(copy.deepcopy(schema))
    except FrictionlessException as exc:
        notes = sorted({e.message for e in exc.reasons}) or [exc.error.message]
        return f"Frictionless rejects the schema: {'; '.join(notes)}"
    if not checked.valid:
        notes = sorted({e.message for e in checked.errors})
        return f"Frictionless rejects the schema: {'; '.join(notes)}"
    names = [f.name for f in parsed.fields]
    if len(names) < 2:
        return "a single-column table (blank lines are rows there)"
    if len(set(names)) != len(names):
        return "duplicate field names"
    if parsed.foreign_keys:
        return "foreign keys"
    keyed = set(key_fields(parsed)) | {f.name for f in parsed.fields if f.constraints.get("unique")}
    for f in parsed.fields:
        if f.name in keyed and f.type not in KEYED_TYPES:
            return f"unique or primary key on a {f.type} field ({f.name!r})"
    if set(key_fields(parsed)) - set(names):
        return "primary key names a field the schema does not have"
    return None
