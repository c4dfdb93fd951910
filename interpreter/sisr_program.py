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

import json
import re
import threading
from typing import Callable, Hashable, Mapping

from srgs.model import SourceSpan

from .script import DEFAULT_SCRIPT_LIMITS, ScriptLimits, SemanticError, TagSyntaxChecker

SCRIPT_FORMATS = frozenset({"semantics/1.0", "semantics/1.0.2006"})
LITERAL_FORMATS = frozenset({"semantics/1.0-literals", "semantics/1.0.2006-literals"})

# A grammar with at most this many script tags (and this much tag text) is compiled whole, once
# per thread; a larger one per parse, from the tags the parse uses.
WHOLE_PROGRAM_CASES = 1024
WHOLE_PROGRAM_CHARS = 256 * 1024

Event = int | tuple  # a script tag's case number, or (-1, value) for `out = <primitive>;`


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
        self._references: dict[tuple[str, int], str | None] = {}  # script tag -> rule_reference
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

    def reference(self, rule: str, k: int) -> str | None:
        """``rule_reference`` of script tag ``k`` of ``rule`` (the rule name it copies, or
        ``LATEST``), None when it does anything else."""
        found = self._references.get((rule, k), _NOT_LITERAL)
        if found is _NOT_LITERAL:
            found = self._references[(rule, k)] = rule_reference(self._texts[rule][k])
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


_NOT_LITERAL = object()
# ECMAScript's WhiteSpace and LineTerminator (not Python's \s, which also has \x1c-\x1f, \x85)
_JS_SPACE = "[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]"
_LITERAL_ASSIGNMENT = re.compile(
    rf"""{_JS_SPACE}*out{_JS_SPACE}*={_JS_SPACE}*("(?:[^"\\\n\r]|\\["\\/bfnrt])*"|'[^'\\\n\r]*'|-?(?:0|[1-9]\d{{0,14}})(?:\.\d{{1,15}})?|true|false|null){_JS_SPACE}*;?{_JS_SPACE}*""",
    re.ASCII,
)
# `out = rules.NAME;` / `out = rules.latest();` (ASCII identifiers only)
_RULE_REFERENCE = re.compile(
    rf"""{_JS_SPACE}*out{_JS_SPACE}*={_JS_SPACE}*rules{_JS_SPACE}*\.{_JS_SPACE}*([A-Za-z_$][A-Za-z0-9_$]*)({_JS_SPACE}*\({_JS_SPACE}*\))?{_JS_SPACE}*;?{_JS_SPACE}*""",
    re.ASCII,
)
LATEST = "latest()"  # rule_reference of `out = rules.latest();`


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


def rule_reference(text: str) -> str | None:
    """The rule name of a tag that is only ``out = rules.NAME;``, ``LATEST`` for
    ``out = rules.latest();``, else None. (Such a tag is script; where the name is a rule matched
    earlier in the same rule, its value is known without running it.)"""
    match = _RULE_REFERENCE.fullmatch(text)
    if match is None:
        return None
    name, call = match.groups()
    if call is not None:
        return LATEST if name == "latest" else None
    return name
