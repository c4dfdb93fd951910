"""Free speech: decoding with an n-gram language model instead of a grammar (pocketsphinx).

``free_speech_session(model, location)`` makes a ``DecoderSession`` (``decoder.base``) over the
shared ``PocketsphinxModel`` whose ``decode(audio)`` runs pocketsphinx's n-gram search on the
whole utterance. ``location``:

- ``builtin:slm/general``: the English trigram model the pocketsphinx wheel ships
  (``en-us.lm.bin``, 72k words), used as it is. Its search lives on the shared model's decoder
  (which has the whole dictionary): the first session adds it (about 0.5 s and 95 MB) and it
  stays for the model's lifetime; sessions take turns on it under ``model.lock``.
- a user's model: an ARPA file (``srgs lm build`` writes one; plain or gzip) or pocketsphinx's
  binary trie format, as a path or ``file:`` URI. The session gets a pocketsphinx decoder of its
  own whose dictionary holds only the model's words (all their pronunciations), as grammar
  sessions do: a few MB, no waiting for other sessions. (With the whole 135k-word dictionary,
  pocketsphinx takes 10-40 s to add a model of a few dozen words: its word hash table is sized by
  the model's vocabulary.) Words the dictionary lacks get pronunciations as grammar words do
  (``PocketsphinxModel.pronounce``: digits as number words, others by G2P); a word neither gives
  stays out of the search (``session.unpronounceable``). KenLM's binary format is for
  ``decoder.lm.LanguageModel`` (KenLM scoring, a CTC decoder), not for pocketsphinx: it is
  refused with a message saying so.

Every utterance starts from the same feature state (``reinit_feat`` and the initial cepstral
mean), so a result does not depend on what was decoded before. Audio that is digital silence is
NO_MATCH without a search (pocketsphinx makes words of all-zero samples).

Who may name a file: the caller passes an ``AccessPolicy`` (``srgs.load.policy``). The default is
``AccessPolicy.closed()``, a server's clients': built-in models only, files only under its
``roots``; the command line passes ``AccessPolicy.local()``. The refusal is decided from the
location alone, before the file is looked at.

Results: a ``Recognition`` whose ``RecognitionResult`` is RECOGNIZED with the n-best word strings as
alternatives (``lm`` = the location, one interpretation each whose value is the text, as SISR
gives a grammar without tags) or NO_MATCH when nothing but silence and fillers was recognised.
Confidence: pocketsphinx's lattice n-best paths (up to ``NBEST_PATHS``) are turned into posteriors
(``exp(-cost)`` normalised, costs on the scale of pocketsphinx's word posteriors: the model's
``score_scale``) and summed per distinct word string: an alternative's score is its text's share.
A word's confidence is the share of that mass whose word string has the same word at the same
place (counted from the start or from the end). Word times come from the best path's segmentation.

Rejection: after the n-gram search, pocketsphinx's phone loop (the allphone search the grammar
back end's rejection uses) decodes the same audio, and ``free_speech_confidence`` turns measures
of the best path against it and of the lattice into an utterance confidence (0-100, a logistic
model: ``GENERAL_CONFIDENCE`` for builtin:slm/general, ``USER_MODEL_CONFIDENCE`` for a user's
model). ``Recognition.rejection_score`` is confidence / 100; under the session's
``rejection_threshold`` (by default the confidence model's) the result is NO_MATCH
(``rejected``), else the best alternative's score is the confidence and each other's the
confidence times its posterior over the best one's. Measured by
``benchmarks/bench_free_speech_rejection.py`` (held out, builtin:slm/general: English kept 90%;
most noise and tones rejected, half the babble; speech in other languages mostly kept: the
measures hardly tell espeak's Portuguese, German or French from its English, which the general
model mishears as much). ``confidence=False`` leaves the phone loop out
(no rejection, the scores are the posteriors, ``rejection_score`` None), as do a stream's partials."""

from __future__ import annotations

import math
import os
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

