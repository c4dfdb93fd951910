"""Free speech on the CTC back end: espeak-ng audio decoded by hama's phoneme CTC model under a
grammar-shaped ARPA model built by ``build_arpa`` from ``srgs generate`` samples; the back-off
automaton against KenLM, NO_MATCH on silence and noise, streaming, refused locations."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from decoder.audio import Audio, read_wav
from decoder.base import DecoderError
from decoder.ctc_free_speech import CtcFreeSpeechSession, NgramAutomaton, ctc_free_speech_session, read_arpa
from decoder.lm import GENERAL, LanguageModel, LmError, build_arpa, sphinx_general_lm
from interpreter.formats import to_json_dict
from srgs.errors import AccessDeniedError
from srgs.load.policy import AccessPolicy
from tests.decoder.checks import assert_alternatives_ranked, assert_words_timed
from tests.decoder.speech import synthesise

ROOT = Path(__file__).resolve().parents[2]
PIZZA_SENTENCE = "i want two large pizzas with mushrooms and olives"


@pytest.fixture(scope="module")
def corpus() -> list[str]:
    out = subprocess.run([sys.executable, "-m", "srgs.cli", "generate", "builtin:examples/pizza", "-n", "200", "--seed",
                          "3"], check=True, capture_output=True, text=True, timeout=60, cwd=ROOT).stdout
    return out.splitlines()


@pytest.fixture(scope="module")
def pizza_lm(tmp_path_factory, corpus) -> str:
    path = tmp_path_factory.mktemp("ctcslm") / "pizza.arpa"
    path.write_text(build_arpa(corpus, 3), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module", params=["dynamic", "static"])
def session(ctc, pizza_lm, request):
    with CtcFreeSpeechSession(ctc, pizza_lm, policy=AccessPolicy.local(), nbest=3, search=request.param) as made:
        assert made.search == request.param
        yield made


def test_pizza_sentence_comes_back_with_word_times(session, pizza_lm, speech):
    audio = read_wav(synthesise(PIZZA_SENTENCE, speech))
    recognition = session.decode(audio)
    result = recognition.result
    assert result.status == "RECOGNIZED"
    best = result.alternatives[0]
    assert best.text == PIZZA_SENTENCE and best.lm == pizza_lm  # WER 0 on this sentence
    assert [i.value for i in best.interpretations] == [PIZZA_SENTENCE]
    assert_alternatives_ranked(recognition, 3)
    assert best.score > 50
    assert_words_timed(recognition, PIZZA_SENTENCE, audio.seconds)
    assert recognition.hypotheses[0][0] == tuple(PIZZA_SENTENCE.split()) and recognition.hypotheses[0][2] == pizza_lm
    assert recognition.hypotheses[0][1] == 0.0 and all(h[1] >= 0 for h in recognition.hypotheses)
    # the dynamic search's rejection score is the utterance confidence (decoder.ctc_free_speech_confidence)
    assert (recognition.rejection_score is None) == (session.search == "static") and not recognition.rejected
    assert recognition.real_time_factor < 1.0
    assert to_json_dict(result)["alternatives"][0]["interpretations"] == [PIZZA_SENTENCE]
    # a stream fed in 100 ms chunks ends with the same result
    stream = session.stream()
    pcm = audio.pcm()
    for start in range(0, len(pcm), 3200):
        stream.feed(pcm[start:start + 3200])
    assert stream.finish().result.alternatives[0].text == PIZZA_SENTENCE


def test_silence_and_noise_are_no_match(session):
    rng = np.random.default_rng(7)
    for samples in (np.zeros(16000, dtype=np.int16), rng.normal(0, 30, 24000).astype(np.int16),
                    rng.normal(0, 3000, 24000).astype(np.int16)):
        recognition = session.decode(Audio(samples))
        assert recognition.result.status == "NO_MATCH"
        assert recognition.result.alternatives == () and recognition.words == () and recognition.hypotheses == ()


def test_backoff_automaton_costs_are_kenlm_costs(pizza_lm, corpus):
    tables = read_arpa(pizza_lm)
    automaton = NgramAutomaton(tables, {word[0] for word in tables[0]})
    lm = LanguageModel(pizza_lm)
    for sentence in corpus[:50]:  # seen sentences: every n-gram is explicit, the Viterbi back-off is exact
        assert automaton.path_cost(sentence.split()) == pytest.approx(-lm.score(sentence) * math.log(10), abs=1e-3)
    # an unseen order backs off; Viterbi takes the cheapest path, never dearer than the exact sum
    unseen = "olives please two pizzas".split()
    assert automaton.path_cost(unseen) <= -lm.score(unseen) * math.log(10) + 1e-6
    # words left out of the automaton (unpronounceable) cannot be read
    without = NgramAutomaton(tables, {word[0] for word in tables[0]} - {"olives"})
    assert math.isinf(without.path_cost(["olives"])) and "olives" not in without.words


def test_refused_locations_are_one_line_errors(ctc, pizza_lm, tmp_path):
    with pytest.raises(AccessDeniedError, match="not allowed here"):
        ctc_free_speech_session(ctc, pizza_lm)  # the default policy (a server's clients'): no files
    with pytest.raises(AccessDeniedError, match="built-in models are not allowed"):
        ctc_free_speech_session(ctc, GENERAL, policy=AccessPolicy(builtin=False))
    with pytest.raises(DecoderError, match="search must be 'dynamic' or 'static'"):
        CtcFreeSpeechSession(ctc, pizza_lm, policy=AccessPolicy.local(), search="tree")
    with pytest.raises(LmError, match="reads ARPA models.*not a trie binary file"):
        CtcFreeSpeechSession(ctc, sphinx_general_lm(), policy=AccessPolicy.local(), search="static")
    broken = tmp_path / "broken.arpa"
    broken.write_text("\\data\\\nngram 1=3\n\n\\1-grams:\n-1.0\ta\n\\end\\\n", encoding="utf-8")
    with pytest.raises(LmError, match="1-gram section has 1 entries"):
        ctc_free_speech_session(ctc, str(broken), policy=AccessPolicy.local())
    with pytest.raises(DecoderError, match="lm_weight must be a finite number"):
        CtcFreeSpeechSession(ctc, pizza_lm, policy=AccessPolicy.local(), lm_weight=math.nan)


def test_models_too_large_for_the_static_graph_are_refused_by_it(ctc, pizza_lm, speech, monkeypatch):
    import decoder.ctc_free_speech as module

    assert ctc_free_speech_session(ctc, pizza_lm, policy=AccessPolicy.local()).search == "dynamic"  # the default
    static = CtcFreeSpeechSession(ctc, pizza_lm, policy=AccessPolicy.local(), search="static")
    states = static._shared.graph.num_emitting  # the estimate made before building is exact
    monkeypatch.setattr(module, "MAX_GRAPH_STATES", states - 1)
    with pytest.raises(LmError, match=f"too large for the CTC back end's static free-speech search .*{states} search "
                       "states.*use the dynamic search"):
        CtcFreeSpeechSession(ctc, pizza_lm, policy=AccessPolicy.local(), word_bonus=0.25, search="static")
    monkeypatch.setattr(module, "MAX_GRAPH_STATES", states)
    built = CtcFreeSpeechSession(ctc, pizza_lm, policy=AccessPolicy.local(), word_bonus=0.75, search="static")
    assert built._shared.graph.num_emitting == states
    # a model with more n-grams than the static search reads is refused before they are read
    monkeypatch.setattr(module, "MAX_STATIC_NGRAMS", 10)
    ngrams = sum(len(table) for table in read_arpa(pizza_lm))
    with pytest.raises(LmError, match=rf"too large for the CTC back end's static free-speech search \({ngrams} "
                       "n-grams, at most 10"):
        CtcFreeSpeechSession(ctc, pizza_lm, policy=AccessPolicy.local(), search="static")
    with pytest.raises(LmError, match="too large for the CTC back end's static"):
        CtcFreeSpeechSession(ctc, GENERAL, policy=AccessPolicy.local(), search="static")
    # the dynamic search takes it
    result = ctc_free_speech_session(ctc, pizza_lm, policy=AccessPolicy.local()).decode(
        read_wav(synthesise(PIZZA_SENTENCE, speech))).result
    assert result.status == "RECOGNIZED" and result.alternatives[0].text == PIZZA_SENTENCE
