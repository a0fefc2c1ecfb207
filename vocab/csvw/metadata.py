"""CSVW metadata documents: checked against "Metadata Vocabulary for Tabular Data" and normalised.

`normalise` turns a parsed JSON document into plain dictionaries in which links are absolute,
titles are language maps, common-property values are expanded objects, and referenced schemas and
dialects are loaded in place. Values the vocabulary does not allow are warned about and dropped
(their default applies); structural faults the specification calls errors raise `CsvwError`.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from vocab.csvw.context import CSVW_CONTEXT, expand_term
from vocab.csvw.errors import CsvwError, warn

Loader = Callable[[str], tuple[bytes, Mapping[str, str]]]

INHERITED = frozenset({"null", "default", "lang", "datatype", "separator", "ordered", "textDirection",
                       "required", "aboutUrl", "propertyUrl", "valueUrl"})
ALLOWED: dict[str, frozenset[str]] = {
    "TableGroup": INHERITED | {"@id", "@type", "tables", "dialect", "tableSchema", "tableDirection",
                               "transformations", "notes"},
    "Table": INHERITED | {"@id", "@type", "url", "tableSchema", "dialect", "notes", "suppressOutput",
                          "tableDirection", "transformations"},
    "Schema": INHERITED | {"@id", "@type", "columns", "primaryKey", "foreignKeys", "rowTitles"},
    "Column": INHERITED | {"@id", "@type", "name", "titles", "virtual", "suppressOutput"},
    "Dialect": frozenset({"@id", "@type", "commentPrefix", "delimiter", "doubleQuote", "encoding", "header",
                          "headerRowCount", "lineTerminators", "quoteChar", "skipBlankRows", "skipColumns",
                          "skipInitialSpace", "skipRows", "trim"}),
    "Template": frozenset({"@id", "@type", "url", "scriptFormat", "targetFormat", "source", "titles"}),
}
BOOLEANS = frozenset({"suppressOutput", "virtual", "required", "ordered", "doubleQuote", "header",
                      "skipBlankRows", "skipInitialSpace"})
COUNTS = frozenset({"headerRowCount", "skipColumns", "skipRows"})
STRINGS = frozenset({"default", "commentPrefix", "delimiter", "aboutUrl", "propertyUrl", "valueUrl",
                     "scriptFormat", "targetFormat", "source"})
CHOICES = {"textDirection": ("ltr", "rtl", "auto", "inherit"), "tableDirection": ("ltr", "rtl", "auto"),
           "trim": ("true", "false", "start", "end")}
TEMPLATES = frozenset({"aboutUrl", "propertyUrl", "valueUrl"})
LINKS = frozenset({"url", "resource", "schemaReference"})
DATATYPE_KEYS = frozenset({"@id", "@type", "base", "format", "length", "minLength", "maxLength", "minimum",
                           "maximum", "minInclusive", "maxInclusive", "minExclusive", "maxExclusive"})


@dataclass
class Scope:
    """Where a document's links resolve and which language its plain strings are in."""

    base: str
    language: str | None
    loader: Loader


