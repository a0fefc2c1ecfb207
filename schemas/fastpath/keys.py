"""Unique and primary-key checks in bounded memory: 64-bit hashes first, exact values second.

While the file streams past, each key (a unique field, or the primary key) keeps only a 64-bit
hash of every row's typed value plus that row's index — 16 bytes a row, whatever the width of
the values, so a million-row key costs 16 MB. Values Frictionless would read as equal hash as
equal (integers as int64, numbers as float64 with -0 folded into 0, dates as dates …); a value
that has no such exact form (an integer beyond int64, a time with a zone) is *odd* and is
always a candidate. At the end, rows whose hash occurs more than once, plus odd rows, are the
candidates: a second pass reads just those rows, types them with Frictionless' own readers and
runs Frictionless' own algorithm (a dict of value → last row) over them in row order. Rows that
are not candidates cannot equal any other row, so the errors — and their "same as in the row at
position N" notes — are exactly Frictionless'. Hash collisions only add candidates.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from datetime import time as dtime
from decimal import Decimal
from typing import Any

import polars as pl

from schemas.fastpath.columns import temporal_number

#: Seed of the row hash; any fixed value works, it only has to be the same in one run.
SEED = 0x10DE57A


@dataclass
class KeyIndex:
    """Hashes of one key's values over all rows read so far, one per row (null: not hashed)."""

    name: str
    columns: list[int]
    primary: bool
    hashes: list[pl.Series] = field(default_factory=list)
    odd: list[pl.Series] = field(default_factory=list)

    def add(self, start: int, hashes: pl.Series, odd: pl.Series | None = None) -> None:
        """Remember a chunk's hashes (null: no value to compare) and its odd rows, if any."""
        self.hashes.append(hashes)
        if odd is not None and odd.any():
            self.odd.append(odd.arg_true().cast(pl.Int64) + start)

    def candidates(self) -> pl.Series:
        """Sorted row indices that may hold a duplicate value.

        The repeated hashes are found by sorting one copy of them (8 bytes a row, no hash
        table); each chunk is then matched against that short list.
        """
        parts = list(self.odd)
        if self.hashes:
            ordered = pl.concat(self.hashes).drop_nulls().sort()
            repeated = ordered.filter(ordered == ordered.shift(1)).unique()
            del ordered
            if len(repeated):
                start = 0
                for hashes in self.hashes:
                    hit = hashes.is_in(repeated.implode()).fill_null(False)
                    if hit.any():
                        parts.append(hit.arg_true().cast(pl.Int64) + start)
                    start += len(hashes)
        if not parts:
            return pl.Series("row", [], dtype=pl.Int64)
        return pl.concat(parts).unique().sort()


def hash_expression(columns: list[pl.Expr], present: pl.Expr) -> pl.Expr:
    """The 64-bit hash of a key's typed values where `present`, else null (the same everywhere)."""
    return pl.when(present).then(pl.struct(columns).hash(SEED)).otherwise(None)


def key_form(kind: str, value: Any) -> tuple[Any, bool]:
    """A typed value in the form its column is hashed in; (None, True) when it has none (odd)."""
    if value is None:
        return None, False
    if kind in ("integer", "year"):
        return (value, False) if isinstance(value, int) and -(2**63) <= value < 2**63 else (None, True)
    if kind == "number":
        return (float(value) + 0.0, False) if isinstance(value, (Decimal, int, float)) else (None, True)
    if kind == "yearmonth":
        return value.year * 12 + value.month - 1, False
    if kind in ("date", "datetime", "time"):
        number = temporal_number(value) if isinstance(value, (date, dtime)) else None
        return (number, False) if number is not None else (None, True)
    if kind in ("string", "any") and not isinstance(value, str):
        return None, True
    return value, False


@dataclass(frozen=True)
class Duplicate:
    """A row whose key value was already seen: Frictionless' unique-error or primary-key error."""

    row_index: int
    previous_index: int


def find_duplicates(ordered: Iterable[tuple[int, Any]]) -> list[Duplicate]:
    """Frictionless' algorithm over (row index, typed value) in row order: match the last row seen."""
    memory: dict[Any, int] = {}
    found: list[Duplicate] = []
    for index, value in ordered:
        match = memory.get(value)
        memory[value] = index
        if match is not None:
            found.append(Duplicate(index, match))
    return found
