"""Chunked reading of a described CSV with pyarrow, record for record as `csv.reader` reads it.

The header (and any preamble before it) is read with Python's `csv` module, so labels are
exactly what Frictionless sees; the data after it is handed to pyarrow's streaming reader with
every column typed as a non-null string. pyarrow agrees with `csv.reader` (doublequote, no
escape char, quoted newlines, a final unterminated quote); an empty line is a row of empty
strings here and a record of no cells there, which Frictionless reads alike while "" is a
missing value (the engine checks that). Whenever a file leaves that common ground — a record
with another number of cells than the header, a preamble record spanning lines, bare carriage
returns before the data, a UTF-16 file — reading raises `FastPathUnsupported` before any issue
has been reported, and the caller validates the file with Frictionless instead.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv

#: Bytes pyarrow parses at a time (~37k rows of the 12-column tree table); bigger blocks cost memory.
BLOCK_SIZE = 4 << 20
#: Whether pyarrow parses blocks on several threads (polars already uses every core per chunk).
THREADS = True


class FastPathUnsupported(Exception):
    """This file or schema is outside what the fast path reads exactly like Frictionless.

    Internal to the validation step: the caller catches it and validates with Frictionless.
    It is raised before anything is added to the caller's report.
    """


@dataclass(frozen=True)
class Chunk:
    """Consecutive data records: `start` is the 0-based index of the first one among all data rows."""

    start: int
    frame: pl.DataFrame


def _python_codec(encoding: str) -> str:
    """The canonical codec name; raises FastPathUnsupported for encodings pyarrow cannot split on bytes."""
    name = codecs.lookup(encoding).name
    if name.startswith("utf-16") or name.startswith("utf-32"):
        raise FastPathUnsupported(f"{encoding} files are read by Frictionless")
    return name


def header_offset(path: str, encoding: str, delimiter: str, quotechar: str,
                  header_row: int) -> tuple[list[str], int]:
    """The header labels and the byte offset where data records begin.

    Each of the first `header_row` physical lines must be one whole record (no quoted line
    break), so that counting lines counts records the way `csv.reader` does.
    """
    codec = _python_codec(encoding)
    lines: list[bytes] = []
    with open(path, "rb") as fh:
        for _ in range(header_row):
            line = fh.readline()
            if not line:
                raise FastPathUnsupported("the file ends before its header row")
            lines.append(line)
    text = b"".join(lines).decode("utf-8-sig" if codec == "utf-8" else codec, errors="strict")
    if "\r" in text.replace("\r\n", "\n"):
        raise FastPathUnsupported("lines end with a bare carriage return before the data")
    records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter,
                              quotechar=quotechar, doublequote=True, skipinitialspace=False,
                              strict=False))
    # csv.reader yields [] for a blank line; one record per physical line is required.
    per_line = [list(csv.reader([line.decode("utf-8-sig" if codec == "utf-8" else codec)],
                                delimiter=delimiter, quotechar=quotechar, strict=False))
                for line in lines]
    if len(records) != header_row or any(len(r) > 1 for r in per_line):
        raise FastPathUnsupported("a record before the data spans several lines")
    return records[-1], sum(len(line) for line in lines)


def read_chunks(path: str, encoding: str, delimiter: str, quotechar: str, header_row: int,
                width: int, only: list[int] | None = None, block_size: int = BLOCK_SIZE) -> Iterator[Chunk]:
    """Data records after the header, as frames of `width` string columns named c0, c1, …

    With `only`, just those columns are converted (every record is still parsed and checked).
    A record larger than `block_size` bytes is not read (pyarrow raises, and so does this):
    the reader's memory is bounded, and a caller's cap on record size is kept without a scan.
    """
    codec = _python_codec(encoding)
    _, offset = header_offset(path, encoding, delimiter, quotechar, header_row)
    names = [f"c{i}" for i in range(width)]
    source = pa.OSFile(path)
    try:
        if offset >= source.size():
            return
        source.seek(offset)
        read = pacsv.ReadOptions(column_names=names, block_size=block_size, use_threads=THREADS,
                                 encoding="utf8" if codec == "utf-8" else codec)
        parse = pacsv.ParseOptions(delimiter=delimiter, quote_char=quotechar, double_quote=True,
                                   escape_char=False, newlines_in_values=True,
                                   ignore_empty_lines=False)
        convert = pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                       include_columns=None if only is None else [names[i] for i in only],
                                       null_values=[], strings_can_be_null=False,
                                       quoted_strings_can_be_null=False)
        try:
            reader = pacsv.open_csv(source, read_options=read, parse_options=parse,
                                    convert_options=convert)
            start = 0
            for batch in reader:
                if batch.num_rows == 0:
                    continue
                frame = pl.from_arrow(batch)
                assert isinstance(frame, pl.DataFrame)
                yield Chunk(start, frame)
                start += batch.num_rows
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise FastPathUnsupported(f"pyarrow cannot read the file like csv.reader: {exc}") from exc
    finally:
        source.close()

