"""Declared update frequencies, read into EU frequency concepts and expected periods.

`read_frequency` is the one reader of what publishers write in `dct:accrualPeriodicity`, CKAN
extras or udata's ``frequency``: EU authority and Dublin Core Collection frequency IRIs, EU codes,
Dublin Core and udata ids, ISO 8601 durations and repeating intervals, HDX day counts, the EU
table's labels in every EU language, and free text in English, German, French, Dutch and Spanish
(`vocab.frequency_text`). It gives a `FrequencyReading`: the `Frequency` (an EU concept with the
period between updates that `portal.freshness` expects, or an exemption), or why there is none.
Nothing is guessed: text the grammar cannot account for word by word is "unreadable".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction
from functools import cache, lru_cache
from types import MappingProxyType
from typing import Literal

import isodate

from vocab.authority import table
from vocab.frequency_text import Phrase, Said, Span, read_words, tokens
from vocab.frequency_words import lexicons

EU_FREQUENCY_BASE = "http://publications.europa.eu/resource/authority/frequency/"
CLD_FREQUENCY_BASE = "http://purl.org/cld/freq/"
CUSTOM = "CUSTOM"

_MINUTE = timedelta(minutes=1)
_HOUR = timedelta(hours=1)
_DAY = timedelta(days=1)
_WEEK = timedelta(days=7)
_MONTH = timedelta(days=30)  # a month counts as 30 days, as in HDX's "every month" (30)
_YEAR = timedelta(days=365)  # a year counts as 365 days, as in HDX's "every year" (365)


@dataclass(frozen=True)
class Frequency:
    """An expected update frequency: EU concept code, URI, English label, period, exemption.

    ``period`` is the expected time between content changes. ``exempt`` frequencies are never
    judged stale: never, irregular, as needed, not planned, and — following HDX, which treats
    "Live" as always fresh — continuous / continuously updated (CONT, UPDATE_CONT). UNKNOWN, OTHER
    and OP_DATPRO have neither a period nor an exemption: the publisher promised a schedule we
    cannot read, so freshness is "unknown" rather than "exempt". Durations that match no EU
    concept get key ``"CUSTOM"`` and an empty ``uri``.
    """

    key: str
    uri: str
    label: str
    period: timedelta | None
    exempt: bool = False


def _eu(code: str, label: str, period: timedelta | None, exempt: bool = False) -> Frequency:
    """One concept of the EU frequency authority table."""
    return Frequency(code, EU_FREQUENCY_BASE + code, label, period, exempt)


# EU Publications Office "Frequency" authority table (named authority list),
# http://publications.europa.eu/resource/authority/frequency. Codes and English skos:prefLabels of
# the first block are copied from the 2016 release (owl:versionInfo 20161225-1, 23 concepts), as
# kept in SEMICeu/dcat-ap_shacl @ 07a19dde14ca162a8396172538dc7dbc00aab07e,
# resources/frequencies-skos-ap-act.rdf. The second block holds codes added in later OP releases;
# their labels follow OP's spelling as copied into third-party DCAT-AP code and were not checked
# against the current table (not reachable from here). Periods are ours: months are 30 days,
# years 365 days, "n times per unit" is unit / n. Order matters: when two codes share a period,
# the first one listed is the one a bare duration maps to (2016 codes come first).
_TABLE: tuple[Frequency, ...] = (
    # -- 2016 release (20161225-1) --
    _eu("DAILY_2", "twice a day", _DAY / 2),
    _eu("DAILY", "daily", _DAY),
    _eu("WEEKLY_3", "three times a week", _WEEK / 3),
    _eu("WEEKLY_2", "semiweekly", _WEEK / 2),
    _eu("WEEKLY", "weekly", _WEEK),
    _eu("BIWEEKLY", "biweekly", 2 * _WEEK),  # OP: "every two weeks"
    _eu("MONTHLY_3", "three times a month", _MONTH / 3),
    _eu("MONTHLY_2", "semimonthly", _MONTH / 2),
    _eu("MONTHLY", "monthly", _MONTH),
    _eu("BIMONTHLY", "bimonthly", 2 * _MONTH),  # OP: "every two months"
    _eu("QUARTERLY", "quarterly", 3 * _MONTH),
    _eu("ANNUAL_3", "three times a year", 4 * _MONTH),
    _eu("ANNUAL_2", "semiannual", 6 * _MONTH),
    _eu("ANNUAL", "annual", _YEAR),
    _eu("BIENNIAL", "biennial", 2 * _YEAR),
    _eu("TRIENNIAL", "triennial", 3 * _YEAR),
    _eu("CONT", "continuous", None, exempt=True),
    _eu("UPDATE_CONT", "continuously updated", None, exempt=True),
    _eu("IRREG", "irregular", None, exempt=True),
    _eu("NEVER", "never", None, exempt=True),
    _eu("UNKNOWN", "unknown", None),
    _eu("OTHER", "other", None),
    _eu("OP_DATPRO", "Provisional data", None),
    # -- later releases --
    _eu("1MIN", "every minute", _MINUTE),
    _eu("5MIN", "every five minutes", 5 * _MINUTE),
    _eu("10MIN", "every ten minutes", 10 * _MINUTE),
    _eu("15MIN", "every fifteen minutes", 15 * _MINUTE),
    _eu("30MIN", "every thirty minutes", 30 * _MINUTE),
    _eu("HOURLY", "hourly", _HOUR),
    _eu("BIHOURLY", "bihourly", 2 * _HOUR),
    _eu("TRIHOURLY", "trihourly", 3 * _HOUR),
    _eu("12HRS", "every twelve hours", 12 * _HOUR),
    _eu("WEEKLY_5", "five times a week", _WEEK / 5),
    _eu("QUADRENNIAL", "quadrennial", 4 * _YEAR),
    _eu("QUINQUENNIAL", "quinquennial", 5 * _YEAR),
    _eu("SEXENNIAL", "sexennial", 6 * _YEAR),
    _eu("DECENNIAL", "decennial", 10 * _YEAR),
    _eu("BIDECENNIAL", "bidecennial", 20 * _YEAR),
    _eu("TRIDECENNIAL", "tridecennial", 30 * _YEAR),
    _eu("AS_NEEDED", "as needed", None, exempt=True),
    _eu("NOT_PLANNED", "not planned", None, exempt=True),
)

FREQUENCIES: Mapping[str, Frequency] = MappingProxyType({f.key: f for f in _TABLE})
"""Every known EU frequency concept, by code."""

# Dublin Core Collection Description Frequency Vocabulary (http://purl.org/cld/freq/), matched to
# EU codes by the skos:exactMatch links in the 2016 EU table.
_CLD: Mapping[str, str] = {
    "daily": "DAILY", "weekly": "WEEKLY", "semiweekly": "WEEKLY_2",
    "threeTimesAWeek": "WEEKLY_3", "biweekly": "BIWEEKLY", "monthly": "MONTHLY",
    "semimonthly": "MONTHLY_2", "threeTimesAMonth": "MONTHLY_3", "bimonthly": "BIMONTHLY",
    "quarterly": "QUARTERLY", "threeTimesAYear": "ANNUAL_3", "semiannual": "ANNUAL_2",
    "annual": "ANNUAL", "biennial": "BIENNIAL", "triennial": "TRIENNIAL",
    "continuous": "CONT", "irregular": "IRREG",
}

# udata's dataset frequency ids that are neither EU codes nor CLD terms, from
# opendatateam/udata udata/core/dataset/constants.py: UPDATE_FREQUENCIES and LEGACY_FREQUENCIES
# @ 2833941bd1df7b518bd30c84a05f8811905ed529 (punctual, fourTimesADay, …, quinquennial) and
# @ 01fa1ed3001fdf19f042ab9ade1bb4839a097f8d (ids become EU codes in lower case: "daily_2",
# "irreg", "update_cont"; those are read as EU codes). udata's own mapping in the later commit is
# followed: punctual → as_needed, realtime → update_cont, biannual → annual_2. "notPlanned" is in
# the list but in neither stored version (the later one has "not_planned"). The French
# labels ("Ponctuelle", "Temps réel", "Sans régularité" …, udata/translations/fr/LC_MESSAGES/udata.po
# @ 014a7705188b504de3c204414e3a99a2facfbbcb) are read as French free text.
_UDATA: Mapping[str, str | timedelta] = {
    "unknown": "UNKNOWN", "punctual": "AS_NEEDED", "hourly": "HOURLY", "fourTimesADay": _DAY / 4,
    "threeTimesADay": _DAY / 3, "semidaily": "DAILY_2", "fourTimesAWeek": _WEEK / 4,
    "quinquennial": "QUINQUENNIAL", "notPlanned": "NOT_PLANNED", "other": "OTHER",
    "fortnighly": "BIWEEKLY", "biannual": "ANNUAL_2", "realtime": "UPDATE_CONT",
}

# HDX `data_update_frequency`: a number of days; 0 is "Live", -1 "Never", -2 "As needed".
_HDX_SPECIAL: Mapping[int, str] = {0: "UPDATE_CONT", -1: "NEVER", -2: "AS_NEEDED"}
_SECONDS: Mapping[str, int] = {"minute": 60, "hour": 3600, "day": 86400, "week": 7 * 86400}
_ISO_SIGNS = frozenset("0123456789.,YMWDTHS-:")
_LONGEST = 200  # characters; longer text is no frequency, and is not parsed
_MOST_WORDS = 12


@dataclass(frozen=True)
class FrequencyReading:
    """What a declared frequency was read as: the `Frequency`, or the reason there is none.

    ``given`` is the value as the source gave it, whitespace collapsed. ``state`` is ``read``,
    ``missing`` (nothing declared) or ``unreadable`` (declared, but not something Lodestar can read
    without guessing; ``problem`` says why in one English sentence).
    """

    frequency: Frequency | None
    given: str | None
    state: Literal["read", "missing", "unreadable"]
    problem: str | None = None


def _plural(n: float, unit: str) -> str:
    """``1 day``, ``3 days``, ``1.5 hours``."""
    text = str(int(n)) if float(n).is_integer() else f"{n:g}"
    return f"{text} {unit}" if text == "1" else f"{text} {unit}s"


def _describe(period: timedelta) -> str:
    """A short English label for a custom period, such as ``every 3 days``."""
    seconds = period.total_seconds()
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            return "every " + _plural(seconds / size, unit)
    return "every " + _plural(round(seconds, 3), "second")


@cache
def _by_period() -> Mapping[timedelta, Frequency]:
    """Period → the first EU concept listed with it."""
    return MappingProxyType({f.period: f for f in reversed(_TABLE) if f.period is not None})


def frequency_for_period(period: timedelta) -> Frequency:
    """The EU frequency whose period is exactly ``period``, else a ``CUSTOM`` one."""
    known = _by_period().get(period)
    if known is not None:
        return known
    return Frequency(CUSTOM, "", _describe(period), period)


def _exact(seconds: Fraction) -> timedelta:
    """``seconds`` as a timedelta, to the microsecond."""
    return timedelta(microseconds=round(seconds * 10**6))


def _months(count: Fraction) -> timedelta:
    """``count`` months: whole twelves are years of 365 days, the rest months of 30 days."""
    years, rest = divmod(count, 12)
    return _exact((years * 365 + rest * 30) * 86400)


def _span_period(span: Span) -> timedelta:
    """The period of a span said in words."""
    if span.unit in ("month", "year"):
        return _months(span.amount * (12 if span.unit == "year" else 1))
    return _exact(span.amount * _SECONDS[span.unit])


def _is_iso_time(text: str) -> bool:
    """True for an ISO 8601 date or date and time, the start or end of a repeating interval."""
    try:
        isodate.parse_datetime(text) if "T" in text else isodate.parse_date(text)
    except (isodate.ISO8601Error, ValueError, ArithmeticError):
        return False
    return True


def _iso_period(compact: str) -> timedelta | None:
    """An ISO 8601 duration (``P1D``) or repeating interval (``R/P1D``, ``R5/2020-01-01/P1M``), read by isodate."""
    duration = compact
    if compact.startswith("R"):
        parts = compact.split("/")
        count = parts[0][1:]
        durations = [p for p in parts[1:] if p.startswith("P")]
        ends = [p for p in parts[1:] if not p.startswith("P")]
        if (count and not count.isdigit()) or len(parts) not in (2, 3) or len(durations) != 1:
            return None
        if not all(_is_iso_time(end) for end in ends):
            return None
        duration = durations[0]
    try:
        parsed = isodate.parse_duration(duration)
        if isinstance(parsed, isodate.Duration):
            months = Fraction(parsed.years) * 12 + Fraction(parsed.months)
            return parsed.tdelta + _months(months)
    except (isodate.ISO8601Error, ValueError, ArithmeticError):  # OverflowError is an ArithmeticError
        return None
    return parsed if isinstance(parsed, timedelta) else None


def _key(value: str) -> str:
    """The lookup key of an id or code: case-folded, without ``_`` and ``-``."""
    return value.casefold().replace("_", "").replace("-", "")


@cache
def _ids() -> Mapping[str, str | timedelta]:
    """Id → EU code or period: EU codes, Dublin Core terms and udata ids."""
    ids: dict[str, str | timedelta] = {_key(code): code for code in FREQUENCIES}
    ids.update({_key(term): code for term, code in _CLD.items()})
    ids.update({_key(udata): code for udata, code in _UDATA.items()})
    return MappingProxyType(ids)


@cache
def _labels() -> Mapping[Phrase, str]:
    """Label tokens → EU code: the bundled EU table's labels in every language, and ours in English."""
    found: dict[Phrase, set[str]] = {}
    for concept in table("frequency").concepts.values():
        for label in concept.all_labels():
            found.setdefault(tokens(label), set()).add(concept.code)
    for frequency in _TABLE:
        found.setdefault(tokens(frequency.label), set()).add(frequency.key)
    return MappingProxyType({phrase: codes.pop() for phrase, codes in found.items() if len(codes) == 1})


