"""SRGS §4 ABNF writer: ``read_abnf(write_abnf(g)) == g`` for the W3C corpus and hand-built models."""

from __future__ import annotations

import pytest

from srgs.abnf.reader import read_abnf
from srgs.abnf.writer import write_abnf
from srgs.errors import GrammarSyntaxError, SrgsError
from srgs.model import (
    Alternative,
    Grammar,
    Lexicon,
    Meta,
    OneOf,
    Repeat,
    Rule,
    RuleRef,
    Sequence,
    SourceSpan,
    SpecialRef,
    Tag,
    Token,
    one_of,
    sequence,
)
from tests import w3c

CORPUS = w3c.TEST_DIR


def _readable_grams():
    for path in sorted(CORPUS.rglob("*.gram")):
        try:
            read_abnf(path.read_bytes(), str(path))
        except SrgsError:
            continue
        yield path


@pytest.mark.parametrize("path", list(_readable_grams()), ids=lambda p: str(p.relative_to(CORPUS)))
def test_w3c_round_trip(path):
    grammar = read_abnf(path.read_bytes(), str(path))
    text = write_abnf(grammar)
    assert read_abnf(text, "x") == grammar
    assert write_abnf(read_abnf(text, "x")) == text


def round_trip(grammar: Grammar) -> str:
    text = write_abnf(grammar)
    assert read_abnf(text, "x") == grammar, text
    return text


def rule(expansion, name="r", **kwargs) -> Grammar:
    return Grammar(language="en", rules=(Rule(name=name, expansion=expansion, **kwargs),))


a, b, c = Token(text="a"), Token(text="b"), Token(text="c")
ab = Sequence(items=(a, b))
a_or_b = OneOf(alternatives=(Alternative(expansion=a), Alternative(expansion=b)))


def test_full_header():
    grammar = Grammar(
        language="en-GB", mode="voice", root="main", tag_format="semantics/1.0-literals",
        base="http://example.com/dir/", lexicons=(Lexicon(uri="x.pls"), Lexicon(uri="y.pls", media_type="application/pls+xml")),
        metas=(Meta(name="author", content='A "quoted" \\ name\nover two lines'),
               Meta(name="Expires", content="0", http_equiv=True), Meta(name="k", content="v")),
        tags=(Tag(text="var n = 0;"), Tag(text="f({a: 1})")),
        rules=(Rule(name="main", scope="public", expansion=RuleRef(uri="#other"), examples=("one two", "")),
               Rule(name="other", expansion=Token(text="x"), examples=("a b",))),
        metadata="<rdf/>")
    text = round_trip(grammar)
    assert "{!{f({a: 1})}!};" in text and "@example one two" in text
    assert "<rdf/>" not in text


@pytest.mark.parametrize("expansion", [
    a, ab, a_or_b, Sequence(items=()), Sequence(items=(), lang="fr"),
    Token(text="New York"), Token(text='say "hi" \\ now'), Token(text="a*b"), Token(text="x|y"), Token(text="don't"),
    Token(text="oui", lang="fr-CA"), RuleRef(uri="#x", lang="de"),
    RuleRef(uri="g.gram"), RuleRef(uri="http://h/g.grxml#r", media_type="application/srgs+xml"),
    RuleRef(uri="#GARBAGE"), RuleRef(uri="#local", media_type="application/srgs"),
    SpecialRef(name="NULL"), SpecialRef(name="VOID"), SpecialRef(name="GARBAGE"),
    Tag(text="out = 1;"), Tag(text="a } b"), Tag(text="!{x"), Tag(text="ends }"), Tag(text=""),
    OneOf(alternatives=(Alternative(expansion=a, weight=0.1), Alternative(expansion=ab),
                        Alternative(expansion=b, weight=1e-07))),
    OneOf(alternatives=(Alternative(expansion=a, weight=2.0),)),
    OneOf(alternatives=(Alternative(expansion=a, weight=2.0),), lang="fr"),
    OneOf(alternatives=a_or_b.alternatives, lang="fr"),
    Sequence(items=(a,), lang="fr"), Sequence(items=(a_or_b,), lang="fr"), Sequence(items=(a, b), lang="fr"),
    Sequence(items=(Sequence(items=(a, b), lang="en"),), lang="fr"), Sequence(items=(Token(text="a", lang="en"),), lang="fr"),
    Sequence(items=(a, a_or_b, Sequence(items=(), lang="fr"), c)),
    Repeat(expansion=a, min=0, max=1), Repeat(expansion=ab, min=0, max=1, lang="fr"),
    Repeat(expansion=a_or_b, min=2, max=None), Repeat(expansion=ab, min=1, max=5, prob=0.33333333333333331),
    Repeat(expansion=a, min=0, max=1, prob=0.6), Repeat(expansion=Repeat(expansion=a, min=0, max=1), min=3, max=3),
    Repeat(expansion=Token(text="a", lang="fr"), min=2, max=2, lang="en"),
    Repeat(expansion=Sequence(items=(a,), lang="fr"), min=2, max=4),
    Repeat(expansion=Tag(text="t"), min=0, max=0), Repeat(expansion=SpecialRef(name="NULL"), min=4, max=8),
    OneOf(alternatives=(Alternative(expansion=Repeat(expansion=a, min=0, max=1)), Alternative(expansion=Sequence(items=())))),
])
def test_node_round_trip(expansion):
    round_trip(rule(expansion))


