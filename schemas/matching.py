"""Schema matching: which bundled Table Schema a table's header fits, and how its columns map.

A header is compared with every field's name, title and ``lodestar:aliases`` (per language:
``{"de": [...], "fr": [...]}``) after normalisation: camelCase and digits split off, accents
stripped, case folded, punctuation and filler words dropped. Labels that are equal after that
score 1. Typos are caught by an edit-distance ratio, or one slip in a short word (rapidfuzz);
reordered words by comparing word sets; a label that holds an alias plus up to two more words
("Amount in Sterling") by containment. Columns that differ only by numbers ("Plan 2011",
"Plan 2012"; "PIN1" … "PIN10") all map onto the field the first of them matched exactly.

Each schema gets a score in [0, 1]: half from the share of the table's columns it explains
(unknown columns count against it), half from the share of its required (mostly) and optional
fields found. `best_schema` returns the best match at or above `MATCH_THRESHOLD`, else None (the
caller then infers a schema); `match_table` also adapts the matched schema to the file, and
`match_header` explains a header against any schema (unknown columns with their closest field).
"""

from __future__ import annotations

import copy
import csv
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from schemas.loader import bundled_schemas, load_schema

#: Lowest score at which a schema counts as matching a header.
MATCH_THRESHOLD = 0.5
#: Lowest similarity at which a column counts as naming a field.
PAIR_THRESHOLD = 0.84
#: Fewest distinct fields a table must match (fewer when the schema itself has fewer fields).
MIN_FIELDS = 2
#: Custom field property holding the aliases of a field, per language.
ALIASES = "lodestar:aliases"

#: Filler words dropped from labels before comparing (en, de, fr, nl, es).
_STOPWORDS = frozenset(
    "of the and in for a an der die das des den dem und im am zum zur von le la les l d du de "
    "et en au aux un une het een van voor op el los las del y al por".split())
#: Lowest similarity still worth naming as the closest field of an unknown column.
_NEAR = 0.7
_EXACT, _REORDERED, _CONTAINED, _RENUMBERED, _ONE_SLIP = 1.0, 0.97, 0.86, 0.98, 0.85


@dataclass(frozen=True)
class ColumnMatch:
    """One header column and the schema field it was matched to (None: unknown column)."""

    index: int
    column: str
    field: str | None
    score: float
    via: str = ""
    closest: str | None = None
    closest_score: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out: dict[str, Any] = {"index": self.index, "column": self.column, "field": self.field,
                               "score": round(self.score, 3), "via": self.via}
        if self.field is None:
            out.update(closest=self.closest, closest_score=round(self.closest_score, 3))
        return out


@dataclass(frozen=True)
class Match:
    """How well a header fits one schema: score, column → field mapping, what is missing."""

    schema: str
    title: str
    score: float
    columns: tuple[ColumnMatch, ...]
    missing_required: tuple[str, ...]
    missing_optional: tuple[str, ...]
    fields_total: int
    matched: bool = False

    @property
    def mapping(self) -> dict[str, str]:
        """Column label → schema field name, for the matched columns."""
        return {c.column: c.field for c in self.columns if c.field is not None}

    @property
    def unknown_columns(self) -> list[ColumnMatch]:
        """Columns no schema field was matched to, each with its closest field."""
        return [c for c in self.columns if c.field is None]

    @property
    def fields_matched(self) -> int:
        """Number of distinct schema fields some column was matched to."""
        return len({c.field for c in self.columns if c.field is not None})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"schema": self.schema, "title": self.title, "score": round(self.score, 3),
                "matched": self.matched, "fields_matched": self.fields_matched,
                "fields_total": self.fields_total,
                "missing_required": list(self.missing_required),
                "missing_optional": list(self.missing_optional),
                "columns": [c.to_dict() for c in self.columns]}


# --- normalisation -------------------------------------------------------------------------


