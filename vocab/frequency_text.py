"""Frequencies written in words: a tokeniser and a small grammar run over one language's lexicon.

`tokens` turns text into words and numbers: NFKC, case-folded, accents stripped, words joined
across a hyphen (``"Bi-weekly"`` → ``("biweekly",)``), letters and digits split
(``"14-tägig"`` → ``("14", "tagig")``, ``"3x"`` → ``("3", "x")``). Commas, full stops, brackets and
quotes separate tokens; ``/``, ``?`` and any other sign stay as tokens of their own, so that no
grammar accounts for them. `read_words` parses the tokens with each `Lexicon`
(`vocab.frequency_words`); every token must be accounted for, or that language has no reading:

    sentence := (heading | frame)? core frame? tail?
    tail     := qualifier                 once a day or more often: "täglich (werktags)"
              | or-more per unit          core is once per that unit: "Quotidienne ou plusieurs fois par jour"
    core     := word                      "monthly", "mensuelle", "as needed", "zweiwöchentlich"
              | digits base               languages with numeric prefixes: "14-tägig", "2-jaarlijks"
              | once? every (number | ordinal)? unit     "every 2 weeks", "tous les 3 mois", "jede zweite Woche"
              | multiple per unit         "3x per year", "deux fois par an", "zweimal im Jahr"
              | multiple word             "twice weekly", "zweimal jährlich" (word: once per unit)
              | per unit                  "per month", "pro Tag"
              | number? unit              "quinze jours", "7 days"
    multiple := multiple-word | number times             "twice", "zweimal", "3 x", "dos veces"

A sentence that parses more than one way takes the parse that strips least: a whole set phrase
wins over a frame and what is left. A continuous core with an update frame is "continuously
updated" (UPDATE_CONT), as the EU table has it ("ständige Aktualisierung", "mise à jour continuelle").
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Union

Phrase = tuple[str, ...]
"""A run of tokens, as `tokens` gives them."""

DIGITS = frozenset("0123456789")
_SEPARATORS = frozenset(",.;:()[]{}!\"'«»“”‘’„_") | {"\u00a0"}
_BIGGEST = Fraction(10**6)  # no count beyond a million: keeps every period in timedelta's range
_DAILY_OR_FINER = "daily or finer"  # what a qualifier ("werktags") asks of the core


@dataclass(frozen=True)
class Span:
    """A period said in words: ``amount`` of ``unit`` (minute, hour, day, week, month or year)."""

    unit: str
    amount: Fraction

    def scaled(self, factor: Fraction) -> Span:
        """This span ``factor`` times over (``1/3`` of a year for "three times a year")."""
        return Span(self.unit, self.amount * factor)


Said = Union[str, Span]
"""What words say: an EU frequency code (``"IRREG"``) or a span."""


@dataclass(frozen=True)
class Lexicon:
    """One language's words for frequencies, each a token phrase (case-folded, accents stripped)."""

    language: str
    words: Mapping[Phrase, Said]  # adjectives, adverbs, set phrases: "monthly", "as needed"
    bases: Mapping[str, Span]  # words a number may precede (numeric_prefix languages): "tagig"
    units: Mapping[Phrase, Span]  # "weeks", "quinze jours"
    numbers: Mapping[str, Fraction]  # "two", "zwei", "half"
    ordinals: Mapping[str, int]  # "other", "zweiten"
    multiples: Mapping[str, int]  # "twice", "zweimal"
    times: frozenset[str]  # "times", "mal", "fois"
    every: frozenset[Phrase]  # "every", "tous les"
    per: frozenset[Phrase]  # "a", "per", "par", "al"
    frames: frozenset[Phrase]  # update words, before or after the core: "updated", "mise a jour"
    headings: frozenset[Phrase]  # before the core only: "frequency", "update frequentie", "wird"
    qualifiers: frozenset[Phrase]  # "werktags", "on weekdays"
    or_more: frozenset[Phrase]  # "ou plusieurs fois"
    numeric_prefix: bool = False


def _fold(text: str) -> str:
    """NFKC, case-folded, without combining marks (accents)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    decomposed = unicodedata.normalize("NFD", folded)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def tokens(text: str) -> Phrase:
    """The words, numbers and signs of ``text``, folded (see the module docstring)."""
    s = _fold(text)
    out: list[str] = []
    current = ""
    for i, c in enumerate(s):
        before = s[i - 1] if i else ""
        after = s[i + 1] if i + 1 < len(s) else ""
        if c.isalpha() or c in DIGITS:
            if current and current[-1].isalpha() != c.isalpha():  # "3x", "12hrs": a number, then a word
                out.append(current)
                current = ""
            current += c
        elif c in ".," and before in DIGITS and after in DIGITS and current:
            current += "."
        elif c == "-" and before.isalpha() and after.isalpha():
            continue  # "bi-weekly", "semi-annually", "real-time"
        else:
            if current:
                out.append(current)
                current = ""
            splits = c == "-" and before.isalnum() and after.isalnum() and not (before in DIGITS and after in DIGITS)
            if not (c.isspace() or c in _SEPARATORS or splits):  # "14-tägig" splits; "2-3", "-5" keep the sign
                out.append(c)
    if current:
        out.append(current)
    return tuple(out)


def _number(token: str, lexicon: Lexicon) -> Fraction | None:
    """A positive count written in digits or as one of the lexicon's number words."""
    if token[0] in DIGITS:
        try:
            value = Fraction(token)
        except ValueError:  # "1.5.3"
            return None
    else:
        found = lexicon.numbers.get(token)
        if found is None:
            return None
        value = found
    return value if 0 < value <= _BIGGEST else None


