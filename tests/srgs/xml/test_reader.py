"""The SRGS XML reader: the W3C corpus, positions of errors, hostile input, encodings."""

from __future__ import annotations

import codecs
import time

import pytest

from srgs.errors import GrammarSyntaxError, InputLimitError
from srgs.limits import Limits
from srgs.model import (
    Alternative,
    Grammar,
    Lexicon,
    Meta,
    OneOf,
    Repeat,
    RuleRef,
    Sequence,
    SpecialRef,
    Tag,
    Token,
    iter_expansions,
)
from srgs.xml.reader import read_xml
from tests.w3c import TEST_DIR

XML_FILES = sorted(path.relative_to(TEST_DIR).as_posix() for path in TEST_DIR.rglob("*.grxml"))
ILLEGAL = {"no-namespace.grxml": (19, 1), "no-version.grxml": (19, 1), "rule-no-empty.grxml": (33, 3)}
HEAD = '<?xml version="1.0"?>\n<grammar xmlns="http://www.w3.org/2001/06/grammar" version="1.0" root="a">\n'


def read_corpus(name: str) -> Grammar:
    return read_xml((TEST_DIR / name).read_bytes(), name)


def read_rules(body: str, *, head: str = HEAD) -> Grammar:
    return read_xml((head + body + "\n</grammar>\n").encode(), "t.grxml")


def first_expansion(body: str):
    return read_rules(body).rules[0].expansion


def words(*texts: str) -> Sequence:
    return Sequence(items=tuple(Token(text=text) for text in texts))


# --- the W3C corpus ---------------------------------------------------------------------------


def test_corpus_is_complete():
    assert len(XML_FILES) == 117 and "test/test.grxml" in XML_FILES


@pytest.mark.parametrize("name", [name for name in XML_FILES if name not in ILLEGAL])
def test_every_legal_w3c_grammar_reads(name):
    grammar = read_corpus(name)
    assert grammar.version == "1.0" and grammar.uri == name
    for rule in grammar.rules:
        assert rule.span.line > 0 and rule.span.column > 0
        for node in iter_expansions(rule.expansion):
            assert node.span.line > 0 and node.span.column > 0, node


@pytest.mark.parametrize("name", sorted(ILLEGAL))
def test_illegal_w3c_grammars_raise_a_positioned_error(name):
    with pytest.raises(GrammarSyntaxError) as caught:
        read_corpus(name)
    span = caught.value.span
    assert (span.source, span.line, span.column) == (name, *ILLEGAL[name])
    assert str(caught.value).startswith(f"{name}:{span.line}:{span.column}: ")


def test_quoted_tokens_are_single_tokens():
    alternatives = read_corpus("token-quoted.grxml").rules[0].expansion.alternatives
    assert [alt.expansion for alt in alternatives] == [Token(text="San Francisco"), Token(text="New York"),
                                                       Token(text="Saint Petersburg")]


def test_empty_item_is_an_empty_sequence():
    grammar = read_corpus("rule-empty-item.grxml")
    assert grammar.rule("x").expansion == Sequence(items=())
    assert read_corpus("sequence-item-whitespace.grxml").rule("main").expansion == words("phone", "home")


def test_dtmf_key_names_read_as_keys():
    grammar = read_xml(b'<grammar xmlns="http://www.w3.org/2001/06/grammar" version="1.0" mode="dtmf">'
                       b'<rule id="k">star pound 1 "star" <token>pound</token></rule></grammar>', "d")
    assert grammar.rules[0].expansion == words("*", "#", "1", "star", "pound")
    assert read_corpus("dtmf-pound-star.grxml").rule("dtmfkey").expansion == words("*", "#")
    voice = read_rules('<rule id="a">star pound</rule>')
    assert voice.rules[0].expansion == words("star", "pound")


