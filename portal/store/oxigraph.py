"""The embedded default store: pyoxigraph on disk, in immutable generations (see `generations`).

Any process may read; writes are serialised by a lock, so CLI commands, the scheduler and a
running portal share one store folder. A write never touches what readers use:

- a small change (a few subjects of a graph) is applied to a checkpoint of the active
  generation (hard links, milliseconds), only the changed subjects rewritten;
- a new or wholly changed graph is bulk-loaded into the checkpoint, or the generation is
  rebuilt by bulk loading every graph's published content when the graph being replaced is
  most of the store (deleting millions of quads one by one is far slower than loading anew);
- then the new generation is activated in one atomic step.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

import pyoxigraph as ox

from portal.errors import StoreError, UsageError
from portal.formats import rdf_format, results_format
from portal.store import GraphContent, QueryKind, QueryResult
from portal.store.content import Content, Difference, difference, ingest, same_content
from portal.store.generations import Layout, StoreReader, collect, write_lock

log = logging.getLogger(__name__)
T = TypeVar("T")

__all__ = ["OxigraphStore", "StoreReader"]

#: Loads bigger than this are followed by `optimize` (heavy queries are several times slower without).
OPTIMIZE_AFTER = 500_000
#: How much lower than readers a store write runs (a niceness, 0–19).
WRITER_NICENESS = 19
#: Bytes of N-Triples handed to one `bulk_load` call.
BULK_SLICE = 48 << 20
#: Below this many triples, an old graph is deleted in place rather than the generation rebuilt.
DELETE_IN_PLACE = 100_000


def _is_lock_error(exc: OSError) -> bool:
    text = str(exc).lower()
    return "lock" in text and ("hold" in text or "resource temporarily unavailable" in text
                               or "no locks available" in text)


def migrate_single_store(root: Path) -> None:
    """Turn a store folder made by an earlier Lodestar (one RocksDB store) into generation 1.

    Every named graph is dumped into a content file, so the diff and rebuild paths work on it.
    """
    if not (root / "CURRENT").exists() or (root / "gens").exists():
        return
    moving = root.with_name(root.name + ".migrating")
    root.rename(moving)
    layout = Layout(root)
    layout.gens.mkdir(parents=True)
    name = layout.next_name()
    moving.rename(layout.gen(name))
    try:
        store = ox.Store(str(layout.gen(name)))
    except OSError as exc:
        raise StoreError(f"cannot upgrade the store in {root}: {exc}") from exc
    graphs: dict[str, Content] = {}
    part = layout.content / ".migrating.nt"
    layout.content.mkdir(parents=True, exist_ok=True)
    for graph in store.named_graphs():
        if isinstance(graph, ox.NamedNode):
            store.dump(str(part), format=ox.RdfFormat.N_TRIPLES, from_graph=graph)
            graphs[graph.value] = ingest(part, layout.content)
    part.unlink(missing_ok=True)
    store.flush()
    del store  # released before readers open the generation
    layout.write_manifest(name, graphs)
    layout.activate(name)
    log.info("upgraded the store in %s to generations", root)


def lower_priority() -> None:
    """Make the calling thread (and the threads it starts) background work: niceness 19, batch policy."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WRITER_NICENESS)
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
    except (OSError, AttributeError):  # not permitted, or not Linux: run as we are
        pass


def in_background(work: Callable[..., T], *args: Any) -> T:
    """Run a write in a thread of its own at a lower CPU priority, and wait for it.

    Readers come first: the bulk loader's threads inherit the writer thread's niceness, so queries
    on the same machine keep their latency while a big table is loaded. Only that thread is
    lowered; the caller (perhaps a web process at startup) keeps its priority.
    """
    outcome: list[Any] = []

    def run() -> None:
        lower_priority()
        try:
            outcome.append((True, work(*args)))
        except BaseException as exc:  # handed to the caller's thread
            outcome.append((False, exc))

    writer = threading.Thread(target=run, name="lodestar-store-writer")
    writer.start()
    writer.join()
    ok, value = outcome[0]
    if not ok:
        raise value
    return cast(T, value)