def _by_uri(text: str) -> Frequency | None:
    """The concept of an EU authority or Dublin Core Collection frequency IRI."""
    address = text.strip("<>").rstrip("/").split("://", 1)[-1]
    for base, codes in ((EU_FREQUENCY_BASE, {c.casefold(): c for c in FREQUENCIES}),
                        (CLD_FREQUENCY_BASE, {t.casefold(): c for t, c in _CLD.items()})):
        prefix = base.split("://", 1)[1]
        if address.casefold().startswith(prefix.casefold()):
            code = codes.get(address[len(prefix):].casefold())
            return FREQUENCIES[code] if code else None
    return None


def _read(frequency: Frequency | None, given: str, problem: str) -> FrequencyReading:
    """A reading of ``frequency``, or an unreadable one with ``problem`` (``{given}`` is filled in)."""
    if frequency is not None:
        return FrequencyReading(frequency, given, "read")
    shown = given if len(given) <= 80 else given[:77] + "..."
    return FrequencyReading(None, given, "unreadable", problem.format(given=f"'{shown}'"))


def _of_period(period: timedelta | None, given: str, problem: str) -> FrequencyReading:
    """A reading of a period; none, zero or negative is unreadable."""
    if period is None:
        return _read(None, given, problem)
    if period <= timedelta(0):
        return _read(None, given, "{given} is no period of time between updates (zero or negative)")
    return _read(frequency_for_period(period), given, problem)


