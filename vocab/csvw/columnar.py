"""Columnar plans: one table's CSVW annotations compiled into polars expressions over a chunk of rows.

Built from the row path's own `ColumnPlan`s (vocab/csvw/conversion.py), so null tokens, defaults,
whitespace rules, datatypes and templates mean exactly what they mean there. Each expression
decides what it can in bulk and leaves a null where it cannot (a value that needs percent-encoding
or IRI resolution, a literal that needs a parser, an invalid cell); `vocab.csvw.vectorised` fills
those few cells with the row path's own functions, so the output is the same, only faster.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from vocab.csvw.context import expand_prefixed
from vocab.csvw.conversion import COLUMN_VARIABLES, ColumnPlan
from vocab.csvw.model import Table
from vocab.csvw.templates import OPERATORS, Expand, compile_template, expand, parse_template, variables_of

ROW_VARIABLES = ("_row", "_sourceRow")
# Cells of these shapes are written as they are (the row path checks them against the same patterns).
PLAIN_NUMBER = {"integer": r"^[+-]?[0-9]+$", "decimal": r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$"}
PLAIN_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
SAFE = {False: r"^[A-Za-z0-9_.~-]*$",  # kept as they are by quote(safe="~")
        True: r"^[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=-]*$"}  # kept by a reserved expansion ('%' left out)
NEEDS_ESCAPE = r'[\x00-\x1F"\\\x{85}\x{2028}\x{2029}]'  # what datatypes.escape changes: left to Python
WHITESPACE = (r"[\t\n\x0B\x0C\r\x1C-\x1F \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}"
              r"\x{3000}]")  # PYTHON_WHITESPACE as a regex class
UNNORMAL = r"^[ \t\n\r]|[ \t\n\r]$|[\t\n\r]|  "
STRING_BASES = frozenset({"string", "anyAtomicType", "anyURI", "normalizedString", "token", "Name", "NMTOKEN",
                          "QName", "json", "xml", "html"})


class Unsupported(Exception):
    """A feature the columnar path leaves to the row path."""


# The characters `str.strip()` removes (str.isspace), as tests/test_csvw_vectorised.py checks.
PYTHON_WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
                     "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")


@dataclass
class Piece:
    """One part of a template: literal text, or a variable with its operator's prefix and encoding."""

    text: str
    variable: str | None = None
    reserved: bool = False


class TemplatePlan:
    """A URI template of one column, as pieces; `expand` is the row path's compiled template."""

    def __init__(self, template: str, plan: ColumnPlan, table: Table, names: frozenset[str]) -> None:
        self.expand: Expand = compile_template(template, table.url)
        constants = {"_column": plan.index + 1, "_sourceColumn": plan.index + 1, "_name": plan.name}
        self.constants = constants if variables_of(template) & COLUMN_VARIABLES else {}
        parts = parse_template(template)
        self.pieces: list[Piece] = []
        for part in parts:
            if isinstance(part, str):
                self.pieces.append(Piece(part))
                continue
            operator, specs = part
            if (operator not in (OPERATORS[""], OPERATORS["+"], OPERATORS["#"]) or len(specs) != 1
                    or specs[0].prefix is not None or specs[0].explode):
                raise Unsupported(f"URI template {template!r}: an expression the columnar path does not take")
            name = specs[0].name
            if name in self.constants or name not in names and name not in ROW_VARIABLES:
                self.pieces.append(Piece(expand([part], self.constants)))
            else:
                self.pieces.append(Piece(operator.first, name, operator.allow_reserved))
        head = parts[0] if parts and isinstance(parts[0], str) else ""
        self.absolute = "://" in head and expand_prefixed(head) is None
        self.variables = [p.variable for p in self.pieces if p.variable is not None]
        self.constant = self.expand(self.constants) if not self.variables else None

    def expression(self, values: Mapping[str, pl.Expr], rows: Mapping[str, pl.Expr], listed: frozenset[str]) -> pl.Expr:
        """The expanded IRI per row, null where Python must expand it (always, for a list variable)."""
        if self.constant is not None:
            return pl.lit(self.constant)
        if not self.absolute or listed & set(self.variables):
            return pl.lit(None, pl.String)
        pieces = []
        for piece in self.pieces:
            if piece.variable is None:
                pieces.append(pl.lit(piece.text))
            elif piece.variable in ROW_VARIABLES:
                pieces.append(pl.lit(piece.text) + rows[piece.variable])
            else:
                value = values[piece.variable]
                pieces.append(pl.when(value.is_null()).then(pl.lit(""))
                              .when(value.str.contains(SAFE[piece.reserved])).then(pl.lit(piece.text) + value)
                              .otherwise(pl.lit(None, pl.String)))
        joined = pl.concat_str(pieces, ignore_nulls=False)
        return pl.when(joined.str.contains("/.", literal=True)).then(pl.lit(None, pl.String)).otherwise(joined)

    def in_python(self, variables: Mapping[str, Any]) -> str:
        """The row path's expansion for one row's variables."""
        return self.expand({**variables, **self.constants})


