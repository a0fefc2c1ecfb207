"""The header against the schema: what is wrong with the table's structure, and what it explains.

Frictionless finds the label errors (blank, duplicate, extra, missing, incorrect); `analyse`
explains each unknown column with the schema field whose name is closest (or says that the column
is a schema field in the wrong place), and names the fields and columns whose per-row errors are
only a consequence of the header: a *cascade*, reported once per field with a count.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

#: Frictionless error types about header labels.
LABEL_TYPES = frozenset({"blank-label", "duplicate-label", "extra-label", "missing-label",
                         "incorrect-label", "blank-header", "unmatched-header"})

#: Similarity from which a schema field is offered as what an unknown column probably is.
RESEMBLES = 0.5


@dataclass(frozen=True)
class StructuralIssue:
    """One header problem: its Frictionless type, a message that explains it, where it is."""

    type: str
    message: str
    column: int | None
    field: str | None
    label: str | None
    closest: str | None = None
    score: float | None = None


@dataclass
class Structure:
    """What the header says about the table, and which per-row errors are its consequences."""

    labels: list[str]
    issues: list[StructuralIssue] = field(default_factory=list)
    #: field name → why its column does not hold it (its per-row errors are a cascade)
    cascade_fields: dict[str, str] = field(default_factory=dict)
    #: column number → why it has no field (its cells are a cascade of extra cells)
    cascade_columns: dict[int, str] = field(default_factory=dict)
    #: (column number, field descriptor) of schema fields that no label pairs with
    missing_fields: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    @property
    def matches(self) -> bool:
        """True when the header has no label problem."""
        return not self.issues

    def describe(self) -> str:
        """One line on what is wrong with the header, for the CLI and the dataset page."""
        counts: dict[str, int] = {}
        for issue in self.issues:
            counts[issue.type] = counts.get(issue.type, 0) + 1
        unknown = counts.get("extra-label", 0) + counts.get("incorrect-label", 0)
        parts = [
            f"{unknown} column(s) not where the schema expects them" if unknown else "",
            f"{len(self.missing_fields)} schema field(s) missing "
            f"({', '.join(str(f.get('name')) for _, f in self.missing_fields)})"
            if self.missing_fields else "",
            f"{counts['blank-label']} blank label(s)" if counts.get("blank-label") else "",
            f"{counts['duplicate-label']} duplicate label(s)" if counts.get("duplicate-label") else "",
        ]
        text = ", ".join(p for p in parts if p) or f"{len(self.issues)} label problem(s)"
        if self.cascade_fields or self.cascade_columns:
            text += "; the row errors these cause are counted once per field"
        return text

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary for the report's stats."""
        return {
            "summary": self.describe(),
            "labels": len(self.labels),
            "unknown_columns": [{"column": i.column, "label": i.label, "closest": i.closest,
                                 "similarity": i.score}
                                for i in self.issues if i.type in ("extra-label", "incorrect-label")],
            "missing_fields": [f["name"] for _, f in self.missing_fields],
            "problems": len(self.issues),
        }


def normalise(name: str) -> str:
    """A name folded for comparison: case, accents kept, runs of spaces/underscores/dashes as one space."""
    return re.sub(r"[\s_\-.]+", " ", name.casefold()).strip()


def closeness(label: str, name: str) -> float:
    """How alike a column label and a field name are, 0..1 (sequence ratio, or word containment)."""
    a, b = normalise(label), normalise(name)
    if not a or not b:
        return 0.0
    ratio = difflib.SequenceMatcher(None, a, b).ratio()
    words_a, words_b = set(a.split()), set(b.split())
    contained = len(words_a & words_b) / len(words_b) if words_b else 0.0
    return max(ratio, 0.9 * contained)


def closest_field(label: str, names: list[str]) -> tuple[str, float] | None:
    """The schema field name most like `label`, with its score; None without candidates."""
    scored = [(closeness(label, n), n) for n in names]
    if not scored:
        return None
    score, name = max(scored, key=lambda s: s[0])
    return name, round(score, 2)


def analyse(labels: list[str], label_errors: list[Any], schema: dict[str, Any]) -> Structure:
    """Explain Frictionless' label errors (`frictionless.Error` objects) for a header and schema."""
    fields = [f for f in schema.get("fields", []) if isinstance(f, dict)]
    names = [str(f.get("name", "")) for f in fields]
    by_name = {n: i for i, n in enumerate(names, start=1)}
    stripped = [str(label).strip() for label in labels]
    placed = {n for i, n in enumerate(names) if i < len(stripped) and stripped[i] == n}
    unplaced = [n for n in names if n not in placed]
    structure = Structure(labels=[str(label) for label in labels])

    for error in label_errors:
        kind = error.type
        column = getattr(error, "field_number", None)
        name = getattr(error, "field_name", None) or None
        label = getattr(error, "label", None)
        closest: tuple[str, float] | None = None
        if kind in ("extra-label", "incorrect-label"):
            explained, closest = _explain_unknown(str(label), by_name, unplaced)
            if kind == "incorrect-label":
                message = (f"column {column} is headed {label!r} where the schema expects field "
                           f"{name!r}; {explained}")
                structure.cascade_fields[str(name)] = (
                    f"column {column} is headed {label!r}, not {name!r}")
            else:
                message = f"column {column} ({label!r}) is not in the schema; {explained}"
                structure.cascade_columns[int(column or 0)] = (
                    f"column {column} ({label!r}) is not in the schema")
        elif kind == "missing-label":
            spec = fields[by_name[str(name)] - 1] if name in by_name else {"name": name}
            required = bool((spec.get("constraints") or {}).get("required"))
            where = _found_elsewhere(str(name), stripped)
            message = (f"schema field {name!r}{' (required)' if required else ''} is not in the "
                       f"header{where}")
            structure.cascade_fields[str(name)] = f"field {name!r} is missing from the header"
            structure.missing_fields.append((int(column or 0), spec))
        else:
            message = error.message
        structure.issues.append(StructuralIssue(kind, message, column, name, label,
                                                *(closest or (None, None))))
    structure.issues.sort(key=lambda i: i.column or 0)
    return structure


def _explain_unknown(label: str, by_name: dict[str, int], unplaced: list[str]
                     ) -> tuple[str, tuple[str, float] | None]:
    """Where an unknown label belongs (a field elsewhere, or the closest field), and that field."""
    if label.strip() in by_name:
        return (f"it is schema field {by_name[label.strip()]} ({label.strip()!r}), so the column is "
                "misplaced"), (label.strip(), 1.0)
    alike = [n for n in by_name if normalise(n) == normalise(label)]
    if alike:
        return (f"it differs from schema field {alike[0]!r} only in case, spacing or punctuation",
                (alike[0], 1.0))
    best = closest_field(label, unplaced or list(by_name))
    if best is None:
        return "the schema has no field left to match it", None
    if best[1] < RESEMBLES:
        return (f"no schema field resembles it (closest: {best[0]!r}, similarity {best[1]:.2f})",
                best)
    return f"closest schema field: {best[0]!r} (similarity {best[1]:.2f})", best


def _found_elsewhere(name: str, labels: list[str]) -> str:
    """`` (found in column N)`` when the field's name heads another column, else ``""``."""
    for column, label in enumerate(labels, start=1):
        if label == name:
            return f" where it belongs (it heads column {column} instead)"
    return ""

