"""The SRGS XML writer: ``read_xml(write_xml(g)) == g`` for the W3C corpus and built models."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from lxml import etree

from srgs.errors import GrammarSyntaxError
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
    SpecialRef,
    Tag,
    Token,
)
from srgs.xml.reader import GRAMMAR_NS, read_xml
from srgs.xml.writer import write_xml
from tests.srgs.strategies import grammars
from tests.w3c import TEST_DIR

ILLEGAL = {"no-namespace.grxml", "no-version.grxml", "rule-no-empty.grxml"}
XML_FILES = sorted(p.relative_to(TEST_DIR).as_posix() for p in TEST_DIR.rglob("*.grxml") if p.name not in ILLEGAL)


def round_trip(grammar: Grammar) -> Grammar:
    text = write_xml(grammar)
    again = read_xml(text.encode("utf-8"), "written.grxml")
    assert again == grammar, text
    return again


def one_rule(expansion, **grammar_fields) -> Grammar:
    return Grammar(language="en-US", root="main", rules=(Rule(name="main", scope="public", expansion=expansion),),
                   **grammar_fields)


@pytest.mark.parametrize("name", XML_FILES)
def test_w3c_grammars_round_trip(name):
    grammar = read_xml((TEST_DIR / name).read_bytes(), name)
    again = round_trip(grammar)
    assert again.metadata == grammar.metadata


def test_output_is_a_grammar_document():
    text = write_xml(one_rule(Token(text="hello")))
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n'
                           '<grammar xmlns="http://www.w3.org/2001/06/grammar" version="1.0"')
    root = etree.fromstring(text.encode())
    assert root.tag == f"{{{GRAMMAR_NS}}}grammar" and root.get("root") == "main"
    assert text.endswith("</grammar>\n")


def test_every_node_type_with_languages_weights_and_probabilities():
    expansion = Sequence(items=(
        Token(text="hello"),
        Token(text="new york"),
        Token(text="bonjour", lang="fr-FR"),
        Token(text='say "cheese"'),
        RuleRef(uri="#other"),
        RuleRef(uri="http://example.com/g.grxml#r", media_type="application/srgs+xml", lang="de"),
        RuleRef(uri="other.grxml"),
        SpecialRef(name="NULL"),
        SpecialRef(name="VOID"),
        SpecialRef(name="GARBAGE"),
        Tag(text="out.x = 'a' < \"b\" && c; ]]> \r\n\t end "),
        Tag(text=""),
        Sequence(items=(Token(text="oui"),), lang="fr"),
        Sequence(items=(), lang="fr"),
        Repeat(expansion=Sequence(items=(Token(text="a"), Token(text="b"))), min=2, max=2),
        Repeat(expansion=Token(text="c"), min=0, max=1, prob=0.1),
        Repeat(expansion=Sequence(items=(Token(text="d"),), lang="it"), min=1, max=None, prob=1e-05, lang="es"),
        Repeat(expansion=Sequence(items=()), min=0, max=3),
        Repeat(expansion=Repeat(expansion=Token(text="e"), min=1, max=2), min=3, max=4),
        OneOf(alternatives=(
            Alternative(expansion=Token(text="x"), weight=0.1),
            Alternative(expansion=Sequence(items=(Token(text="y"), Token(text="z"))), weight=1 / 3),
            Alternative(expansion=Sequence(items=(Token(text="w"),), lang="pl"), weight=1e16),
            Alternative(expansion=Repeat(expansion=Token(text="v"), min=0, max=None, prob=0.5, lang="cs"), weight=2.0),
            Alternative(expansion=Sequence(items=())),
            Alternative(expansion=OneOf(alternatives=(Alternative(expansion=Token(text="u")),
                                                      Alternative(expansion=Token(text="t"))), lang="sv")),
        ), lang="nl"),
        OneOf(alternatives=(Alternative(expansion=Token(text="solo"), weight=3.0),)),
    ))
    round_trip(one_rule(expansion))


@pytest.mark.parametrize(
    "expansion",
    [
        Token(text="alone"),
        Sequence(items=()),
        Sequence(items=(), lang="fr"),
        Tag(text="only a tag"),
        Repeat(expansion=Sequence(items=()), min=1, max=1),
        OneOf(alternatives=(Alternative(expansion=Token(text="a")), Alternative(expansion=Token(text="b")))),
    ],
)
def test_rule_expansions_of_every_shape(expansion):
    round_trip(one_rule(expansion))


def test_header_and_rules():
    grammar = Grammar(
        version="1.0",
        language="fr-CA",
        mode="voice",
        root="main",
        tag_format="semantics/1.0",
        base="http://example.com/grammars/?a=1&b=2",
        lexicons=(Lexicon(uri="a.pls"), Lexicon(uri="http://example.com/b.pls", media_type="application/pls+xml")),
        metas=(Meta(name="author", content='it\'s "quoted" <here> & \n\tthere'),
               Meta(name="Expires", content="0", http_equiv=True)),
        tags=(Tag(text="var count = 0;"), Tag(text="x < y")),
        rules=(
            Rule(name="main", scope="public", expansion=RuleRef(uri="#helper"), examples=("one two", "", 'a "b"')),
            Rule(name="helper", expansion=Token(text="two")),
            Rule(name="helper", scope="private", expansion=Token(text="duplicate kept")),
        ),
    )
    round_trip(grammar)


def test_dtmf_mode_keeps_star_and_pound_tokens():
    tokens = (Token(text="*"), Token(text="#"), Token(text="star"), Token(text="pound"), Token(text="1"))
    grammar = one_rule(Sequence(items=tokens), mode="dtmf")
    text = write_xml(grammar)
    assert "<token>star</token>" in text and 'mode="dtmf"' in text
    round_trip(grammar)


def test_repeat_of_a_sequence_is_one_item():
    text = write_xml(one_rule(Repeat(expansion=Sequence(items=(Token(text="a"), Token(text="b"))), min=2, max=2)))
    assert '<item repeat="2">' in text and text.count("<item") == 1


@pytest.mark.parametrize("number, written", [(0.5, "0.5"), (2.0, "2.0"), (1e-05, "0.00001"), (1e16, "10000000000000000.0")])
def test_numbers_are_exact_decimals_without_exponent(number, written):
    grammar = one_rule(OneOf(alternatives=(Alternative(expansion=Token(text="a"), weight=number),
                                           Alternative(expansion=Token(text="b")))))
    assert f'weight="{written}"' in write_xml(grammar)
    round_trip(grammar)


def test_metadata_is_written_verbatim():
    metadata = '\n    <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description about="x"/></rdf:RDF>\n  '
    grammar = Grammar(metadata=metadata, rules=(Rule(name="r", expansion=Token(text="a")),))
    text = write_xml(grammar)
    assert f"<metadata>{metadata}</metadata>" in text
    assert read_xml(text.encode(), "m").metadata == metadata


def test_unrepresentable_model_is_refused_on_reading_back():
    empty_one_of = one_rule(OneOf(alternatives=()))
    with pytest.raises(GrammarSyntaxError, match="at least one <item>"):
        read_xml(write_xml(empty_one_of).encode(), "bad")


@settings(max_examples=60, deadline=None)
@given(grammars())
def test_generated_grammars_round_trip(grammar):
    round_trip(grammar)
