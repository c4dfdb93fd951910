"""SISR 1.0 evaluation over hand-built parse trees (out, rules, meta, defaults, formats)."""

from __future__ import annotations

import pytest

from interpreter.sisr import GrammarSemantics, SemanticError, SemanticEvaluator
from interpreter.tree import ParseGarbage, ParseRule, ParseTag, ParseToken
from srgs.model import Grammar, Rule, SourceSpan, Tag, Token, sequence

SCRIPT = GrammarSemantics("semantics/1.0", (), "en-US")
LITERALS = GrammarSemantics("semantics/1.0-literals", (), None)


def tok(text: str) -> ParseToken:
    return ParseToken(text, tuple(text.lower().split()))


def tag(text: str) -> ParseTag:
    return ParseTag(text)


def rule(name: str, *children, grammar: str = "g", label: str | None = None) -> ParseRule:
    return ParseRule(name, label or f"${name}", grammar, tuple(children))


def evaluate(tree, semantics=SCRIPT, **kw):
    return SemanticEvaluator({"g": semantics}).evaluate(tree, **kw)


@pytest.fixture(scope="module")
def evaluator():
    return SemanticEvaluator({"g": SCRIPT})


def test_out_starts_as_an_empty_object(evaluator):
    assert evaluator.evaluate(rule("main", tok("a"), tag("out.x = 1"))) == {"x": 1}
    assert evaluator.evaluate(rule("main", tok("a"), tag("out = 5"))) == 5
    assert evaluator.evaluate(rule("main", tok("a"), tag('out += "1"'))) == "[object Object]1"


def test_rules_name_is_the_latest_match_and_only_after_it(evaluator):
    digit = lambda d: rule("digit", tok(d), tag(f"out = {d}"))
    tree = rule("main", tag("out.before = typeof rules.digit"), digit("1"),
                tag("out.first = rules.digit"), digit("2"), tag("out.second = rules.digit"),
                tag("out.latest = rules.latest()"))
    assert evaluator.evaluate(tree) == {"before": "undefined", "first": 1, "second": 2, "latest": 2}


def test_rules_latest_is_the_latest_child_of_any_name(evaluator):
    tree = rule("main", rule("a", tok("x"), tag("out = 'A'")), rule("b", tok("y"), tag("out = 'B'")),
                tag("out = [rules.latest(), rules.a]"))
    assert evaluator.evaluate(tree) == ["B", "A"]


def test_meta_text_score_latest_and_current(evaluator):
    tree = rule("main", tok("please"), ParseGarbage(("uh", "hmm")),
                tag("out.cur1 = meta.current().text"),
                rule("city", tok("New York")),
                tag("out.city = meta.city.text; out.score = meta.city.score;"
                    "out.latest = meta.latest().text; out.cur2 = meta.current().text"))
    assert evaluator.evaluate(tree, score=0.75) == {
        "cur1": "please uh hmm", "city": "new york", "score": 0.75, "latest": "new york",
        "cur2": "please uh hmm new york"}


def test_default_assignment_latest_child_else_text(evaluator):
    child = rule("size", tok("large"), tag("out = 'L'"))
    assert evaluator.evaluate(rule("main", tok("a"), child, tok("pizza"), tag("var unused = 1"))) == "L"
    assert evaluator.evaluate(rule("main", tok("a"), rule("w", tok("big")), tok("x"), tag("1"))) == "big"
    assert evaluator.evaluate(rule("main", tok("just"), tok("words"), tag("var z = 2"))) == "just words"


def test_out_assigned_back_to_an_empty_object_is_not_default(evaluator):
    tree = rule("main", rule("c", tok("x"), tag("out = 7")), tag("out = {}"))
    assert evaluator.evaluate(tree) == {}


def test_tags_in_a_repeat_run_once_per_pass(evaluator):
    children = [tag("out.n = 0")]
    for _ in range(3):
        children += [tok("big"), tag("out.n += 1")]
    assert evaluator.evaluate(rule("main", *children)) == {"n": 3}


