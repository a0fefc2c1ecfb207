"""CSVW datatypes: the built-in names, derived datatype descriptions, and per-column cell converters.

A `Datatype` is read once per column from its (normalised) description; `converter` then gives a
function from a cell's string to its N-Triples object term, raising ValueError for a string that
does not parse or breaks a constraint (the caller warns and keeps the string).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import isodate

from vocab.csvw.errors import CsvwError, warn
from vocab.csvw.formats import SPECIAL_FLOATS, Number, Parse, number_parser
from vocab.csvw.temporal import XSD_LEXICAL, duration_key, duration_parser, temporal_key, temporal_parser

XSD = "http://www.w3.org/2001/XMLSchema#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
CSVW = "http://www.w3.org/ns/csvw#"

_XSD_NAMES = (
    "anyAtomicType anyURI base64Binary boolean date dateTime dateTimeStamp decimal integer long int "
    "short byte nonNegativeInteger positiveInteger unsignedLong unsignedInt unsignedShort unsignedByte "
    "nonPositiveInteger negativeInteger double float duration dayTimeDuration yearMonthDuration gDay "
    "gMonth gMonthDay gYear gYearMonth hexBinary QName string normalizedString token language Name "
    "NMTOKEN time").split()
BUILTINS: dict[str, str] = {name: XSD + name for name in _XSD_NAMES}
BUILTINS.update({"xml": RDF + "XMLLiteral", "html": RDF + "HTML", "json": CSVW + "JSON"})
ALIASES = {"number": "double", "binary": "base64Binary", "datetime": "dateTime", "any": "anyAtomicType"}
BUILTIN_IRIS = frozenset(BUILTINS.values())

INTEGER_RANGES: dict[str, tuple[int | None, int | None]] = {
    "integer": (None, None), "long": (-2**63, 2**63 - 1), "int": (-2**31, 2**31 - 1),
    "short": (-2**15, 2**15 - 1), "byte": (-128, 127), "nonNegativeInteger": (0, None),
    "positiveInteger": (1, None), "unsignedLong": (0, 2**64 - 1), "unsignedInt": (0, 2**32 - 1),
    "unsignedShort": (0, 2**16 - 1), "unsignedByte": (0, 255), "nonPositiveInteger": (None, 0),
    "negativeInteger": (None, -1)}
NUMERIC = frozenset(INTEGER_RANGES) | {"decimal", "double", "float"}
TEMPORAL = frozenset({"date", "dateTime", "dateTimeStamp", "time", "gYear", "gYearMonth", "gMonth",
                      "gDay", "gMonthDay"})
DURATIONS = frozenset({"duration", "dayTimeDuration", "yearMonthDuration"})
LENGTHY = frozenset({"string", "normalizedString", "token", "language", "Name", "NMTOKEN", "xml", "html",
                     "json", "anyURI", "base64Binary", "hexBinary", "QName"})
STRINGISH = frozenset({"string", "normalizedString", "token", "language", "Name", "NMTOKEN", "xml",
                       "html", "json", "anyURI", "QName", "anyAtomicType"})
BOUNDS = ("minimum", "maximum", "minInclusive", "maxInclusive", "minExclusive", "maxExclusive")
LENGTHS = ("length", "minLength", "maxLength")

Convert = Callable[[str], str]

_PLAIN_INTEGER = re.compile(r"[+-]?[0-9]+").fullmatch
_PLAIN_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)").fullmatch


@dataclass
class Datatype:
    """A column's datatype: its built-in base, the IRI its literals carry, format and constraints."""

    base: str = "string"
    iri: str = XSD + "string"
    format: Any = None
    constraints: dict[str, Any] = field(default_factory=dict)

    @property
    def plain(self) -> bool:
        """Whether values are written as plain (possibly language-tagged) strings."""
        return self.iri in (XSD + "string", XSD + "anyAtomicType") and self.base in ("string", "anyAtomicType")