def test_canonical_constructors_round_trip():
    nested = sequence([a, sequence([b, one_of([Alternative(expansion=c, weight=3.0), Alternative(expansion=a)])]),
                       one_of([Alternative(expansion=sequence([a, b], lang="it"), weight=1.5)], lang="es")])
    round_trip(rule(nested))


def test_lone_unweighted_alternative_with_language_is_canonically_a_sequence():
    # `(x)!l` and a one-of of one unweighted item with a language are the same canonical model
    lone = one_of([Alternative(expansion=ab)], lang="es")
    assert lone == sequence([ab], lang="es")
    assert read_abnf(write_abnf(rule(lone)), "x").rules[0].expansion == lone


def test_parentheses_are_minimal():
    text = write_abnf(rule(Sequence(items=(a, Repeat(expansion=ab, min=2, max=2), a_or_b))))
    assert "private $r = a (a b)<2> (a | b);" in text
    text = write_abnf(rule(OneOf(alternatives=(Alternative(expansion=ab, weight=2.0), Alternative(expansion=c)))))
    assert "private $r = /2.0/ a b | c;" in text


def test_dtmf_tokens():
    keys = Sequence(items=tuple(Token(text=t) for t in ("1", "*", "#", "star", "pound", "A")))
    grammar = Grammar(mode="dtmf", root="r", rules=(Rule(name="r", scope="public", expansion=keys),))
    text = round_trip(grammar)
    assert '1 "*" "#" "star" "pound" A;' in text


def test_unwritable_tag_is_a_positioned_error():
    span = SourceSpan("g.grxml", 7, 3)
    with pytest.raises(GrammarSyntaxError) as caught:
        write_abnf(rule(Tag(text="x }!} y", span=span)))
    assert caught.value.span == span and "}!}" in caught.value.message


def test_float_weights_and_probs_are_exact():
    weight, prob = 0.1 + 0.2, 1 / 3
    grammar = rule(sequence([one_of([Alternative(expansion=a, weight=weight), Alternative(expansion=b)]),
                             Repeat(expansion=c, min=0, max=3, prob=prob)]))
    result = read_abnf(write_abnf(grammar), "x").rules[0].expansion
    assert result.items[0].alternatives[0].weight == weight and result.items[1].prob == prob


def test_generated_grammar_round_trip():
    rules = []
    for i in range(60):
        alts = [Alternative(expansion=sequence([Token(text=f"w{i}"), RuleRef(uri=f"#r{(i + 1) % 60}"),
                                                Tag(text=f"out.n={i};")]), weight=float(i % 3) or None),
                Alternative(expansion=Repeat(expansion=Token(text=f"x {i}"), min=0, max=i % 4 + 1))]
        rules.append(Rule(name=f"r{i}", scope="public" if i % 2 else "private", expansion=one_of(alts)))
    round_trip(Grammar(language="en", root="r0", rules=tuple(rules)))
