"""Validation of one grammar: each SRGS constraint reported with its position."""

from __future__ import annotations

import pytest

from srgs.errors import GrammarErrors
from srgs.model import Grammar, Rule, RuleRef, SourceSpan, Token, sequence
from srgs.passes.validate import grammar_problems, validate


def span(line, col=1):
    return SourceSpan("g.gram", line, col)


def grammar(*rules, **header):
    header.setdefault("language", "en-US")
    header.setdefault("root", rules[0].name if rules else None)
    return Grammar(rules=tuple(rules), span=span(1), **header)


def rule(name, expansion, line=5, scope="private"):
    return Rule(name=name, scope=scope, expansion=expansion, span=span(line))


def messages(g):
    return [str(p) for p in grammar_problems(g)]


def test_a_legal_grammar_passes():
    g = grammar(rule("main", sequence([Token(text="hi"), RuleRef(uri="#who")])), rule("who", Token(text="bob")))
    assert validate(g) is g


def test_undefined_local_rule_is_positioned_at_the_reference():
    g = grammar(rule("main", RuleRef(uri="#nobody", span=span(7, 12))))
    assert messages(g) == ["g.gram:7:12: reference to undefined rule 'nobody'"]


def test_duplicate_rule_names_point_at_the_second_definition():
    g = grammar(rule("a", Token(text="x"), line=3), rule("a", Token(text="y"), line=9))
    assert messages(g) == ["g.gram:9:1: rule 'a' is already defined at 3:1"]


def test_special_rule_names_cannot_be_defined():
    g = grammar(rule("main", RuleRef(uri="#GARBAGE")), rule("GARBAGE", Token(text="x"), line=8))
    assert "g.gram:8:1: 'GARBAGE' is a special rule name and cannot be defined" in messages(g)


def test_voice_grammar_needs_a_language_but_dtmf_does_not():
    assert messages(grammar(rule("main", Token(text="x")), language=None)) == [
        "g.gram:1:1: a voice grammar must declare its language"
    ]
    assert messages(grammar(rule("main", Token(text="1")), language=None, mode="dtmf")) == []


def test_root_must_exist_and_rules_must_exist():
    assert messages(grammar(rule("main", Token(text="x")), root="other")) == ["g.gram:1:1: root rule 'other' is not defined"]
    assert messages(Grammar(language="en", span=span(1))) == ["g.gram:1:1: the grammar defines no rules"]


def test_dtmf_tokens_must_be_keys():
    g = grammar(rule("main", sequence([Token(text="1"), Token(text="*"), Token(text="#"), Token(text="x", span=span(6, 4))])),
                mode="dtmf")
    assert messages(g) == ["g.gram:6:4: 'x' is not a DTMF key (0-9, *, #, A-D)"]


def test_validate_raises_every_problem_in_source_order():
    g = grammar(rule("main", sequence([RuleRef(uri="#x", span=span(9)), RuleRef(uri="#y", span=span(4))])), language=None)
    with pytest.raises(GrammarErrors) as info:
        validate(g)
    assert [e.span.line for e in info.value.errors] == [1, 4, 9]
    assert info.value.diagnostics()[1] == "g.gram:4:1: error: reference to undefined rule 'y'"