from decoder.audio import Audio
from decoder.base import DecoderError, DecoderSession, DecoderStream, Recognition, WordTime
from decoder.lexicon import base_word
from decoder.lm import GENERAL, LmError, sphinx_general_lm
from decoder.pocketsphinx_backend import ALLPHONE_SEARCH, _is_filler
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
GENERAL_SEARCH = "srgs-slm-general"  # the shared decoder's search of builtin:slm/general
MAX_SPHINX_ORDER = 5  # pocketsphinx's NGRAM_MAX_ORDER
SILENCE_PEAK = 2  # audio whose samples never exceed this (digital silence) is NO_MATCH without a search
PARTIAL_INTERVAL_S = 0.5  # a stream's partial() decodes again only after this much new audio
@dataclass(frozen=True, slots=True)
class ConfidenceModel:
    """The utterance confidence's logistic model: 100 x sigmoid(``bias`` + sum of ``weights[name]`` x
    measure), and the threshold (confidence / 100) under which a session rejects by default. Both
    back ends' free speech use it, each with its own measures (``FreeSpeechMeasures``;
    ``decoder.ctc_free_speech_confidence``)."""

    weights: dict[str, float]
    bias: float
    threshold: float

    def confidence(self, measures: Mapping[str, float]) -> float:
        """The confidence (0-100) of ``measures`` (a value for each name the weights give)."""
        z = self.bias + sum(weight * measures[name] for name, weight in self.weights.items())
        return 100.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


# builtin:slm/general's, fitted by ``benchmarks/bench_free_speech_rejection.py --split tune --fit``
# on its tuning half only (espeak-ng English sentences in 4 voices at 150 and 175 words per minute
# against white and pink noise, babble, tones, pt-br, de and fr speech; each out set weighted
# equally, the English as much as all of them). Every weight is positive: more of the speech inside
# words, surer words, likelier word strings and audio the acoustic model fits better all mean more
# confidence. (The speech share and the acoustic ratio are measured and reported, not weighed:
# fitted, they took negative weights, rewarding words that fit the audio worse, which held no
# better out of the tuning half.) The threshold keeps 90% of the tuning half's English (0.387).
GENERAL_CONFIDENCE = ConfidenceModel(
    weights={"coverage": 0.535, "confident_share": 0.293, "lm_per_word": 0.818, "phone_fit": 0.797},
    bias=3.279, threshold=0.39)
# A user's model (an ARPA file), fitted the same way (``--lm pizza --split tune --fit``) with a
# grammar-shaped model (``srgs generate builtin:examples/pizza | srgs lm build``): pizza orders (6
# sentences x the 4 tuning voices) against everyday English sentences and the same out sets. A
# small model's language score per word follows its vocabulary's size, so it is not weighed; the
# acoustic ratio took a weight near 0 and is left out. The threshold keeps 90% of the tuning
# half's orders (0.475).
USER_MODEL_CONFIDENCE = ConfidenceModel(
    weights={"coverage": 18.38, "confident_share": 3.877, "phone_fit": 2.325}, bias=-17.875, threshold=0.47)
DEFAULT_FREE_SPEECH_THRESHOLD = GENERAL_CONFIDENCE.threshold  # builtin:slm/general's default
CONFIDENT_POSTERIOR = 0.3  # a word this sure (its lattice posterior) counts in confident_share


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


def _open_model(path: str) -> IO[bytes]:
    """A model file's bytes, decompressed when it is gzip."""
    import gzip

    with open(path, "rb") as probe:
        compressed = probe.read(2) == b"\x1f\x8b"
    if compressed:
        return cast("IO[bytes]", gzip.open(path, "rb"))
    return open(path, "rb")


