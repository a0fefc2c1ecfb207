"""Format annotations of CSVW datatypes: UAX #35 number and date patterns, compiled once per column.

A number pattern (`#,##0.00`, `0.###E0`, `+#%`) is read token by token into a `NumberPattern`
that checks a cell's digits, grouping and fraction; a date-time field pattern (`dd/MM/yyyy`,
`yyyy-MM-ddTHH:mm:ss.SSSXXX`) is read field by field into a matcher that returns the parts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

Number = Decimal | float
Parse = Callable[[str], tuple[str, Any]]  # cell text → (lexical form, comparable value)

_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
SPECIAL_FLOATS = {"NaN": float("nan"), "INF": float("inf"), "-INF": float("-inf")}


@dataclass(frozen=True)
class NumberPattern:
    """A UAX #35 number pattern, split into the parts that constrain a cell's text."""

    prefix: str
    suffix: str
    min_integer: int
    max_integer: int
    primary_group: int  # 0: the integer part is not grouped
    secondary_group: int
    min_fraction: int
    max_fraction: int  # -1: no decimal separator allowed
    fraction_group: int  # 0: the fraction is not grouped
    has_exponent: bool
    min_exponent: int


def parse_number_pattern(pattern: str, decimal_char: str = ".", group_char: str = ",") -> NumberPattern:
    """Read a UAX #35 number pattern (with the given separators); ValueError when it is not one."""
    pattern = pattern.split(";", 1)[0]
    body_chars = "#0E+" + decimal_char + group_char
    start = 0
    while start < len(pattern) and pattern[start] not in "#0" + decimal_char + group_char:
        start += 1
    end = start
    while end < len(pattern) and pattern[end] in body_chars:
        end += 1
    prefix, body, suffix = pattern[:start], pattern[start:end], pattern[end:]
    mantissa, mark, exponent = body.partition("E")
    has_exponent = bool(mark)
    exponent = exponent.lstrip("+")
    if has_exponent and (not exponent or set(exponent) - set("#0")):
        raise ValueError(f"bad exponent in number pattern {pattern!r}")
    integer, point, fraction = mantissa.partition(decimal_char)
    allowed = set("#0" + group_char)
    if not integer + fraction or set(integer) - allowed or set(fraction) - allowed:
        raise ValueError(f"not a number pattern: {pattern!r}")
    groups = integer.split(group_char)
    primary = len(groups[-1]) if len(groups) > 1 else 0
    secondary = len(groups[-2]) if len(groups) > 2 else primary
    fraction_groups = fraction.split(group_char)
    return NumberPattern(
        prefix, suffix, integer.count("0"), len(integer.replace(group_char, "")), primary, secondary,
        fraction.count("0"), len(fraction.replace(group_char, "")) if point else -1,
        len(fraction_groups[0]) if len(fraction_groups) > 1 else 0, has_exponent, exponent.count("0"))


_SCALES = {"%": Decimal("0.01"), "\u2030": Decimal("0.001")}


def number_parser(pattern: str | None, decimal_char: str, group_char: str | None
                  ) -> Callable[[str], Number]:
    """A function from cell text to its number (ValueError when the text does not fit)."""
    if pattern is not None and group_char is None:
        group_char = ","
    compiled = parse_number_pattern(pattern, decimal_char, group_char or ",") if pattern else None
    literal_prefix = _literal(compiled.prefix) if compiled else ""
    literal_suffix = _literal(compiled.suffix) if compiled else ""

    def parse(text: str) -> Number:
        if text in SPECIAL_FLOATS:
            return SPECIAL_FLOATS[text]
        body = text
        if literal_prefix:
            if not body.startswith(literal_prefix):
                raise ValueError(f"{text!r} lacks {literal_prefix!r}")
            body = body[len(literal_prefix):]
        if literal_suffix:
            if not body.endswith(literal_suffix):
                raise ValueError(f"{text!r} lacks {literal_suffix!r}")
            body = body[:-len(literal_suffix)]
        scale = Decimal(1)
        if body[:1] in _SCALES:
            body, scale = body[1:], _SCALES[body[:1]]
        sign = ""
        if body[:1] in ("+", "-"):
            sign, body = body[:1], body[1:]
        if body[-1:] in _SCALES and scale == 1:
            body, scale = body[:-1], _SCALES[body[-1:]]
        if compiled is not None:
            marks = compiled.prefix + compiled.suffix
            wanted = next((m for m in _SCALES if m in marks), None)
            if (wanted is None) != (scale == 1) or (wanted and _SCALES[wanted] != scale):
                raise ValueError(f"{text!r} does not carry the percent or per-mille sign of its pattern")
        mantissa, exponent = body, ""
        for mark in ("E",) if compiled is not None else ("E", "e"):
            if mark in body:
                mantissa, exponent = body.split(mark, 1)
                break
        integer, sep, fraction = mantissa.partition(decimal_char)
        groups = _groups(integer, group_char, text)
        fraction_groups = _groups(fraction, group_char, text) if sep else []
        if compiled is not None:
            _check_pattern(compiled, groups, bool(sep), fraction_groups, exponent, text)
        elif len(fraction_groups) > 1:
            raise ValueError(f"misplaced group separator in {text!r}")
        plain = (sign + "".join(groups) + ("." + "".join(fraction_groups) if sep else "")
                 + ("E" + exponent if exponent else ""))
        if not _PLAIN_NUMBER.fullmatch(plain):
            raise ValueError(f"not a number: {text!r}")
        try:
            value = Decimal(plain)
        except InvalidOperation:
            raise ValueError(f"not a number: {text!r}") from None
        return value * scale if scale != 1 else value

    return parse


