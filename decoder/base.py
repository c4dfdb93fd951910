"""What every decoder back end shares: its result types and the interface callers program to.

A back end (pocketsphinx, CTC, ...) is a model object loaded once per process and shared; from it
a caller makes a ``DecoderSession`` for one activation of the grammar store (or one free-speech
language model), which decodes whole utterances (``decode``) or a stream of audio chunks
(``stream``). Every result is a ``Recognition``: the interpreter's result for the n-best the
search kept, the best path's words with times and confidences, and what it cost. The server and
the command line use only this module's names, so a back end can be swapped by configuration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from srgs.errors import SrgsError

if TYPE_CHECKING:
    from decoder.audio import Audio
    from interpreter.results import RecognitionResult


class DecoderError(SrgsError):
    """A grammar, model or audio the decoder cannot use (one-line message)."""


@dataclass(frozen=True, slots=True)
class WordTime:
    """One word of the best path: times in seconds from the start of the audio."""

    word: str
    start: float
    end: float
    confidence: int  # 0-100: the word's posterior

    def to_json_dict(self) -> dict[str, object]:
        return {"word": self.word, "start": round(self.start, 3), "end": round(self.end, 3),
                "confidence": self.confidence}


@dataclass(frozen=True, slots=True)
class Recognition:
    """A decoded utterance: the interpreter's result, the best path's words with their times,
    the n-best the decoder gave (words, acoustic cost, grammar) and the time it took."""

    result: RecognitionResult
    words: tuple[WordTime, ...]
    hypotheses: tuple[tuple[tuple[str, ...], float, str | None], ...]
    audio_seconds: float
    decode_seconds: float
    # how well the grammar explains the speech (0-1, back-end specific); None when the search
    # found no sentence (nothing to compare)
    rejection_score: float | None = None
    rejected: bool = False  # NO_MATCH because rejection_score < the session's threshold

    @property
    def real_time_factor(self) -> float:
        return self.decode_seconds / self.audio_seconds if self.audio_seconds > 0 else 0.0


class DecoderStream(Protocol):
    """One utterance arriving in chunks: 16-bit little-endian mono PCM at the model's rate."""

    def feed(self, pcm: bytes) -> None:
        """Add audio; cheap enough to call for every 20-100 ms chunk."""

    def partial(self) -> Recognition | None:
        """The best hypothesis so far (None before any word), without ending the utterance."""

    def finish(self) -> Recognition:
        """End the utterance: the final n-best and interpretation."""

    def cancel(self) -> None:
        """Drop the utterance; the stream cannot be used afterwards."""


class DecoderSession(Protocol):
    """A decoder for one activation (or one free-speech model); one per caller, not shared."""

    def decode(self, audio: Audio, *, nbest: int | None = None) -> Recognition:
        """Decode one whole utterance."""

    def stream(self, *, nbest: int | None = None) -> DecoderStream:
        """Start an utterance fed in chunks."""

    def close(self) -> None:
        """Release what the session holds in the shared model."""


__all__ = ["DecoderError", "DecoderSession", "DecoderStream", "Recognition", "WordTime"]
