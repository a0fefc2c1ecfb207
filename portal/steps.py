"""The pipeline's steps as public functions on plain inputs: validate, upgrade, publish, withdraw.

None of them touches the database; harvest, an upload, a worker and the tests compose them the
same way. Each takes local files and plain values, and gives back plain values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from frictionless import Dialect, Schema

from portal.errors import StoreError
from portal.report import Report
from portal.store import TripleStore
from schemas.guard import Limits
from schemas.validation import TableDescription, validate_table
from vocab.csv2rdf import columns_to_ntriples
from vocab.uris import UriScheme


@dataclass(frozen=True)
class DatasetRef:
    """A dataset's identity in the portal: its publisher and its slug."""

    publisher: str
    slug: str

    def graph(self, uris: UriScheme) -> str:
        """The IRI of the named graph that holds the dataset."""
        return uris.graph(self.publisher, self.slug)

    def uri(self, uris: UriScheme) -> str:
        """The URI of the dataset itself."""
        return uris.dataset(self.publisher, self.slug)

    def __str__(self) -> str:
        return f"{self.publisher}/{self.slug}"


@dataclass(frozen=True)
class UpgradeResult:
    """A converted table: the N-Triples file written and how many triples it holds."""

    path: Path
    triples: int
    mapping: str | None = None  # the bundled schema whose curated mapping was used
    links: dict[str, dict[str, Any]] = field(default_factory=dict)  # column → link counts
    warnings: int = 0  # cells the CSVW conversion warned about (kept as strings)
    warning_examples: list[str] = field(default_factory=list)


def _declared_layout(dialect: Dialect) -> dict[str, Any]:
    """What a Frictionless dialect states explicitly about delimiter, quote character and header row."""
    descriptor = dialect.to_descriptor()
    control = descriptor.get("csv", {})
    declared: dict[str, Any] = {}
    if "delimiter" in control:
        declared["delimiter"] = control["delimiter"]
    if "quoteChar" in control:
        declared["quotechar"] = control["quoteChar"]
    if descriptor.get("headerRows"):
        declared["header_row"] = descriptor["headerRows"][0]
    return declared


def validate(path: str | Path, schema: Schema | Mapping[str, Any] | str | None = None,
             dialect: Dialect | Mapping[str, Any] | None = None, *,
             resource: Mapping[str, Any] | None = None, limit_errors: int | None = None,
             pick_errors: Sequence[str] | None = None, limits: Limits | None = None
             ) -> tuple[Report, TableDescription]:
    """Validate a local CSV file against a Table Schema (or an inferred one when None).

    Problems are issues in the report, never exceptions. The file is read as it is written;
    where a given `dialect` states otherwise, a ``table/dialect-mismatch`` warning says so. Only
    ``header: false``, which reading cannot detect, is followed. `resource` holds the Data
    Resource's declared ``bytes``, ``rows`` and ``hash``; `limit_errors` and `pick_errors` are
    Frictionless' ``limitErrors`` and ``pickErrors``; `limits` the guard-rails and budgets.
    """
    if isinstance(schema, Schema):
        descriptor: dict[str, Any] | str | None = schema.to_descriptor()
    elif isinstance(schema, Mapping):
        descriptor = dict(schema)
    else:
        descriptor = schema
    if isinstance(dialect, Mapping):
        dialect = Dialect.from_descriptor(dict(dialect))
    declared = {k: v for k, v in (resource or {}).items() if k in ("bytes", "rows", "hash")}
    report, table = validate_table(
        path, descriptor, limit_errors=limit_errors,
        pick_errors=list(pick_errors) if pick_errors else None,
        header=dialect.header if dialect is not None else True, declared=declared or None,
        limits=limits)
    if dialect is not None:
        for name, declared_value in _declared_layout(dialect).items():
            found = getattr(table, name)
            if found != declared_value:
                report.add("table/dialect-mismatch", "warning",
                           f"the declared dialect gives {name.replace('_', ' ')} {declared_value!r} "
                           f"but the file reads as {found!r}; it was validated as it reads",
                           file=str(path))
    return report, table


def validate_package(source: str | Path | Mapping[str, Any], *, check_data: bool = True,
                     limit_errors: int | None = None, limits: Limits | None = None) -> list[Report]:
    """Validate a Data Package: its descriptor, then (unless `check_data` is False) each table.

    Returns one report per table resource, or one report about the descriptor when it has
    errors. Problems are issues, never exceptions; a missing descriptor raises `NotFoundError`.
    """
    from schemas.packages import validate_package as validate_descriptor_and_tables

    given = dict(source) if isinstance(source, Mapping) else source
    return validate_descriptor_and_tables(given, check_data=check_data, limit_errors=limit_errors,
                                          limits=limits)


def upgrade(path: str | Path, table: TableDescription, *, uris: UriScheme, publisher: str,
            dataset_namespace: str, out_path: Path, schema_name: str | None = None,
            fields: Mapping[str, str] | None = None, municipalities: Sequence[str] = (),
            report: Report | None = None) -> UpgradeResult:
    """Convert a validated table to N-Triples at `out_path`: its small vocabulary, then its rows
    through CSVW (`vocab.tabular`): the curated mapping of `schema_name` when the table was checked
    against a bundled schema (`fields` maps its labels to that schema's fields), else the bridge.

    Rows are minted as ``{base}/id/{publisher}/{dataset_namespace}/{key}``; district cells link to
    the registers of `municipalities` (the publisher's names). Problems that lower the rating
    go to `report`. The file appears whole or not at all (written beside it, then renamed).
    """
    from vocab.tabular import convert_table

    out_path.parent.mkdir(parents=True, exist_ok=True)
    part = out_path.with_name(out_path.name + ".part")
    try:
        with part.open("wb") as out:
            out.write(columns_to_ntriples(table.schema, uris=uris, publisher=publisher,
                                          dataset=dataset_namespace).encode("utf-8"))
            converted = convert_table(
                Path(path), schema=table.schema, encoding=table.encoding, delimiter=table.delimiter,
                quotechar=table.quotechar, header_row=table.header_row, uris=uris, publisher=publisher,
                dataset=dataset_namespace, out=out, schema_name=schema_name, fields=fields,
                municipalities=municipalities, report=report)
        lines = _count_lines(part)
        part.replace(out_path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return UpgradeResult(out_path, lines, converted.mapping, converted.links, converted.warnings,
                         converted.warning_examples)


def _count_lines(path: Path) -> int:
    """How many lines (N-Triples statements) a file holds, read in chunks."""
    count = 0
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            count += chunk.count(b"\n")
    return count


def publish(store: TripleStore, graph_iri: str, files: Sequence[Path]) -> bool:
    """Make the named graph hold exactly the concatenation of `files` (N-Triples), in one step.

    Returns False when the graph already held exactly that. A missing file raises `StoreError`
    before the store is touched.
    """
    paths = [Path(f) for f in files]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise StoreError(f"cannot publish <{graph_iri}>: missing file(s) {', '.join(missing)}")
    return store.replace_graph(graph_iri, paths)


def withdraw(store: TripleStore, graph_iri: str) -> None:
    """Remove the named graph from the store (nothing happens when it is not there)."""
    store.drop_graph(graph_iri)
