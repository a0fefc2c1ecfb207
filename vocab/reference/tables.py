"""The shared reference tables (countries, currencies, municipalities, districts), read from CSV.

`schemes.csv` lists the schemes and `code-systems.csv` the official code systems. Each scheme has
one CSV file named after it, one concept a row. Its columns are:

    code            the concept's key in its IRI, `{base}/id/ref/{scheme}/{code}`;
                    also a notation in the scheme's code system, when it has one
    pref@{lang}     the preferred label in a language (at most one per language)
    alt@{lang}      variant spellings in a language, separated by `|`
    notation:{sys}  the concept's code in another code system
    broader         `{scheme}:{code}` of the concept it is part of (a ward's municipality …)
    wikidata        the Wikidata item (`Q…`) the concept is the same as

PROVENANCE.md says where every fact comes from. `scheme(name)` reads one table once and keeps it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType

HERE = Path(__file__).resolve().parent
WIKIDATA = "http://www.wikidata.org/entity/"


@dataclass(frozen=True)
class CodeSystem:
    """An official code system (ISO 3166-1, ONS GSS, AGS …): how its codes compare."""

    name: str
    label: str
    numeric: bool

    def key(self, code: str) -> str:
        """The comparison key of a code: trimmed, case-folded, and without leading zeros if numeric."""
        text = code.strip().casefold()
        if self.numeric and text.isascii() and text.isdigit():
            return str(int(text))
        return text


@dataclass(frozen=True)
class Concept:
    """One concept of a reference scheme: key, labels by language, codes by system, parent, Wikidata item."""

    code: str
    pref_labels: Mapping[str, str]
    alt_labels: Mapping[str, tuple[str, ...]]
    notations: Mapping[str, str]
    broader: tuple[str, str] | None = None
    wikidata: str | None = None

    def labels(self) -> Iterator[str]:
        """Every label, preferred first, in every language, without repeats."""
        yield from dict.fromkeys([*self.pref_labels.values(),
                                  *(a for alts in self.alt_labels.values() for a in alts)])

    def label(self, lang: str = "en") -> str:
        """The preferred label in `lang`, else in any language, else the code."""
        return self.pref_labels.get(lang) or next(iter(self.pref_labels.values()), self.code)

    def wikidata_iri(self) -> str | None:
        """The Wikidata entity IRI of the concept, if known."""
        return WIKIDATA + self.wikidata if self.wikidata else None


@dataclass(frozen=True)
class Scheme:
    """One reference scheme: titles, its code system, label affixes to ignore, and its concepts by code."""

    name: str
    titles: Mapping[str, str]
    definition: str
    code_system: str | None
    affixes: tuple[str, ...]
    concepts: Mapping[str, Concept]

    def title(self, lang: str = "en") -> str:
        """The scheme's title in `lang`, else English, else its name."""
        return self.titles.get(lang) or self.titles.get("en") or self.name

    def notations(self, concept: Concept) -> Iterator[tuple[str, str]]:
        """(code system, code) pairs of a concept, the scheme's own code system first."""
        if self.code_system:
            yield self.code_system, concept.code
        yield from concept.notations.items()


def _read(name: str) -> Iterator[dict[str, str]]:
    with (HERE / name).open(encoding="utf-8", newline="") as source:
        for row in csv.DictReader(source):
            yield {key: (value or "").strip() for key, value in row.items()}


def _by_language(row: Mapping[str, str], prefix: str) -> dict[str, str]:
    return {column[len(prefix):]: value for column, value in row.items()
            if column.startswith(prefix) and value}


def _concept(row: Mapping[str, str]) -> Concept:
    alts = {lang: tuple(a.strip() for a in text.split("|") if a.strip())
            for lang, text in _by_language(row, "alt@").items()}
    broader = None
    if row.get("broader"):
        scheme_name, _, code = row["broader"].partition(":")
        broader = (scheme_name, code)
    return Concept(
        code=row["code"],
        pref_labels=MappingProxyType(_by_language(row, "pref@")),
        alt_labels=MappingProxyType(alts),
        notations=MappingProxyType(_by_language(row, "notation:")),
        broader=broader,
        wikidata=row.get("wikidata") or None,
    )


@cache
def code_systems() -> Mapping[str, CodeSystem]:
    """Every code system the tables use, by name."""
    systems = {row["system"]: CodeSystem(row["system"], row["label@en"], row["numeric"] == "yes")
               for row in _read("code-systems.csv")}
    return MappingProxyType(systems)


@cache
def _definitions() -> Mapping[str, Mapping[str, str]]:
    return MappingProxyType({row["scheme"]: row for row in _read("schemes.csv")})


def scheme_names() -> tuple[str, ...]:
    """The names of all reference schemes, in the order of `schemes.csv`."""
    return tuple(_definitions())


@cache
def scheme(name: str) -> Scheme:
    """The reference scheme `name` (see `scheme_names()`), read once."""
    definitions = _definitions()
    if name not in definitions:
        raise KeyError(f"unknown reference scheme {name!r}; known: {', '.join(definitions)}")
    row = definitions[name]
    concepts: dict[str, Concept] = {}
    for concept_row in _read(f"{name}.csv"):
        concept = _concept(concept_row)
        if concept.code in concepts:
            raise ValueError(f"reference scheme {name!r} lists code {concept.code!r} twice")
        concepts[concept.code] = concept
    affixes = tuple(a.strip() for a in row["affixes"].split("|") if a.strip())
    return Scheme(
        name=name,
        titles=MappingProxyType(_by_language(row, "title@")),
        definition=row.get("definition@en", ""),
        code_system=row["code_system"] or None,
        affixes=affixes,
        concepts=MappingProxyType(concepts),
    )


__all__ = ["WIKIDATA", "CodeSystem", "Concept", "Scheme", "code_systems", "scheme", "scheme_names"]
