"""Recursion (SRGS §5.4 / W3C recursion tests), repeat bounds and size limits."""

from __future__ import annotations

import time

import pytest

from interpreter.parse import parse_words
from srgs.compile import CompileOptions, compile_bundle
from srgs.errors import CompileError, GrammarValidationError
from srgs.model import RuleRef, SourceSpan, Tag

from .models import alts, notation, ref, rep, rule, seq, single, tok


def test_right_recursion_nests_the_rules():
    """W3C recursion.gram: $main = $recursion | test; $recursion = test $main."""
    bundle = single(alts(ref("#recursion"), tok("test")), rule("recursion", seq(tok("test"), ref("#main")), "private"))
    compiled = compile_bundle(bundle)
    [parse] = parse_words(compiled, "test test test".split())
    assert notation(parse.tree) == '$main[$recursion["test",$main[$recursion["test",$main["test"]]]]]'


def test_centre_recursion_is_bounded_by_the_depth_option():
    # $main = a [$main] b  -> a^n b^n, n <= depth + 1
    bundle = single(seq(tok("a"), rep(ref("#main"), 0, 1), tok("b")))
    compiled = compile_bundle(bundle, options=CompileOptions(recursion_depth=3))
    for n in range(1, 5):
        assert parse_words(compiled, ["a"] * n + ["b"] * n), n
    assert not parse_words(compiled, ["a"] * 5 + ["b"] * 5)
    assert not parse_words(compiled, ["a", "a", "b"])


def test_left_recursion_is_refused_with_the_cycle_and_positions():
    span_a = SourceSpan("g.gram", 3, 14)
    span_b = SourceSpan("g.gram", 4, 9)
    bundle = single(
        seq(RuleRef(uri="#list", span=span_a), tok("x")),
        rule("list", alts(tok("y"), seq(rep(tok("z"), 0, 1), RuleRef(uri="#main", span=span_b)))),
    )
    with pytest.raises(GrammarValidationError) as caught:
        compile_bundle(bundle)
    message = str(caught.value)
    assert message.startswith("g.gram:")
    assert "left recursion" in message and "$main" in message and "$list" in message
    assert "g.gram:3:14" in message and "g.gram:4:9" in message


def test_direct_left_recursion_through_a_nullable_rule():
    bundle = single(seq(ref("#empty"), ref("#main"), tok("x")), rule("empty", alts(tok("e"), Tag(text="t"))))
    with pytest.raises(GrammarValidationError, match="left recursion"):
        compile_bundle(bundle)


def test_huge_repeat_is_refused_quickly():
    bundle = single(rep(tok("x"), 1, 2_000_000))
    clock = time.perf_counter()
    with pytest.raises(CompileError, match="limit"):
        compile_bundle(bundle)
    assert time.perf_counter() - clock < 2.0


def test_large_repeat_within_the_limit_compiles_compactly():
    bundle = single(rep(tok("x"), 1, 5000))
    clock = time.perf_counter()
    compiled = compile_bundle(bundle)
    assert time.perf_counter() - clock < 10.0
    assert compiled.transducer.num_states() <= 5003
    assert parse_words(compiled, ["x"] * 5000)
    assert not parse_words(compiled, ["x"] * 5001)


def test_state_limit_is_a_clear_error():
    bundle = single(rep(alts(*[tok(f"w{i}") for i in range(50)]), 100, 100))
    with pytest.raises(CompileError, match="states"):
        compile_bundle(bundle, options=CompileOptions(max_states=200))
