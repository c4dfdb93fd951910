"""One grammar's semantic script (SISR 1.0 §3.3 scoping, §7 tag formats).

A grammar becomes a factory function, called once per interpretation that reaches the grammar:
its body runs the header tags (so their ``var``s are fresh every time and visible to every rule),
then returns one function per rule whose body is a dispatch loop over that rule's script tags,
so a ``var`` of one tag is seen by the rule's later tags and ``out`` stays assignable::

    (function (__srgs_h) {
    __srgs_h(0);
    try { <header tag 0> } catch (__srgs_e) { throw __srgs_h(-1, __srgs_e); }
    return [["rule", function (__srgs_c, out, rules, meta) {
      var __srgs_k;
      while ((__srgs_k = __srgs_c.next()) !== -1) {
        if (__srgs_k === -2) { out = __srgs_c.value; continue; }
        try {
        switch (__srgs_k) {
        case 0: { <tag 0> }
          break;
        }
        } catch (__srgs_e) { throw __srgs_c.fail(__srgs_e); }
      }
      return out;
    }]];
    })

The grammar's tables stay here, in Python, shared by every thread: a tag that only assigns a
primitive (``out = "value";``, the usual word-list tag) never becomes script, its value travels
in the parse's events (``[-1, value]``, next() gives -2). Script tags are numbered per rule; a
grammar with few of them (``WHOLE_PROGRAM_CASES``) is compiled whole, once per thread, and a
larger one is compiled per parse from the tags that parse uses (the sandbox keeps the last few),
so a 600,000-entry list costs the engine the tags of one parse, not the list.

A value a tag throws is wrapped in an Error (so that only the engine's own out-of-memory report
reaches the host as a bare ``null``). Tag text is pasted only after ``TagSyntaxChecker``
accepted it as a complete statement list. Tags are registered as trees show them (or up front
from ``GrammarSemantics.rule_tags``); a new script tag bumps ``version``.
"""

from __future__ import annotations

import enum
import json
import re
import threading
from collections.abc import Callable, Hashable, Mapping
from typing import Final, Literal, TypeAlias

from srgs.model import SourceSpan

from .script import DEFAULT_SCRIPT_LIMITS, ScriptLimits, SemanticError, TagSyntaxChecker

SCRIPT_FORMATS = frozenset({"semantics/1.0", "semantics/1.0.2006"})
LITERAL_FORMATS = frozenset({"semantics/1.0-literals", "semantics/1.0.2006-literals"})

# A grammar with at most this many script tags (and this much tag text) is compiled whole, once
# per thread; a larger one per parse, from the tags the parse uses.
WHOLE_PROGRAM_CASES = 1024
WHOLE_PROGRAM_CHARS = 256 * 1024

Event = int | tuple[int, object]  # a script tag's case number, or (-1, value) for `out = <primitive>;`
# A tag Python evaluates itself (``compile_python``), and a tag's plan (``GrammarProgram.plan``).
PythonForm = Callable[["PythonScope"], None]
Plan = tuple[Event, PythonForm | None, int]


def describe_tag(text: str, limit: int = 60) -> str:
    """A tag as the W3C notation writes it, shortened for messages."""
    flat = " ".join(text.split())
    if len(flat) > limit:
        flat = flat[: limit - 3] + "..."
    return "{!{" + flat + "}!}"


