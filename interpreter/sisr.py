"""SISR 1.0 semantic evaluation of parse trees (W3C Recommendation, 5 April 2007).

``SemanticEvaluator.evaluate(tree)`` gives the root rule's value (SISR §3.3, §7) as JSON-able
Python: ``out`` per rule starting as an empty object, ``rules.NAME`` / ``rules.latest()``,
``meta.NAME`` / ``meta.latest()`` / ``meta.current()`` (``text`` and ``score``), default
assignment when ``out`` is left untouched, header tags as grammar-wide initialisation, the
``semantics/1.0-literals`` format, and each external grammar with its own format and header.
The scripts run in ``script.QuickJsSandbox`` (one per thread); this module turns trees into the
runtime's event list and engine failures into ``SemanticError``s that say where.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Callable, Mapping

from srgs.model import Grammar, SourceSpan, Tag, iter_expansions

from .script import (
    DEFAULT_SCRIPT_LIMITS,
    QuickJsSandbox,
    ScriptFailure,
    ScriptLimits,
    ScriptSandbox,
    SemanticError,
)
from .sisr_program import GrammarProgram, describe_tag
from .tree import ParseGarbage, ParseRule, ParseTag, ParseToken

__all__ = ["GrammarSemantics", "SemanticEvaluator", "SemanticError", "ScriptLimits"]


@dataclass(frozen=True, slots=True)
class GrammarSemantics:
    """What the evaluator needs of one grammar, keyed by the grammar key of ``ParseRule.grammar``.

    ``tag_format``: ``semantics/1.0`` (also ``semantics/1.0.2006``; None with tags means the
    same), or ``semantics/1.0-literals``. ``header_tags``: tags before the first rule (SRGS §4.9).
    Optional: ``rule_tags`` (rule name, its tag texts) to check and compile every tag up front,
    ``tag_spans`` (tag text, where it is written) for error positions; ``from_grammar`` fills both.
    """

    tag_format: str | None
    header_tags: tuple[str, ...] = ()
    language: str | None = None
    rule_tags: tuple[tuple[str, tuple[str, ...]], ...] = field(default=(), compare=False)
    tag_spans: tuple[tuple[str, SourceSpan], ...] = field(default=(), compare=False)

    @classmethod
    def from_grammar(cls, grammar: Grammar) -> "GrammarSemantics":
        spans: dict[str, SourceSpan] = {}
        for tag in grammar.tags:
            spans.setdefault(tag.text, tag.span)
        rule_tags = []
        for rule in grammar.rules:
            texts: dict[str, None] = {}
            for node in iter_expansions(rule.expansion):
                if isinstance(node, Tag):
                    texts.setdefault(node.text, None)
                    spans.setdefault(node.text, node.span)
            if texts:
                rule_tags.append((rule.name, tuple(texts)))
        return cls(grammar.tag_format, tuple(t.text for t in grammar.tags), grammar.language,
                   tuple(rule_tags), tuple(spans.items()))


class _ThreadState:
    """One thread's sandbox and the grammar versions loaded into it."""

    def __init__(self, sandbox: ScriptSandbox):
        self.sandbox = sandbox
        self.loaded: dict[int, int] = {}


_END = object()


