"""Published graph content: immutable N-Triples files named by digest, with an index of subject blocks.

Every graph the embedded store serves is also kept as the exact N-Triples it was published
from. That copy lets the store rebuild a generation with the bulk loader, serve a graph's
content without a query, and compute what changed between two versions without holding
either in Python objects: the index records, for every run of lines that share a subject,
a hash of the subject, a hash of the lines, and where they are in the file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path

CHUNK = 1 << 22
_MASK = (1 << 64) - 1


@dataclass(frozen=True)
class Content:
    """One published version of a graph's content, on disk."""

    digest: str
    triples: int
    #: False when the subject-block diff cannot be trusted (blank nodes, tabs, comments):
    #: such content is always replaced whole.
    diffable: bool

    def path(self, folder: Path) -> Path:
        """The N-Triples file."""
        return folder / f"{self.digest}.nt"

    def index_path(self, folder: Path) -> Path:
        """The block index: (subject hash, block hash, offset, length) as unsigned 64-bit integers."""
        return folder / f"{self.digest}.idx"

    def to_json(self) -> dict[str, object]:
        """As kept in a generation's manifest."""
        return {"digest": self.digest, "triples": self.triples, "diffable": self.diffable}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Content:
        """From a manifest entry."""
        return cls(str(data["digest"]), int(data["triples"]), bool(data["diffable"]))  # type: ignore[call-overload]


def _hash64(data: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


def _chunks(content: bytes | Path | Sequence[Path]) -> Iterator[bytes]:
    """The content as a stream of byte chunks; every input file ends with a newline."""
    if isinstance(content, (bytes, bytearray)):
        yield bytes(content)
        if content and not content.endswith(b"\n"):
            yield b"\n"
        return
    paths = [content] if isinstance(content, Path) else list(content)
    for path in paths:
        last = b"\n"
        with Path(path).open("rb") as fh:
            while chunk := fh.read(CHUNK):
                last = chunk[-1:]
                yield chunk
        if last != b"\n":
            yield b"\n"


def ingest(content: bytes | Path | Sequence[Path], folder: Path) -> Content:
    """Copy `content` into `folder` as `<digest>.nt` with its block index, in one streaming pass."""
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    index = array("Q")
    triples, offset, diffable = 0, 0, True
    carry = b""
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=".ingest-", suffix=".nt")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in _chunks(content):
                digest.update(chunk)
                out.write(chunk)
                data = carry + chunk
                used, n, ok = _index_buffer(data, offset, index, final=False)
                offset, triples, diffable = offset + used, triples + n, diffable and ok
                carry = data[used:]
            used, n, ok = _index_buffer(carry, offset, index, final=True)
            triples, diffable = triples + n, diffable and ok
        found = Content(digest.hexdigest(), triples, diffable)
        final = found.path(folder)
        if final.exists():
            tmp.unlink()
        else:
            tmp.replace(final)
        index_path = found.index_path(folder)
        if not index_path.exists():
            part = index_path.with_suffix(".idx-part")
            with part.open("wb") as fh:
                index.tofile(fh)
            part.replace(index_path)
        return found
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _index_buffer(data: bytes, offset: int, index: array[int], *, final: bool) -> tuple[int, int, bool]:
    """Index the subject blocks of the complete lines in `data` (the last block only when `final`).

    Returns the bytes consumed, the triples seen and whether every subject was an IRI.
    """
    end = len(data) if final else data.rfind(b"\n") + 1
    if end <= 0:
        return 0, 0, True
    lines = data[:end].split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    subjects = [line[:line.find(b" ")] for line in lines]
    starts = [0, *accumulate(len(line) + 1 for line in lines)]
    breaks = [i for i in range(1, len(subjects)) if subjects[i] != subjects[i - 1]]
    if not final:  # the last subject's block may go on in the next chunk
        if not breaks:
            return 0, 0, True
        cut = breaks[-1]
        breaks, lines_used = breaks[:-1], cut
    else:
        lines_used = len(lines)
    bounds = [0, *breaks, lines_used]
    diffable = True
    for first, last in zip(bounds, bounds[1:]):
        if first == last:
            continue
        subject = subjects[first]
        if not subject.startswith(b"<") or not subject.endswith(b">") or b"\t" in subject:
            diffable = False  # a blank node, a comment, a tab: no stable subject to diff by
        block = data[starts[first]:starts[last]]
        index.extend((_hash64(subject), _hash64(block), offset + starts[first], len(block)))
    return min(starts[lines_used], len(data)), lines_used, diffable