def _said(said: Said) -> Frequency | None:
    """The frequency words say."""
    if isinstance(said, str):
        return FREQUENCIES[said]
    period = _span_period(said)
    return frequency_for_period(period) if period > timedelta(0) else None


def _read_words(given: str) -> FrequencyReading:
    """Free text: an EU table label in any language, or a sentence of one of the five grammars."""
    unreadable = "{given} is not a frequency Lodestar can read"
    words = tokens(given)
    if not words or len(words) > _MOST_WORDS:
        return _read(None, given, unreadable)
    code = _labels().get(words)
    if code is not None:
        return _read(FREQUENCIES[code], given, unreadable)
    readings: dict[Frequency, list[str]] = {}
    for language, said in read_words(words, lexicons()):
        frequency = _said(said)
        if frequency is not None:
            readings.setdefault(frequency, []).append(language)
    if len(readings) > 1:
        meanings = "; ".join(f"{f.label} in {' and '.join(langs)}" for f, langs in readings.items())
        return _read(None, given, "{given} reads differently in different languages (" + meanings + ")")
    return _read(next(iter(readings), None), given, unreadable)


@lru_cache(maxsize=4096)
def _read_text(value: str) -> FrequencyReading:
    """`read_frequency` of a string, memoised."""
    given = " ".join(value.split())
    if not given:
        return FrequencyReading(None, None, "missing")
    if len(given) > _LONGEST:
        return _read(None, given, f"the value is {len(given):,} characters long, too long to be a frequency")
    if given.casefold().lstrip("<").startswith(("http://", "https://")):
        return _read(_by_uri(given), given, "{given} is no EU or Dublin Core frequency IRI Lodestar knows")
    digits = given[1:] if given[0] in "+-" else given
    if digits.isascii() and digits.isdigit():
        return _hdx(int(given), given)
    compact = "".join(given.split()).upper()
    if (compact[0] == "P" and _ISO_SIGNS.issuperset(compact[1:])) or compact.startswith("-P") or (
            compact[0] == "R" and "/" in compact):
        return _of_period(_iso_period(compact), given, "{given} is not an ISO 8601 duration or repeating interval")
    if " " not in given and given.replace("_", "").replace("-", "").isalnum():
        found = _ids().get(_key(given))
        if found is not None:
            return _read(FREQUENCIES[found], given, "") if isinstance(found, str) else _of_period(found, given, "")
    return _read_words(given)


