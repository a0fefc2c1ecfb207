"""Loading Frictionless Table Schemas: bundled ones by name, files by path, dicts as given.

Legacy descriptors are read too: JSON in UTF-16 (with or without a BOM), invalid backslash
escapes, ``"required": "true"`` as a string and XSD type URIs under ``constraints.type`` (the esd
dialect of JSON Table Schema) are normalised with a `LegacySchemaWarning` instead of failing.
"""

from __future__ import annotations

import copy
import json
import re
import warnings
from pathlib import Path
from typing import Any

from portal.errors import DataError, NotFoundError

#: Folder of the schemas bundled with Lodestar, one ``<name>.schema.json`` file each.
TABLES_DIR = Path(__file__).resolve().parent / "tables"
_SUFFIX = ".schema.json"

#: XSD datatypes met in legacy ``constraints.type`` → Table Schema (type, extra field properties).
_XSD_TYPES: dict[str, tuple[str, dict[str, Any]]] = {
    "string": ("string", {}),
    "anyURI": ("string", {"format": "uri"}),
    "URI": ("string", {"format": "uri"}),
    "float": ("number", {}),
    "double": ("number", {}),
    "decimal": ("number", {}),
    "integer": ("integer", {}),
    "int": ("integer", {}),
    "nonNegativeInteger": ("integer", {"minimum": 0}),
    "positiveInteger": ("integer", {"minimum": 1}),
}


class LegacySchemaWarning(UserWarning):
    """A schema used a legacy quirk that was normalised on loading."""


def bundled_schemas() -> dict[str, Path]:
    """Name → path of every Table Schema bundled in ``schemas/tables``."""
    return {p.name[: -len(_SUFFIX)]: p for p in sorted(TABLES_DIR.glob(f"*{_SUFFIX}"))}


def load_schema(ref: str | Path | dict[str, Any]) -> dict[str, Any]:
    """A bundled schema name, a schema file path, or a descriptor dict → checked descriptor dict.

    Raises `NotFoundError` for an unknown name or a missing file, `DataError` for a file that
    is not JSON or a descriptor that Frictionless rejects even after legacy normalisation.
    """
    if isinstance(ref, dict):
        return _checked(copy.deepcopy(ref), "schema given as a dict")
    path = _locate(ref)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"schema file {path} cannot be read: {exc}") from exc
    where = f"schema file {path}"
    return _checked(_parse_json(data, where), where)


def _locate(ref: str | Path) -> Path:
    """Resolve a bundled name or a file path to an existing file."""
    if isinstance(ref, str):
        bundled = bundled_schemas()
        if ref in bundled:
            return bundled[ref]
        bare_name = not ref.endswith(".json") and "/" not in ref and "\\" not in ref
        if bare_name and not Path(ref).exists():
            known = ", ".join(bundled) or "none"
            raise NotFoundError(f"no bundled schema named {ref!r} (bundled: {known})")
    path = Path(ref)
    if not path.is_file():
        raise NotFoundError(f"schema file {path} does not exist")
    return path


