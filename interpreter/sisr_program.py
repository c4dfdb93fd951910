"""One grammar's semantic script, compiled once (SISR 1.0 §3.3 scoping, §7 tag formats).

A grammar becomes one factory function, called once per interpretation that reaches the grammar:
its body runs the header tags (so their ``var``s are fresh every time and visible to every rule),
then returns one function per rule whose body is a dispatch loop over that rule's tags, so a
``var`` of one tag is seen by the rule's later tags and ``out`` stays assignable::

    (function () {
    var __srgs_lit0 = JSON.parse('{"1": "value of a tag that is only out = <primitive>;"}');
    return (function (__srgs_h) {
    __srgs_h(0);
    try { <header tag 0> } catch (__srgs_e) { throw __srgs_h(-1, __srgs_e); }
    return [["rule", function (__srgs_c, out, rules, meta) {
      var __srgs_k;
      while ((__srgs_k = __srgs_c.next()) !== -1) {
        if (__srgs_k in __srgs_lit0) { out = __srgs_lit0[__srgs_k]; continue; }
        try {
        switch (__srgs_k) {
        case 0: { <tag 0> }
          break;
        }
        } catch (__srgs_e) { throw __srgs_c.fail(__srgs_e); }
      }
      return out;
    }]];
    });
    })()

A value a tag throws is wrapped in an Error (so that only the engine's own out-of-memory report
reaches the host as a bare ``null``). Tag text is pasted only after ``TagSyntaxChecker`` accepted it as a complete statement list.
Tags are registered as trees show them (or up front from ``GrammarSemantics.rule_tags``); a new
tag bumps ``version`` and each thread's sandbox reloads the factory once.
"""

from __future__ import annotations

import json
import re
import threading

from srgs.model import SourceSpan

from .script import DEFAULT_SCRIPT_LIMITS, ScriptLimits, SemanticError, TagSyntaxChecker

SCRIPT_FORMATS = frozenset({"semantics/1.0", "semantics/1.0.2006"})
LITERAL_FORMATS = frozenset({"semantics/1.0-literals", "semantics/1.0.2006-literals"})


def describe_tag(text: str, limit: int = 60) -> str:
    """A tag as the W3C notation writes it, shortened for messages."""
    flat = " ".join(text.split())
    if len(flat) > limit:
        flat = flat[: limit - 3] + "..."
    return "{!{" + flat + "}!}"


