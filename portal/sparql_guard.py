"""Checks a public SPARQL query must pass before any parser or store sees it."""

from __future__ import annotations

import re

from portal.errors import UsageError

MAX_QUERY_BYTES = 64 * 1024
MAX_NESTING = 64

# Strings, IRIs and comments are blanked out before keywords and brackets are looked at.
_LITERALS = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""' r"|'''(?:[^'\\]|\\.|'(?!''))*'''"
    r'|"(?:[^"\\\n]|\\.)*"' r"|'(?:[^'\\\n]|\\.)*'"
    r"|<[^<>\"{}|^`\\\s]*>" r"|#[^\n]*",
)
# Keywords only: not variables (?load), prefixed names (ex:load) or prefixes (load:).
_KEYWORD = r"(?<![?$:\w-])({})(?![:\w-])"
_FORBIDDEN = re.compile(_KEYWORD.format("SERVICE|LOAD|INSERT|DELETE|CLEAR|DROP|CREATE|COPY|MOVE|ADD"), re.I)
_FROM = re.compile(_KEYWORD.format("FROM"), re.I)


def check_query(text: str) -> None:
    """Refuse oversized, too deeply nested, federated or updating queries with a `UsageError`."""
    if len(text.encode("utf-8")) > MAX_QUERY_BYTES:
        raise UsageError(f"query is longer than {MAX_QUERY_BYTES} bytes")
    bare = _LITERALS.sub(" ", text)
    depth = deepest = 0
    for char in bare:
        if char in "({[":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")}]":
            depth -= 1
    if deepest > MAX_NESTING:
        raise UsageError(f"query nests deeper than {MAX_NESTING} levels")
    found = _FORBIDDEN.search(bare)
    if found:
        keyword = found.group(1).upper()
        if keyword == "SERVICE":
            raise UsageError("federated queries (SERVICE) are not allowed on this endpoint")
        raise UsageError(f"{keyword}: this endpoint is read-only; it answers queries, not updates")
    if _FROM.search(bare):
        raise UsageError("FROM / FROM NAMED are not allowed here: use GRAPH to pick a dataset's graph")