def _decode(data: bytes) -> str:
    """Decode JSON bytes: BOMs, UTF-16/32 without BOM (told by NUL bytes), else UTF-8 or cp1252."""
    for bom, encoding in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe\x00\x00", "utf-32"),
                          (b"\x00\x00\xfe\xff", "utf-32"), (b"\xff\xfe", "utf-16"),
                          (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            return data.decode(encoding)
    head = data[:4]
    if len(head) == 4 and head[1:] == b"\x00\x00\x00":
        return data.decode("utf-32-le")
    if len(head) == 4 and head[:3] == b"\x00\x00\x00":
        return data.decode("utf-32-be")
    if len(head) >= 2 and head[1] == 0 and head[0] != 0:
        return data.decode("utf-16-le")
    if len(head) >= 2 and head[0] == 0 and head[1] != 0:
        return data.decode("utf-16-be")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _parse_json(data: bytes, where: str) -> dict[str, Any]:
    """Parse descriptor bytes, repairing invalid backslash escapes (``\\.``) with a warning."""
    try:
        text = _decode(data)
    except UnicodeDecodeError as exc:
        raise DataError(f"{where} is not text: {exc}") from exc
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        if "Invalid \\escape" not in str(exc):
            raise DataError(f"{where} is not valid JSON: {exc}") from exc
        repaired = re.sub(r"\\(.)", lambda m: m.group(0) if m.group(1) in '"\\/bfnrtu'
                          else "\\\\" + m.group(1), text, flags=re.DOTALL)
        try:
            value = json.loads(repaired)
        except json.JSONDecodeError as exc2:
            raise DataError(f"{where} is not valid JSON: {exc2}") from exc2
        warnings.warn(f"{where}: invalid backslash escapes in JSON strings were kept literally",
                      LegacySchemaWarning, stacklevel=3)
    if not isinstance(value, dict):
        raise DataError(f"{where} is not a Table Schema: the JSON is a {type(value).__name__}")
    return value


def _checked(descriptor: dict[str, Any], where: str) -> dict[str, Any]:
    """Normalise legacy quirks, then check the descriptor with Frictionless."""
    from frictionless import FrictionlessException, Schema

    if not isinstance(descriptor.get("fields"), list):
        raise DataError(f"{where} is not a Table Schema: it has no list of fields")
    changes = _normalise_legacy(descriptor)
    if changes:
        warnings.warn(f"{where}: legacy schema normalised: {'; '.join(changes)}",
                      LegacySchemaWarning, stacklevel=3)
    try:
        Schema.from_descriptor(descriptor)
    except FrictionlessException as exc:
        reasons = "; ".join(sorted({e.message for e in exc.reasons})) if exc.reasons else ""
        raise DataError(f"{where} is not a valid Table Schema: {reasons or exc.error.message}"
                        ) from exc
    return descriptor


def _normalise_legacy(descriptor: dict[str, Any]) -> list[str]:
    """Rewrite legacy quirks in place; return a short description of each kind of change."""
    required_strings: list[str] = []
    xsd_types: list[str] = []
    for field in descriptor["fields"]:
        if not isinstance(field, dict):
            continue
        constraints = field.get("constraints")
        if not isinstance(constraints, dict):
            continue
        for key in ("required", "unique"):
            value = constraints.get(key)
            if isinstance(value, str) and value.strip().lower() in ("true", "false"):
                constraints[key] = value.strip().lower() == "true"
                required_strings.append(f"{field.get('name')}.{key}")
        xsd = constraints.get("type")
        if isinstance(xsd, str):
            del constraints["type"]
            xsd_types.append(str(field.get("name")))
            _apply_xsd_type(field, xsd.rsplit("#", 1)[-1])
    changes = []
    if required_strings:
        more = " …" if len(required_strings) > 3 else ""
        changes.append(f"string booleans in {len(required_strings)} constraint(s) became JSON "
                       f"booleans ({', '.join(required_strings[:3])}{more})")
    if xsd_types:
        changes.append(f"XSD types under constraints.type moved to the field type for "
                       f"{len(xsd_types)} field(s)")
    return changes


def _apply_xsd_type(field: dict[str, Any], xsd: str) -> None:
    """Set a field's type from a legacy XSD type name, unless the field already has one.

    Dates, date-times and booleans stay strings (with their patterns, if any): legacy schemas
    spell them as dd/mm/yyyy or Yes/No, which the typed readers would not accept. A field that
    carries a ``pattern`` stays a string too, since only strings take patterns.
    """
    if "type" in field:
        return
    constraints = field.get("constraints", {})
    table_type, extra = _XSD_TYPES.get(xsd, ("string", {}))
    if "pattern" in constraints:
        table_type, extra = "string", {}
    field["type"] = table_type
    if "format" in extra:
        field["format"] = extra["format"]
    if "minimum" in extra:
        constraints.setdefault("minimum", extra["minimum"])
