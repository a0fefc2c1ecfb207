"""How one column of raw CSV strings is checked against one Table Schema field, vectorised.

Each field gets a `ColumnPlan`: a *fast accept* (a strict pattern for the canonical spelling of
the type, then a polars cast) that turns most cells into typed values, and constraint checks
on those values. A fast accept only accepts what Frictionless accepts and reads it to the same
value; every other non-missing cell is a *residue* cell, read by Frictionless' own cell reader
for that field in Python — so a residue cell gets exactly Frictionless' verdict, value and notes.
On clean data the residue is empty; a type without a vectorised reading (email, uri, object,
array, most GeoJSON other than Points …) sends all its cells there: still exact, just slower.

Numbers are compared as float64 only when the cell is at most 15 bytes long without an exponent
and every bound has at most 15 significant digits, where float order equals decimal order; other
spellings go to the residue.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import polars as pl

#: A JSON number as GeoJSON coordinates spell it (strict JSON grammar).
_JSON_NUMBER = r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?"
_WS = r"[ \t\n\r]*"
_POSITION = rf"\[{_WS}{_JSON_NUMBER}{_WS},{_WS}{_JSON_NUMBER}{_WS}\]"
_TYPE_MEMBER = rf'"type"{_WS}:{_WS}"Point"'
_COORD_MEMBER = rf'"coordinates"{_WS}:{_WS}{_POSITION}'
#: A GeoJSON Point object with exactly the members `type` and `coordinates` (either order).
GEOJSON_POINT = (rf"^{_WS}\{{{_WS}(?:{_TYPE_MEMBER}{_WS},{_WS}{_COORD_MEMBER}|"
                 rf"{_COORD_MEMBER}{_WS},{_WS}{_TYPE_MEMBER}){_WS}\}}{_WS}$")

_DURATION = r"^P(?:[0-9]+Y)?(?:[0-9]+M)?(?:[0-9]+D)?(?:T(?:[0-9]+H)?(?:[0-9]+M)?(?:[0-9]+S)?)?$"
_GEOPOINT = r"^-?[0-9]{1,3}(?:\.[0-9]{1,12})?[ \t]*,[ \t]*-?[0-9]{1,2}(?:\.[0-9]{1,12})?$"
#: strptime directives whose fixed-width, zero-padded spelling Python and polars read alike.
_DIRECTIVES = {"%Y": "[0-9]{4}", "%m": "[0-9]{2}", "%d": "[0-9]{2}", "%H": "[0-9]{2}",
               "%M": "[0-9]{2}", "%S": "[0-9]{2}"}
_EPOCH = datetime(1970, 1, 1)
#: Days from 1970-01-01 back to 0001-01-01, the first date Python has.
_DAY_ONE = (date(1, 1, 1) - date(1970, 1, 1)).days
#: Types whose typed values the fast path keeps, so they can be hashed for unique/primary keys.
KEYED_TYPES = {"string", "integer", "number", "date", "datetime", "year", "boolean", "time",
               "yearmonth", "any"}


@dataclass
class Parsed:
    """The fast reading of a column (polars expressions): which cells it accepts, their typed values."""

    ok: pl.Expr
    values: pl.Expr | None


Check = Callable[[pl.Expr, pl.Expr], pl.Expr]
#: A fast reader: (raw cells, the column that will hold its typed values) → Parsed.
Parser = Callable[[pl.Expr, pl.Expr], Parsed]
_TRUE = pl.lit(True)


@dataclass
class ColumnPlan:
    """How one field's column is read and constrained."""

    field: Any
    missing_values: list[str]
    parse: Parser | None
    checks: list[tuple[str, Check]] = field(default_factory=list)
    required: bool = False

    def read(self, cells: pl.Expr, missing: pl.Expr, typed: pl.Expr) -> Parsed:
        """Fast-accept the non-missing cells of a column (nothing, when the plan has no parser).

        `typed` names the column where the caller puts `values`, so `ok` can test the typed
        value without computing it again.
        """
        if self.parse is None:
            return Parsed(pl.lit(False), None)
        parsed = self.parse(cells, typed)
        parsed.ok = (parsed.ok & ~missing).fill_null(False)
        return parsed


def number_digits_ok(value: Any) -> bool:
    """True when a Decimal/int bound has at most 15 significant digits (exact as float64)."""
    if isinstance(value, int):
        return abs(value) < 10 ** 15
    if isinstance(value, Decimal) and value.is_finite():
        return len(value.as_tuple().digits) <= 15
    return False


def _regex_ok(cells: pl.Expr, pattern: str) -> pl.Expr:
    """Boolean mask of cells that match a (Rust) regex in full."""
    return cells.str.contains(pattern)


def _parse_string(fmt: str) -> Parser | None:
    if fmt != "default":
        return None
    return lambda cells, typed: Parsed(_TRUE, cells)


def _parse_integer(cells: pl.Expr, typed: pl.Expr) -> Parsed:
    # Rust's i64 parser takes an optional sign and ASCII digits: a subset of what int() takes,
    # read to the same value.
    return Parsed(typed.is_not_null(), cells.str.to_integer(strict=False))


