"""The SPARQL lexer behind `portal.sparql_guard`: the grammar's terminals, a bracket stack that
tells expressions from patterns, and the weight of what the parser would have to build."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urljoin

from portal.errors import UsageError

MAX_NESTING = 64
MAX_WEIGHT = 500
#: What one property path operator weighs: parsing a path takes time cubic in its length.
PATH_STEP = 4

UPDATE_KEYWORDS = frozenset({"LOAD", "INSERT", "DELETE", "CLEAR", "DROP", "CREATE", "COPY", "MOVE", "ADD",
                             "WITH", "USING"})
#: Group elements without braces that each add a level to pyoxigraph's algebra tree (every inner
#: `{…}` of a group, after OPTIONAL, MINUS, UNION, GRAPH, VALUES or alone, adds one as well).
GROUP_KEYWORDS = frozenset({"BIND", "FILTER"})
#: Words that may precede a `(` without it being a function call.
NOT_FUNCTIONS = frozenset({"A", "VALUES", "TRUE", "FALSE", "UNDEF"})
CLOSERS = {"{": "}", "[": "]", "(": ")", "<<": ">>", "<<(": ")>>", "{|": "|}"}

_BASE = ("A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02FF\u0370-\u037D\u037F-\u1FFF\u200C-\u200D"
         "\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD\U00010000-\U000EFFFF")
_U = _BASE + "_"
_CHARS = _U + "\\-0-9\u00B7\u0300-\u036F\u203F-\u2040"
_UCHAR = r"\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8}"
_ESC = rf"\\[tbnrf\"'\\]|{_UCHAR}"
_PLX = r"%[0-9A-Fa-f]{2}|\\[_~.\-!$&'()*+,;=/?#@%]"
# Possessive runs: a name may not end with "." (the dot is then the triple's end), which `_name`
# trims afterwards; backtracking for it instead would make long runs of names quadratic.
_PREFIX = rf"[{_BASE}][{_CHARS}.]*+"
_LOCAL = rf"(?:[{_U}:0-9]|{_PLX})(?:[{_CHARS}.:]|{_PLX})*+"

_STRINGS = {
    '"""': re.compile(rf'"""(?:(?:"|"")?(?:[^"\\]|{_ESC}))*"""'),
    "'''": re.compile(rf"'''(?:(?:'|'')?(?:[^'\\]|{_ESC}))*'''"),
    '"': re.compile(rf'"(?:[^"\\\n\r]|{_ESC})*"'),
    "'": re.compile(rf"'(?:[^'\\\n\r]|{_ESC})*'"),
}
IRIREF = re.compile(rf"<(?:[^<>\"{{}}|^`\\\x00-\x20]|{_UCHAR})*>")
_PNAME = re.compile(rf"(?:{_PREFIX})?:(?:{_LOCAL})?")
_NAME_RUN = re.compile(_PREFIX)
_BNODE = re.compile(rf"_:[{_U}0-9][{_CHARS}.]*+")
_VAR = re.compile(rf"[?$][{_U}0-9][{_U}0-9\u00B7\u0300-\u036F\u203F-\u2040]*")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_NUMBER = re.compile(r"[0-9]+\.[0-9]*[eE][+-]?[0-9]+|\.[0-9]+[eE][+-]?[0-9]+|[0-9]+[eE][+-]?[0-9]+"
                     r"|[0-9]*\.[0-9]+|[0-9]+")
_LANGTAG = re.compile(r"@[a-zA-Z]+(?:-[a-zA-Z0-9]+)*(?:--[a-zA-Z]+)?")
_SPACE = re.compile(r"[ \t\r\n]+|#[^\r\n]*")
_PUNCT = ("^^", "&&", "||", "!=", "<=", ">=", "{", "}", "[", "]", "(", ")", ",", ";", ".", "*", "/", "+", "-",
          "!", "=", "<", ">", "^", "|", "?", "~")
_UNESCAPE = re.compile(_UCHAR)
SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")

#: Token kinds that end an operand: after one, `<` inside an expression is "less than".
_OPERANDS = frozenset({"var", "iri", "pname", "string", "langtag", "number", "bnode", "close", "bool"})


