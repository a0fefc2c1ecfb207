"""The fast validator: stream a described CSV in chunks, check every column vectorised, report issues.

Issues carry Frictionless' codes, row numbers, field names and message wording, in Frictionless'
order (by row; within a row by field, then unique errors, then the primary key), so a caller can
swap one validator for the other. See the package docstring for what falls back.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl

from schemas.fastpath.columns import pattern_rechecks, plan_column
from schemas.fastpath.coverage import covers, frictionless_schema, key_fields
from schemas.fastpath.findings import (
    CELL,
    PRIMARY,
    UNIQUE,
    Collector,
    Found,
    constraint_note,
    message,
    order_found,
)
from schemas.fastpath.keys import KeyIndex, find_duplicates, hash_expression, key_form
from schemas.fastpath.prefetch import read_ahead
from schemas.fastpath.reader import BLOCK_SIZE, FastPathUnsupported, header_offset, read_chunks

if TYPE_CHECKING:
    from portal.report import Report
    from schemas.validation import TableDescription

#: Bytes of raw key cells kept in memory for the duplicate confirmation; beyond, the file is re-read.
KEY_TEXT_BUDGET = 64 << 20
_KEY_DTYPES = {"string": pl.Utf8, "any": pl.Utf8, "integer": pl.Int64, "year": pl.Int64,
               "yearmonth": pl.Int64, "number": pl.Float64, "date": pl.Int64, "datetime": pl.Int64,
               "boolean": pl.Boolean, "time": pl.Int64}


@dataclass
class FastStats:
    """What one fast validation did: rows checked, whether it stopped early, true error counts."""

    rows: int = 0
    partial: bool = False
    stopped_by: str | None = None
    errors: dict[str, int] = field(default_factory=dict)
    reported: int = 0
    seconds: float = 0.0


class _Run:
    """State of one fast validation."""

    def __init__(self, table: TableDescription, limit_errors: int | None) -> None:
        self.table = table
        schema = frictionless_schema(table.schema)
        self.plans = [plan_column(f, [str(v) for v in schema.missing_values]) for f in schema.fields]
        self.readers = [p.field.create_cell_reader() for p in self.plans]
        self.rechecks = [pattern_rechecks(p.field) for p in self.plans]
        names = [p.field.name for p in self.plans]
        key = key_fields(schema)
        self.key_columns = [names.index(n) for n in key]
        self.key_label = key[0] if len(key) == 1 else None
        self.indexes = [KeyIndex(p.field.name, [j], False) for j, p in enumerate(self.plans)
                        if p.field.constraints.get("unique")]
        self.primary = KeyIndex("primary key", self.key_columns, True) if key else None
        #: A one-field primary key on a unique field has the same candidates: hash it once.
        self.shared = next((ix for ix in self.indexes if ix.columns == self.key_columns), None)
        self.keyed = sorted({j for ix in self.indexes for j in ix.columns} | set(self.key_columns))
        self.out = Collector(limit_errors)
        self.exprs: list[list[pl.Expr]] | None = None
        #: Raw cells of the key columns, kept while they fit in KEY_TEXT_BUDGET (see confirm_keys).
        self.raw_keys: dict[int, list[pl.Series]] | None = {j: [] for j in self.keyed}
        self.raw_bytes = 0

    def row_number(self, index: int) -> int:
        """Frictionless' row number of the data row at 0-based `index`."""
        return self.table.header_row + 1 + index

    def _emit_mask(self, code: str, mask: pl.Series, start: int, column: int, sub: int,
                   cells: pl.Series | None, note: str, phase: int = CELL) -> None:
        count = int(mask.sum())
        if not count:
            return
        wanted = self.out.wants()
        positions = mask.arg_true()
        if wanted is not None:
            positions = positions.head(wanted)
        plan = self.plans[column] if column >= 0 else None
        values = cells.gather(positions).to_list() if cells is not None else [""] * len(positions)
        details = []
        for pos, cell in zip(positions.to_list(), values):
            row = self.row_number(start + pos)
            name = plan.field.name if plan else None
            if code == "primary-key":
                name = self.key_label
            details.append(Found(row, phase, max(column, 0), sub, code,
                                 message(code, row, plan.field.name if plan else "", column, cell,
                                         note), name, cell if cells is not None else None))
        self.out.add(code, count, details)

    def _expressions(self) -> list[list[pl.Expr]]:
        """The expressions of one chunk, in stages so that each typed reading is computed once.

        Stage one adds, per column j, the missing mask m{j} and the typed values t{j}; stage
        two the fast-accept mask o{j}; stage three derives the residue r{j}, each constraint's
        violations x{j}_{k}, the key values v{j} and the blank-row mask. Polars evaluates the
        expressions of a stage in parallel.
        """
        first: list[pl.Expr] = []
        second: list[pl.Expr] = []
        third: list[pl.Expr] = []
        keys: dict[int, pl.Expr] = {}
        for j, plan in enumerate(self.plans):
            cells = pl.col(f"c{j}")
            values = plan.missing_values
            miss = cells == values[0] if len(values) == 1 else cells.is_in(values)
            m, ok, typed = pl.col(f"m{j}"), pl.col(f"o{j}"), pl.col(f"t{j}")
            parsed = plan.read(cells, m, typed)
            first.append(miss.alias(f"m{j}"))
            if parsed.values is not None:
                first.append(parsed.values.alias(f"t{j}"))
            second.append(parsed.ok.alias(f"o{j}"))
            third += [m, ok, (~m & ~ok).alias(f"r{j}")]
            for k, (_, check) in enumerate(plan.checks):
                third.append((ok & check(typed, cells)).fill_null(False).alias(f"x{j}_{k}"))
            if j in self.keyed:
                dtype = _KEY_DTYPES[plan.field.type]
                key = typed.cast(dtype) if parsed.values is not None else pl.lit(None, dtype=dtype)
                keys[j] = pl.when(ok).then(key).otherwise(None)
                third.append(keys[j].alias(f"v{j}"))
        for ix in self.indexes:
            value = keys[ix.columns[0]]
            third.append(hash_expression([value], value.is_not_null()).alias(f"h{ix.columns[0]}"))
        if self.primary is not None:
            parts = [keys[j] for j in self.key_columns]
            none = pl.all_horizontal([v.is_null() for v in parts])
            third.append(none.alias("key_none"))
            if self.shared is None:
                third.append(hash_expression(parts, ~none).alias("key_hash"))
        third.append(pl.all_horizontal([pl.col(f"m{j}") for j in range(len(self.plans))])
                     .alias("blank"))
        if any("" not in p.missing_values for p in self.plans):
            # pyarrow reads an empty line as empty strings, csv.reader as no cells at all:
            # the same only while "" is a missing value of every field.
            third.append(pl.all_horizontal([pl.col(f"c{j}") == "" for j in range(len(self.plans))])
                         .alias("empty"))
        return [first, second, third]

    def check_chunk(self, start: int, frame: pl.DataFrame) -> None:
        """Check one chunk of rows."""
        if self.exprs is None:
            self.exprs = self._expressions()
        first, second, third = self.exprs
        masks = frame.with_columns(first).with_columns(second).select(third)
        bools = [name for name, dtype in masks.schema.items() if dtype == pl.Boolean]
        sums = dict(zip(bools, masks.select(pl.col(bools).sum()).row(0)))
        if sums.get("empty"):
            raise FastPathUnsupported("a row of empty cells where \"\" is not a missing value")
        blank = masks.get_column("blank")
        live = ~blank
        key_values: dict[int, tuple[pl.Series, pl.Series]] = {}
        for j, plan in enumerate(self.plans):
            cells = frame.get_column(f"c{j}")
            order = plan.field.supported_constraints
            if plan.required and sums[f"m{j}"]:
                self._emit_mask("constraint-error", masks.get_column(f"m{j}") & live, start, j,
                                order.index("required"), cells, constraint_note(plan.field, "required"))
            for k, (name, _) in enumerate(plan.checks):
                if not sums[f"x{j}_{k}"]:
                    continue
                bad = masks.get_column(f"x{j}_{k}")
                if name == "pattern":
                    bad = self._python_pattern(j, cells, bad)
                self._emit_mask("constraint-error", bad, start, j, order.index(name), cells,
                                constraint_note(plan.field, name))
            if sums[f"r{j}"]:
                patched = self._residue(j, start, cells, masks.get_column(f"r{j}"),
                                        masks.get_column(f"v{j}") if j in self.keyed else None)
                if patched is not None:
                    key_values[j] = patched
        if sums["blank"]:
            self._blank(start, blank)
        self._keep_raw_keys(frame)
        self._add_keys(start, masks, key_values)
        self.out.trim()

    def _add_keys(self, start: int, masks: pl.DataFrame,
                  patched: dict[int, tuple[pl.Series, pl.Series]]) -> None:
        """Hash the chunk's keys; columns with residue cells are hashed again from patched values."""
        for ix in self.indexes:
            j = ix.columns[0]
            if j not in patched:
                ix.add(start, masks.get_column(f"h{j}"))
                continue
            values, odd = patched[j]
            hashes = pl.DataFrame({"v": values, "odd": odd}).select(
                hash_expression([pl.col("v")], pl.col("v").is_not_null() & ~pl.col("odd")))
            ix.add(start, hashes.to_series(), odd)
        if self.primary is None:
            return
        if not any(j in patched for j in self.key_columns):
            self._emit_mask("primary-key", masks.get_column("key_none"), start, -1, 0, None,
                            'cells composing the primary keys are all "None"', PRIMARY)
            if self.shared is None:
                self.primary.add(start, masks.get_column("key_hash"))
            return
        columns: dict[str, pl.Series] = {}
        for n, j in enumerate(self.key_columns):
            series, flags = patched.get(j) or (masks.get_column(f"v{j}"),
                                               pl.repeat(False, masks.height, eager=True))
            columns[f"v{n}"], columns[f"o{n}"] = series, flags
        frame = pl.DataFrame(columns)
        parts = [pl.col(f"v{n}") for n in range(len(self.key_columns))]
        odds = [pl.col(f"o{n}") for n in range(len(self.key_columns))]
        none = pl.all_horizontal([v.is_null() & ~o for v, o in zip(parts, odds)])
        any_odd = pl.any_horizontal(odds)
        keyed = frame.select(none.alias("none"), any_odd.alias("odd"),
                             hash_expression(parts, ~none & ~any_odd).alias("hash"))
        self._emit_mask("primary-key", keyed.get_column("none"), start, -1, 0, None,
                        'cells composing the primary keys are all "None"', PRIMARY)
        if self.shared is None:
            self.primary.add(start, keyed.get_column("hash"),
                             keyed.get_column("odd") & ~keyed.get_column("none"))

    def _keep_raw_keys(self, frame: pl.DataFrame) -> None:
        """Keep the key columns' raw cells for the confirmation, until they outgrow the budget."""
        if self.raw_keys is None or not self.keyed:
            return
        size = frame.select(pl.sum_horizontal([pl.col(f"c{j}").str.len_bytes().sum()
                                               for j in self.keyed])).item()
        self.raw_bytes += int(size or 0) + 16 * frame.height * len(self.keyed)
        if self.raw_bytes > KEY_TEXT_BUDGET:
            self.raw_keys = None
            return
        for j in self.keyed:
            self.raw_keys[j].append(frame.get_column(f"c{j}"))

    def _blank(self, start: int, blank: pl.Series) -> None:
        """One blank-row error per blank row (no cell of such a row has an error of its own)."""
        self._emit_mask("blank-row", blank, start, -1, 0, None, "")

    def _python_pattern(self, j: int, cells: pl.Series, bad: pl.Series) -> pl.Series:
        """Confirm pattern violations with Python's `re`, as Frictionless checks them."""
        pattern = self.rechecks[j]
        assert pattern is not None
        positions = bad.arg_true().to_list()
        confirmed = [False] * len(bad)
        for pos, cell in zip(positions, cells.gather(positions).to_list()):
            confirmed[pos] = pattern.match(cell) is None
        return pl.Series("bad", confirmed, dtype=pl.Boolean)

    def _residue(self, j: int, start: int, cells: pl.Series, residue: pl.Series,
                 values: pl.Series | None) -> tuple[pl.Series, pl.Series] | None:
        """Read the cells the fast reading did not accept with Frictionless' own cell reader.

        For a key column, returns its typed values with the residue's patched in, and the
        odd rows (values with no hashable form); else None.
        """
        plan, reader = self.plans[j], self.readers[j]
        order = plan.field.supported_constraints
        positions = residue.arg_true().to_list()
        keyed = j in self.keyed
        patched: list[Any] = []
        odd_positions: list[int] = []
        for pos, cell in zip(positions, cells.gather(positions).to_list()):
            try:
                target, notes = reader(cell)
            except Exception as exc:  # Frictionless itself would stop on this cell
                raise FastPathUnsupported(f"Frictionless cannot read cell {cell!r}: {exc}") from exc
            row = self.row_number(start + pos)
            if notes:
                for name, note in notes.items():
                    code = "type-error" if name == "type" else "constraint-error"
                    sub = -1 if name == "type" else order.index(name)
                    self.out.add(code, 1, [Found(row, CELL, j, sub, code,
                                                 message(code, row, plan.field.name, j, cell, note),
                                                 plan.field.name, cell)])
            if keyed:
                form, is_odd = key_form(plan.field.type, None if (notes and "type" in notes) else target)
                patched.append(form)
                if is_odd:
                    odd_positions.append(pos)
        if not keyed or values is None:
            return None
        values = values.clone()
        values.scatter(positions, pl.Series("v", patched, dtype=values.dtype))
        odd = pl.repeat(False, len(values), eager=True, dtype=pl.Boolean)
        if odd_positions:
            odd.scatter(odd_positions, True)
        return values, odd

    def ordered(self) -> list[Found]:
        """The errors kept, in Frictionless' order."""
        return order_found(self.out.found, len(self.plans), [ix.columns[0] for ix in self.indexes],
                           self.key_columns if self.primary is not None else [])

    def confirm_keys(self, rows_read: int) -> None:
        """Type the candidate rows exactly (from the kept raw cells, or re-read) and find the duplicates."""
        indexes = list(self.indexes) + ([self.primary] if self.primary is not None else [])
        wanted = {id(ix): ix.candidates() for ix in indexes if ix is not self.primary}
        if self.primary is not None:
            wanted[id(self.primary)] = (wanted[id(self.shared)] if self.shared is not None
                                        else self.primary.candidates())
        if not any(len(c) for c in wanted.values()):
            return
        every = pl.concat(list(wanted.values())).unique().sort()
        typed: dict[int, dict[int, tuple[Any, str]]] = {j: {} for j in self.keyed}
        if self.raw_keys is not None:
            for j in self.keyed:
                start = 0
                for cells in self.raw_keys[j]:
                    lo = int(every.search_sorted(start, side="left"))
                    hi = int(every.search_sorted(start + len(cells), side="left"))
                    rows = every.slice(lo, hi - lo).to_list()
                    raw = cells.gather([r - start for r in rows]).to_list() if rows else []
                    for row, cell in zip(rows, raw):
                        target, notes = self.readers[j](cell)
                        typed[j][row] = (None if notes and "type" in notes else target, cell)
                    start += len(cells)
        else:
            self._reread_keys(every, rows_read, typed)
        self._report_duplicates(indexes, wanted, typed)

    def _reread_keys(self, every: pl.Series, rows_read: int,
                     typed: dict[int, dict[int, tuple[Any, str]]]) -> None:
        """Read the candidate rows' key cells again from the file, typed as Frictionless types them."""
        t = self.table
        width = len(self.plans)
        for chunk in read_chunks(t.path, t.encoding, t.delimiter, t.quotechar, t.header_row, width,
                                 only=self.keyed):
            end = chunk.start + chunk.frame.height
            if chunk.start >= rows_read:
                break
            lo = int(every.search_sorted(chunk.start, side="left"))
            hi = int(every.search_sorted(min(end, rows_read), side="left"))
            if lo == hi:
                continue
            local = (every.slice(lo, hi - lo) - chunk.start).to_list()
            for j in self.keyed:
                raw = chunk.frame.get_column(f"c{j}").gather(local).to_list()
                for pos, cell in zip(local, raw):
                    target, notes = self.readers[j](cell)
                    typed[j][chunk.start + pos] = (None if notes and "type" in notes else target, cell)

    def _report_duplicates(self, indexes: list[KeyIndex], wanted: dict[int, pl.Series],
                           typed: dict[int, dict[int, tuple[Any, str]]]) -> None:
        """Run Frictionless' duplicate search over the candidates of each key; record the errors."""
        for ix in indexes:
            rows = wanted[id(ix)].to_list()
            if ix.primary:
                pairs = [(r, tuple(typed[j][r][0] for j in ix.columns)) for r in rows]
                pairs = [(r, v) for r, v in pairs if set(v) != {None}]
            else:
                pairs = [(r, typed[ix.columns[0]][r][0]) for r in rows]
                pairs = [(r, v) for r, v in pairs if v is not None]
            dups = find_duplicates(pairs)
            code = "primary-key" if ix.primary else "unique-error"
            column = -1 if ix.primary else ix.columns[0]
            plan = None if ix.primary else self.plans[column]
            details = []
            for d in dups:
                row, previous = self.row_number(d.row_index), self.row_number(d.previous_index)
                note = f"the same as in the row at position {previous}"
                name = plan.field.name if plan else ""
                details.append(Found(
                    row, PRIMARY if ix.primary else UNIQUE, max(column, 0), 0, code,
                    message(code, row, name, column, "", note),
                    self.key_label if ix.primary else ix.name,
                    None if ix.primary else typed[column][d.row_index][1]))
            self.out.add(code, len(dups), details)
        self.out.trim()