def copy_checked_arpa(path: str, target: str | None, *, location: str | None = None) -> list[str]:
    """Check that ``path`` (plain or gzip) is a well-formed ARPA model pocketsphinx can read
    safely, copying it to ``target`` (plain) on the way; the unigrams (the vocabulary) come back.

    pocketsphinx trusts the file: a section shorter than its declared count crashes the process.
    So before pocketsphinx sees a user's model: ``\\data\\`` with ``ngram N=COUNT`` for orders
    1.. (at most ``MAX_SPHINX_ORDER``), each ``\\N-grams:`` section in order with exactly COUNT
    entries of a probability, N words (unigrams of the model) and a back-off only below the
    highest order, then ``\\end\\``. A problem is an ``LmError`` at its line.
    """
    where = location or path
    out = open(target, "wb") if target is not None else None
    counts: list[int] = []
    unigrams: list[str] = []
    known: set[bytes] = set()
    state = "head"  # head, counts, section, end
    order = expected = seen = 0
    number = 0

    def fail(message: str) -> LmError:
        return LmError(message, SourceSpan(where, number, 1))

    def close_section() -> None:
        if seen != expected:
            raise fail(f"the {order}-gram section has {seen} entries, its header declares {expected}")

    try:
        with _open_model(path) as handle:
            for number, raw in enumerate(handle, 1):  # noqa: B007 - number is read by fail()
                if out is not None:
                    out.write(raw)
                line = raw.strip()
                if state == "head":
                    if line == b"\\data\\":
                        state = "counts"
                    continue
                if state == "counts":
                    if not line:
                        continue
                    if line.startswith(b"ngram "):
                        n, _, value = line[6:].partition(b"=")
                        if not (n.strip().isdigit() and value.strip().isdigit()) or int(n) != len(counts) + 1:
                            raise fail(f"expected 'ngram {len(counts) + 1}=COUNT' here")
                        counts.append(int(value))
                        continue
                    if line != b"\\1-grams:":
                        raise fail("expected 'ngram N=COUNT' lines, then '\\1-grams:'")
                    if not counts or counts[0] < 1:
                        raise fail("a model needs at least one unigram")
                    if len(counts) > MAX_SPHINX_ORDER:
                        raise fail(f"order {len(counts)}: pocketsphinx reads models up to order {MAX_SPHINX_ORDER}")
                    state, order, expected, seen = "section", 1, counts[0], 0
                    continue
                if state == "section":
                    if not line:
                        continue
                    if line.startswith(b"\\"):
                        close_section()
                        if order < len(counts) and line == b"\\%d-grams:" % (order + 1):
                            order, expected, seen = order + 1, counts[order], 0
                            continue
                        if order == len(counts) and line == b"\\end\\":
                            state = "end"
                            break
                        raise fail(f"expected '\\{order + 1}-grams:'" if order < len(counts) else "expected '\\end\\'")
                    fields = line.split()
                    if len(fields) not in (order + 1, order + 2) or (len(fields) == order + 2 and order == len(counts)):
                        raise fail(f"a {order}-gram entry is a probability, {order} word(s)"
                                   + (" and an optional back-off" if order < len(counts) else ""))
                    try:
                        values = [float(fields[0])] + ([float(fields[-1])] if len(fields) == order + 2 else [])
                    except ValueError:
                        raise fail("a probability or back-off that is not a number") from None
                    if any(math.isnan(value) or value > 0 for value in values):
                        raise fail("a probability or back-off above 0 (they are log10 values)")
                    words = fields[1:order + 1]
                    if order == 1:
                        known.add(words[0])
                        unigrams.append(words[0].decode("utf-8", "replace"))
                    elif not all(word in known for word in words):
                        raise fail("an n-gram word that is not among the unigrams")
                    seen += 1
                    if seen > expected:
                        raise fail(f"the {order}-gram section has more entries than its header declares ({expected})")
    except (OSError, EOFError) as exc:
        raise LmError(f"cannot read the language model: {getattr(exc, 'strerror', None) or exc}",
                      SourceSpan(where, 0, 0)) from None
    finally:
        if out is not None:
            out.close()
    if state == "head":
        raise LmError("not a language model pocketsphinx free speech reads: give an ARPA file (srgs lm build writes "
                      "one) or pocketsphinx's binary trie format", SourceSpan(where, 0, 0))
    if state != "end":
        raise LmError("the ARPA file ends early (no '\\end\\')", SourceSpan(where, number, 1))
    return unigrams


