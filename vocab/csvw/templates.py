"""URI templates (RFC 6570, level 4) for aboutUrl, propertyUrl and valueUrl, compiled once per column.

The template is read once into literal parts and expressions (operator, variables, modifiers);
expansion then only encodes values. Written here rather than taken from the `uritemplate` package
because that package stops encoding a reserved expansion altogether when the value already
holds a percent-encoded triplet (`{#_name}` with `a%2Db c` must give `#a%2Db%20c`), which CSVW
column names rely on. The expanded string is resolved against the table's URL, after expanding a
prefixed name such as `schema:name`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urljoin

from vocab.csvw.context import expand_prefixed
from vocab.csvw.errors import CsvwError

Expand = Callable[[Mapping[str, Any]], str]

UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
RESERVED = frozenset(":/?#[]@!$&'()*+,;=")
HEX = frozenset("0123456789abcdefABCDEF")


@dataclass(frozen=True)
class Operator:
    """How one RFC 6570 operator joins and encodes (RFC 6570 appendix A table)."""

    first: str
    sep: str
    named: bool
    if_empty: str
    allow_reserved: bool


OPERATORS = {
    "": Operator("", ",", False, "", False), "+": Operator("", ",", False, "", True),
    ".": Operator(".", ".", False, "", False), "/": Operator("/", "/", False, "", False),
    ";": Operator(";", ";", True, "", False), "?": Operator("?", "&", True, "=", False),
    "&": Operator("&", "&", True, "=", False), "#": Operator("#", ",", False, "", True),
}


@dataclass(frozen=True)
class VarSpec:
    """One variable of an expression, with its prefix length or explode modifier."""

    name: str
    prefix: int | None
    explode: bool


def encode(value: str, allow_reserved: bool) -> str:
    """Percent-encode `value` for an expansion (reserved characters and triplets kept if allowed)."""
    if not allow_reserved:
        return quote(value, safe="~")
    out = []
    index = 0
    while index < len(value):
        char = value[index]
        if char == "%" and value[index + 1:index + 2] in HEX and value[index + 2:index + 3] in HEX:
            out.append(value[index:index + 3])
            index += 3
            continue
        out.append(char if char in UNRESERVED or char in RESERVED else quote(char, safe=""))
        index += 1
    return "".join(out)


def parse_template(template: str) -> list[str | tuple[Operator, list[VarSpec]]]:
    """The template as literal strings and (operator, variables) expressions; CsvwError if malformed."""
    parts: list[str | tuple[Operator, list[VarSpec]]] = []
    rest = template
    while rest:
        start = rest.find("{")
        if start < 0:
            if "}" in rest:
                raise CsvwError(f"unbalanced '}}' in URI template {template!r}")
            parts.append(rest)
            break
        end = rest.find("}", start)
        if end < 0:
            raise CsvwError(f"unclosed '{{' in URI template {template!r}")
        if start:
            parts.append(rest[:start])
        body = rest[start + 1:end]
        operator = OPERATORS.get(body[:1]) if body[:1] in OPERATORS and body[:1] else None
        if operator is not None:
            body = body[1:]
        specs = []
        for spec in body.split(","):
            explode = spec.endswith("*")
            spec = spec.rstrip("*")
            name, colon, length = spec.partition(":")
            if not name or (colon and not length.isdigit()):
                raise CsvwError(f"bad variable {spec!r} in URI template {template!r}")
            specs.append(VarSpec(name, int(length) if colon else None, explode))
        parts.append((operator or OPERATORS[""], specs))
        rest = rest[end + 1:]
    return parts


def _expand_var(op: Operator, spec: VarSpec, value: Any) -> str | None:
    if value is None or (isinstance(value, (list, dict)) and not value):
        return None
    enc = op.allow_reserved
    if isinstance(value, dict):
        pairs = [(str(k), str(v)) for k, v in value.items()]
        if spec.explode:
            return op.sep.join(f"{encode(k, enc)}={encode(v, enc)}" for k, v in pairs)
        joined = ",".join(f"{encode(k, enc)},{encode(v, enc)}" for k, v in pairs)
        return f"{spec.name}={joined}" if op.named else joined
    if isinstance(value, list):
        items = [str(v) for v in value]
        if spec.explode:
            if op.named:
                return op.sep.join(f"{spec.name}={encode(v, enc)}" if v else spec.name + op.if_empty
                                   for v in items)
            return op.sep.join(encode(v, enc) for v in items)
        joined = ",".join(encode(v, enc) for v in items)
        return f"{spec.name}={joined}" if op.named else joined
    text = str(value)
    if spec.prefix is not None:
        text = text[:spec.prefix]
    if op.named:
        return f"{spec.name}={encode(text, enc)}" if text else spec.name + op.if_empty
    return encode(text, enc)


def expand(parts: list[str | tuple[Operator, list[VarSpec]]], variables: Mapping[str, Any]) -> str:
    """Expand a parsed template with the given variables (None, [] and {} are undefined)."""
    out = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            continue
        op, specs = part
        expanded = [e for e in (_expand_var(op, s, variables.get(s.name)) for s in specs) if e is not None]
        if expanded:
            out.append(op.first + op.sep.join(expanded))
    return "".join(out)


def variables_of(template: str) -> frozenset[str]:
    """The names of the variables a template uses."""
    return frozenset(spec.name for part in parse_template(template) if not isinstance(part, str)
                     for spec in part[1])


def compile_template(template: str, base: str) -> Expand:
    """A function from template variables to the absolute IRI the template gives."""
    parts = parse_template(template)
    if all(isinstance(p, str) for p in parts):
        constant = resolve(template, base)
        return lambda variables: constant
    head = parts[0] if isinstance(parts[0], str) else ""
    # A template that starts with an absolute IRI needs resolving only when a value brings in a
    # dot segment; one that may start with a prefixed name or a relative path always does.
    absolute = "://" in head and expand_prefixed(head) is None

    def finish(value: str) -> str:
        if absolute and "/." not in value:
            return value
        return resolve(value, base)

    if all(isinstance(p, str) or (p[0] is OPERATORS[""] and len(p[1]) == 1 and p[1][0].prefix is None
                                  and not p[1][0].explode) for p in parts):
        pieces = [(p, None) if isinstance(p, str) else ("", p[1][0].name) for p in parts]

        def expand_simple(variables: Mapping[str, Any]) -> str:
            out = []
            for text, name in pieces:
                if name is None:
                    out.append(text)
                    continue
                value = variables.get(name)
                if isinstance(value, list):
                    out.append(",".join(quote(str(v), safe="~") for v in value))
                elif value is not None:
                    out.append(quote(str(value), safe="~"))
            return finish("".join(out))
        return expand_simple

    return lambda variables: finish(expand(parts, variables))


def resolve(value: str, base: str) -> str:
    """An expanded template as an absolute IRI: a known prefixed name expanded, else resolved."""
    expanded = expand_prefixed(value)
    return expanded if expanded is not None else urljoin(base, value)
