"""Linkers: turn table cell values into the IRIs of shared reference concepts, never by guessing.

A `Linker` is built once per scheme (or per group of schemes) and answers with dictionary lookups:

1. an exact code match: the value is a notation of a concept in one of its code systems
   (trimmed, case-folded; numeric systems ignore leading zeros, so `05` is ward 5);
2. a normalised label match: case-folded, accents and apostrophes dropped, `&` read as "and",
   runs of spaces and punctuation collapsed — first on the whole label, then with the scheme's
   affixes ("Ward", "Stadtbezirk", "City Council" …) taken off both sides;
3. a code after the affixes are taken off ("Ward 05", "Bezirk 1").

A value that matches two concepts at the same step is reported as ambiguous with its candidates,
never guessed; nothing fuzzy is ever tried. Results are cached per distinct value, so a column of
a million cells with few distinct values costs a million dictionary lookups. `LinkStats` counts
one column's results and says what did not link.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from vocab.reference.tables import Scheme, code_systems, scheme
from vocab.uris import UriScheme

#: How a value linked: by code, by label, to several concepts, to none, or not at all (a blank cell).
How = Literal["code", "label", "ambiguous", "none", "empty"]

#: How many distinct values a linker remembers; past that it still answers, without caching.
CACHE_SIZE = 100_000

# Letters NFKD does not decompose, folded by hand; apostrophes vanish ("Bishop's" = "Bishops").
_FOLD = str.maketrans({"ß": "ss", "ẞ": "ss", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe",
                       "ø": "o", "Ø": "o", "đ": "d", "Đ": "d", "ł": "l", "Ł": "l", "ı": "i",
                       "'": None, "’": None, "‘": None, "ʼ": None, "`": None, "´": None,
                       "&": " and "})


def tokens(text: str) -> tuple[str, ...]:
    """The words of `text` for label matching: folded, unaccented, split on all but letters and digits."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD).casefold())
    words: list[str] = []
    current: list[str] = []
    for char in decomposed:
        if char.isalnum():
            current.append(char)
        elif unicodedata.combining(char):
            continue
        elif current:
            words.append("".join(current))
            current = []
    if current:
        words.append("".join(current))
    return tuple(words)


def strip_affixes(words: tuple[str, ...], affixes: Sequence[tuple[str, ...]]) -> tuple[str, ...]:
    """`words` without any leading or trailing affix (longest first), repeatedly; never emptied."""
    changed = True
    while changed:
        changed = False
        for affix in affixes:
            size = len(affix)
            if len(words) > size and words[:size] == affix:
                words, changed = words[size:], True
            elif len(words) > size and words[-size:] == affix:
                words, changed = words[:-size], True
    return words


@dataclass(frozen=True, slots=True)
class LinkResult:
    """What one value linked to: the IRI (or None), how it matched, and the candidate IRIs."""

    iri: str | None
    how: How
    candidates: tuple[str, ...] = ()


_EMPTY = LinkResult(None, "empty")
_NONE = LinkResult(None, "none")


class _Index:
    """Key → concept IRIs; a key naming two concepts keeps both, so lookups can report ambiguity."""

    def __init__(self) -> None:
        self.entries: dict[str, list[str]] = {}

    def add(self, key: str, iri: str) -> None:
        if not key:
            return
        found = self.entries.setdefault(key, [])
        if iri not in found:
            found.append(iri)

    def result(self, key: str, how: How) -> LinkResult | None:
        found = self.entries.get(key)
        if not found:
            return None
        if len(found) == 1:
            return LinkResult(found[0], how, (found[0],))
        return LinkResult(None, "ambiguous", tuple(sorted(found)))


