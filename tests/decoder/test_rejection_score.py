"""The pocketsphinx back end's rejection score: its measures, the coverage and acoustic factors
chosen on the tuning set (benchmarks/bench_rejection.py --tuning), and the tuning rule."""

from __future__ import annotations

import pytest

from benchmarks.bench_rejection import choose_threshold, measures_from_json, measures_json
from decoder.audio import read_wav
from decoder.pocketsphinx_backend import (
    COVERAGE_AT_THRESHOLD,
    DEFAULT_REJECTION_THRESHOLD,
    LLR_AT_THRESHOLD,
    LLR_FULL,
    NARROWBAND_LLR_SHIFT,
    RejectionMeasures,
    rejection_score_of,
)
from tests.decoder.speech import synthesise


def measures(coverage: float, ratio: float | None, *, narrowband: bool = False) -> RejectionMeasures:
    return RejectionMeasures(coverage=coverage, ratio=ratio, word_ratios=(("yes", 20, 20 * (ratio or 0.0)),),
                             narrowband=narrowband, speech_frames=40, phones=6, seconds=1.0)


def test_the_score_is_the_lower_of_the_coverage_and_the_acoustic_match():
    assert rejection_score_of(measures(1.0, LLR_FULL)) == pytest.approx(1.0)
    assert rejection_score_of(measures(COVERAGE_AT_THRESHOLD, LLR_FULL)) == pytest.approx(DEFAULT_REJECTION_THRESHOLD)
    assert rejection_score_of(measures(1.0, LLR_AT_THRESHOLD)) == pytest.approx(DEFAULT_REJECTION_THRESHOLD)
    assert rejection_score_of(measures(0.0, LLR_FULL)) == 0.0
    assert rejection_score_of(measures(1.0, None)) == 1.0  # no grammar word: the coverage alone


def test_speech_the_grammar_covers_at_95_percent_is_rejected_even_when_its_words_match():
    # the former score took the coverage as it is (0.95 >= 0.70): out-of-grammar speech whose
    # filler and number words the grammar stretched over 90-96% of the speech was accepted
    score = rejection_score_of(measures(0.95, -3.0))
    assert score < DEFAULT_REJECTION_THRESHOLD
    assert rejection_score_of(measures(0.98, -3.0)) >= DEFAULT_REJECTION_THRESHOLD
    # acoustic_check=False: the share itself, as before
    assert rejection_score_of(measures(0.95, -3.0), acoustic_check=False) == 0.95


def test_the_acoustic_bound_moved_to_the_tuned_ratio_and_telephone_audio_keeps_its_shift():
    assert rejection_score_of(measures(1.0, -5.3)) >= DEFAULT_REJECTION_THRESHOLD  # rejected at -5.0 before
    assert rejection_score_of(measures(1.0, -5.5)) < DEFAULT_REJECTION_THRESHOLD
    telephone = measures(1.0, LLR_AT_THRESHOLD + NARROWBAND_LLR_SHIFT, narrowband=True)
    assert rejection_score_of(telephone) == pytest.approx(DEFAULT_REJECTION_THRESHOLD)


def test_measures_round_trip_through_the_benchmark_json():
    original = RejectionMeasures(coverage=0.9, ratio=-4.5, word_ratios=(("two", 12, -50.0),), narrowband=True,
                                 speech_frames=30, phones=5, seconds=1.2, word_posteriors=(0.8,),
                                 word_phones=("T", "UW"), loop_phones=("T", "UW", "S"), loop_loglik=-0.001)
    assert measures_from_json(measures_json(original)) == original
    assert measures_from_json(None) is None


def test_the_tuning_rule_keeps_the_most_subject_to_the_out_of_grammar_floor():
    # (in grammar, correct, score): 10 out-of-grammar utterances, 4 correct in-grammar ones
    scores = [(False, False, s) for s in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.65, 0.72, 0.8, 0.9)]
    scores += [(True, True, s) for s in (0.75, 0.85, 0.95, 1.0)] + [(True, False, None)]
    candidates = [0.6, 0.7, 0.75, 0.85, 0.95]
    assert choose_threshold(scores, candidates, min_oog=0.8) == 0.75  # 8/10 rejected, all 4 kept
    assert choose_threshold(scores, candidates, min_oog=0.9) == 0.85  # 9/10: one in-grammar lost
    assert choose_threshold(scores, candidates, min_oog=1.0) == 0.95
    assert choose_threshold(scores, [0.5], min_oog=0.9) is None


@pytest.mark.parametrize("grammar, text, voice, speed", [
    # out-of-grammar utterances of the tuning set the former score accepted (coverage 0.84 and
    # 0.94 with a fair acoustic match): the grammar forced "well exactly it is" and "nought"
    ("builtin:grammar/boolean", "how old is the president", "en-us+f2", 190),
    ("builtin:grammar/number", "i lost my credit card", "en-gb", 160),
])
def test_forced_fits_of_out_of_grammar_speech_are_rejected(store, model, speech, grammar, text, voice, speed):
    audio = read_wav(synthesise(text, speech, voice=voice, speed=speed))
    with model.session(store.activate([grammar])) as session:
        recognition = session.decode(audio)
        found = session.measures
    assert recognition.hypotheses  # the search did force a sentence of the grammar on it
    assert found is not None and recognition.rejection_score == rejection_score_of(found)
    assert DEFAULT_REJECTION_THRESHOLD <= found.coverage < COVERAGE_AT_THRESHOLD  # the coverage alone kept it
    assert recognition.result.status == "NO_MATCH" and recognition.rejected
    assert found.word_ratios and found.loop_phones and found.word_phones


def test_in_grammar_speech_passes_both_bounds(store, model, speech):
    audio = read_wav(synthesise("a small pizza with ham", speech))
    with model.session(store.activate(["builtin:examples/pizza"])) as session:
        recognition = session.decode(audio)
        found = session.measures
    assert recognition.result.status == "RECOGNIZED"
    assert found is not None and found.coverage >= COVERAGE_AT_THRESHOLD
    assert found.ratio is not None and found.ratio >= LLR_AT_THRESHOLD
    assert [word for word, _, _ in found.word_ratios] == ["a", "small", "pizza", "with", "ham"]