def _model_kind(path: str) -> str:
    """"kenlm", "trie" or "text" (ARPA, plain or gzip, checked later) by the file's first bytes."""
    with open(path, "rb") as handle:
        magic = handle.read(32)
    if magic.startswith(KENLM_MAGIC):
        return "kenlm"
    if magic.startswith(b"Trie Language Model"):
        return "trie"
    return "text"


@dataclass(slots=True)
class FreeSpeechSession:
    """One caller's free-speech decoder (see the module docstring for where its search lives).

    ``rejection_threshold``: NO_MATCH when the utterance confidence / 100 is below it (0 accepts
    everything the search finds, above 1 rejects everything); ``confidence=False``: no phone
    loop, no confidence, no rejection. ``last_measures``: what the last decode's confidence was
    made of (None when it found no words or ran without the confidence)."""

    model: PocketsphinxModel
    location: str
    nbest: int = 1
    policy: AccessPolicy | None = None
    rejection_threshold: float | None = None  # None: the confidence model's (``confidence_model``)
    confidence: bool = True  # False: no phone loop, no rejection, scores are the texts' posteriors (as before)
    path: str = field(init=False)
    search: str = field(init=False)
    closed: bool = field(init=False, default=False)
    unpronounceable: tuple[str, ...] = field(init=False, default=())
    dictionary_words: int = field(init=False, default=0)  # words of the session's own dictionary (0: shared)
    last_measures: FreeSpeechMeasures | None = field(init=False, default=None)  # the last decode's (None: no words)
    confidence_model: ConfidenceModel = field(init=False, default=GENERAL_CONFIDENCE)
    _decoder: Any = field(init=False, default=None, repr=False)
    _lock: Any = field(init=False, default=None, repr=False)
    _cmn: str = field(init=False, default="", repr=False)

    def __post_init__(self) -> None:
        from interpreter.api import check_nbest

        try:
            self.nbest = check_nbest(self.nbest)
        except ValueError as exc:
            raise DecoderError(str(exc)) from None
        self.confidence_model = GENERAL_CONFIDENCE if self.location == GENERAL else USER_MODEL_CONFIDENCE
        if self.rejection_threshold is None:
            self.rejection_threshold = self.confidence_model.threshold
        threshold = self.rejection_threshold
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or math.isnan(threshold):
            raise DecoderError(f"rejection_threshold must be a number (0 accepts all, above 1 rejects all), got {threshold!r}")
        self.path = resolve_free_speech_location(self.location, self.policy)
        if self.location == GENERAL:
            self._use_shared_general_search()
        else:
            self._make_own_decoder()

    def _use_shared_general_search(self) -> None:
        """builtin:slm/general: one search on the shared model's decoder, added by the first
        session and kept for the model's lifetime (about 95 MB and 0.5 s to add: too much per session)."""
        decoder = self.model._decoder
        self.search = GENERAL_SEARCH
        self._lock = self.model.lock
        self._cmn = str(decoder.config["cmninit"])
        with self.model.lock:
            try:
                decoder.activate_search(GENERAL_SEARCH)
            except (KeyError, RuntimeError, ValueError):
                try:
                    decoder.add_lm_file(GENERAL_SEARCH, self.path)
                except (RuntimeError, ValueError) as exc:
                    raise LmError(f"pocketsphinx could not read its English language model ({exc})",
                                  SourceSpan(self.path, 0, 0)) from None
            # the phone loop is current between utterances: pocketsphinx adds a word a grammar
            # session pronounces to the current search's language model when that is an n-gram search
            decoder.activate_search(ALLPHONE_SEARCH)
        self._decoder = decoder

    def _make_own_decoder(self) -> None:
        """A user's model: a decoder of the session's own, whose dictionary holds only the model's
        words (all their pronunciations), as grammar sessions have. pocketsphinx only ever reads a
        checked copy of the model (``copy_checked_arpa``; a trie binary is converted to ARPA
        first), never the user's file itself."""
        import pocketsphinx

        kind = _model_kind(self.path)
        if kind == "kenlm":
            raise LmError("a KenLM binary model, which pocketsphinx cannot read: use --backend ctc (the CTC back "
                          "end's free speech reads KenLM binaries), or give the ARPA file (srgs lm build writes one)",
                          SourceSpan(self.location, 0, 0))
        self.search = "srgs-slm"
        self._lock = threading.Lock()
        with tempfile.TemporaryDirectory(prefix="srgs-slm-") as folder:
            arpa_path = os.path.join(folder, "model.arpa")
            if kind == "trie":
                from decoder.lm import sphinx_trie_to_arpa

                sphinx_trie_to_arpa(self.path, arpa_path, location=self.location)
                unigrams = copy_checked_arpa(arpa_path, None, location=self.location)
            else:
                unigrams = copy_checked_arpa(self.path, arpa_path, location=self.location)
            dictionary = self._dictionary([word for word in dict.fromkeys(unigrams)
                                           if not _is_filler(word) and word != "<unk>"])
            dict_path = os.path.join(folder, "words.dict")
            with open(dict_path, "w", encoding="utf-8") as handle:
                handle.write(dictionary)
            try:
                decoder = pocketsphinx.Decoder(**{**self.model._options, "dict": dict_path})
            except (RuntimeError, ValueError) as exc:
                raise DecoderError(f"pocketsphinx could not make the session's decoder: {exc}") from None
            try:
                decoder.add_lm_file(self.search, arpa_path)
            except (RuntimeError, ValueError) as exc:
                raise LmError(f"pocketsphinx could not read this language model ({exc})",
                              SourceSpan(self.location, 0, 0)) from None
            try:
                decoder.add_allphone_file(ALLPHONE_SEARCH, self.model.phone_lm)
            except (RuntimeError, ValueError) as exc:
                raise DecoderError(f"pocketsphinx could not load the phone loop's language model: {exc}") from None
        decoder.activate_search(self.search)
        self._cmn = str(decoder.get_cmn())
        self._decoder = decoder

    def _dictionary(self, vocabulary: list[str]) -> str:
        """Dictionary text for the model's words, each under its own spelling (the shared
        dictionary's entry, or its lower-case one, or a new pronunciation)."""
        missing = [word for word in vocabulary if self.model.spell(word) is None]
        if missing:
            with self.model.lock:  # see _use_shared_general_search
                self.model._decoder.activate_search(ALLPHONE_SEARCH)
        failed = {word for word in missing[:MAX_PRONOUNCED] if self.model.pronounce(word) is None}
        failed.update(missing[MAX_PRONOUNCED:])
        self.unpronounceable = tuple(word for word in missing if word in failed)
        lines: list[str] = []
        for word in vocabulary:
            spelled = None if word in failed else self.model.spell(word)
            if spelled is None or any(ch.isspace() for ch in word):
                continue
            for entry in self.model.dictionary_for([spelled]).splitlines():
                name, _, phones = entry.partition(" ")
                variant = name[len(spelled):]  # "" or "(2)", ...
                lines.append(f"{word}{variant} {phones}")
            self.dictionary_words += 1
        if not lines:
            raise LmError("none of the language model's words has a pronunciation", SourceSpan(self.location, 0, 0))
        return "\n".join(lines) + "\n"

    def close(self) -> None:
        """Release the session's decoder (the shared general search stays with the model)."""
        self.closed = True
        self._decoder = None

    def __enter__(self) -> FreeSpeechSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def decode(self, audio: Audio, *, nbest: int | None = None) -> Recognition:
        """Decode one whole utterance with the language model."""
        return self.decode_pcm(audio.pcm(), rate=audio.rate, nbest=nbest)

    def decode_pcm(self, pcm: bytes, *, rate: int, nbest: int | None = None,
                   confidence: bool | None = None) -> Recognition:
        """``decode`` for raw 16-bit little-endian mono PCM at ``rate`` Hz; ``confidence=False``
        skips the phone loop and the rejection (a stream's partials), None: the session's setting."""
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
        confident = self.confidence if confidence is None else confidence
        self.last_measures = None
        if _digital_silence(pcm):  # pocketsphinx's feature normalisation makes words of all-zero audio
            return Recognition(result=RecognitionResult(status="NO_MATCH", alternatives=(), mode="voice"), words=(),
                               hypotheses=(), audio_seconds=seconds, decode_seconds=time.perf_counter() - began)
        decoder = self._decoder
        with self._lock:
            self._start(self.search)
            decoder.process_raw(pcm, full_utt=True)
            decoder.end_utt()
            best = decoder.hyp()
            segments: list[tuple[str, int, int, float, float, float]] = []
            paths: list[tuple[tuple[str, ...], float]] = []
            if best is not None and best.hypstr:
                segments = [(str(s.word), int(s.start_frame), int(s.end_frame), float(s.ascore), float(s.prob),
                             float(s.lscore)) for s in decoder.seg()]
                paths.append((_words(str(best.hypstr)), float(best.score)))
                for index, entry in enumerate(decoder.nbest()):
                    if index >= NBEST_PATHS:
                        break
                    if entry is not None and entry.hypstr is not None:
                        paths.append((_words(str(entry.hypstr)), float(entry.score)))
            phones: list[tuple[str, int, int, float]] = []
            if confident and any(not _is_filler(segment[0]) for segment in segments):  # the phone loop
                self._start(ALLPHONE_SEARCH)
                decoder.process_raw(pcm, full_utt=True)
                decoder.end_utt()
                if decoder.hyp() is not None:
                    phones = [(str(p.word), int(p.start_frame), int(p.end_frame), float(p.ascore))
                              for p in decoder.seg()]
            if decoder is self.model._decoder:
                decoder.activate_search(ALLPHONE_SEARCH)
        best_words = tuple(base_word(word) for word, *_ in segments if not _is_filler(word))
        texts, hypotheses = self._posteriors(paths, best_words)
        rejection_score: float | None = None
        rejected = False
        if texts and confident:
            frames = len(pcm) // 2 * self.model.frame_rate // rate
            self.last_measures = free_speech_confidence(segments, phones, frames, self.confidence_model)
            rejection_score = self.last_measures.confidence / 100
            rejected = rejection_score < float(self.rejection_threshold or 0.0)
        result = free_speech_result(self.location, [] if rejected else texts, count, confidence=rejection_score)
        rate_frames = self.model.frame_rate
        times: list[WordTime] = []
        if result.status == "RECOGNIZED":
            position = 0
            for word, start, end, *_ in segments:
                if _is_filler(word):
                    continue
                share = word_confidence(texts, best_words, position)
                times.append(WordTime(word=base_word(word), start=start / rate_frames, end=(end + 1) / rate_frames,
                                      confidence=max(0, min(100, round(100 * share)))))
                position += 1
        return Recognition(result=result, words=tuple(times), hypotheses=tuple(hypotheses[:count]),
                           audio_seconds=seconds, decode_seconds=time.perf_counter() - began,
                           rejection_score=rejection_score, rejected=rejected)

    def _start(self, search: str) -> None:
        """A new utterance on ``search`` from the same feature state as every other."""
        decoder = self._decoder
        decoder.reinit_feat()  # every utterance starts from the same feature state
        decoder.set_cmn(self._cmn)
        decoder.activate_search(search)
        decoder.start_utt()

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

    def stream(self, *, nbest: int | None = None) -> DecoderStream:
        """An utterance fed in chunks (``decoder.stream.BufferedStream``): decoded whole at
        ``finish()`` (the same result as ``decode``); ``partial()`` decodes what has arrived, at
        most every ``PARTIAL_INTERVAL_S`` seconds of new audio, without the phone loop (no
        confidence, no rejection: a prefix of an utterance is not one)."""
        from decoder.stream import BufferedStream

        if self.closed:
            raise DecoderError("this decoder session is closed")
        return BufferedStream(lambda audio: self.decode(audio, nbest=nbest), sample_rate=self.model.sample_rate,
                              partial_decode=lambda audio: self.decode_pcm(audio.pcm(), rate=audio.rate, nbest=1,
                                                                           confidence=False),
                              partial_interval=PARTIAL_INTERVAL_S)


