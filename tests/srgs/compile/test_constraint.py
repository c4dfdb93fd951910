"""The decoder constraint: one word table, the weighted union, the grammar of every path."""

from __future__ import annotations

import json
import math

import pynini
import pytest

from srgs.compile import compile_bundle
from srgs.compile.constraint import ConstraintGrammar, GrammarConstraint
from srgs.load.loader import bundle_from_text

YESNO = "#ABNF 1.0 UTF-8;\nlanguage en-US;\nroot $yn;\npublic $yn = yes | no | yes please;\n"
COLOURS = "#ABNF 1.0 UTF-8;\nlanguage en-US;\nroot $c;\npublic $c = red | green | yes (/2/ please | /1/ sir);\n"
GARBAGE = "#ABNF 1.0 UTF-8;\nlanguage en-US;\nroot $g;\npublic $g = call $GARBAGE;\n"


def compiled(text: str):
    return compile_bundle(bundle_from_text(text, source="inline.gram"))


@pytest.fixture(scope="module")
def constraint() -> GrammarConstraint:
    return GrammarConstraint([ConstraintGrammar("yesno", compiled(YESNO), 1.0),
                              ConstraintGrammar("colours", compiled(COLOURS), 3.0)])


def fst_cost(fst: pynini.Fst, words: list[str]) -> float:
    """Shortest distance of ``words`` through the exported acceptor (inf: rejected)."""
    table = fst.input_symbols()
    path = pynini.Fst()
    path.set_start(path.add_state())
    for word in words:
        label = table.find(word)
        if label < 0:
            return math.inf
        nxt = path.add_state()
        path.add_arc(nxt - 1, pynini.Arc(label, label, pynini.Weight.one("tropical"), nxt))
    path.set_final(path.num_states() - 1)
    result = pynini.compose(path, fst.copy().arcsort("ilabel"))
    if result.start() < 0:
        return math.inf
    distance = pynini.shortestdistance(result, reverse=True)
    return float(distance[result.start()]) if distance else math.inf


def test_one_word_table_for_all_grammars(constraint):
    assert constraint.words[:3] == ["<eps>", "<any>", "<unk>"]
    assert len(constraint.words) == len(set(constraint.words))
    assert {"yes", "no", "please", "red", "green", "sir"} <= set(constraint.words)


def test_every_path_knows_its_grammar(constraint):
    assert constraint.accepts(["no"])[1] == 0
    assert constraint.accepts(["red"])[1] == 1
    assert constraint.accepts(["yes", "sir"])[1] == 1
    assert constraint.accepts(["sir"]) is None
    assert constraint.accepts(["yes", "red"]) is None


def test_weights_of_the_activation_are_costs(constraint):
    # "yes" is in both grammars; yesno has weight 1 of 4, colours 3 of 4 but "yes" alone is not
    # a colours sentence, so only yesno's path counts.
    cost, grammar = constraint.accepts(["yes"])
    assert grammar == 0
    only_yesno = GrammarConstraint([ConstraintGrammar("yesno", compiled(YESNO), 1.0)])
    assert cost == pytest.approx(only_yesno.accepts(["yes"])[0] - math.log(1 / 4))


@pytest.mark.parametrize("words", [["yes"], ["no"], ["yes", "please"], ["red"], ["yes", "sir"],
                                   ["yes", "please", "sir"], ["green", "green"], []])
def test_exported_acceptor_agrees_with_the_search_api(constraint, words):
    walked = constraint.accepts(words)
    exported = fst_cost(constraint.to_fst(), words)
    if walked is None:
        assert exported == math.inf
    else:
        assert exported == pytest.approx(walked[0], abs=1e-4)


def test_arc_list_is_json_and_complete(constraint):
    data = json.loads(json.dumps(constraint.to_arc_list()))
    assert data["start"] == 0
    assert len(data["arcs"]) == sum(len(constraint.arcs(s)) for s in range(constraint.num_states))
    assert [g["name"] for g in data["grammars"]] == ["yesno", "colours"]
    states = {arc[0] for arc in data["arcs"]} | {arc[1] for arc in data["arcs"]}
    assert max(states) < constraint.num_states


def test_garbage_reads_any_word():
    constraint = GrammarConstraint([ConstraintGrammar("g", compiled(GARBAGE))])
    assert constraint.accepts(["call", "anybody", "at", "all"]) is not None
    assert constraint.accepts(["hello"]) is None


@pytest.mark.parametrize("weight", [0.0, -1.0, math.inf, math.nan])
def test_bad_weights_are_refused(weight):
    with pytest.raises(ValueError, match="weight"):
        GrammarConstraint([ConstraintGrammar("yesno", compiled(YESNO), weight)])
