"""Byte chunks of a CSV file for the columnar converter, each one checked to parse as the row path would.

The columnar converter reads a table's bytes in chunks that end at a line break and parses each
with polars. A chunk is accepted only when its parse is certain to equal the one Python's `csv`
module (the row path's reader) gives: no bare carriage returns, no blank lines, no NUL bytes,
every line that holds a quote character has an even number of them and parses (by `csv` itself)
into the same cells polars gives, and every other line has exactly the table's number of cells.
The first chunk that is not accepted ends the columnar conversion of that table; the row path
converts the rest of it from that chunk's first byte (a record boundary, since every chunk
before was a well-formed run of whole records).
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

import polars as pl

from vocab.csvw.dialect import Dialect


@dataclass(frozen=True)
class Layout:
    """What the chunk reader needs from a dialect the columnar path accepts."""

    delimiter: str
    quote: str
    width: int  # cells per record: the table's non-virtual columns

    @property
    def names(self) -> list[str]:
        """Column names for the parsed frame."""
        return [f"c{index}" for index in range(self.width)]


def layout_of(dialect: Dialect, width: int) -> Layout | str:
    """The chunk layout of `dialect`, or why the columnar path does not take it."""
    try:
        utf8 = codecs.lookup(dialect.encoding).name == "utf-8"
    except LookupError:
        utf8 = False
    problems = [
        (not utf8, "an encoding other than UTF-8"),
        (dialect.quote_char != '"' or not dialect.double_quote, "a quote character other than doubled '\"'"),
        (len(dialect.delimiter) != 1 or dialect.delimiter in '"\r\n', "an unusual delimiter"),
        (dialect.comment_prefix is not None, "a comment prefix"),
        (dialect.skip_rows or dialect.skip_columns or dialect.skip_blank_rows or dialect.skip_initial_space,
         "skipped rows, columns, blank rows or initial space"),
        (dialect.header_row_count not in (0, 1), "more than one header row"),
        (width < 1, "no columns"),
    ]
    for bad, reason in problems:
        if bad:
            return f"dialect: {reason}"
    return Layout(dialect.delimiter, dialect.quote_char or '"', width)


def data_start(data: bytes, dialect: Dialect, layout: Layout) -> int | None:
    """The offset of the first data record, or None when the header is not a record of one line."""
    start = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    for _ in range(dialect.header_row_count):
        end = data.find(b"\n", start)
        if end < 0:
            return len(data)
        if b"\r" in data[start:end - 1] or not _one_line_record(data[start:end + 1], layout):
            return None
        start = end + 1
    return start


def _one_line_record(line: bytes, layout: Layout) -> bool:
    """Whether `csv` reads a record from `line` without asking for the next line."""
    if layout.quote.encode() not in line:
        return True
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    asked = [0]

    def lines() -> Iterator[str]:
        asked[0] += 1
        yield text
        asked[0] += 1

    try:
        next(csv.reader(lines(), delimiter=layout.delimiter, quotechar=layout.quote, doublequote=True,
                        strict=False))
    except (csv.Error, StopIteration):
        return False
    return asked[0] == 1


def spans(data: bytes, start: int, size: int) -> Iterator[tuple[int, int]]:
    """(start, end) byte ranges of about `size` bytes, each ending just after a line break."""
    while start < len(data):
        end = data.find(b"\n", start + size)
        end = len(data) if end < 0 else end + 1
        yield start, end
        start = end


def _quoted_lines(chunk: bytes, layout: Layout, lines: int) -> list[tuple[int, list[str]]] | None:
    """(line number, cells) of each line holding a quote, as `csv` reads it; None if one is doubtful."""
    quote = layout.quote.encode()
    delimiter = layout.delimiter.encode()
    found: list[tuple[int, list[str]]] = []
    extra = 0
    line_number, counted = 0, 0
    position = chunk.find(quote)
    while position >= 0:
        begin = chunk.rfind(b"\n", 0, position) + 1
        end = chunk.find(b"\n", position)
        end = len(chunk) if end < 0 else end
        line = chunk[begin:end]
        if line.count(quote) % 2:
            return None
        line_number += chunk.count(b"\n", counted, begin)
        counted = begin
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            return None
        records = list(csv.reader(io.StringIO(text + "\n", newline=""), delimiter=layout.delimiter,
                                  quotechar=layout.quote, doublequote=True, strict=False))
        if len(records) != 1 or len(records[0]) != layout.width:
            return None
        found.append((line_number, records[0]))
        extra += line.count(delimiter) - (layout.width - 1)
        position = chunk.find(quote, end)
    # Every other line must have exactly width - 1 delimiters: counted in bulk.
    if chunk.count(delimiter) != (layout.width - 1) * lines + extra:
        return None
    return found


def parse(chunk: bytes, layout: Layout) -> pl.DataFrame | None:
    """The chunk's cells as strings ("" for empty), or None when its parse could differ from the row path's."""
    crlf = b"\r" in chunk
    if (b"\x00" in chunk or chunk.startswith((b"\n", b"\r\n")) or b"\n\n" in chunk
            or crlf and (chunk.count(b"\r") != chunk.count(b"\r\n") or b"\n\r\n" in chunk)):
        return None
    lines = chunk.count(b"\n") + (0 if chunk.endswith(b"\n") else 1)
    quoted = _quoted_lines(chunk, layout, lines)
    if quoted is None:
        return None
    names = layout.names
    try:
        frame = pl.read_csv(chunk, has_header=False, new_columns=names, schema={n: pl.String for n in names},
                            separator=layout.delimiter, quote_char=layout.quote, truncate_ragged_lines=False,
                            raise_if_empty=False)
    except (pl.exceptions.PolarsError, UnicodeDecodeError):
        return None
    if frame.height != lines:
        return None
    frame = frame.with_columns(pl.col(names).fill_null(""))
    if quoted:
        polars_rows = frame[[line_number for line_number, _ in quoted]].rows()
        if any(list(row) != cells for row, (_, cells) in zip(polars_rows, quoted)):
            return None
    return frame
