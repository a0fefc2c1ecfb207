"""Immutable store generations: how one writer and many reading processes share the embedded store.

Layout of the store folder::

    ACTIVE                 name of the generation readers use (replaced atomically)
    write.lock             held by the one process writing a new generation
    gens/gen-00000007/     a pyoxigraph (RocksDB) store, never written once active
    gens/gen-00000007.json its manifest: graph IRI → published content
    gens/gen-00000007.lease  readers hold a shared lock on it while they use that generation
    content/<sha256>.nt    the published N-Triples of a graph, and its block index (.idx)

A write makes the next generation (a RocksDB checkpoint of hard links, or a fresh bulk load),
changes it privately, and then replaces ``ACTIVE``: readers switch in that one step and never
see half of a change. A generation nobody holds a lease on any more is deleted. Killed at any
moment, the folder still names a complete generation; what a killed writer left is removed
at the next write or open.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from portal.errors import StoreError
from portal.store.content import Content

ACTIVE = "ACTIVE"
PREFIX = "gen-"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Layout:
    """Paths inside one store folder."""

    root: Path

    @property
    def gens(self) -> Path:
        """Folder of generations."""
        return self.root / "gens"

    @property
    def content(self) -> Path:
        """Folder of published content files."""
        return self.root / "content"

    def gen(self, name: str) -> Path:
        """A generation's RocksDB folder."""
        return self.gens / name

    def manifest(self, name: str) -> Path:
        """A generation's manifest."""
        return self.gens / f"{name}.json"

    def lease(self, name: str) -> Path:
        """A generation's lease file."""
        return self.gens / f"{name}.lease"

    def active(self) -> str | None:
        """The active generation's name, or None for a store never written."""
        try:
            name = (self.root / ACTIVE).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return name or None

    def activate(self, name: str) -> None:
        """Make `name` the generation readers use, in one atomic step."""
        tmp = self.root / f".{ACTIVE}.{os.getpid()}"
        with tmp.open("w", encoding="utf-8") as fh:
            fh.write(name)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(self.root / ACTIVE)
        _fsync_dir(self.root)

    def read_manifest(self, name: str | None) -> dict[str, Content]:
        """Graph IRI → content of a generation (empty for none)."""
        if name is None:
            return {}
        data = json.loads(self.manifest(name).read_text(encoding="utf-8"))
        return {graph: Content.from_json(entry) for graph, entry in data["graphs"].items()}

    def write_manifest(self, name: str, graphs: dict[str, Content]) -> None:
        """Write a generation's manifest (before it is activated)."""
        path = self.manifest(name)
        with path.open("w", encoding="utf-8") as fh:
            json.dump({"graphs": {g: c.to_json() for g, c in sorted(graphs.items())}}, fh, indent=1)
            fh.flush()
            os.fsync(fh.fileno())

    def next_name(self) -> str:
        """A generation name greater than every one present."""
        numbers = [int(p.name[len(PREFIX):].split(".")[0]) for p in self.gens.glob(f"{PREFIX}*")
                   if p.name[len(PREFIX):].split(".")[0].isdigit()]
        return f"{PREFIX}{max(numbers, default=0) + 1:08d}"


