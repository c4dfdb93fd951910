"""Untrusted input stays within the optimisation budget (issue 7).

Counted repeats are built as the small automata they are; nothing whose cost is not bounded is
determinised or epsilon-removed in process; the optimiser child limits its own address space.
No test here is timed: each checks the structure that keeps the cost down.
"""

from __future__ import annotations

import math
import resource
import subprocess

import pynini
import pytest

from interpreter.parse import parse_words
from srgs.compile import CompileOptions, compile_bundle, optimize
from srgs.compile.weights import alternative_costs, repeat_costs
from srgs.errors import CompileError
from srgs.load.loader import bundle_from_text

from .models import alts, notation, ref, rep, rule, seq, single, special, tag, tok

P = pynini.FstProperties
INFINITY = float("inf")


def deterministic(fst: pynini.Fst) -> bool:
    return bool(fst.properties(P.I_DETERMINISTIC, True))


def accepts(compiled, words: list[str]) -> bool:
    """Whether the compiled token acceptor accepts the words, followed label by label."""
    acceptor = compiled.acceptor
    states = {acceptor.start()}
    for label in [compiled.word_labels[word] for word in words]:
        states = {arc.nextstate for state in states for arc in acceptor.arcs(state) if arc.ilabel == label}
        if not states:
            return False
    return any(float(acceptor.final(state)) < INFINITY for state in states)


# --- counted repeats are built small -----------------------------------------------------------

def test_a_counted_word_is_a_plain_chain():
    compiled = compile_bundle(single(rep(tok("a"), 6000, 6000)))
    # the chain itself (6001 states) and the rule events: no epsilon-joined copies (18,005)
    assert compiled.stats["raw_states"] <= 6005
    assert compiled.stats["optimized"]
    assert compiled.stats["acceptor"] == {"states": 6001, "arcs": 6000}
    assert deterministic(compiled.acceptor)
    assert accepts(compiled, ["a"] * 6000)
    assert not accepts(compiled, ["a"] * 5999) and not accepts(compiled, ["a"] * 6001)


def test_a_large_range_repeat_accepts_exactly_its_range():
    compiled = compile_bundle(single(rep(tok("a"), 50_000, 90_000)))
    assert compiled.stats["acceptor"] == {"states": 90_001, "arcs": 90_000}
    assert deterministic(compiled.acceptor)
    assert accepts(compiled, ["a"] * 50_000) and accepts(compiled, ["a"] * 90_000)
    assert not accepts(compiled, ["a"] * 49_999) and not accepts(compiled, ["a"] * 90_001)


def test_a_counted_one_of_is_a_plain_chain():
    compiled = compile_bundle(single(rep(alts(tok("a"), tok("b")), 6000, 6000)))
    assert compiled.stats["raw_states"] <= 6005
    assert compiled.stats["acceptor"] == {"states": 6001, "arcs": 12_000}
    assert deterministic(compiled.acceptor)
    assert accepts(compiled, ["a", "b"] * 3000)
    assert not accepts(compiled, ["b", "a"] * 2999 + ["b"])


@pytest.mark.parametrize(("expansion", "others", "states"), [
    (rep(seq(tok("a"), tok("b"), tok("c")), 6000, 6000), (), 18_001),              # a word sequence
    (rep(seq(tok("a"), tag("x"), tok("b")), 6000, 6000), (), 12_001),              # a tag inside
    (seq(ref("#r"), tok("b"), ref("#r")), (rule("r", rep(seq(tok("a"), tag("x")), 3000, 3000)),), 6002),
    (rep(alts(tok("a"), special("NULL")), 6000, 6000), (), 6001),                  # a nullable body
    (rep(rep(tok("a"), 0, 1), 2000, 6000), (), 6001),                              # an optional body
], ids=["sequence", "tag", "referenced-twice", "nullable", "optional"])
def test_counted_repeats_stay_linear(expansion, others, states):
    compiled = compile_bundle(single(expansion, *others))
    assert compiled.stats["optimized"]
    assert compiled.stats["acceptor"]["states"] == states
    assert deterministic(compiled.acceptor)
    for view in ("transducer", "acceptor"):  # not the quadratic arcs of an epsilon removal
        assert compiled.stats[view]["arcs"] <= 3 * compiled.stats[view]["states"]