class Linker:
    """Links cell values to the concepts of one or more reference schemes: code first, then label."""

    def __init__(self, schemes: Scheme | Iterable[Scheme], uris: UriScheme) -> None:
        self.schemes = (schemes,) if isinstance(schemes, Scheme) else tuple(schemes)
        if not self.schemes:
            raise ValueError("a linker needs at least one reference scheme")
        self.title = " / ".join(s.title() for s in self.schemes)
        systems = code_systems()
        self._numeric = any(systems[name].numeric for s in self.schemes for c in s.concepts.values()
                            for name, _ in s.notations(c))
        self._affixes = sorted({tokens(a) for s in self.schemes for a in s.affixes}, key=len, reverse=True)
        self._codes, self._labels, self._stripped = _Index(), _Index(), _Index()
        self.labels: dict[str, str] = {}
        for ref in self.schemes:
            affixes = sorted({tokens(a) for a in ref.affixes}, key=len, reverse=True)
            for concept in ref.concepts.values():
                iri = uris.reference(ref.name, concept.code)
                self.labels[iri] = concept.label()
                for system, code in ref.notations(concept):
                    self._codes.add(systems[system].key(code), iri)
                for label in concept.labels():
                    words = tokens(label)
                    self._labels.add(" ".join(words), iri)
                    self._stripped.add(" ".join(strip_affixes(words, affixes)), iri)
        self._cache: dict[str, LinkResult] = {}

    def _code(self, text: str) -> LinkResult | None:
        text = text.strip().casefold()
        keys = {text}
        if self._numeric and text.isascii() and text.isdigit():
            keys.add(str(int(text)))
        results = [r for r in (self._codes.result(k, "code") for k in keys) if r is not None]
        if len(results) <= 1:
            return results[0] if results else None
        candidates = tuple(sorted({c for r in results for c in r.candidates}))
        return results[0] if len(candidates) == 1 else LinkResult(None, "ambiguous", candidates)

    def _find(self, value: str) -> LinkResult:
        if not value.strip():
            return _EMPTY
        found = self._code(value)
        if found:
            return found
        words = tokens(value)
        found = self._labels.result(" ".join(words), "label")
        if found:
            return found
        stripped = strip_affixes(words, self._affixes)
        found = self._stripped.result(" ".join(stripped), "label")
        if found:
            return found
        if stripped != words and len(stripped) == 1:
            found = self._code(stripped[0])
        return found or _NONE

    def link(self, value: str | None) -> LinkResult:
        """The concept `value` stands for, by code or by label; ambiguous and unmatched values have no IRI."""
        if value is None:
            return _EMPTY
        cached = self._cache.get(value)
        if cached is not None:
            return cached
        result = self._find(value)
        if len(self._cache) < CACHE_SIZE:
            self._cache[value] = result
        return result

    def link_all(self, values: Iterable[str | None], stats: LinkStats | None = None) -> Iterator[str | None]:
        """The IRI (or None) of every value in turn; with `stats`, every value is counted into it.

        Counts are kept per distinct value and folded into `stats` when the values run out (or the
        iteration is closed), and every `CACHE_SIZE` distinct values, so memory stays bounded.
        """
        link = self.link
        if stats is None:
            for value in values:
                yield link(value).iri
            return
        seen: dict[str | None, list[Any]] = {}  # value → [cells, result]
        try:
            for value in values:
                entry = seen.get(value)
                if entry is None:
                    if len(seen) >= CACHE_SIZE:
                        self._fold(seen, stats)
                    entry = seen[value] = [0, link(value)]
                entry[0] += 1
                yield entry[1].iri
        finally:
            self._fold(seen, stats)

    @staticmethod
    def _fold(seen: dict[str | None, list[Any]], stats: LinkStats) -> None:
        for value, (count, result) in seen.items():
            stats.add(value, result, count)
        seen.clear()

    def stats(self, column: str, *, keep: int = 10) -> LinkStats:
        """A fresh counter for one column linked by this linker."""
        return LinkStats(column, self.title, keep=keep, labels=self.labels)


@cache
def linker(uris: UriScheme, *names: str) -> Linker:
    """The linker for the reference schemes `names` under `uris`, built once per process and reused."""
    return Linker([scheme(name) for name in names], uris)


@dataclass
class LinkStats:
    """Counts of one column's link results, with the first `keep` distinct unmatched and ambiguous values."""

    column: str
    register: str
    keep: int = 10
    labels: dict[str, str] = field(default_factory=dict, repr=False)
    by_code: int = 0
    by_label: int = 0
    ambiguous: int = 0
    unmatched: int = 0
    empty: int = 0
    unmatched_values: dict[str, int] = field(default_factory=dict)
    ambiguous_values: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def add(self, value: str | None, result: LinkResult, count: int = 1) -> None:
        """Count `count` cells holding `value`, which linked as `result`."""
        how = result.how
        if how == "code":
            self.by_code += count
        elif how == "label":
            self.by_label += count
        elif how == "empty":
            self.empty += count
        elif how == "ambiguous":
            self.ambiguous += count
            text = value or ""
            if text in self.ambiguous_values or len(self.ambiguous_values) < self.keep:
                self.ambiguous_values[text] = result.candidates
        else:
            self.unmatched += count
            text = value or ""
            if text in self.unmatched_values:
                self.unmatched_values[text] += count
            elif len(self.unmatched_values) < self.keep:
                self.unmatched_values[text] = count

    @property
    def linked(self) -> int:
        """Values that link to exactly one concept."""
        return self.by_code + self.by_label

    @property
    def total(self) -> int:
        """Values that are not empty."""
        return self.linked + self.ambiguous + self.unmatched

    def message(self) -> str:
        """One sentence for the data officer: how many values link, and which do not."""
        text = f"{self.linked:,} of {self.total:,} `{self.column}` values link to {self.register}"
        if self.unmatched:
            shown = ", ".join(f"“{v}” ({n:,})" if n > 1 else f"“{v}”"
                              for v, n in self.unmatched_values.items())
            more = ", …" if self.unmatched > sum(self.unmatched_values.values()) else ""
            verb = "does" if self.unmatched == 1 else "do"
            text += f"; {self.unmatched:,} {verb} not match: {shown}{more}"
        if self.ambiguous:
            shown = ", ".join(f"“{v}” ({' or '.join(self.labels.get(c, c) for c in cands)})"
                              for v, cands in self.ambiguous_values.items())
            verb = "is" if self.ambiguous == 1 else "are"
            text += f"; {self.ambiguous:,} {verb} ambiguous: {shown}"
        return text + "."

    def as_dict(self) -> dict[str, Any]:
        """The counts as plain JSON-ready data (for a dataset's JSON and its DCAT record)."""
        return {
            "column": self.column, "register": self.register, "total": self.total,
            "linked": self.linked, "by_code": self.by_code, "by_label": self.by_label,
            "ambiguous": self.ambiguous, "unmatched": self.unmatched, "empty": self.empty,
            "unmatched_values": dict(self.unmatched_values),
            "ambiguous_values": {v: list(c) for v, c in self.ambiguous_values.items()},
        }


__all__ = ["CACHE_SIZE", "How", "LinkResult", "LinkStats", "Linker", "linker", "strip_affixes", "tokens"]
