"""A validated table to linked data through CSVW: the bridge from its Table Schema, the curated
mapping of its bundled schema, district cells linked to the shared reference IRIs, projected
coordinates converted — then the CSVW csv2rdf processor writes the N-Triples.

A table checked against a bundled schema (declared or matched by its header) gets that schema's
curated mapping to established vocabularies and the pre-pass (`vocab.mappings.derivation`);
any other table gets the bridge alone: row IRIs from its primary key, one property per column,
typed literals. Either way every row is a thing with a URI: four stars at least.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from portal.report import Report
from vocab.bridge import csvw_metadata, dialect
from vocab.csvw import CsvwWarning, csv2rdf_stream, file_loader, file_url
from vocab.linking import linker
from vocab.mappings import mapping_for
from vocab.mappings.derivation import derive
from vocab.reference import scheme, scheme_names
from vocab.uris import UriScheme

#: Conversion warnings kept as examples (the rest are counted).
WARNING_EXAMPLES = 5


@dataclass
class Converted:
    """What converting one table through CSVW did: its mapping, link counts, and the warnings."""

    mapping: str | None = None  # the bundled schema whose curated mapping was used
    links: dict[str, dict[str, Any]] = field(default_factory=dict)  # column → LinkStats.as_dict()
    located: int = 0  # rows given WGS84 coordinates by the pre-pass
    warnings: int = 0
    warning_examples: list[str] = field(default_factory=list)


def district_schemes(municipalities: Iterable[str], uris: UriScheme) -> list[str]:
    """The district registers of the municipalities named (publisher names, say): their wards,
    Stadtbezirke … — found through the municipality register and each district's `broader`."""
    register = linker(uris, "municipality")
    codes = set()
    for name in municipalities:
        result = register.link(name)
        if result.iri is not None:
            codes.add(result.iri.rsplit("/", 1)[-1])
    found = []
    for name in scheme_names():
        if name == "municipality":
            continue
        concepts = scheme(name).concepts.values()
        if any(c.broader is not None and c.broader[0] == "municipality" and c.broader[1] in codes
               for c in concepts):
            found.append(name)
    return found


class _Counted:
    """Counts CSVW warnings and keeps the first few, instead of letting each cell's reach the log."""

    def __init__(self, converted: Converted) -> None:
        self.converted = converted

    def __call__(self, message: Warning | str, category: type[Warning], filename: str, lineno: int,
                 file: Any = None, line: str | None = None) -> None:
        self.converted.warnings += 1
        if len(self.converted.warning_examples) < WARNING_EXAMPLES:
            self.converted.warning_examples.append(str(message))


def convert_table(path: Path, *, schema: Mapping[str, Any], encoding: str, delimiter: str, quotechar: str,
                  header_row: int, uris: UriScheme, publisher: str, dataset: str, out: BinaryIO,
                  schema_name: str | None = None, fields: Mapping[str, str] | None = None,
                  municipalities: Iterable[str] = (), report: Report | None = None) -> Converted:
    """Write the table's rows as N-Triples to `out` through CSVW metadata; returns what was done."""
    converted = Converted(mapping=schema_name if schema_name and mapping_for(schema_name) else None)
    if fields is None:  # checked against the bundled schema itself: its labels are its field names
        fields = {str(f.get("name")): str(f.get("name")) for f in schema.get("fields", [])}
    with tempfile.TemporaryDirectory(prefix="lodestar-csvw-") as tmp:
        source, metadata = path, None
        if converted.mapping is not None:
            assert schema_name is not None
            registers = district_schemes(municipalities, uris)
            district = linker(uris, *registers) if registers else None
            source = Path(tmp) / "derived.csv"
            with source.open("w", encoding="utf-8", newline="") as derived_file:
                derived = derive(path, derived_file, schema_name=schema_name, fields=fields,
                                 district=district, encoding=encoding, delimiter=delimiter,
                                 quotechar=quotechar, header_row=header_row)
            converted.links = {column: stats.as_dict() for column, stats in derived.links.items()}
            converted.located = derived.located
            metadata = csvw_metadata(schema, table_url=file_url(source), uris=uris, publisher=publisher,
                                     dataset=dataset, mapping=mapping_for(schema_name), fields=fields,
                                     derived=derived.columns, dialect=dialect(), report=report)
        else:
            metadata = csvw_metadata(schema, table_url=file_url(path), uris=uris, publisher=publisher,
                                     dataset=dataset, report=report,
                                     dialect=dialect(encoding=encoding, delimiter=delimiter, quotechar=quotechar,
                                                     header_row=header_row))
        with warnings.catch_warnings():
            warnings.simplefilter("always", CsvwWarning)
            warnings.showwarning = _Counted(converted)
            csv2rdf_stream(file_url(source), out, metadata=metadata, minimal=True, loader=file_loader)
    return converted
