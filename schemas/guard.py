"""Guard-rails checked before any parser reads a table: sizes, compression bombs, the csv field limit.

`scan` streams the raw bytes once, in chunks, with only C-speed byte operations (split, count),
and finds the first line longer than `Limits.max_line_bytes`, field larger than
`Limits.max_field_bytes` (a quoted field may span lines: an unbalanced quote would otherwise make
a parser swallow the rest of the file as one cell) or record with more than `Limits.max_columns`
cells. `decompress` unpacks a gzip'd or single-file zipped CSV while counting the bytes it
decodes, so that a bomb stops at `Limits.max_decoded_bytes` whatever its headers claim.

frictionless raises Python's `csv.field_size_limit` for the whole process when its CSV parser is
imported; `restore_csv_field_limit` puts Python's default back, and `csv_field_limit` raises it
only for the duration of one read, to the cap the scan has already enforced.
"""

from __future__ import annotations

import csv
import gzip
import tempfile
import threading
import time
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import Any, AnyStr

#: Python's own default `csv.field_size_limit` (128 KiB).
PYTHON_CSV_FIELD_LIMIT = 128 * 1024
#: Largest cell accepted, in bytes as written.
MAX_FIELD_BYTES = 4 * 1024 * 1024
#: Longest physical line accepted, in bytes.
MAX_LINE_BYTES = 16 * 1024 * 1024
#: Most cells accepted in one record (the header included).
MAX_COLUMNS = 2_000
#: Most bytes a compressed table may decode to.
MAX_DECODED_BYTES = 4 * 1024 * 1024 * 1024
#: Bytes read per step of the scan and of decompression.
CHUNK_BYTES = 4 * 1024 * 1024

_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGIC = b"PK\x03\x04"
_OFFICE_MEMBERS = ("[Content_Types].xml", "mimetype", "META-INF/manifest.xml")
_LIMIT_LOCK = threading.RLock()


@dataclass(frozen=True)
class Limits:
    """The guard-rails and budgets of one validation; None means no budget."""

    max_field_bytes: int = MAX_FIELD_BYTES
    max_line_bytes: int = MAX_LINE_BYTES
    max_columns: int = MAX_COLUMNS
    max_decoded_bytes: int = MAX_DECODED_BYTES
    max_rows: int | None = None
    max_seconds: float | None = None

    def deadline(self) -> float | None:
        """The `time.monotonic()` instant at which a validation starting now must stop."""
        return None if self.max_seconds is None else time.monotonic() + self.max_seconds


@dataclass(frozen=True)
class Breach:
    """A guard-rail the file does not respect: an issue code, a message and the physical line."""

    code: str
    message: str
    line: int | None = None


# --- compression ----------------------------------------------------------------------------


class GuardBreached(Exception):
    """Raised where a guard-rail check runs deep inside a step (before the Frictionless path)."""

    def __init__(self, breach: Breach) -> None:
        super().__init__(breach.message)
        self.breach = breach


def compression_of(path: Path) -> str | None:
    """``"gzip"`` or ``"zip"`` when the file starts with that magic number, else None."""
    with path.open("rb") as fh:
        head = fh.read(4)
    if head.startswith(_GZIP_MAGIC):
        return "gzip"
    if head.startswith(_ZIP_MAGIC):
        return "zip"
    return None


def decompress(path: Path, limits: Limits) -> tuple[Path | None, Breach | None]:
    """Unpack a gzip'd or single-table zip file into a temporary file, counting decoded bytes.

    Returns (path of the decoded copy, None), or (None, breach) when the file cannot be unpacked
    or decodes to more than `limits.max_decoded_bytes`. The caller deletes the copy.
    """
    kind = compression_of(path)
    fd, name = tempfile.mkstemp(prefix="lodestar-decoded-", suffix=".csv")
    out = Path(name)
    try:
        with open(fd, "wb") as sink:
            if kind == "gzip":
                with gzip.open(path, "rb") as source:
                    breach = _copy_counting(source, sink, limits, "gzip")
            elif kind == "zip":
                breach = _unzip(path, sink, limits)
            else:
                breach = Breach("table/unreadable", f"{path} is not compressed")
    except zipfile.BadZipFile as exc:
        breach = Breach("table/unreadable", f"{path} is a ZIP archive (or an XLSX/ODS spreadsheet) "
                        f"that cannot be opened: {exc}")
    except (OSError, EOFError, zlib.error) as exc:
        breach = Breach("table/unreadable", f"{path} cannot be decompressed: {exc}")
    if breach is not None:
        out.unlink(missing_ok=True)
        return None, breach
    return out, None