def test_a_skipped_nullable_occurrence_keeps_its_cost():
    # (a /3/ | $NULL /1/)<3>: "a" is one "a" and two empty occurrences, in any order
    take_a, take_null = alternative_costs([3.0, 1.0])
    compiled = compile_bundle(single(rep(alts(tok("a"), special("NULL"), weights=[3.0, 1.0]), 3, 3)))
    [parse] = parse_words(compiled, ["a"])
    assert parse.cost == pytest.approx(take_a + 2 * take_null, abs=1e-4)
    [parse] = parse_words(compiled, [])
    assert parse.cost == pytest.approx(3 * take_null, abs=1e-4)
    assert not parse_words(compiled, ["a"] * 4)


def test_an_empty_occurrence_that_writes_a_tag_is_not_skipped():
    # ({x} | a)<3> read as "a": the tag may stand before, between or after: three parses
    compiled = compile_bundle(single(rep(alts(tag("x"), tok("a")), 3, 3)))
    trees = {notation(parse.tree) for parse in parse_words(compiled, ["a"], nbest=5)}
    assert trees == {'$main[{!{x}!},{!{x}!},"a"]', '$main[{!{x}!},"a",{!{x}!}]', '$main["a",{!{x}!},{!{x}!}]'}


@pytest.mark.parametrize(("low", "high", "words", "extra"), [
    (1, None, 3, 2),  # unbounded: the loop back needs no epsilon either
    (2, 4, 3, 1),
])
def test_repeat_probabilities_survive_the_plain_chain(low, high, words, extra):
    take, stop = repeat_costs(0.6)
    compiled = compile_bundle(single(rep(alts(tok("a"), tok("b")), low, high, prob=0.6)))
    [parse] = parse_words(compiled, ["a", "b", "a"][:words])
    expected = words * alternative_costs([None, None])[0] + extra * take + (stop if high is None or words < high else 0)
    assert parse.cost == pytest.approx(expected, abs=1e-4)


# --- nothing unbounded in process ----------------------------------------------------------------

def epsilon_ladder(count: int) -> pynini.Fst:
    """``(a | ε)`` ``count`` times: every state's epsilon closure holds all the later ones."""
    fst = pynini.Fst()
    fst.add_states(count + 1)
    fst.set_start(0)
    for state in range(count):
        fst.add_arc(state, pynini.Arc(1, 1, 0.0, state + 1))
        fst.add_arc(state, pynini.Arc(0, 0, 0.0, state + 1))
    fst.set_final(count)
    return fst


def test_a_quadratic_epsilon_removal_is_not_done_in_process():
    assert optimize.epsilon_removal_is_cheap(epsilon_ladder(20), acceptor=True)
    assert not optimize.epsilon_removal_is_cheap(epsilon_ladder(2000), acceptor=True)


def test_epsilon_removal_uses_a_queue_whose_work_follows_the_closures():
    # OpenFst's default queue for an acyclic epsilon graph scans the topological order between
    # a closure's first and last state: (a|$NULL)<100000>, where every count may end the rule,
    # took 14 s for 100,000 two-state closures. The estimate above assumes a FIFO queue.
    calls = []

    class Recording(pynini.Fst):
        def rmepsilon(self, *args, **kwargs):
            calls.append(kwargs)
            return super().rmepsilon(*args, **kwargs)

    fst = Recording()
    fst.add_states(2)
    fst.set_start(0)
    fst.add_arc(0, pynini.Arc(0, 0, 0.0, 1))
    fst.set_final(1)
    optimize._rmepsilon(fst)
    assert calls == [{"queue_type": "fifo"}] and fst.num_states() == 1


def ambiguous(tail: int) -> pynini.Fst:
    """``(a|b)* (a|c) (a|b)^tail``, epsilon-free: 2^(tail+1) subsets from tail + 3 states."""
    fst = pynini.Fst()
    fst.add_states(tail + 2)
    fst.set_start(0)
    for label in (1, 2):
        fst.add_arc(0, pynini.Arc(label, label, 0.0, 0))
    for label in (1, 3):
        fst.add_arc(0, pynini.Arc(label, label, 0.0, 1))
    for state in range(1, tail + 1):
        for label in (1, 2):
            fst.add_arc(state, pynini.Arc(label, label, 0.0, state + 1))
    fst.set_final(tail + 1)
    return fst


def test_an_exponential_determinisation_is_not_done_in_process():
    assert optimize.determinization_is_cheap(ambiguous(4), 4000)
    assert not optimize.determinization_is_cheap(ambiguous(25), 4000)
    # deterministic: cheap at any size
    chain = pynini.Fst()
    chain.add_states(10_001)
    chain.set_start(0)
    for state in range(10_000):
        chain.add_arc(state, pynini.Arc(1, 1, 0.0, state + 1))
    chain.set_final(10_000)
    assert optimize.determinization_is_cheap(chain, 4000)


