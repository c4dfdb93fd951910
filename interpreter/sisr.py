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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from srgs.model import Grammar, SourceSpan, Tag, iter_expansions

from .script import (
    DEFAULT_SCRIPT_LIMITS,
    QuickJsSandbox,
    ScriptFailure,
    ScriptLimits,
    ScriptSandbox,
    SemanticError,
)
from .sisr_program import PYTHON_WORK, Event, GrammarProgram, NotInPython, PythonScope, describe_tag
from .tree import ParseGarbage, ParseRule, ParseTag, ParseToken

if TYPE_CHECKING:
    from srgs.bundle import GrammarBundle

__all__ = ["GrammarSemantics", "SemanticEvaluator", "SemanticError", "ScriptLimits", "tag_problems"]


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
    def from_grammar(cls, grammar: Grammar) -> GrammarSemantics:
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


# One entry of the runtime's event list (see sisr_runtime.js): a rule's start ``[grammar index,
# rule name]``, its end -1, a word string, a tag's event (``Event``), a literal tag's value
# ``[value]``, a rule evaluated here ``[-3, name, value, text]``.
RuntimeEvent = Event | str | list[object]
# The grammars a parse uses: grammar index -> (its program, rule -> the script tags it ran).
Used = dict[int, tuple[GrammarProgram, dict[str, set[int]]]]

_END = object()
_PRIMITIVES = (str, int, float, bool, type(None))
_MAX_FOLD_DEPTH = 200  # deeper parse trees are evaluated by the engine alone (no recursion here)


class _TooDeep(Exception):
    pass


def _tree_shaped(value: object, seen: set[int]) -> bool:
    """Whether no array or object is reached twice from ``value`` (no cycle, no sharing)."""
    items: Iterable[object]
    if value.__class__ is dict:
        items = value.values()
    elif value.__class__ is list:
        items = value
    else:
        return True
    if id(value) in seen:
        return False
    seen.add(id(value))
    for item in items:
        kind = item.__class__
        if (kind is dict or kind is list) and not _tree_shaped(item, seen):
            return False
    return True


class _Fold:
    """One evaluation's state in ``SemanticEvaluator._fold``."""

    __slots__ = ("root", "events", "used", "headers", "budget")

    def __init__(self, root: GrammarProgram, record: bool = True):
        self.root = root
        self.budget = [PYTHON_WORK]
        self.events: list[RuntimeEvent] | None = [] if record else None
        self.used: Used = {}
        self.headers: list[GrammarProgram] = []


_EVENTS_JSON = json.JSONEncoder(separators=(",", ":"))  # json.dumps(events, separators=...)


