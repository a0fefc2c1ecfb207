"""The RDF vocabularies Lodestar speaks, as rdflib namespaces spelled as their vocabularies spell them.

rdflib's built-in `DefinedNamespace`s are re-used where they exist (they refuse misspelt terms);
the others are open `Namespace`s. The EU authority tables (Publications Office) are namespaces too,
so a concept reads `FREQUENCY.DAILY` or `LICENCE["CC_BY_4_0"]`.
"""

from __future__ import annotations

from rdflib import Namespace
from rdflib.namespace import (
    CSVW,
    DCAT,
    DCTERMS,
    FOAF,
    PROV,
    RDF,
    RDFS,
    SDO,
    SKOS,
    VOID,
    XSD,
)

DCT = DCTERMS
SCHEMA = SDO
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
DQV = Namespace("http://www.w3.org/ns/dqv#")
ADMS = Namespace("http://www.w3.org/ns/adms#")
SPDX = Namespace("http://spdx.org/rdf/terms#")

EU_AUTHORITY = "http://publications.europa.eu/resource/authority/"
FREQUENCY = Namespace(EU_AUTHORITY + "frequency/")
DATA_THEME = Namespace(EU_AUTHORITY + "data-theme/")
FILE_TYPE = Namespace(EU_AUTHORITY + "file-type/")
LICENCE = Namespace(EU_AUTHORITY + "licence/")
LANGUAGE = Namespace(EU_AUTHORITY + "language/")

#: Prefixes to bind when serialising Turtle or JSON-LD, in one place so every output agrees.
PREFIXES: dict[str, str] = {
    "adms": str(ADMS),
    "csvw": str(CSVW),
    "dcat": str(DCAT),
    "dct": str(DCTERMS),
    "dqv": str(DQV),
    "foaf": str(FOAF),
    "prov": str(PROV),
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "schema": str(SDO),
    "skos": str(SKOS),
    "spdx": str(SPDX),
    "vcard": str(VCARD),
    "void": str(VOID),
    "xsd": str(XSD),
}

__all__ = [
    "ADMS", "CSVW", "DATA_THEME", "DCAT", "DCT", "DCTERMS", "DQV", "EU_AUTHORITY", "FILE_TYPE",
    "FOAF", "FREQUENCY", "LANGUAGE", "LICENCE", "PREFIXES", "PROV", "RDF", "RDFS", "SCHEMA", "SDO",
    "SKOS", "SPDX", "VCARD", "VOID", "XSD",
]