def test_vars_are_scoped_to_one_rule_instance(evaluator):
    counter = lambda: rule("c", tok("x"), tag("if (typeof k === 'undefined') { var k = 0; } k++; out = k"))
    tree = rule("main", counter(), tag("var a = rules.c"), counter(), tag("out = [a, rules.c]"))
    assert evaluator.evaluate(tree) == [1, 1]
    same_rule = rule("main", tag("var v = 1"), tok("a"), tag("v += 1; out = v"))
    assert evaluator.evaluate(same_rule) == 2


def test_let_in_one_tag_does_not_clash_with_another():
    tree = rule("main", tag("let x = 1; out.a = x"), tok("a"), tag("let x = 2; out.b = x"))
    assert evaluate(tree) == {"a": 1, "b": 2}


def test_header_tags_initialise_every_interpretation():
    ev = SemanticEvaluator({"g": GrammarSemantics("semantics/1.0", ("var count = 0;",), None)})
    tree = rule("main", rule("c", tok("x"), tag("count++; out = count")), tag("count++; out = count"))
    assert ev.evaluate(tree) == 2
    assert ev.evaluate(tree) == 2  # fresh header vars each time


def test_literals_last_tag_text_is_the_value():
    assert evaluate(rule("main", tok("yes"), tag(" affirmative ")), LITERALS) == "affirmative"
    assert evaluate(rule("main", tag("a"), tok("x"), tag("b")), LITERALS) == "b"
    tree = rule("main", tok("call"), rule("name", tok("john"), tag("JOHN")))
    assert evaluate(tree, LITERALS) == "JOHN"
    assert evaluate(rule("main", tok("call"), rule("name", tok("john")), tag("x")), LITERALS) == "x"


def test_a_quoted_literal_gives_the_string_inside_the_quotes():
    assert evaluate(rule("main", tok("ny"), tag(' "New York" ')), LITERALS) == "New York"
    assert evaluate(rule("main", tok("y"), tag("'yes'")), LITERALS) == "yes"
    assert evaluate(rule("main", tok("q"), tag('"say \\"hi\\""')), LITERALS) == 'say "hi"'
    assert evaluate(rule("main", tok("u"), tag('"unbalanced')), LITERALS) == '"unbalanced'


def test_literal_text_is_never_run_as_script():
    assert evaluate(rule("main", tok("a"), tag("while(1){}")), LITERALS) == "while(1){}"


def test_grammar_without_tags_gives_the_text(evaluator):
    tree = rule("main", tok("call"), tok("John Smith"), ParseGarbage(("now",)))
    assert evaluator.evaluate(tree) == "call john smith now"


def test_without_tags_the_default_assignment_takes_the_latest_rule(evaluator):
    # SISR default assignment: an untouched rule variable takes the latest referenced rule's value
    tree = rule("main", tok("call"), rule("name", tok("John Smith")), ParseGarbage(("now",)))
    assert evaluator.evaluate(tree) == "john smith"


def test_missing_and_2006_tag_formats_are_script():
    tree = rule("main", tok("a"), tag("out = 1 + 1"))
    assert evaluate(tree, GrammarSemantics(None, (), None)) == 2
    assert evaluate(tree, GrammarSemantics("semantics/1.0.2006", (), None)) == 2


def test_unsupported_tag_format_is_a_semantic_error():
    with pytest.raises(SemanticError, match="unsupported tag-format"):
        evaluate(rule("main", tok("a"), tag("out = 1")), GrammarSemantics("x-custom/2", (), None))


def test_external_grammar_uses_its_own_format_and_header():
    ev = SemanticEvaluator({
        "root.grxml": GrammarSemantics("semantics/1.0", ("var h = 'root';",), None),
        "lit.gram": LITERALS,
        "ext.grxml": GrammarSemantics("semantics/1.0", ("var h = 'ext';",), None),
    })
    tree = rule("main",
                rule("colour", tok("red"), tag("RED"), grammar="lit.gram", label="$<lit.gram>"),
                rule("size", tok("big"), tag("out = h + ':L'"), grammar="ext.grxml",
                     label="$<ext.grxml#size>"),
                tag("out = {c: rules.colour, s: rules.size, h: h}"), grammar="root.grxml")
    assert ev.evaluate(tree) == {"c": "RED", "s": "ext:L", "h": "root"}