def _number_parser(field: Any) -> Parser:
    defined = set(field.list_defined())
    group = field.group_char if "group_char" in defined else ""
    decimal = field.decimal_char if "decimal_char" in defined else "."
    bare = field.bare_number

    def parse(cells: pl.Expr, typed: pl.Expr) -> Parsed:
        text = cells
        if not bare:
            text = text.str.replace(r"^[^-\d]*", "").str.replace(r"\D*$", "")
        if group:
            text = text.str.replace_all(group, "", literal=True)
        guard = _TRUE
        if decimal != ".":
            guard = ~cells.str.contains(".", literal=True)
            text = text.str.replace_all(decimal, ".", literal=True)
        # Rust's float parser accepts a subset of what Decimal() accepts, to the same value
        # (signs, ".5", "5.", inf, nan); with at most 15 bytes and no exponent the value is
        # exact enough that float order is decimal order. Exponents, infinities and NaN
        # (which polars orders above every number) all hold an e or an n: they are left to
        # Frictionless' reader.
        ok = (guard & typed.is_not_null() & (text.str.len_bytes() <= 15)
              & ~text.str.contains("[eEnN]"))
        return Parsed(ok, text.cast(pl.Float64, strict=False) + 0.0)

    return parse


def _integer_parser(field: Any) -> Parser:
    if field.bare_number:
        return _parse_integer

    def parse(cells: pl.Expr, typed: pl.Expr) -> Parsed:
        return _parse_integer(cells.str.replace(r"^[^-\d]*", "").str.replace(r"\D*$", ""), typed)

    return parse


def _boolean_parser(field: Any) -> Parser:
    trues = [str(v) for v in field.true_values]
    falses = [str(v) for v in field.false_values]

    def parse(cells: pl.Expr, typed: pl.Expr) -> Parsed:
        return Parsed(cells.is_in(trues + falses), ~cells.is_in(falses))

    return parse


def _strptime_parser(fmt: str, kind: str) -> Parser | None:
    """A fast reader for a strptime format made only of fixed-width directives and literals."""
    pieces = re.split(r"(%.)", fmt)
    regex = []
    for piece in pieces:
        if piece.startswith("%") and len(piece) == 2:
            if piece not in _DIRECTIVES:
                return None
            regex.append(_DIRECTIVES[piece])
        else:
            regex.append(re.escape(piece))
    pattern = "^" + "".join(regex) + "$"
    low = {"date": _DAY_ONE, "datetime": _DAY_ONE * 86_400_000_000}.get(kind)

    def parse(cells: pl.Expr, typed: pl.Expr) -> Parsed:
        if kind == "date":
            values = cells.str.to_date(fmt, strict=False).cast(pl.Int64)
        elif kind == "datetime":
            values = cells.str.to_datetime(fmt, strict=False, time_unit="us").cast(pl.Int64)
        else:
            values = cells.str.to_time(fmt, strict=False).cast(pl.Int64)
        ok = _regex_ok(cells, pattern) & typed.is_not_null()
        if low is not None:  # year 0 parses in polars, not in Python
            ok = ok & (typed >= low).fill_null(False)
        return Parsed(ok, values)

    return parse


def _parse_year(cells: pl.Expr, typed: pl.Expr) -> Parsed:
    return Parsed(_regex_ok(cells, r"^[0-9]{4}$"), cells.str.to_integer(strict=False))


def _parse_yearmonth(cells: pl.Expr, typed: pl.Expr) -> Parsed:
    ok = _regex_ok(cells, r"^[0-9]{4}-(?:0[1-9]|1[0-2])$")
    year = cells.str.slice(0, 4).str.to_integer(strict=False)
    month = cells.str.slice(5, 2).str.to_integer(strict=False)
    return Parsed(ok, year * 12 + month - 1)


def _parse_duration(cells: pl.Expr, typed: pl.Expr) -> Parsed:
    ok = (_regex_ok(cells, _DURATION) & cells.str.contains("[0-9]") & ~cells.str.ends_with("T"))
    return Parsed(ok, None)


def _only_ok(pattern: str) -> Parser:
    return lambda cells, typed: Parsed(_regex_ok(cells, pattern), None)


def _geopoint_parser(cells: pl.Expr, typed: pl.Expr) -> Parsed:
    ok = _regex_ok(cells, _GEOPOINT)
    parts = cells.str.split_exact(",", 1)
    lon = parts.struct.field("field_0").str.strip_chars(" \t").cast(pl.Float64, strict=False)
    lat = parts.struct.field("field_1").str.strip_chars(" \t").cast(pl.Float64, strict=False)
    inside = (lon.abs() <= 180) & (lat.abs() <= 90)
    return Parsed(ok & inside.fill_null(False), None)


