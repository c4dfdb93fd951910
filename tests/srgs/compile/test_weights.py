"""Weights order the n-best list and never change what is accepted (SRGS §2.4.1, §2.5.1)."""

from __future__ import annotations

import math

import pytest

from interpreter.parse import parse_words
from srgs.compile import compile_bundle
from srgs.compile.weights import alternative_costs, repeat_costs

from .models import alts, notation, ref, rep, rule, seq, single, tag, tok


def ranked(bundle, text: str, nbest: int = 10) -> list[tuple[str, float]]:
    compiled = compile_bundle(bundle)
    return [(notation(p.tree), p.cost) for p in parse_words(compiled, text.split(), nbest=nbest)]


def test_alternative_costs_are_normalised_within_the_one_of():
    costs = alternative_costs([1.0, 3.0])
    assert costs[0] == pytest.approx(-math.log(0.25))
    assert costs[1] == pytest.approx(-math.log(0.75))
    assert alternative_costs([None, None]) == pytest.approx([math.log(2)] * 2)


def test_zero_weight_keeps_the_path_but_last():
    bundle = single(alts(seq(tok("a"), tag("zero")), seq(tok("a"), tag("one")), weights=[0.0, 1.0]))
    result = ranked(bundle, "a")
    assert [tree for tree, _ in result] == ['$main["a",{!{one}!}]', '$main["a",{!{zero}!}]']
    assert math.isfinite(result[1][1])


def test_weights_order_nbest_across_nesting():
    # Two readings of "a b": outer weight 1:4 favours the nested rule, whose own 3:1 favours "x".
    inner = rule("inner", alts(seq(tok("a"), tok("b"), tag("x")), seq(tok("a"), tok("b"), tag("y")),
                               weights=[3.0, 1.0]))
    bundle = single(alts(seq(tok("a"), tok("b"), tag("flat")), ref("#inner"), weights=[1.0, 4.0]), inner)
    result = ranked(bundle, "a b")
    # 0.8 * 0.75 = 0.6 first; then "flat" (0.2) and inner "y" (0.8 * 0.25 = 0.2), tied
    assert result[0][0] == '$main[$inner["a","b",{!{x}!}]]'
    assert {tree for tree, _ in result[1:]} == {'$main["a","b",{!{flat}!}]', '$main[$inner["a","b",{!{y}!}]]'}
    costs = dict(result)
    assert costs['$main[$inner["a","b",{!{y}!}]]'] == pytest.approx(-math.log(0.2), abs=1e-4)
    assert costs['$main[$inner["a","b",{!{x}!}]]'] == pytest.approx(-math.log(0.6), abs=1e-4)
    assert costs['$main["a","b",{!{flat}!}]'] == pytest.approx(-math.log(0.2), abs=1e-4)


def test_weights_do_not_change_acceptance():
    bundle = single(alts(tok("a"), tok("b"), weights=[1000.0, 0.001]))
    assert ranked(bundle, "b") and ranked(bundle, "a")


def test_repeat_probability_prices_each_optional_iteration():
    take, stop = repeat_costs(0.6)
    assert (take, stop) == (pytest.approx(-math.log(0.6)), pytest.approx(-math.log(0.4)))
    assert repeat_costs(None) == (0.0, 0.0)
    bundle = single(seq(tok("go"), rep(tok("x"), 0, 3, prob=0.6)))
    compiled = compile_bundle(bundle)
    for count in range(4):
        [parse] = parse_words(compiled, ["go"] + ["x"] * count)
        expected = count * -math.log(0.6) + (-math.log(0.4) if count < 3 else 0.0)
        assert parse.cost == pytest.approx(expected, abs=1e-4), count


def test_unbounded_repeat_probability_and_optional_ordering():
    bundle = single(rep(seq(tok("x"), rep(tag("t"), 0, 1, prob=0.9)), 1, None, prob=0.5))
    result = ranked(bundle, "x x", nbest=5)
    assert result[0][0] == '$main["x",{!{t}!},"x",{!{t}!}]'
    assert result[-1][0] == '$main["x","x"]'
    assert [cost for _, cost in result] == sorted(cost for _, cost in result)