def _hdx(days: int, given: str) -> FrequencyReading:
    """An HDX day count: 1 or more days, or 0 (live), -1 (never), -2 (as needed)."""
    if days in _HDX_SPECIAL:
        return _read(FREQUENCIES[_HDX_SPECIAL[days]], given, "")
    if not 0 < days < 10**8:
        return _read(None, given, "{given} is no HDX day count (a number of days, or 0, -1 or -2)")
    return _of_period(timedelta(days=days), given, "")


def read_frequency(value: object) -> FrequencyReading:
    """Read a declared update frequency (text, or an HDX day count as a number). Never raises.

    Reads EU authority and Dublin Core Collection frequency IRIs, EU codes (``ANNUAL_2``), Dublin
    Core and udata ids (``threeTimesAYear``, ``punctual``), ISO 8601 durations and repeating
    intervals (``P1W``, ``R/2020-01-01/P1M``), HDX day counts (``"7"``; ``"0"`` live, ``"-1"`` never,
    ``"-2"`` as needed), the EU table's labels in every EU language, and free text in English,
    German, French, Dutch and Spanish ("every 2 weeks", "zweimal jährlich", "tous les 3 mois").
    """
    if isinstance(value, str):
        return _read_text(value)
    if value is None:
        return FrequencyReading(None, None, "missing")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        if value.bit_length() > 64:  # too long to be shown, and far too long for days
            return FrequencyReading(None, None, "unreadable", "a number that large is no HDX day count")
        return _hdx(value, str(value))
    return FrequencyReading(None, None, "unreadable", f"a {type(value).__name__} is not a frequency Lodestar can read")


def normalise_frequency(value: object) -> Frequency | None:
    """The `Frequency` a declared update frequency stands for, or None if it is missing or can't be read."""
    return read_frequency(value).frequency


__all__ = ["CLD_FREQUENCY_BASE", "CUSTOM", "EU_FREQUENCY_BASE", "FREQUENCIES", "Frequency",
           "FrequencyReading", "frequency_for_period", "normalise_frequency", "read_frequency"]
