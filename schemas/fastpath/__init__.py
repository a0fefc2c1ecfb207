"""The fast path of table validation: Frictionless' verdict on a CSV, vectorised and streamed.

`covers(schema)` (``coverage``) says whether a schema is within reach; `check_table(table,
report=…)` (``engine``) streams the file in chunks with pyarrow (``reader``), checks each column
with polars expressions (``columns``), and checks unique fields and the primary key through
64-bit hashes and a second look at the few candidate rows (``keys``), so memory stays bounded by
the chunk size plus, per key, 8 bytes a row of hash and the key's raw text up to a fixed budget.
The issues are Frictionless' own: same codes, row numbers, field names, wording and order
(``findings``).

Exactness comes from one rule: a cell is accepted in bulk only in a spelling Frictionless reads
the same way; every other cell is handed to Frictionless' own cell reader for its field. So odd
spellings cost Python time, never a different answer.

Falling back: `covers` returns a reason for schemas outside the fast path (one Frictionless
rejects, a single column, foreign keys, duplicate field names, unique/primary keys on types
without a hashable form). `check_table` raises `FastPathUnsupported` — always before adding
anything to the report — when the file cannot be read record for record as `csv.reader` reads
it (a record with more or fewer cells than the header, an empty line where "" is not a missing
value, a preamble record spanning lines, bare carriage returns before the data, UTF-16/32), when
its header labels differ from the field names, or when Frictionless' own cell reader raises on a
cell (Frictionless would stop there too). The caller then validates with Frictionless.
"""

from schemas.fastpath.engine import FastStats, check_table, covers
from schemas.fastpath.reader import FastPathUnsupported

__all__ = ["FastPathUnsupported", "FastStats", "check_table", "covers"]
