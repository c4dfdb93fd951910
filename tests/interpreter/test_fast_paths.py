"""The fast paths give what the general paths give (issue 8).

* The best parse: the memoised walk of the transducer (``parse.walk_best``) against OpenFst's
  compose + shortest path (``parse.pynini_parses``): same tree, same cost, or the walk says it
  cannot decide (``UNDECIDED``, and ``parse_words`` then asks pynini).
* SISR: rules evaluated in Python (``SemanticEvaluator.evaluate``) against the whole parse run
  by QuickJS (``evaluate_in_engine``): same value, or the same error.
"""

from __future__ import annotations

import html
import json
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from interpreter import parse as parse_module
from interpreter.api import Interpreter, _garbage_words, semantics_of
from interpreter.cases import read_cases
from interpreter.parse import UNDECIDED, parse_words, pynini_parses, walk_best
from interpreter.sisr import GrammarSemantics, SemanticError, SemanticEvaluator
from interpreter.sisr_program import _NOT_LITERAL, literal_assignment, python_tag
from interpreter.tree import ParseGarbage, ParseRule, ParseTag, ParseToken
from srgs.compile import compile_bundle
from srgs.errors import SrgsError
from srgs.load.builtins import BUILTIN_DIR
from srgs.load.loader import load_bundle
from srgs.text import normalize_words
from tests import w3c
from tests.srgs.compile.models import alts, rep, seq, single, special, tag, tok

BUILTINS = ("pizza", "yesno", "digits")


def _w3c_cases():
    for entry in w3c.entries_with_cases():
        if w3c.is_illegal(entry):
            continue
        for case in entry["cases"]:
            yield entry["file"], html.unescape(case["in"])


W3C_CASES = list(_w3c_cases())


@cache
def _w3c(name: str):
    bundle = load_bundle(str(w3c.TEST_DIR / name), options=w3c.fetch_options(), active=w3c.active_rules(name))
    return compile_bundle(bundle), bundle


@cache
def _builtin(name: str):
    bundle = load_bundle(f"builtin:examples/{name}")
    return compile_bundle(bundle), bundle


def _builtin_texts(name: str) -> list[str]:
    path = next((BUILTIN_DIR / "examples").glob(f"{name}.cases.*"))
    return [case.text for case in read_cases(str(path))]


def _same_parse(compiled, words) -> bool:
    """Whether the walk's answer is OpenFst's (or the walk did not decide); True when it decided."""
    expected = pynini_parses(compiled, words)
    got = walk_best(compiled, words)
    if got is UNDECIDED:
        assert parse_words(compiled, words) == expected
        return False
    assert ([got] if got is not None else []) == expected
    if got is not None:
        assert got.cost == expected[0].cost  # Parse equality compares costs too; say it
        assert got.garbage == _garbage_words(got.tree)
    return True


# --- the best parse -----------------------------------------------------------------------------


def test_walk_gives_openfst_best_parse_on_every_w3c_case():
    decided = 0
    for name, text in W3C_CASES:
        compiled, bundle = _w3c(name)
        decided += _same_parse(compiled, normalize_words(text, mode=bundle.main_grammar.mode))
    assert decided > len(W3C_CASES) // 2  # the walk is the path taken, not the exception


@pytest.mark.parametrize("name", BUILTINS)
def test_walk_decides_and_agrees_on_builtin_grammars(name):
    compiled, bundle = _builtin(name)
    for text in _builtin_texts(name) + ["", "uh two pizzas", "yes no", "1 2 #"]:
        words = normalize_words(text, mode=bundle.main_grammar.mode)
        assert walk_best(compiled, words) is not UNDECIDED, text
        assert _same_parse(compiled, words)


def test_a_tie_is_left_to_openfst():
    compiled = compile_bundle(single(alts(seq(tok("a"), tag("one")), seq(tok("a"), tag("two")))))
    assert walk_best(compiled, ["a"]) is UNDECIDED
    assert parse_words(compiled, ["a"]) == pynini_parses(compiled, ["a"]) != []


