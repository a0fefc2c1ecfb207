"""Shared reference data: small real tables (countries, currencies, municipalities, districts) as SKOS.

The same district in a spending table and in a tree register must be the same IRI, so these
concepts live at `{base}/id/ref/{scheme}/{code}` whatever dataset mentions them. `scheme(name)`
loads one table (`tables.py`); `reference_graphs(uris)` gives every scheme, and the EU authority
tables, as N-Triples for named graphs (`skos.py`); `vocab.linking` turns cell values into the IRIs.
PROVENANCE.md says where each fact comes from.
"""

from __future__ import annotations

from vocab.reference.skos import authority_graph, notation_datatype, reference_graphs, scheme_graph
from vocab.reference.tables import (
    WIKIDATA,
    CodeSystem,
    Concept,
    Scheme,
    code_systems,
    scheme,
    scheme_names,
)

__all__ = [
    "WIKIDATA", "CodeSystem", "Concept", "Scheme", "authority_graph", "code_systems",
    "notation_datatype", "reference_graphs", "scheme", "scheme_graph", "scheme_names",
]