def test_unknown_grammar_key_is_a_semantic_error(evaluator):
    with pytest.raises(SemanticError, match="was not given"):
        evaluator.evaluate(rule("main", tok("a"), grammar="other"))


def test_values_convert_through_json(evaluator):
    tree = rule("main", tok("a"), tag("out = {u: undefined, n: NaN, i: Infinity, f: function () {},"
                                      " a: [undefined, 1.5, 'x'], b: 10n, t: true, z: null}"))
    assert evaluator.evaluate(tree) == {"n": None, "i": None, "a": [None, 1.5, "x"], "b": 10,
                                        "t": True, "z": None}
    assert evaluator.evaluate(rule("main", tok("a"), tag("out = undefined"))) is None


def test_cyclic_value_is_a_semantic_error(evaluator):
    with pytest.raises(SemanticError, match="converted to JSON"):
        evaluator.evaluate(rule("main", tok("a"), tag("out.self = out")))
    assert evaluator.evaluate(rule("main", tok("a"), tag("out = 3"))) == 3


def test_override_of_prototype_properties_still_works(evaluator):
    tree = rule("main", tok("a"), tag("out.toString = function () { return 'S'; }; out.constructor = 1;"
                                      "var e = new Error('m'); e.message = 'changed';"
                                      "out = [String(out), out.constructor, e.message]"))
    assert evaluator.evaluate(tree) == ["S", 1, "changed"]


def test_from_grammar_collects_header_and_rule_tags():
    span = SourceSpan("g.grxml", 3, 5)
    grammar = Grammar(tag_format="semantics/1.0", root="main", tags=(Tag(text="var base = 1;"),),
                      rules=(Rule(name="main", scope="public", expansion=sequence(
                          [Token(text="go"), Tag(text="out = base + 1", span=span)])),))
    semantics = GrammarSemantics.from_grammar(grammar)
    assert semantics.header_tags == ("var base = 1;",)
    assert semantics.rule_tags == (("main", ("out = base + 1",)),)
    ev = SemanticEvaluator({"g.grxml": semantics})
    assert ev.evaluate(rule("main", tok("go"), tag("out = base + 1"), grammar="g.grxml")) == 2


def test_tag_syntax_error_is_reported_up_front_with_its_span():
    span = SourceSpan("bad.grxml", 7, 9)
    semantics = GrammarSemantics("semantics/1.0", (), None, (("main", ("out = ;",)),),
                                 (("out = ;", span),))
    with pytest.raises(SemanticError) as info:
        SemanticEvaluator({"bad.grxml": semantics})
    assert info.value.kind == "syntax"
    assert str(info.value).startswith("bad.grxml:7:9: tag {!{out = ;}!} in rule $main")


# --- tag_problems: what loading for interpretation refuses, found without running anything ---

from interpreter.api import semantics_of  # noqa: E402
from interpreter.sisr import tag_problems  # noqa: E402
from srgs.load.loader import bundle_from_text, load_bundle  # noqa: E402

XML_HEAD = ('<?xml version="1.0"?>\n<grammar xmlns="http://www.w3.org/2001/06/grammar" version="1.0" '
            'xml:lang="en-US" root="main" tag-format="{fmt}">\n')

TWO_BAD_TAGS = XML_HEAD + """<rule id="main" scope="public">
  <one-of>
    <item>a <tag>out = 1 +;</tag></item>
    <item>b <tag>out.x = 2;</tag></item>
    <item>c <tag>out = "c";</tag></item>
    <item>d <tag>
      var y = 1;
      out = (y;
    </tag></item>
  </one-of>
</rule>
</grammar>
"""