def _unzip(path: Path, sink: object, limits: Limits) -> Breach | None:
    """Copy the one table of a zip archive to `sink`; office documents and several files are refused."""
    with zipfile.ZipFile(path) as archive:
        names = [i.filename for i in archive.infolist() if not i.is_dir()]
        if any(n in _OFFICE_MEMBERS for n in names):
            return Breach("table/unreadable", f"{path} is an XLSX/ODS spreadsheet, not a CSV table")
        tables = [n for n in names if n.lower().endswith((".csv", ".tsv", ".txt"))] or names
        if len(tables) != 1:
            return Breach("table/unreadable",
                          f"{path} is a ZIP archive of {len(names)} files, not one CSV table")
        with archive.open(tables[0]) as source:
            return _copy_counting(source, sink, limits, "zip")


def _copy_counting(source: object, sink: object, limits: Limits, kind: str) -> Breach | None:
    """Copy decoded bytes in chunks and stop as soon as they pass the budget."""
    decoded = 0
    read = getattr(source, "read")
    write = getattr(sink, "write")
    while chunk := read(CHUNK_BYTES):
        decoded += len(chunk)
        if decoded > limits.max_decoded_bytes:
            return Breach("table/decoded-too-large",
                          f"the {kind} file decodes to more than {limits.max_decoded_bytes:,} bytes "
                          "(a compression bomb, or a table too large to check); decoding stopped")
        write(chunk)
    return None


# --- the scan -------------------------------------------------------------------------------


def scan(path: Path, limits: Limits, *, encoding: str = "utf-8", delimiter: str = ",",
         quotechar: str = '"', lines: int | None = None) -> Breach | None:
    """The first guard-rail the file breaks (line length, field size, cells per record), or None.

    With `lines`, the scan stops once that many lines are checked: the head that a parser
    reading only the header and sample rows will see.
    """
    if encoding.lower().replace("_", "-").startswith("utf-16"):
        return _scan_text(path, limits, encoding, delimiter, quotechar)
    quote, delim = quotechar.encode("latin-1"), delimiter.encode("latin-1")
    state = _ScanState()
    with path.open("rb") as fh:
        carry = b""
        while chunk := fh.read(CHUNK_BYTES):
            if lines is not None and state.line > lines:
                return None
            data = carry + chunk
            cut = data.rfind(b"\n") + 1
            if cut == 0:  # no line end in this chunk
                if len(data) > limits.max_line_bytes:
                    return _line_breach(state.line, limits)
                carry = data
                continue
            carry = data[cut:]
            breach = state.step(data[:cut], b"\n", quote, delim, limits)
            if breach is not None:
                return breach
        if carry:
            return state.step(carry, b"\n", quote, delim, limits)
    return None