class GrammarProgram:
    """The registered tags of one grammar and the factory sources made of them; thread-safe."""

    def __init__(self, index: int, key: str, tag_format: str | None, header_tags: tuple[str, ...],
                 tag_spans: Mapping[str, SourceSpan], limits: ScriptLimits = DEFAULT_SCRIPT_LIMITS):
        self.index = index
        self.key = key
        fmt = None if tag_format is None else tag_format.strip().lower()
        self.literal = fmt in LITERAL_FORMATS
        self.supported = fmt is None or fmt in SCRIPT_FORMATS or self.literal
        self.tag_format = tag_format
        self.header_tags = header_tags
        self.script_header = bool(header_tags) and not self.literal  # header tags the engine runs
        self._spans = tag_spans
        self._checker = TagSyntaxChecker(limits)
        self._lock = threading.Lock()
        self._events: dict[str, dict[str, Event]] = {}  # rule -> tag text -> event
        self._texts: dict[str, list[str]] = {}  # rule -> script tag texts by case number
        self._scripted = 0
        self._scripted_chars = 0
        self._syntax: dict[str, str] = {}  # tag text -> the engine's complaint (bad tags only)
        # (rule, case) -> (tags in the rule then, python form)
        self._python: dict[tuple[str, int], tuple[int, PythonForm | None]] = {}
        self._plans: dict[str, dict[str, Plan]] = {}  # rule -> tag text -> plan()
        self._python_header: dict[str, object] | None | _Missing = _NOT_LITERAL  # not made yet
        self._whole: str | None = None
        self.version = 0
        self._header_checked = False

    def keep_script_spans(self) -> None:
        """Forget the positions of tags that can no longer fail: once every tag of the grammar
        was checked (``check``), only header and script tags can (a 100,000-entry list of
        ``out = "..."`` tags keeps no position per entry)."""
        with self._lock:
            if not self.supported:
                return
            keep = set(self.header_tags) if not self.literal else set()
            for texts in self._texts.values():
                keep.update(texts)
            self._spans = {text: span for text, span in self._spans.items() if text in keep}

    def span(self, text: str | None = None) -> SourceSpan:
        if text is not None and text in self._spans:
            return self._spans[text]
        return SourceSpan(self.key, 0, 0)

    def require_supported(self, text: str) -> None:
        if not self.supported:
            raise self.unsupported(text, self.span(text))

    def unsupported(self, text: str, span: SourceSpan) -> SemanticError:
        return SemanticError(
            f"tag {describe_tag(text)} in grammar {self.key}: unsupported tag-format "
            f"'{self.tag_format}' (supported: semantics/1.0, semantics/1.0-literals)",
            span, kind="syntax")

    def check_header(self) -> None:
        """Validate the header tags once (raises SemanticError)."""
        if self._header_checked or self.literal:
            return
        with self._lock:
            for text in self.header_tags:
                self.require_supported(text)
                self._validate(text, "header tag", None)
            self._header_checked = True
            self._whole = None

    def check(self, rule: str, text: str) -> None:
        """Check a tag up front (raises SemanticError); script tags are registered, a tag that
        only assigns a primitive is left to its first use (it needs no script)."""
        self.require_supported(text)
        if not self.literal:
            value = literal_assignment(text)
            if value is _NOT_LITERAL:
                self._register(rule, text, value)

    def event(self, rule: str, text: str) -> Event:
        """The runtime event of ``text`` in ``rule``, registering (and checking) the tag if new."""
        events = self._events.get(rule)
        if events is not None:
            event = events.get(text)
            if event is not None:
                return event
        self.require_supported(text)
        return self._register(rule, text, literal_assignment(text))

    def plan(self, rule: str, text: str) -> Plan:
        """``(event, python_form or None, version)`` of a tag of ``rule`` (registering it if new),
        kept until a new script tag changes ``version``; ``_plans[rule][text]`` holds it."""
        event = self.event(rule, text)
        form = self.python_form(rule, event) if event.__class__ is int else None
        plans = self._plans.get(rule)
        if plans is None:
            plans = self._plans.setdefault(rule, {})
        elif len(plans) >= PLAN_ENTRIES:
            plans.clear()  # a rule of a huge list: keep what recent parses used
        found = plans[text] = (event, form, self.version)
        return found

    def python_form(self, rule: str, k: int) -> PythonForm | None:
        """Script tag ``k`` of ``rule`` as statements Python evaluates (``python_tag``), None
        when the engine must run it. A header variable it reads must not be declared by any
        other script tag of the rule (their ``var``s share the rule function's scope)."""
        texts = self._texts[rule]
        found = self._python.get((rule, k))
        if found is not None and found[0] == len(texts):
            return found[1]
        form = None
        parsed = python_tag(texts[k])
        if parsed is not None:
            statements, variables = parsed
            usable = True
            if variables:
                header = self.python_header
                if header is None or not variables <= header.keys() or len(texts) > SHADOW_SCAN_TAGS \
                        or any(_may_declare(other, variables) for other in texts):
                    usable = False
            if usable:
                form = compile_python(statements)
        self._python[(rule, k)] = (len(texts), form)
        return form

    @property
    def python_header(self) -> dict[str, object] | None:
        """The header's variables when Python can make them (``python_header``), else None."""
        found = self._python_header
        if found is _NOT_LITERAL:
            found = self._python_header = python_header(self.header_tags)
        return found

    def tag_text(self, rule: str, k: int) -> str | None:
        if rule == "":
            return self.header_tags[k] if 0 <= k < len(self.header_tags) else None
        texts = self._texts.get(rule, [])
        return texts[k] if 0 <= k < len(texts) else None

    def program(self, cases: Mapping[str, set[int]]) -> tuple[Hashable, Callable[[], str | None]]:
        """The factory for a parse whose script tags are ``cases`` (rule -> case numbers), as
        (key, source maker): the whole grammar's while it is small, else one of those tags only.
        The source is None when there is no script to run."""
        if self.literal:
            return (self.index, "none"), _no_source
        if self._scripted <= WHOLE_PROGRAM_CASES and self._scripted_chars <= WHOLE_PROGRAM_CHARS:
            return (self.index, "whole", self.version), self.source
        used = tuple(sorted((rule, tuple(sorted(ks))) for rule, ks in cases.items()))
        return (self.index, "parse", used), lambda: self._generate(used)

    def source(self) -> str | None:
        """The whole grammar's factory source (None when the grammar has no script)."""
        with self._lock:
            if self._whole is None:
                whole = tuple((rule, tuple(range(len(texts)))) for rule, texts in self._texts.items())
                self._whole = self._generate(whole) or ""
            return self._whole or None

    def problem(self, text: str, rule: str | None, span: SourceSpan) -> SemanticError | None:
        """What loading for interpretation would refuse in this tag (None: nothing), at ``span``;
        ``rule`` None for a header tag. Nothing is evaluated."""
        if not self.supported:
            return self.unsupported(text, span)
        if self.literal or (rule is not None and literal_assignment(text) is not _NOT_LITERAL):
            return None
        with self._lock:
            return self._problem(text, "header tag" if rule is None else "tag", rule, span)

    # --- internals ------------------------------------------------------------------------

    def _register(self, rule: str, text: str, value: object) -> Event:
        with self._lock:
            events = self._events.setdefault(rule, {})
            event = events.get(text)
            if event is None:
                if value is not _NOT_LITERAL:
                    event = (-1, value)
                else:
                    self._validate(text, "tag", rule)
                    texts = self._texts.setdefault(rule, [])
                    event = len(texts)
                    texts.append(text)
                    self._scripted += 1
                    self._scripted_chars += len(text)
                    self._whole = None
                    self.version += 1
                events[text] = event
            return event

    def _validate(self, text: str, what: str, rule: str | None) -> None:
        error = self._problem(text, what, rule, self.span(text))
        if error is not None:
            raise error

    def _problem(self, text: str, what: str, rule: str | None, span: SourceSpan) -> SemanticError | None:
        detail = self._syntax.get(text)
        if detail is None:
            failure = self._checker.error(text)
            if failure is None:
                return None
            line = f" (line {failure.line} of the tag)" if failure.line else ""
            detail = self._syntax[text] = f"{failure.detail}{line}"
        where = f" in rule ${rule}" if rule is not None else ""
        return SemanticError(f"{what} {describe_tag(text)}{where} of grammar {self.key}: {detail}",
                             span, kind="syntax")

    def _generate(self, rules: tuple[tuple[str, tuple[int, ...]], ...]) -> str | None:
        """Factory source running the header tags and, per rule, the script tags numbered."""
        rules = tuple((rule, ks) for rule, ks in rules if ks)
        if not rules and not self.header_tags:
            return None
        parts = ["(function (__srgs_h) {\n"]
        for i, text in enumerate(self.header_tags):
            parts.append(f"__srgs_h({i});\ntry {{\n{text}\n}} catch (__srgs_e) {{ throw __srgs_h(-1, __srgs_e); }}\n")
        parts.append("return [\n")
        for rule, ks in rules:
            texts = self._texts[rule]
            parts.append(f"[{json.dumps(rule)}, function (__srgs_c, out, rules, meta) {{\n"
                         "var __srgs_k;\n"
                         "while ((__srgs_k = __srgs_c.next()) !== -1) {\n"
                         "if (__srgs_k === -2) { out = __srgs_c.value; continue; }\n"
                         "try {\n")  # one try for the whole switch: a try per case costs a local per tag
            parts.extend(_dispatch([(texts[k], k) for k in ks]))
            parts.append("} catch (__srgs_e) { throw __srgs_c.fail(__srgs_e); }\n}\nreturn out;\n}],\n")
        parts.append("];\n})")
        return "".join(parts)