class SemanticEvaluator:
    """Evaluates parse trees of a set of grammars (a root and what it references); thread-safe.

    Each thread gets its own sandbox (one QuickJS context), made on its first evaluation; the
    grammars' tag tables are shared, in Python (``sisr_program.GrammarProgram``).
    """

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
            for rule, texts in semantics.rule_tags:
                for text in texts:
                    program.check(rule, text)
            if semantics.rule_tags:
                program.keep_script_spans()  # every tag is known: only script tags can fail now
        self._local = threading.local()
        self._engine_last = False  # whether the last parse needed the engine (a hint for speed)

    def evaluate(self, tree: ParseRule, *, score: float = 1.0) -> object:
        """The semantic value of ``tree`` (its root rule's ``out``); raises SemanticError.

        Tags Python can evaluate exactly as the engine would are evaluated here: ``out = "x";``
        and other primitives, and the statements of ``sisr_program.python_tag`` (``out.NAME =``,
        arrays, ``concat``, ``push``, ``||``, ``rules.NAME``, ``rules.latest()``,
        ``meta.current().text``, header lookup tables), default assignment included, and
        ``semantics/1.0-literals`` tags. A parse made only of such rules needs no script engine
        at all, provided every grammar it uses with header tags has a header Python can make
        (``var NAME = <literal>;``). Otherwise the parse goes to the engine, each rule below the
        root evaluated here to a primitive as one event carrying its value and text (unless
        ``_fold`` says it is pinned to the engine).
        """
        root = self._program(tree.grammar, tree.name)
        record = self._engine_last  # events are written on the way when the engine looks likely
        fold = _Fold(root, record)
        try:
            ok, value, _, _ = self._fold(tree, root, fold, 0)
        except _TooDeep:
            return self.evaluate_in_engine(tree, score=score)  # its walk is iterative: no depth limit
        if ok and all(program.python_header is not None for program in fold.headers):
            if value.__class__ in _PRIMITIVES or _tree_shaped(value, set()):
                self._engine_last = False
                return value  # made by this evaluation, no part of it shared: the caller's own
            try:
                value = json.loads(_EVENTS_JSON.encode(value))  # unshared copies, as from the engine
                self._engine_last = False
                return value
            except ValueError:
                pass  # a circular value: the engine says how it fails
        self._engine_last = True
        if not record:
            fold = _Fold(root, True)
            self._fold(tree, root, fold, 0)
        assert fold.events is not None  # a recording fold (record=True) always has its list
        return self._run(fold.events, fold.used, score)

    def evaluate_in_engine(self, tree: ParseRule, *, score: float = 1.0) -> object:
        """``evaluate`` with every rule run by the script engine (the general path, which the
        tests compare the Python evaluation with)."""
        events, used = self._encode(tree)
        return self._run(events, used, score)

    def _run(self, events: list[RuntimeEvent], used: Used, score: float) -> object:
        sandbox = self._sandbox()
        try:
            for program, cases in used.values():
                key, source = program.program(cases)
                sandbox.define_grammar(program.index, program.literal, key, source)
            result = sandbox.run(_EVENTS_JSON.encode(events), score)
        except ScriptFailure as failure:
            position = sandbox.position()
            self._local.sandbox = None  # a failed context is never reused
            raise self._error(failure, position) from None
        value, clean = json.loads(result)
        if not clean:
            self._local.sandbox = None
        return value

    # --- internals ------------------------------------------------------------------------

    def _sandbox(self) -> ScriptSandbox:
        sandbox = getattr(self._local, "sandbox", None)
        if sandbox is None:
            sandbox = self._local.sandbox = self._sandbox_factory(self._limits)
        return sandbox

    def _program(self, key: str, rule: str) -> GrammarProgram:
        program = self._programs.get(key)
        if program is None:
            raise SemanticError(f"rule ${rule} belongs to grammar {key}, which the evaluator "
                                f"was not given", SourceSpan(key, 0, 0), kind="exception")
        return program

    def _fold(self, node: ParseRule, program: GrammarProgram, fold: _Fold,
              depth: int) -> tuple[bool, object, str, bool]:
        """One rule, as the runtime's ``evaluateRule`` would give it: ``(evaluated here, value,
        text, pinned)``, the rule's events appended to ``fold.events``. ``pinned``: the engine
        must run this rule if it runs the parse (a grammar with header tags other than the
        root's is in it, whose header must run when its first rule does, or a header variable
        was read, which the engine's tags may have changed); an unpinned rule evaluated here
        whose value is a primitive is one ``[-3, ...]`` event. Tags are registered, and their
        problems raised, in the order ``_encode`` meets them (the tree's order)."""
        if program.script_header:
            if program not in fold.headers:
                fold.headers.append(program)
            pinned = program is not fold.root
        else:
            pinned = False
        name = node.name
        literal = program.literal
        events = fold.events  # None: not written (Python is expected to evaluate the whole parse)
        if events is not None:
            mark = len(events)
            events.append([program.index, name])
        ok = True
        scope = PythonScope(program, fold.budget)
        parts = scope.parts
        cases: list[int] | None = None
        programs = self._programs
        plans = program._plans.get(name)
        for child in node.children:  # node kinds told apart by ``type(child) is``: cheaper than isinstance
            if type(child) is ParseToken or type(child) is ParseGarbage:
                if child.words:
                    text = " ".join(child.words)
                    parts.append(text)
                    if events is not None:
                        events.append(text)
            elif type(child) is ParseTag:
                if literal:
                    scope.out = literal_tag_value(child.text)
                    if events is not None:
                        events.append([scope.out])
                    continue
                plan = plans.get(child.text) if plans is not None else None
                if plan is None or plan[2] != program.version:
                    plan = program.plan(name, child.text)
                    plans = program._plans.get(name)
                event = plan[0]
                if events is not None:
                    events.append(event)
                if isinstance(event, tuple):
                    scope.out = event[1]
                    continue
                if cases is None:
                    cases = [event]
                else:
                    cases.append(event)
                if ok:
                    if plan[1] is None:
                        ok = False  # script: the engine runs it
                    else:
                        try:
                            plan[1](scope)
                        except NotInPython:
                            ok = False
            else:  # a ParseRule (the node classes are final)
                if depth >= _MAX_FOLD_DEPTH:
                    raise _TooDeep
                child_program = programs.get(child.grammar) or self._program(child.grammar, child.name)
                child_ok, value, text, child_pinned = self._fold(child, child_program, fold, depth + 1)
                scope.has_child = True
                pinned = pinned or child_pinned
                if child_ok:
                    scope.latest = value
                    if scope.defined is None:
                        scope.defined = {}
                    scope.defined[child.name] = value
                else:
                    ok = False
                if text:
                    parts.append(text)
        text = " ".join(parts)
        pinned = pinned or scope.used_header
        if ok:
            out = scope.out
            if literal:
                if out is scope.initial:
                    out = scope.latest if scope.has_child else text
            elif out is scope.initial and not scope.initial:  # untouched: default assignment
                out = scope.latest if scope.has_child else text
            if events is None:
                return True, out, text, pinned
            if depth and not pinned and out.__class__ in _PRIMITIVES:
                del events[mark:]
                events.append([-3, name, out, text])
                return True, out, text, False
        else:
            out = None
            if events is None:
                return False, None, text, pinned
        events.append(-1)
        used = fold.used.get(program.index)
        if used is None:
            used = fold.used[program.index] = (program, {})
        if cases is not None:
            ks = used[1].get(name)
            if ks is None:
                used[1][name] = set(cases)
            else:
                ks.update(cases)
        return ok, out, text, pinned

    def _encode(self, tree: ParseRule) -> tuple[list[RuntimeEvent], Used]:
        """The runtime's flat event list (see sisr_runtime.js) for the whole tree and the
        grammars used with the script tags each rule ran (rule -> case numbers)."""
        events: list[RuntimeEvent] = []
        used: Used = {}
        # (node or _END, the program, rule and case numbers of the rule the node is in: None
        # for the root and for _END)
        stack: list[tuple[object, GrammarProgram | None, str, dict[str, set[int]] | None]] = [(tree, None, "", None)]
        while stack:
            node, program, rule, cases = stack.pop()
            if node is _END:
                events.append(-1)
            elif isinstance(node, ParseRule):
                child_program = self._program(node.grammar, node.name)
                child = used.get(child_program.index)
                if child is None:
                    child = used[child_program.index] = (child_program, {})
                events.append([child_program.index, node.name])
                stack.append((_END, None, "", None))
                for item in reversed(node.children):
                    stack.append((item, child_program, node.name, child[1]))
            elif isinstance(node, (ParseToken, ParseGarbage)):
                if node.words:
                    events.append(" ".join(node.words))
            elif isinstance(node, ParseTag):
                assert program is not None and cases is not None  # a tag is always inside a rule
                if program.literal:
                    program.require_supported(node.text)
                    events.append([literal_tag_value(node.text)])
                else:
                    event = program.event(rule, node.text)
                    events.append(event)
                    if event.__class__ is int:
                        ks = cases.get(rule)
                        if ks is None:
                            ks = cases[rule] = set()
                        ks.add(event)
        return events, used

    def _error(self, failure: ScriptFailure, position: list[Any] | None) -> SemanticError:
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


