"""Checks a public SPARQL query must pass before any parser or store sees it.

The query is tokenised by a lexer that follows the SPARQL 1.1 grammar's terminals (IRIREF,
prefixed names, blank node labels, variables, the four string forms with their escapes, numbers,
language tags, comments, operators and brackets; plus SPARQL 1.2's ``<<``, ``<<(``, ``{|``).
``<`` is ambiguous: after an operand inside an expression it is *less than*; anywhere else
(at an operand position, in triple patterns, in the prologue) it opens an IRI. A bracket stack
tells expressions from patterns: a ``(`` is an expression when it follows FILTER, BIND, HAVING,
ORDER/GROUP BY, SELECT's projection, a function name (a keyword, or an IRI or prefixed name after
FILTER or inside an expression), an operator, a ``,`` or another expression ``(``; otherwise it is
an RDF collection or a path group. As defence in depth, the brackets inside every IRI also count
toward the nesting depth, as if each ``<`` had been an operator.

Refused with `UsageError` (HTTP 400): queries over `MAX_QUERY_BYTES`; deeper than `MAX_NESTING`
brackets; heavier than `MAX_WEIGHT`; unterminated strings or IRIs, bad escapes, unbalanced
brackets, characters no SPARQL token starts with; ``SERVICE``; update keywords (as keywords, not
``?load`` or ``ex:load``). ``FROM`` / ``FROM NAMED`` are taken out of the text and returned as
graph IRIs (prefixed names and relative IRIs resolved), so the endpoint builds the dataset from
the portal's own graphs and nothing is ever dereferenced.

What crashes pyoxigraph 0.5.13's parser (stack overflow, the whole process) within 64 KiB,
measured in subprocesses; the first figure on an 8 MiB stack (a process's main thread), the
second on a 2 MiB one (a Rust server thread):

- nested ``{``: ~2,200 / ~550; nested ``(`` in an expression: ~4,600 / ~1,150; nested ``[`` and
  collections: the parse time grows so fast (31 s at 200 ``[``) that the time limit comes first;
- operator chains: ``+`` ~7,000 / ~1,750, ``||`` and ``!!!…`` ~9,300 / ~2,300, paths ``/``
  ~8,400 / ~2,100 and ``|`` ~10,900 / ~2,700;
- long groups: ``MINUS {…}`` or ``BIND(…)`` repeated ~2,600 / ~650 times, ``OPTIONAL`` and
  ``UNION`` ~1,500 on 2 MiB, ``FILTER`` ~2,300, triple patterns ~2,000 (also as ``,`` / ``;`` lists);
- not crashing at any size that fits: ``IN (…)`` and function argument lists, ``VALUES`` rows,
  ``ORDER BY`` conditions, projections.

Hence the *weight*: each bracket level costs 2 (``{`` 4); inside a group, each ``.``, ``,`` or ``;``
costs 1, each inner ``{…}`` (after OPTIONAL, MINUS, UNION, GRAPH, VALUES or alone) and each BIND or
FILTER 3, each property path operator `PATH_STEP` (parsing a path takes time cubic in its length:
800 steps, 43 s); inside an expression, each operator of its heaviest ``,``-separated argument
costs 1; and a level weighs what it holds plus its heaviest inner level, so nesting and chains add
up as the parser's recursion does. `MAX_WEIGHT` sits at least 3.5× below every crash above on a
2 MiB stack (``+`` chains come closest); slow-but-safe parses are left to the query time limit.
"""

from __future__ import annotations

from dataclasses import dataclass

from portal.errors import UsageError
from portal.sparql_guard.lexer import IRIREF, MAX_NESTING, MAX_WEIGHT, PATH_STEP, SCHEME, Lexer

__all__ = ["GuardedQuery", "MAX_NESTING", "MAX_QUERY_BYTES", "MAX_WEIGHT", "PATH_STEP", "check_graph_iri",
           "check_query"]

MAX_QUERY_BYTES = 64 * 1024


@dataclass(frozen=True)
class GuardedQuery:
    """A query that passed the guard: its text without FROM clauses, the graphs they named, and
    its weight (see the module's docstring)."""

    text: str
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()
    weight: int = 0

    @property
    def has_dataset(self) -> bool:
        """True when the query named its dataset with FROM or FROM NAMED."""
        return bool(self.default_graphs or self.named_graphs)


def check_query(text: str, base: str | None = None) -> GuardedQuery:
    """Refuse oversized, too deeply nested or heavy, federated or updating queries with a `UsageError`;
    return the query without its FROM / FROM NAMED clauses and the graphs they named (relative IRIs
    resolved against the query's BASE, else against `base`, the endpoint's own IRI)."""
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise UsageError("the query is not valid Unicode text") from None
    if size > MAX_QUERY_BYTES:
        raise UsageError(f"query is longer than {MAX_QUERY_BYTES} bytes")
    lexer = Lexer(text, base=base)
    lexer.scan()
    return GuardedQuery(lexer.stripped(), tuple(lexer.default_graphs), tuple(lexer.named_graphs),
                        lexer.level.total())


def check_graph_iri(iri: str) -> str:
    """Refuse a graph IRI (from `default-graph-uri` / `named-graph-uri`) that is not an absolute IRI."""
    if not SCHEME.match(iri) or IRIREF.fullmatch(f"<{iri}>") is None or "\\" in iri:
        raise UsageError(f"not an absolute IRI: {iri[:200]!r}")
    return iri
