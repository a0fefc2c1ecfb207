"""Errors the fast path finds: their counts, their wording, and their order inside a row.

Wording and order are Frictionless': the messages use its templates, and `order_found` sorts
errors the way its lazy row reading produces them (see `row_events`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: `_Found.phase` of errors found by reading cells (type, constraint, blank row) and by keys.
CELL, UNIQUE, PRIMARY = 0, 1, 2


@dataclass(order=True)
class Found:
    """One error, sortable into Frictionless' order."""

    row: int
    phase: int
    column: int
    sub: int
    code: str = field(compare=False)
    message: str = field(compare=False)
    field_name: str | None = field(compare=False)
    #: The cell as written, for errors about one cell.
    value: str | None = field(default=None, compare=False)

    @property
    def located_column(self) -> int | None:
        """1-based column of an error about one field (None for row errors)."""
        return self.column + 1 if self.code in ("type-error", "constraint-error",
                                                "unique-error") else None


class Collector:
    """Counts every error and keeps the details of the first `limit` in Frictionless' order."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.counts: Counter[str] = Counter()
        self.found: list[Found] = []

    def wants(self) -> int | None:
        """How many details of one more kind of error could still be kept (None: all)."""
        return self.limit

    def add(self, code: str, count: int, details: list[Found]) -> None:
        """Count `count` errors of `code`, of which `details` are the first few."""
        self.counts[code] += count
        self.found.extend(details)

    def trim(self) -> None:
        """Drop errors in rows after the row of the `limit`-th error (whole rows are kept,
        as the order inside a row is only known once its unique and key errors are)."""
        if self.limit is not None and len(self.found) > self.limit:
            self.found.sort()
            last = self.found[self.limit - 1].row
            self.found = [f for f in self.found if f.row <= last]


#: Which event of a row (see `_Run._ranks`) an error code belongs to, given its column.
EVENTS: dict[str, Callable[[int], tuple[str, int]]] = {"type-error": lambda column: ("cell", column),
           "constraint-error": lambda column: ("cell", column),
           "blank-row": lambda column: ("blank", -1),
           "unique-error": lambda column: ("unique", column),
           "primary-key": lambda column: ("pk", -1)}


def message(code: str, row: int, field_name: str, column: int, cell: str, note: str) -> str:
    """Frictionless' message for an error (its templates, word for word)."""
    name = field_name
    if code == "type-error":
        return (f'Type error in the cell "{cell}" in row "{row}" and field "{name}" at position '
                f'"{column + 1}": {note}')
    if code == "constraint-error":
        return (f'The cell "{cell}" in row at position "{row}" and field "{name}" at position '
                f'"{column + 1}" does not conform to a constraint: {note}')
    if code == "unique-error":
        return (f'Row at position "{row}" has unique constraint violation in field "{name}" at '
                f'position "{column + 1}": {note}')
    if code == "primary-key":
        return f'Row at position "{row}" violates the primary key: {note}'
    return f'Row at position "{row}" is completely blank'


def constraint_note(field: Any, name: str) -> str:
    """Frictionless' note for a broken constraint of a field."""
    return f'constraint "{name}" is "{field.constraints[name]}"'


def row_events(width: int, unique_columns: list[int], key_columns: list[int],
               duplicated: frozenset[int], key_error: bool) -> dict[tuple[str, int], int]:
    """Position of each event inside one row, in the order Frictionless produces them.

    Frictionless reads a row lazily: the unique check reads each unique field's cell first,
    the primary-key check then reads the key's cells, and the whole row is read (every other
    cell in field order, then the blank-row verdict) the first time an error is added to it
    or when the row's errors are collected. `duplicated` holds the unique columns with a
    unique-error in the row, `key_error` whether the row has a primary-key error.
    """
    order: list[tuple[str, int]] = []
    done: set[int] = set()

    def read(column: int) -> None:
        if column not in done:
            done.add(column)
            order.append(("cell", column))

    def read_all() -> None:
        if ("blank", -1) not in order:
            for column in range(width):
                read(column)
            order.append(("blank", -1))

    for column in unique_columns:
        read(column)
        if column in duplicated:
            read_all()
            order.append(("unique", column))
    if key_columns:
        for column in key_columns:
            read(column)
        if key_error:
            read_all()
            order.append(("pk", -1))
    read_all()
    return {event: n for n, event in enumerate(order)}


def order_found(found: list[Found], width: int, unique_columns: list[int],
                key_columns: list[int]) -> list[Found]:
    """The errors in Frictionless' order: by row, then as `row_events` orders a row."""
    special: dict[int, tuple[set[int], list[bool]]] = {}
    for f in found:
        if f.code in ("unique-error", "primary-key"):
            columns, flagged = special.setdefault(f.row, (set(), [False]))
            if f.code == "unique-error":
                columns.add(f.column)
            else:
                flagged[0] = True
    plain = row_events(width, unique_columns, key_columns, frozenset(), False)
    cache: dict[tuple[frozenset[int], bool], dict[tuple[str, int], int]] = {}

    def position(f: Found) -> tuple[int, int, int]:
        ranks = plain
        if f.row in special:
            columns, flag = special[f.row]
            marker = (frozenset(columns), flag[0])
            if marker not in cache:
                cache[marker] = row_events(width, unique_columns, key_columns, *marker)
            ranks = cache[marker]
        return f.row, ranks[EVENTS[f.code](f.column)], f.sub

    return sorted(found, key=position)