def label_tokens(label: str) -> tuple[str, ...]:
    """Words of a label: camelCase and digit runs split, accents stripped, case folded."""
    text = unicodedata.normalize("NFKC", label).strip()
    pieces: list[str] = []
    previous = ""
    for char in text:
        boundary = ((previous.islower() and char.isupper())
                    or (previous.isdigit() != char.isdigit() and previous.isalnum() and char.isalnum()))
        pieces.append(" " + char if boundary else char)
        previous = char
    decomposed = unicodedata.normalize("NFKD", "".join(pieces))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    words = "".join(c if c.isalnum() else " " for c in bare).split()
    kept = [w for w in words if w not in _STOPWORDS]
    return tuple(kept or words)


def normalise_label(label: str) -> str:
    """A label's comparable form: its words joined by single spaces."""
    return " ".join(label_tokens(label))


def _stem(norm: str) -> str:
    """A normalised label without its number words ("plan 2011" → "plan")."""
    return " ".join(t for t in norm.split() if not t.isdigit())


def _token_similarity(column: tuple[str, ...], label: tuple[str, ...]) -> float:
    """Similarity from words alone: the same words reordered, or the label's words plus a few."""
    if len(column) > 1 and sorted(column) == sorted(label):
        return _REORDERED
    extra = set(column) - set(label)
    if len("".join(label)) >= 4 and set(label) < set(column) and len(extra) <= 2:
        return _CONTAINED
    return 0.0


# --- schemas as candidates -----------------------------------------------------------------


@dataclass(frozen=True)
class _Profile:
    """A schema prepared for matching: every label of every field, indexed for quick lookup."""

    name: str
    title: str
    fields: tuple[str, ...]
    required: frozenset[str]
    by_label: dict[str, list[tuple[int, str]]]
    by_token: dict[str, set[str]]
    compacts: list[str]
    compact_labels: list[str]

    def scores(self, column: str) -> dict[int, tuple[float, str]]:
        """Field index → (best similarity, where the label came from) for one column label.

        Similarities below `PAIR_THRESHOLD` (down to `_NEAR`) are kept to name the closest field.
        """
        found: dict[int, tuple[float, str]] = {}

        def note(label: str, score: float) -> None:
            for index, via in self.by_label[label]:
                if score > found.get(index, (0.0, ""))[0]:
                    found[index] = (score, via)

        stem = _stem(column)
        for label, score in ((column, _EXACT), (stem, _RENUMBERED)):
            if label and label in self.by_label:
                note(label, score)
        compact = column.replace(" ", "")
        if found or len(compact) <= 3:
            return found
        tokens = tuple(column.split())
        for label in sorted(set().union(*(self.by_token.get(t, set()) for t in tokens))):
            score = _token_similarity(tokens, tuple(label.split()))
            if score:
                note(label, score)
        for _, ratio, index in process.extract(compact, self.compacts, scorer=fuzz.ratio,
                                               score_cutoff=_NEAR * 100, limit=None):
            if len(self.compacts[index]) > 3:
                note(self.compact_labels[index], ratio / 100)
        if len(compact) >= 5:  # one slip (a swap, a missing letter) in a short word
            for _, _, index in process.extract(compact, self.compacts, scorer=OSA.distance,
                                               score_cutoff=1, limit=None):
                if len(self.compacts[index]) >= 5:
                    note(self.compact_labels[index], _ONE_SLIP)
        return found


def _profile(name: str, descriptor: dict[str, Any]) -> _Profile:
    """Prepare a schema descriptor for matching."""
    fields: list[str] = []
    required = set()
    by_label: dict[str, list[tuple[int, str]]] = {}
    for index, spec in enumerate(descriptor.get("fields", [])):
        fname = str(spec.get("name", ""))
        fields.append(fname)
        labels: list[tuple[str, str]] = [(fname, "name")]
        if spec.get("title"):
            labels.append((str(spec["title"]), "title"))
        aliases = spec.get(ALIASES) or {}
        if isinstance(aliases, dict):
            for language, words in aliases.items():
                if isinstance(words, list):
                    labels += [(str(w), str(language)) for w in words]
        for text, via in labels:
            norm = normalise_label(text)
            if norm and all(i != index for i, _ in by_label.get(norm, [])):
                by_label.setdefault(norm, []).append((index, via))
        if (spec.get("constraints") or {}).get("required") is True:
            required.add(fname)
    by_token: dict[str, set[str]] = {}
    for norm in by_label:
        for token in norm.split():
            by_token.setdefault(token, set()).add(norm)
    labels_in_order = sorted(by_label)
    title = str(descriptor.get("title") or name)
    return _Profile(name, title, tuple(fields), frozenset(required), by_label, by_token,
                    [n.replace(" ", "") for n in labels_in_order], labels_in_order)