@dataclass
class _Level:
    """One open bracket: its kind, whether it holds an expression, and what it weighs so far."""

    opener: str
    expr: bool
    state: str = "pattern"  # at `{`/top: "pattern", "projection" (after SELECT), "modifiers" (GROUP/ORDER/HAVING)
    weight: int = 0
    inner: int = 0
    heaviest: int = 0

    def separate(self) -> None:
        """A `,` or `;` between the arguments of an expression: each argument is its own subtree."""
        self.heaviest = max(self.heaviest, self.weight + self.inner)
        self.weight = self.inner = 0

    def total(self) -> int:
        """What the level weighs with everything inside it."""
        own = 0 if self.opener == "" else 4 if self.opener == "{" else 2
        return own + max(self.heaviest, self.weight + self.inner)


@dataclass
class _Token:
    kind: str
    text: str
    start: int


@dataclass
class Lexer:
    """One pass over the query: tokens, the bracket stack, and the dataset clauses."""

    text: str
    pos: int = 0
    stack: list[_Level] = field(default_factory=lambda: [_Level("", expr=False)])
    prev: _Token | None = None
    prev2: _Token | None = None
    iri_excess: int = 0
    no_pname_before: int = 0
    prefixes: dict[str, str] = field(default_factory=dict)
    base: str | None = None
    expect: str | None = None  # what the prologue or a dataset clause needs next
    pending: tuple[str, int] | None = None  # (FROM kind, start offset) awaiting its IRI
    prefix_name: str | None = None
    default_graphs: list[str] = field(default_factory=list)
    named_graphs: list[str] = field(default_factory=list)
    cuts: list[tuple[int, int]] = field(default_factory=list)

    def fail(self, message: str, at: int | None = None) -> UsageError:
        """A `UsageError` naming the line and column of the offence."""
        offset = self.pos if at is None else at
        line = self.text.count("\n", 0, offset) + 1
        column = offset - (self.text.rfind("\n", 0, offset) + 1) + 1
        return UsageError(f"{message} (line {line}, column {column})")

    @property
    def level(self) -> _Level:
        """The innermost open bracket (or the query's top level)."""
        return self.stack[-1]

    def after_operand(self) -> bool:
        """True when the previous token ends an operand."""
        return self.prev is not None and self.prev.kind in _OPERANDS

    # -- brackets -------------------------------------------------------------------------

    def open(self, opener: str, expr: bool) -> None:
        """Push a bracket; refuse when too deep."""
        if opener == "{":
            self.level.state = "pattern"
        self.stack.append(_Level(opener, expr))
        self.check_depth(0)

    def check_depth(self, extra: int) -> None:
        """Refuse nesting beyond `MAX_NESTING`, counting brackets inside IRIs too (`extra`)."""
        if len(self.stack) - 1 + max(self.iri_excess, extra) > MAX_NESTING:
            raise self.fail(f"query nests deeper than {MAX_NESTING} levels")

    def close(self, closer: str) -> None:
        """Pop the bracket `closer` ends; refuse a mismatch."""
        opened = self.level
        if len(self.stack) == 1 or CLOSERS[opened.opener] != closer:
            raise self.fail(f"unbalanced brackets: {closer!r} closes nothing open")
        self.stack.pop()
        parent = self.level
        parent.inner = max(parent.inner, opened.total())
        if opened.opener == "{" and parent.opener in ("{", ""):
            parent.weight += 3

    def open_paren(self) -> None:
        """Push a `(`: an expression or a collection / path group / variable list."""
        level, prev = self.level, self.prev
        if level.expr or level.state in ("projection", "modifiers"):
            expr = True
        elif prev is not None and prev.kind == "word":
            expr = prev.text.upper() not in NOT_FUNCTIONS
        elif prev is not None and prev.kind in ("iri", "pname"):
            expr = self.prev2 is not None and self.prev2.kind == "word" and self.prev2.text.upper() == "FILTER"
        else:
            expr = False
        self.open("(", expr)

    # -- tokens ---------------------------------------------------------------------------

    def emit(self, kind: str, text: str, start: int) -> None:
        """Account for one token: weight, keywords, prologue and dataset clauses."""
        token = _Token(kind, text, start)
        level = self.level
        if kind == "op":
            level.weight += 1 if level.expr else PATH_STEP
        elif kind == "sep":
            if level.expr:
                level.separate()
            else:
                level.weight += 1
        elif kind == "word":
            self.keyword(token)
        self.dataset(token)
        self.prev2, self.prev = self.prev, token

    def keyword(self, token: _Token) -> None:
        """Refuse federation and updates; follow the clause a level is in."""
        word = token.text.upper()
        if word == "SERVICE":
            raise self.fail("federated queries (SERVICE) are not allowed on this endpoint", token.start)
        if word in UPDATE_KEYWORDS:
            raise self.fail(f"{word}: this endpoint is read-only; it answers queries, not updates", token.start)
        level = self.level
        if word in GROUP_KEYWORDS and not level.expr:
            level.weight += 3
        if word == "SELECT":
            level.state = "projection"
        elif word in ("GROUP", "ORDER", "HAVING"):
            level.state = "modifiers"
        elif word in ("WHERE", "LIMIT", "OFFSET", "VALUES", "FROM", "CONSTRUCT", "DESCRIBE", "ASK"):
            level.state = "pattern"

    def dataset(self, token: _Token) -> None:
        """Follow PREFIX, BASE and FROM [NAMED] at the top level."""
        word = token.text.upper() if token.kind == "word" else ""
        if self.expect is None:
            if len(self.stack) > 1 or word not in ("PREFIX", "BASE", "FROM"):
                return
            self.expect = {"PREFIX": "prefix-name", "BASE": "base-iri", "FROM": "from-graph"}[word]
            if word == "FROM":
                self.pending = ("default", token.start)
            return
        expect, self.expect = self.expect, None
        if expect == "from-graph" and word == "NAMED":
            assert self.pending is not None
            self.pending = ("named", self.pending[1])
            self.expect = "from-graph"
        elif expect == "prefix-name" and token.kind == "pname" and token.text.endswith(":"):
            self.prefix_name = token.text[:-1]
            self.expect = "prefix-iri"
        elif expect == "prefix-iri" and token.kind == "iri":
            assert self.prefix_name is not None
            self.prefixes[self.prefix_name] = self.resolve(token)
        elif expect == "base-iri" and token.kind == "iri":
            self.base = self.resolve(token)
        elif expect == "from-graph" and token.kind in ("iri", "pname"):
            assert self.pending is not None
            kind, start = self.pending
            graph = self.resolve(token)
            if not SCHEME.match(graph):
                raise self.fail(f"FROM <{graph}>: a relative IRI needs a BASE", token.start)
            (self.named_graphs if kind == "named" else self.default_graphs).append(graph)
            self.cuts.append((start, token.start + len(token.text)))
        elif expect == "from-graph":
            raise self.fail("FROM and FROM NAMED must name a graph IRI", token.start)

    def resolve(self, token: _Token) -> str:
        """The IRI an IRIREF or prefixed name of the prologue or a dataset clause denotes (resolved
        against BASE when relative and a BASE was given)."""
        if token.kind == "pname":
            prefix, _, local = token.text.partition(":")
            if prefix not in self.prefixes:
                raise self.fail(f"unknown prefix {prefix}:", token.start)
            return self.prefixes[prefix] + re.sub(r"\\(.)", r"\1", local)
        iri = _UNESCAPE.sub(lambda m: chr(int(m.group(0)[2:], 16)), token.text[1:-1])
        if not SCHEME.match(iri) and self.base is not None:
            iri = urljoin(self.base, iri)
        return iri

    # -- the scan ---------------------------------------------------------------------------

    def iri(self) -> None:
        """An IRIREF at the current position; its brackets count toward the depth as well."""
        found = IRIREF.match(self.text, self.pos)
        if found is None:
            raise self.fail("unterminated or invalid IRI")
        peak = excess = self.iri_excess
        for char in found.group(0):
            if char in "([":
                excess += 1
                peak = max(peak, excess)
            elif char in ")]":
                excess = max(0, excess - 1)
        self.check_depth(peak)
        self.iri_excess = excess
        self.emit("iri", found.group(0), self.pos)
        self.pos = found.end()

    def angle(self) -> None:
        """`<` is less-than after an operand in an expression, else an IRI, `<<` or `<<(`."""
        text, pos = self.text, self.pos
        if self.level.expr and self.after_operand():
            op = "<=" if text.startswith("<=", pos) else "<"
            self.emit("op", op, pos)
            self.pos += len(op)
        elif text.startswith("<<(", pos):
            self.open("<<(", expr=False)
            self.emit("open", "<<(", pos)
            self.pos += 3
        elif text.startswith("<<", pos) and not self.level.expr and len(self.stack) > 1:
            self.open("<<", expr=False)
            self.emit("open", "<<", pos)
            self.pos += 2
        else:
            self.iri()

    def punctuation(self) -> None:
        """Brackets, separators and operators."""
        text, pos, opener = self.text, self.pos, self.level.opener
        if opener == "<<(" and text.startswith(")>>", pos):
            token = ")>>"
        elif opener == "<<" and text.startswith(">>", pos):
            token = ">>"
        elif opener == "{|" and text.startswith("|}", pos):
            token = "|}"
        elif text.startswith("{|", pos) and not text.startswith("{||", pos):
            token = "{|"
        else:
            token = next((p for p in _PUNCT if text.startswith(p, pos)), "")
            if not token:
                raise self.fail(f"unexpected character {text[pos]!r}")
        if token == "(":
            self.open_paren()
            self.emit("open", token, pos)
        elif token in ("{", "[", "{|"):
            self.open(token, expr=False)
            self.emit("open", token, pos)
        elif token in (")", "}", "]", ">>", ")>>", "|}"):
            self.close(token)
            self.emit("close", token, pos)
        elif token in (",", ";", "."):
            self.emit("sep", token, pos)
        elif token in ("^^", "~"):
            self.emit("punct", token, pos)
        else:
            self.emit("op", token, pos)
        self.pos += len(token)

    def pname(self) -> str | None:
        """The prefixed name at the current position, if any. A run of name characters without a
        colon after it is remembered, so that the words inside it are not scanned again."""
        found = _PNAME.match(self.text, self.pos)
        if found is not None:
            return found.group(0)
        run = _NAME_RUN.match(self.text, self.pos)
        if run is not None:
            self.no_pname_before = run.end()
        return None

    def name(self, kind: str, text: str) -> None:
        """A prefixed name or blank node label, without the trailing dots that end a triple."""
        while text.endswith(".") and not text.endswith("\\."):
            text = text[:-1]
        self.emit(kind, text, self.pos)
        self.pos += len(text)

    def scan(self) -> None:
        """Tokenise the whole query."""
        text, end = self.text, len(self.text)
        while True:
            space = _SPACE.match(text, self.pos)
            while space is not None and space.end() > self.pos:
                self.pos = space.end()
                space = _SPACE.match(text, self.pos)
            if self.pos >= end:
                break
            char, pos = text[self.pos], self.pos
            if char in "\"'":
                quote = text[pos:pos + 3] if text.startswith(char * 3, pos) else char
                found = _STRINGS[quote].match(text, pos)
                if found is None:
                    raise self.fail("unterminated string or invalid escape in a string")
                self.emit("string", found.group(0), pos)
                self.pos = found.end()
            elif char == "<":
                self.angle()
            elif char in "+-" and _NUMBER.match(text, pos + 1) and not (self.level.expr and self.after_operand()):
                found = _NUMBER.match(text, pos + 1)
                assert found is not None
                self.emit("number", text[pos:found.end()], pos)  # a signed literal, not an operator
                self.pos = found.end()
            elif char in "?$" and (found := _VAR.match(text, pos)) is not None:
                self.emit("var", found.group(0), pos)
                self.pos = found.end()
            elif text.startswith("_:", pos):
                if (found := _BNODE.match(text, pos)) is None:
                    raise self.fail("invalid blank node label")
                self.name("bnode", found.group(0))
            elif pos >= self.no_pname_before and (pname := self.pname()) is not None:
                if pname.partition(":")[0].endswith("."):
                    raise self.fail("a prefix may not end with '.'")
                self.name("pname", pname)
            elif (found := _WORD.match(text, pos)) is not None:
                word = found.group(0)
                self.emit("bool" if word.lower() in ("true", "false") else "word", word, pos)
                self.pos = found.end()
            elif (found := _NUMBER.match(text, pos)) is not None:
                self.emit("number", found.group(0), pos)
                self.pos = found.end()
            elif char == "@" and (found := _LANGTAG.match(text, pos)) is not None:
                self.emit("langtag", found.group(0), pos)
                self.pos = found.end()
            else:
                self.punctuation()
        if len(self.stack) > 1:
            raise self.fail(f"unbalanced brackets: {self.level.opener!r} is never closed")
        if self.expect is not None:
            raise self.fail("the query ends in the middle of its prologue or dataset clause")
        weight = self.level.total()
        if weight > MAX_WEIGHT:
            raise UsageError(f"query is too complex for this endpoint (weight {weight}, at most {MAX_WEIGHT}): "
                             f"fewer nested groups, shorter operator or path chains, or fewer patterns "
                             f"per group (VALUES and IN lists are cheap)")

    def stripped(self) -> str:
        """The text with the dataset clauses blanked out (line breaks kept, so positions stay)."""
        parts, last = [], 0
        for start, end in self.cuts:
            parts.append(self.text[last:start])
            parts.append(re.sub(r"[^\n]", " ", self.text[start:end]))
            last = end
        parts.append(self.text[last:])
        return "".join(parts)