def load_json(url: str, loader: Loader) -> Any:
    """Fetch and parse a JSON document; CsvwError when it cannot be read as JSON."""
    data, _ = loader(url)
    try:
        return json.loads(codecs.decode(data, "utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise CsvwError(f"{url}: not a JSON metadata document ({exc})") from None


def normalise(document: Any, url: str, loader: Loader) -> dict[str, Any]:
    """A top-level metadata document as a normalised table group (a lone table is wrapped).

    The group also records `_language`, the document's default language (from `@context`).
    """
    if not isinstance(document, dict):
        raise CsvwError(f"{url}: a metadata document must be a JSON object")
    scope = _context(document.get("@context"), url, loader)
    if "tables" in document or ("url" not in document and document.get("@type") == "TableGroup"):
        return {**_describe(document, "TableGroup", scope), "_language": scope.language}
    table = _describe(document, "Table", scope)
    return {"tables": [table], "_language": scope.language}


def _context(context: Any, url: str, loader: Loader) -> Scope:
    if context is None:
        raise CsvwError(f"{url}: the metadata document has no @context")
    if context == CSVW_CONTEXT:
        return Scope(url, None, loader)
    if (isinstance(context, list) and len(context) == 2 and context[0] == CSVW_CONTEXT
            and isinstance(context[1], dict)):
        extra = set(context[1]) - {"@base", "@language"}
        if extra:
            raise CsvwError(f"{url}: @context may only set @base and @language, not {sorted(extra)}")
        base, language = url, None
        if "@base" in context[1]:
            if not isinstance(context[1]["@base"], str):
                raise CsvwError(f"{url}: @base must be a string")
            base = urljoin(url, context[1]["@base"])
        if "@language" in context[1]:
            language = context[1]["@language"]
            if not isinstance(language, str) or not _is_language(language):
                warn(f"{url}: @language {language!r} is not a language tag")
                language = None
        return Scope(base, language, loader)
    raise CsvwError(f"{url}: @context must be {CSVW_CONTEXT!r} or [it, {{@base, @language}}]")


def _is_variable_name(name: str) -> bool:
    """Whether `name` is a URI template variable name (RFC 6570 varname) not starting with `_`."""
    if not name or name.startswith(("_", ".")) or name.endswith(".") or ".." in name:
        return False
    index = 0
    while index < len(name):
        char = name[index]
        if char == "%":
            hexdigits = name[index + 1:index + 3]
            if len(hexdigits) != 2 or any(c not in "0123456789abcdefABCDEF" for c in hexdigits):
                return False
            index += 3
            continue
        if not (char.isascii() and (char.isalnum() or char in "_.")):
            return False
        index += 1
    return True


def _is_language(tag: str) -> bool:
    parts = tag.split("-")
    if not all(0 < len(p) <= 8 and p.isascii() and p.isalnum() for p in parts) or not parts[0].isalpha():
        return False
    return len(parts[0]) >= 2 or (parts[0].lower() in ("x", "i") and len(parts) > 1)


def _describe(obj: dict[str, Any], kind: str, scope: Scope) -> dict[str, Any]:
    """One description object of the given kind, checked and normalised."""
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if key == "@context":
            continue
        if ":" in key:
            out[key] = common_value(value, scope)
            continue
        if key not in ALLOWED[kind]:
            warn(f"{kind} property {key!r} is not allowed here: ignored")
            continue
        normalised = _property(key, value, kind, scope)
        if normalised is not _DROP:
            out[key] = normalised
    _require(out, kind)
    return out


_DROP = object()


def _property(key: str, value: Any, kind: str, scope: Scope) -> Any:
    if key == "@id":
        if not isinstance(value, str):
            warn(f"{kind} @id {value!r} is not a string: using an empty link")
            value = ""
        if value.startswith("_:"):
            raise CsvwError(f"{kind} @id {value!r} must be an IRI, not a blank node")
        return urljoin(scope.base, value)
    if key == "@type":
        if value != kind:
            raise CsvwError(f"{kind} @type must be {kind!r}, not {value!r}")
        return value
    if key in ("tables", "columns", "transformations", "foreignKeys"):
        return _array(key, value, scope)
    if key in ("tableSchema", "dialect"):
        return _referenced(key, value, scope)
    if key in LINKS:
        if not isinstance(value, str):
            warn(f"{key} {value!r} is not a string: ignored")
            return _DROP
        return urljoin(scope.base, value)
    if key == "notes":
        if not isinstance(value, list):
            warn(f"notes {value!r} is not an array: ignored")
            return _DROP
        return [common_value(v, scope) for v in value]
    if key == "titles":
        return _titles(value, scope)
    if key in ("primaryKey", "rowTitles", "columnReference"):
        refs = [value] if isinstance(value, str) else value
        if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
            warn(f"{key} {value!r} is not a column name or a list of them: ignored")
            return _DROP
        return refs
    if key == "null":
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list):
            warn(f"null {value!r} is not a string or array: ignored")
            return _DROP
        kept = [v for v in values if isinstance(v, str)]
        if len(kept) != len(values):
            warn(f"null {value!r} has values that are not strings: those are ignored")
        return kept
    if key == "datatype":
        return _datatype(value, scope)
    if key == "separator":
        if value is not None and not isinstance(value, str):
            warn(f"separator {value!r} is not a string: ignored")
            return _DROP
        return value
    if key == "quoteChar":
        if value is not None and not isinstance(value, str):
            warn(f"quoteChar {value!r} is not a string: ignored")
            return _DROP
        return value
    if key == "lang":
        if not isinstance(value, str) or not _is_language(value):
            warn(f"lang {value!r} is not a language tag: ignored")
            return _DROP
        return value
    if key == "name":
        if not isinstance(value, str) or not _is_variable_name(value):
            warn(f"name {value!r} is not a valid column name: ignored")
            return _DROP
        return value
    if key == "encoding":
        try:
            codecs.lookup(value)
        except (LookupError, TypeError):
            warn(f"encoding {value!r} is not known: ignored")
            return _DROP
        return value
    if key == "lineTerminators":
        terms = [value] if isinstance(value, str) else value
        if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
            warn(f"lineTerminators {value!r} is not a list of strings: ignored")
            return _DROP
        return terms
    if key == "trim" and isinstance(value, bool):
        return "true" if value else "false"
    if key in CHOICES:
        if value not in CHOICES[key]:
            warn(f"{key} {value!r} is not one of {CHOICES[key]}: ignored")
            return _DROP
        return value
    if key in BOOLEANS:
        if not isinstance(value, bool):
            warn(f"{key} {value!r} is not a boolean: ignored")
            return _DROP
        return value
    if key in COUNTS:
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            warn(f"{key} {value!r} is not a non-negative integer: ignored")
            return _DROP
        return value
    if key in TEMPLATES and not isinstance(value, str):
        warn(f"{key} {value!r} is not a string: using an empty template")
        return ""
    if key in STRINGS:
        if not isinstance(value, str):
            warn(f"{key} {value!r} is not a string: ignored")
            return _DROP
        return value
    return value


def _array(key: str, value: Any, scope: Scope) -> Any:
    if not isinstance(value, list):
        warn(f"{key} {value!r} is not an array: ignored")
        return _DROP
    kind = {"tables": "Table", "columns": "Column", "transformations": "Template"}.get(key)
    items = []
    for item in value:
        if not isinstance(item, dict):
            warn(f"an item of {key} is not an object: ignored")
            continue
        items.append(_foreign_key(item, scope) if kind is None else _describe(item, kind, scope))
    return items


def _foreign_key(obj: dict[str, Any], scope: Scope) -> dict[str, Any]:
    extra = set(obj) - {"columnReference", "reference"}
    if extra:
        raise CsvwError(f"a foreign key may not have {sorted(extra)}")
    reference = obj.get("reference")
    if not isinstance(reference, dict):
        raise CsvwError("a foreign key needs a reference object")
    extra = set(reference) - {"resource", "schemaReference", "columnReference"}
    if extra:
        raise CsvwError(f"a foreign key reference may not have {sorted(extra)}")
    if ("resource" in reference) == ("schemaReference" in reference):
        raise CsvwError("a foreign key reference needs exactly one of resource and schemaReference")
    out = {"columnReference": _property("columnReference", obj.get("columnReference"), "ForeignKey", scope),
           "reference": {key: _property(key, value, "TableReference", scope) for key, value in reference.items()}}
    if out["columnReference"] is _DROP or out["reference"].get("columnReference", _DROP) is _DROP:
        raise CsvwError("a foreign key needs column references")
    return out


def _referenced(key: str, value: Any, scope: Scope) -> Any:
    kind = "Schema" if key == "tableSchema" else "Dialect"
    if isinstance(value, str):
        url = urljoin(scope.base, value)
        document = load_json(url, scope.loader)
        if not isinstance(document, dict):
            raise CsvwError(f"{url}: a {kind} must be a JSON object")
        inner = _context(document["@context"], url, scope.loader) if "@context" in document else Scope(
            url, scope.language, scope.loader)
        return _describe(document, kind, inner)
    if isinstance(value, dict):
        return _describe(value, kind, scope)
    warn(f"{key} {value!r} is neither an object nor a link: ignored")
    return _DROP


def _titles(value: Any, scope: Scope) -> Any:
    language = scope.language or "und"
    if isinstance(value, str):
        return {language: [value]}
    if isinstance(value, list):
        kept = [v for v in value if isinstance(v, str)]
        if len(kept) != len(value):
            warn("titles has values that are not strings: those are ignored")
        return {language: kept}
    if isinstance(value, dict):
        out: dict[str, list[str]] = {}
        for tag, titles in value.items():
            if not _is_language(tag):
                warn(f"titles language {tag!r} is not a language tag: ignored")
                continue
            items = [titles] if isinstance(titles, str) else titles
            if not isinstance(items, list):
                warn(f"titles for {tag!r} are not strings: ignored")
                continue
            out[tag] = [t for t in items if isinstance(t, str)]
            if len(out[tag]) != len(items):
                warn("titles has values that are not strings: those are ignored")
        return out
    warn(f"titles {value!r} is not a string, array or object: ignored")
    return _DROP


def _datatype(value: Any, scope: Scope) -> Any:
    if isinstance(value, str):
        return value
    if not isinstance(value, dict):
        warn(f"datatype {value!r} is not a string or object: ignored")
        return _DROP
    out: dict[str, Any] = {}
    for key, item in value.items():
        if ":" in key:
            continue
        if key not in DATATYPE_KEYS:
            warn(f"datatype property {key!r} is not allowed: ignored")
            continue
        if key == "@id":
            if not isinstance(item, str) or item.startswith("_:"):
                raise CsvwError(f"datatype @id {item!r} must be an IRI, not a blank node")
            item = expand_term(item) or urljoin(scope.base, item)
        out[key] = item
    return out


def _require(out: dict[str, Any], kind: str) -> None:
    if kind == "TableGroup" and not out.get("tables"):
        raise CsvwError("a table group needs at least one table")
    if kind == "Table" and "url" not in out:
        raise CsvwError("a table needs a url")
    if kind == "Template":
        for key in ("url", "targetFormat", "scriptFormat"):
            if key not in out:
                raise CsvwError(f"a transformation needs {key}")


def common_value(value: Any, scope: Scope) -> Any:
    """A common property's value, checked and expanded to JSON-LD value and node objects."""
    if isinstance(value, list):
        return [common_value(v, scope) for v in value]
    if isinstance(value, str):
        return {"@value": value, "@language": scope.language} if scope.language else {"@value": value}
    if not isinstance(value, dict):
        return value
    if "@value" in value:
        extra = set(value) - {"@value", "@type", "@language"}
        if extra or ("@type" in value and "@language" in value):
            raise CsvwError(f"a value object may not have {sorted(extra) or ['@type with @language']}")
        if "@type" in value:
            _check_type(value["@type"])
        if "@language" in value and not isinstance(value["@language"], str):
            raise CsvwError(f"@language {value['@language']!r} is not a string")
        return dict(value)
    if "@language" in value:
        raise CsvwError("@language is only allowed beside @value")
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key == "@id":
            if not isinstance(item, str) or item.startswith("_:"):
                raise CsvwError(f"@id {item!r} must be an IRI, not a blank node")
            out[key] = expand_term(item) if ":" in item and expand_term(item) else urljoin(scope.base, item)
        elif key == "@type":
            for kind in item if isinstance(item, list) else [item]:
                _check_type(kind)
            out[key] = item
        elif key.startswith("@"):
            raise CsvwError(f"{key} is not allowed in metadata")
        else:
            out[key] = common_value(item, scope)
    return out


def _check_type(kind: Any) -> None:
    if not isinstance(kind, str) or kind.startswith("_:") or expand_term(kind) is None:
        raise CsvwError(f"@type {kind!r} must be a term, a prefixed name or an absolute IRI")