class SemanticEvaluator:
    """Evaluates parse trees of a set of grammars (a root and what it references); thread-safe."""

    def __init__(self, grammars: Mapping[str, GrammarSemantics], *,
                 limits: ScriptLimits = DEFAULT_SCRIPT_LIMITS,
                 sandbox_factory: Callable[[ScriptLimits], ScriptSandbox] = QuickJsSandbox):
        self._limits = limits
        self._sandbox_factory = sandbox_factory
        self._programs: dict[str, GrammarProgram] = {}
        self._by_index: list[GrammarProgram] = []
        for key, semantics in grammars.items():
            program = GrammarProgram(len(self._by_index), key, semantics.tag_format,
                                     tuple(semantics.header_tags), dict(semantics.tag_spans), limits)
            self._programs[key] = program
            self._by_index.append(program)
            program.check_header()
            if not program.literal:
                for rule, texts in semantics.rule_tags:
                    for text in texts:
                        program.case(rule, text)
        self._local = threading.local()

    def evaluate(self, tree: ParseRule, *, score: float = 1.0) -> object:
        """The semantic value of ``tree`` (its root rule's ``out``); raises SemanticError."""
        events, used, has_tags = self._encode(tree)
        if not has_tags and not any(p.header_tags for p in used.values()):
            return default_value(tree)  # no tag at all: SISR default assignment, no script
        state = self._state()
        try:
            for program in used.values():
                version = program.version
                if state.loaded.get(program.index) != version:
                    state.sandbox.define_grammar(program.index, program.literal, program.source())
                    state.loaded[program.index] = version
            result = state.sandbox.run(json.dumps(events, separators=(",", ":")), score)
        except ScriptFailure as failure:
            position = state.sandbox.position()
            self._local.state = None  # a failed context is never reused
            raise self._error(failure, position) from None
        value, clean = json.loads(result)
        if not clean:
            self._local.state = None
        return value

    # --- internals ------------------------------------------------------------------------

    def _state(self) -> _ThreadState:
        state = getattr(self._local, "state", None)
        if state is None:
            state = self._local.state = _ThreadState(self._sandbox_factory(self._limits))
        return state

    def _program(self, key: str, rule: str) -> GrammarProgram:
        program = self._programs.get(key)
        if program is None:
            raise SemanticError(f"rule ${rule} belongs to grammar {key}, which the evaluator "
                                f"was not given", SourceSpan(key, 0, 0), kind="exception")
        return program

    def _encode(self, tree: ParseRule) -> tuple[list, dict[int, GrammarProgram], bool]:
        """The runtime's flat event list (see sisr_runtime.js), grammars used, any tag seen."""
        events: list = []
        used: dict[int, GrammarProgram] = {}
        has_tags = False
        stack: list = [(tree, None, "")]
        while stack:
            node, program, rule = stack.pop()
            if node is _END:
                events.append(-1)
            elif isinstance(node, ParseRule):
                child_program = self._program(node.grammar, node.name)
                used[child_program.index] = child_program
                events.append([child_program.index, node.name])
                stack.append((_END, None, ""))
                for child in reversed(node.children):
                    stack.append((child, child_program, node.name))
            elif isinstance(node, (ParseToken, ParseGarbage)):
                if node.words:
                    events.append(" ".join(node.words))
            elif isinstance(node, ParseTag):
                has_tags = True
                if program.literal:
                    program.require_supported(node.text)
                    events.append([literal_tag_value(node.text)])
                else:
                    events.append(program.case(rule, node.text))
        return events, used, has_tags

    def _error(self, failure: ScriptFailure, position: list | None) -> SemanticError:
        what = {
            "timeout": f"ran longer than the {self._limits.time_s:g} s script time limit",
            "memory": f"used more than the {self._limits.memory_bytes // (1024 * 1024)} MB "
                      "script memory limit",
            "stack": "exceeded the script stack limit (recursion too deep)",
        }.get(failure.kind, f"threw {failure.detail}")
        if not position or not isinstance(position[0], int) or position[0] < 0:
            where = "the result" if position and position[2] == -2 else "the parse tree"
            if position and position[2] == -2 and failure.kind == "exception":
                what = f"could not be converted to JSON: {failure.detail}"
            return SemanticError(f"evaluating {where}: {what}", None, kind=failure.kind)
        program = self._by_index[position[0]]
        rule, k = position[1], position[2]
        text = program.tag_text(rule, k) if k >= 0 else None
        if text is None:
            return SemanticError(f"rule ${rule} of grammar {program.key}: {what}",
                                 program.span(), kind=failure.kind)
        where = f"header tag {describe_tag(text)}" if rule == "" else \
            f"tag {describe_tag(text)} in rule ${rule}"
        return SemanticError(f"{where} of grammar {program.key}: {what}", program.span(text),
                             kind=failure.kind)


def default_value(tree: ParseRule) -> object:
    """SISR default assignment on a tag-free tree: the latest child rule's value, else the text."""
    for child in reversed(tree.children):
        if isinstance(child, ParseRule):
            return default_value(child)
    return " ".join(tree.words)


def literal_tag_value(text: str) -> str:
    """The value of a ``semantics/1.0-literals`` tag: its text, trimmed; a tag written as a quoted
    string (``{"New York"}``, ``<tag>'yes'</tag>``) gives the string inside the quotes."""
    value = text.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        inner = value[1:-1]
        if value[0] == '"':
            try:
                return json.loads(value)
            except ValueError:
                return inner
        return inner
    return value
