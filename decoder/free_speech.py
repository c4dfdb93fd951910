"""Free speech: decoding with an n-gram language model instead of a grammar (pocketsphinx).

``free_speech_session(model, location)`` makes a ``DecoderSession`` (``decoder.base``) over the
shared ``PocketsphinxModel``: the language model at ``location`` is added to the model's
pocketsphinx decoder as an n-gram search under a name of its own (removed again by ``close()``),
and ``decode(audio)`` runs pocketsphinx's n-gram search on the whole utterance.

``location``:

- ``builtin:slm/general``: the English trigram model the pocketsphinx wheel ships
  (``en-us.lm.bin``, 72k words), used as it is;
- a user's model: an ARPA file (``srgs lm build`` writes one) or pocketsphinx's own binary
  format, as a path or ``file:`` URI. KenLM's binary format is for ``decoder.lm.LanguageModel``
  (KenLM scoring, a CTC decoder), not for pocketsphinx: it is refused with a message saying so.
  Words of an ARPA model the pronunciation dictionary lacks get pronunciations as grammar words
  do (``PocketsphinxModel.pronounce``: digits as number words, others by G2P); a word neither
  gives stays out of the search (``session.unpronounceable`` lists them).

Who may name a file: the caller passes an ``AccessPolicy`` (``srgs.load.policy``). The default is
``AccessPolicy.closed()``, a server's clients': built-in models only, files only under its
``roots``; the command line passes ``AccessPolicy.local()``. The refusal is decided from the
location alone, before the file is looked at.

Results: a ``Recognition`` whose ``RecognitionResult`` is RECOGNIZED with the n-best word strings as
alternatives (``lm`` = the location, one interpretation each whose value is the text, as SISR
gives a grammar without tags) or NO_MATCH when nothing but silence and fillers was recognised.
Confidence: pocketsphinx's lattice n-best paths (up to ``NBEST_PATHS``) are turned into posteriors
(``exp(-cost)`` normalised, costs on the scale of pocketsphinx's own word posteriors, see
``SCORE_SHIFT``) and summed per distinct word string: an alternative's score is its text's share.
A word's confidence is the share of that mass whose word string has the same word at the same
place (counted from the start or from the end). Word times come from the best path's segmentation.
"""

from __future__ import annotations

import math
import os
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from decoder.audio import Audio
from decoder.base import DecoderError, DecoderSession, DecoderStream, Recognition, WordTime
from decoder.lm import GENERAL, LmError, sphinx_general_lm
from interpreter.results import Alternative, Interpretation, RecognitionResult
from interpreter.tree import ParseRule, ParseToken
from srgs.errors import AccessDeniedError
from srgs.load.policy import AccessPolicy
from srgs.model import SourceSpan

if TYPE_CHECKING:
    from decoder.pocketsphinx_backend import PocketsphinxModel

NBEST_PATHS = 50  # lattice paths read for the confidences (distinct texts are fewer)
MAX_PRONOUNCED = 5000  # at most this many ARPA words missing from the dictionary are given pronunciations
KENLM_MAGIC = b"mmap lm "
SILENCE_PEAK = 2  # audio whose samples never exceed this (digital silence) is NO_MATCH without a search
PARTIAL_INTERVAL_S = 0.3  # a buffered stream's partial() decodes again only after this much new audio


def _is_filler(word: str) -> bool:
    return word.startswith(("<", "[", "+")) or word in ("", "<s>", "</s>", "<sil>")


def _base_word(word: str) -> str:
    if word.endswith(")") and "(" in word:
        return word[: word.rindex("(")]
    return word


def resolve_free_speech_location(location: str, policy: AccessPolicy | None = None) -> str:
    """The file behind ``location`` when ``policy`` lets its caller read it, else an
    ``AccessDeniedError`` (decided from the location alone); an unknown built-in is a ``LmError``."""
    policy = policy if policy is not None else AccessPolicy.closed()
    if location.startswith("builtin:"):
        if not policy.builtin:
            raise AccessDeniedError(f"cannot use {location}: built-in models are not allowed here (AccessPolicy.builtin)")
        if location != GENERAL:
            raise LmError(f"unknown built-in language model {location!r} (known: {GENERAL})")
        return sphinx_general_lm()
    parts = urllib.parse.urlsplit(location)
    if parts.scheme == "file":
        path = Path(urllib.parse.unquote(parts.path))
    elif parts.scheme and len(parts.scheme) > 1:
        raise LmError(f"cannot read a language model from {location!r}: give builtin:slm/general, a path or a file: URI")
    else:
        path = Path(location)
    resolved = path.resolve()
    roots = policy.caller_roots()
    if roots is not None and not any(resolved == root or root in resolved.parents for root in roots):
        if not roots:
            raise AccessDeniedError(f"cannot read {location}: language model files are not allowed here "
                                    "(only builtin:slm/general; a server grants directories with AccessPolicy.roots)")
        allowed = ", ".join(str(root) for root in roots)
        raise AccessDeniedError(f"{resolved} is outside the allowed directories ({allowed})")
    if resolved.is_dir():
        raise LmError(f"{resolved} is a directory, not a language model file", SourceSpan(location, 0, 0))
    if not resolved.is_file():
        raise LmError(f"language model file not found: {resolved}", SourceSpan(location, 0, 0))
    return str(resolved)