def _parser(field: Any) -> Parser | None:
    """The fast reader of a field's type and format, or None when every cell goes to the residue."""
    kind, fmt = field.type, getattr(field, "format", "default")
    if kind == "string":
        return _parse_string(fmt)
    if kind == "any":
        return lambda cells, typed: Parsed(_TRUE, cells)
    if kind == "integer":
        return _integer_parser(field)
    if kind == "number":
        return _number_parser(field)
    if kind == "boolean":
        return _boolean_parser(field)
    if kind == "date":
        return _strptime_parser("%Y-%m-%d" if fmt == "default" else fmt, "date") if fmt != "any" else None
    if kind == "datetime":
        return _strptime_parser("%Y-%m-%dT%H:%M:%S", "datetime") if fmt == "default" else (
            _strptime_parser(fmt, "datetime") if fmt != "any" else None)
    if kind == "time":
        return _strptime_parser("%H:%M:%S", "time") if fmt == "default" else (
            _strptime_parser(fmt, "time") if fmt != "any" else None)
    if kind == "year":
        return _parse_year
    if kind == "yearmonth":
        return _parse_yearmonth
    if kind == "duration":
        return _parse_duration
    if kind == "geojson" and fmt == "default":
        return _only_ok(GEOJSON_POINT)
    if kind == "geopoint" and fmt == "default":
        return _geopoint_parser
    return None


def temporal_number(value: date | datetime | time) -> int | None:
    """A date, datetime or time as the integer polars casts it to (days, µs, ns); None when zoned."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return None
        return (value - _EPOCH) // timedelta(microseconds=1)
    if isinstance(value, date):
        return (value - _EPOCH.date()).days
    if value.tzinfo is not None:
        return None
    return ((value.hour * 60 + value.minute) * 60 + value.second) * 10**9 + value.microsecond * 1000


def _literal(field: Any, value: Any) -> Any:
    """A constraint value read as Frictionless reads it, in the form the fast values take."""
    read = field.create_value_reader()(value)
    if read is None:
        raise ValueError(f"constraint value {value!r} is not a valid {field.type}")
    if field.type == "number":
        if not number_digits_ok(read):
            raise ValueError(f"constraint value {value!r} has more than 15 significant digits")
        return float(read)
    if field.type == "yearmonth":
        return read.year * 12 + read.month - 1
    if isinstance(read, (datetime, date, time)):
        number = temporal_number(read)
        if number is None:
            raise ValueError("time-zone aware bounds")
        return number
    if isinstance(read, (int, float, str, bool)):
        return read
    raise ValueError(f"constraint value {value!r} cannot be compared in bulk")


def _bound(op: str, limit: Any) -> Check:
    def check(values: pl.Expr, cells: pl.Expr) -> pl.Expr:
        result = {"minimum": values >= limit, "maximum": values <= limit,
                  "exclusiveMinimum": values > limit, "exclusiveMaximum": values < limit}[op]
        return ~result.fill_null(True)

    return check


def _plan_check(field: Any, name: str, constraint: Any) -> Check:
    """The vectorised check for one constraint; ValueError when it cannot be vectorised."""
    if name in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return _bound(name, _literal(field, constraint))
    if name == "enum":
        if field.type in ("string", "any"):
            if not all(isinstance(v, str) for v in constraint):
                raise ValueError("non-string enum members")
            members = list(constraint)
        else:
            members = [_literal(field, v) for v in constraint]
        return lambda values, cells: ~values.is_in(members).fill_null(True)
    if name in ("minLength", "maxLength") and field.type == "string":
        size = int(constraint)
        if name == "minLength":
            return lambda values, cells: cells.str.len_chars() < size
        return lambda values, cells: cells.str.len_chars() > size
    if name == "pattern" and field.type == "string":
        # The same "^…$" wrapping Frictionless compiles; Rust's "$" is at least as strict
        # as Python's, so a cell Rust rejects is re-checked by Python (see engine).
        regex = "^{0}$".format(constraint)
        pl.Series([""]).str.contains(regex)  # raises on a pattern Rust's regex cannot compile
        return lambda values, cells: ~cells.str.contains(regex)
    raise ValueError(f"constraint {name!r} on a {field.type} field")


def plan_column(field: Any, schema_missing: list[str]) -> ColumnPlan:
    """Build the plan of one frictionless `Field`."""
    missing = field.missing_values if field.has_defined("missing_values") else schema_missing
    plan = ColumnPlan(field, [str(v) for v in missing], _parser(field))
    for name in field.supported_constraints:
        constraint = field.constraints.get(name)
        if constraint is None:
            continue
        if name == "required":
            plan.required = bool(constraint)
            continue
        if plan.parse is None:
            continue
        try:
            plan.checks.append((name, _plan_check(field, name, constraint)))
        except Exception:
            plan.parse = None  # every cell goes through Frictionless' own reader
            plan.checks = []
    if plan.parse is not None and plan.checks and field.type in ("duration", "geojson", "geopoint"):
        plan.parse, plan.checks = None, []
    return plan


def pattern_rechecks(field: Any) -> re.Pattern[str] | None:
    """The Python pattern Frictionless uses for a string field, for cells Rust's regex rejected."""
    constraint = field.constraints.get("pattern")
    if constraint is None or field.type != "string":
        return None
    return re.compile("^{0}$".format(constraint))
