"""Turning a resource's declared schema reference (`dct:conformsTo`) into a Table Schema."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harvesters.fetch import read_bytes
from portal.errors import DataError, SourceError

if TYPE_CHECKING:
    from portal.egress import Egress

#: Prefix of the IRIs that name a schema bundled with Lodestar, e.g. ``urn:lodestar:schema:street-trees``.
BUNDLED_PREFIX = "urn:lodestar:schema:"
#: Largest Table Schema document fetched.
MAX_SCHEMA_BYTES = 5 * 1024 * 1024


def resolve_schema_ref(ref: str | None, *, timeout: float = 30.0,
                       egress: Egress | None = None) -> dict[str, Any] | None:
    """A bundled schema IRI, or the URL of a Table Schema JSON document, → descriptor; None → None.

    A reference that names no Table Schema (a standard's landing page, say) gives None, so the
    table is validated against an inferred schema instead. The document is fetched through
    `egress` (without one, a default client with the address guard on and `timeout`).
    """
    from schemas.loader import load_schema

    if not ref:
        return None
    if ref.startswith(BUNDLED_PREFIX):
        return load_schema(ref.removeprefix(BUNDLED_PREFIX))
    if not ref.lower().split("?")[0].endswith(".json"):
        return None
    try:
        data, _ = read_bytes(ref, timeout=timeout, max_bytes=MAX_SCHEMA_BYTES, egress=egress)
    except SourceError as exc:
        raise SourceError(f"schema {ref}: {exc}") from exc
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "schema.json"
        path.write_bytes(data)
        try:
            return load_schema(path)
        except DataError as exc:
            raise DataError(f"schema {ref}: {exc}") from exc
