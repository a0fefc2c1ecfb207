"""The embedded store's generations: one-step switch, diffs, rebuilds, leases, kills, upgrades."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyoxigraph as ox
import pytest

from portal.store import select_rows
from portal.store import oxigraph as embedded
from portal.store.content import difference, ingest
from portal.store.generations import Layout, StoreReader
from portal.store.oxigraph import OxigraphStore

G1 = "http://lodestar.test/graph/p/one"
G2 = "http://lodestar.test/graph/p/two"


def row(i: int, tag: str = "v", props: int = 3) -> str:
    return "".join(f'<http://lodestar.test/id/p/one/{i}> <http://lodestar.test/def/p/one/c{k}> "{tag}{i}-{k}" .\n'
                   for k in range(props))


def table(ids: list[int], tags: dict[int, str] | None = None) -> bytes:
    tags = tags or {}
    return "".join(row(i, tags.get(i, "v")) for i in ids).encode()


def triples(store: OxigraphStore, graph: str) -> set[tuple[str, str, str]]:
    rows = select_rows(store, f"SELECT ?s ?p ?o WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
    return {(r["s"], r["p"], r["o"]) for r in rows}


def expected(data: bytes) -> set[tuple[str, str, str]]:
    return {(t.subject.value, t.predicate.value, t.object.value)  # type: ignore[union-attr]
            for t in ox.parse(data, format=ox.RdfFormat.N_TRIPLES)}


def generations(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "gens").iterdir() if p.is_dir())


def test_random_edits_through_the_subject_diff_give_exactly_the_new_graph(tmp_path: Path) -> None:
    store = OxigraphStore(tmp_path / "store")
    rng = random.Random(7)
    ids = list(range(400))
    tags: dict[int, str] = {}
    store.replace_graph(G1, table(ids))
    for step in range(6):
        before_ids = list(ids)
        changed = set(rng.sample(ids, 6))
        for i in changed:
            tags[i] = f"t{step}"                   # changed rows
        for i in rng.sample(ids, 3):
            ids.remove(i)                          # deleted rows
            changed.discard(i)
        ids += [1000 + step * 10 + k for k in range(3)]  # added rows
        rng.shuffle(ids) if step == 3 else None    # a reordered table
        data = table(ids, tags)
        before = store.content_of(G1)
        assert before is not None
        new = ingest(data, store.layout.content)
        diff = difference(before, new, store.layout.content)
        assert diff is not None, "small edits, even of a reordered table, take the subject diff"
        assert len(diff.removed_subjects) == len({i for i in before_ids if i not in ids} | changed)
        if diff.additions is not None:
            diff.additions.unlink()
        assert store.replace_graph(G1, data)
        assert triples(store, G1) == expected(data)
    store.close()


def test_unchanged_content_writes_nothing(tmp_path: Path) -> None:
    store = OxigraphStore(tmp_path / "store")
    assert store.replace_graph(G1, table(list(range(20))))
    active = store.layout.active()
    assert store.replace_graph(G1, table(list(range(20)))) is False
    assert store.layout.active() == active
    assert generations(tmp_path / "store") == [active]
    store.close()


def test_a_big_graph_is_rebuilt_without_losing_the_others(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedded, "DELETE_IN_PLACE", 10)
    store = OxigraphStore(tmp_path / "store")
    store.replace_graph(G2, table([1, 2]))
    store.replace_graph(G1, table(list(range(100))))
    replacement = table(list(range(500, 600)), {})  # every subject new: no diff, a rebuild
    store.replace_graph(G1, replacement)
    assert triples(store, G1) == expected(replacement)
    assert triples(store, G2) == expected(table([1, 2]))
    store.drop_graph(G1)
    assert store.graphs() == [G2]
    assert triples(store, G2) == expected(table([1, 2]))
    store.close()


def test_old_generations_go_once_nobody_reads_them(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = OxigraphStore(root)
    store.replace_graph(G1, table([1]))
    reader = StoreReader(root)
    held = reader.store()  # a reader on the first generation
    assert len(list(held.quads_for_pattern(None, None, None, None))) == 3
    store.replace_graph(G1, table([2]))
    store.replace_graph(G1, table([3]))
    assert len(generations(root)) == 2  # the active one, and the one the reader holds
    assert len(list(held.quads_for_pattern(None, None, None, None))) == 3  # still readable
    del held
    reader.refresh()  # an idle reader moves to the active generation, letting go of the first
    assert len(generations(root)) == 2
    store.replace_graph(G1, table([4]))
    assert store.layout.active() in generations(root) and len(generations(root)) == 2
    reader.close()
    store.replace_graph(G1, table([5]))
    assert generations(root) == [store.layout.active()]
    store.close()


def test_another_process_writes_and_this_one_reads_the_new_generation(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = OxigraphStore(root)
    store.replace_graph(G1, table([1, 2]))
    script = textwrap.dedent(f"""
        from portal.store.oxigraph import OxigraphStore
        s = OxigraphStore({str(root)!r})
        s.replace_graph({G2!r}, b'<http://x/s> <http://x/p> "from the other process" .\\n')
        s.close()
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    assert store.graphs() == [G1, G2]
    assert select_rows(store, 'SELECT ?s WHERE { ?s ?p "from the other process" }') == [{"s": "http://x/s"}]
    store.close()