class OxigraphStore:
    """The embedded store in a folder: read by any process, written under a lock."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.layout = Layout(self.path)
        try:
            if (self.path / "CURRENT").exists():  # a single RocksDB store, from an earlier version
                with write_lock(Layout(self.path.with_name(f".{self.path.name}.upgrade"))):
                    migrate_single_store(self.path)
            self.layout.gens.mkdir(parents=True, exist_ok=True)
            with write_lock(self.layout, wait=False) as held:
                if held:  # else a writer is at work, and it collects when done
                    collect(self.layout)  # what a killed writer left behind
        except OSError as exc:
            raise StoreError(f"cannot open the store in {self.path}: {exc}") from exc
        self.reader = StoreReader(self.path)
        #: Seconds the last write took until readers saw it, and until it was done (optimized).
        self.last_write: dict[str, float] = {}

    # -- reading -------------------------------------------------------------------------

    def query(self, sparql: str, *, bindings_format: str = "json", graph_format: str = "turtle",
              default_graphs: Sequence[str] | None = None,
              named_graphs: Sequence[str] | None = None) -> QueryResult:
        """Run a SPARQL query on the active generation and serialise its answer."""
        options: dict[str, object] = {}
        if default_graphs is None:
            options["use_default_graph_as_union"] = True
        else:
            options["default_graph"] = [ox.NamedNode(g) for g in default_graphs] or [ox.DefaultGraph()]
        if named_graphs is not None:
            options["named_graphs"] = [ox.NamedNode(g) for g in named_graphs]
        with self.reader.use() as (store, _):
            try:
                answer = store.query(sparql, **options)  # type: ignore[arg-type]
                if isinstance(answer, ox.QueryTriples):
                    graph = rdf_format(graph_format)
                    return QueryResult("graph", answer.serialize(format=graph.rdf) or b"", graph.media_type)
                kind: QueryKind = "boolean" if isinstance(answer, ox.QueryBoolean) else "bindings"
                body = answer.serialize(format=results_format(bindings_format).results) or b""
            except SyntaxError as exc:
                raise UsageError(f"SPARQL syntax error: {exc}") from exc
            except (OSError, ValueError) as exc:
                raise StoreError(f"query failed: {exc}") from exc
        return QueryResult(kind, body, results_format(bindings_format).media_type)

    def graph_ntriples(self, graph: str) -> bytes:
        """A graph's content as published (empty when there is no such graph)."""
        with self.reader.use() as (_, manifest):
            content = manifest.get(graph)
            return content.path(self.layout.content).read_bytes() if content else b""

    def graphs(self) -> list[str]:
        """IRIs of the non-empty named graphs."""
        return sorted(g for g, c in self.reader.manifest().items() if c.triples)

    def content_of(self, graph: str) -> Content | None:
        """What the active generation serves as `graph`."""
        return self.reader.manifest().get(graph)

    # -- writing -------------------------------------------------------------------------

    def replace_graph(self, graph: str, content: GraphContent) -> bool:
        """Make `graph` hold exactly `content`, in a new generation; False when nothing changed."""
        return graph in self.replace_graphs({graph: content})

    def replace_graphs(self, contents: Mapping[str, GraphContent]) -> set[str]:
        """Make each graph hold exactly its content, all in one new generation; returns the graphs
        that changed. Readers switch to every change in one step; a batch costs one checkpoint,
        not one per graph."""
        return in_background(self._replace, contents)

    def drop_graph(self, graph: str) -> None:
        """Withdraw `graph` in a new generation (nothing happens when it is absent)."""
        in_background(self._drop, graph)

    def _replace(self, contents: Mapping[str, GraphContent]) -> set[str]:
        with self._writing() as active:
            manifest = self.layout.read_manifest(active)
            changes: list[tuple[str, Content | None, Content | None]] = []
            for graph, content in contents.items():
                old = manifest.get(graph)
                if old is not None and same_content(content, old, self.layout.content):
                    continue
                new = ingest(content, self.layout.content)
                if (old is not None and old.digest == new.digest) or (old is None and new.triples == 0):
                    continue
                if new.triples == 0:
                    manifest.pop(graph, None)
                else:
                    manifest[graph] = new
                changes.append((graph, old, new))
            if changes:
                self._commit(active, manifest, changes)
            return {graph for graph, _, _ in changes}
    def _drop(self, graph: str) -> None:
        with self._writing() as active:
            manifest = self.layout.read_manifest(active)
            old = manifest.pop(graph, None)
            if old is None:
                return
            self._commit(active, manifest, [(graph, old, None)])

    @contextmanager
    def _writing(self) -> Iterator[str | None]:
        try:
            with write_lock(self.layout):
                yield self.layout.active()
                collect(self.layout)
        except OSError as exc:
            raise StoreError(f"writing the store in {self.path} failed: {exc}") from exc

    def _commit(self, active: str | None, manifest: dict[str, Content],
                changes: list[tuple[str, Content | None, Content | None]]) -> None:
        """Build the next generation with each graph changed from its old to its new content, then
        activate it.

        After a big load, a further generation is optimized and activated in its turn (heavy
        queries are several times slower on an unoptimized store): readers see the new data as
        soon as it is loaded, and faster queries some seconds later.
        """
        started = time.perf_counter()
        name = self.layout.next_name()
        target = self.layout.gen(name)
        plans = []
        for graph, old, new in changes:
            new = new if new is not None and new.triples else None
            plans.append((graph, old, new, difference(old, new, self.layout.content) if old and new else None))
        changed = {graph for graph, _, _ in changes}
        others = sum(c.triples for g, c in manifest.items() if g not in changed)
        rebuild = active is None or any(diff is None and old is not None
                                        and old.triples > max(DELETE_IN_PLACE, others)
                                        for _, old, _, diff in plans)
        try:
            if rebuild:
                loaded = self._rebuild(target, manifest)
            else:
                assert active is not None
                ox.Store.read_only(str(self.layout.gen(active))).backup(str(target))
                loaded = self._apply(target, plans)
            self.layout.write_manifest(name, manifest)
            self.layout.activate(name)
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)
            self.layout.manifest(name).unlink(missing_ok=True)
            raise
        finally:
            for _, _, _, diff in plans:
                if diff is not None and diff.additions is not None:
                    diff.additions.unlink(missing_ok=True)
        self.last_write = {"visible_after": time.perf_counter() - started}
        log.info("store generation %s active (%s, %d graph(s), %d triples loaded)", name,
                 "rebuilt" if rebuild else "changed", len(plans), loaded)
        if loaded > OPTIMIZE_AFTER:
            self._optimize(name, manifest)
        self.last_write["done_after"] = time.perf_counter() - started

    def _optimize(self, active: str, manifest: dict[str, Content]) -> None:
        """Activate an optimized copy of generation `active`; on failure `active` simply stays."""
        name = self.layout.next_name()
        target = self.layout.gen(name)
        try:
            ox.Store.read_only(str(self.layout.gen(active))).backup(str(target))
            with self._generation(target) as (store, _):
                store.optimize()
            self.layout.write_manifest(name, manifest)
            self.layout.activate(name)
        except Exception as exc:  # the data is published; only its speed-up failed
            shutil.rmtree(target, ignore_errors=True)
            self.layout.manifest(name).unlink(missing_ok=True)
            log.warning("optimizing store generation %s failed: %s", active, exc)

    def _open_writable(self, target: Path) -> ox.Store:
        try:
            return ox.Store(str(target))
        except OSError as exc:
            if _is_lock_error(exc):
                raise StoreError(f"the store generation {target} is open for writing elsewhere") from exc
            raise StoreError(f"cannot open {target}: {exc}") from exc

    @contextmanager
    def _generation(self, target: Path) -> Iterator[tuple[ox.Store, list[int]]]:
        """A new generation open for writing, and a counter of triples loaded into it.

        On leaving, everything is flushed; the store is released when its last reference goes,
        before the generation is activated.
        """
        store = self._open_writable(target)
        loaded = [0]
        yield store, loaded
        store.flush()

    def _rebuild(self, target: Path, manifest: dict[str, Content]) -> int:
        """A fresh generation holding every graph of `manifest`, bulk loaded from content files."""
        with self._generation(target) as (store, loaded):
            for graph, content in sorted(manifest.items()):
                self._bulk_load(store, content.path(self.layout.content), graph)
                loaded[0] += content.triples
        return loaded[0]

    def _apply(self, target: Path, plans: list[tuple[str, Content | None, Content | None, Difference | None]]
               ) -> int:
        """Apply each graph's change to the checkpoint at `target`; returns triples loaded.

        The writable store is released when this returns: RocksDB may still delete files in the
        background while it is open, so no reader may open the generation before that.
        """
        with self._generation(target) as (store, _):
            return sum(self._change(store, graph, old, new, diff) for graph, old, new, diff in plans)

    def _change(self, store: ox.Store, graph: str, old: Content | None, new: Content | None,
                diff: Difference | None) -> int:
        """Apply one graph's change to a checkpoint of the active generation; returns triples loaded."""
        node = ox.NamedNode(graph)
        if diff is not None:
            for line in diff.removed_subjects:
                subject = next(iter(ox.parse(line, format=ox.RdfFormat.N_TRIPLES))).subject
                for quad in list(store.quads_for_pattern(subject, None, None, node)):
                    store.remove(quad)
            if diff.additions is not None:
                self._bulk_load(store, diff.additions, graph)
            return diff.added_triples
        if old is not None:
            self._remove_graph(store, node)
        if new is not None:
            self._bulk_load(store, new.path(self.layout.content), graph)
            return new.triples
        return 0

    @staticmethod
    def _remove_graph(store: ox.Store, node: ox.NamedNode) -> None:
        """Delete a graph's quads in batches (one big transaction would hold them all in memory)."""
        while True:
            batch = []
            for quad in store.quads_for_pattern(None, None, None, node):
                batch.append(quad)
                if len(batch) >= 10_000:
                    break
            if not batch:
                break
            for quad in batch:
                store.remove(quad)
        store.remove_graph(node)

    @staticmethod
    def _bulk_load(store: ox.Store, path: Path, graph: str) -> None:
        """Bulk load an N-Triples file in slices: the loader's memory grows with its input, so
        slices of ~48 MB keep a 12M-triple load well under a gigabyte at the same speed."""
        node = ox.NamedNode(graph)
        carry = b""
        try:
            with path.open("rb") as fh:
                while True:
                    block = fh.read(BULK_SLICE)
                    data = carry + block
                    cut = len(data) if not block else data.rfind(b"\n") + 1
                    if cut > 0:
                        store.bulk_load(data[:cut], format=ox.RdfFormat.N_TRIPLES, to_graph=node)
                    carry = data[cut:]
                    if not block:
                        break
        except SyntaxError as exc:
            raise StoreError(f"invalid N-Triples for <{graph}>: {exc}") from exc

    def close(self) -> None:
        """Let go of every generation this process reads."""
        self.reader.close()