@dataclass(frozen=True, slots=True)
class FreeSpeechMeasures:
    """What the utterance confidence is made of (see ``free_speech_confidence``)."""

    words: int  # words on the best path (fillers left out)
    speech_share: float  # share of the utterance's frames the phone loop spends in speech phones
    coverage: float  # share of those speech frames inside the best path's words
    acoustic_ratio: float  # per frame, the words' acoustic log-likelihood minus the phone loop's (clipped to -8..0)
    confident_share: float  # share of the speech frames inside words of lattice posterior >= CONFIDENT_POSTERIOR
    lm_per_word: float  # mean language-model log score per word (x 100, clipped at -8)
    phone_fit: float  # the phone loop's acoustic log-likelihood per speech frame (x 1000, clipped at -5)
    confidence: float  # 0-100

    def as_dict(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in self.__slots__}


def free_speech_confidence(words: Sequence[tuple[str, int, int, float, float, float]],
                           phones: Sequence[tuple[str, int, int, float]], frames: int,
                           model: ConfidenceModel = GENERAL_CONFIDENCE) -> FreeSpeechMeasures:
    """The utterance confidence (0-100) of a free-speech best path against pocketsphinx's phone
    loop over the same audio. ``words``: the best path's segments ``(word, first frame, last
    frame, acoustic score, lattice posterior, language score)`` as pocketsphinx's ``seg()`` gives
    them (fillers are left out here); ``phones``: the phone loop's ``(phone, first, last, acoustic
    score)``; ``frames``: the utterance's length in frames.

    Noise and tones give the phone loop few speech frames (``speech_share``) and fit the acoustic
    model badly where it finds some (``phone_fit``); speech in another language or several voices
    at once leaves the words unsure in the lattice (``confident_share``) and strung together
    against the language model (``lm_per_word``); ``coverage`` and ``acoustic_ratio`` compare the
    words with the phone loop frame by frame (as the grammar back end's rejection does). The
    measures named in ``model.weights`` are combined by its logistic model (``GENERAL_CONFIDENCE``
    for builtin:slm/general, ``USER_MODEL_CONFIDENCE`` for a user's model); the others are reported."""
    from decoder.pocketsphinx_backend import _is_phone_filler, _word_likelihood_ratio

    spoken = [segment for segment in words if not _is_filler(segment[0])]
    speech: set[int] = set()
    fit = 0.0
    for phone, start, end, score in phones:
        if not _is_phone_filler(phone):
            speech.update(range(start, end + 1))
            if score > 0:
                fit += math.log(score)
    inside: set[int] = set()
    sure: set[int] = set()
    for _, start, end, _, posterior, _ in spoken:
        inside.update(range(start, end + 1))
        if posterior >= CONFIDENT_POSTERIOR:
            sure.update(range(start, end + 1))
    ratio = _word_likelihood_ratio([(word, start, end, score) for word, start, end, score, _, _ in spoken], phones)
    lm = (sum(math.log(max(lscore, 1e-30)) for *_, lscore in spoken) / len(spoken)) if spoken else -1.0
    measures = {
        "speech_share": len(speech) / max(1, frames),
        "coverage": len(speech & inside) / len(speech) if speech else 0.0,
        "acoustic_ratio": max(-8.0, min(0.0, ratio)) if ratio is not None else -8.0,
        "confident_share": len(speech & sure) / max(1, len(speech)),
        "lm_per_word": 100 * max(-0.08, lm),
        "phone_fit": 1000 * max(-0.005, fit / len(speech)) if speech else -5.0,
    }
    return FreeSpeechMeasures(words=len(spoken), confidence=model.confidence(measures), **measures)


