"""The CSVW JSON-LD context: its namespace prefixes, and expansion of prefixed names and terms."""

from __future__ import annotations

CSVW_CONTEXT = "http://www.w3.org/ns/csvw"
CSVW = "http://www.w3.org/ns/csvw#"

# The prefixes the CSVW context defines (those of the RDFa initial context).
PREFIXES: dict[str, str] = {
    "as": "https://www.w3.org/ns/activitystreams#", "cc": "http://creativecommons.org/ns#",
    "csvw": CSVW, "ctag": "http://commontag.org/ns#", "dc": "http://purl.org/dc/terms/",
    "dc11": "http://purl.org/dc/elements/1.1/", "dcat": "http://www.w3.org/ns/dcat#",
    "dcterms": "http://purl.org/dc/terms/", "dqv": "http://www.w3.org/ns/dqv#",
    "duv": "https://www.w3.org/TR/vocab-duv#", "foaf": "http://xmlns.com/foaf/0.1/",
    "gr": "http://purl.org/goodrelations/v1#", "grddl": "http://www.w3.org/2003/g/data-view#",
    "ical": "http://www.w3.org/2002/12/cal/icaltzd#", "ldp": "http://www.w3.org/ns/ldp#",
    "ma": "http://www.w3.org/ns/ma-ont#", "oa": "http://www.w3.org/ns/oa#",
    "odrl": "http://www.w3.org/ns/odrl/2/", "og": "http://ogp.me/ns#",
    "org": "http://www.w3.org/ns/org#", "owl": "http://www.w3.org/2002/07/owl#",
    "prov": "http://www.w3.org/ns/prov#", "qb": "http://purl.org/linked-data/cube#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#", "rdfa": "http://www.w3.org/ns/rdfa#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#", "rev": "http://purl.org/stuff/rev#",
    "rif": "http://www.w3.org/2007/rif#", "rr": "http://www.w3.org/ns/r2rml#",
    "schema": "http://schema.org/", "sd": "http://www.w3.org/ns/sparql-service-description#",
    "sioc": "http://rdfs.org/sioc/ns#", "skos": "http://www.w3.org/2004/02/skos/core#",
    "skosxl": "http://www.w3.org/2008/05/skos-xl#", "v": "http://rdf.data-vocabulary.org/#",
    "vcard": "http://www.w3.org/2006/vcard/ns#", "void": "http://rdfs.org/ns/void#",
    "wdr": "http://www.w3.org/2007/05/powder#", "wrds": "http://www.w3.org/2007/05/powder-s#",
    "xhv": "http://www.w3.org/1999/xhtml/vocab#", "xml": "http://www.w3.org/XML/1998/namespace",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}

# Terms of the CSVW context that name classes or properties of the csvw vocabulary.
TERMS = frozenset((
    "Cell Column Datatype Dialect Direction ForeignKey JSON NCName NMTOKEN Name NumericFormat QName "
    "Row Schema Table TableGroup TableReference Transformation aboutUrl base columnReference columns "
    "commentPrefix datatype decimalChar default delimiter describes dialect doubleQuote encoding "
    "foreignKey format groupChar header headerRowCount lang length lineTerminators maxExclusive "
    "maxInclusive maxLength minExclusive minInclusive minLength name note null ordered pattern "
    "primaryKey propertyUrl quoteChar reference referencedRow required resource row rowTitle rownum "
    "schemaReference scriptFormat separator skipBlankRows skipColumns skipInitialSpace skipRows source "
    "suppressOutput table tableDirection tableSchema targetFormat textDirection title titles "
    "transformations trim url valueUrl virtual").split())


def is_absolute(value: str) -> bool:
    """Whether `value` is an absolute IRI (has a scheme)."""
    scheme, colon, _ = value.partition(":")
    return bool(colon) and scheme[:1].isalpha() and all(c.isalnum() or c in "+-." for c in scheme)


def expand_prefixed(value: str) -> str | None:
    """The IRI of a prefixed name with a known prefix, or None."""
    prefix, colon, local = value.partition(":")
    if colon and prefix in PREFIXES and not local.startswith("//"):
        return PREFIXES[prefix] + local
    return None


def expand_term(value: str) -> str | None:
    """A CSVW term, a prefixed name or an absolute IRI as an IRI; None when it is none of these."""
    if value in TERMS:
        return CSVW + value
    expanded = expand_prefixed(value)
    if expanded is not None:
        return expanded
    return value if is_absolute(value) else None
