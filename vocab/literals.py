"""Table Schema cells → N-Triples literals: one converter per field type, built once per column.

Each converter takes the cell text and returns the N-Triples object term, or raises ValueError
when the text does not parse as the field's type (the caller then keeps it as a plain string).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from math import copysign, isinf, isnan
from typing import Any

from vocab.namespaces import RDF, XSD

DEFAULT_TRUE_VALUES = ("true", "True", "TRUE", "1")
DEFAULT_FALSE_VALUES = ("false", "False", "FALSE", "0")
STRING_TYPES = frozenset({"string", "any", "geopoint", "list"})  # kept as plain strings
JSON_TYPES = frozenset({"object", "array", "geojson"})  # rdf:JSON literals

Convert = Callable[[str], str]  # cell → N-Triples object term; ValueError when it does not parse


needs_escape = re.compile('[\x00-\x1f"\\\\\x85\u2028\u2029]').search
_NEEDS_UCHAR = re.compile("[\x00-\x1f\x85\u2028\u2029]")  # after \n, \r, \t: rare, so slow is fine


def string_literal(value: str) -> str:
    """`value` as an N-Triples string literal (xsd:string), escaped per RDF 1.1 N-Triples."""
    if needs_escape(value):
        value = (value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
                 .replace("\r", "\\r").replace("\t", "\\t"))
        value = _NEEDS_UCHAR.sub(lambda m: f"\\u{ord(m[0]):04X}", value)
    return '"' + value + '"'


def _typed(datatype: str) -> str:
    return f'"^^<{datatype}>'


_INTEGER = re.compile(r"[+-]?[0-9]+").fullmatch
_DECIMAL = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?").fullmatch
_DOUBLE = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)[eE][+-]?[0-9]+").fullmatch
_SPECIAL_DOUBLES = {"nan": "NaN", "inf": "INF", "+inf": "INF", "-inf": "-INF",
                    "infinity": "INF", "+infinity": "INF", "-infinity": "-INF"}
_YEAR = re.compile(r"[0-9]{4}").fullmatch
_YEARMONTH = re.compile(r"([0-9]{4})-([0-9]{1,2})").fullmatch
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}").fullmatch
_DURATION = re.compile(r"-?P(?=[0-9T])(?:[0-9]+Y)?(?:[0-9]+M)?(?:[0-9]+D)?"
                       r"(?:T(?=[0-9])(?:[0-9]+H)?(?:[0-9]+M)?(?:[0-9]+(?:\.[0-9]+)?S)?)?").fullmatch


def _number_cleaner(field: Mapping[str, Any], decimal: bool) -> Callable[[str], str]:
    """Undo `bareNumber: false`, `groupChar` and `decimalChar` so that a plain numeral is left."""
    bare, group = field.get("bareNumber", True), field.get("groupChar", "")
    dec = field.get("decimalChar", ".") if decimal else "."
    if bare and not group and dec == ".":
        return str.strip
    non_bare = re.compile(rf"^[^-0-9{re.escape(dec) if decimal else ''}]*|[^0-9]*$")

    def clean(value: str) -> str:
        value = value.strip() if bare else non_bare.sub("", value)
        if group:
            value = value.replace(group, "")
        if dec != ".":
            if "." in value:
                raise ValueError(value)
            value = value.replace(dec, ".")
        return value

    return clean


def _integer(field: Mapping[str, Any]) -> Convert:
    clean, suffix = _number_cleaner(field, decimal=False), _typed(XSD.integer)

    def convert(value: str) -> str:
        if not (value.isdigit() and value.isascii()):  # the common case needs no cleaning
            value = clean(value)
            if not _INTEGER(value):
                raise ValueError(value)
        return f'"{int(value)}{suffix}'

    return convert


def _canonical_double(text: str) -> str:
    """The XSD canonical form of a double (`1.0E3`, `-2.5E-7`, `INF`, `NaN`)."""
    number = float(text)
    if isnan(number) or isinf(number):
        return "NaN" if isnan(number) else "INF" if number > 0 else "-INF"
    if number == 0:
        return "-0.0E0" if copysign(1.0, number) < 0 else "0.0E0"
    sign, digits, exponent = Decimal(repr(number)).normalize().as_tuple()
    assert isinstance(exponent, int)
    mantissa = f"{digits[0]}.{''.join(map(str, digits[1:])) or '0'}"
    return f"{'-' if sign else ''}{mantissa}E{exponent + len(digits) - 1}"


def _number(field: Mapping[str, Any]) -> Convert:
    clean = _number_cleaner(field, decimal=True)
    decimal_suffix, double_suffix = _typed(XSD.decimal), _typed(XSD.double)

    def convert(value: str) -> str:
        value = clean(value)
        match = _DECIMAL(value)
        if match and (match[2] or match[3]):  # XSD 1.1 canonical: 7.1, 3, -0.5, 0
            whole, fraction = match[2].lstrip("0") or "0", (match[3] or "").rstrip("0")
            lexical = whole + "." + fraction if fraction else whole
            sign = "-" if match[1] == "-" and lexical.strip("0.") else ""
            return f'"{sign}{lexical}{decimal_suffix}'
        if _DOUBLE(value):
            return '"' + _canonical_double(value) + double_suffix
        special = _SPECIAL_DOUBLES.get(value.lower())
        if special is None:
            raise ValueError(value)
        return '"' + special + double_suffix

    return convert


def _boolean(field: Mapping[str, Any]) -> Convert:
    true_term, false_term = '"true' + _typed(XSD.boolean), '"false' + _typed(XSD.boolean)
    terms = {v: false_term for v in field.get("falseValues", DEFAULT_FALSE_VALUES)}
    terms.update({v: true_term for v in field.get("trueValues", DEFAULT_TRUE_VALUES)})

    def convert(value: str) -> str:
        term = terms.get(value)
        if term is None:
            raise ValueError(value)
        return term

    return convert


def _timezone(offset: timedelta | None) -> str:
    """An XSD timezone suffix: '', 'Z' or ±hh:mm."""
    if offset is None:
        return ""
    minutes, seconds = divmod(int(offset.total_seconds()), 60)
    if seconds or offset.microseconds:
        raise ValueError("timezone offset with seconds")
    sign, minutes = ("-", -minutes) if minutes < 0 else ("+", minutes)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}" if minutes else "Z"


def _xsd_temporal(value: date | time) -> str:
    """The XSD lexical form of a date, datetime or time (its timezone kept when it has one)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
    text = f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    text += _timezone(value.utcoffset())
    if isinstance(value, datetime):
        return f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{text}"
    return text