class GrammarProgram:
    """The registered tags and the generated factory source of one grammar; thread-safe."""

    def __init__(self, index: int, key: str, tag_format: str | None, header_tags: tuple[str, ...],
                 tag_spans: dict[str, SourceSpan], limits: ScriptLimits = DEFAULT_SCRIPT_LIMITS):
        self.index = index
        self.key = key
        fmt = None if tag_format is None else tag_format.strip().lower()
        self.literal = fmt in LITERAL_FORMATS
        self.supported = fmt is None or fmt in SCRIPT_FORMATS or self.literal
        self.tag_format = tag_format
        self.header_tags = header_tags
        self._spans = tag_spans
        self._checker = TagSyntaxChecker(limits)
        self._lock = threading.Lock()
        self._rules: dict[str, dict[str, int]] = {}
        self._rejected: dict[str, SemanticError] = {}
        self._source: str | None = None
        self.version = 0
        self._header_checked = False

    @property
    def has_script(self) -> bool:
        return not self.literal and (bool(self.header_tags) or bool(self._rules))

    def span(self, text: str | None = None) -> SourceSpan:
        if text is not None and text in self._spans:
            return self._spans[text]
        return SourceSpan(self.key, 0, 0)

    def require_supported(self, text: str) -> None:
        if not self.supported:
            raise SemanticError(
                f"tag {describe_tag(text)} in grammar {self.key}: unsupported tag-format "
                f"'{self.tag_format}' (supported: semantics/1.0, semantics/1.0-literals)",
                self.span(text), kind="syntax")

    def check_header(self) -> None:
        """Validate the header tags once (raises SemanticError)."""
        if self._header_checked or self.literal:
            return
        with self._lock:
            for text in self.header_tags:
                self.require_supported(text)
                self._validate(text, "header tag", None)
            self._header_checked = True
            self._source = None

    def case(self, rule: str, text: str) -> int:
        """The dispatch case of ``text`` in ``rule``, registering (and checking) it if new."""
        cases = self._rules.get(rule)
        if cases is not None:
            k = cases.get(text)
            if k is not None:
                return k
        self.require_supported(text)
        with self._lock:
            cases = self._rules.setdefault(rule, {})
            if text not in cases:
                self._validate(text, "tag", rule)
                cases[text] = len(cases)
                self._source = None
                self.version += 1
            return cases[text]

    def tag_text(self, rule: str, k: int) -> str | None:
        if rule == "":
            return self.header_tags[k] if 0 <= k < len(self.header_tags) else None
        for text, case in self._rules.get(rule, {}).items():
            if case == k:
                return text
        return None

    def source(self) -> str | None:
        """The factory source for the current version (None when the grammar has no script)."""
        with self._lock:
            if self._source is None and self.has_script:
                self._source = self._generate()
            return self._source

    def _validate(self, text: str, what: str, rule: str | None) -> None:
        if text in self._rejected:
            raise self._rejected[text]
        if rule is not None and literal_assignment(text) is not _NOT_LITERAL:
            return  # `out = "value";` is a statement by construction
        failure = self._checker.error(text)
        if failure is None:
            return
        where = f" in rule ${rule}" if rule is not None else ""
        line = f" (line {failure.line} of the tag)" if failure.line else ""
        error = SemanticError(
            f"{what} {describe_tag(text)}{where} of grammar {self.key}: {failure.detail}{line}",
            self.span(text), kind="syntax")
        self._rejected[text] = error
        raise error

    def _generate(self) -> str:
        # Tables of `out = <primitive>;` tags are built once, outside the per-interpretation
        # factory: a 100,000-name list then costs one JSON.parse, not a 100,000-case switch.
        tables = []
        for index, cases in enumerate(self._rules.values()):
            values = {k: v for text, k in cases.items() if (v := literal_assignment(text)) is not _NOT_LITERAL}
            tables.append(f"var __srgs_lit{index} = JSON.parse({json.dumps(json.dumps(values))});\n")
        parts = ["(function () {\n", *tables, "return (function (__srgs_h) {\n"]
        for i, text in enumerate(self.header_tags):
            parts.append(f"__srgs_h({i});\ntry {{\n{text}\n}} catch (__srgs_e) {{ throw __srgs_h(-1, __srgs_e); }}\n")
        parts.append("return [\n")
        for index, (rule, cases) in enumerate(self._rules.items()):
            parts.append(f"[{json.dumps(rule)}, function (__srgs_c, out, rules, meta) {{\n"
                         "var __srgs_k;\n"
                         "while ((__srgs_k = __srgs_c.next()) !== -1) {\n"
                         f"if (__srgs_k in __srgs_lit{index}) {{ out = __srgs_lit{index}[__srgs_k]; continue; }}\n")
            scripted = [(text, k) for text, k in cases.items() if literal_assignment(text) is _NOT_LITERAL]
            if scripted:  # one try for the whole switch: a try per case costs a local per tag
                parts.append("try {\n")
                parts.extend(_dispatch(scripted))
                parts.append("} catch (__srgs_e) { throw __srgs_c.fail(__srgs_e); }\n")
            parts.append("}\nreturn out;\n}],\n")
        parts.append("];\n});\n})()")
        return "".join(parts)


# QuickJS refuses a switch of more than 65,535 cases: a large word list (one tag per entry)
# dispatches in two levels, still inside the one rule function that scopes the tags' vars.
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
_LITERAL_ASSIGNMENT = re.compile(
    r"""\s*out\s*=\s*("(?:[^"\\\n]|\\["\\/bfnrt])*"|'[^'\\\n]*'|-?(?:0|[1-9]\d{0,14})(?:\.\d{1,15})?|true|false|null)\s*;?\s*"""
)


def literal_assignment(text: str) -> object:
    """The primitive value of a tag that is only ``out = <string|number|true|false|null>;``
    (read the way ECMAScript reads it), or ``_NOT_LITERAL``."""
    match = _LITERAL_ASSIGNMENT.fullmatch(text)
    if match is None:
        return _NOT_LITERAL
    literal = match.group(1)
    if literal.startswith("'"):
        return literal[1:-1]
    return json.loads(literal)
