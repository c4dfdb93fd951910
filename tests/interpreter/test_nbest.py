"""Issue 7 (library side): n-best bound and merging, confidence threshold, grammar weights,
semantic failures in ``match``, the text limit from the options, the result's input mode."""

from __future__ import annotations

import math
import time

import pytest

import interpreter.api as api
from interpreter import Interpreter
from interpreter.api import MAX_NBEST, InterpreterOptions
from interpreter.match import MatchStatus
from srgs.errors import TextTooLongError
from srgs.load.loader import bundle_from_text

HEADER = "#ABNF 1.0 UTF-8;\nlanguage en-US;\nroot $main;\ntag-format <semantics/1.0>;\n"


def grammar(body: str, *, name: str = "g", mode: str = "voice", **options) -> Interpreter:
    header = HEADER.replace("language en-US;\n", "mode dtmf;\n") if mode == "dtmf" else HEADER
    return Interpreter.from_text(header + body, name=name, options=InterpreterOptions(**options))


def bundle(body: str, name: str):
    return bundle_from_text(HEADER + body, source=name)


def values(result) -> list:
    assert result.status == "RECOGNIZED", result
    return [i.value for i in result.alternatives[0].interpretations]


# --- 1. the n-best bound ----------------------------------------------------------------------

AMBIGUOUS = ("public $main = {out = 0;} ($x {out += rules.x;})<1-10>;\n"
             "$x = a {out = 1;} | a {out = 2;} | a {out = 3;} | a {out = 4;};\n")  # 4^10 parses


def test_max_nbest_is_a_documented_export():
    import interpreter

    assert MAX_NBEST == 100
    assert "MAX_NBEST" in api.__all__
    assert interpreter.MAX_NBEST == MAX_NBEST and "MAX_NBEST" in interpreter.__all__


@pytest.mark.parametrize("bad", [0, -1, MAX_NBEST + 1, 100_000, 10**12, "3", 2.0, True, None])
def test_options_refuse_nbest_out_of_range(bad):
    with pytest.raises(ValueError, match=r"^nbest must be between 1 and 100, got "):
        InterpreterOptions(nbest=bad)


def test_options_message_names_the_value():
    with pytest.raises(ValueError) as info:
        InterpreterOptions(nbest=0)
    assert str(info.value) == "nbest must be between 1 and 100, got 0"


@pytest.mark.parametrize("bad", [0, -5, MAX_NBEST + 1, 10**12, 1.5])
def test_interpret_refuses_nbest_out_of_range_instead_of_clamping(bad):
    g = grammar("public $main = hello;\n")
    with pytest.raises(ValueError, match="nbest must be between 1 and 100"):
        g.interpret("hello", nbest=bad)


def test_nbest_at_the_maximum_on_an_ambiguous_grammar_is_fast():
    g = grammar(AMBIGUOUS)
    g.interpret("a", nbest=1)  # the thread's script context
    clock = time.perf_counter()
    result = g.interpret("a " * 10, nbest=MAX_NBEST)
    elapsed = time.perf_counter() - clock
    assert elapsed < 1.0, f"nbest={MAX_NBEST} took {elapsed:.2f} s"
    found = values(result)
    assert 1 < len(found) <= MAX_NBEST
    assert all(10 <= v <= 40 for v in found)
    assert len(set(found)) == len(found)


# --- 2. equal values merged -------------------------------------------------------------------

SAME_VALUE = ("public $main = /4/ $a | /2/ $b | /1/ $c;\n"
              "$a = red {out = 'R';};\n$b = red {out = 'R';};\n$c = red {out = 'B';};\n")


def test_equal_values_are_one_interpretation_with_the_best_score():
    g = grammar(SAME_VALUE)
    result = g.interpret("red", nbest=3)
    assert len(result.alternatives) == 1  # one text, one grammar: one alternative
    interpretations = result.alternatives[0].interpretations
    assert [i.value for i in interpretations] == ["R", "B"]
    assert interpretations[0].score == 100  # the better of the two 'R' parses
    assert interpretations[0].tree.children[0].name == "a"  # and that parse's tree
    assert interpretations[1].score < 100