def datatype_from(description: Any) -> Datatype:
    """Read a (normalised) datatype description; CsvwError for one the specification forbids."""
    if description is None:
        return Datatype()
    if isinstance(description, str):
        name = ALIASES.get(description, description)
        if name in BUILTINS:
            return Datatype(name, BUILTINS[name])
        if description in BUILTIN_IRIS:
            name = next(n for n, iri in BUILTINS.items() if iri == description)
            return Datatype(name, description)
        warn(f"unknown datatype {description!r}: using string")
        return Datatype()
    if not isinstance(description, Mapping):
        warn(f"datatype {description!r} is not a string or object: using string")
        return Datatype()
    base = description.get("base", "string")
    base = ALIASES.get(base, base) if isinstance(base, str) else base
    if base not in BUILTINS:
        warn(f"unknown base datatype {base!r}: using string")
        base = "string"
    ident = description.get("@id")
    if ident is not None:
        if not isinstance(ident, str) or ident.startswith("_:"):
            raise CsvwError(f"datatype @id {ident!r} must be an IRI, not a blank node")
        if ident in BUILTIN_IRIS:
            raise CsvwError(f"datatype @id {ident!r} must not be a built-in datatype")
    constraints = {key: description[key] for key in BOUNDS + LENGTHS if key in description}
    _check_constraints(base, constraints)
    return Datatype(base, ident or BUILTINS[base], description.get("format"), constraints)


def _check_constraints(base: str, constraints: dict[str, Any]) -> None:
    if "minimum" in constraints:
        constraints.setdefault("minInclusive", constraints.pop("minimum"))
    if "maximum" in constraints:
        constraints.setdefault("maxInclusive", constraints.pop("maximum"))
    lengths = {key: constraints[key] for key in LENGTHS if key in constraints}
    if lengths and base not in LENGTHY:
        raise CsvwError(f"length constraints on the non-string datatype {base!r}")
    for key, value in lengths.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise CsvwError(f"{key} must be a non-negative integer, not {value!r}")
    length = lengths.get("length")
    if length is not None and ("minLength" in lengths and length < lengths["minLength"]
                               or "maxLength" in lengths and length > lengths["maxLength"]):
        raise CsvwError("length is outside minLength..maxLength")
    if "minLength" in lengths and "maxLength" in lengths and lengths["minLength"] > lengths["maxLength"]:
        raise CsvwError("minLength is greater than maxLength")
    bounds = {key: constraints[key] for key in BOUNDS if key in constraints}
    if bounds and base not in NUMERIC | TEMPORAL | DURATIONS:
        raise CsvwError(f"range constraints on the datatype {base!r}")
    if "minInclusive" in bounds and "minExclusive" in bounds or "maxInclusive" in bounds and "maxExclusive" in bounds:
        raise CsvwError("both inclusive and exclusive bounds on one side")
    keys = {key: _bound_key(base, value) for key, value in bounds.items()}
    low = keys.get("minInclusive", keys.get("minExclusive"))
    high = keys.get("maxInclusive", keys.get("maxExclusive"))
    if low is not None and high is not None:
        try:
            strict = "minExclusive" in keys or "maxExclusive" in keys
            if high < low or (strict and high == low):
                raise CsvwError("the maximum is below the minimum")
        except TypeError:
            pass
    for key, value in keys.items():
        constraints[key] = value


def _bound_key(base: str, value: Any) -> Any:
    """A bound as a value comparable with parsed cells."""
    if base in NUMERIC:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise CsvwError(f"numeric bound {value!r} is not a number")
        try:
            return Decimal(str(value))
        except ArithmeticError:
            raise CsvwError(f"numeric bound {value!r} is not a number") from None
    if base in TEMPORAL and isinstance(value, str):
        match = XSD_LEXICAL[base].fullmatch(value)
        if match:
            return temporal_key(base, match.groupdict())
    if base in DURATIONS and isinstance(value, str):
        try:
            return duration_key(isodate.parse_duration(value))
        except (isodate.ISO8601Error, ValueError):
            pass
    raise CsvwError(f"bound {value!r} is not a {base}")


def literal(lexical: str, datatype: str | None = None, language: str | None = None) -> str:
    """An N-Triples literal (plain text, also for an rdflib `URIRef` datatype)."""
    text = f'"{escape(lexical)}"'
    if language:
        return f"{text}@{language}"
    if datatype and datatype != XSD + "string":
        return f"{text}^^<{datatype}>"
    return text


_NEEDS = re.compile('[\x00-\x1f"\\\\\x85\u2028\u2029]')