READER = """
import sys, time
from portal.store.oxigraph import OxigraphStore
from portal.store import select_rows
s = OxigraphStore(sys.argv[1])
end = time.monotonic() + float(sys.argv[2])
print("ready", flush=True)
while time.monotonic() < end:
    n = select_rows(s, "SELECT (COUNT(*) AS ?n) WHERE { GRAPH <%s> { ?s ?p ?o } }")[0]["n"]
    print(n, flush=True)
""" % G1


def test_readers_in_other_processes_see_the_old_or_the_new_version(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = OxigraphStore(root)
    small, big = table(list(range(100))), table(list(range(2000)), {1: "x"})
    store.replace_graph(G1, small)
    reader = subprocess.Popen([sys.executable, "-c", READER, str(root), "4"], stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout is not None and reader.stdout.readline().strip() == "ready"
        for i in range(6):
            store.replace_graph(G1, big if i % 2 == 0 else small)
    finally:
        out, _ = reader.communicate(timeout=60)
    seen = {int(n) for n in out.split()}
    assert len(out.split()) > 10
    assert seen and seen <= {300, 6000}
    store.close()


WRITER = """
import sys
from pathlib import Path
from portal.store.oxigraph import OxigraphStore
s = OxigraphStore(sys.argv[1])
print("open", flush=True)
s.replace_graph(%r, Path(sys.argv[2]))
print("done", flush=True)
""" % G1


@pytest.mark.parametrize("delay", [0.0, 0.15, 0.4, 0.8])
def test_a_writer_killed_at_any_moment_leaves_the_old_or_the_new_version(tmp_path: Path, delay: float) -> None:
    root = tmp_path / "store"
    store = OxigraphStore(root)
    old = table(list(range(50)))
    store.replace_graph(G1, old)
    store.close()
    new_file = tmp_path / "new.nt"
    new_file.write_bytes(table(list(range(30_000)), {5: "new"}))
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(root), str(new_file)],
                              stdout=subprocess.PIPE, text=True)
    assert writer.stdout is not None and writer.stdout.readline().strip() == "open"
    time.sleep(delay)
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(timeout=30)
    writer.stdout.close()
    reopened = OxigraphStore(root)  # cleans up what the killed writer left
    count = len(triples(reopened, G1))
    assert count in (150, 90_000)
    assert generations(root) == [reopened.layout.active()]
    assert not [p for p in (root / "content").iterdir() if p.name.startswith(".")]
    reopened.replace_graph(G1, old)  # and it goes on working
    assert len(triples(reopened, G1)) == 150
    reopened.close()


def test_a_store_made_by_the_earlier_layout_is_upgraded_in_place(tmp_path: Path) -> None:
    root = tmp_path / "store"
    single = ox.Store(str(root))
    single.load(table([1, 2]), format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(G1))
    single.flush()
    del single
    store = OxigraphStore(root)
    assert store.graphs() == [G1]
    assert triples(store, G1) == expected(table([1, 2]))
    store.replace_graph(G1, table([1, 2, 3]))  # the diff path works on the upgraded content
    assert triples(store, G1) == expected(table([1, 2, 3]))
    assert Layout(root).active() is not None
    store.close()


def test_a_big_load_is_visible_first_then_optimized_in_a_further_generation(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedded, "OPTIMIZE_AFTER", 100)
    root = tmp_path / "store"
    store = OxigraphStore(root)
    store.replace_graph(G2, table([1]))
    first = store.layout.active()
    store.replace_graph(G1, table(list(range(200))))  # 600 triples: loaded, activated, then optimized
    assert store.layout.active() == f"gen-{int(first[4:]) + 2:08d}"
    assert 0 < store.last_write["visible_after"] <= store.last_write["done_after"]
    assert triples(store, G1) == expected(table(list(range(200))))
    assert triples(store, G2) == expected(table([1]))
    assert generations(root) == [store.layout.active()]  # the unoptimized one is gone too
    store.close()


def test_what_a_killed_checkpoint_leaves_is_removed_at_the_next_open(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = OxigraphStore(root)
    store.replace_graph(G1, table([1]))
    store.close()
    (root / "gens" / "gen-00000009.tmp").mkdir()  # RocksDB checkpoints into NAME.tmp, then renames
    (root / "gens" / "gen-00000009.tmp" / "000001.sst").write_bytes(b"partial")
    (root / "gens" / "gen-00000010").mkdir()      # a generation being built
    reopened = OxigraphStore(root)
    active = reopened.layout.active()
    left = {p.name for p in (root / "gens").iterdir()} - {f"{active}.lease"}  # made by the first reader
    assert left == {f"{active}", f"{active}.json"}
    assert triples(reopened, G1) == expected(table([1]))
    reopened.close()