def test_two_bad_tags_give_two_positioned_problems_and_loading_refuses_the_first():
    bundle = bundle_from_text(TWO_BAD_TAGS.format(fmt="semantics/1.0"), source="two.grxml")
    problems = tag_problems(bundle)
    assert [str(p.span) for p in problems] == ["two.grxml:5:13", "two.grxml:8:13"]
    assert all(p.kind == "syntax" for p in problems)
    first, second = (p.diagnostics() for p in problems)
    assert first == ["two.grxml:5:13: error: tag {!{out = 1 +;}!} in rule $main of grammar two.grxml: "
                     "SyntaxError: unexpected token in expression: ';' (line 1 of the tag)"]
    assert "{!{var y = 1; out = (y;}!}" in second[0] and "SyntaxError: expecting ')' (line 3 of the tag)" in second[0]
    with pytest.raises(SemanticError) as info:
        SemanticEvaluator(semantics_of(bundle))
    assert str(info.value) == str(problems[0])


def test_a_bad_header_tag_and_each_occurrence_of_a_bad_tag_are_problems():
    abnf = ("#ABNF 1.0 UTF-8;\nlanguage en-US;\ntag-format <semantics/1.0>;\n{var base = ;};\nroot $main;\n"
            "public $main = go {out = ;} | stop {out.x = 1} | halt {out = ;};\n")
    problems = tag_problems(bundle_from_text(abnf, source="h.gram"))
    assert [(str(p.span), p.message.split(" of grammar")[0]) for p in problems] == [
        ("h.gram:4:1", "header tag {!{var base = ;}!}"),
        ("h.gram:6:19", "tag {!{out = ;}!} in rule $main"),
        ("h.gram:6:55", "tag {!{out = ;}!} in rule $main"),
    ]


def test_good_grammars_have_no_tag_problems_and_load():
    for location in ("builtin:examples/pizza", "builtin:examples/yesno", "builtin:examples/digits"):
        bundle = load_bundle(location)
        assert tag_problems(bundle) == []
        SemanticEvaluator(semantics_of(bundle))


@pytest.mark.parametrize("fmt", ["semantics/1.0-literals", "semantics/1.0.2006-literals"])
def test_string_literal_tag_formats_have_no_tag_problems(fmt):
    bundle = bundle_from_text(TWO_BAD_TAGS.format(fmt=fmt), source="lit.grxml")
    assert tag_problems(bundle) == []
    SemanticEvaluator(semantics_of(bundle))


def test_an_unsupported_tag_format_is_one_problem_at_the_first_tag():
    bundle = bundle_from_text(TWO_BAD_TAGS.format(fmt="x-custom/2"), source="x.grxml")
    problems = tag_problems(bundle)
    assert [str(p.span) for p in problems] == ["x.grxml:5:13"]
    assert "unsupported tag-format 'x-custom/2'" in problems[0].message
    with pytest.raises(SemanticError, match="unsupported tag-format"):
        SemanticEvaluator(semantics_of(bundle))


def test_tag_problems_cover_every_grammar_of_the_bundle(tmp_path):
    (tmp_path / "ext.grxml").write_text(XML_HEAD.format(fmt="semantics/1.0") + (
        '<rule id="main" scope="public">big <tag>out = = 1;</tag></rule>\n</grammar>\n'), encoding="utf-8")
    (tmp_path / "root.grxml").write_text(XML_HEAD.format(fmt="semantics/1.0") + (
        '<rule id="main" scope="public"><ruleref uri="ext.grxml#main"/> <tag>out = rules.latest();</tag>'
        '</rule>\n</grammar>\n'), encoding="utf-8")
    bundle = load_bundle(str(tmp_path / "root.grxml"))
    problems = tag_problems(bundle)
    assert len(problems) == 1 and str(problems[0].span).endswith("ext.grxml:3:36")
    with pytest.raises(SemanticError):
        SemanticEvaluator(semantics_of(bundle))


def test_tag_problems_run_nothing():
    bundle = bundle_from_text(XML_HEAD.format(fmt="semantics/1.0") + (
        '<tag>while (true) {}</tag><rule id="main" scope="public">a <tag>for (;;) {}</tag></rule>\n'
        '</grammar>\n'), source="loop.grxml")
    assert tag_problems(bundle) == []