class Lease:
    """A shared lock on one generation: while held, the generation is not deleted."""

    def __init__(self, layout: Layout, name: str) -> None:
        self.name = name
        self._fd: int | None = os.open(layout.lease(name), os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self._fd, fcntl.LOCK_SH)

    def release(self) -> None:
        """Let go of the generation."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def collect(layout: Layout) -> None:
    """Delete generations that are neither active nor leased, and content no generation names.

    Call only while holding the write lock.
    """
    active = layout.active()
    if not layout.gens.is_dir():
        return
    for leftover in layout.root.glob(f".{ACTIVE}.*"):
        leftover.unlink(missing_ok=True)
    names = {p.name.split(".")[0] for p in layout.gens.iterdir() if p.name.startswith(PREFIX)}
    live: set[str] = set()
    for name in sorted(names):
        if name == active:
            live.add(name)
            continue
        lease = layout.lease(name)
        fd = os.open(lease, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                    live.add(name)  # a reader still uses it
                    continue
                raise
            shutil.rmtree(layout.gen(name), ignore_errors=True)
            layout.manifest(name).unlink(missing_ok=True)
            lease.unlink(missing_ok=True)
        finally:
            os.close(fd)
    for path in layout.gens.iterdir():  # what a killed writer left: a checkpoint's ".tmp", say
        if path.name.split(".")[0] not in live and path.exists():
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
    from portal.store.content import remove_unreferenced

    keep: set[str] = set()
    for name in live:
        try:
            keep.update(c.digest for c in layout.read_manifest(name).values())
        except (OSError, ValueError, KeyError):
            continue
    remove_unreferenced(layout.content, keep)


@contextmanager
def write_lock(layout: Layout, *, wait: bool = True) -> Iterator[bool]:
    """Hold the store's single-writer lock; yields False (not held) when busy and not `wait`."""
    layout.root.mkdir(parents=True, exist_ok=True)
    fd = os.open(layout.root / "write.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


class _Opened:
    """One generation opened read-only, with its lease and a count of users."""

    def __init__(self, layout: Layout, name: str) -> None:
        self.name = name
        self.lease = Lease(layout, name)
        path = layout.gen(name)
        if not path.is_dir():
            self.lease.release()
            raise FileNotFoundError(path)
        try:
            self.store: ox.Store | None = ox.Store.read_only(str(path))
        except OSError:
            self.lease.release()
            raise
        self.manifest = layout.read_manifest(name)
        self.users = 0

    def close(self) -> None:
        self.store = None
        self.lease.release()


class StoreReader:
    """Read-only access to the active generation, switching when a writer activates a new one.

    `store()` is for single-threaded callers (query workers); threaded callers use `use()`,
    which keeps a generation open until its last user is done.
    """

    def __init__(self, root: str | Path) -> None:
        self.layout = Layout(Path(root))
        self._lock = threading.Lock()
        self._current: _Opened | None = None
        self._retired: list[_Opened] = []
        self._empty: ox.Store | None = None

    def _open_active(self) -> _Opened | None:
        for _ in range(20):
            name = self.layout.active()
            if name is None:
                return None
            if self._current is not None and self._current.name == name:
                return self._current
            try:
                opened = _Opened(self.layout, name)
            except FileNotFoundError:
                continue  # collected between reading ACTIVE and taking the lease: read it again
            except OSError as exc:
                raise StoreError(f"cannot open the store generation {name}: {exc}") from exc
            if self._current is not None:
                self._retired.append(self._current)
            self._current = opened
            self._close_retired()
            return opened
        raise StoreError(f"the store in {self.layout.root} keeps changing; try again")

    def _close_retired(self) -> None:
        for opened in [o for o in self._retired if o.users == 0]:
            opened.close()
            self._retired.remove(opened)

    def _empty_store(self) -> ox.Store:
        if self._empty is None:
            self._empty = ox.Store()
        return self._empty

    def store(self) -> ox.Store:
        """The active generation's store (an empty store before the first write)."""
        with self._lock:
            opened = self._open_active()
            if opened is None or opened.store is None:
                return self._empty_store()
            return opened.store

    def manifest(self) -> dict[str, Content]:
        """Graph IRI → content of the active generation."""
        with self.use() as (_, manifest):
            return manifest

    @contextmanager
    def use(self) -> Iterator[tuple[ox.Store, dict[str, Content]]]:
        """The active generation's store and manifest, kept open until the block ends."""
        with self._lock:
            opened = self._open_active()
            if opened is None or opened.store is None:
                store, manifest = self._empty_store(), {}
            else:
                opened.users += 1
                store, manifest = opened.store, opened.manifest
        try:
            yield store, manifest
        finally:
            if opened is not None:
                with self._lock:
                    opened.users -= 1
                    self._close_retired()

    def refresh(self) -> None:
        """Switch to the active generation now, letting go of an older one (for idle readers)."""
        with self._lock:
            self._open_active()

    def close(self) -> None:
        """Let go of every generation."""
        with self._lock:
            for opened in [*self._retired, *([self._current] if self._current else [])]:
                opened.close()
            self._retired, self._current = [], None