def escape(value: str) -> str:
    """`value` escaped for the inside of an N-Triples string."""
    if not _NEEDS.search(value):
        return value
    value = (value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
             .replace("\r", "\\r").replace("\t", "\\t"))
    return re.sub("[\x00-\x1f\x85\u2028\u2029]", lambda m: f"\\u{ord(m[0]):04X}", value)


def converter(datatype: Datatype, language: str | None) -> Convert:
    """The function from a (non-null) cell string to its N-Triples term; ValueError when invalid."""
    iri = datatype.iri
    parse = _parser(datatype)
    check = _constraint_check(datatype)
    if datatype.plain:
        language = None if not language or language == "und" else language
        if check is None and parse is None:
            if language:
                suffix = '"@' + language
                return lambda text: '"' + escape(text) + suffix
            return lambda text: '"' + escape(text) + '"'

    plain = datatype.plain
    suffix = '"^^<' + iri + ">"
    fast = None if check is not None or datatype.format is not None else _fast_converter(datatype.base, suffix)
    if fast is not None:
        return fast

    def convert(text: str) -> str:
        lexical, value = parse(text) if parse else (text, text)
        if check is not None:
            check(value, lexical)
        if plain:
            return literal(lexical, None, language)
        return '"' + escape(lexical) + suffix

    return convert


def _fast_converter(base: str, suffix: str) -> Convert | None:
    """A converter for the commonest unformatted, unconstrained types: check the text, keep it as is.

    A text that matches the XSD lexical pattern needs no escaping, and it is already a valid
    lexical form of its datatype.
    """
    if base in ("integer", "decimal"):
        plain = _PLAIN_INTEGER if base == "integer" else _PLAIN_DECIMAL

        def convert_number(text: str) -> str:
            if plain(text) is None:
                raise ValueError(f"{text!r} is not a {base}")
            return '"' + text + suffix
        return convert_number
    if base in ("date", "dateTime"):
        lexical = XSD_LEXICAL[base].fullmatch

        def convert_date(text: str) -> str:
            match = lexical(text)
            if match is None:
                raise ValueError(f"{text!r} is not a {base}")
            if text[4:5] == "-" and text[10:11] in ("", "T", "Z", "+", "-"):
                date.fromisoformat(text[:10])  # ValueError for a day the calendar lacks
                if base == "dateTime":
                    temporal_key(base, match.groupdict())
            else:
                temporal_key(base, match.groupdict())
            return '"' + text + suffix
        return convert_date
    return None


def _constraint_check(datatype: Datatype) -> Callable[[Any, str], None] | None:
    constraints = datatype.constraints
    if not constraints:
        return None
    base = datatype.base

    def check(value: Any, lexical: str) -> None:
        if base in LENGTHY:
            size = len(value) if isinstance(value, (bytes, str)) else len(lexical)
            if "length" in constraints and size != constraints["length"]:
                raise ValueError(f"{lexical!r} is not {constraints['length']} long")
            if "minLength" in constraints and size < constraints["minLength"]:
                raise ValueError(f"{lexical!r} is shorter than {constraints['minLength']}")
            if "maxLength" in constraints and size > constraints["maxLength"]:
                raise ValueError(f"{lexical!r} is longer than {constraints['maxLength']}")
            return
        try:
            if "minInclusive" in constraints and value < constraints["minInclusive"]:
                raise ValueError(f"{lexical!r} is below the minimum")
            if "maxInclusive" in constraints and value > constraints["maxInclusive"]:
                raise ValueError(f"{lexical!r} is above the maximum")
            if "minExclusive" in constraints and value <= constraints["minExclusive"]:
                raise ValueError(f"{lexical!r} is not above the exclusive minimum")
            if "maxExclusive" in constraints and value >= constraints["maxExclusive"]:
                raise ValueError(f"{lexical!r} is not below the exclusive maximum")
        except TypeError:
            raise ValueError(f"{lexical!r} cannot be compared with its bounds") from None

    return check


