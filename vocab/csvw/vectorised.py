"""The columnar fast path of csv2rdf: tables converted a chunk of rows at a time with polars.

`convert_group_columnar` writes the same N-Triples lines as the row path (`vocab.csvw.conversion`),
with the same blank node labels and warnings, for tables within its subset (see
`vocab.csvw.columnar`); it writes each row's lines together, rows in order, so only the order of
lines within a row differs. It hands everything else to the row path: a whole table whose metadata needs what
only the row path does, or the rest of a table from the first chunk whose bytes might parse
differently (`vocab.csvw.chunks`, `vocab.csvw.handover`). Cells the bulk expressions cannot
decide are converted by the row path's own per-column functions, which also give its warnings.

The subset: any number of tables; minimal and standard modes (row and table nodes, row titles,
notes and common properties); aboutUrl/propertyUrl/valueUrl templates of literal text and simple,
reserved or fragment expressions of one variable (column values, `_row`, `_sourceRow`, and the
column variables); virtual columns, suppressOutput, null tokens, defaults, `required`, primary keys,
language tags, unordered lists (separator); every datatype (string-like ones, integer, decimal and
date in bulk; others, formats and constraints through the row path's converter, once per distinct
value). Left to the row path, per table: ordered lists, standard mode with several subjects in a
row, other template expressions, dialects other than UTF-8 with doubled '"' quotes and one header
row at most (comment prefixes, skipped rows or columns, skipInitialSpace), suppressed tables; per
chunk (and from there to the end of the table): rows whose CSV parse could differ (see chunks).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import replace
from typing import Any, BinaryIO, cast

import polars as pl

from vocab.csvw.chunks import Layout, data_start, layout_of, parse, spans
from vocab.csvw.columnar import TablePlan, TemplatePlan, Unsupported, trimmed, value_expression
from vocab.csvw.conversion import CSVW, TYPE, XSD, ColumnPlan, Terms, common_triples, convert_table, iri
from vocab.csvw.datatypes import literal
from vocab.csvw.dialect import Dialect, Row, TableReader, dialect_from
from vocab.csvw.discovery import Fetcher
from vocab.csvw.errors import CsvwError, warn
from vocab.csvw.handover import Resumed, Shifted
from vocab.csvw.model import Group, Table, bind_columns
from vocab.csvw.sink import Counter, Sink

CHUNK_BYTES = 2 << 20


def annotate(subject: str, description: dict[str, Any], terms: Terms, write: Callable[[str], Any]) -> None:
    """The notes and common properties of a group or table (as the row path writes them)."""
    for note in description.get("notes", []):
        write("".join(common_triples(subject, "csvw:note", note, terms)))
    for key, value in description.items():
        if ":" in key:
            write("".join(common_triples(subject, key, value, terms)))


def convert_group_columnar(group: Group, fetch: Fetcher, out: BinaryIO, minimal: bool) -> list[str]:
    """Write the triples of a whole table group, each table by the columnar path where it can be.

    Returns, per table, which path converted it: "columnar", "rows: <why>", or "columnar, then rows
    from row N: <why>".
    """
    sink = Sink(out)
    try:
        return _convert_tables(group, fetch, sink, minimal)
    finally:
        sink.close()


def _convert_tables(group: Group, fetch: Fetcher, sink: Sink, minimal: bool) -> list[str]:
    paths: list[str] = []
    terms = Counter()
    group_node = ""
    if not minimal:
        group_node = iri(group.description["@id"]) if "@id" in group.description else terms.blank()
        sink.text(f"{group_node} {TYPE} <{CSVW}TableGroup> .\n")
        annotate(group_node, group.description, terms, sink.text)
    for table in group.tables:
        data, headers = fetch.table(table.url)
        dialect = dialect_from(table.dialect, headers)
        reader = TableReader(data, dialect, table.url)
        bind_columns(table, reader.titles)
        if table.suppress:
            for _ in reader.rows():
                pass
            paths.append("rows: suppressed")
            continue
        # Column plans warn about unusable formats; the row path, if it takes the table, warns again.
        with warnings.catch_warnings(record=True) as planning:
            warnings.simplefilter("always")
            try:
                plan: TablePlan | str = TablePlan(table, minimal, dialect.trim)
            except (Unsupported, CsvwError) as exc:  # the row path meets (and raises) an error itself
                plan = str(exc)
        layout = layout_of(dialect, len(plan.real)) if isinstance(plan, TablePlan) else plan
        start = data_start(data, dialect, layout) if isinstance(layout, Layout) else None
        if not isinstance(plan, TablePlan) or not isinstance(layout, Layout) or start is None:
            convert_table(table, reader, sink.text, minimal, terms, group_node)
            paths.append(f"rows: {layout if isinstance(layout, str) else 'a header that is not one plain line'}")
            continue
        for caught in planning:
            warnings.warn_explicit(caught.message, caught.category, caught.filename, caught.lineno)
        writer = TableWriter(plan, dialect, layout, sink, terms, minimal, group_node)
        writer.planning = [str(caught.message) for caught in planning]
        paths.append(writer.write(data, start))
    return paths


class TableWriter:
    """One table through the columnar path, chunk by chunk."""

    def __init__(self, plan: TablePlan, dialect: Dialect, layout: Layout, sink: Sink, terms: Counter,
                 minimal: bool, group_node: str) -> None:
        self.plan, self.dialect, self.layout, self.sink, self.terms = plan, dialect, layout, sink, terms
        self.minimal, self.group_node = minimal, group_node
        self.table: Table = plan.table
        self.url = self.table.url
        self.rows_done = 0
        self.keys: list[pl.Series] = []  # hashes of each chunk's primary keys
        self.planning: list[str] = []  # warnings already given when the columns were planned

    def write(self, data: bytes, start: int) -> str:
        """Convert the table's records from byte `start` on; which path did it (see convert_group_columnar)."""
        table, terms = self.table, self.terms
        table_node = ""
        header_writes = 0
        if not self.minimal:
            table_node = iri(table.description["@id"]) if "@id" in table.description else terms.blank()
            self.sink.text(f"{self.group_node} <{CSVW}table> {table_node} .\n{table_node} {TYPE} <{CSVW}Table> .\n"
                           f"{table_node} <{CSVW}url> <{self.url}> .\n")
            annotate(table_node, table.description, terms, self.sink.text)
            header_writes = 1 + len(table.description.get("notes", [])) + sum(":" in k for k in table.description)
        self.table_node = table_node
        for begin, end in spans(data, start, CHUNK_BYTES):
            frame = parse(data[begin:end], self.layout)
            if frame is None:
                self._warn_repeated_keys()
                self._resume(data, begin, table_node, header_writes)
                return f"columnar, then rows from row {self.rows_done + 1}: a chunk that might parse differently"
            ChunkConverter(self, frame).write()
            self.rows_done += frame.height
        self._warn_repeated_keys()
        return "columnar"

    def _warn_repeated_keys(self) -> None:
        """The row path's warning for each row whose primary key an earlier row had (checked once, at the end)."""
        if not self.keys:
            return
        repeated = (~pl.concat(self.keys).is_first_distinct()).arg_true().to_list()
        self.keys = []
        for index in repeated:
            warn(f"{self.url}: row {index + 1 + self.dialect.header_row_count} repeats the primary key of an "
                 "earlier row")

    def write_series(self, lines: pl.Series) -> None:
        """Write a column of N-Triples lines; null rows write nothing."""
        if lines.n_chunks() == 1:
            # polars keeps strings as views into data buffers it fills in row order, skipping nulls: those
            # buffers, back to back, are the lines. Used only when their size says so exactly.
            view = lines.to_arrow(compat_level=pl.CompatLevel.newest())
            data = view.buffers()[2:]
            if view.offset == 0 and sum(b.size for b in data if b is not None) == lines.str.len_bytes().sum():
                for buffer in data:
                    if buffer is not None and buffer.size:
                        self.sink.raw(buffer, view)
                return
        array = lines.rechunk().to_arrow()
        _, offsets, values = array.buffers()
        if values is None or offsets is None:
            return
        bounds = memoryview(offsets).cast("q")
        first, last = bounds[array.offset], bounds[array.offset + len(array)]
        self.sink.raw(memoryview(values)[first:last], array)

    def _resume(self, data: bytes, begin: int, table_node: str, header_writes: int) -> None:
        """The row path converts the rest of the table, numbering on."""
        dialect = replace(self.dialect, header=False, header_row_count=0)
        rest = TableReader(data[begin:], dialect, self.url)
        shifted = Shifted(rest, self.rows_done, self.rows_done + self.dialect.header_row_count)
        resumed = Resumed(self.terms, table_node, header_writes)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            convert_table(self.table, cast(TableReader, shifted), resumed.write(self.sink), self.minimal, resumed,
                          self.group_node)
        given = list(self.planning)
        for warning in caught:
            if str(warning.message) in given:  # the row path's column plans repeat them
                given.remove(str(warning.message))
                continue
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)


