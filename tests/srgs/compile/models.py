"""Small grammar models built by hand, and a W3C-notation printer for parse trees."""

from __future__ import annotations

from interpreter.formats import tree_notation
from interpreter.tree import ParseRule
from srgs.bundle import GrammarBundle
from srgs.model import Alternative, Grammar, OneOf, Repeat, Rule, RuleRef, SpecialRef, Tag, Token, one_of, sequence


def tok(text: str) -> Token:
    return Token(text=text)


def tag(text: str) -> Tag:
    return Tag(text=text)


def ref(uri: str) -> RuleRef:
    return RuleRef(uri=uri)


def special(name: str) -> SpecialRef:
    return SpecialRef(name=name)


def seq(*items):
    return sequence(items)


def alts(*items, weights=None):
    weights = weights or [None] * len(items)
    return OneOf(alternatives=tuple(Alternative(expansion=e, weight=w) for e, w in zip(items, weights, strict=True)))


def rep(expansion, low, high, prob=None):
    return Repeat(expansion=expansion, min=low, max=high, prob=prob)


def grammar(*rules: Rule, root: str = "main", mode: str = "voice", uri: str = "test.grxml") -> Grammar:
    return Grammar(root=root, mode=mode, rules=rules, uri=uri)


def rule(name: str, expansion, scope: str = "public") -> Rule:
    return Rule(name=name, scope=scope, expansion=expansion)


def single(expansion, *others: Rule, mode: str = "voice", active=()) -> GrammarBundle:
    """A bundle of one grammar whose root rule ``main`` is ``expansion``."""
    return GrammarBundle.single(grammar(rule("main", expansion), *others, mode=mode), key="test.grxml",
                                active=tuple(active))


def notation(node: ParseRule) -> str:
    """The W3C parse notation of a tree (the result writers' own)."""
    return tree_notation(node)


__all__ = ["alts", "grammar", "notation", "one_of", "ref", "rep", "rule", "seq", "single", "special", "tag", "tok"]
