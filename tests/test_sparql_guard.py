"""The public endpoint's pre-parse guard: a SPARQL lexer that knows where `<` is an IRI and where
it is "less than", and refuses what would crash or overload the parser, federate or update."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pyoxigraph as ox
import pytest

from portal.errors import UsageError
from portal.sparql_guard import (MAX_NESTING, MAX_QUERY_BYTES, MAX_WEIGHT, check_graph_iri, check_query)

#: Brought the portal down before this guard: the old regex took `<((((…?s>` for one IRI.
ATTACK = "SELECT * WHERE { ?s ?p ?o FILTER(?o<" + "(" * 20000 + "?s>1" + ")" * 20000 + ") }"

VALID = [
    "SELECT * WHERE { ?s ?p ?o } LIMIT 10",
    "SELECT ?load ?service WHERE { ?load <http://x/p> ?service }",  # variables named like keywords
    'SELECT * WHERE { ?s ?p "SERVICE <http://evil/> DROP ALL" }',  # keywords inside strings
    "PREFIX ex: <http://x/> SELECT * WHERE { ?s ex:from ?o ; ex:add ?x . ex:load ex:service ex:insert }",
    "SELECT * WHERE { <http://x/service/drop> ?p ?o }  # SERVICE in a comment",
    "SELECT * WHERE { ?s ?p ?o } " + "#" * 100,
    "SELECT * WHERE " + "{" * MAX_NESTING + " ?s ?p ?o " + "}" * MAX_NESTING,
    "SELECT * WHERE { ?s ?p <http://dbpedia.org/resource/Foo_(bar)> }",  # balanced parentheses in an IRI
    "SELECT * WHERE { ?s ?p ?o FILTER(?o = <http://dbpedia.org/resource/Foo_(bar)_(1)>) }",
    "SELECT * WHERE { ?s ?p ?o FILTER(?o<3 && ?o>1 || ?o<=2 && ?o>=0 || ?o!=5 || ?o=4) }",
    "SELECT * WHERE { ?s ?p ?o FILTER(?o<?s) }",
    "SELECT * WHERE { ?s ?p ?o FILTER(?o<<http://x/a>) }",  # "less than" then an IRI
    'SELECT * WHERE { ?s ?p "<(((>" FILTER(?o = "<{[" || ?o = \'>)]}\' || ?o = """<<(""" || ?o = \'\'\'))\'\'\') }',
    "SELECT * WHERE { ?s ?p ?o } # <((((( [[[ {{{ in a comment",
    "SELECT * WHERE { ?s ?p ?o FILTER(?o > 1) } # < unbalanced (((\nLIMIT 1",
    "PREFIX ex: <http://x/> SELECT * WHERE { ?s ex:a\\(b ?o . ?s ex:c\\)d ?o }",  # escaped brackets in names
    "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?s HAVING (COUNT(*) < 5) ORDER BY DESC(?n)",
    "PREFIX f: <http://x/fn#> SELECT * WHERE { ?s ?p ?o FILTER f:test(?o < 3) } ORDER BY f:key(?o) <http://x/fn#k>(?s)",
    "SELECT * WHERE { ?s ?p ?o FILTER <http://x/fn>(?o < 3, ?s) }",
    "SELECT * WHERE { ?s (<http://x/p>/<http://x/q>)*|!(^<http://x/r>) ?o ; <http://x/l> (1 (2 <http://x/v>) \"3\"),"
    " [ <http://x/p> [] ] }",
    'SELECT * WHERE { ?s ?p "x"@en-GB , "y"^^<http://x/dt> , 1.5e3, -2, .5, +7, true }',
    "SELECT * WHERE { VALUES (?a ?b) { (1 <http://x/a>) (UNDEF -2) } ?a ?p ?b }",
    "SELECT ?x WHERE { { SELECT ?x (MAX(?y) AS ?m) WHERE { ?x ?p ?y FILTER(?y < 10) } GROUP BY ?x HAVING (MAX(?y) > 1) }"
    " FILTER EXISTS { ?x ?q ?r } FILTER NOT EXISTS { ?x <http://x/p> ?m } }",
    'SELECT * WHERE { ?s ?p ?o BIND(IF(?o < 3, <http://x/small>, <http://x/big>) AS ?size) FILTER(?o IN (<http://x/a>, 1, "b")) }',
    'SELECT * WHERE { ?s ?p ?o FILTER(REGEX(STR(?o), "^<a(b)", "i") && STRLEN(?o) < 10) }',
    "ASK { ?s ?p ?o FILTER(?o < 1 && ?o > (((1)))) }",
    "CONSTRUCT { ?s <http://x/p> (1 2) } WHERE { ?s ?p ?o }",
    "DESCRIBE <http://x/a> ?s WHERE { ?s ?p ?o }",
    "SELECT * WHERE { ?s ?p << ?a ?b ?c >> . ?s ?p <<( ?a ?b ?c )>> FILTER(?o = <<( ?a ?b ?c )>>) }",
    "SELECT * WHERE { ?s ?p ?o {| <http://x/q> ?r |} }",
    'SELECT ?é WHERE { ?é <http://x/ç> "ü" }',
    'SELECT * WHERE { ?s ?p "tab\\t \\"quote\\" \\u0041" }',
    "BASE <http://x/> PREFIX : <ns#> SELECT * WHERE { <a> :b ?c }",
    "SELECT * WHERE { " + "?s <http://x/p> ?o . " * 40 + "}",
    "SELECT * WHERE { VALUES ?x {" + " -1" * 10000 + " } }",  # VALUES rows and IN lists are flat
    "SELECT * WHERE { ?s ?p ?o FILTER(?o IN (" + ", ".join(["1"] * 5000) + ")) }",
]


@pytest.mark.parametrize("query", VALID)
def test_ordinary_queries_pass_and_are_sparql(query: str) -> None:
    guarded = check_query(query)
    try:  # what passes is valid SPARQL
        ox.Store().query(guarded.text, use_default_graph_as_union=True)
    except RuntimeError as exc:  # parsed, but pyoxigraph has no such function to call
        assert "custom function" in str(exc)


@pytest.mark.parametrize("query, message", [
    ("SELECT * WHERE { SERVICE <http://127.0.0.1:1/> { ?s ?p ?o } }", "SERVICE"),
    ("SELECT * WHERE { service silent ?endpoint { ?s ?p ?o } }", "SERVICE"),
    *((f"{keyword} <http://127.0.0.1:1/x> WHERE {{}}", "read-only")
      for keyword in ("LOAD", "INSERT", "DELETE", "CLEAR", "DROP", "CREATE", "COPY", "MOVE", "ADD", "WITH", "using")),
    ("SELECT * WHERE " + "{" * (MAX_NESTING + 1) + "}" * (MAX_NESTING + 1), "nests deeper"),
    ("SELECT * WHERE { ?s ?p " + "(" * 5000 + ")" * 5000 + " }", "nests deeper"),
    ("SELECT * WHERE { ?s ?p " + "[ ?p " * 100 + "?o" + "]" * 100 + " }", "nests deeper"),
    ("SELECT * WHERE " + "{" * 3000 + "}" * 3000, "nests deeper"),
    ("SELECT * WHERE { FILTER(" + "(" * 3000 + "1" + ")" * 3000 + ") }", "nests deeper"),
    ("SELECT * WHERE { ?s ?p " + "<<( ?s ?p " * 100 + "?o" + " )>>" * 100 + " }", "nests deeper"),
    ("SELECT * WHERE { ?s ?p \"" + "x" * MAX_QUERY_BYTES + "\" }", "longer than"),
    ('SELECT * WHERE { ?s ?p "unterminated }', "unterminated"),
    ('SELECT * WHERE { ?s ?p """unterminated }', "unterminated"),
    ("SELECT * WHERE { ?s ?p 'no\nnewline' }", "unterminated"),
    ("SELECT * WHERE { ?s ?p <http://x/unterminated }", "IRI"),
    ('SELECT * WHERE { ?s ?p "bad \\q escape" }', "escape"),
    ("SELECT * WHERE { ?s ?p ?o ", "never closed"),
    ("SELECT * WHERE { ?s ?p ?o ) }", "closes nothing"),
    ("SELECT * WHERE { ?s ?p ?o } \ud800", "Unicode"),
    ("SELECT * WHERE { ?s ?p ?o ` }", "unexpected character"),
])
def test_dangerous_or_broken_queries_are_refused(query: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        check_query(query)


@pytest.mark.parametrize("operator", ["<", "<=", ">", ">=", "=", "!="])
@pytest.mark.parametrize("bracket", ["()", "[]", "{}"])
def test_the_attack_and_its_variants_are_refused(operator: str, bracket: str) -> None:
    opening, closing = bracket
    query = ("SELECT * WHERE { ?s ?p ?o FILTER(?o" + operator + opening * 20000 + "?s>1" + closing * 20000 + ") }")
    assert len(query.encode()) < MAX_QUERY_BYTES
    with pytest.raises(UsageError, match="nests deeper"):
        check_query(query)


@pytest.mark.parametrize("query", [
    "SELECT * WHERE { ?s ?p <" + "(" * 3000 + "> }",  # an IRI full of brackets, in a triple pattern
    "SELECT * WHERE { ?s ?p <a" + "[" * 100 + "> . ?s ?p <b" + "(" * 100 + "> }",
])
def test_brackets_inside_iris_count_toward_the_depth(query: str) -> None:
    with pytest.raises(UsageError, match="nests deeper"):
        check_query(query)


#: Within 64 KiB, each of these crashed pyoxigraph 0.5.13's parser (see the guard's docstring).
CRASHERS = {
    "nested braces": "SELECT * WHERE " + "{" * 3000 + "?s ?p ?o" + "}" * 3000,
    "plus chain": "SELECT * WHERE { FILTER(" + "+".join(["1"] * 10000) + ") }",
    "or chain": "SELECT * WHERE { FILTER(" + "||".join(["?o"] * 10000) + ") }",
    "not chain": "SELECT * WHERE { FILTER(" + "!" * 20000 + "?o) }",
    "path sequence": "PREFIX : <http://x/> SELECT * WHERE { ?s " + "/".join([":p"] * 10000) + " ?o }",
    "path alternatives": "PREFIX : <http://x/> SELECT * WHERE { ?s " + "|".join([":p"] * 15000) + " ?o }",
    "object list": "PREFIX : <http://x/> SELECT * WHERE { ?s :p " + ",".join(["1"] * 10000) + " }",
    "minus groups": "SELECT * WHERE { ?s ?p ?o " + "MINUS{?s ?p ?o}" * 3000 + " }",
    "binds": "SELECT * WHERE { " + "".join(f"BIND(1 AS ?v{i})" for i in range(3000)) + " }",
    "triple patterns": "SELECT * WHERE { " + "?s ?p ?o ." * 3000 + " }",
    "sibling groups": "SELECT * WHERE { " + "{}" * 15000 + " }",
}


@pytest.mark.parametrize("name", CRASHERS)
def test_inputs_that_crash_the_parser_are_refused(name: str) -> None:
    assert len(CRASHERS[name].encode()) <= MAX_QUERY_BYTES
    with pytest.raises(UsageError, match="nests deeper|too complex"):
        check_query(CRASHERS[name])


def nested_chains(levels: int, length: int) -> str:
    """`1+1+…+(1+1+…+(…))`: operator chains inside nested parentheses, whose trees add up."""
    expression = "1"
    for _ in range(levels):
        expression = "+".join(["1"] * length) + "+(" + expression + ")"
    return f"SELECT * WHERE {{ FILTER({expression}) }}"


#: The heaviest query of each kind the guard lets through.
AT_THE_LIMIT = {
    "nested braces": "SELECT * WHERE " + "{" * MAX_NESTING + "?s ?p ?o" + "}" * MAX_NESTING,
    "nested parentheses": "SELECT * WHERE { FILTER(" + "(" * (MAX_NESTING - 2) + "1" + ")" * (MAX_NESTING - 2) + ") }",
    "plus chain": "SELECT * WHERE { FILTER(" + "+".join(["1"] * (MAX_WEIGHT - 15)) + ") }",
    "not chain": "SELECT * WHERE { FILTER(" + "!" * (MAX_WEIGHT - 16) + "?o) }",
    "path sequence": "PREFIX : <http://x/> SELECT * WHERE { ?s " + "/".join([":p"] * (MAX_WEIGHT // 4 - 2)) + " ?o }",
    "minus groups": "SELECT * WHERE { ?s ?p ?o " + "MINUS{?s ?p ?o}" * (MAX_WEIGHT // 3 - 6) + " }",
    "binds": "SELECT * WHERE { " + "".join(f"BIND(1 AS ?v{i})" for i in range(MAX_WEIGHT // 3 - 4)) + " }",
    # ground patterns: with variables, pyoxigraph's join planning of a few hundred takes minutes
    "triple patterns": "SELECT * WHERE { " + "<http://x/s> <http://x/p> 1 ." * (MAX_WEIGHT - 12) + " }",
    "chains in nested parentheses": nested_chains(levels=9, length=48),
}


def test_what_the_guard_lets_through_does_not_crash_the_parser_on_a_small_stack() -> None:
    """Each query at the guard's limits, parsed by pyoxigraph in a thread with a 2 MiB stack
    (a Rust server thread's), in a child process so that a crash cannot take the tests down."""
    for name, query in AT_THE_LIMIT.items():
        weight = check_query(query).weight
        assert name == "nested parentheses" or weight > 0.9 * MAX_WEIGHT  # that one meets MAX_NESTING first
    script = textwrap.dedent("""
        import json, sys, threading
        import pyoxigraph as ox
        queries = json.load(sys.stdin)
        def parse_all():
            for query in queries:
                ox.Store().query(query)
        threading.stack_size(2 << 20)
        thread = threading.Thread(target=parse_all)
        thread.start()
        thread.join()
        print("parsed", len(queries))
    """)
    import json

    child = subprocess.run([sys.executable, "-c", script], input=json.dumps(list(AT_THE_LIMIT.values())),
                           capture_output=True, text=True, timeout=120)
    assert child.returncode == 0, f"exit {child.returncode}: {child.stderr[-500:]}"
    assert child.stdout.strip() == f"parsed {len(AT_THE_LIMIT)}"


def test_from_clauses_become_the_dataset_and_leave_the_text() -> None:
    query = ("PREFIX ex: <http://x/graphs/>\nBASE <http://b/dir/>\nSELECT *\nFROM <g1> FROM NAMED ex:g2\n"
             "from <http://abs/g3> WHERE { ?s ?p ?o }")
    guarded = check_query(query)
    assert guarded.default_graphs == ("http://b/dir/g1", "http://abs/g3")
    assert guarded.named_graphs == ("http://x/graphs/g2",)
    assert guarded.has_dataset
    assert "FROM" not in guarded.text.upper() and "g1" not in guarded.text
    assert guarded.text.count("\n") == query.count("\n") and len(guarded.text) == len(query)  # positions kept
    assert check_query(query).text.endswith("WHERE { ?s ?p ?o }")
    relative = check_query("SELECT * FROM <other> WHERE {}", base="http://portal.test/sparql")
    assert relative.default_graphs == ("http://portal.test/other",)
    plain = check_query("SELECT * WHERE { ?s <http://x/from> ?o }")
    assert not plain.has_dataset and plain.text == "SELECT * WHERE { ?s <http://x/from> ?o }"


@pytest.mark.parametrize("query, message", [
    ("SELECT * FROM <relative> WHERE {}", "relative IRI"),
    ("SELECT * FROM ?g WHERE {}", "graph IRI"),
    ("SELECT * FROM nope:g WHERE {}", "unknown prefix"),
    ("SELECT * FROM", "ends in the middle"),
])
def test_bad_from_clauses_are_refused(query: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        check_query(query)


def test_graph_iris_must_be_absolute() -> None:
    assert check_graph_iri("http://x/g") == "http://x/g"
    for bad in ("g", "not an iri", "http://x/<g>", "http://x/\\u0041"):
        with pytest.raises(UsageError):
            check_graph_iri(bad)


def test_the_guard_is_fast_on_the_largest_queries() -> None:
    import time

    worst = "SELECT * WHERE { ?s ?p " + "a." * 30000 + " }"  # a name scan that could go quadratic
    started = time.monotonic()
    with pytest.raises(UsageError):
        check_query(worst)
    check_query(VALID[-2])
    assert time.monotonic() - started < 2
