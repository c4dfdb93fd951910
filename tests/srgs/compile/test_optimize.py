"""Optimisation within a budget: an ambiguous grammar cannot make compilation hang."""

from __future__ import annotations

import time

from interpreter.parse import parse_words
from srgs.compile import CompileOptions, compile_bundle

from .models import alts, rep, single, tok


def nested_repeat(n: int):
    return single(rep(rep(alts(tok("a"), tok("b c"), tok("d")), 1, n), 1, n))


def test_over_budget_keeps_the_same_language_unoptimised():
    options = CompileOptions(optimize_in_process_states=10, optimize_timeout_s=0.2)
    start = time.perf_counter()
    compiled = compile_bundle(nested_repeat(40), options=options)
    assert time.perf_counter() - start < 10
    assert compiled.stats["optimized"] is False
    assert parse_words(compiled, "a b c d a".split())
    assert not parse_words(compiled, "a b".split())


def test_child_process_optimisation_gives_the_in_process_result():
    in_process = compile_bundle(nested_repeat(3))
    in_child = compile_bundle(nested_repeat(3), options=CompileOptions(optimize_in_process_states=1))
    assert in_process.stats["optimized"] and in_child.stats["optimized"]
    assert in_child.stats["transducer"] == in_process.stats["transducer"]
    for sentence in ("a", "a b c d", "d " * 9):
        words = sentence.split()
        assert bool(parse_words(in_child, words)) == bool(parse_words(in_process, words))