@lru_cache(maxsize=1)
def _bundled_profiles() -> tuple[_Profile, ...]:
    return tuple(_profile(name, load_schema(name)) for name in bundled_schemas())


# --- matching ------------------------------------------------------------------------------


def match_header(header: Sequence[str], schema: str | Path | dict[str, Any], *,
                 name: str | None = None) -> Match:
    """How a header fits one schema (a bundled name, a file, or a descriptor dict)."""
    if isinstance(schema, str) and schema in bundled_schemas():
        profile = next(p for p in _bundled_profiles() if p.name == schema)
    else:
        descriptor = load_schema(schema)
        profile = _profile(name or str(descriptor.get("name") or "schema"), descriptor)
    return _match(header, profile)


def match_schemas(header: Sequence[str]) -> list[Match]:
    """Every bundled schema's fit to a header, best first."""
    matches = [_match(header, profile) for profile in _bundled_profiles()]
    return sorted(matches, key=lambda m: (-m.score, m.schema))


def best_schema(header: Sequence[str]) -> Match | None:
    """The best-fitting bundled schema for a header, or None when none reaches the threshold."""
    candidates = match_schemas(header)
    return candidates[0] if candidates and candidates[0].matched else None


def _match(header: Sequence[str], profile: _Profile) -> Match:
    """Score one prepared schema against a header."""
    norms = [normalise_label(str(label)) for label in header]
    pairs: list[tuple[float, int, int, str]] = []
    closest: dict[int, tuple[float, str]] = {}
    for ci, norm in enumerate(norms):
        for fi, (score, via) in profile.scores(norm).items():
            if score > closest.get(ci, (0.0, ""))[0]:
                closest[ci] = (score, profile.fields[fi])
            if score >= PAIR_THRESHOLD:
                pairs.append((score, ci, fi, via))
    assigned: dict[int, tuple[str, float, str]] = {}
    taker: dict[int, int] = {}
    for score, ci, fi, via in sorted(pairs, key=lambda p: (-p[0], p[1], p[2])):
        if ci in assigned:
            continue
        if fi not in taker:
            assigned[ci] = (profile.fields[fi], score, via)
            taker[fi] = ci
        elif _renumbered(norms[ci], norms[taker[fi]]) and assigned[taker[fi]][1] >= _RENUMBERED:
            assigned[ci] = (profile.fields[fi], assigned[taker[fi]][1], "repeat")

    results = []
    for ci, label in enumerate(header):
        if ci in assigned:
            fname, score, via = assigned[ci]
            results.append(ColumnMatch(ci, str(label), fname, score, via))
        else:
            near_score, near = closest.get(ci, (0.0, None))
            results.append(ColumnMatch(ci, str(label), None, 0.0, "", near, near_score))
    return _scored(profile, tuple(results), sum(1 for n in norms if n))


def _renumbered(a: str, b: str) -> bool:
    """Whether two labels differ only by their numbers ("PIN1" and "PIN10", "Plan 2011"/"2012")."""
    return a != b and _stem(a) == _stem(b) != "" and _stem(a) != a


