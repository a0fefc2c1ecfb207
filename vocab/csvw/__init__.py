"""A W3C CSVW converter: tabular data with CSVW metadata → RDF (csv2rdf, standard and minimal modes).

`csv2rdf(url, metadata=..., minimal=..., loader=...)` returns an rdflib Graph;
`csv2rdf_stream(url, out, ...)` writes N-Triples to a binary stream without building one.
`loader(url) -> (bytes, headers)` is the only way the converter reads anything.
"""

from __future__ import annotations

from vocab.csvw.errors import CsvwError, CsvwWarning
from vocab.csvw.loaders import egress_loader, file_loader, file_url
from vocab.csvw.metadata import Loader
from vocab.csvw.processor import csv2rdf, csv2rdf_stream

__all__ = ["CsvwError", "CsvwWarning", "Loader", "csv2rdf", "csv2rdf_stream", "egress_loader", "file_loader",
           "file_url"]