def test_languages_on_item_one_of_token_and_ruleref():
    assert read_corpus("lang-sequence.grxml").rule("main").expansion.items[3] == Sequence(
        items=(Token(text="André"), Token(text="Dubois")), lang="fr-CA"
    )
    expansion = first_expansion(
        '<rule id="a"><one-of xml:lang="fr"><item>oui</item><item xml:lang="de">ja</item></one-of>'
        '<token xml:lang="en">yes</token><ruleref uri="#b" xml:lang="it"/><item repeat="2" xml:lang="es">si</item></rule>'
    )
    assert expansion == Sequence(items=(
        OneOf(alternatives=(Alternative(expansion=Token(text="oui")),
                            Alternative(expansion=Sequence(items=(Token(text="ja"),), lang="de"))), lang="fr"),
        Token(text="yes", lang="en"),
        RuleRef(uri="#b", lang="it"),
        Repeat(expansion=Token(text="si"), min=2, max=2, lang="es"),
    ))
    for name in ("xml_lang-item-single-lang.grxml", "xml_lang-one-of-single-lang.grxml", "xml_lang-token-single-lang.grxml"):
        assert read_corpus(name).language


@pytest.mark.parametrize(
    "repeat, bounds",
    [("3", (3, 3)), ("0-1", (0, 1)), ("2-5", (2, 5)), ("1-", (1, None)), (" 0- ", (0, None)), ("0", (0, 0))],
)
def test_repeat_bounds(repeat, bounds):
    expansion = first_expansion(f'<rule id="a"><item repeat="{repeat}">x y</item></rule>')
    assert expansion == Repeat(expansion=words("x", "y"), min=bounds[0], max=bounds[1])


def test_repeat_probabilities_and_weights():
    main = read_corpus("repeat-with-probs.grxml").rule("main").expansion
    assert [(item.min, item.max, item.prob) for item in main.items] == [(0, 1, 0.6), (2, 5, 0.8)]
    weights = [alt.weight for alt in read_corpus("alternatives-some-weights.grxml").rule("main").expansion.alternatives]
    assert weights == [10.0, 5.0, 2.0, None, None, 0.5, 0.5]
    repeated = first_expansion('<rule id="a"><one-of><item weight=".5" repeat="1-">a</item>'
                               '<item weight="3.">b</item></one-of></rule>')
    assert repeated.alternatives == (
        Alternative(expansion=Repeat(expansion=Token(text="a"), min=1, max=None), weight=0.5),
        Alternative(expansion=Token(text="b"), weight=3.0),
    )


def test_canonical_forms():
    assert first_expansion('<rule id="a"><one-of><item>a</item></one-of></rule>') == Token(text="a")
    assert first_expansion('<rule id="a"><item><item>a b</item> c</item></rule>') == words("a", "b", "c")
    assert first_expansion('<rule id="a"><one-of><item weight="2">a</item></one-of></rule>') == OneOf(
        alternatives=(Alternative(expansion=Token(text="a"), weight=2.0),)
    )


def test_tags_keep_their_text_exactly():
    grammar = read_rules(
        '<tag>var x = 1;</tag>\n<rule id="a">a<tag><![CDATA[out = a < b && "}";]]></tag>'
        "<tag>  spaced\n  out </tag><tag/></rule>"
    )
    assert grammar.tags == (Tag(text="var x = 1;"),)
    assert grammar.rules[0].expansion.items[1:] == (Tag(text='out = a < b && "}";'), Tag(text="  spaced\n  out "), Tag(text=""))
    tag_only = read_corpus("tag-standalone.grxml").rule("tagonly")
    assert tag_only.expansion == Tag(text="only tag content in this rule")


def test_header_declarations():
    grammar = read_xml(
        b'<grammar xmlns="http://www.w3.org/2001/06/grammar" version="1.0" xml:lang="fr-CA" mode="voice" root="r"'
        b' tag-format="semantics/1.0" xml:base="http://example.com/g/">'
        b'<lexicon uri="a.pls"/><lexicon uri="b.pls" type="application/pls+xml"/>'
        b'<meta name="author" content="me"/><meta http-equiv="Expires" content="0"/>'
        b'<tag>var x;</tag><rule id="r" scope="public"><example> one \n two </example>x</rule></grammar>',
        "h",
    )
    assert (grammar.language, grammar.mode, grammar.root, grammar.tag_format, grammar.base) == (
        "fr-CA", "voice", "r", "semantics/1.0", "http://example.com/g/")
    assert grammar.lexicons == (Lexicon(uri="a.pls"), Lexicon(uri="b.pls", media_type="application/pls+xml"))
    assert grammar.metas == (Meta(name="author", content="me"), Meta(name="Expires", content="0", http_equiv=True))
    assert grammar.rules[0].scope == "public" and grammar.rules[0].examples == ("one two",)
    assert read_corpus("meta-http.grxml").metas and read_corpus("lexicon-many.grxml").lexicons
    assert [r.name for r in read_corpus("duplicated-rulenames.grxml").rules].count("main") >= 1


