"""Text -> parse trees, and the prefix tests of incremental matching (SRGS §2, SISR §6)."""

from __future__ import annotations

import time

import pytest

from interpreter.parse import can_continue, complete, is_prefix, parse_words
from interpreter.tree import ParseGarbage, ParseRule, ParseTag, ParseToken
from srgs.compile import compile_bundle
from tests.srgs.compile.models import alts, notation, ref, rep, rule, seq, single, special, tag, tok


@pytest.fixture(scope="module")
def pizza():
    size = rule("size", alts(*[seq(tok(s), tag(f'out="{s}"')) for s in ("small", "medium", "large", "extra large")]))
    topping = rule("topping", alts(*[seq(tok(t), tag(f'out="{t}"'))
                                     for t in ("cheese", "ham", "olives", "green peppers", "onions")]))
    toppings = seq(tok("with"), ref("#topping"), rep(seq(rep(tok("and"), 0, 1), ref("#topping")), 0, None))
    main = seq(rep(alts(tok("i want"), tok("give me")), 0, 1), rep(tok("a"), 0, 1), ref("#size"), tok("pizza"),
               rep(toppings, 0, 1), rep(special("GARBAGE"), 0, 1))
    return compile_bundle(single(main, size, topping))


def test_tree_structure(pizza):
    [parse] = parse_words(pizza, "a large pizza with ham and green peppers".split())
    tree = parse.tree
    assert isinstance(tree, ParseRule) and (tree.name, tree.label, tree.grammar) == ("main", "$main", "test.grxml")
    assert tree.words == tuple("a large pizza with ham and green peppers".split())
    size = tree.children[1]
    assert size == ParseRule(name="size", label="$size", grammar="test.grxml",
                             children=(ParseToken(text="large", words=("large",)), ParseTag(text='out="large"')))
    last = tree.children[-1]
    assert last.children[0] == ParseToken(text="green peppers", words=("green", "peppers"))


def test_no_match_is_an_empty_list(pizza):
    assert parse_words(pizza, ["pizza"]) == []
    assert parse_words(pizza, []) == []


def test_garbage_carries_its_words_including_unknown_ones(pizza):
    [parse] = parse_words(pizza, "small pizza extra cheese xyzzy".split())
    assert parse.tree.children[-1] == ParseGarbage(words=("extra", "cheese", "xyzzy"))


def test_nbest_distinct_in_cost_order(pizza):
    parses = parse_words(pizza, "large pizza with ham olives".split(), nbest=4)
    trees = [notation(p.tree) for p in parses]
    assert len(set(trees)) == len(trees) >= 2
    assert [p.cost for p in parses] == sorted(p.cost for p in parses)
    assert trees[0] == '$main[$size["large",{!{out="large"}!}],"pizza","with",$topping["ham",{!{out="ham"}!}],' \
                       '$topping["olives",{!{out="olives"}!}]]'


def test_ambiguous_grammar_returns_each_reading():
    compiled = compile_bundle(single(alts(seq(tok("a"), tag("one")), seq(tok("a"), tag("two")), seq(tok("a"), tag("two")))))
    parses = parse_words(compiled, ["a"], nbest=5)
    assert sorted(notation(p.tree) for p in parses) == ['$main["a",{!{one}!}]', '$main["a",{!{two}!}]']


def test_prefix_helpers_for_incremental_dtmf():
    keys = alts(*[tok(k) for k in "0123456789"])
    compiled = compile_bundle(single(seq(rep(keys, 2, 4), rep(tok("#"), 0, 1)), mode="dtmf"))
    state = lambda words: (is_prefix(compiled, words), complete(compiled, words), can_continue(compiled, words))
    assert state([]) == (True, False, True)
    assert state(["1"]) == (True, False, True)  # PARTIAL
    assert state(["1", "2"]) == (True, True, True)  # MATCH, more possible
    assert state(["1", "2", "3", "4", "#"]) == (True, True, False)  # MATCH_END
    assert state(["#"]) == (False, False, False)  # NO_MATCH


def test_hot_path_is_fast(pizza):
    words = "i want a large pizza with ham and olives please".split()
    parse_words(pizza, words)
    timings = []
    for _ in range(50):
        clock = time.perf_counter()
        parse_words(pizza, words)
        timings.append(time.perf_counter() - clock)
    timings.sort()
    assert timings[len(timings) // 2] < 0.005  # target < 1 ms; loose bound for loaded CI machines
