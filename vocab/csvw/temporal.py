"""Dates, times and durations of CSVW cells: XSD lexical forms, UAX #35 date patterns, ISO 8601 durations."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any

import isodate

from vocab.csvw.errors import warn
from vocab.csvw.formats import Parse, date_pattern

_TZ = r"(?P<tz>Z|[+-](?:(?:0[0-9]|1[0-3]):[0-5][0-9]|14:00))?"
_YEAR = r"(?P<year>-?(?:[1-9][0-9]{4,}|[0-9]{4}))"
_TIME = r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]+))?"
XSD_LEXICAL = {  # the XML Schema lexical spaces of the date/time types, with named parts
    "date": re.compile(_YEAR + r"-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})" + _TZ),
    "dateTime": re.compile(_YEAR + r"-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})T" + _TIME + _TZ),
    "dateTimeStamp": re.compile(_YEAR + r"-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})T" + _TIME + _TZ),
    "time": re.compile(_TIME + _TZ),
    "gYear": re.compile(_YEAR + _TZ),
    "gYearMonth": re.compile(_YEAR + r"-(?P<month>[0-9]{2})" + _TZ),
    "gMonth": re.compile(r"--(?P<month>[0-9]{2})" + _TZ),
    "gDay": re.compile(r"---(?P<day>[0-9]{2})" + _TZ),
    "gMonthDay": re.compile(r"--(?P<month>[0-9]{2})-(?P<day>[0-9]{2})" + _TZ),
}


def duration_key(value: Any) -> Any:
    """A duration as seconds, to compare with bounds (a month counts as its average length)."""
    if isinstance(value, isodate.Duration):
        return float(value.years * 12 + value.months) * 2629746 + value.tdelta.total_seconds()
    return value.total_seconds()


def temporal_parser(base: str, fmt: Any) -> Parse:
    """A parser for one date/time datatype, in its XSD form or in a UAX #35 date pattern."""
    matcher = XSD_LEXICAL[base]
    if isinstance(fmt, str) and base in ("date", "dateTime", "dateTimeStamp", "time"):
        try:
            matcher = date_pattern(fmt)
        except ValueError:
            warn(f"unsupported date format {fmt!r}: ignored")
    elif fmt is not None:
        warn(f"format {fmt!r} is not supported for {base}: ignored")

    native = matcher is XSD_LEXICAL[base]

    def parse(text: str) -> tuple[str, Any]:
        match = matcher.fullmatch(text)
        if not match:
            raise ValueError(f"{text!r} is not a {base} in its format")
        parts = match.groupdict()
        if base == "dateTimeStamp" and not parts.get("tz"):
            raise ValueError(f"{text!r} has no time zone")
        key = temporal_key(base, parts)
        return (text if native else _lexical(base, parts)), key

    return parse


def _tz(text: str | None) -> str:
    if not text:
        return ""
    if text == "Z":
        return "Z"
    digits = text[1:].replace(":", "")
    return text[0] + digits[:2] + ":" + (digits[2:4] or "00")


def _lexical(base: str, parts: dict[str, str | None]) -> str:
    tz = _tz(parts.get("tz"))
    year = parts.get("year") or ""
    month = f"{int(parts.get('month') or 0):02d}" if parts.get("month") else ""
    day = f"{int(parts.get('day') or 0):02d}" if parts.get("day") else ""
    clock = ""
    if parts.get("hour") is not None:
        clock = f"{parts['hour']}:{parts.get('minute') or '00'}:{parts.get('second') or '00'}"
        if parts.get("fraction"):
            clock += "." + str(parts["fraction"])
    if base == "date":
        return f"{year}-{month}-{day}{tz}"
    if base in ("dateTime", "dateTimeStamp"):
        return f"{year}-{month}-{day}T{clock}{tz}"
    if base == "time":
        return clock + tz
    if base == "gYear":
        return year + tz
    if base == "gYearMonth":
        return f"{year}-{month}{tz}"
    if base == "gMonth":
        return f"--{month}{tz}"
    if base == "gDay":
        return f"---{day}{tz}"
    return f"--{month}-{day}{tz}"


def temporal_key(base: str, parts: Mapping[str, str | None]) -> Any:
    """Check the parts name a real date or time, and give a value that orders like it."""
    try:
        year = int(parts.get("year") or 2000)
        month = int(parts.get("month") or 1)
        day = int(parts.get("day") or 1)
        hour, minute = int(parts.get("hour") or 0), int(parts.get("minute") or 0)
        second = int(parts.get("second") or 0)
        micro = int(((parts.get("fraction") or "") + "000000")[:6])
        if hour == 24 and minute == 0 and second == 0 and micro == 0:
            hour = 0
        day_part = date(year, month, day) if 1 <= year <= 9999 else None
        clock = time(hour, minute, second, micro)
    except ValueError:
        raise ValueError(f"{dict(parts)!r} is not a real {base}") from None
    if day_part is None:
        return (year, month, day, hour, minute, second, micro)
    if base == "time":
        return clock
    return datetime.combine(day_part, clock)


_DURATION_PARTS = {"dayTimeDuration": frozenset("YM"), "yearMonthDuration": frozenset("DHS")}


def duration_parser(base: str, regex: re.Pattern[str] | None) -> Parse:
    """A parser for one duration datatype (ISO 8601 via isodate; `regex` is the column's format)."""
    def parse(text: str) -> tuple[str, Any]:
        if regex is not None and not regex.fullmatch(text):
            raise ValueError(f"{text!r} does not match its format")
        body = text.lstrip("-")
        if not body.startswith("P") or body in ("P", "PT") or body.endswith("T"):
            raise ValueError(f"{text!r} is not a {base}")
        date_part, _, time_part = body[1:].partition("T")
        banned = _DURATION_PARTS.get(base, frozenset())
        if base == "dayTimeDuration" and set(date_part) & banned:
            raise ValueError(f"{text!r} is not a {base}")
        if base == "yearMonthDuration" and (time_part or set(date_part) & banned):
            raise ValueError(f"{text!r} is not a {base}")
        try:
            value = isodate.parse_duration(text)
        except (isodate.ISO8601Error, ValueError):
            raise ValueError(f"{text!r} is not a {base}") from None
        return text, duration_key(value)

    return parse
