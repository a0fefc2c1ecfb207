"""The EU authority tables the portal maps harvested values to, loaded once from compact JSON files.

The files beside this module (``licence.json``, ``data-theme.json``, ``file-type.json``,
``language.json``, ``frequency.json``) are converted from the EU Publications Office SKOS files by
``vocab.authority.convert``; PROVENANCE.md says where each came from. `table(name)` returns one
table; it is read the first time it is asked for and kept.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

HERE = Path(__file__).resolve().parent
EU_AUTHORITY = "http://publications.europa.eu/resource/authority/"
TABLES = ("licence", "data-theme", "file-type", "language", "frequency")


@dataclass(frozen=True)
class Concept:
    """One concept of an authority table: its code, IRI, labels by language and table-specific facts."""

    code: str
    uri: str
    labels: Mapping[str, tuple[str, ...]]
    deprecated: bool = False
    facts: Mapping[str, Any] = field(default_factory=dict)

    def all_labels(self) -> tuple[str, ...]:
        """Every label in every language, without repeats."""
        return tuple(dict.fromkeys(label for labels in self.labels.values() for label in labels))


@dataclass(frozen=True)
class AuthorityTable:
    """One EU authority table: scheme IRI, version, and concepts by code."""

    name: str
    scheme: str
    version: str
    concepts: Mapping[str, Concept]

    def by_uri(self, uri: str) -> Concept | None:
        """The concept with this IRI (``http`` or ``https``, trailing slash or not), if it is in the table."""
        text = uri.strip().strip("<>").rstrip("/")
        prefix = self.scheme.split("://", 1)[1] + "/"
        address = text.split("://", 1)[-1]
        if not address.lower().startswith(prefix.lower()):
            return None
        return self.concepts.get(address[len(prefix):])


def key(text: str) -> str:
    """The lookup key of a label or code: case-folded, letters and digits, runs of anything else as ``-``."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"[\W_]+", "-", folded).strip("-")


def _concept(scheme: str, code: str, entry: Mapping[str, Any]) -> Concept:
    labels = MappingProxyType({lang: tuple(values) for lang, values in entry.get("labels", {}).items()})
    facts = MappingProxyType({k: v for k, v in entry.items() if k not in ("labels", "deprecated")})
    return Concept(code, f"{scheme}/{code}", labels, bool(entry.get("deprecated", False)), facts)


@cache
def table(name: str) -> AuthorityTable:
    """The authority table `name` (one of `TABLES`), read once."""
    if name not in TABLES:
        raise KeyError(f"unknown authority table {name!r}; known: {', '.join(TABLES)}")
    data = json.loads((HERE / f"{name}.json").read_text(encoding="utf-8"))
    scheme = data["scheme"]
    concepts = {code: _concept(scheme, code, entry) for code, entry in data["concepts"].items()}
    return AuthorityTable(name, scheme, data.get("version", ""), MappingProxyType(concepts))


def unambiguous(pairs: list[tuple[str, Concept]]) -> dict[str, Concept]:
    """Key → concept from (key, concept) pairs; a key naming two concepts keeps the one not deprecated, else none."""
    found: dict[str, list[Concept]] = {}
    for name, concept in pairs:
        if name:
            bucket = found.setdefault(name, [])
            if concept not in bucket:
                bucket.append(concept)
    index = {}
    for name, concepts in found.items():
        current = [c for c in concepts if not c.deprecated] or concepts
        if len(current) == 1:
            index[name] = current[0]
    return index


__all__ = ["AuthorityTable", "Concept", "EU_AUTHORITY", "TABLES", "key", "table", "unambiguous"]
