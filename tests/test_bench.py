"""The benchmarks still run and still compare like with like (tiny sizes; timings are not checked)."""

from __future__ import annotations

from pathlib import Path

from bench.__main__ import _frictionless_alone, bench_conversion, bench_load
from schemas.validation import validate_table
from tests.conftest import TOILETS


def test_conversion_and_load_benchmarks_run_on_the_shared_generator(tmp_path: Path) -> None:
    rows = 200
    [(_, _, ours), (_, _, rdflib_triples)] = bench_conversion(rows, 1, tmp_path)
    # Lodestar adds rdf:type and csvw:rownum to each row; the rdflib peer adds rdf:type only.
    assert ours == rdflib_triples + rows
    loads = bench_load(1, tmp_path)
    assert [n for _, _, n in loads] == [ours] * 4


def test_the_frictionless_peer_really_validates() -> None:
    report, table = validate_table(TOILETS, "public-toilets")
    peer = _frictionless_alone(TOILETS, table.schema)
    assert peer.valid and report.valid
    assert peer.tasks[0].stats["rows"] == report.stats["rows"]
