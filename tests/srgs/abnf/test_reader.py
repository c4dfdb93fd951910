"""SRGS §4 ABNF reader: the W3C corpus, positioned errors, encodings and the node shapes built."""

from __future__ import annotations

import dataclasses

import pytest

from srgs.abnf import reader as abnf_reader
from srgs.abnf.context import ReadContext
from srgs.abnf.reader import read_abnf
from srgs.errors import GrammarSyntaxError, InputLimitError
from srgs.limits import DEFAULT_LIMITS, Limits
from srgs.model import (
    Alternative,
    Lexicon,
    Meta,
    OneOf,
    Repeat,
    RuleRef,
    Sequence,
    SpecialRef,
    Tag,
    Token,
)
from tests import w3c

CORPUS = w3c.TEST_DIR
ILLEGAL = {
    "abnf-sih-header-no-newline": (1, 11), "no-abnf-sih-header": (1, 1), "no-abnf-sih-version": (1, 6),
    "wrong-abnf-sih-version": (1, 7), "unrecognized-header": (18, 1), "multiple-header": (18, 6),
    "dtmf-star-no-quotes": (23, 19), "wrong-repeat-abnf-symbols": (28, 1), "wrong-tag-delimit-1": (35, 44),
    "wrong-tag-delimit-2": (32, 53), "rule-no-empty": (27, 14), "no-version": (1, 7),
}
ALL_GRAMS = sorted(CORPUS.rglob("*.gram"))


def read(text: str, **kwargs):
    return read_abnf(text, "t.gram", **kwargs)


def body(text: str, header: str = "#ABNF 1.0;\n"):
    """The expansion of the only rule of ``header + text``."""
    grammar = read(header + text)
    assert len(grammar.rules) == 1
    return grammar.rules[0].expansion


def error_of(text: str) -> GrammarSyntaxError:
    with pytest.raises(GrammarSyntaxError) as caught:
        read(text)
    return caught.value


@pytest.mark.parametrize("path", ALL_GRAMS, ids=lambda p: str(p.relative_to(CORPUS)))
def test_w3c_grammar_reads_or_fails_at_its_position(path):
    name = path.stem
    if name in ILLEGAL:
        with pytest.raises(GrammarSyntaxError) as caught:
            read_abnf(path.read_bytes(), str(path))
        assert (caught.value.span.line, caught.value.span.column) == ILLEGAL[name]
        assert str(caught.value).startswith(f"{path}:{ILLEGAL[name][0]}:{ILLEGAL[name][1]}: ")
    else:
        grammar = read_abnf(path.read_bytes(), str(path))
        assert grammar.uri == str(path)
        assert grammar.version == "1.0"


def test_w3c_illegal_set_is_complete():
    assert {p.stem for p in ALL_GRAMS} >= set(ILLEGAL)


# --- header and declarations -------------------------------------------------------------------


def test_declarations():
    grammar = read(
        "#ABNF 1.0 UTF-8;\nlanguage en-US;\nmode voice;\nroot $main;\ntag-format <semantics/1.0>;\n"
        "base <http://example.com/g/>;\nlexicon <a.pls>;\nlexicon <b.pls>~<application/pls+xml>;\n"
        "meta 'author' is \"Jo \\\"J\\\" Doe\";\nhttp-equiv \"Expires\" is '0';\n{var x = 1;};\n{!{ a } b }!};\n"
        "public $main = hello;\n$other = bye;\n")
    assert grammar.language == "en-US" and grammar.mode == "voice" and grammar.root == "main"
    assert grammar.tag_format == "semantics/1.0" and grammar.base == "http://example.com/g/"
    assert grammar.lexicons == (Lexicon(uri="a.pls"), Lexicon(uri="b.pls", media_type="application/pls+xml"))
    assert grammar.metas == (Meta(name="author", content='Jo "J" Doe'), Meta(name="Expires", content="0", http_equiv=True))
    assert grammar.tags == (Tag(text="var x = 1;"), Tag(text=" a } b "))
    assert [(r.name, r.scope) for r in grammar.rules] == [("main", "public"), ("other", "private")]
    assert grammar.rules[0].span.line == 13 and grammar.rules[0].span.column == 8


def test_keywords_are_plain_tokens_in_rule_bodies():
    assert body("$x = language mode root meta is public;") == Sequence(items=tuple(
        Token(text=w) for w in "language mode root meta is public".split()))