def test_special_and_external_rulerefs():
    expansion = first_expansion(
        '<rule id="a"><ruleref special="NULL"/><ruleref special="VOID"/><ruleref special="GARBAGE"/>'
        '<ruleref uri="g.grxml#r" type="application/srgs+xml"/></rule>'
    )
    assert expansion.items == (SpecialRef(name="NULL"), SpecialRef(name="VOID"), SpecialRef(name="GARBAGE"),
                               RuleRef(uri="g.grxml#r", media_type="application/srgs+xml"))


def test_metadata_is_kept_as_self_contained_xml():
    metadata = read_corpus("rdf-metadata.grxml").metadata
    assert "<rdf:Description" in metadata and 'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"' in metadata
    assert "xmlns:xsi" not in metadata


def test_foreign_elements_and_attributes_are_ignored():
    assert read_corpus("conformance-5.grxml").rule("main").expansion == Token(text="test")


def test_comments_and_processing_instructions_are_ignored():
    assert first_expansion('<rule id="a">a <!-- b --> c<?pi x?> <item>d<!--e--></item></rule>') == words("a", "c", "d")


# --- encodings ------------------------------------------------------------------------------


def test_utf16_files_read_like_the_utf8_one():
    utf8 = read_corpus("korean-yesno-utf8.grxml")
    for name in ("korean-yesno-utf16-le.grxml", "korean-yesno-utf16-be.grxml"):
        assert read_corpus(name).rules == utf8.rules


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16-le", "utf-16-be", "iso-8859-1"])
def test_encodings_and_positions(encoding):
    declared = {"utf-8-sig": "UTF-8", "utf-16-le": "UTF-16", "utf-16-be": "UTF-16"}.get(encoding, encoding)
    text = (f'<?xml version="1.0" encoding="{declared}"?>\n<grammar xmlns="http://www.w3.org/2001/06/grammar" version="1.0">\n'
            '<rule id="a">\xe5r <item repeat="x">b</item></rule></grammar>')
    bom = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE}.get(encoding, b"")
    data = bom + text.encode(encoding)
    with pytest.raises(GrammarSyntaxError) as caught:
        read_xml(data, "e")
    assert (caught.value.span.line, caught.value.span.column) == (3, 17)
    plain = encoding.replace("-sig", "")
    fixed = read_xml(data.replace('"x"'.encode(plain), '"2"'.encode(plain)), "e")
    assert fixed.rules[0].expansion.items[0] == Token(text="\xe5r")


def test_swedish_latin1_grammar():
    tokens = {node.text for rule in read_corpus("example-5-swedish-boolean.grxml").rules
              for node in iter_expansions(rule.expansion) if isinstance(node, Token)}
    assert any(not text.isascii() for text in tokens)


# --- positions ----------------------------------------------------------------------------------


def test_element_and_token_spans_have_columns():
    grammar = read_rules('<rule id="a">\n  hello  "new\n york" <item\n   repeat="2">x</item>'
                         ' <one-of><item>y</item><item>z</item></one-of>\n</rule>')
    hello, new_york, repeat, one_of = grammar.rules[0].expansion.items
    assert (grammar.rules[0].span.line, grammar.rules[0].span.column) == (3, 1)
    assert (hello.span.line, hello.span.column) == (4, 3)
    assert (new_york.span.line, new_york.span.column) == (4, 10)
    assert (repeat.span.line, repeat.span.column) == (5, 8)
    assert (repeat.expansion.span.line, repeat.expansion.span.column) == (6, 15)
    assert (one_of.span.line, one_of.span.column) == (6, 24)
    assert [(alt.span.column, alt.expansion.span.column) for alt in one_of.alternatives] == [(32, 38), (46, 52)]


def test_a_comment_holding_a_start_tag_does_not_shift_positions():
    expansion = first_expansion('<rule id="a"><!-- <item> --><item>a</item><item repeat="2">b</item></rule>')
    assert expansion.items[1].span.column == len('<rule id="a"><!-- <item> --><item>a</item>') + 1


