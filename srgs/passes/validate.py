"""Checks on one grammar that the readers cannot make alone (SRGS §3, §4).

Every problem is reported, each with its position, as a ``GrammarValidationError``; ``validate``
raises them together as ``GrammarErrors``. References into other grammars are checked by the
resolver, which has those grammars at hand, and left recursion by ``srgs.passes.recursion`` over the
whole bundle (a cycle may cross grammars).
"""

from __future__ import annotations

from ..errors import GrammarErrors, GrammarValidationError, SrgsError
from ..model import (
    SPECIAL_NAMES,
    Grammar,
    Rule,
    RuleRef,
    Token,
    iter_expansions,
)
from ..text import DTMF_KEYS


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
            problems.append(GrammarValidationError(f"rule '{rule.name}' is already defined at {first.line}:{first.column}",
                                                   rule.span))
        else:
            seen[rule.name] = rule
    return problems


def _is_dtmf_token(text: str) -> bool:
    keys = "".join(text.split())
    return bool(keys) and all(ch in DTMF_KEYS for ch in keys.upper())
