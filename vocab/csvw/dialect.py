"""CSVW dialect descriptions and the reader that turns a CSV file into comments, titles and rows.

The reader follows "Model for Tabular Data and Metadata on the Web" §8 (parsing tabular data):
skipped rows and comment lines become comments, header rows give column titles, and each data row
is yielded with its source row number and its cells (trimmed as the dialect says). It streams.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from vocab.csvw.errors import CsvwError


@dataclass
class Dialect:
    """How a CSV file is laid out (defaults are those of the CSVW dialect description)."""

    comment_prefix: str | None = None  # "#" in the 2015 text; the suite's later cases need none
    delimiter: str = ","
    double_quote: bool = True
    encoding: str = "utf-8"
    header: bool = True
    header_row_count: int = 1
    line_terminators: list[str] = field(default_factory=lambda: ["\r\n", "\n"])
    quote_char: str | None = '"'
    skip_blank_rows: bool = False
    skip_columns: int = 0
    skip_initial_space: bool = False
    skip_rows: int = 0
    trim: str = "true"


_KEYS = {"commentPrefix": "comment_prefix", "delimiter": "delimiter", "doubleQuote": "double_quote",
         "encoding": "encoding", "headerRowCount": "header_row_count", "lineTerminators": "line_terminators",
         "quoteChar": "quote_char", "skipBlankRows": "skip_blank_rows", "skipColumns": "skip_columns",
         "skipInitialSpace": "skip_initial_space", "skipRows": "skip_rows", "trim": "trim"}


def media_type(headers: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """The media type of a response and its parameters, read with the standard library's parser."""
    value = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    message = Message()
    message["Content-Type"] = value or "text/csv"
    params = {k.lower(): v for k, v in (message.get_params() or [])[1:]} if value else {}
    return message.get_content_type(), params


def dialect_from(description: Mapping[str, Any] | None, headers: Mapping[str, str]) -> Dialect:
    """The dialect a (normalised) description and the file's Content-Type give."""
    dialect = Dialect()
    kind, params = media_type(headers)
    if kind == "text/tab-separated-values":
        dialect.delimiter = "\t"
    if params.get("header") == "absent":
        dialect.header, dialect.header_row_count = False, 0
    if params.get("charset"):
        dialect.encoding = params["charset"]
    description = description or {}
    if "header" in description:
        dialect.header = description["header"]
        dialect.header_row_count = 1 if dialect.header else 0
    for key, attr in _KEYS.items():
        if key in description:
            setattr(dialect, attr, description[key])
    return dialect


@dataclass
class Row:
    """One data row: its number among data rows, its row number in the file, and its cell strings."""

    number: int
    source_number: int
    cells: list[str]


class _Lines:
    """An iterator over physical lines that remembers the first one a CSV record used."""

    def __init__(self, lines: Iterator[str]) -> None:
        self.lines = lines
        self.first: str | None = None

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self.lines)
        if self.first is None:
            self.first = line
        return line


class TableReader:
    """A CSV file read through its dialect: `comments` and `titles` first, then `rows()`."""

    def __init__(self, data: bytes, dialect: Dialect, url: str) -> None:
        self.dialect, self.url = dialect, url
        encoding = dialect.encoding
        try:
            if codecs.lookup(encoding).name == "utf-8":
                encoding = "utf-8-sig"
        except LookupError:
            raise CsvwError(f"{url}: unknown encoding {encoding!r}") from None
        # Decoded as it is read, so that a big table is never held as one string.
        text = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline="")
        options: dict[str, Any] = {"delimiter": dialect.delimiter, "doublequote": dialect.double_quote,
                                   "skipinitialspace": dialect.skip_initial_space, "strict": False}
        if dialect.quote_char:
            options["quotechar"] = dialect.quote_char
        else:
            options["quoting"] = csv.QUOTE_NONE
        if not dialect.double_quote:
            options["escapechar"] = "\\"
        # Raw lines are watched only when comments or skipped rows need their text.
        self._lines = _Lines(iter(text))
        watched = dialect.comment_prefix is not None or dialect.skip_rows > 0
        try:
            self._reader = csv.reader(self._lines if watched else text, **options)
        except (TypeError, csv.Error) as exc:
            raise CsvwError(f"{url}: unusable dialect ({exc})") from None
        self.source_number = 0
        self.comments: list[str] = []
        self.titles: list[list[str]] = []
        self._read_header()
        self._rows = self._iter_rows()
        self._first = next(self._rows, None)
        if self._first is not None:
            while len(self.titles) < len(self._first.cells):
                self.titles.append([])

    def _next(self) -> list[str] | None:
        """The next record, or None at the end; a comment line is recorded and skipped."""
        prefix = self.dialect.comment_prefix
        while True:
            self._lines.first = None
            try:
                record = next(self._reader)
            except StopIteration:
                return None
            except (csv.Error, UnicodeDecodeError) as exc:
                raise CsvwError(f"{self.url}: {exc}") from None
            self.source_number += 1
            first = self._lines.first or ""
            if prefix and first.startswith(prefix):
                self.comments.append(first[len(prefix):].strip())
                continue
            return record

    def _read_header(self) -> None:
        for _ in range(self.dialect.skip_rows):
            self._lines.first = None
            try:
                record = next(self._reader)
            except StopIteration:
                return
            except (csv.Error, UnicodeDecodeError) as exc:
                raise CsvwError(f"{self.url}: {exc}") from None
            self.source_number += 1
            text = (self._lines.first or "").rstrip("\r\n")
            prefix = self.dialect.comment_prefix
            if prefix and text.startswith(prefix):
                text = text[len(prefix):].strip()
            if text.strip() or any(record):
                self.comments.append(text)
        skip = self.dialect.skip_columns
        for _ in range(self.dialect.header_row_count):
            header = self._next()
            if header is None:
                break
            for index, cell in enumerate(header[skip:]):
                cell = self._trim(cell)
                while len(self.titles) <= index:
                    self.titles.append([])
                if cell:
                    self.titles[index].append(cell)

    def _trim(self, cell: str) -> str:
        trim = self.dialect.trim
        if trim == "true":
            return cell.strip()
        if trim == "start":
            return cell.lstrip()
        if trim == "end":
            return cell.rstrip()
        return cell

    def rows(self) -> Iterator[Row]:
        """The data rows, in order."""
        if self._first is not None:
            yield self._first
            self._first = None
        yield from self._rows

    def _iter_rows(self) -> Iterator[Row]:
        skip, skip_blank, trim = self.dialect.skip_columns, self.dialect.skip_blank_rows, self.dialect.trim
        number = 0
        while True:
            record = self._next()
            if record is None:
                return
            if skip:
                record = record[skip:]
            if skip_blank and not any(record):
                continue
            if trim == "true":
                record = [cell.strip() for cell in record]
            elif trim != "false":
                record = [self._trim(cell) for cell in record]
            number += 1
            yield Row(number, self.source_number, record)