@pytest.mark.parametrize(
    "body, line, column, message",
    [
        ('<rule id="a">x <item repeat="3-1">y</item></rule>', 3, 16, 'bad repeat "3-1"'),
        ('<rule id="a">x <item repeat="-1">y</item></rule>', 3, 16, 'bad repeat "-1"'),
        ('<rule id="a">x\n  <item repeat="a">y</item></rule>', 4, 3, 'bad repeat "a"'),
        ('<rule id="a"><one-of><item weight="0">a</item></one-of></rule>', 3, 22, 'weight "0" must be a positive'),
        ('<rule id="a"><one-of><item weight="-1">a</item></one-of></rule>', 3, 22, 'bad weight "-1"'),
        ('<rule id="a"><one-of><item weight="1e3">a</item></one-of></rule>', 3, 22, 'bad weight "1e3"'),
        ('<rule id="a"><item repeat-prob="0.5">a</item></rule>', 3, 14, "repeat-prob needs a repeat"),
        ('<rule id="a"><item repeat="2" repeat-prob="1.5">a</item></rule>', 3, 14, "outside [0, 1]"),
        ('<rule id="a"><foo/></rule>', 3, 14, "<foo> is not allowed here"),
        ('<rule id="a">a "b c</rule>', 3, 14, "unterminated quoted token"),
        ('<rule id="a">a "  " c</rule>', 3, 14, "empty quoted token"),
        ('<rule id="a"><one-of> x <item>a</item></one-of></rule>', 3, 23, "outside an <item>"),
        ('<rule id="a"><one-of><token>a</token></one-of></rule>', 3, 22, "holds <item>s only"),
        ('<rule id="a"><one-of/></rule>', 3, 14, "at least one <item>"),
        ('<rule id="a">a</rule><meta name="x" content="y"/>', 3, 22, "before the first <rule>"),
        ('<rule id="a">a</b>', 3, 19, "malformed XML"),
        ('<rule id="a" bogus="1">a</rule>', 3, 1, "no attribute 'bogus'"),
        ('<rule>a</rule>', 3, 1, "needs an id"),
        ('<rule id="a" scope="global">a</rule>', 3, 1, 'bad scope "global"'),
        ('<rule id="a">\n  <example>x</example>\n</rule>', 3, 1, 'empty rule "a"'),
        ('<rule id="a">a <example>x</example></rule>', 3, 16, "<example> must come before"),
        ('<rule id="a"><ruleref/></rule>', 3, 14, "exactly one of uri and special"),
        ('<rule id="a"><ruleref uri="#b" special="NULL"/></rule>', 3, 14, "exactly one of uri and special"),
        ('<rule id="a"><ruleref special="EMPTY"/></rule>', 3, 14, 'bad special rule "EMPTY"'),
        ('<rule id="a"><token> </token></rule>', 3, 14, "empty <token>"),
        ('<rule id="a"><tag><item/></tag></rule>', 3, 19, "holds text only"),
        ('<meta content="x"/>', 3, 1, "exactly one of name and http-equiv"),
        ('<meta name="x"/>', 3, 1, "needs a content"),
        ('<lexicon/>', 3, 1, "needs a uri"),
        ('<example>x</example>', 3, 1, "<example> is not allowed in <grammar>"),
        ('loose words', 3, 1, "'loose words' is not allowed in <grammar>"),
    ],
)
def test_errors_are_positioned(body, line, column, message):
    with pytest.raises(GrammarSyntaxError) as caught:
        read_rules(body)
    error = caught.value
    assert message in error.message
    assert (error.span.source, error.span.line, error.span.column) == ("t.grxml", line, column)


@pytest.mark.parametrize(
    "head, message",
    [
        ('<grammar version="1.0">', "must be in the namespace"),
        ('<grammar xmlns="http://www.w3.org/2001/06/grammar">', "needs a version"),
        ('<grammar xmlns="http://www.w3.org/2001/06/grammar" version="2.0">', 'version "2.0"'),
        ('<grammar xmlns="http://www.w3.org/2001/06/grammar" version="1.0" mode="touch">', 'bad mode "touch"'),
        ('<grmmar xmlns="http://www.w3.org/2001/06/grammar" version="1.0">', "must be <grammar>"),
    ],
)
def test_grammar_element_errors(head, message):
    end = "</grmmar>" if head.startswith("<grmmar") else "</grammar>"
    with pytest.raises(GrammarSyntaxError) as caught:
        read_xml(f'<?xml version="1.0"?>\n{head}<rule id="a">a</rule>{end}'.encode(), "g")
    assert message in caught.value.message and (caught.value.span.line, caught.value.span.column) == (2, 1)