def _two_paths(first: float, second: float, swap: bool = False):
    """A transducer with two paths for "a b" that part after "a" and meet again after "b":
    path 1 runs tag 0, path 2 tag 1; ``first`` and ``second`` their costs; ``swap``: the
    arcs of path 2 come first (the walk meets the paths in the other order)."""
    import pynini

    from srgs.compile import CompiledGrammar
    from srgs.compile.symbols import RESERVED, RULE_END_LABEL

    symbols = list(RESERVED) + ["a", "b", "<rule:0>", "<tok:0>", "<tok:1>", "<tag:0>", "<tag:1>"]
    a, b, rule0, tok0, tok1, tag0, tag1 = range(len(RESERVED), len(symbols))
    fst = pynini.Fst()
    fst.add_states(7)
    fst.set_start(0)

    def arc(source, ilabel, olabel, weight, target):
        fst.add_arc(source, pynini.Arc(ilabel, olabel, pynini.Weight("tropical", weight), target))

    arc(0, 0, rule0, 0.0, 1)
    paths = [(first, 2, tag0, 4), (second, 3, tag1, 5)]
    for cost, middle, tag_label, before in (reversed(paths) if swap else paths):
        arc(1, a, tok0, cost, middle)
        arc(middle, 0, tag_label, 0.0, before)
        arc(before, b, tok1, 0.0, 6)
    final = fst.add_state()
    arc(6, 0, RULE_END_LABEL, 0.0, final)
    fst.set_final(final)
    fst.arcsort("ilabel")
    metadata = {"tokens": [["a", ["a"]], ["b", ["b"]]], "rules": [["g", "main", "$main"]],
                "tags": [["one", "g"], ["two", "g"]]}
    return CompiledGrammar(fst, fst.copy().project("input"), symbols, metadata)


@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("first,second", [(0.5, 0.5), (0.5, 0.50001), (0.50001, 0.5)])
def test_paths_within_rounding_of_each_other_are_a_tie(first, second, swap):
    compiled = _two_paths(first, second, swap)
    assert walk_best(compiled, ["a", "b"]) is UNDECIDED
    assert parse_words(compiled, ["a", "b"]) == pynini_parses(compiled, ["a", "b"]) != []


@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("first,second", [(0.5, 0.75), (0.75, 0.5)])
def test_a_clearly_better_path_is_the_walks(first, second, swap):
    compiled = _two_paths(first, second, swap)
    assert _same_parse(compiled, ["a", "b"])
    tags = [child.text for child in walk_best(compiled, ["a", "b"]).tree.children if isinstance(child, ParseTag)]
    assert tags == (["one"] if first < second else ["two"])


def test_a_state_with_many_arcs_is_searched_by_label():
    words = [f"w{i}" for i in range(3 * parse_module.SMALL_STATE)]
    entries = alts(*[seq(tok(f"{word} end"), tag(f'out = "{word}";')) for word in words])
    compiled = compile_bundle(single(seq(entries, rep(special("GARBAGE"), 0, 1))))
    for sentence in (["w0", "end"], ["w99", "end", "zzz"], ["w191", "end"], ["zzz"], ["w5"], []):
        _same_parse(compiled, sentence)
    assert walk_best(compiled, ["w99", "end"]).tree.children[0].words == ("w99", "end")
    walker = parse_module._walker(compiled)
    assert any(isinstance(state, parse_module._BigState) for state in walker._arcs.values())


def test_memo_bounded(monkeypatch):
    monkeypatch.setattr(parse_module, "MEMO_ENTRIES", 3)
    compiled = compile_bundle(single(rep(alts(*[tok(w) for w in "abcdefg"]), 1, None)))
    for sentence in (list("abcdefg"), list("gfedcba"), list("aaa"), list("abcdefg")):
        assert _same_parse(compiled, sentence)
    walker = parse_module._walker(compiled)
    assert len(walker._closures) <= 3 and len(walker._finals) <= 3


def test_over_budget_the_walk_gives_way(monkeypatch):
    compiled = compile_bundle(single(rep(alts(tok("a"), tok("b")), 1, None)))
    assert walk_best(compiled, ["a"] * 5) is not UNDECIDED
    monkeypatch.setattr(parse_module, "WALK_BUDGET", 2)
    assert walk_best(compiled, ["a"] * 5) is UNDECIDED
    assert parse_words(compiled, ["a"] * 5) == pynini_parses(compiled, ["a"] * 5)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_walk_agrees_with_openfst_on_random_grammars(data):
    leaves = st.one_of(st.sampled_from("abc").map(tok), st.just(tok("a b")), st.just(tag("t")),
                       st.sampled_from(("NULL", "GARBAGE")).map(special))
    expansion = data.draw(st.recursive(leaves, lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda items: seq(*items)),
        st.lists(st.tuples(inner, st.sampled_from((None, 0.5, 2.0))), min_size=1, max_size=3).map(
            lambda pairs: alts(*[e for e, _ in pairs], weights=[w for _, w in pairs])),
        st.tuples(inner, st.integers(0, 2), st.sampled_from((1, 2, None))).map(
            lambda t: rep(t[0], t[1], None if t[2] is None else t[1] + t[2]))), max_leaves=8))
    compiled = compile_bundle(single(expansion))
    for sentence in data.draw(st.lists(st.lists(st.sampled_from("abcz"), max_size=5), min_size=1, max_size=4)):
        _same_parse(compiled, sentence)