@pytest.mark.parametrize("text, position, fragment", [
    ("#ABNF 1.0;\nmode speech;\n", (2, 6), "unknown mode"),
    ("#ABNF 1.0;\nlanguage en;\nlanguage fr;\n", (3, 10), "second language"),
    ("#ABNF 1.0;\nmeta 'a' is 'b'\n$x = y;\n", (3, 1), "expected ';' after declaration"),
    ("#ABNF 1.0;\n$x = a b\n$y = c;\n", (3, 1), "expected ';' after rule definition"),
    ("#ABNF 1.0;\n$x = a | ;\n", (2, 10), "after '|'"),
    ("#ABNF 1.0;\n$x = (a b;\n", (2, 10), "expected ')' to close the '(' at line 2, column 6"),
    ("#ABNF 1.0;\n$x = a+;\n", (2, 7), "reserved symbol '+'"),
    ("#ABNF 1.0;\n$x = a?;\n", (2, 7), "reserved symbol '?'"),
    ("#ABNF 1.0;\n$x = {a} };\n", (2, 10), "'}' outside a tag"),
    ("#ABNF 1.0;\n$x = a /* open\n", (2, 8), "unterminated comment"),
    ("#ABNF 1.0;\n$x = a<3-2>;\n", (2, 7), "below its minimum"),
    ("#ABNF 1.0;\n$x = \"\";\n", (2, 6), "empty quoted token"),
    ("#ABNF 1.0;\n$x = a;\nroot $x;\n", (3, 1), "rule definition"),
    ("#ABNF 1.0;\nmode dtmf;\n$x = 1#;\n", (3, 6), "'#' must be quoted"),
    ("\n#ABNF 1.0;\n", (1, 1), "must start with the header"),
])
def test_errors_are_positioned(text, position, fragment):
    error = error_of(text)
    assert (error.span.line, error.span.column) == position
    assert fragment in error.message
    assert str(error).startswith(f"t.gram:{position[0]}:{position[1]}: ")


def test_error_messages_hide_lark_internals():
    for text in ("#ABNF 1.0;\n$x = a b\n$y = c;\n", "#ABNF 1.0;\nbadstuff x;\n", "#ABNF 1.0;\n$x = (a;\n"):
        message = error_of(text).message
        assert "Token(" not in message and "Expected one of" not in message


def test_size_and_nesting_limits():
    with pytest.raises(InputLimitError):
        read_abnf(b"#ABNF 1.0;\n$x = a;\n", "t", limits=Limits(max_inline_bytes=10))
    deep = "#ABNF 1.0;\n$x = " + "(" * 30 + "a" + ")" * 30 + ";\n"
    with pytest.raises(InputLimitError) as caught:
        read(deep, limits=Limits(max_nesting=20))
    assert caught.value.span.line == 2
    assert read(deep, limits=Limits(max_nesting=40)).rules[0].expansion == Token(text="a")


# --- encodings (§4.1) --------------------------------------------------------------------------


@pytest.mark.parametrize("encoding, bom", [("utf-8", b"\xef\xbb\xbf"), ("utf-16-le", b"\xff\xfe"),
                                           ("utf-16-be", b"\xfe\xff")])
def test_byte_order_marks(encoding, bom):
    text = "#ABNF 1.0 UTF-8;\nlanguage ko;\n$x = 예 | 아니오;\n"
    grammar = read_abnf(bom + text.encode(encoding), "t")
    assert grammar.rules[0].expansion.alternatives[0].expansion == Token(text="예")


def test_header_charset_and_undecodable_bytes():
    latin = "#ABNF 1.0 ISO-8859-1;\n$x = är;\n".encode("iso-8859-1")
    assert read_abnf(latin, "t").rules[0].expansion == Token(text="är")
    with pytest.raises(GrammarSyntaxError) as caught:
        read_abnf(b"#ABNF 1.0 UTF-8;\n$x = \xff;\n", "t")
    assert (caught.value.span.line, caught.value.span.column) == (2, 6)
    with pytest.raises(GrammarSyntaxError) as caught:
        read_abnf(b"#ABNF 1.0 EBCDIC-NOPE;\n$x = a;\n", "t")
    assert (caught.value.span.line, caught.value.span.column) == (1, 11)
    assert "unknown character encoding" in caught.value.message


def test_w3c_utf16_files():
    for name in ("korean-yesno-utf16-le", "korean-yesno-utf16-be"):
        grammar = read_abnf((CORPUS / f"{name}.gram").read_bytes(), name)
        assert grammar.language == "ko"
        assert grammar.rules[0].expansion.alternatives[0].expansion == Token(text="예")


