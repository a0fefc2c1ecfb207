"""The whole harvest of a big table, step by step, through the same public steps `lodestar harvest` uses.

Each step runs once in a child process per table size (at a million rows a step takes minutes),
so its peak memory is its own; the peer is what a user would otherwise run: Lodestar's plain
streaming conversion followed by pyoxigraph `bulk_load` into a fresh store, with no validation
and no atomic switch.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench.publish import GRAPH, Measured, measure

_STEP = """
import json, sys, time
from pathlib import Path
step, csv_path, schema_path, work = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
schema = json.loads(schema_path.read_text(encoding="utf-8"))
out = {}
if step == "fetch":  # over HTTP from a server on loopback, as from a municipal portal
    import functools, http.server, threading
    from portal.egress import Egress
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass
    handler = functools.partial(Quiet, directory=str(csv_path.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/{csv_path.name}"
    fetched = Egress(allow_private_addresses=True, max_bytes=None).download(url, work / "downloads")
    server.shutdown()
    out = {"bytes": fetched.size}
elif step == "validate":
    from portal.steps import validate
    report, table = validate(csv_path, schema)
    out = {"valid": report.valid, "rows": report.stats.get("rows")}
elif step == "convert":
    from portal.steps import upgrade, validate
    from vocab.uris import UriScheme
    _, table = validate(csv_path.with_name("head.csv"), schema)  # the table's layout, from its first rows
    result = upgrade(csv_path, table, uris=UriScheme("http://127.0.0.1:5000"), publisher="bench",
                     dataset_namespace="trees", out_path=work / "trees.nt")
    out = {"triples": result.triples}
print(json.dumps(out))
"""


def bench_harvest_steps(csv_path: Path, schema_path: Path, workdir: Path) -> list[tuple[str, Measured]]:
    """Fetch, validate and convert the table, each in its own process (publishing: `bench.publish`)."""
    workdir.mkdir(parents=True, exist_ok=True)
    with csv_path.open("rb") as src, (csv_path.parent / "head.csv").open("wb") as head:
        for _, line in zip(range(2000), src):
            head.write(line)
    steps = []
    for step in ("fetch", "validate", "convert"):
        measured = measure([sys.executable, "-c", _STEP, step, str(csv_path), str(schema_path), str(workdir), GRAPH])
        steps.append((step, measured))
        if step == "validate" and not json.loads(measured.output)["valid"]:
            raise RuntimeError(f"{csv_path} does not validate against {schema_path}")
    return steps