def check_table(table: TableDescription, *, report: Report, limit_errors: int | None = None,
                max_rows: int | None = None, deadline: float | None = None,
                max_record_bytes: int | None = None) -> FastStats:
    """Validate the file described by `table` against `table.schema`, adding Frictionless' issues to `report`.

    Raises `FastPathUnsupported` (before touching `report`) when the schema is not covered or
    the file cannot be read exactly as `csv.reader` reads it; the caller then uses Frictionless.
    """
    began = time.perf_counter()
    reason = covers(table.schema)
    if reason is not None:
        raise FastPathUnsupported(reason)
    run = _Run(table, limit_errors)
    labels, _ = header_offset(table.path, table.encoding, table.delimiter, table.quotechar,
                              table.header_row)
    names = [p.field.name for p in run.plans]
    if labels != names:
        raise FastPathUnsupported("header labels differ from the schema's field names")
    stats = FastStats()
    block = BLOCK_SIZE if max_record_bytes is None else max(1, min(BLOCK_SIZE, max_record_bytes))
    for chunk in read_ahead(read_chunks(table.path, table.encoding, table.delimiter, table.quotechar,
                                        table.header_row, len(names), block_size=block)):
        if deadline is not None and time.monotonic() > deadline:
            stats.partial, stats.stopped_by = True, "deadline"
            break
        frame = chunk.frame
        if max_rows is not None and stats.rows + frame.height > max_rows:
            frame = frame.head(max_rows - stats.rows)
            stats.partial, stats.stopped_by = True, "max_rows"
        if frame.height:
            run.check_chunk(chunk.start, frame)
        stats.rows += frame.height
        if stats.stopped_by == "max_rows":
            break
    if deadline is not None and time.monotonic() > deadline and stats.stopped_by is None:
        stats.partial, stats.stopped_by = True, "deadline"
    if stats.stopped_by != "deadline":
        run.confirm_keys(stats.rows)
    stats.errors = {f"table/{k}": v for k, v in sorted(run.out.counts.items()) if v}
    total = sum(stats.errors.values())
    found = run.ordered()
    if limit_errors is not None and total > limit_errors:
        stats.partial = True
        stats.stopped_by = stats.stopped_by or "limit_errors"
    for f in found[:limit_errors] if limit_errors is not None else found:
        report.add(f"table/{f.code}", "error", f.message, file=table.path, row=f.row,
                   field=f.field_name, column=f.located_column, value=f.value)
        stats.reported += 1
    stats.seconds = time.perf_counter() - began
    return stats