# --- expansions (§2, precedence §2.8) ---------------------------------------------------------


def test_precedence_from_w3c_abnf_precedence():
    rules = read_abnf((CORPUS / "abnf-precedence.gram").read_bytes(), "p").rule_map
    a, do = Token(text="a"), Token(text="do")
    assert rules["repeat"].expansion == Sequence(items=(
        Repeat(expansion=a, min=3, max=3), Repeat(expansion=Token(text="da da"), min=1, max=1),
        Repeat(expansion=RuleRef(uri="#da"), min=2, max=2),
        Repeat(expansion=Sequence(items=(a, Repeat(expansion=do, min=1, max=1))), min=2, max=2)))
    assert rules["repeat2"].expansion == Sequence(items=(Repeat(expansion=Token(text="foo"), min=2, max=2),
                                                         Token(text="bar")))
    assert rules["alt"].expansion == OneOf(alternatives=(
        Alternative(expansion=Sequence(items=(Token(text="New"), Token(text="York")))),
        Alternative(expansion=Token(text="Amsterdam"))))
    assert rules["brackets"].expansion.items[0] == Repeat(expansion=OneOf(alternatives=(
        Alternative(expansion=Token(text="small")), Alternative(expansion=Token(text="large")))), min=0, max=1)
    assert rules["yes"].expansion.alternatives[1].expansion == Token(text="oui", lang="fr-CA")


def test_quoted_tokens_are_one_token_with_normalised_space():
    assert body('$x = "  New \n\t York " "say \\"hi\\"";') == Sequence(items=(
        Token(text="New York"), Token(text='say "hi"')))


def test_tags_keep_their_text_exactly():
    assert body("$x = {a { b} {!{ c } d }!} {};") == Sequence(items=(
        Tag(text="a { b"), Tag(text=" c } d "), Tag(text="")))


def test_rule_references():
    assert body("$x = $a $<g.gram> $<g.gram#r>~<application/srgs> $NULL $VOID $GARBAGE;") == Sequence(items=(
        RuleRef(uri="#a"), RuleRef(uri="g.gram"), RuleRef(uri="g.gram#r", media_type="application/srgs"),
        SpecialRef(name="NULL"), SpecialRef(name="VOID"), SpecialRef(name="GARBAGE")))


def test_weights_some_missing_and_single():
    assert body("$x = /2.5/ a | b | /.5/ c d;") == OneOf(alternatives=(
        Alternative(expansion=Token(text="a"), weight=2.5), Alternative(expansion=Token(text="b")),
        Alternative(expansion=Sequence(items=(Token(text="c"), Token(text="d"))), weight=0.5)))
    assert body("$x = (/100/ a);") == OneOf(alternatives=(Alternative(expansion=Token(text="a"), weight=100.0),))


def test_repeats_and_probabilities():
    a = Token(text="a")
    assert body("$x = a<2-> a<0-1 /0.6/> a <1-5/.8/> [a];") == Sequence(items=(
        Repeat(expansion=a, min=2, max=None), Repeat(expansion=a, min=0, max=1, prob=0.6),
        Repeat(expansion=a, min=1, max=5, prob=0.8), Repeat(expansion=a, min=0, max=1)))


def test_language_attachments():
    assert body("$x = oui!fr $r!fr [a]!fr (a b)!fr (a)!fr (a | b)!fr ((a | b))!fr;") == Sequence(items=(
        Token(text="oui", lang="fr"), RuleRef(uri="#r", lang="fr"),
        Repeat(expansion=Token(text="a"), min=0, max=1, lang="fr"),
        Sequence(items=(Token(text="a"), Token(text="b")), lang="fr"),
        Sequence(items=(Token(text="a"),), lang="fr"),
        OneOf(alternatives=(Alternative(expansion=Token(text="a")), Alternative(expansion=Token(text="b"))),
              lang="fr"),
        Sequence(items=(OneOf(alternatives=(Alternative(expansion=Token(text="a")),
                                            Alternative(expansion=Token(text="b")))),), lang="fr")))


def test_empty_parentheses():
    assert body("$x = ();") == Sequence(items=())
    assert body("$x = phone () home;") == Sequence(items=(Token(text="phone"), Token(text="home")))
    assert body("$x = world | ();").alternatives[1].expansion == Sequence(items=())


def test_dtmf_star_and_pound():
    grammar = read("#ABNF 1.0;\nmode dtmf;\n$x = star pound \"*\" \"#\" \"star\" 1;\n")
    assert [t.text for t in grammar.rules[0].expansion.items] == ["*", "#", "*", "#", "star", "1"]
    assert read("#ABNF 1.0;\n$x = star C#;\n").rules[0].expansion.items[0] == Token(text="star")


