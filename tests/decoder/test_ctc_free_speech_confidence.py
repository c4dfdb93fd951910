"""The CTC free-speech utterance confidence (``decoder.ctc_free_speech_confidence``): its measures on
made-up emissions, the logistic model, and on real decodes (hama's CTC model under a pizza-order
ARPA model): orders confident, babble, German and noise not. The last test is the session's
rejection (``CtcFreeSpeechSession(rejection_threshold=...)``), which needs the integration of the
confidence into ``decoder/ctc_free_speech.py``."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from decoder.audio import Audio, read_wav
from decoder.base import Recognition, WordTime
from decoder.ctc_backend import CtcModel
from decoder.ctc_free_speech import CtcFreeSpeechSession
from decoder.ctc_free_speech_confidence import (
    CONFIDENT_WORD,
    CTC_GENERAL_CONFIDENCE,
    CTC_USER_MODEL_CONFIDENCE,
    LOSS_CEILING,
    MEASURES,
    confidence_model_for,
    ctc_free_speech_confidence,
    ctc_free_speech_measures,
)
from decoder.ctc_lexicon_search import LexiconHypothesis
from decoder.free_speech import ConfidenceModel, free_speech_result, word_confidence
from decoder.lm import GENERAL, build_arpa
from srgs.load.policy import AccessPolicy
from tests.decoder.speech import synthesise

ROOT = Path(__file__).resolve().parents[2]
ORDER = "i want two large pizzas with mushrooms and olives"


# --- made-up emissions ---------------------------------------------------------------------------------

UNITS = ("<blank>", "<wb>", "a", "b")
BLANKS = [0, 1]


def _frames(tops: list[int], peak: float = 0.8) -> np.ndarray:
    """Log-probabilities whose top unit per frame is ``tops[frame]`` with probability ``peak``."""
    rest = (1 - peak) / (len(UNITS) - 1)
    out = np.full((len(tops), len(UNITS)), rest, dtype=np.float64)
    out[np.arange(len(tops)), tops] = peak
    return np.log(out).astype(np.float32)


def _recognition(words: list[tuple[str, int, int, int]], posterior: float = 0.9) -> Recognition:
    """A RECOGNIZED result of ``words`` (word, first frame, last frame, confidence) at 20 ms a frame."""
    text = tuple(word for word, *_ in words)
    result = free_speech_result("pizza.arpa", [(text, posterior), (text[:-1], 1 - posterior)], 2)
    times = tuple(WordTime(word=word, start=start * 0.02, end=(end + 1) * 0.02, confidence=confidence)
                  for word, start, end, confidence in words)
    return Recognition(result=result, words=times, hypotheses=(), audio_seconds=0.2, decode_seconds=0.0)


def test_measures_count_speech_frames_inside_words_and_sure_words():
    # 10 frames: 6 speech frames (2-4 and 6-8); "a" covers 2-4, "b" (unsure) covers 6-7
    tops = [0, 0, 2, 2, 3, 1, 2, 3, 3, 0]
    log_probs = _frames(tops)
    recognition = _recognition([("a", 2, 4, 90), ("b", 6, 7, CONFIDENT_WORD - 1)])
    greedy = float(log_probs.max(axis=1).sum())
    measures = ctc_free_speech_measures(recognition, log_probs, blank_ids=BLANKS, frame_seconds=0.02,
                                        acoustic=greedy - 3.0, lm=-6.0)
    assert measures["speech_frames"] == 6 and measures["words"] == 2
    assert measures["speech_share"] == pytest.approx(0.6)
    assert measures["coverage"] == pytest.approx(5 / 6)  # frame 8 is speech outside every word
    assert measures["confident_share"] == pytest.approx(3 / 6)  # only "a" is sure
    assert measures["word_confidence"] == pytest.approx((90 + CONFIDENT_WORD - 1) / 200)
    assert measures["best_posterior"] == pytest.approx(0.9)
    assert measures["lm_per_word"] == pytest.approx(-3.0)
    assert measures["acoustic_loss"] == pytest.approx(3.0 / 6)  # nats lost against the greedy path, per speech frame
    assert measures["phone_peak"] == pytest.approx(0.8, abs=1e-6)
    assert set(MEASURES) <= set(measures)
    # a path that loses more than the ceiling per frame, an impossible LM score: clipped
    clipped = ctc_free_speech_measures(recognition, log_probs, blank_ids=BLANKS, frame_seconds=0.02,
                                       acoustic=greedy - 1000.0, lm=-math.inf)
    assert clipped["acoustic_loss"] == LOSS_CEILING and clipped["lm_per_word"] == -12.0


def test_logistic_model_and_no_match():
    model = ConfidenceModel(weights={"coverage": 4.0, "acoustic_loss": -2.0}, bias=-1.0, threshold=0.5)
    measures = {"coverage": 0.9, "acoustic_loss": 0.5}
    z = -1.0 + 4.0 * 0.9 - 2.0 * 0.5
    assert model.confidence(measures) == pytest.approx(100 / (1 + math.exp(-z)))
    assert model.confidence({"coverage": 1e6, "acoustic_loss": 0.0}) == pytest.approx(100.0)
    assert model.confidence({"coverage": -1e6, "acoustic_loss": 0.0}) == pytest.approx(0.0, abs=1e-12)
    log_probs = _frames([0, 2, 2, 0])
    recognition = _recognition([("a", 1, 2, 100)])
    confidence, found = ctc_free_speech_confidence(recognition, log_probs, blank_ids=BLANKS, frame_seconds=0.02,
                                                   acoustic=float(log_probs.max(axis=1).sum()), lm=-1.0, model=model)
    assert confidence == pytest.approx(model.confidence(found.as_dict())) and found.confidence == confidence
    assert found.coverage == 1.0 and found.acoustic_loss == 0.0 and found.words == 1 and found.speech_frames == 2
    # NO_MATCH (no words): confidence 0 whatever the model
    nothing = Recognition(result=free_speech_result("pizza.arpa", [], 1), words=(), hypotheses=(), audio_seconds=0.1,
                          decode_seconds=0.0)
    assert ctc_free_speech_confidence(nothing, log_probs, blank_ids=BLANKS, frame_seconds=0.02, acoustic=0.0,
                                      lm=0.0, model=model)[0] == 0.0


def test_fitted_models_weigh_known_measures():
    assert confidence_model_for(GENERAL) is CTC_GENERAL_CONFIDENCE
    assert confidence_model_for("/models/pizza.arpa") is CTC_USER_MODEL_CONFIDENCE
    for model in (CTC_GENERAL_CONFIDENCE, CTC_USER_MODEL_CONFIDENCE):
        assert model.weights and set(model.weights) <= set(MEASURES) and 0 < model.threshold < 1
        # a path that fits the emissions worse is never more confident
        assert model.weights.get("acoustic_loss", 0.0) <= 0 and model.weights.get("coverage", 0.0) >= 0


# --- real decodes ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pizza_lm(tmp_path_factory) -> str:
    samples = subprocess.run([sys.executable, "-m", "srgs.cli", "generate", "builtin:examples/pizza", "-n", "200",
                              "--seed", "3"], check=True, capture_output=True, text=True, timeout=60, cwd=ROOT).stdout
    path = tmp_path_factory.mktemp("ctcconf") / "pizza.arpa"
    path.write_text(build_arpa(samples.splitlines(), 3), encoding="utf-8")
    return str(path)


def _decode(ctc: CtcModel, location: str, audio: Audio) -> tuple[Recognition, np.ndarray, LexiconHypothesis | None]:
    """The dynamic search's n-best of ``audio`` made into a Recognition as the session makes it
    (posteriors, word times and confidences), with the log-probabilities and the best hypothesis."""
    session = CtcFreeSpeechSession(ctc, location, policy=AccessPolicy.local())
    search = session._dynamic
    assert search is not None
    log_probs = ctc.log_probs(audio)
    found = search.decode(log_probs, lm_weight=session.lm_weight, word_bonus=session.word_bonus,
                          beam_size=session.beam_size, beam_threshold=session.beam_threshold, max_results=20)
    speech = ~np.isin(log_probs.argmax(axis=1), ctc.blank_ids())
    if not found or not speech.any():  # the session's NO_MATCH: no phone frame
        result = free_speech_result(location, [], 1)
        return Recognition(result=result, words=(), hypotheses=(), audio_seconds=audio.seconds,
                           decode_seconds=0.0), log_probs, None
    mass = [math.exp(hypothesis.score - found[0].score) for hypothesis in found]
    texts = [(hypothesis.words, value / math.fsum(mass)) for hypothesis, value in zip(found, mass, strict=True)]
    best = found[0]
    times = tuple(WordTime(word=word, start=start * ctc.frame_seconds, end=(end + 1) * ctc.frame_seconds,
                           confidence=round(100 * word_confidence(texts, best.words, index)))
                  for index, (word, (start, end)) in enumerate(zip(best.words, best.spans, strict=True)))
    return Recognition(result=free_speech_result(location, texts, 1), words=times, hypotheses=(),
                       audio_seconds=audio.seconds, decode_seconds=0.0), log_probs, best


def _confidence(ctc: CtcModel, location: str, audio: Audio) -> float:
    recognition, log_probs, best = _decode(ctc, location, audio)
    if best is None:
        return 0.0
    confidence, measures = ctc_free_speech_confidence(
        recognition, log_probs, blank_ids=ctc.blank_ids(), frame_seconds=ctc.frame_seconds, acoustic=best.acoustic,
        lm=best.lm, model=confidence_model_for(location))
    assert measures.confidence == confidence and measures.words == len(recognition.words)
    return confidence


def _babble(speech: Path) -> Audio:
    """Three voices saying different everyday sentences over each other."""
    parts = [read_wav(synthesise(text, speech, voice=voice)).samples.astype(np.float64) for text, voice in (
        ("the weather is nice today", "en-us"), ("my brother lives in new york", "en-us+f3"),
        ("please send me the report", "en-gb"))]
    mix = np.zeros(max(len(part) for part in parts) + 4000)
    for offset, part in zip((0, 2500, 5000), parts, strict=True):
        mix[offset:offset + len(part)] += part
    return Audio(np.clip(mix / 2, -32768, 32767).astype(np.int16))


def test_orders_are_confident_babble_german_and_noise_are_not(ctc, pizza_lm, speech):
    threshold = 100 * CTC_USER_MODEL_CONFIDENCE.threshold
    order = _confidence(ctc, pizza_lm, read_wav(synthesise(ORDER, speech)))
    assert order >= threshold
    babble = _confidence(ctc, pizza_lm, _babble(speech))
    german = _confidence(ctc, pizza_lm, read_wav(synthesise("guten Morgen, wie geht es Ihnen", speech, voice="de")))
    noise = _confidence(ctc, pizza_lm, Audio(np.random.default_rng(5).normal(0, 2000, 32000).astype(np.int16)))
    assert max(babble, german, noise) < threshold < order


# --- the session's rejection ---------------------------------------------------------------------------


def test_session_rejects_babble_and_keeps_orders(ctc, pizza_lm, speech):
    session = CtcFreeSpeechSession(ctc, pizza_lm, policy=AccessPolicy.local())
    assert session.rejection_threshold == CTC_USER_MODEL_CONFIDENCE.threshold  # the user model's by default
    kept = session.decode(read_wav(synthesise(ORDER, speech)))
    assert kept.result.status == "RECOGNIZED" and not kept.rejected
    assert kept.rejection_score is not None and kept.rejection_score >= session.rejection_threshold
    assert kept.result.alternatives[0].score == round(100 * kept.rejection_score)
    assert kept.result.alternatives[0].text == ORDER and [w.word for w in kept.words] == ORDER.split()
    babble = _babble(speech)
    rejected = session.decode(babble)
    assert rejected.result.status == "NO_MATCH" and rejected.rejected and rejected.words == ()
    assert rejected.rejection_score is not None and rejected.rejection_score < session.rejection_threshold
    # threshold 0 accepts whatever the search finds; the score is still the confidence
    accepting = CtcFreeSpeechSession(ctc, pizza_lm, policy=AccessPolicy.local(), rejection_threshold=0.0)
    again = accepting.decode(babble)
    assert again.result.status == "RECOGNIZED" and not again.rejected
    assert again.rejection_score == pytest.approx(rejected.rejection_score)


def test_stream_partials_are_not_rejected_the_final_result_is(ctc, pizza_lm, speech):
    session = CtcFreeSpeechSession(ctc, pizza_lm, policy=AccessPolicy.local(), rejection_threshold=1.0)
    audio = read_wav(synthesise(ORDER, speech))
    stream = session.stream()
    stream.feed(audio.samples.astype("<i2").tobytes())
    partial = stream.partial()  # a prefix of an utterance is not one: words even under a threshold of 1
    assert partial is not None and partial.result.status == "RECOGNIZED" and not partial.rejected
    assert partial.words and partial.rejection_score is not None and partial.rejection_score < 1.0
    final = stream.finish()
    assert final.result.status == "NO_MATCH" and final.rejected