def same_content(content: bytes | Path | Sequence[Path], old: Content, folder: Path) -> bool:
    """True when `content` is exactly `old` (sizes compared first, then a hash pass with no copy)."""
    if isinstance(content, (bytes, bytearray)):
        size = len(content) + (0 if not content or content.endswith(b"\n") else 1)
    else:
        paths = [content] if isinstance(content, Path) else list(content)
        size = sum(p.stat().st_size for p in paths)
    if size != old.path(folder).stat().st_size:
        return False
    digest = hashlib.sha256()
    for chunk in _chunks(content):
        digest.update(chunk)
    return digest.hexdigest() == old.digest


def _read_index(content: Content, folder: Path) -> array[int]:
    index = array("Q")
    with content.index_path(folder).open("rb") as fh:
        index.frombytes(fh.read())
    return index


def _subject_sums(index: array[int]) -> dict[int, int]:
    sums: dict[int, int] = {}
    for i in range(0, len(index), 4):
        subject = index[i]
        sums[subject] = (sums.get(subject, 0) + index[i + 1]) & _MASK
    return sums


@dataclass(frozen=True)
class Difference:
    """What turns one version of a graph into another, by subject."""

    #: One N-Triples line of each subject whose triples must all be removed first.
    removed_subjects: list[bytes]
    #: The new triples of every changed or added subject, as a file in the content folder.
    additions: Path | None
    added_triples: int

    @property
    def empty(self) -> bool:
        """True when nothing changes."""
        return not self.removed_subjects and self.additions is None


def difference(old: Content, new: Content, folder: Path, *, most: float = 0.5) -> Difference | None:
    """The per-subject difference from `old` to `new`, or None when replacing whole is cheaper or needed.

    A subject's triples are rewritten when the hash of its lines differs; subjects whose lines
    are the same are not touched. Only the indexes are read whole (four integers a subject),
    and only the changed blocks of the files.
    """
    if not (old.diffable and new.diffable):
        return None
    old_index, new_index = _read_index(old, folder), _read_index(new, folder)
    old_sums, new_sums = _subject_sums(old_index), _subject_sums(new_index)
    changed = {s for s, total in new_sums.items() if old_sums.get(s) != total}
    gone = old_sums.keys() - new_sums.keys()
    if len(changed) + len(gone) > most * max(len(new_sums), 1):
        return None
    stale = (changed & old_sums.keys()) | gone
    del old_sums, new_sums
    removed: list[bytes] = []
    seen: set[int] = set()
    with old.path(folder).open("rb") as fh:
        for i in range(0, len(old_index), 4):
            subject = old_index[i]
            if subject in stale and subject not in seen:
                seen.add(subject)
                fh.seek(old_index[i + 2])
                removed.append(fh.readline())
    additions, added = None, 0
    if changed:
        fd, name = tempfile.mkstemp(dir=folder, prefix=".additions-", suffix=".nt")
        additions = Path(name)
        with os.fdopen(fd, "wb") as out, new.path(folder).open("rb") as fh:
            for i in range(0, len(new_index), 4):
                if new_index[i] in changed:
                    fh.seek(new_index[i + 2])
                    block = fh.read(new_index[i + 3])
                    added += block.count(b"\n")
                    out.write(block)
    return Difference(removed, additions, added)


def remove_unreferenced(folder: Path, keep: Iterable[str]) -> None:
    """Delete content files (and stale temporary files) whose digest no live generation names."""
    wanted = set(keep)
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        stem = path.name.split(".", 1)[0]
        if path.name.startswith(".") or stem not in wanted:
            path.unlink(missing_ok=True)