class ChunkConverter:
    """The N-Triples of one chunk of rows, written column by column."""

    def __init__(self, writer: TableWriter, frame: pl.DataFrame) -> None:
        self.writer, self.plan = writer, writer.plan
        self.height = frame.height
        self.header_rows = writer.dialect.header_row_count
        self.first = writer.rows_done + 1
        cells = self.plan.cells
        literal = {e.plan.index for e in self.plan.emitters if e.literal}
        masks = frame.select([cells[k].clean(pl.col(f"c{k}"), k in literal).alias(f"clean{k}") for k in cells])
        unclean = masks.select([(~pl.col(f"clean{k}")).sum().alias(str(k)) for k in cells]).row(0)
        values = []
        self.dirty: dict[int, list[int]] = {}
        trim = writer.dialect.trim
        for (k, cell), count in zip(cells.items(), unclean):
            raw = frame[f"c{k}"]
            if cell.plan.separator is not None:
                values.append(self._lists(cell.plan, frame.select(trimmed(pl.col(f"c{k}"), trim)).to_series()))
                self.dirty[k] = []
                continue
            dirty = masks.select(pl.arg_where(~pl.col(f"clean{k}"))).to_series().to_list() if count else []
            self.dirty[k] = dirty
            if dirty:
                fixed = pl.DataFrame({"c": raw.gather(dirty)}).select(
                    value_expression(cell.plan, trimmed(pl.col("c"), trim))).to_series()
                raw = raw.clone().scatter(dirty, fixed)
            values.append(raw.alias(f"v{k}"))
        self.masks = masks
        self.frame = pl.DataFrame(values).with_columns(
            pl.int_range(self.first, self.first + self.height, dtype=pl.Int64).alias("_n"))

    def _lists(self, plan: ColumnPlan, cells: pl.Series) -> pl.Series:
        """A list column's values, by the row path's own function (lists are rare: in Python)."""
        url = self.writer.url
        found = [plan.value_of(cell, url, self._row(index)) for index, cell in enumerate(cells.to_list())]
        return pl.Series(f"v{plan.index}", found, dtype=pl.List(pl.String))

    def row_number(self, index: int) -> int:
        """The data row number of the chunk's row `index`."""
        return self.first + index

    def _row(self, index: int) -> Row:
        number = self.first + index
        return Row(number, number + self.header_rows, [])

    def _warn_rows(self) -> None:
        url, plan = self.writer.url, self.plan
        for column in plan.real:
            if column.required and self.dirty[column.index]:
                values = self.frame[f"v{column.index}"].gather(self.dirty[column.index])
                for index, value in zip(self.dirty[column.index], values.to_list()):
                    if value is None:
                        warn(f"{url}: row {self._row(index).source_number}: the required column {column.name} "
                             "is empty")
        if plan.key_plans:
            parts = [pl.col(f"v{p.index}").fill_null("None") if not p.virtual else pl.lit("None")
                     for p in plan.key_plans]
            key = parts[0] if len(parts) == 1 else pl.concat_str(parts, separator="\x1f")
            self.writer.keys.append(self.frame.select(key.hash().alias("h")).to_series())

    def write(self) -> None:
        """Write the chunk's triples (and, in standard mode, its row descriptions)."""
        self._warn_rows()
        plan = self.plan
        values = {p.name: pl.col(f"v{p.index}") for p in plan.real}
        rows = {"_row": pl.col("_n").cast(pl.String),
                "_sourceRow": (pl.col("_n") + self.header_rows).cast(pl.String)}
        templates: dict[int, tuple[str, TemplatePlan]] = {}
        columns: list[pl.Expr] = []
        shared: dict[str, TemplatePlan] = {}
        for emitter in plan.emitters:
            if emitter.about is not None and not emitter.about.constants:
                emitter.about = shared.setdefault(str(emitter.plan.column.get("aboutUrl")), emitter.about)
            for template in (emitter.about, emitter.predicate, emitter.value_url):
                if isinstance(template, TemplatePlan) and id(template) not in templates:
                    name = f"t{len(templates)}"
                    templates[id(template)] = (name, template)
                    if template.constant is None:
                        columns.append(template.expression(values, rows, plan.listed).alias(name))
        frame = self.frame.with_columns(columns) if columns else self.frame
        frame = self._fill_templates(frame, templates)
        frame = frame.with_columns(self._python_terms(frame) + self._titles(frame))
        self._assemble(frame, templates)

    def _fill_templates(self, frame: pl.DataFrame, templates: dict[int, tuple[str, TemplatePlan]]) -> pl.DataFrame:
        names = {p.name: f"v{p.index}" for p in self.plan.real}
        for name, template in templates.values():
            if template.constant is not None:
                continue
            missing = frame.select(pl.arg_where(pl.col(name).is_null())).to_series().to_list()
            if not missing:
                continue
            variables = [v for v in dict.fromkeys(template.variables) if v in names]
            cells = frame.select([pl.col(names[v]).gather(missing) for v in variables]).rows() if variables \
                else [() for _ in missing]
            by_row = "_row" in template.variables or "_sourceRow" in template.variables
            memo: dict[tuple[Any, ...], str] = {}
            results = []
            for index, row_cells in zip(missing, cells):
                number = self.row_number(index)
                key = (number if by_row else 0, *(tuple(c) if isinstance(c, list) else c for c in row_cells))
                if key not in memo:
                    bound: dict[str, Any] = {v: c for v, c in zip(variables, row_cells) if c is not None}
                    bound.update({"_row": number, "_sourceRow": number + self.header_rows})
                    memo[key] = template.in_python(bound)
                results.append(memo[key])
            frame = frame.with_columns(frame[name].scatter(missing, results))
        return frame

    def _python_terms(self, frame: pl.DataFrame) -> list[pl.Series]:
        """Terms the row path's converters give, for the non-null cells that are not clean."""
        url = self.writer.url
        found: list[pl.Series] = []
        for k, emitter in enumerate(self.plan.emitters):
            index = emitter.plan.index
            if emitter.literal and emitter.plan.separator is not None:
                # One term per item, by the row path's function (it warns about invalid items).
                lists = frame[f"v{index}"].to_list()
                found.append(pl.Series(f"p{k}", [None if items is None else
                                                 [emitter.plan.term(item, url, self._row(row)) for item in items]
                                                 for row, items in enumerate(lists)], dtype=pl.List(pl.String)))
                continue
            if not emitter.literal or not self.dirty[index]:
                continue
            dirty = pl.Series(self.dirty[index], dtype=pl.UInt32)
            slow = dirty.filter(frame[f"v{index}"].gather(dirty).is_not_null()).to_list()
            if not slow:
                continue
            texts = frame[f"v{index}"].gather(slow)
            # Each distinct value converted once; the row path's warning for every row of an invalid one.
            terms: dict[str, str] = {}
            problems: dict[str, ValueError] = {}
            for text in texts.unique().to_list():
                try:
                    terms[text] = emitter.plan.convert(text)
                except ValueError as exc:
                    problems[text] = exc
            converted = texts.replace_strict(terms, default=None, return_dtype=pl.String)
            if problems:
                invalid = texts.is_in(list(problems)).arg_true().to_list()
                plain = [emitter.plan.invalid(text, problems[text], url, self._row(slow[position]))
                         for position, text in zip(invalid, texts.gather(invalid).to_list())]
                converted = converted.scatter(invalid, plain)
            found.append(pl.Series(f"p{k}", [None] * self.height, dtype=pl.String).scatter(slow, converted))
        return found

    def _titles(self, frame: pl.DataFrame) -> list[pl.Series]:
        """Row titles (standard mode only) as the row path writes them; rowTitles are rare, so in Python."""
        if self.writer.minimal:
            return []
        found = []
        for j, title in enumerate(self.plan.title_plans):
            if not title.virtual:
                lang = title.column.get("lang")
                language = None if lang == "und" else lang
                found.append(pl.Series(f"r{j}", [None if v is None else literal(v, None, language)
                                                 for v in frame[f"v{title.index}"].to_list()], dtype=pl.String))
        return found

    def _assemble(self, frame: pl.DataFrame, templates: dict[int, tuple[str, TemplatePlan]]) -> None:
        plan, writer = self.plan, self.writer
        emits = {k: pl.lit(True) if e.plan.virtual else pl.col(f"v{e.plan.index}").is_not_null()
                 for k, e in enumerate(plan.emitters)}
        defaults = [emits[k] for k, e in enumerate(plan.emitters) if e.about is None]
        uses_default = pl.any_horizontal(defaults) if defaults else pl.lit(False)
        # Blank nodes each row takes (its default subject, its row node); a column, never a scalar.
        per_row = pl.col("_n") * 0 + uses_default.cast(pl.Int64) + (0 if writer.minimal else 1)
        base = pl.lit(writer.terms.next, pl.Int64) + per_row.cum_sum() - per_row
        # Terms used on many lines are made once: IRIs in brackets, blank nodes.
        shared = [(pl.lit("<") + pl.col(name) + pl.lit(">")).alias("<" + name) for name, template in templates.values()
                  if template.constant is None]
        if defaults:
            shared.append((pl.lit("_:b") + base.cast(pl.String)).alias("_default"))
        if not writer.minimal:
            shared.append((pl.lit("_:b") + (base + uses_default.cast(pl.Int64)).cast(pl.String)).alias("_node"))
        blanks = int(frame.select(per_row.sum()).item()) if self.height else 0
        frame = frame.with_columns(shared)

        def term(template: TemplatePlan | str | None) -> str | pl.Expr:
            if template is None:
                return pl.col("_default")
            if isinstance(template, str):
                return template
            if template.constant is not None:
                return "<" + template.constant + ">"
            return pl.col("<" + templates[id(template)][0])

        # Every line is a concatenation that is null where no triple is written (a null part nulls it):
        # null rows leave no bytes in the result's buffers (see TableWriter.write_series).
        lines: list[pl.Expr] = []
        listed: list[tuple[pl.Expr, int]] = []
        for k, emitter in enumerate(plan.emitters):
            head = [term(emitter.about), " ", term(emitter.predicate), " "]
            if emitter.literal and emitter.plan.separator is not None:
                listed.append((joined(head), k))
                continue
            if not emitter.literal:
                target = term(emitter.value_url)
                if not emitter.plan.virtual:
                    target = pl.when(emits[k]).then(pl.lit(target) if isinstance(target, str) else target)
                lines.append(joined(head + [target, " .\n"]))
                continue
            index = emitter.plan.index
            clean = pl.when(pl.lit(self.masks[f"clean{index}"])).then(pl.col(f"v{index}"))
            lines.append(joined(head + ['"', clean, plan.cells[index].suffix + " .\n"]))
            if f"p{k}" in frame.columns:
                lines.append(joined(head + [pl.col(f"p{k}"), " .\n"]))
        if not writer.minimal:
            node = pl.col("_node")
            source = (pl.col("_n") + self.header_rows).cast(pl.String)
            base_url = writer.url.split("#", 1)[0]
            lines.append(joined([
                f"{writer.table_node} <{CSVW}row> ", node, " .\n", node, f" {TYPE} <{CSVW}Row> .\n", node,
                f" <{CSVW}rownum> \"", pl.col("_n").cast(pl.String), f"\"^^<{XSD}integer> .\n", node,
                f" <{CSVW}url> <{base_url}#row=", source, "> .\n"]))
            for j, title in enumerate(plan.title_plans):
                if not title.virtual:
                    lines.append(joined([node, f" <{CSVW}title> ", pl.col(f"r{j}"), " .\n"]))
            if plan.emitters:
                lines.append(joined([pl.when(pl.any_horizontal(list(emits.values()))).then(node),
                                     f" <{CSVW}describes> ", term(plan.emitters[0].about), " .\n"]))
        for prefix, k in listed:  # a line per item: the row's subject and predicate repeated
            items = pl.col(f"p{k}").list.drop_nulls()
            lines.append(pl.when(items.list.len() > 0).then(
                pl.concat_str([prefix, items.list.join(pl.lit(" .\n") + prefix), pl.lit(" .\n")])))
        # Each row's lines together, rows in order: the store's per-subject difference of a re-published
        # table then finds a changed row's triples in one place (column by column, they were spread over
        # the whole chunk). A line that is null writes nothing.
        if lines:
            rows = frame.select(pl.concat_str(lines, ignore_nulls=True).alias("rows")).to_series()
            writer.write_series(rows)
        writer.terms.next += blanks


def joined(parts: list[str | pl.Expr]) -> pl.Expr:
    """The concatenation of literal strings and string expressions (adjacent literals merged first)."""
    merged: list[str | pl.Expr] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] = merged[-1] + part
        else:
            merged.append(part)
    return pl.concat_str([pl.lit(p) if isinstance(p, str) else p for p in merged])