def _digital_silence(pcm: bytes) -> bool:
    """No sample above ``SILENCE_PEAK`` in magnitude: nothing to recognise."""
    import numpy as np

    samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2")
    return not len(samples) or int(np.abs(samples.astype(np.int32)).max()) <= SILENCE_PEAK


def _words(text: str) -> tuple[str, ...]:
    return tuple(base_word(word) for word in text.split() if not _is_filler(word))


def free_speech_result(location: str, texts: Sequence[tuple[tuple[str, ...], float]], count: int, *,
                       confidence: float | None = None) -> RecognitionResult:
    """RECOGNIZED with each text as its own interpretation (``lm`` = the model's location), best
    first, at most ``count``; NO_MATCH when nothing was recognised. Every free-speech back end's.

    An alternative's score is its text's posterior (0-100) or, given the utterance's ``confidence``
    (0-1), the best text scores the confidence and each other text the confidence times its
    posterior over the best one's (at most the best's)."""
    if not texts:
        return RecognitionResult(status="NO_MATCH", alternatives=(), mode="voice")
    alternatives = []
    best_posterior = texts[0][1]
    for words, posterior in texts[:count]:
        text = " ".join(words)
        if confidence is None:
            share = posterior
        else:
            share = confidence * (min(1.0, posterior / best_posterior) if best_posterior > 0 else 1.0)
        score = max(0, min(100, round(100 * share)))
        tree = ParseRule(name="free_speech", label="$free_speech", grammar=location,
                         children=tuple(ParseToken(text=word, words=(word,)) for word in words))
        alternatives.append(Alternative(text=text, score=score, lm=location,
                                        interpretations=(Interpretation(value=text, score=score, tree=tree),)))
    return RecognitionResult(status="RECOGNIZED", alternatives=tuple(alternatives), mode="voice")