def test_examples_from_doc_comments():
    grammar = read("#ABNF 1.0;\n/** not mine\n * @example header\n */\nroot $a;\n"
                   "/**\n * @example  one two \n * @example\n */\n// between\n$a = x;\n"
                   "$b = y /** @example inside */ z;\n/** @example b2 */ $c = w;\n")
    assert [r.examples for r in grammar.rules] == [("one two", ""), (), ("b2",)]


def test_duplicate_rules_are_kept_and_spans_point_at_names():
    grammar = read("#ABNF 1.0;\n$a = x;\n  public $a = y;\n")
    assert [r.name for r in grammar.rules] == ["a", "a"]
    assert (grammar.rules[1].span.line, grammar.rules[1].span.column) == (3, 10)
    token = grammar.rules[1].expansion
    assert (token.span.source, token.span.line, token.span.column) == ("t.gram", 3, 15)


# --- the fast lexer mode (PHRASE / CHOICE runs) against the token-by-token mode ------------------


def _spanned(node):
    """A node as nested tuples, spans included (model equality ignores spans)."""
    if dataclasses.is_dataclass(node):
        return (type(node).__name__,) + tuple((f.name, _spanned(getattr(node, f.name)))
                                              for f in dataclasses.fields(node))
    if isinstance(node, tuple):
        return tuple(_spanned(item) for item in node)
    return node


def _read_in_mode(text: str, fast: bool):
    parser, phrase_parts = abnf_reader._parser()
    return abnf_reader._parse(parser, text, ReadContext("t.gram", DEFAULT_LIMITS, phrase_parts if fast else None))


RUNS = [
    "$x = a b c;", "$x = /2/ a [b c] $r {t} | 'x' \"y  z\" | /.5/ $NULL;", "$x = a b<2> c d!fr e;",
    "$x = a\n  b /* c */ c\n// line\n  [d\n e] | f\n | /3/\n g;", "$x = (a b | c) [d | e] (f g)!fr [h]<2>;",
    "$x = a {t} /** @example e */ <0-1>;", "$x = a /* c */ <2> b /* c */ !fr;", "$x = [a] [[b] c] | d;",
    "$x = a | b c $<g.gram> | d;", "$x = {!{ } }!} {a { b} $r | {} ;", "$x = a\t|\tb;\n$y = c;\n",
]


@pytest.mark.parametrize("text", RUNS)
def test_fast_mode_builds_the_same_model_and_spans(text):
    for header in ("#ABNF 1.0;\n", "#ABNF 1.0;\nmode dtmf;\n"):
        assert _spanned(_read_in_mode(header + text, True)) == _spanned(_read_in_mode(header + text, False))


@pytest.mark.parametrize("path", [p for p in ALL_GRAMS if p.stem not in ILLEGAL], ids=lambda p: p.stem)
def test_fast_mode_agrees_on_the_w3c_grammars(path):
    text = abnf_reader._decode(path.read_bytes(), str(path)).lstrip("\ufeff")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    assert _spanned(_read_in_mode(text, True)) == _spanned(_read_in_mode(text, False))


def test_unmatched_closing_brackets():
    for text, position, closer in (("$x = a ] b;", (2, 8), "']': no '['"), ("$x = (a)) b;", (2, 9), "')': no '('")):
        error = error_of("#ABNF 1.0;\n" + text + "\n")
        assert (error.span.line, error.span.column) == position
        assert error.message == f"unmatched {closer} is open"


def test_a_comment_ends_at_its_first_close():
    error = error_of("#ABNF 1.0;\n$x = a /* c */ *b/*c*/ d;\n")
    assert (error.span.line, error.span.column, "reserved symbol '*'" in error.message) == (2, 16, True)
    assert "empty rule body" in error_of("#ABNF 1.0;\n$x = // l\n;\n").message


def test_nesting_limit_counts_brackets_inside_runs():
    with pytest.raises(InputLimitError):
        read("#ABNF 1.0;\n$a = (([a b] | c));\n", limits=Limits(max_nesting=2))
    with pytest.raises(InputLimitError):
        read("#ABNF 1.0;\n$a = (a<2>!fr [b]);\n", limits=Limits(max_nesting=2))
    assert read("#ABNF 1.0;\n$a = (([a b] | c));\n", limits=Limits(max_nesting=3)).rules