def _literal(affix: str) -> str:
    """The part of a pattern prefix or suffix that the text must carry as it is."""
    return "".join(c for c in affix if c not in "+-%\u2030'")


def _groups(digits: str, group_char: str | None, text: str) -> list[str]:
    if not group_char or group_char not in digits:
        return [digits]
    groups = digits.split(group_char)
    if any(not group for group in groups):
        raise ValueError(f"misplaced group separator in {text!r}")
    return groups


def _check_pattern(pattern: NumberPattern, groups: list[str], has_point: bool, fraction: list[str],
                   exponent: str, text: str) -> None:
    digits = "".join(groups)
    if len(digits) < pattern.min_integer:
        raise ValueError(f"{text!r} has too few integer digits")
    if pattern.has_exponent and len(digits) > max(pattern.max_integer, 1):
        raise ValueError(f"{text!r} has too many integer digits for a scientific pattern")
    primary, secondary = pattern.primary_group, pattern.secondary_group
    if len(groups) > 1:
        if (not primary or len(groups[-1]) != primary or any(len(g) != secondary for g in groups[1:-1])
                or len(groups[0]) > secondary):
            raise ValueError(f"{text!r} is grouped unlike its pattern")
    elif primary and len(digits) > primary:
        raise ValueError(f"{text!r} lacks the grouping of its pattern")
    if has_point and pattern.max_fraction < 0:
        raise ValueError(f"{text!r} has a fraction its pattern does not allow")
    size = pattern.fraction_group
    if len(fraction) > 1 and (not size or any(len(g) != size for g in fraction[:-1]) or len(fraction[-1]) > size):
        raise ValueError(f"{text!r} groups its fraction unlike its pattern")
    count = len("".join(fraction))
    if count < pattern.min_fraction or (pattern.max_fraction >= 0 and count > pattern.max_fraction):
        raise ValueError(f"{text!r} has a fraction of the wrong length")
    if exponent and not pattern.has_exponent:
        raise ValueError(f"{text!r} has an exponent its pattern does not allow")
    if pattern.has_exponent:
        if not exponent:
            raise ValueError(f"{text!r} lacks the exponent of its pattern")
        if len(exponent.lstrip("+-")) < pattern.min_exponent:
            raise ValueError(f"{text!r} has too few exponent digits")


# Date and time field patterns ------------------------------------------------------------------

_FIELDS = {
    "yyyy": r"(?P<year>-?[0-9]{4})", "MM": r"(?P<month>[0-9]{2})", "M": r"(?P<month>[0-9]{1,2})",
    "dd": r"(?P<day>[0-9]{2})", "d": r"(?P<day>[0-9]{1,2})", "HH": r"(?P<hour>[0-9]{2})",
    "mm": r"(?P<minute>[0-9]{2})", "ss": r"(?P<second>[0-9]{2})",
    "X": r"(?P<tz>Z|[+-][0-9]{2}(?:[0-9]{2})?)", "XX": r"(?P<tz>Z|[+-][0-9]{4})",
    "XXX": r"(?P<tz>Z|[+-][0-9]{2}:[0-9]{2})", "x": r"(?P<tz>[+-][0-9]{2}(?:[0-9]{2})?)",
    "xx": r"(?P<tz>[+-][0-9]{4})", "xxx": r"(?P<tz>[+-][0-9]{2}:[0-9]{2})",
}


def date_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a UAX #35 date-time field pattern to a matcher with named parts; ValueError if unknown."""
    out: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        run = index
        while run < len(pattern) and pattern[run] == char:
            run += 1
        field = pattern[index:run]
        if char == "S":
            out.append(f"(?P<fraction>[0-9]{{{len(field)}}})")
        elif char.isalpha() and char != "T":
            if field not in _FIELDS:
                raise ValueError(f"unsupported date field {field!r} in {pattern!r}")
            out.append(_FIELDS[field])
        else:
            out.append(re.escape(field))
        index = run
    return re.compile("".join(out))