def arpa_vocabulary(path: str, *, limit: int = 10_000_000) -> list[str]:
    """The unigrams of an ARPA file (empty for a binary one): what the search can recognise."""
    words: list[str] = []
    try:
        with open(path, "rb") as handle:
            head = handle.read(64)
            if b"\\data\\" not in head and not head.lstrip().startswith((b"\\", b"This")) and b"ngram" not in head:
                return []
            handle.seek(0)
            inside = False
            for raw in handle:
                line = raw.strip()
                if line == b"\\1-grams:":
                    inside = True
                    continue
                if not inside or not line:
                    continue
                if line.startswith(b"\\"):
                    break
                fields = line.split()
                if len(fields) >= 2:
                    words.append(fields[1].decode("utf-8", "replace"))
                    if len(words) >= limit:
                        break
    except OSError as exc:
        raise LmError(f"cannot read {path}: {exc.strerror}", SourceSpan(path, 0, 0)) from None
    return words


@dataclass(slots=True)
class FreeSpeechSession:
    """One caller's free-speech decoder (its n-gram search is added to the shared model)."""

    model: PocketsphinxModel
    location: str
    nbest: int = 1
    policy: AccessPolicy | None = None
    path: str = field(init=False)
    search: str = field(init=False)
    closed: bool = field(init=False, default=False)
    unpronounceable: tuple[str, ...] = field(init=False, default=())

    def __post_init__(self) -> None:
        from interpreter.api import check_nbest

        try:
            self.nbest = check_nbest(self.nbest)
        except ValueError as exc:
            raise DecoderError(str(exc)) from None
        self.path = resolve_free_speech_location(self.location, self.policy)
        with open(self.path, "rb") as handle:
            magic = handle.read(len(KENLM_MAGIC))
        if magic == KENLM_MAGIC:
            raise LmError("a KenLM binary model, which pocketsphinx cannot read: give the ARPA file "
                          "(srgs lm build writes one) for pocketsphinx free speech", SourceSpan(self.location, 0, 0))
        if self.location != GENERAL:
            self._pronounce_vocabulary()
        self.search = self.model._new_search_name().replace("session", "slm")
        with self.model.lock:
            try:
                self.model._decoder.add_lm_file(self.search, self.path)
            except (RuntimeError, ValueError) as exc:
                raise LmError(f"pocketsphinx could not read this language model ({exc})",
                              SourceSpan(self.location, 0, 0)) from None

    def _pronounce_vocabulary(self) -> None:
        missing = [word for word in arpa_vocabulary(self.path)
                   if not _is_filler(word) and word != "<unk>" and self.model.spell(word) is None]
        failed = [word for word in missing[:MAX_PRONOUNCED] if self.model.pronounce(word) is None]
        self.unpronounceable = tuple(failed + missing[MAX_PRONOUNCED:])

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            with self.model.lock:
                try:
                    self.model._decoder.remove_search(self.search)
                except (KeyError, RuntimeError, AttributeError):
                    pass

    def __enter__(self) -> FreeSpeechSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def decode(self, audio: Audio, *, nbest: int | None = None) -> Recognition:
        """Decode one whole utterance with the language model."""
        return self.decode_pcm(audio.pcm(), rate=audio.rate, nbest=nbest)

    def decode_pcm(self, pcm: bytes, *, rate: int, nbest: int | None = None) -> Recognition:
        """``decode`` for raw 16-bit little-endian mono PCM at ``rate`` Hz."""
        from interpreter.api import check_nbest

        if self.closed:
            raise DecoderError("this decoder session is closed")
        if rate != self.model.sample_rate:
            raise DecoderError(f"audio at {rate} Hz: the model takes {self.model.sample_rate} Hz")
        try:
            count = self.nbest if nbest is None else check_nbest(nbest)
        except ValueError as exc:
            raise DecoderError(str(exc)) from None
        seconds = len(pcm) // 2 / rate
        began = time.perf_counter()
        if _digital_silence(pcm):  # pocketsphinx's feature normalisation makes words of all-zero audio
            return Recognition(result=RecognitionResult(status="NO_MATCH", alternatives=(), mode="voice"), words=(),
                               hypotheses=(), audio_seconds=seconds, decode_seconds=time.perf_counter() - began)
        decoder = self.model._decoder
        with self.model.lock:
            decoder.activate_search(self.search)
            decoder.start_utt()
            decoder.process_raw(pcm, full_utt=True)
            decoder.end_utt()
            best = decoder.hyp()
            segments: list[tuple[str, int, int]] = []
            paths: list[tuple[tuple[str, ...], float]] = []
            if best is not None and best.hypstr:
                segments = [(str(s.word), int(s.start_frame), int(s.end_frame)) for s in decoder.seg()]
                paths.append((_words(str(best.hypstr)), float(best.score)))
                for index, entry in enumerate(decoder.nbest()):
                    if index >= NBEST_PATHS:
                        break
                    if entry is not None and entry.hypstr is not None:
                        paths.append((_words(str(entry.hypstr)), float(entry.score)))
        best_words = tuple(_base_word(word) for word, _, _ in segments if not _is_filler(word))
        texts, hypotheses = self._posteriors(paths, best_words)
        result = self._result(texts, count)
        rate_frames = self.model.frame_rate
        times: list[WordTime] = []
        if result.status == "RECOGNIZED":
            position = 0
            for word, start, end in segments:
                if _is_filler(word):
                    continue
                confidence = _word_confidence(texts, best_words, position)
                times.append(WordTime(word=_base_word(word), start=start / rate_frames, end=(end + 1) / rate_frames,
                                      confidence=max(0, min(100, round(100 * confidence)))))
                position += 1
        return Recognition(result=result, words=tuple(times), hypotheses=tuple(hypotheses[:count]),
                           audio_seconds=seconds, decode_seconds=time.perf_counter() - began)

    def _posteriors(self, paths: list[tuple[tuple[str, ...], float]], best: tuple[str, ...]
                    ) -> tuple[list[tuple[tuple[str, ...], float]], list[tuple[tuple[str, ...], float, str | None]]]:
        """Distinct word strings with their posterior (best first) and the decoder's n-best as
        (words, cost, lm) with each string's lowest cost."""
        scale = self.model.score_scale
        costs: dict[tuple[str, ...], float] = {}
        entries: list[tuple[tuple[str, ...], float]] = []
        for words, score in paths[1:] or paths:
            cost = -math.log(score) * scale if score > 0 else math.inf
            entries.append((words, cost))
            if words not in costs or cost < costs[words]:
                costs[words] = cost
        finite = [cost for _, cost in entries if math.isfinite(cost)]
        mass: dict[tuple[str, ...], float] = {}
        if finite:
            low = min(finite)
            for words, cost in entries:
                if math.isfinite(cost):
                    mass[words] = mass.get(words, 0.0) + math.exp(low - cost)
        if best and best not in mass:  # the best path is always an alternative
            mass[best] = max(mass.values(), default=1.0)
            costs.setdefault(best, min(costs.values(), default=0.0))
        mass.pop((), None)
        total = math.fsum(mass.values())
        texts = sorted(((words, value / total) for words, value in mass.items()),
                       key=lambda item: (item[0] != best, -item[1]))
        hypotheses: list[tuple[tuple[str, ...], float, str | None]] = [
            (words, costs.get(words, 0.0), self.location) for words, _ in texts]
        return texts, hypotheses

    def _result(self, texts: list[tuple[tuple[str, ...], float]], count: int) -> RecognitionResult:
        if not texts:
            return RecognitionResult(status="NO_MATCH", alternatives=(), mode="voice")
        alternatives = []
        for words, posterior in texts[:count]:
            text = " ".join(words)
            score = max(0, min(100, round(100 * posterior)))
            tree = ParseRule(name="free_speech", label="$free_speech", grammar=self.location,
                             children=tuple(ParseToken(text=word, words=(word,)) for word in words))
            alternatives.append(Alternative(text=text, score=score, lm=self.location,
                                            interpretations=(Interpretation(value=text, score=score, tree=tree),)))
        return RecognitionResult(status="RECOGNIZED", alternatives=tuple(alternatives), mode="voice")

    def stream(self, *, nbest: int | None = None) -> DecoderStream:
        """An utterance fed in chunks: buffered, decoded whole at ``finish()``; ``partial()``
        decodes what has arrived (at most every ``PARTIAL_INTERVAL_S`` of new audio)."""
        if self.closed:
            raise DecoderError("this decoder session is closed")
        return _BufferedFreeSpeechStream(self, nbest)