# --- hostile input ----------------------------------------------------------------------------

BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE grammar [\n <!ENTITY lol "lol">\n'
    + "".join(f' <!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 1 else "")) * 10}">\n' for i in range(1, 10))
    + ']>\n<grammar xmlns="http://www.w3.org/2001/06/grammar" version="1.0"><rule id="a">&lol9;</rule></grammar>'
)
XXE = (
    '<?xml version="1.0"?>\n<!DOCTYPE grammar [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
    '<grammar xmlns="http://www.w3.org/2001/06/grammar" version="1.0"><rule id="a">&x;</rule></grammar>'
)
PARAMETER_ENTITY = (
    '<?xml version="1.0"?>\n<!DOCTYPE grammar [<!-- ]> --><!ENTITY % p SYSTEM "http://example.com/x.dtd"> %p;]>\n'
    '<grammar xmlns="http://www.w3.org/2001/06/grammar" version="1.0"><rule id="a">a</rule></grammar>'
)


@pytest.mark.parametrize("document", [BILLION_LAUGHS, XXE, PARAMETER_ENTITY], ids=["billion-laughs", "xxe", "parameter"])
def test_entity_declarations_are_refused_fast(document):
    for encoding in ("utf-8", "utf-16"):
        started = time.perf_counter()
        with pytest.raises(InputLimitError) as caught:
            read_xml(document.encode(encoding), "evil")
        assert time.perf_counter() - started < 2.0  # a guard against expansion (a hang), not a speed measurement
        assert (caught.value.span.line, caught.value.span.column) == (2, 1)


def test_doctype_without_internal_subset_is_ignored():
    assert read_corpus("doctype.grxml").rules
    external = ('<!DOCTYPE grammar SYSTEM "file:///etc/passwd">\n'
                '<grammar xmlns="http://www.w3.org/2001/06/grammar" version="1.0"><rule id="a">a</rule></grammar>')
    assert read_xml(external.encode(), "x").rules[0].expansion == Token(text="a")


def test_undeclared_entity_is_a_syntax_error():
    with pytest.raises(GrammarSyntaxError, match="Entity 'x' not defined"):
        read_rules('<rule id="a">&x;</rule>')


def test_size_limit_is_checked_before_parsing():
    too_big = r"grammar is 101 bytes, over the inline grammar text limit of 100 bytes \(Limits.max_inline_bytes\)"
    with pytest.raises(InputLimitError, match=too_big):
        read_xml(b"<" * 101, "big", limits=Limits(max_inline_bytes=100))
    with pytest.raises(InputLimitError, match=r"over the local grammar file limit of 100 bytes \(Limits.max_grammar_bytes\)"):
        read_xml(b"<" * 101, "big", limits=Limits(max_grammar_bytes=100), kind="file")


def test_nesting_limit():
    nested = lambda depth: f'<rule id="a">{"<item>" * depth}a{"</item>" * depth}</rule>'  # noqa: E731
    assert read_rules(nested(10)).rules[0].expansion == Token(text="a")
    with pytest.raises(InputLimitError, match="nesting deeper than 5"):
        read_xml((HEAD + nested(6) + "</grammar>").encode(), "n", limits=Limits(max_nesting=5))
    with pytest.raises(InputLimitError):
        read_rules(nested(300))


def test_a_large_grammar_reads_with_exact_positions():
    # Its speed (linear in size) is measured by benchmarks/bench_parse.py, not timed here.
    body = "".join(f'<rule id="r{i}"><one-of><item weight="2">w{i} x</item>'
                   '<item repeat="0-1"><ruleref uri="#r0"/> y</item></one-of></rule>\n'
                   for i in range(4000))
    grammar = read_xml((HEAD + body + "</grammar>").encode(), "l")
    assert len(grammar.rules) == 4000 and grammar.rules[-1].span.line == 4002
    assert grammar.rules[1234].span.line == 1237