def _scan_text(path: Path, limits: Limits, encoding: str, delimiter: str,
               quotechar: str) -> Breach | None:
    """`scan` for encodings whose line ends are not the byte ``\\n`` (UTF-16): on decoded text."""
    state = _ScanState()
    with path.open(encoding=encoding, newline="", errors="replace") as fh:
        carry = ""
        while chunk := fh.read(CHUNK_BYTES // 2):
            data = carry + chunk
            cut = data.rfind("\n") + 1
            if cut == 0:
                if len(data) * 2 > limits.max_line_bytes:
                    return _line_breach(state.line, limits)
                carry = data
                continue
            carry = data[cut:]
            breach = state.step(data[:cut], "\n", quotechar, delimiter, limits, width=2)
            if breach is not None:
                return breach
        if carry:
            return state.step(carry, "\n", quotechar, delimiter, limits, width=2)
    return None


class _ScanState:
    """What the scan carries from one chunk to the next: line number, open quoted field."""

    def __init__(self) -> None:
        self.line = 1
        self.in_quotes = False
        self.open_field = 0  # length so far of a quoted field still open at the chunk's end

    def step(self, data: AnyStr, newline: AnyStr, quote: AnyStr, delim: AnyStr, limits: Limits,
             width: int = 1) -> Breach | None:
        """Check one run of whole lines; `width` is bytes per character of `data`."""
        lines = data.split(newline)
        longest = max(map(len, lines)) * width
        if longest > limits.max_line_bytes:
            index = next(i for i, ln in enumerate(lines) if len(ln) * width > limits.max_line_bytes)
            return _line_breach(self.line + index, limits)
        if longest > limits.max_field_bytes:
            for index, ln in enumerate(lines):
                if len(ln) * width > limits.max_field_bytes and not (quote in ln or self.in_quotes):
                    if max(map(len, ln.split(delim))) * width > limits.max_field_bytes:
                        return _field_breach(self.line + index, limits)
        count: Any = bytes.count if isinstance(data, bytes) else str.count
        cells = max(map(count, lines, repeat(delim)))
        if cells + 1 > limits.max_columns:
            for index, ln in enumerate(lines):
                if ln.count(delim) + 1 > limits.max_columns and _cells(ln, delim, quote) > limits.max_columns:
                    return Breach("table/too-many-columns",
                                  f"line {self.line + index} has more than {limits.max_columns:,} "
                                  "cells; the table was not read", self.line + index)
        if self.in_quotes or quote in data:
            breach = self._quoted(data, newline, quote, limits, width)
            if breach is not None:
                return breach
        self.line += len(lines) - 1
        return None

    def _quoted(self, data: AnyStr, newline: AnyStr, quote: AnyStr, limits: Limits,
                width: int) -> Breach | None:
        """Measure the quoted runs of `data` (between a quote and the next one) with what is carried."""
        pieces = data.split(quote)
        first_inside = 0 if self.in_quotes else 1
        longest = max(map(len, pieces[first_inside::2]), default=0)
        if self.in_quotes:
            longest = max(longest, self.open_field + len(pieces[0]))
        if longest * width > limits.max_field_bytes:
            return _field_breach(self._line_of_long_field(pieces, first_inside, newline, limits, width),
                                 limits)
        self.in_quotes = (len(pieces) - 1 + (1 if self.in_quotes else 0)) % 2 == 1
        if self.in_quotes:
            self.open_field = (self.open_field if len(pieces) == 1 else 0) + len(pieces[-1])
        else:
            self.open_field = 0
        return None

    def _line_of_long_field(self, pieces: list[AnyStr], first_inside: int, newline: AnyStr,
                            limits: Limits, width: int) -> int:
        """The line on which the too-large quoted field starts."""
        line = self.line
        for index, piece in enumerate(pieces):
            inside = (index - first_inside) % 2 == 0
            if inside and len(piece) * width + (self.open_field if index == 0 else 0) > limits.max_field_bytes:
                return line
            line += piece.count(newline)
        return line


def _cells(line: str | bytes, delim: str | bytes, quote: str | bytes) -> int:
    """Cells of one physical line, read by the csv module (only for lines the cheap count flags)."""
    text = line.decode("latin-1") if isinstance(line, bytes) else line
    d = delim.decode("latin-1") if isinstance(delim, bytes) else delim
    q = quote.decode("latin-1") if isinstance(quote, bytes) else quote
    with csv_field_limit(len(text) + 1):
        return max((len(row) for row in csv.reader([text], delimiter=d, quotechar=q)), default=0)


def _line_breach(line: int, limits: Limits) -> Breach:
    return Breach("table/line-too-long", f"line {line} is longer than {limits.max_line_bytes:,} "
                  "bytes; the table was not read", line)


def _field_breach(line: int, limits: Limits) -> Breach:
    return Breach("table/field-too-large",
                  f"a cell starting on line {line} is larger than {limits.max_field_bytes:,} bytes "
                  "(or a quote is never closed); the table was not read", line)


# --- the csv module's process-wide field limit ------------------------------------------------


def restore_csv_field_limit() -> None:
    """Put back Python's default field limit that importing frictionless raised process-wide."""
    from frictionless.formats.csv import settings as frictionless_csv

    with _LIMIT_LOCK:
        if csv.field_size_limit() == frictionless_csv.FIELD_SIZE_LIMIT:
            csv.field_size_limit(PYTHON_CSV_FIELD_LIMIT)


@contextmanager
def csv_field_limit(limit: int) -> Iterator[None]:
    """Raise `csv.field_size_limit` to at least `limit` for the block only, then restore it."""
    with _LIMIT_LOCK:
        before = csv.field_size_limit()
        csv.field_size_limit(max(before, limit))
        try:
            yield
        finally:
            csv.field_size_limit(before)

