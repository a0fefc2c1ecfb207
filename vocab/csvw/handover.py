"""Handing the rest of a table to the row path: rows numbered on, blank nodes counted on, header not repeated."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from vocab.csvw.conversion import Terms
from vocab.csvw.dialect import Row, TableReader
from vocab.csvw.sink import Counter, Sink


class Shifted:
    """A reader over the rest of a table whose rows are numbered after those already converted."""

    def __init__(self, reader: TableReader, rows: int, source_rows: int) -> None:
        self.reader, self.rows_before, self.source_before = reader, rows, source_rows
        self.comments = reader.comments

    def rows(self) -> Iterator[Row]:
        """The remaining rows, renumbered."""
        for row in self.reader.rows():
            yield Row(row.number + self.rows_before, row.source_number + self.source_before, row.cells)


class Resumed(Terms):
    """Blank nodes for a table the row path takes over: its table node again, then the shared counter."""

    def __init__(self, counter: Counter, table_node: str, header_writes: int) -> None:
        super().__init__()
        self.counter, self.table_node, self.header_writes = counter, table_node, header_writes
        self.first = True

    def blank(self) -> str:
        """The table node first, throwaway labels while the (already written) header is replayed."""
        if self.header_writes <= 0:
            return self.counter.blank()
        if self.first:
            self.first = False
            return self.table_node
        return "_:unused"

    def write(self, sink: Sink) -> Callable[[str], None]:
        """A writer that drops the header the row path writes again."""
        def write(text: str) -> None:
            if self.header_writes > 0:
                self.header_writes -= 1
                return
            sink.text(text)
        return write