def tag_problems(bundle: GrammarBundle, *, limits: ScriptLimits = DEFAULT_SCRIPT_LIMITS) -> list[SemanticError]:
    """Every tag that loading ``bundle`` for interpretation would refuse, in every grammar of the
    bundle, in source order: script syntax errors in header and rule tags (each occurrence, with
    its ``FILE:LINE:COL``) and tags of an unsupported tag-format (once per grammar). Nothing is
    evaluated: a tag is only parsed, behind a ``throw``. Literal-format tags are never script."""
    problems: list[SemanticError] = []
    for key, grammar in bundle.grammars.items():
        problems.extend(_grammar_tag_problems(key, grammar, limits))
    return problems


def _grammar_tag_problems(key: str, grammar: Grammar, limits: ScriptLimits) -> list[SemanticError]:
    tags: list[tuple[str | None, Tag]] = [(None, tag) for tag in grammar.tags]
    for rule in grammar.rules:
        tags.extend((rule.name, node) for node in iter_expansions(rule.expansion) if isinstance(node, Tag))
    if not tags:
        return []
    program = GrammarProgram(0, key, grammar.tag_format, (), {}, limits)
    if not program.supported:
        return [program.unsupported(tags[0][1].text, tags[0][1].span)]
    found = (program.problem(tag.text, rule, tag.span) for rule, tag in tags)
    return [problem for problem in found if problem is not None]


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
                decoded: str = json.loads(value)  # valid JSON in double quotes is one string
                return decoded
            except ValueError:
                return inner
        return inner
    return value
