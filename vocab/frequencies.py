"""Declared update frequencies, normalised to EU frequency concepts and expected periods.

`normalise_frequency` turns what publishers write in `dct:accrualPeriodicity` or in CKAN extras
(EU authority URIs, Dublin Core Collection frequency URIs, ISO 8601 durations, HDX day counts,
free English text) into one `Frequency`: an EU concept with the period between updates that the
freshness check (`portal.freshness`) expects, or an exemption.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from types import MappingProxyType
from typing import Mapping

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
    "threetimesaweek": "WEEKLY_3", "biweekly": "BIWEEKLY", "monthly": "MONTHLY",
    "semimonthly": "MONTHLY_2", "threetimesamonth": "MONTHLY_3", "bimonthly": "BIMONTHLY",
    "quarterly": "QUARTERLY", "threetimesayear": "ANNUAL_3", "semiannual": "ANNUAL_2",
    "annual": "ANNUAL", "biennial": "BIENNIAL", "triennial": "TRIENNIAL",
    "continuous": "CONT", "irregular": "IRREG",
}

# Free-text forms seen in CKAN extras and portal UIs, in compact form (lower case, letters and
# digits only). EU codes and labels are added below. "biweekly" and "bimonthly" follow OP (every
# two weeks / months); "biannual" is read as twice a year.
_SYNONYMS: Mapping[str, str] = {
    "everyday": "DAILY", "eachday": "DAILY", "onceaday": "DAILY", "oncedaily": "DAILY",
    "day": "DAILY", "perday": "DAILY", "twicedaily": "DAILY_2", "semidaily": "DAILY_2",
    "everyweek": "WEEKLY", "onceaweek": "WEEKLY", "week": "WEEKLY",
    "twiceweekly": "WEEKLY_2", "twiceaweek": "WEEKLY_2",
    "fortnightly": "BIWEEKLY", "everyotherweek": "BIWEEKLY",
    "everymonth": "MONTHLY", "onceamonth": "MONTHLY", "month": "MONTHLY",
    "twicemonthly": "MONTHLY_2", "twiceamonth": "MONTHLY_2",
    "everyothermonth": "BIMONTHLY", "everyquarter": "QUARTERLY",
    "annually": "ANNUAL", "yearly": "ANNUAL", "everyyear": "ANNUAL", "onceayear": "ANNUAL",
    "year": "ANNUAL", "semiannually": "ANNUAL_2", "biannual": "ANNUAL_2",
    "biannually": "ANNUAL_2", "halfyearly": "ANNUAL_2", "twiceayear": "ANNUAL_2",
    "twiceyearly": "ANNUAL_2", "biennially": "BIENNIAL", "triennially": "TRIENNIAL",
    "realtime": "UPDATE_CONT", "live": "UPDATE_CONT", "continuously": "UPDATE_CONT",
    "continual": "CONT", "continually": "CONT", "irregularly": "IRREG", "adhoc": "IRREG",
    "asrequired": "AS_NEEDED", "whenneeded": "AS_NEEDED", "whenrequired": "AS_NEEDED",
    "ondemand": "AS_NEEDED", "notupdated": "NEVER", "noupdates": "NEVER",
}

# HDX `data_update_frequency`: a number of days; 0 is "Live", -1 "Never", -2 "As needed".
_HDX_SPECIAL: Mapping[int, str] = {0: "UPDATE_CONT", -1: "NEVER", -2: "AS_NEEDED"}

_UNITS: Mapping[str, timedelta] = {
    "minute": _MINUTE, "min": _MINUTE, "hour": _HOUR, "hr": _HOUR, "day": _DAY,
    "week": _WEEK, "month": _MONTH, "quarter": 3 * _MONTH, "year": _YEAR,
    "daily": _DAY, "weekly": _WEEK, "monthly": _MONTH, "yearly": _YEAR, "annually": _YEAR,
}
_NUMBERS: Mapping[str, int] = {
    "a": 1, "an": 1, "one": 1, "other": 2, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "fifteen": 15, "twenty": 20, "thirty": 30, "once": 1, "twice": 2, "thrice": 3,
}
_UNIT_RE = r"(minute|min|hour|hr|day|week|month|quarter|year)s?"
_EVERY_RE = re.compile(rf"^(?:once )?(?:every|each) (?:(\d+(?:\.\d+)?|[a-z]+) )?{_UNIT_RE}$")
_TIMES_RE = re.compile(
    rf"^(\d+|[a-z]+)(?: times)? (?:(?:a|an|per|every|each) {_UNIT_RE}|(daily|weekly|monthly|yearly|annually))$"
)
_ISO_RE = re.compile(
    r"^P(?!$)(?:(\d+(?:[.,]\d+)?)Y)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)W)?"
    r"(?:(\d+(?:[.,]\d+)?)D)?(?:T(?=\d)(?:(\d+(?:[.,]\d+)?)H)?(?:(\d+(?:[.,]\d+)?)M)?"
    r"(?:(\d+(?:[.,]\d+)?)S)?)?$"
)
_ISO_UNITS = (_YEAR, _MONTH, _WEEK, _DAY, _HOUR, _MINUTE, timedelta(seconds=1))


def _compact(text: str) -> str:
    """Lower case, letters and digits only: the key for alias lookups."""
    return re.sub(r"[^0-9a-z]", "", text.lower())


def _aliases() -> dict[str, str]:
    """Compact alias → EU code: codes, English labels, CLD terms and synonyms."""
    aliases = {_compact(f.key): f.key for f in _TABLE}
    aliases.update({_compact(f.label): f.key for f in _TABLE})
    aliases.update(_CLD)
    aliases.update(_SYNONYMS)
    return aliases


_ALIASES: Mapping[str, str] = MappingProxyType(_aliases())
_EU_CODES: Mapping[str, str] = MappingProxyType({code.lower(): code for code in FREQUENCIES})
_BY_PERIOD: Mapping[timedelta, Frequency] = MappingProxyType(
    {f.period: f for f in reversed(_TABLE) if f.period is not None}
)


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


def frequency_for_period(period: timedelta) -> Frequency:
    """The EU frequency whose period is exactly ``period``, else a ``CUSTOM`` one."""
    known = _BY_PERIOD.get(period)
    if known is not None:
        return known
    return Frequency(CUSTOM, "", _describe(period), period)


def _from_period(period: timedelta | None) -> Frequency | None:
    """`frequency_for_period`, or None for missing, zero or negative periods."""
    if period is None or period <= timedelta(0):
        return None
    return frequency_for_period(period)


def _scaled(unit: timedelta, factor: float) -> timedelta | None:
    """``unit * factor`` rounded to the second, or None when out of range."""
    try:
        return timedelta(seconds=round(unit.total_seconds() * factor))
    except (OverflowError, ValueError):
        return None


def _span(unit: timedelta, count: float) -> timedelta | None:
    """``count`` units; whole twelves of months count as years (``P12M`` is annual)."""
    if unit == _MONTH and count >= 12:
        years, months = divmod(count, 12)
        whole, rest = _scaled(_YEAR, years), _scaled(_MONTH, months)
        return None if whole is None or rest is None else whole + rest
    return _scaled(unit, count)


def _iso_duration(text: str) -> timedelta | None:
    """An ISO 8601 duration (``P1D``, ``PT1H``, ``P0.5M``) or repeating interval (``R/P1D``)."""
    if text.startswith("R"):
        parts = text.split("/")
        durations = [p for p in parts[1:] if p.startswith("P")]
        if not re.fullmatch(r"R\d*", parts[0]) or len(durations) != 1 or len(parts) > 3:
            return None
        text = durations[0]
    match = _ISO_RE.match(text)
    if match is None:
        return None
    total = timedelta(0)
    for value, unit in zip(match.groups(), _ISO_UNITS):
        if value is not None:
            part = _span(unit, float(value.replace(",", ".")))
            if part is None:
                return None
            try:
                total += part
            except OverflowError:
                return None
    return total


def _count(word: str) -> float | None:
    """A count written as digits or as an English word."""
    if re.fullmatch(r"\d+(?:\.\d+)?", word):
        return float(word)
    return _NUMBERS.get(word)


def _phrase(spaced: str) -> timedelta | None:
    """Periods written as phrases: ``every 2 weeks``, ``three times a year``, ``twice weekly``."""
    every = _EVERY_RE.match(spaced)
    if every is not None:
        count = _count(every.group(1) or "1")
        return None if not count else _span(_UNITS[every.group(2)], count)
    times = _TIMES_RE.match(spaced)
    if times is not None:
        count = _count(times.group(1))
        unit = _UNITS[times.group(2) or times.group(3)]
        return None if not count else _scaled(unit, 1 / count)
    return None


def _by_uri(text: str) -> Frequency | None:
    """EU authority or Dublin Core Collection frequency URIs; None if ``text`` is neither."""
    match = re.fullmatch(r"<?https?://([^>]*?)/?>?", text, flags=re.IGNORECASE)
    if match is None:
        return None
    address = match.group(1)
    for base, table in ((EU_FREQUENCY_BASE, _EU_CODES), (CLD_FREQUENCY_BASE, _CLD)):
        prefix = base.split("://", 1)[1].lower()
        if address.lower().startswith(prefix):
            code = table.get(address[len(prefix):].lower())
            return FREQUENCIES[code] if code else None
    return None


def normalise_frequency(value: str | None) -> Frequency | None:
    """The `Frequency` a declared update frequency stands for, or None if it can't be read.

    Accepts EU authority and Dublin Core Collection frequency URIs, EU codes, ISO 8601 durations
    and repeating intervals, HDX day counts (``"7"``, ``"0"`` live, ``"-1"`` never, ``"-2"`` as
    needed) and common English phrases. Case and whitespace don't matter. Never raises.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    if not text:
        return None
    if re.match(r"<?https?://", text, flags=re.IGNORECASE):
        return _by_uri(text)
    if re.fullmatch(r"[+-]?\d+", text):
        days = int(text)
        if days in _HDX_SPECIAL:
            return FREQUENCIES[_HDX_SPECIAL[days]]
        return _from_period(_scaled(_DAY, days)) if 0 < days < 10**8 else None
    upper = text.upper().replace(" ", "")
    if re.match(r"(P|R\d*/)", upper):
        period = _iso_duration(upper)
        if period is not None:
            return _from_period(period)
    code = _ALIASES.get(_compact(text))
    if code is not None:
        return FREQUENCIES[code]
    spaced = " ".join(re.sub(r"[-_/]", " ", text.lower().rstrip(".")).split())
    return _from_period(_phrase(spaced))
