"""The public endpoint's pre-checks: size, nesting, federation, updates, FROM."""

from __future__ import annotations

import pytest

from portal.errors import UsageError
from portal.sparql_guard import MAX_NESTING, MAX_QUERY_BYTES, check_query


@pytest.mark.parametrize("query", [
    "SELECT * WHERE { ?s ?p ?o } LIMIT 10",
    "SELECT ?load ?service WHERE { ?load <http://x/p> ?service }",  # variables named like keywords
    'SELECT * WHERE { ?s ?p "SERVICE <http://evil/> DROP ALL" }',  # keywords inside strings
    "PREFIX ex: <http://x/> SELECT * WHERE { ?s ex:from ?o ; ex:add ?x }",  # prefixed names
    "SELECT * WHERE { <http://x/service/drop> ?p ?o }  # SERVICE in a comment",
    "SELECT * WHERE { ?s ?p ?o } " + "#" * 100,
    "SELECT * WHERE " + "{" * MAX_NESTING + " ?s ?p ?o " + "}" * MAX_NESTING,
])
def test_ordinary_queries_pass(query: str) -> None:
    check_query(query)


@pytest.mark.parametrize("query, message", [
    ("SELECT * WHERE { SERVICE <http://127.0.0.1:1/> { ?s ?p ?o } }", "SERVICE"),
    ("SELECT * WHERE { service silent ?endpoint { ?s ?p ?o } }", "SERVICE"),
    ("SELECT * FROM <http://127.0.0.1:1/data.ttl> WHERE { ?s ?p ?o }", "FROM"),
    ("SELECT * FROM NAMED <http://x/> WHERE { GRAPH ?g { ?s ?p ?o } }", "FROM"),
    ("DROP ALL", "read-only"),
    ("INSERT DATA { <http://x/s> <http://x/p> 1 }", "read-only"),
    ("LOAD <http://127.0.0.1:1/x.ttl>", "read-only"),
    ("SELECT * WHERE " + "{" * (MAX_NESTING + 1) + "}" * (MAX_NESTING + 1), "nests deeper"),
    ("SELECT * WHERE { ?s ?p " + "(" * 5000 + ")" * 5000 + " }", "nests deeper"),
    ("SELECT * WHERE { ?s ?p \"" + "x" * MAX_QUERY_BYTES + "\" }", "longer than"),
])
def test_dangerous_queries_are_refused(query: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        check_query(query)
