"""How a CSV file is written: its encoding, delimiter and header row, found from a bounded sample.

Only the first `SAMPLE_BYTES` are parsed (the encoding check streams the whole file through an
incremental decoder); nothing here holds the table in memory.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from portal.errors import DataError, NotFoundError

#: Bytes read from the start of a file to find its dialect and header row.
SAMPLE_BYTES = 256 * 1024
#: Records before the header that may be a preamble (title, report parameters, blank lines).
MAX_PREAMBLE = 20
#: Delimiters tried, in order of preference when equally plausible.
DELIMITERS = (",", ";", "\t", "|")

_MAGIC = {
    b"%PDF": "a PDF document",
    b"PK\x03\x04": "a ZIP archive (or an XLSX/ODS spreadsheet)",
    b"\xd0\xcf\x11\xe0": "an OLE2 document (e.g. an XLS spreadsheet)",
    b"\x1f\x8b": "a gzip archive",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
}


class EmptySource(DataError):
    """The file holds no bytes (or only whitespace): Frictionless calls this a source error."""


@dataclass(frozen=True)
class Layout:
    """What sniffing a file found, before any schema is chosen."""

    encoding: str
    delimiter: str
    quotechar: str
    header_row: int


def sniff(path: Path) -> Layout:
    """Encoding, delimiter and header row of a file; DataError when it is not a CSV table."""
    if not path.exists():
        raise NotFoundError(f"table file {path} does not exist")
    if not path.is_file():
        raise DataError(f"{path} is not a file")
    try:
        with path.open("rb") as fh:
            head = fh.read(SAMPLE_BYTES)
            truncated = bool(fh.read(1))
        encoding = _detect_encoding(path, head)
    except OSError as exc:
        raise DataError(f"{path} cannot be read: {exc}") from exc
    _refuse_non_table(path, head, encoding)
    text = head.decode(encoding, errors="replace")
    if truncated:
        text = text[: text.rfind("\n") + 1] or text
    delimiter = _detect_delimiter(text, truncated)
    records = _records(text, delimiter, truncated)
    return Layout(encoding, delimiter, '"', _detect_header_row(records))


def _detect_encoding(path: Path, head: bytes) -> str:
    """UTF-8 (with or without BOM) when the whole file decodes strictly, else cp1252 or latin-1."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for encoding in ("utf-8", "cp1252"):
        decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
        try:
            with path.open("rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        if encoding == "utf-8" and head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        return encoding
    return "latin-1"


def _refuse_non_table(path: Path, head: bytes, encoding: str) -> None:
    """Raise DataError for empty files, binary files, HTML and XML documents."""
    if not head.strip():
        raise EmptySource(f"{path} is empty: the source is empty")
    for magic, kind in _MAGIC.items():
        if head.startswith(magic):
            raise DataError(f"{path} is {kind}, not a CSV table")
    if encoding != "utf-16" and b"\x00" in head[:8192]:
        raise DataError(f"{path} holds binary data (NUL bytes), not a CSV table")
    start = head[:1024].decode(encoding, errors="replace").lstrip("\ufeff \t\r\n").lower()
    if start.startswith(("<!doctype html", "<html")) or ("<head" in start and "<" == start[:1]):
        raise DataError(f"{path} is an HTML page, not a CSV table")
    if start.startswith("<?xml"):
        raise DataError(f"{path} is an XML document, not a CSV table")


def _records(text: str, delimiter: str, truncated: bool, limit: int = 200) -> list[list[str]]:
    """The first records of a sample, dropping the last one when the sample was cut short."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"',
                        strict=False)
    rows: list[list[str]] = []
    try:
        for row in reader:
            rows.append(row)
            if len(rows) > limit:
                break
    except csv.Error:
        pass
    if truncated and rows:
        rows.pop()
    return rows[:limit]


def _detect_delimiter(text: str, truncated: bool) -> str:
    """The delimiter that splits most sample records into the same number (≥ 2) of cells.

    Among delimiters within 0.1 of the best consistency, the one giving the most columns wins,
    so a comma file with a few ragged rows is not mistaken for a two-column semicolon file.
    """
    scored: list[tuple[float, int, str]] = []
    for delimiter in DELIMITERS:
        widths = [len(r) for r in _records(text, delimiter, truncated) if any(c.strip() for c in r)]
        if not widths:
            continue
        width, count = Counter(widths).most_common(1)[0]
        if width >= 2:
            scored.append((count / len(widths), width, delimiter))
    if not scored:
        return ","
    best = max(share for share, _, _ in scored)
    plausible = [s for s in scored if s[0] >= best - 0.1]
    return max(plausible, key=lambda s: (s[1], s[0], -DELIMITERS.index(s[2])))[2]


def _detect_header_row(records: list[list[str]]) -> int:
    """1-based record number of the header: the first record with two or more non-blank cells.

    Blank records and one-cell title lines before it (a report preamble) are skipped; a table
    with a single column has its header on the first non-blank record.
    """
    for number, row in enumerate(records[: MAX_PREAMBLE + 1], start=1):
        if sum(1 for cell in row if cell.strip()) >= 2:
            return number
    for number, row in enumerate(records[: MAX_PREAMBLE + 1], start=1):
        if any(cell.strip() for cell in row):
            return number
    return 1