def _scored(profile: _Profile, columns: tuple[ColumnMatch, ...], width: int) -> Match:
    """Combine column coverage and field coverage into one score."""
    found: dict[str, float] = {}
    known = 0
    for column in columns:
        if column.field is not None:
            known += 1
            found[column.field] = max(found.get(column.field, 0.0), column.score)
    optional = [f for f in profile.fields if f not in profile.required]
    required_cover = (sum(found.get(f, 0.0) for f in profile.required) / len(profile.required)
                      if profile.required else None)
    optional_cover = (sum(found.get(f, 0.0) for f in optional) / len(optional)
                      if optional else None)
    if required_cover is None:
        field_cover = optional_cover or 0.0
    elif optional_cover is None:
        field_cover = required_cover
    else:
        field_cover = 0.7 * required_cover + 0.3 * optional_cover
    table_cover = known / width if width else 0.0
    score = 0.5 * table_cover + 0.5 * field_cover
    enough = len(found) >= min(MIN_FIELDS, len(profile.fields))
    return Match(profile.name, profile.title, score, columns,
                 tuple(f for f in profile.fields if f in profile.required and f not in found),
                 tuple(f for f in optional if f not in found), len(profile.fields),
                 matched=enough and score >= MATCH_THRESHOLD)


# --- using a match -------------------------------------------------------------------------


def adapt_schema(descriptor: dict[str, Any], match: Match, *,
                 decimal_comma: bool = False) -> dict[str, Any]:
    """The schema to validate the matched table with: fields renamed to its labels, in its order.

    Unknown columns become ``any`` fields; schema fields the table lacks are left out (they are
    in ``match.missing_required``, for the report to name once). With ``decimal_comma`` (files
    written in a German, French, Dutch or Spanish locale), numbers read ``1.234,5``.
    """
    by_name = {f.get("name"): f for f in descriptor.get("fields", [])}
    fields: list[dict[str, Any]] = []
    for column in match.columns:
        label = column.column.strip() or f"field{column.index + 1}"
        if column.field is None or column.field not in by_name:
            fields.append({"name": label, "type": "any"})
            continue
        spec = copy.deepcopy(by_name[column.field])
        spec.pop(ALIASES, None)
        spec["name"] = label
        if decimal_comma and spec.get("type") == "number" and "decimalChar" not in spec:
            spec["decimalChar"], spec["groupChar"] = ",", "."
        fields.append(spec)
    adapted = {k: copy.deepcopy(v) for k, v in descriptor.items()
               if k not in ("fields", "primaryKey", "foreignKeys")}
    adapted["fields"] = fields
    renamed = {c.field: c.column.strip() for c in reversed(match.columns) if c.field}
    key = descriptor.get("primaryKey")
    key_fields = [key] if isinstance(key, str) else list(key or [])
    if key_fields and all(k in renamed for k in key_fields):
        adapted["primaryKey"] = [renamed[k] for k in key_fields]
    return adapted


def read_header(path: str | Path) -> list[str]:
    """The header labels of a CSV file, found as validation finds them (encoding, delimiter, row).

    Only the start of the file is parsed; labels are stripped of surrounding spaces.
    """
    return _sniff_header(path)[0]


def match_table(path: str | Path) -> tuple[Match, dict[str, Any]] | None:
    """The best bundled schema for a CSV file with no declared schema, adapted to validate it.

    Returns the match and the descriptor from `adapt_schema` (numbers read with a decimal comma
    when the file is semicolon-delimited, as spreadsheets in de/fr/nl/es locales write them), or
    None when no bundled schema fits and the caller should infer one.
    """
    header, delimiter = _sniff_header(path)
    match = best_schema(header)
    if match is None:
        return None
    return match, adapt_schema(load_schema(match.schema), match, decimal_comma=delimiter == ";")


def _sniff_header(path: str | Path) -> tuple[list[str], str]:
    """Header labels and delimiter of a CSV file, detected by the validation step's sniffing."""
    from schemas.validation import describe_table

    table = describe_table(path, {"fields": []})
    with open(table.path, encoding=table.encoding, newline="") as fh:
        rows = csv.reader(fh, **table.csv_options())
        for _ in range(table.header_row - 1):
            next(rows, None)
        header = next(rows, [])
    return [label.strip() for label in header], table.delimiter


def shown_candidates(matches: Iterable[Match], limit: int = 5) -> list[Match]:
    """The candidates worth showing: the matching ones, or else the few closest."""
    ordered = list(matches)
    shown = [m for m in ordered if m.matched]
    return shown or [m for m in ordered if m.score > 0][:limit]