def test_merging_fills_the_nbest_with_more_parses():
    # The two best parses give 'R': nbest=2 must search further and still return two values.
    assert values(grammar(SAME_VALUE).interpret("red", nbest=2)) == ["R", "B"]


def test_values_equal_as_canonical_json_merge():
    g = grammar("public $main = /3/ $a | /1/ $b;\n"
                "$a = go {!{out.x = 1; out.y = [1, {p: true, q: null}];}!};\n"
                "$b = go {!{out.y = [1, {q: null, p: true}]; out.x = 1.0;}!};\n")
    assert values(g.interpret("go", nbest=5)) == [{"x": 1, "y": [1, {"p": True, "q": None}]}]


def test_different_values_are_kept_apart():
    g = grammar("public $main = $a | $b | $c;\n$a = go {out = 1;};\n$b = go {out = '1';};\n"
                "$c = go {out = true;};\n")
    assert sorted(map(repr, values(g.interpret("go", nbest=5)))) == ["'1'", "1", "True"]


def test_without_semantics_each_parse_stays_one_interpretation():
    g = grammar(SAME_VALUE, semantics=False)
    trees = [i.tree.children[0].name for i in g.interpret("red", nbest=3).alternatives[0].interpretations]
    assert trees == ["a", "b", "c"]


def test_a_failing_best_parse_is_not_replaced_by_a_worse_one():
    g = grammar("public $main = /3/ $a | /1/ $b;\n$a = go {out = undefined_name;};\n$b = go {out = 'ok';};\n")
    result = g.interpret("go")
    assert result.status == "FAILURE" and "undefined_name" in result.error
    assert values(g.interpret("go", nbest=2)) == ["ok"]  # a failed parse just has no value


def test_merging_cost_is_bounded_by_max_nbest_parses(monkeypatch):
    # 4^10 parses, all the same value: the search stops at MAX_NBEST parses.
    g = grammar("public $main = ($x | $y | $z | $w)<1-10>;\n$x = a;\n$y = a;\n$z = a;\n$w = a;\n")
    asked = []
    real = api.parse_words

    def spy(compiled, words, *, nbest=1):
        asked.append(nbest)
        return real(compiled, words, nbest=nbest)

    monkeypatch.setattr(api, "parse_words", spy)
    assert values(g.interpret("a " * 10, nbest=3)) == ["a"]  # the latest rule's value
    assert max(asked) == MAX_NBEST and asked == sorted(asked)


# --- 3. confidence threshold ------------------------------------------------------------------

WEIGHTED = "public $main = /3/ $a | /1/ $b;\n$a = red {out = 'A';};\n$b = red {out = 'B';};\n"


@pytest.mark.parametrize("bad", [-1, 101, 0.5, "50", True])
def test_confidence_threshold_is_validated(bad):
    with pytest.raises(ValueError, match="confidence_threshold must be between 0 and 100"):
        InterpreterOptions(confidence_threshold=bad)
    with pytest.raises(ValueError, match="confidence_threshold must be between 0 and 100"):
        grammar("public $main = hello;\n").interpret("hello", confidence_threshold=bad)


def test_interpretations_under_the_threshold_are_dropped():
    g = grammar(WEIGHTED)
    both = g.interpret("red", nbest=2).alternatives[0].interpretations
    assert [i.value for i in both] == ["A", "B"]
    low = both[1].score
    assert 0 < low < 100
    assert values(g.interpret("red", nbest=2, confidence_threshold=low)) == ["A", "B"]
    assert values(g.interpret("red", nbest=2, confidence_threshold=low + 1)) == ["A"]
    assert values(grammar(WEIGHTED, nbest=2, confidence_threshold=low + 1).interpret("red")) == ["A"]


def test_nothing_over_the_threshold_is_no_match():
    g = grammar("public $main = hello $GARBAGE;\n", confidence_threshold=60)
    assert g.interpret("hello world").status == "NO_MATCH"  # half the words are garbage: 50
    assert g.interpret("hello world", confidence_threshold=50).status == "RECOGNIZED"
    assert g.interpret("hello world", confidence_threshold=0).alternatives[0].score == 50


def test_tags_of_parses_under_the_threshold_are_not_run():
    g = grammar("public $main = /9/ $a | /1/ $b;\n$a = go {out = 'a';};\n$b = go {out = broken_name;};\n")
    assert g.interpret("go", nbest=2).status == "RECOGNIZED"
    assert values(g.interpret("go", nbest=2, confidence_threshold=50)) == ["a"]