def word_confidence(texts: list[tuple[tuple[str, ...], float]], best: tuple[str, ...], index: int) -> float:
    """The posterior mass of the word strings that have ``best[index]`` at the same place,
    counted from the start or from the end."""
    word = best[index]
    back = len(best) - index
    total = 0.0
    for words, posterior in texts:
        if (index < len(words) and words[index] == word) or (back <= len(words) and words[-back] == word):
            total += posterior
    return total


def free_speech_session(model: PocketsphinxModel, location: str, *, nbest: int | None = None,
                        policy: AccessPolicy | None = None, rejection_threshold: float | None = None) -> DecoderSession:
    """A free-speech ``DecoderSession`` over ``model`` with the n-gram model at ``location``
    (``builtin:slm/general``, an ARPA file or a pocketsphinx binary one); ``nbest``: the default
    number of alternatives (1); ``policy``: who may name files (default ``AccessPolicy.closed()``:
    built-ins only); ``rejection_threshold``: NO_MATCH below this utterance confidence / 100
    (default: the confidence model's, ``GENERAL_CONFIDENCE`` or ``USER_MODEL_CONFIDENCE``; 0 accepts
    everything a search finds)."""
    return FreeSpeechSession(model, location, nbest=1 if nbest is None else nbest, policy=policy,
                             rejection_threshold=rejection_threshold)


def is_free_speech_location(location: str) -> bool:
    """Whether ``location`` names a language model rather than a grammar: ``builtin:slm/...``,
    or a file ending ``.arpa``, ``.arpa.gz``, ``.lm``, ``.lm.bin`` or ``.lm.gz``."""
    if location.startswith("builtin:slm/"):
        return True
    name = os.path.basename(urllib.parse.urlsplit(location).path if location.startswith("file:") else location)
    return name.lower().endswith((".arpa", ".arpa.gz", ".lm", ".lm.bin", ".lm.gz"))


__all__ = ["ConfidenceModel", "DEFAULT_FREE_SPEECH_THRESHOLD", "FreeSpeechMeasures", "GENERAL_CONFIDENCE",
           "USER_MODEL_CONFIDENCE",
           "FreeSpeechSession", "GENERAL_SEARCH", "NBEST_PATHS", "copy_checked_arpa", "free_speech_result",
           "free_speech_confidence", "free_speech_session",
           "is_free_speech_location", "resolve_free_speech_location", "word_confidence"]