def word_list(count: int) -> pynini.Fst:
    """``count`` two-word entries, many sharing their first word (not deterministic)."""
    fst = pynini.Fst()
    start, final = fst.add_state(), fst.add_state()
    fst.set_start(start)
    fst.set_final(final)
    for entry in range(count):
        middle = fst.add_state()
        fst.add_arc(start, pynini.Arc(10 + entry % 100, 0, 0.0, middle))
        fst.add_arc(middle, pynini.Arc(1000 + entry, 0, 0.0, final))
    return fst


def two_tracks(steps: int) -> pynini.Fst:
    """Two parallel tracks, each step leading from both to both: 2^steps paths."""
    fst = pynini.Fst()
    tracks = [(fst.add_state(), fst.add_state()) for _ in range(steps + 1)]
    fst.set_start(tracks[0][0])
    for here, there in zip(tracks, tracks[1:], strict=False):
        for source in here:
            for target in there:
                fst.add_arc(source, pynini.Arc(1, 1, 0.0, target))
    fst.set_final(tracks[-1][0])
    return fst


def test_a_word_list_is_determinised_in_process_by_its_path_count():
    # in_process_states=0: no subset construction tried here, only the path-count bound
    assert optimize.determinization_is_cheap(optimize._encoded(word_list(20_000))[0], 0)
    assert not optimize.determinization_is_cheap(optimize._encoded(two_tracks(64))[0], 0)


def test_a_small_but_exponential_grammar_is_determinised_in_the_child():
    # 30 states, 2^26 subsets: once determinised in process, whatever the budget said
    bundle = single(seq(rep(alts(tok("a"), tok("b")), 0, None), alts(tok("a"), tok("c")),
                        rep(alts(tok("a"), tok("b")), 25, 25)))
    compiled = compile_bundle(bundle, options=CompileOptions(optimize_timeout_s=0.3))
    assert compiled.stats["optimized"] is False
    assert parse_words(compiled, ["b", "c"] + ["a"] * 25)
    assert not parse_words(compiled, ["b"] * 26)


# --- the child process --------------------------------------------------------------------------

def nested_repeat(n: int):
    return single(rep(rep(alts(tok("a"), tok("b c"), tok("d")), 1, n), 1, n))


def test_the_child_sets_its_own_memory_limit(monkeypatch):
    calls = []
    run = subprocess.run

    def spy(command, **kwargs):
        calls.append((command, kwargs))
        return run(command, **kwargs)

    monkeypatch.setattr(optimize.subprocess, "run", spy)
    before = resource.getrlimit(resource.RLIMIT_AS)
    options = CompileOptions(optimize_in_process_states=1, optimize_memory_bytes=1536 * 2**20)
    compiled = compile_bundle(nested_repeat(3), options=options)
    assert compiled.stats["optimized"]
    assert calls
    for command, kwargs in calls:
        assert "preexec_fn" not in kwargs
        assert str(1536 * 2**20) in command
        assert kwargs["timeout"] == options.optimize_timeout_s
    assert resource.getrlimit(resource.RLIMIT_AS) == before


def test_the_child_memory_limit_holds():
    # 16 MiB: the child cannot even load OpenFst; the grammar is kept epsilon-free, same language
    options = CompileOptions(optimize_in_process_states=1, optimize_memory_bytes=16 * 2**20)
    compiled = compile_bundle(nested_repeat(3), options=options)
    assert compiled.stats["optimized"] is False
    assert parse_words(compiled, "a b c d".split())
    assert not parse_words(compiled, "a b".split())


def test_an_acceptor_that_cannot_be_made_epsilon_free_is_refused_where_its_rule_is():
    text = "#ABNF 1.0;\nlanguage en-US;\nroot $main;\n$main = " + " ".join(["(a | {x})"] * 600) + ";\n"
    bundle = bundle_from_text(text, source="ladder.gram")
    options = CompileOptions(optimize_memory_bytes=16 * 2**20)
    with pytest.raises(CompileError) as raised:
        compile_bundle(bundle, options=options)
    assert str(raised.value).startswith("ladder.gram:4:1: ")
    assert "too ambiguous" in raised.value.message and "optimize_timeout_s" in raised.value.message
    assert math.isfinite(options.optimize_timeout_s)