class CellPlan:
    """Which raw cells of a column are clean: their value is the cell itself, and their term '"' + cell + suffix.

    A clean cell needs no trimming, normalising, default or null handling, and (for a column
    written as literals) no escaping and no parsing beyond a check of its shape. Everything else is
    computed for the few cells concerned: values by `value_expression`, terms by the row path's
    converter.
    """

    def __init__(self, plan: ColumnPlan, trim: str) -> None:
        self.plan = plan
        datatype = plan.column.datatype
        simple = datatype.format is None and not datatype.constraints
        lang = plan.column.get("lang")
        self.extra_nulls = sorted(n for n in plan.nulls if n != "")
        self.kind = "python"
        self.suffix = '"^^<' + datatype.iri + ">"
        if simple and datatype.plain:
            self.kind = "string"
            self.suffix = '"@' + lang if lang and lang != "und" else '"'
        elif simple and datatype.base in STRING_BASES:
            self.kind = "string"
        elif simple and datatype.base in PLAIN_NUMBER:
            self.kind = datatype.base
        elif simple and datatype.base == "date":
            self.kind = "date"
        self.trim = trim
        # What normalising would change, besides what trimming and escaping already exclude.
        self.unclean = [r"^[ \t\n\r]", r"[ \t\n\r]$", r"[\t\n\r]|  "] if plan.normalise is not None else []

    def pattern(self, literal: bool) -> str:
        """A regex that a clean, non-empty cell matches whole: no whitespace that trimming removes at its
        ends and (`literal`) nothing that needs escaping anywhere; one scan of the cell."""
        needs = NEEDS_ESCAPE[1:-1] if literal else ""
        edge = f"[^{WHITESPACE[1:-1]}{needs}]"
        inner = f"[^{needs}]" if needs else "(?s:.)"
        return {"true": f"^{edge}(?:{inner}*{edge})?$", "start": f"^{edge}{inner}*$",
                "end": f"^{inner}*{edge}$"}.get(self.trim, f"^{inner}+$")

    def clean(self, raw: pl.Expr, literal: bool) -> pl.Expr:
        """Whether each cell is clean (`literal`: its term, too, is the cell in quotes); never for lists."""
        never = raw.is_null() & pl.lit(False)  # a column, so that a frame of masks keeps the chunk's height
        if self.plan.separator is not None:
            return never
        if self.kind in PLAIN_NUMBER:
            clean = raw.str.contains(PLAIN_NUMBER[self.kind])
        elif self.kind == "date":
            clean = raw.str.contains(PLAIN_DATE)
            if literal:
                # Year 0000 and days the calendar lacks are left to the row path's own check.
                clean = clean & ~raw.str.starts_with("0000") & raw.str.to_date("%Y-%m-%d", strict=False).is_not_null()
        elif literal and self.kind != "string":
            return never  # a term only the row path's converter can give
        else:
            clean = raw.str.contains(self.pattern(literal))
            for pattern in self.unclean:
                clean = clean & ~raw.str.contains(pattern)
        if self.extra_nulls:
            clean = clean & ~raw.is_in(self.extra_nulls)
        return clean