def _iso_date(value: str) -> date:
    if _ISO_DATE(value):
        return date.fromisoformat(value)
    return datetime.strptime(value, "%Y-%m-%d").date()  # also takes 2017-2-7, as frictionless does


def _iso_datetime(value: str) -> datetime:
    if len(value) < 19 or value[10] not in "Tt " or value[16] != ":":
        raise ValueError(value)
    return datetime.fromisoformat(value)


def _iso_time(value: str) -> time:
    if len(value) < 8 or value[2] != ":" or value[5] != ":":
        raise ValueError(value)
    return time.fromisoformat(value)


_TEMPORAL: dict[str, tuple[str, Callable[[str], date | time]]] = {
    "date": (XSD.date, _iso_date), "datetime": (XSD.dateTime, _iso_datetime),
    "time": (XSD.time, _iso_time)}


def _parse_any(value: str) -> datetime:
    from dateutil import (
        parser,  # a dependency of frictionless; only needed for format "any"
    )

    try:
        return parser.parse(value)
    except (OverflowError, parser.ParserError) as exc:
        raise ValueError(value) from exc


def _temporal(field: Mapping[str, Any]) -> Convert:
    """Dates, datetimes and times: format `default` (ISO 8601), `any`, or a strptime pattern."""
    kind = field["type"]
    fmt = str(field.get("format") or "default").removeprefix("fmt:")
    datatype, parse_iso = _TEMPORAL[kind]
    suffix = _typed(datatype)

    def parse(value: str) -> date | time:
        if fmt == "default":
            return parse_iso(value)
        moment = _parse_any(value) if fmt == "any" else datetime.strptime(value, fmt)
        return moment.date() if kind == "date" else moment.timetz() if kind == "time" else moment

    return lambda value: '"' + _xsd_temporal(parse(value)) + suffix


def _matching(regex: Callable[[str], Any], datatype: str) -> Callable[[Mapping[str, Any]], Convert]:
    """Types whose lexical form is the cell itself once it matches `regex` (year, duration)."""
    suffix = _typed(datatype)

    def convert(value: str) -> str:
        if not regex(value):
            raise ValueError(value)
        return '"' + value + suffix

    return lambda field: convert


def _yearmonth(field: Mapping[str, Any]) -> Convert:
    suffix = _typed(XSD.gYearMonth)

    def convert(value: str) -> str:
        match = _YEARMONTH(value)
        if not match or not 1 <= int(match[2]) <= 12:
            raise ValueError(value)
        return f'"{match[1]}-{int(match[2]):02d}{suffix}'

    return convert


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_JSON_DECODER = json.JSONDecoder(parse_constant=_no_constant)  # NaN/Infinity are not JSON


def _json(field: Mapping[str, Any]) -> Convert:
    kind = list if field["type"] == "array" else dict
    suffix = f"^^<{RDF.JSON}>"

    def convert(value: str) -> str:
        try:
            parsed = _JSON_DECODER.decode(value)
        except RecursionError as exc:
            raise ValueError("JSON nested too deeply") from exc
        if not isinstance(parsed, kind):
            raise ValueError(value)
        return string_literal(value) + suffix

    return convert


_CONVERTERS: dict[str, Callable[[Mapping[str, Any]], Convert]] = {
    "integer": _integer, "number": _number, "boolean": _boolean, "date": _temporal,
    "datetime": _temporal, "time": _temporal, "year": _matching(_YEAR, XSD.gYear),
    "yearmonth": _yearmonth, "duration": _matching(_DURATION, XSD.duration),
    "object": _json, "array": _json, "geojson": _json,
}


#: The datatype each Table Schema type is published with (number may also give xsd:double).
DATATYPES: dict[str, str] = {
    "integer": str(XSD.integer), "number": str(XSD.decimal), "boolean": str(XSD.boolean),
    "date": str(XSD.date), "datetime": str(XSD.dateTime), "time": str(XSD.time),
    "year": str(XSD.gYear), "yearmonth": str(XSD.gYearMonth), "duration": str(XSD.duration),
    "object": str(RDF.JSON), "array": str(RDF.JSON), "geojson": str(RDF.JSON),
    **{kind: str(XSD.string) for kind in STRING_TYPES},
}


def converter_for(field: Mapping[str, Any]) -> Convert:
    """The cell → N-Triples literal function for a Table Schema field; ValueError for unknown types."""
    kind = field.get("type") or "string"
    if kind in STRING_TYPES:
        return string_literal
    if kind not in _CONVERTERS:
        raise ValueError(f"unknown field type {kind!r}")
    return _CONVERTERS[kind]({**field, "type": kind})