def _parser(datatype: Datatype) -> Parse | None:
    base, fmt = datatype.base, datatype.format
    if base in NUMERIC:
        return _number(base, fmt)
    if base == "boolean":
        return _boolean(fmt)
    if base in TEMPORAL:
        return temporal_parser(base, fmt)
    if base in DURATIONS:
        return duration_parser(base, _regex(fmt))
    checks: dict[str, Callable[[str], Any]] = {
        "base64Binary": lambda t: base64.b64decode(t, validate=True),
        "hexBinary": bytes.fromhex,
        "language": lambda t: _match(r"[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*", t),
    }
    regex = _regex(fmt)
    check = checks.get(base)
    if check is None and regex is None:
        return None

    def parse(text: str) -> tuple[str, Any]:
        if regex is not None and not regex.fullmatch(text):
            raise ValueError(f"{text!r} does not match the format {fmt!r}")
        value: Any = text
        if check is not None:
            try:
                value = check(text)
            except (binascii.Error, ValueError):
                raise ValueError(f"{text!r} is not a valid {base}") from None
        return text, value

    return parse


def _match(pattern: str, text: str) -> str:
    if not re.fullmatch(pattern, text):
        raise ValueError(text)
    return text


def _regex(fmt: Any) -> re.Pattern[str] | None:
    if fmt is None:
        return None
    if isinstance(fmt, str):
        try:
            return re.compile(fmt)
        except re.error:
            warn(f"format {fmt!r} is not a valid regular expression: ignored")
            return None
    warn(f"format {fmt!r} is not a string: ignored")
    return None


def _number(base: str, fmt: Any) -> Parse:
    pattern, decimal_char, group_char = None, ".", None
    if isinstance(fmt, str):
        pattern = fmt
    elif isinstance(fmt, Mapping):
        pattern = fmt.get("pattern")
        decimal_char = fmt.get("decimalChar", ".")
        group_char = fmt.get("groupChar")
    if pattern is not None:
        try:
            number_parser(pattern, decimal_char, group_char)("0")
        except ValueError as exc:
            if "pattern" in str(exc):
                warn(f"invalid number pattern {pattern!r}: ignored")
                pattern = None
    reader = number_parser(pattern, decimal_char, group_char)
    integral = base in INTEGER_RANGES
    if fmt is None and base in ("integer", "decimal"):
        plain = _PLAIN_INTEGER if integral else _PLAIN_DECIMAL

        def parse_plain(text: str) -> tuple[str, Any]:
            if plain(text) is None:
                raise ValueError(f"{text!r} is not a {base}")
            value = Decimal(text)
            if integral:
                return str(int(value)), value
            lexical = format(value, "f")
            if "." in lexical:
                lexical = lexical.rstrip("0").rstrip(".") or "0"
            return lexical, value

        return parse_plain
    low, high = INTEGER_RANGES.get(base, (None, None))
    is_float = base in ("double", "float")

    def parse(text: str) -> tuple[str, Any]:
        value: Number = reader(text)
        if isinstance(value, float):
            if not is_float:
                raise ValueError(f"{text!r} is not a {base}")
            return next(k for k, v in SPECIAL_FLOATS.items() if v is value or str(v) == str(value)), value
        if is_float:
            return repr(float(value)).replace("inf", "INF"), value
        if integral:
            if value != value.to_integral_value() or ("." in text and pattern is None and decimal_char == "."):
                raise ValueError(f"{text!r} is not an integer")
            number = int(value)
            if low is not None and number < low or high is not None and number > high:
                raise ValueError(f"{text!r} is out of the range of {base}")
            return str(number), value
        if "E" in text.upper() and pattern is None:
            raise ValueError(f"{text!r}: a decimal has no exponent")
        lexical = format(value, "f")
        if "." in lexical:
            lexical = lexical.rstrip("0").rstrip(".") or "0"
        return lexical, value

    return parse


def _boolean(fmt: Any) -> Parse:
    true: tuple[str, ...] = ("true", "1")
    false: tuple[str, ...] = ("false", "0")
    if isinstance(fmt, str) and fmt.count("|") == 1:
        yes, no = fmt.split("|")
        true, false = (yes,), (no,)
    elif fmt is not None:
        warn(f"boolean format {fmt!r} is not 'true|false': ignored")

    def parse(text: str) -> tuple[str, Any]:
        if text in true:
            return "true", True
        if text in false:
            return "false", False
        raise ValueError(f"{text!r} is not a boolean")

    return parse