def value_expression(plan: ColumnPlan, raw: pl.Expr) -> pl.Expr:
    """A cell's value as the row path computes it (trimmed already): normalised, defaulted, null if a null token."""
    value = raw
    if plan.normalise is not None:
        if plan.column.datatype.base == "normalizedString":
            normal = raw.str.replace_all(r"[\t\n\r]", " ")
        else:
            normal = raw.str.replace_all(r"[ \t\n\r]+", " ").str.strip_chars(PYTHON_WHITESPACE)
        value = pl.when(raw.str.contains(UNNORMAL)).then(normal).otherwise(raw)
    if plan.default != "":
        value = pl.when(value == "").then(pl.lit(plan.default)).otherwise(value)
    nulls = sorted(plan.nulls)
    if nulls == [""]:
        return pl.when(value == "").then(pl.lit(None, pl.String)).otherwise(value)
    return pl.when(value.is_in(nulls)).then(pl.lit(None, pl.String)).otherwise(value)


def trimmed(raw: pl.Expr, trim: str) -> pl.Expr:
    """The dialect's trimming, with `str.strip`'s own notion of whitespace."""
    if trim == "true":
        return raw.str.strip_chars(PYTHON_WHITESPACE)
    if trim == "start":
        return raw.str.strip_chars_start(PYTHON_WHITESPACE)
    if trim == "end":
        return raw.str.strip_chars_end(PYTHON_WHITESPACE)
    return raw


@dataclass
class Emitter:
    """One column that writes triples: its subject, predicate and object plans."""

    plan: ColumnPlan
    about: TemplatePlan | None
    predicate: TemplatePlan | str
    value_url: TemplatePlan | None
    literal: bool


class TablePlan:
    """A table compiled for the columnar path; `Unsupported` when it needs what only the row path does."""

    def __init__(self, table: Table, minimal: bool, trim: str) -> None:
        self.table = table
        self.plans = [ColumnPlan(column, table) for column in table.columns]
        self.real = [p for p in self.plans if not p.virtual]
        self.cells = {p.index: CellPlan(p, trim) for p in self.real}
        listed = {p.name for p in self.plans if p.separator is not None}
        if any(p.separator is not None and p.ordered for p in self.plans):
            raise Unsupported("an ordered list column (rdf:List nodes)")
        schema = table.schema
        if listed & set(schema.get("rowTitles", [])) or listed & set(schema.get("primaryKey") or []):
            raise Unsupported("a list column among the row titles or the primary key")
        self.listed = frozenset(listed)
        names = frozenset(p.name for p in self.real)
        self.emitters: list[Emitter] = []
        for plan in self.plans:
            if not plan.emit or (plan.virtual and plan.value is None):
                continue
            column = plan.column

            def template(key: str, plan: ColumnPlan = plan) -> TemplatePlan | None:
                text = plan.column.get(key)
                return TemplatePlan(text, plan, table, names) if text is not None else None

            predicate: TemplatePlan | str = template("propertyUrl") or str(plan.property)
            literal = column.get("valueUrl") is None
            self.emitters.append(Emitter(plan, template("aboutUrl"), predicate, template("valueUrl"), literal))
        keys = {None if e.about is None else e.plan.column.get("aboutUrl") for e in self.emitters}
        self.single_subject = len(keys) <= 1 and not any(e.about and e.about.constants for e in self.emitters)
        if not minimal and not self.single_subject:
            raise Unsupported("standard mode with more than one aboutUrl in a row")
        self.title_plans = [p for p in self.plans if p.name in schema.get("rowTitles", [])]
        primary_key = schema.get("primaryKey")
        self.key_plans = [p for p in self.plans if primary_key and p.name in primary_key]