# --- SISR in Python -----------------------------------------------------------------------------


def _outcome(evaluate, tree):
    try:
        return "value", json.dumps(evaluate(tree))  # 1 and 1.0, True and 1 differ; so does key order
    except SemanticError as error:
        return "error", str(error), error.kind


def _no_engine(limits):
    raise AssertionError("the script engine was asked for")


def test_python_evaluation_equals_the_engine_on_every_w3c_case():
    compared = 0
    for name, text in W3C_CASES:
        compiled, bundle = _w3c(name)
        try:
            evaluator = SemanticEvaluator(semantics_of(bundle))
        except SrgsError:
            continue  # tags refused at load, on either path
        parses = parse_words(compiled, normalize_words(text, mode=bundle.main_grammar.mode))
        if parses:
            tree = parses[0].tree
            assert _outcome(evaluator.evaluate, tree) == _outcome(evaluator.evaluate_in_engine, tree), (name, text)
            compared += 1
    assert compared > 100


@pytest.mark.parametrize("name", BUILTINS)
def test_python_evaluation_equals_the_engine_on_builtin_grammars(name):
    compiled, bundle = _builtin(name)
    evaluator = SemanticEvaluator(semantics_of(bundle))
    for text in _builtin_texts(name):
        for parse in parse_words(compiled, normalize_words(text, mode=bundle.main_grammar.mode), nbest=3):
            assert _outcome(evaluator.evaluate, parse.tree) == _outcome(evaluator.evaluate_in_engine, parse.tree)


def test_a_literal_grammar_needs_no_engine():
    compiled, bundle = _builtin("yesno")
    evaluator = SemanticEvaluator(semantics_of(bundle), sandbox_factory=_no_engine)
    [parse] = parse_words(compiled, normalize_words("yeah please"))
    assert evaluator.evaluate(parse.tree) == "yes"


SCRIPT = GrammarSemantics("semantics/1.0", (), "en-US")


def node(name, *children, grammar="g"):
    return ParseRule(name, f"${name}", grammar, tuple(children))


def word(text):
    return ParseToken(text, tuple(text.split()))


def test_literal_rules_and_references_need_no_engine():
    evaluator = SemanticEvaluator({"g": SCRIPT}, sandbox_factory=_no_engine)
    digit = node("digit", word("one"), ParseTag("out = 1.0;"))
    assert evaluator.evaluate(node("main", digit, ParseTag("out = rules.digit;"))) == 1
    assert type(evaluator.evaluate(node("main", digit, ParseTag("out = rules.digit;")))) is int  # as JSON gives it
    assert evaluator.evaluate(node("main", digit, ParseTag("out=rules.latest()"))) == 1
    assert evaluator.evaluate(node("main", word("hi"), node("x", word("there")), ParseGarbage(("uh",)))) == "there"
    assert evaluator.evaluate(node("main", word("hi"), ParseGarbage(("uh",)))) == "hi uh"
    assert evaluator.evaluate(node("main", ParseTag("out = -0;"), ParseTag("out = 'a';"))) == "a"


@pytest.mark.parametrize("tree", [
    node("main", ParseTag("out = rules.digit;")),  # not matched (yet): undefined
    node("main", node("latest", word("a"), ParseTag("out = 2;")), ParseTag("out = rules.latest();")),
    node("main", ParseTag("out = rules.latest();")),
    node("main", node("toString", word("a")), ParseTag("out = rules.toString;")),
    node("main", node("d", word("a")), ParseTag("out = rules.d + 1;")),
])
def test_what_python_does_not_prove_goes_to_the_engine(tree):
    evaluator = SemanticEvaluator({"g": SCRIPT})
    assert _outcome(evaluator.evaluate, tree) == _outcome(evaluator.evaluate_in_engine, tree)


def test_header_tags_still_run_in_the_engine():
    throwing = GrammarSemantics("semantics/1.0", ('throw "boom";',), "en-US")
    leaf = node("leaf", word("a"), ParseTag("out = 1;"), grammar="h")
    for grammars, tree in (
        ({"g": throwing}, node("main", word("a"), ParseTag("out = 1;"))),  # the root's grammar
        ({"g": SCRIPT, "h": throwing}, node("main", node("mid", leaf), ParseTag("out = rules.mid;"))),
        ({"g": SCRIPT, "h": throwing}, node("main", node("mid", leaf), ParseTag("out.x = 1;"))),
    ):
        evaluator = SemanticEvaluator(grammars)
        with pytest.raises(SemanticError, match="boom"):
            evaluator.evaluate(tree)
        assert _outcome(evaluator.evaluate, tree) == _outcome(evaluator.evaluate_in_engine, tree)


