"""Text from other people's systems, made safe to store and serialise everywhere.

PostgreSQL's text columns refuse NUL, and XML 1.0 (Atom feeds, RDF/XML) refuses the other C0
controls but tab, line feed and carriage return, lone surrogates (which only broken JSON escapes
give) and U+FFFE/U+FFFF. `clean_text` replaces each with U+FFFD, the replacement character, so a
reader still sees that something stood there; everything else is kept as given.
"""

from __future__ import annotations

from typing import Any

REPLACEMENT = "\ufffd"
_UNSAFE = (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0xD800, 0xE000), 0xFFFE, 0xFFFF)
_TABLE = dict.fromkeys(_UNSAFE, REPLACEMENT)
_UNSAFE_SET = frozenset(map(chr, _UNSAFE))


def clean_text(value: str) -> str:
    """`value` with every character no database or XML document can hold replaced by U+FFFD."""
    if value.isprintable() or _UNSAFE_SET.isdisjoint(value):  # the common case, without a copy
        return value
    return value.translate(_TABLE)


def first_unprintable(value: str, *, space: bool = True) -> str | None:
    """The first control, format, surrogate or unassigned character of `value` (and the first space,
    unless `space`), or None: a name, filter or URL holding one is refused, not cleaned."""
    if value.isprintable() and (space or " " not in value):
        return None
    return next(c for c in value if not c.isprintable() or (c == " " and not space))


def clean_values(value: Any) -> Any:
    """`clean_text` through strings, lists, tuples and dicts (keys too); other values as they are."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [clean_values(item) for item in value]
    if isinstance(value, tuple):
        return tuple(clean_values(item) for item in value)
    if isinstance(value, dict):
        return {clean_values(key): clean_values(item) for key, item in value.items()}
    return value


__all__ = ["REPLACEMENT", "clean_text", "clean_values", "first_unprintable"]