def _digital_silence(pcm: bytes) -> bool:
    """No sample above ``SILENCE_PEAK`` in magnitude: nothing to recognise."""
    import numpy as np

    samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2")
    return not len(samples) or int(np.abs(samples.astype(np.int32)).max()) <= SILENCE_PEAK


def _words(text: str) -> tuple[str, ...]:
    return tuple(_base_word(word) for word in text.split() if not _is_filler(word))


def _word_confidence(texts: list[tuple[tuple[str, ...], float]], best: tuple[str, ...], index: int) -> float:
    """The posterior mass of the word strings that have ``best[index]`` at the same place,
    counted from the start or from the end."""
    word = best[index]
    back = len(best) - index
    total = 0.0
    for words, posterior in texts:
        if (index < len(words) and words[index] == word) or (back <= len(words) and words[-back] == word):
            total += posterior
    return total


class _BufferedFreeSpeechStream:
    """A ``DecoderStream`` that keeps the audio and decodes it whole (n-gram search is fast
    enough for utterances of a few seconds)."""

    def __init__(self, session: FreeSpeechSession, nbest: int | None):
        self.session = session
        self.nbest = nbest
        self.buffer = bytearray()
        self.done = False
        self._last_partial_bytes = 0
        self._last_partial: Recognition | None = None

    def _check(self) -> None:
        if self.done:
            raise DecoderError("this stream has finished or was cancelled")

    def feed(self, pcm: bytes) -> None:
        self._check()
        self.buffer.extend(pcm)

    def partial(self) -> Recognition | None:
        self._check()
        interval = int(PARTIAL_INTERVAL_S * self.session.model.sample_rate) * 2
        if len(self.buffer) - self._last_partial_bytes >= interval or (
                self._last_partial is None and len(self.buffer) > self._last_partial_bytes):
            self._last_partial_bytes = len(self.buffer)
            recognition = self.session.decode_pcm(bytes(self.buffer[: len(self.buffer) - len(self.buffer) % 2]),
                                                  rate=self.session.model.sample_rate, nbest=1)
            self._last_partial = recognition if recognition.result.status == "RECOGNIZED" else None
        return self._last_partial

    def finish(self) -> Recognition:
        self._check()
        self.done = True
        pcm = bytes(self.buffer[: len(self.buffer) - len(self.buffer) % 2])
        self.buffer.clear()
        return self.session.decode_pcm(pcm, rate=self.session.model.sample_rate, nbest=self.nbest)

    def cancel(self) -> None:
        self.done = True
        self.buffer.clear()


