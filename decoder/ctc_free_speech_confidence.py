"""An utterance confidence (0-100) for CTC free speech, and the threshold a session rejects under.

``decoder.ctc_free_speech`` finds the likeliest word string of a language model in any audio that
has a frame whose top CTC unit is a phone, so without a confidence noise, babble, tones and other
languages come back RECOGNIZED. ``ctc_free_speech_confidence`` measures a decode against the CTC
model's own emissions and combines the measures with a logistic model, as
``decoder.free_speech.free_speech_confidence`` does for pocketsphinx:

- ``speech_share``: share of the utterance's frames whose top unit is a phone (not the blank or
  ``<wb>``): the *speech frames*;
- ``coverage``: share of the speech frames inside the best path's words (their times in the
  ``Recognition``);
- ``confident_share``: share of the speech frames inside words whose confidence (their n-best
  posterior, ``decoder.free_speech.word_confidence``: ``WordTime.confidence``) is at least
  ``CONFIDENT_WORD`` percent;
- ``word_confidence``: the words' mean confidence (0-1);
- ``best_posterior``: the best text's posterior among the rescored n-best (the best alternative's
  score before any confidence is set, 0-1);
- ``lm_per_word``: the best path's language-model ln p (KenLM, ``</s>`` included) per word, clipped
  at ``-LM_FLOOR``;
- ``acoustic_loss``: what the best path's acoustic log-probability loses against the greedy path
  (each frame's top unit, no word constraint), per speech frame, clipped at ``LOSS_CEILING``;
- ``phone_peak``: the speech frames' mean top-unit probability (how sure the CTC model is of its phones).

The measures a ``ConfidenceModel`` names are weighted (``sigmoid(bias + sum weight x measure)``);
the others are reported. ``CTC_GENERAL_CONFIDENCE`` serves ``builtin:slm/general``,
``CTC_USER_MODEL_CONFIDENCE`` a user's model (``confidence_model_for(location)`` picks): both fitted by
``benchmarks/bench_free_speech_rejection.py --backend ctc --split tune --fit`` on the tuning half
only, each threshold the confidence that keeps 90% of that half's in-domain speech.

Measured (``benchmarks/bench_free_speech_rejection.py --backend ctc``, the held-out half: other
sentences, voices, speed, noise seeds and tones), share RECOGNIZED before (the session alone) and
after (confidence under the threshold is NO_MATCH):

- ``builtin:slm/general``: English kept 100% -> 92%; babble 100% -> 0%, pt-br / de / fr 100% -> 0%,
  tones 7% -> 0%; white and pink noise 0% already (no phone frame, NO_MATCH before any search).
- a user's model (pizza orders): orders kept 100% -> 100%; everyday English 100% -> 0%, babble,
  pt-br, de, fr 100% -> 0%, tones 7% -> 0%, noise 0%.

The data are espeak-ng voices only: how sure the CTC model is of real speakers' phones
(``phone_peak``), recorded through real microphones, is not measured here.

What a caller passes (everything a dynamic-search decode has at hand): the ``Recognition``, the
``[frames x units]`` log-probabilities it was decoded from, the model's blank ids
(``CtcModel.blank_ids()``) and frame length (``CtcModel.frame_seconds``), and the best hypothesis'
acoustic log-probability and LM ln p (``LexiconHypothesis.acoustic`` / ``.lm`` of the search's first
result). Costs a few array passes over the emissions: about 0.03 ms an utterance (CPU real-time factor
under 0.0001, against 0.15 for the general model's decode).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from decoder.base import Recognition
from decoder.ctc_backend import FloatArray
from decoder.free_speech import ConfidenceModel
from decoder.lm import GENERAL

CONFIDENT_WORD = 30  # a word this sure (its confidence, percent) counts in confident_share
LM_FLOOR = 12.0  # lm_per_word is clipped at -LM_FLOOR (nats per word)
LOSS_CEILING = 10.0  # acoustic_loss is clipped at this (nats per speech frame)
MEASURES = ("speech_share", "coverage", "confident_share", "word_confidence", "best_posterior", "lm_per_word",
            "acoustic_loss", "phone_peak")


# builtin:slm/general's, fitted by ``benchmarks/bench_free_speech_rejection.py --backend ctc --split tune --fit``
# (ridge 1) on its tuning half only: espeak-ng English in 4 voices at 150 and 175 wpm against babble,
# tones, pt-br, de and fr speech (white and pink noise never reach it: the CTC model hears only blanks,
# the session says NO_MATCH before any search). The measures were chosen by 4-fold cross-validation on
# that half (sentences held out): how sure the CTC model is of its phones (espeak's English against the
# rest), what the words cost the path against the greedy one, and the language model's likelihood of the
# words. The threshold keeps 90% of the tuning half's English (0.571).
CTC_GENERAL_CONFIDENCE = ConfidenceModel(
    weights={"lm_per_word": 0.223, "acoustic_loss": -0.816, "phone_peak": 9.151}, bias=-4.685, threshold=0.57)
# A user's model (``--lm pizza``: a grammar-shaped model of pizza orders; the in-domain set is 6 orders x
# the 4 tuning voices, everyday English one more out set). The general model's measures but the language
# score: a small model's score per word follows its vocabulary's size. The threshold keeps 90% of the
# tuning half's orders (0.762).
CTC_USER_MODEL_CONFIDENCE = ConfidenceModel(
    weights={"acoustic_loss": -1.850, "phone_peak": 6.498}, bias=-2.537, threshold=0.76)


def confidence_model_for(location: str) -> ConfidenceModel:
    """The confidence model of a free-speech location: the general model's or a user model's."""
    return CTC_GENERAL_CONFIDENCE if location == GENERAL else CTC_USER_MODEL_CONFIDENCE


@dataclass(frozen=True, slots=True)
class CtcFreeSpeechMeasures:
    """What the utterance confidence is made of (see the module docstring)."""

    words: int
    speech_frames: int
    speech_share: float
    coverage: float
    confident_share: float
    word_confidence: float
    best_posterior: float
    lm_per_word: float
    acoustic_loss: float
    phone_peak: float
    confidence: float  # 0-100

    def as_dict(self) -> dict[str, float]:
        return {name: float(getattr(self, name)) for name in self.__slots__}


def ctc_free_speech_measures(recognition: Recognition, log_probs: FloatArray, *, blank_ids: Sequence[int],
                             frame_seconds: float, acoustic: float, lm: float) -> dict[str, float]:
    """The measures (``MEASURES``, and the counts ``words`` and ``speech_frames``) of a decode; see
    ``ctc_free_speech_confidence``."""
    frames = int(log_probs.shape[0])
    top = log_probs.argmax(axis=1) if frames else np.zeros(0, dtype=np.int64)
    speech = np.ones(log_probs.shape[1], dtype=np.bool_)
    speech[list(blank_ids)] = False
    is_speech = speech[top]
    count = int(is_speech.sum())
    inside = np.zeros(frames, dtype=np.bool_)
    sure = np.zeros(frames, dtype=np.bool_)
    for word in recognition.words:
        start = max(0, int(round(word.start / frame_seconds)))
        end = min(frames, int(round(word.end / frame_seconds)))  # WordTime.end is the last frame + 1
        inside[start:end] = True
        if word.confidence >= CONFIDENT_WORD:
            sure[start:end] = True
    words = len(recognition.words)
    alternatives = recognition.result.alternatives
    peaks = log_probs.max(axis=1) if frames else np.zeros(0, dtype=np.float32)
    greedy = float(peaks.sum(dtype=np.float64))
    return {
        "words": float(words),
        "speech_frames": float(count),
        "speech_share": count / max(1, frames),
        "coverage": float((is_speech & inside).sum()) / count if count else 0.0,
        "confident_share": float((is_speech & sure).sum()) / count if count else 0.0,
        "word_confidence": (sum(word.confidence for word in recognition.words) / (100 * words)) if words else 0.0,
        "best_posterior": alternatives[0].score / 100 if alternatives else 0.0,
        "lm_per_word": max(-LM_FLOOR, lm / max(1, words)) if math.isfinite(lm) else -LM_FLOOR,
        "acoustic_loss": (min(LOSS_CEILING, max(0.0, (greedy - acoustic) / count))
                          if count and math.isfinite(acoustic) else LOSS_CEILING),
        "phone_peak": float(np.exp(peaks[is_speech]).mean()) if count else 0.0,
    }


def ctc_free_speech_confidence(recognition: Recognition, log_probs: FloatArray, *, blank_ids: Sequence[int],
                               frame_seconds: float, acoustic: float, lm: float,
                               model: ConfidenceModel = CTC_GENERAL_CONFIDENCE
                               ) -> tuple[float, CtcFreeSpeechMeasures]:
    """The utterance confidence (0-100) of a CTC free-speech decode and its measures.

    ``recognition``: the session's result (its best path's ``words`` with times and confidences,
    its alternatives' scores as the n-best posteriors); ``log_probs``: the ``[frames x units]``
    log-probabilities it was decoded from; ``blank_ids``: ``CtcModel.blank_ids()``;
    ``frame_seconds``: ``CtcModel.frame_seconds``; ``acoustic``: the best hypothesis' acoustic
    log-probability (``LexiconHypothesis.acoustic``); ``lm``: its language-model ln p with ``</s>``
    (``LexiconHypothesis.lm``); ``model``: the logistic model (``confidence_model_for(location)``).
    A NO_MATCH recognition (no words) has confidence 0."""
    measures = ctc_free_speech_measures(recognition, log_probs, blank_ids=blank_ids, frame_seconds=frame_seconds,
                                        acoustic=acoustic, lm=lm)
    confidence = model.confidence(measures) if recognition.words else 0.0
    words, speech_frames = int(measures.pop("words")), int(measures.pop("speech_frames"))
    return confidence, CtcFreeSpeechMeasures(words=words, speech_frames=speech_frames, confidence=confidence,
                                             **measures)


__all__ = ["CONFIDENT_WORD", "CTC_GENERAL_CONFIDENCE", "CTC_USER_MODEL_CONFIDENCE",
           "CtcFreeSpeechMeasures", "MEASURES", "confidence_model_for", "ctc_free_speech_confidence",
           "ctc_free_speech_measures"]