def _ends(t: Phrase, start: int, phrases: Iterable[Phrase]) -> list[int]:
    """Where each of ``phrases`` that occurs in ``t`` at ``start`` ends."""
    return [start + len(p) for p in phrases if p and t[start:start + len(p)] == p]


def _multiples(t: Phrase, lexicon: Lexicon) -> Iterator[tuple[Fraction, int]]:
    """Counts of times at the start of ``t`` ("twice", "3 x", "dos veces"), with where they end."""
    if not t:
        return
    if t[0] in lexicon.multiples:
        yield Fraction(lexicon.multiples[t[0]]), 1
    count = _number(t[0], lexicon)
    if count is not None and len(t) > 1 and t[1] in lexicon.times:
        yield count, 2


def _per_unit(t: Phrase, start: int, lexicon: Lexicon) -> Iterator[Span]:
    """``per unit`` from ``start`` to the end of ``t``."""
    for end in _ends(t, start, lexicon.per | {("/",)}):
        unit = lexicon.units.get(t[end:])
        if unit is not None:
            yield unit


def _count(token: str, lexicon: Lexicon) -> Fraction | None:
    """A count after "every": a number or an ordinal ("every 2 weeks", "every other week")."""
    ordinal = lexicon.ordinals.get(token)
    return Fraction(ordinal) if ordinal is not None else _number(token, lexicon)


def _every(t: Phrase, lexicon: Lexicon) -> Iterator[Span]:
    """``once? every (number | ordinal)? unit``."""
    starts = [0] + [end for count, end in _multiples(t, lexicon) if count == 1]
    for start in starts:
        for end in _ends(t, start, lexicon.every):
            unit = lexicon.units.get(t[end:])
            if unit is not None:
                yield unit
            count = _count(t[end], lexicon) if end < len(t) else None
            unit = lexicon.units.get(t[end + 1:])
            if count is not None and unit is not None:
                yield unit.scaled(count)


def _times(t: Phrase, lexicon: Lexicon) -> Iterator[Span]:
    """``multiple per unit`` and ``multiple word`` (the word once per unit: "weekly", not "biweekly")."""
    for count, end in _multiples(t, lexicon):
        for unit in _per_unit(t, end, lexicon):
            yield unit.scaled(1 / count)
        word = lexicon.words.get(t[end:])
        if isinstance(word, Span) and word.amount == 1:
            yield word.scaled(1 / count)


def _cores(t: Phrase, lexicon: Lexicon) -> Iterator[Said]:
    """Every reading of ``t`` as a core (see the grammar in the module docstring)."""
    if not t:
        return
    if t in lexicon.words:
        yield lexicon.words[t]
    count = _number(t[0], lexicon)
    if lexicon.numeric_prefix and len(t) == 2 and t[1] in lexicon.bases and t[0].isdigit():
        yield lexicon.bases[t[1]].scaled(Fraction(int(t[0])))  # "14-tägig"; in words it is one word
    yield from _every(t, lexicon)
    yield from _times(t, lexicon)
    yield from _per_unit(t, 0, lexicon)
    if t in lexicon.units:
        yield lexicon.units[t]
    if count is not None and t[1:] in lexicon.units:
        yield lexicon.units[t[1:]].scaled(count)


def _daily_or_finer(said: Said) -> bool:
    """True for a span of at most one day."""
    if not isinstance(said, Span):
        return False
    return said.unit in ("minute", "hour") or (said.unit == "day" and said.amount <= 1)


def _tails(t: Phrase, lexicon: Lexicon) -> Iterator[tuple[Phrase, Span | str | None]]:
    """``t`` without a tail, then without each tail it ends in, with what the tail asks of the core."""
    yield t, None
    for qualifier in lexicon.qualifiers:
        if len(t) > len(qualifier) and t[-len(qualifier):] == qualifier:
            yield t[:-len(qualifier)], _DAILY_OR_FINER
    for phrase in lexicon.or_more:
        for start in range(1, len(t) - len(phrase)):
            if t[start:start + len(phrase)] == phrase:
                for unit in _per_unit(t, start + len(phrase), lexicon):
                    yield t[:start], unit


def _unframed(t: Phrase, lexicon: Lexicon) -> Iterator[tuple[Phrase, bool]]:
    """``t``, then ``t`` without a leading heading or frame, a trailing frame, or both; True where a frame went."""
    yield t, False
    heads = [(len(f), True) for f in lexicon.frames if t[:len(f)] == f]
    heads += [(len(h), False) for h in lexicon.headings if t[:len(h)] == h]
    tails = [len(f) for f in lexicon.frames if t[-len(f):] == f]
    for head, framed in heads:
        yield t[head:], framed
    for tail in tails:
        yield t[:-tail], True
    for head, _ in heads:
        for tail in tails:
            if head + tail < len(t):
                yield t[head:-tail], True


def read_sentence(t: Phrase, lexicon: Lexicon) -> Said | None:
    """What ``t`` says in ``lexicon``'s language, or None if the grammar cannot account for every token."""
    for body, asked in _tails(t, lexicon):
        for core, framed in _unframed(body, lexicon):
            for said in _cores(core, lexicon):
                if asked is None or said == asked or (asked == _DAILY_OR_FINER and _daily_or_finer(said)):
                    return "UPDATE_CONT" if framed and said == "CONT" else said
    return None


def read_words(t: Phrase, lexicons: Iterable[Lexicon]) -> list[tuple[str, Said]]:
    """Each language that can read ``t``, with what it says there."""
    found = []
    for lexicon in lexicons:
        said = read_sentence(t, lexicon)
        if said is not None:
            found.append((lexicon.language, said))
    return found


__all__ = ["DIGITS", "Lexicon", "Phrase", "Said", "Span", "read_sentence", "read_words", "tokens"]