def free_speech_session(model: PocketsphinxModel, location: str, *, nbest: int | None = None,
                        policy: AccessPolicy | None = None) -> DecoderSession:
    """A free-speech ``DecoderSession`` over ``model`` with the n-gram model at ``location``
    (``builtin:slm/general``, an ARPA file or a pocketsphinx binary one); ``nbest``: the default
    number of alternatives (1); ``policy``: who may name files (default ``AccessPolicy.closed()``:
    built-ins only)."""
    return FreeSpeechSession(model, location, nbest=1 if nbest is None else nbest, policy=policy)


def is_free_speech_location(location: str) -> bool:
    """Whether ``location`` names a language model rather than a grammar: ``builtin:slm/...``,
    or a file ending ``.arpa``, ``.arpa.gz``, ``.lm``, ``.lm.bin`` or ``.lm.gz``."""
    if location.startswith("builtin:slm/"):
        return True
    name = os.path.basename(urllib.parse.urlsplit(location).path if location.startswith("file:") else location)
    return name.lower().endswith((".arpa", ".arpa.gz", ".lm", ".lm.bin", ".lm.gz"))


__all__ = ["FreeSpeechSession", "NBEST_PATHS", "arpa_vocabulary", "free_speech_session", "is_free_speech_location",
           "resolve_free_speech_location"]