# --- 4. weights -------------------------------------------------------------------------------

TWO = [("pizza", "public $main = red {out = 'pizza';};\n"), ("drinks", "public $main = red {out = 'drink';};\n")]


@pytest.mark.parametrize("bad", [0, -1, 0.0, math.inf, -math.inf, math.nan, "2", True, None])
def test_bad_weights_are_refused_naming_value_and_grammar(bad):
    bundles = [(name, bundle(body, name)) for name, body in TWO]
    with pytest.raises(ValueError) as info:
        Interpreter.from_bundles(bundles, weights=[1.0, bad])
    message = str(info.value)
    assert "drinks" in message and repr(bad) in message and "finite number > 0" in message


def test_load_checks_weights_before_reading_grammars():
    with pytest.raises(ValueError, match=r"grammar builtin:examples/digits must be a finite number > 0, got nan"):
        Interpreter.load(["builtin:examples/yesno", "builtin:examples/digits"], weights=[1, math.nan])
    with pytest.raises(ValueError, match="2 weight"):
        Interpreter.load(["builtin:examples/yesno"], weights=[1, 2])


@pytest.mark.parametrize("weights", [[1, 3], [1e-300, 3e-300], [1e308, 1.5e308]])
def test_weights_choose_between_grammars_at_any_magnitude(weights):
    bundles = [(name, bundle(body, name)) for name, body in TWO]
    g = Interpreter.from_bundles(bundles, weights=weights)
    result = g.interpret("red", nbest=2)
    assert [alt.lm for alt in result.alternatives] == ["drinks", "pizza"]
    assert all(math.isfinite(active.weight_cost) for active in g.grammars)


# --- 5. semantic failures in match --------------------------------------------------------------


def test_match_reports_a_semantic_failure_like_interpret():
    g = grammar("public $main = go [on] {out = missing_name;};\n")
    result = g.match("go")
    assert result.status == MatchStatus.MATCH  # the status the tokens reached
    assert result.interpretation is None
    assert result.failed and "missing_name" in result.error
    assert result.to_json_dict()["error"]["message"] == result.error
    interpreted = g.interpret("go")
    assert interpreted.status == "FAILURE" and interpreted.error == result.error
    assert g.match("go on").status == MatchStatus.MATCH_END and g.match("go on").failed


def test_match_without_failure_has_no_error():
    result = grammar("public $main = go {out = 1;};\n").match("go")
    assert result.interpretation == 1 and result.error is None and not result.failed
    assert "error" not in result.to_json_dict()


# --- 7. the text limit comes from the options ---------------------------------------------------


def test_text_limit_is_an_option():
    g = grammar("public $main = hello<1->;\n", max_text_chars=20)
    assert g.interpret("hello hello hello").status == "RECOGNIZED"
    with pytest.raises(TextTooLongError, match="longer than 20 characters"):
        g.interpret("hello " * 4)
    with pytest.raises(TextTooLongError, match="longer than 20 characters"):
        g.match("hello " * 4)
    with pytest.raises(ValueError, match="max_text_chars"):
        InterpreterOptions(max_text_chars=0)


# --- the result's input mode ----------------------------------------------------------------


def test_result_mode_follows_the_grammars():
    digits = grammar("public $main = (1 | 2 | 3)<1->;\n", mode="dtmf")
    assert digits.interpret("12").mode == "dtmf"
    assert digits.interpret("9").status == "NO_MATCH" and digits.interpret("9").mode == "dtmf"
    voice = grammar("public $main = one;\n")
    assert voice.interpret("one").mode == "voice" and voice.interpret("nine").mode == "voice"
    both = Interpreter.from_bundles([("voice", bundle("public $main = one;\n", "voice")),
                                     ("keys", bundle_from_text(HEADER.replace("language en-US;\n", "mode dtmf;\n")
                                                               + "public $main = 1 | 2;\n", source="keys"))])
    assert both.interpret("1").mode == "dtmf"  # the matched grammar's mode
    assert both.interpret("one").mode == "voice"
    assert both.interpret("nine").mode == "voice"  # not all active grammars are dtmf