def test_a_deep_tree_goes_to_the_engine_whole():
    tree = node("leaf", word("x"), ParseTag("out = 7;"))
    for _ in range(400):
        tree = node("r", tree)
    evaluator = SemanticEvaluator({"g": SCRIPT})
    assert evaluator.evaluate(tree) == evaluator.evaluate_in_engine(tree) == 7


def test_literal_tags_read_as_ecmascript_reads_them():
    # a raw tab in a string is ECMAScript (it made json.loads fail: a traceback, not a value)
    evaluator = SemanticEvaluator({"g": SCRIPT})
    assert evaluator.evaluate(node("main", ParseTag('out = "a\tb";'))) == "a\tb" == \
        evaluator.evaluate(node("main", ParseTag('out = "a\tb"; out = out;')))
    assert literal_assignment("out = 2.50;") == 2.5 and literal_assignment("out = -0.0;") == 0
    assert literal_assignment("\u00a0out\u2028=\ufeff'x'") == "x"
    # not ECMAScript whitespace / a line break inside a string: script, refused as the engine refuses it
    for text in ("out\x1c= 1;", 'out = "a\rb";', "out\x85= 1;"):
        assert literal_assignment(text) is _NOT_LITERAL
        with pytest.raises(SemanticError) as refused:
            SemanticEvaluator({"g": GrammarSemantics("semantics/1.0", (), None, (("main", (text,)),))})
        assert refused.value.kind == "syntax"
    assert python_tag("out = rules.a_b$;") == ((("out", ("rule", "a_b$")),), frozenset())
    assert python_tag("out = rules['a'];") is None


RULES = ("a", "b", "latest")
PRIMITIVES = st.sampled_from(('"x"', "'y'", "1", "2.5", "-0", "1.0", "true", "false", "null", '""', "0",
                              "999999999999999", "0.1"))
HEADER = ('var T = {one: "1", "two three": 2, x: null, toString: "s"}; var P = 5, Z = 0;',)


def _expressions():
    leaves = st.one_of(
        PRIMITIVES,
        st.sampled_from(RULES).map(lambda name: f"rules.{name}"),
        st.sampled_from(("rules.latest()", "meta.current().text", "out.k", "out.m", "P", "Z", "T",
                         "T['one']", "T[meta.current().text]", "T.one", "undefined", "rules.toString")),
    )
    return st.recursive(leaves, lambda inner: st.one_of(
        st.lists(inner, max_size=2).map(lambda items: f"[{', '.join(items)}]"),
        st.tuples(inner, inner).map(lambda pair: f"({pair[0]} || {pair[1]})"),
        st.tuples(inner, inner).map(lambda pair: f"{pair[0]}.concat({pair[1]})"),
        inner.map(lambda key: f"T[{key}]"),
    ), max_leaves=4)


def _statements():
    return st.one_of(
        _expressions().map(lambda e: f"out = {e}"),
        st.tuples(st.sampled_from("km"), _expressions()).map(lambda t: f"out.{t[0]} = {t[1]}"),
        st.tuples(st.sampled_from("km"), _expressions()).map(lambda t: f"out.{t[0]}.push({t[1]})"),
        _expressions().map(lambda e: f"out += {e}"),
        st.tuples(st.sampled_from("km"), _expressions()).map(lambda t: f"out.{t[0]} += {t[1]}"),
        st.sampled_from(("out.k = 1 + 1", "var T = 3", "out.k.push(out.k)", "out = out.k || {}")),  # the engine's
    )


def _tags():
    return st.lists(_statements(), min_size=1, max_size=2).map(lambda items: ParseTag("; ".join(items) + ";"))


def _trees():
    leaves = st.one_of(st.sampled_from(("one", "two three")).map(word), st.just(ParseGarbage(("uh",))), _tags())
    # g: scripts; h: with header variables; q: a header Python cannot make; lit: semantics/1.0-literals
    grammars = st.sampled_from(("g", "g", "h", "h", "q", "lit"))
    return st.recursive(
        st.builds(lambda name, children, g: node(name, *children, grammar=g), st.sampled_from(RULES),
                  st.lists(leaves, max_size=3), grammars),
        lambda inner: st.builds(lambda name, children, g: node(name, *children, grammar=g), st.sampled_from(RULES),
                                st.lists(st.one_of(leaves, inner), max_size=4), grammars),
        max_leaves=10)


