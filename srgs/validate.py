"""Checks on one grammar that the readers cannot make alone (SRGS §3, §4).

Every problem is reported, each with its position, as a ``GrammarValidationError``; ``validate``
raises them together as ``GrammarErrors``. References into other grammars are checked by the
resolver, which has those grammars at hand.
"""

from __future__ import annotations

from .errors import GrammarErrors, GrammarValidationError, SrgsError
from .model import (
    SPECIAL_NAMES,
    Expansion,
    Grammar,
    OneOf,
    Repeat,
    Rule,
    RuleRef,
    Sequence,
    SpecialRef,
    Tag,
    Token,
    iter_expansions,
)
from .text import DTMF_KEYS


def grammar_problems(grammar: Grammar) -> list[SrgsError]:
    """Every SRGS constraint ``grammar`` breaks on its own, in source order."""
    problems: list[SrgsError] = []
    problems += _header_problems(grammar)
    problems += _rule_name_problems(grammar)
    defined = {rule.name for rule in grammar.rules}
    for rule in grammar.rules:
        for node in iter_expansions(rule.expansion):
            if isinstance(node, RuleRef) and node.is_local and node.rule_name not in defined:
                problems.append(GrammarValidationError(f"reference to undefined rule '{node.rule_name}'", node.span))
            elif isinstance(node, Token) and grammar.mode == "dtmf" and not _is_dtmf_token(node.text):
                problems.append(GrammarValidationError(f"'{node.text}' is not a DTMF key (0-9, *, #, A-D)", node.span))
    problems += left_recursion_problems(grammar)
    return problems


def validate(grammar: Grammar) -> Grammar:
    """``grammar`` itself if it is legal, else ``GrammarErrors`` with every problem."""
    problems = grammar_problems(grammar)
    if problems:
        raise GrammarErrors(problems)
    return grammar


def _header_problems(grammar: Grammar) -> list[SrgsError]:
    problems: list[SrgsError] = []
    if grammar.mode == "voice" and not grammar.language:
        problems.append(GrammarValidationError("a voice grammar must declare its language", grammar.span))
    if not grammar.rules:
        problems.append(GrammarValidationError("the grammar defines no rules", grammar.span))
    if grammar.root is not None and grammar.rule(grammar.root) is None:
        problems.append(GrammarValidationError(f"root rule '{grammar.root}' is not defined", grammar.span))
    return problems


def _rule_name_problems(grammar: Grammar) -> list[SrgsError]:
    problems: list[SrgsError] = []
    seen: dict[str, Rule] = {}
    for rule in grammar.rules:
        if rule.name in SPECIAL_NAMES:
            problems.append(GrammarValidationError(f"'{rule.name}' is a special rule name and cannot be defined", rule.span))
        elif rule.name in seen:
            first = seen[rule.name].span
            problems.append(GrammarValidationError(f"rule '{rule.name}' is already defined at {first.line}:{first.column}", rule.span))
        else:
            seen[rule.name] = rule
    return problems


def _is_dtmf_token(text: str) -> bool:
    keys = "".join(text.split())
    return bool(keys) and all(ch in DTMF_KEYS for ch in keys.upper())


# --- left recursion (SRGS §2.2.1 allows recursion, but a left-recursive rule has no finite parse)


def nullable_rules(grammar: Grammar) -> set[str]:
    """Rules that can match without consuming a word (fixed point over local references)."""
    rules = grammar.rule_map
    nullable: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name, rule in rules.items():
            if name not in nullable and _nullable(rule.expansion, nullable):
                nullable.add(name)
                changed = True
    return nullable


def _nullable(node: Expansion, nullable: set[str]) -> bool:
    if isinstance(node, Token):
        return False
    if isinstance(node, (Tag,)):
        return True
    if isinstance(node, SpecialRef):
        return node.name != "VOID"  # NULL is empty; GARBAGE may match no word
    if isinstance(node, RuleRef):
        return node.is_local and node.rule_name in nullable
    if isinstance(node, Sequence):
        return all(_nullable(item, nullable) for item in node.items)
    if isinstance(node, OneOf):
        return any(_nullable(alt.expansion, nullable) for alt in node.alternatives)
    if isinstance(node, Repeat):
        return node.min == 0 or _nullable(node.expansion, nullable)
    return False


def _leading_refs(node: Expansion, nullable: set[str], out: list[RuleRef]) -> None:
    """Local references that can be reached before any word is consumed."""
    if isinstance(node, RuleRef):
        if node.is_local:
            out.append(node)
    elif isinstance(node, Sequence):
        for item in node.items:
            _leading_refs(item, nullable, out)
            if not _nullable(item, nullable):
                break
    elif isinstance(node, OneOf):
        for alt in node.alternatives:
            _leading_refs(alt.expansion, nullable, out)
    elif isinstance(node, Repeat):
        if node.max != 0:
            _leading_refs(node.expansion, nullable, out)


def left_recursion_problems(grammar: Grammar) -> list[SrgsError]:
    """One error per left-recursive cycle, positioned at the reference that closes it."""
    rules = grammar.rule_map
    nullable = nullable_rules(grammar)
    edges: dict[str, list[RuleRef]] = {}
    for name, rule in rules.items():
        refs: list[RuleRef] = []
        _leading_refs(rule.expansion, nullable, refs)
        edges[name] = [ref for ref in refs if ref.rule_name in rules]
    problems: list[SrgsError] = []
    reported: set[frozenset[str]] = set()
    for start in rules:
        cycle = _find_cycle(start, edges)
        if cycle is None:
            continue
        names, closing = cycle
        key = frozenset(names)
        if key in reported:
            continue
        reported.add(key)
        path = " -> ".join(f"${n}" for n in names + [names[0]])
        problems.append(GrammarValidationError(f"left recursion: {path} (a rule reaches itself before any word)", closing.span))
    return problems


def _find_cycle(start: str, edges: dict[str, list[RuleRef]]):
    """A path start -> ... -> start through leading references, or None (iterative DFS)."""
    stack = [(start, iter(edges.get(start, ())), [start])]
    visited = {start}
    while stack:
        name, refs, path = stack[-1]
        ref = next(refs, None)
        if ref is None:
            stack.pop()
            continue
        target = ref.rule_name or ""
        if target == start:
            return path, ref
        if target not in visited:
            visited.add(target)
            stack.append((target, iter(edges.get(target, ())), path + [target]))
    return None