def _no_source() -> None:
    return None


# QuickJS refuses a switch of more than 65,535 cases: many tags in one rule (a long parse)
# dispatch in two levels, still inside the one rule function that scopes the tags' vars.
SWITCH_CHUNK = 4096


def _dispatch(cases: list[tuple[str, int]]) -> list[str]:
    """The switch over a rule's tag numbers (nested by chunks when there are many)."""
    if len(cases) <= SWITCH_CHUNK:
        return ["switch (__srgs_k) {\n", *(_case(text, k) for text, k in cases), "}\n"]
    chunks: dict[int, list[tuple[str, int]]] = {}
    for text, k in cases:
        chunks.setdefault(k // SWITCH_CHUNK, []).append((text, k))
    parts = [f"switch (Math.floor(__srgs_k / {SWITCH_CHUNK})) {{\n"]
    for chunk, members in chunks.items():
        parts.append(f"case {chunk}:\n")
        parts.extend(_dispatch(members) if len(members) < len(cases) else [])
        parts.append("break;\n")
    parts.append("}\n")
    return parts


def _case(text: str, k: int) -> str:
    return f"case {k}: {{\n{text}\n}}\nbreak;\n"


class _Missing(enum.Enum):
    """A sentinel's type (an enum member, so that ``is _NOT_LITERAL`` narrows for mypy)."""

    NOT_LITERAL = enum.auto()

    def __repr__(self) -> str:
        return "_NOT_LITERAL"


_NOT_LITERAL: Final = _Missing.NOT_LITERAL
# ECMAScript's WhiteSpace and LineTerminator (not Python's \s, which also has \x1c-\x1f, \x85)
_JS_SPACE = "[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]"
_LITERAL_ASSIGNMENT = re.compile(
    rf"""{_JS_SPACE}*out{_JS_SPACE}*={_JS_SPACE}*("(?:[^"\\\n\r]|\\["\\/bfnrt])*"|'[^'\\\n\r]*'|-?(?:0|[1-9]\d{{0,14}})(?:\.\d{{1,15}})?|true|false|null){_JS_SPACE}*;?{_JS_SPACE}*""",
    re.ASCII,
)
def literal_assignment(text: str) -> object:
    """The primitive value of a tag that is only ``out = <string|number|true|false|null>;``
    (read the way ECMAScript reads it), or ``_NOT_LITERAL``. A string may hold any character
    but a line break, a backslash only in the escapes JSON and ECMAScript share."""
    match = _LITERAL_ASSIGNMENT.fullmatch(text)
    if match is None:
        return _NOT_LITERAL
    literal = match.group(1)
    if literal.startswith("'"):
        return literal[1:-1]
    value = json.loads(literal, strict=False)  # strict=False: raw tabs etc., as ECMAScript allows
    if value.__class__ is float and value.is_integer():
        # one number type in ECMAScript: 1.0 and -0 are 1 and 0 once the value is JSON (an
        # integral number under 1e21 is written without a fraction)
        return int(value)
    return value


# --- tags Python evaluates itself -------------------------------------------------------------
#
# A small part of ECMAScript whose meaning here is exactly the engine's, for the values these
# tags can make (strings, numbers, booleans, null, arrays and plain objects built by the tags,
# never undefined): anything else, and any case where the engine would throw or make undefined,
# is left to the engine (``NotInPython``). Statements, separated by ``;``:
#
#     out = EXPR            out.NAME = EXPR            out.NAME.push(EXPR)
#     out += EXPR           out.NAME += EXPR           (two strings, or two numbers)
#
# EXPR: a literal, ``[EXPR, ...]``, ``(EXPR)``, ``EXPR || EXPR``, ``EXPR.concat(EXPR)``,
# ``rules.NAME`` (a child matched earlier in the rule), ``rules.latest()``,
# ``meta.current().text``, ``out.NAME``, and a grammar's header variables (``var NAME = <literal
# or flat object of literals>;``) as ``NAME`` or ``NAME[EXPR]``. No comments, no line break
# between statements without ``;`` (no automatic semicolon insertion to reason about).
#
# ``_TagParser`` gives them as tuples tagged by their kind (``_statement`` / ``_expression``
# compile them to closures):

Expr: TypeAlias = (
    tuple[Literal["lit"], object]
    | tuple[Literal["array"], tuple["Expr", ...]]
    | tuple[Literal["or"], "Expr", "Expr"]
    | tuple[Literal["concat"], "Expr", "Expr"]
    | tuple[Literal["plus"], "Expr", "Expr"]
    | tuple[Literal["rule"], str]  # rules.NAME
    | tuple[Literal["latest"]]  # rules.latest()
    | tuple[Literal["text"]]  # meta.current().text
    | tuple[Literal["out"]]
    | tuple[Literal["get"], str]  # out.NAME
    | tuple[Literal["variable"], str]  # a header variable
    | tuple[Literal["index"], str, "Expr"]  # NAME[EXPR] of a header variable
)
Statement: TypeAlias = (
    tuple[Literal["out"], Expr]  # out = EXPR
    | tuple[Literal["set"], str, Expr]  # out.NAME = EXPR
    | tuple[Literal["push"], str, Expr]  # out.NAME.push(EXPR)
)

OBJECT_PROTOTYPE_NAMES = frozenset({  # Object.prototype's own properties in QuickJS
    "constructor", "toString", "toLocaleString", "valueOf", "hasOwnProperty", "isPrototypeOf",
    "propertyIsEnumerable", "__proto__", "__defineGetter__", "__defineSetter__",
    "__lookupGetter__", "__lookupSetter__"})
_RESERVED = frozenset("""break case catch class const continue debugger default delete do else enum
    export extends false finally for function if import in instanceof new null return super switch
    this throw true try typeof var void while with yield let static implements interface package
    private protected public await arguments eval undefined NaN Infinity out rules meta""".split())
_TOKEN = re.compile("|".join((
    f"(?P<space>{_JS_SPACE}+)",
    r"(?P<name>[A-Za-z_$][A-Za-z0-9_$]*)(?![^\x00-\x7f])",
    r"(?P<number>-?(?:0|[1-9]\d{0,14})(?:\.\d{1,15})?)(?![0-9A-Za-z_$.])",
    r"""(?P<string>"(?:[^"\\\n\r]|\\["\\/bfnrt])*"|'[^'\\\n\r]*')""",
    r"(?P<punct>\|\||\+=|[=.,;()\[\]{}:])",
)), re.ASCII)


SHADOW_SCAN_TAGS = 64  # a rule with more script tags reads no header variable in Python


def _may_declare(text: str, names: frozenset[str]) -> bool:
    """Whether a tag might declare one of ``names`` (it mentions it, outside the subset, or
    writes an identifier with a \\u escape)."""
    if python_tag(text) is not None:
        return False
    return "\\u" in text or any(re.search(rf"(?<![\w$]){re.escape(name)}(?![\w$])", text) for name in names)


PLAN_ENTRIES = 4096  # tag plans kept per rule

# What Python may build for one evaluation (array elements copied, words joined) before it
# leaves the parse to the engine, whose time and memory limits then apply: a tag that copies a
# growing array on every repetition costs the square of the repetitions.
PYTHON_WORK = 200_000


def _spend(scope: PythonScope, units: int) -> None:
    budget = scope.budget
    budget[0] -= units
    if budget[0] < 0:
        raise NotInPython


class NotInPython(Exception):
    """This tag, in this state, is left to the script engine."""


class _Undefined:
    __slots__ = ()

    def __repr__(self) -> str:
        return "undefined"


UNDEFINED = _Undefined()


def _tokens(text: str) -> list[tuple[str, object]] | None:
    out: list[tuple[str, object]] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            return None
        position = match.end()
        kind = match.lastgroup
        assert kind is not None  # every alternative of _TOKEN is a named group
        if kind == "space":
            continue
        token = match.group(kind)
        if kind == "number":
            out.append(("lit", _js_number(token)))
        elif kind == "string":
            out.append(("lit", token[1:-1] if token[0] == "'" else json.loads(token, strict=False)))
        elif kind == "name" and token in ("true", "false", "null"):
            out.append(("lit", {"true": True, "false": False, "null": None}[token]))
        else:
            out.append((kind, token))
    return out


def _js_number(text: str) -> int | float:
    """A numeric literal's value as it comes back from the engine as JSON: an integral number
    (under 1e21) is written without a fraction, -0 as 0."""
    value = float(text)
    return int(value) if value.is_integer() else value


class _Syntax(Exception):
    pass


class _TagParser:
    """Statements of the subset above, as tuples; ``_Syntax`` for anything else."""

    def __init__(self, tokens: list[tuple[str, object]]):
        self.tokens = tokens
        self.at = 0
        self.variables: set[str] = set()

    def peek(self, offset: int = 0) -> tuple[str, object] | None:
        index = self.at + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def take(self, kind: str, value: object = None) -> object:
        token = self.peek()
        if token is None or token[0] != kind or (value is not None and token[1] != value):
            raise _Syntax
        self.at += 1
        return token[1]

    def accept(self, kind: str, value: object) -> bool:
        token = self.peek()
        if token is not None and token[0] == kind and token[1] == value:
            self.at += 1
            return True
        return False

    def name(self) -> str:
        """The name here (``_Syntax`` for any other token)."""
        name = self.take("name")
        assert isinstance(name, str)  # _tokens writes a name as its text
        return name

    def property_name(self) -> str:
        name = self.name()
        if name in OBJECT_PROTOTYPE_NAMES:
            raise _Syntax  # inherited, or an accessor: not a plain own property
        return name

    def statements(self) -> tuple[Statement, ...]:
        out: list[Statement] = []
        while self.peek() is not None:
            out.append(self.statement())
            if self.peek() is not None:
                self.take("punct", ";")
        if not out:
            raise _Syntax
        return tuple(out)

    def statement(self) -> Statement:
        self.take("name", "out")
        if self.accept("punct", "="):
            return ("out", self.expression())
        if self.accept("punct", "+="):
            return ("out", ("plus", ("out",), self.expression()))
        self.take("punct", ".")
        name = self.property_name()
        if self.accept("punct", "="):
            return ("set", name, self.expression())
        if self.accept("punct", "+="):
            return ("set", name, ("plus", ("get", name), self.expression()))
        self.take("punct", ".")
        self.take("name", "push")
        self.take("punct", "(")
        value = self.expression()
        self.take("punct", ")")
        return ("push", name, value)

    def expression(self) -> Expr:
        left = self.postfix()
        while self.accept("punct", "||"):
            left = ("or", left, self.postfix())
        return left

    def postfix(self) -> Expr:
        node = self.primary()
        while self.peek() == ("punct", ".") and self.peek(1) == ("name", "concat"):
            self.at += 2
            self.take("punct", "(")
            argument = self.expression()
            self.take("punct", ")")
            node = ("concat", node, argument)
        return node

    def primary(self) -> Expr:
        token = self.peek()
        if token is None:
            raise _Syntax
        kind, value = token
        if kind == "lit":
            self.at += 1
            return ("lit", value)
        if token == ("punct", "["):
            self.at += 1
            items: list[Expr] = []
            if not self.accept("punct", "]"):
                items.append(self.expression())
                while self.accept("punct", ","):
                    items.append(self.expression())
                self.take("punct", "]")
            return ("array", tuple(items))
        if token == ("punct", "("):
            self.at += 1
            inner = self.expression()
            self.take("punct", ")")
            return inner
        if kind != "name":
            raise _Syntax
        self.at += 1
        assert isinstance(value, str)  # _tokens writes a name as its text
        if value == "rules":
            self.take("punct", ".")
            name = self.name()
            if name == "latest" and self.accept("punct", "("):
                self.take("punct", ")")
                return ("latest",)
            return ("rule", name)
        if value == "meta":
            for expected in (("punct", "."), ("name", "current"), ("punct", "("), ("punct", ")"),
                             ("punct", "."), ("name", "text")):
                self.take(*expected)
            return ("text",)
        if value == "out":
            self.take("punct", ".")
            return ("get", self.property_name())
        if value in _RESERVED or value.startswith("__srgs"):
            raise _Syntax
        self.variables.add(value)
        if self.accept("punct", "["):
            key = self.expression()
            self.take("punct", "]")
            return ("index", value, key)
        return ("variable", value)


def python_tag(text: str) -> tuple[tuple[Statement, ...], frozenset[str]] | None:
    """The statements of a tag in the subset Python evaluates, with the header variables it
    reads; None when the tag is anything else."""
    tokens = _tokens(text)
    if tokens is None:
        return None
    parser = _TagParser(tokens)
    try:
        return parser.statements(), frozenset(parser.variables)
    except _Syntax:
        return None


def python_header(texts: tuple[str, ...]) -> dict[str, object] | None:
    """The variables header tags declare when every header statement is
    ``var NAME = LITERAL[, NAME = LITERAL]...;`` (a primitive, or an object literal of primitives
    with non-index keys), else None. Such values never change: tags in the subset only read them."""
    variables: dict[str, object] = {}
    for text in texts:
        tokens = _tokens(text)
        if tokens is None:
            return None
        parser = _TagParser(tokens)
        try:
            while parser.peek() is not None:
                parser.take("name", "var")
                while True:
                    name = parser.name()
                    if name in _RESERVED or name.startswith("__srgs"):
                        return None
                    parser.take("punct", "=")
                    variables[name] = _header_literal(parser)
                    if not parser.accept("punct", ","):
                        break
                if parser.peek() is not None:
                    parser.take("punct", ";")
        except _Syntax:
            return None
    return variables


def _header_literal(parser: _TagParser) -> object:
    token = parser.peek()
    if token is not None and token[0] == "lit":
        parser.at += 1
        return token[1]
    parser.take("punct", "{")
    values: dict[str, object] = {}
    while not parser.accept("punct", "}"):
        token = parser.peek()
        if token is None or token[0] not in ("name", "lit") or not isinstance(token[1], str):
            raise _Syntax
        key = token[1]
        if key == "__proto__" or key.isdigit():  # a prototype, or an index key (ordered first)
            raise _Syntax
        parser.at += 1
        parser.take("punct", ":")
        value = parser.peek()
        if value is None or value[0] != "lit":
            raise _Syntax
        parser.at += 1
        values[key] = value[1]
        if not parser.accept("punct", ","):
            parser.take("punct", "}")
            break
    return values


class PythonScope:
    """One rule's variables while Python evaluates its tags (what the runtime's frame holds)."""

    __slots__ = ("out", "initial", "defined", "latest", "has_child", "parts", "program", "used_header",
                 "budget")

    def __init__(self, program: GrammarProgram, budget: list[int]):
        self.initial: dict[str, object] = {}
        self.out: object = self.initial
        self.defined: dict[str, object] | None = None
        self.latest: object = None
        self.has_child = False
        self.parts: list[str] = []
        self.program = program
        self.used_header = False
        self.budget = budget  # [units left] shared by the evaluation (see PYTHON_WORK)


def compile_python(statements: tuple[Statement, ...]) -> PythonForm:
    """A tag's statements (``python_tag``) as one function of a ``PythonScope``; it raises
    ``NotInPython`` when the engine must decide."""
    steps = tuple(_statement(statement) for statement in statements)
    if len(steps) == 1:
        return steps[0]

    def run(scope: PythonScope) -> None:
        for step in steps:
            step(scope)

    return run


def _statement(node: Statement) -> PythonForm:
    if node[0] == "out":
        value = _expression(node[1])

        def assign(scope: PythonScope) -> None:
            result = value(scope)
            if result is UNDEFINED:
                raise NotInPython
            scope.out = result

        return assign
    name, value = node[1], _expression(node[2])
    if node[0] == "set":
        def set_property(scope: PythonScope) -> None:
            target = scope.out
            if target.__class__ is not dict:
                raise NotInPython  # a property of a primitive, an array or null
            result = value(scope)
            if result is UNDEFINED:
                raise NotInPython
            target[name] = result

        return set_property

    def push(scope: PythonScope) -> None:
        target = scope.out
        if target.__class__ is not dict:
            raise NotInPython
        array = target.get(name)
        if array.__class__ is not list:
            raise NotInPython
        result = value(scope)
        if result is UNDEFINED:
            raise NotInPython
        array.append(result)

    return push


def _expression(node: Expr) -> Callable[[PythonScope], object]:
    if node[0] == "lit":
        constant = node[1]
        return lambda scope: constant
    if node[0] == "rule":
        name = node[1]

        def rule(scope: PythonScope) -> object:
            defined = scope.defined
            if defined is None or name not in defined:
                raise NotInPython  # undefined, or an inherited property
            return defined[name]

        return rule
    if node[0] == "get":
        name = node[1]

        def get(scope: PythonScope) -> object:
            target = scope.out
            if target.__class__ is not dict:
                raise NotInPython
            return target.get(name, UNDEFINED)

        return get
    if node[0] == "or":
        left, right = _expression(node[1]), _expression(node[2])

        def either(scope: PythonScope) -> object:
            value = left(scope)
            return value if _truthy(value) else right(scope)

        return either
    if node[0] == "array":
        items = tuple(_expression(item) for item in node[1])

        def array(scope: PythonScope) -> list[object]:
            _spend(scope, len(items))
            values = [item(scope) for item in items]
            if UNDEFINED in values:
                raise NotInPython
            return values

        return array
    if node[0] == "concat":
        receiver, argument = _expression(node[1]), _expression(node[2])

        def concat(scope: PythonScope) -> list[object]:
            head = receiver(scope)
            if head.__class__ is not list:
                raise NotInPython
            tail = argument(scope)
            if tail is UNDEFINED:
                raise NotInPython
            if tail.__class__ is list:
                _spend(scope, len(head) + len(tail))
                return head + tail
            _spend(scope, len(head) + 1)
            return head + [tail]

        return concat
    if node[0] == "out":
        return lambda scope: scope.out
    if node[0] == "plus":
        left, right = _expression(node[1]), _expression(node[2])

        def plus(scope: PythonScope) -> object:
            return _plus(left(scope), right(scope))

        return plus
    if node[0] == "text":
        def text(scope: PythonScope) -> str:
            _spend(scope, len(scope.parts))
            return " ".join(scope.parts)

        return text
    if node[0] == "latest":
        def latest(scope: PythonScope) -> object:
            if not scope.has_child or (scope.defined is not None and "latest" in scope.defined):
                raise NotInPython  # undefined, or a child named latest replaced the function
            return scope.latest

        return latest
    name = node[1]
    if node[0] == "variable":
        def variable(scope: PythonScope) -> object:
            found = _header_value(scope, name)
            if found.__class__ is dict:
                raise NotInPython  # the object itself would be shared and could be changed
            return found

        return variable
    key = _expression(node[2])

    def index(scope: PythonScope) -> object:
        found = _header_value(scope, name)
        chosen = key(scope)
        if found.__class__ is not dict or chosen.__class__ is not str:
            raise NotInPython
        if chosen in found:
            return found[chosen]
        if chosen in OBJECT_PROTOTYPE_NAMES:
            raise NotInPython
        return UNDEFINED

    return index


def _header_value(scope: PythonScope, name: str) -> object:
    header = scope.program.python_header
    if header is None or name not in header:
        raise NotInPython
    scope.used_header = True
    return header[name]


_EXACT = 2 ** 53  # integers a double holds exactly


def _plus(left: object, right: object) -> object:
    """``left + right`` where both are strings or both numbers (no conversion to reason about)."""
    if left.__class__ is str:
        if right.__class__ is str:
            return left + right
        raise NotInPython  # a string and something else: the engine's conversions
    if left.__class__ is int:
        if abs(left) > _EXACT:
            raise NotInPython
    elif left.__class__ is not float:
        raise NotInPython  # undefined, objects, booleans: the engine's conversions
    if right.__class__ is int:
        if abs(right) > _EXACT:
            raise NotInPython
    elif right.__class__ is not float:
        raise NotInPython
    result = float(left) + float(right)  # the engine's double addition
    return int(result) if result.is_integer() and abs(result) < 1e21 else result


def _truthy(value: object) -> bool:
    if value is UNDEFINED or value is None:
        return False
    kind = value.__class__
    if kind is bool:
        return value is True
    if kind is int or kind is float:
        return value == value and value != 0  # NaN and 0 are false
    if kind is str:
        return value != ""
    return True