def _evaluator():
    return SemanticEvaluator({
        "g": SCRIPT,
        "h": GrammarSemantics("semantics/1.0", HEADER, None),
        "q": GrammarSemantics("semantics/1.0", ("var T = [1]; var P = 5, Z = 0;",), None),
        "lit": GrammarSemantics("semantics/1.0-literals", (), None),
    })


EVALUATOR = _evaluator()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_trees())
def test_python_evaluation_equals_the_engine_on_random_trees(tree):
    # twice: the first evaluation registers the tree's tags (the second sees them all up front)
    for _ in range(2):
        assert _outcome(EVALUATOR.evaluate, tree) == _outcome(EVALUATOR.evaluate_in_engine, tree)


@pytest.mark.parametrize("name", ["pizza", "digits"])
def test_builtin_script_grammars_need_no_engine(name):
    compiled, bundle = _builtin(name)
    evaluator = SemanticEvaluator(semantics_of(bundle), sandbox_factory=_no_engine)
    for text in _builtin_texts(name):
        for parse in parse_words(compiled, normalize_words(text, mode=bundle.main_grammar.mode)):
            value = evaluator.evaluate(parse.tree)
            assert _outcome(lambda tree, value=value: value, parse.tree) == \
                _outcome(SemanticEvaluator(semantics_of(bundle)).evaluate_in_engine, parse.tree)


@pytest.mark.parametrize("tags, expected", [
    (["out.a = [1]; out.a.push(out.a);"], "exception"),  # circular: JSON.stringify throws
    (["var T = 1;", "out = T[meta.current().text];"], None),  # the rule's own var shadows the header's
    (["out = T[meta.current().text];", "var T = 1;"], None),
    (["out = T.one;"], None),
    (["out.a = [1]; out.b = out.a;"], None),  # shared: copied as the engine's JSON copies
])
def test_subset_edge_cases_equal_the_engine(tags, expected):
    evaluator = _evaluator()
    tree = node("r", word("one"), *[ParseTag(text) for text in tags], grammar="h")
    found = _outcome(evaluator.evaluate, tree)
    assert found == _outcome(evaluator.evaluate_in_engine, tree)
    if expected is not None:
        assert found[0] == "error" and found[2] == expected


def test_a_header_python_makes_is_read_not_run():
    evaluator = SemanticEvaluator({"h": GrammarSemantics("semantics/1.0", HEADER, None)}, sandbox_factory=_no_engine)
    assert evaluator.evaluate(node("r", word("two three"), ParseTag("out = T[meta.current().text];"), grammar="h")) == 2
    assert evaluator.evaluate(node("r", word("one"), ParseTag("out.v = [P].concat(Z || 'z');"), grammar="h")) == \
        {"v": [5, "z"]}


def test_interpret_results_unchanged_by_the_fast_paths():
    pizza = Interpreter.load("builtin:examples/pizza")
    grammar = pizza.grammars[0]
    for text in _builtin_texts("pizza"):
        result = pizza.interpret(text)
        words = normalize_words(text)
        expected = pynini_parses(grammar.compiled, words)
        if not expected:
            assert result.status == "NO_MATCH"
            continue
        [interpretation] = result.alternatives[0].interpretations
        assert interpretation.tree == expected[0].tree
        assert interpretation.value == grammar.evaluator.evaluate_in_engine(expected[0].tree, score=1.0)


def test_python_work_is_bounded(monkeypatch):
    from interpreter import sisr

    tree = node("r", *[item for _ in range(50) for item in (word("one"), ParseTag("out.t = (out.t || []).concat([1]);"))])
    calls = []
    evaluator = SemanticEvaluator({"g": SCRIPT})
    run = evaluator._run
    monkeypatch.setattr(evaluator, "_run", lambda *args: calls.append(1) or run(*args))
    assert evaluator.evaluate(tree) == {"t": [1] * 50} and not calls  # 50 * 51 / 2 copies: Python's
    monkeypatch.setattr(sisr, "PYTHON_WORK", 1000)
    assert evaluator.evaluate(tree) == {"t": [1] * 50} and calls  # over the budget: the engine's


def test_fast_paths_are_shared_safely_by_threads():
    import threading

    pizza = Interpreter.load("builtin:examples/pizza")
    texts = _builtin_texts("pizza") * 20
    expected = [pizza.interpret(text) for text in texts]
    failures: list[str] = []

    def run() -> None:
        for text, want in zip(texts, expected, strict=True):
            if pizza.interpret(text) != want:
                failures.append(text)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
