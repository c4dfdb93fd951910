"""The pocketsphinx back end: decoding audio under the active grammars.

``PocketsphinxModel`` loads the acoustic model and pronunciation dictionary once (by default
those the ``pocketsphinx`` wheel ships: ``pocketsphinx.get_model_path()``); the caller holds it
and shares it (nothing is kept at module level). ``model.session(activation)`` makes one
decoder session for an activation of the grammar store: the activation's ``GrammarConstraint``
becomes a pocketsphinx FSG (``constraint_to_fsg``) and ``session.decode(audio)`` runs a full
utterance search under it, so what comes back is a sentence of the grammars (or nothing); the
n-best word sequences and their acoustic scores go to ``Interpreter.interpret_hypotheses`` for
the SISR result, and the best path's word times come with it.

Rejection: after the grammar search, the same audio goes through pocketsphinx's unconstrained
phone loop (allphone search with the model's phonetic language model, added once to the shared
decoder). The rejection score is the share of the phone loop's speech frames (its non-silence,
non-filler phones) that the grammar path explains with grammar words: speech the grammar cannot
account for is forced into silence or fillers by the constrained search, so out-of-grammar speech
scores low. Below ``rejection_threshold`` (``DEFAULT_REJECTION_THRESHOLD``, calibrated by
``benchmarks/bench_rejection.py``) the result is NO_MATCH; otherwise every alternative's
confidence is its interpreter posterior times the score. (The acoustic path scores pocketsphinx
reports for the two searches were measured first and do not separate in- from out-of-grammar
speech: the FSG search's silence over unexplained speech scores well.)

Limits of this first back end: $GARBAGE arcs (label ``<any>``) cannot be searched by an FSG and
are dropped (``FsgConversion.dropped_garbage`` counts them); sessions sharing a model take turns
(one pocketsphinx decoder per model, behind a lock).

Words missing from the dictionary: a digit token "0".."9" takes the dictionary's pronunciation of
its number word ("zero".."nine"); any other word gets one from ``hama``'s grapheme-to-phoneme model
(its IPA mapped to the acoustic model's ARPAbet phones by ``ipa_to_arpabet``). Either is added to
that model object's pocketsphinx dictionary (``Decoder.add_word``), never process-wide. A word
hama gives no pronunciation for, or one with a phone outside the table (tones, clicks, ...), is a
``MissingWordsError`` naming it.
"""

from __future__ import annotations

import math
import os
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from decoder.audio import Audio
from decoder.base import DecoderError, Recognition, WordTime
from srgs.compile.constraint import GrammarConstraint
from srgs.compile.symbols import ANY_LABEL, EPSILON_LABEL, UNKNOWN_LABEL

if TYPE_CHECKING:
    from interpreter.store import Activation

MAX_COST = 700.0  # exp(-700) is still a positive double: a probability pocketsphinx can read
# pocketsphinx keeps acoustic scores shifted down by 10 bits (SENSCR_SHIFT); its lattice
# posteriors divide them by ``ascale`` (20). The n-best path scores the Python API returns are
# in the shifted domain: times 1024 / ascale they are on the scale of pocketsphinx's own word
# posteriors (measured: the interpreter's confidences then match ``seg().prob`` within a point).
SCORE_SHIFT = 1024.0
# Reject when less than this share of the unconstrained phone loop's speech frames lies inside
# grammar words. Calibrated on synthesised speech (benchmarks/bench_rejection.py: espeak-ng
# en-us and en-us+f3, yesno and pizza grammars): on the calibration half (150 words per minute)
# 0.70 is the highest threshold that loses no correctly recognised in-grammar utterance (43/44
# accepted, 56/64 out-of-grammar rejected); held out (175 wpm): 43/44 accepted, 59/64 rejected.
DEFAULT_REJECTION_THRESHOLD = 0.70
ALLPHONE_SEARCH = "srgs-allphone"


class MissingWordsError(DecoderError):
    """Grammar words the pronunciation dictionary does not have."""

    def __init__(self, words: Sequence[str]):
        self.words = tuple(words)
        shown = ", ".join(repr(word) for word in self.words[:20])
        more = f" and {len(self.words) - 20} more" if len(self.words) > 20 else ""
        super().__init__(f"{len(self.words)} grammar word(s) not in the pronunciation dictionary: {shown}{more} "
                         "(and grapheme-to-phoneme gave no pronunciation in the model's phones: "
                         "add them to the dictionary or respell them in the grammar)")


# --- pronunciations of words the dictionary lacks ---------------------------------------------

# hama's IPA phones (its G2P decoder tokens) -> the en-US acoustic model's ARPAbet phones.
IPA_TO_ARPABET: dict[str, str] = {
    "a": "AA", "aɪ": "AY", "aʊ": "AW", "b": "B", "d": "D", "d͡ʒ": "JH", "e": "EY", "eə": "EH R", "eɪ": "EY",
    "f": "F", "g": "G", "ɡ": "G", "h": "HH", "ɦ": "HH", "i": "IY", "j": "Y", "k": "K", "kʰ": "K", "l": "L",
    "ɫ": "L", "m": "M", "n": "N", "o": "OW", "oʊ": "OW", "p": "P", "pʰ": "P", "r": "R", "ɹ": "R", "ɻ": "R",
    "ɾ": "D", "s": "S", "t": "T", "tʰ": "T", "t͡ʃ": "CH", "u": "UW", "v": "V", "w": "W", "z": "Z", "æ": "AE",
    "ð": "DH", "ŋ": "NG", "ɐ": "AH", "ɑ": "AA", "ɒ": "AA", "ɔ": "AO", "ɔɪ": "OY", "ə": "AH", "ᵊ": "AH",
    "ɚ": "ER", "ɛ": "EH", "ɜ": "ER", "ɝ": "ER", "ɪ": "IH", "ɨ": "IH", "ɪə": "IH R", "ʃ": "SH", "ʊ": "UH",
    "ʌ": "AH", "ʒ": "ZH", "θ": "TH", "ɲ": "N Y", "ja": "Y AA", "je": "Y EH", "jo": "Y OW", "ju": "Y UW",
    "jʌ": "Y AH", "wa": "W AA", "we": "W EH", "wi": "W IY", "wʌ": "W AH", "y": "UW", "ø": "ER", "œ": "ER",
}
# Marks that only colour a phone (length, aspiration, syllabicity, nasality, ...) and the glottal stop:
# dropped. A tone mark or any other symbol the table lacks makes the word unmappable.
IPA_IGNORED = frozenset(["ː", "ˑ", "ʰ", "ʲ", "ʷ", "ˀ", "˞", "ʔ", "\u0303", "\u0306", "\u0308", "\u030a",
                         "\u0329", "\u032f", "\u031a", "\u031d", "\u031e", "\u031f", "\u0320", "\u0325",
                         "\u032a", "\u032c", "\u0330", "\u033a", "\u033b", "\u0348", "\u034d"])
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def ipa_to_arpabet(phones: Sequence[str]) -> str | None:
    """hama's IPA phones as space-separated ARPAbet, or None when one of them has no mapping."""
    out: list[str] = []
    for phone in phones:
        phone = phone.strip()
        if not phone or phone in IPA_IGNORED:
            continue
        mapped = IPA_TO_ARPABET.get(phone)
        if mapped is None:
            return None
        out.append(mapped)
    return " ".join(out) or None


# --- FSG conversion ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FsgConversion:
    """A constraint as pocketsphinx FSG text, with what the conversion did."""

    text: str
    num_states: int
    start_state: int
    final_state: int
    word_transitions: int
    null_transitions: int
    dropped_garbage: int  # $GARBAGE (<any>) arcs an FSG cannot search: dropped
    words: tuple[str, ...]  # the dictionary spellings used on word transitions

    @property
    def note(self) -> str | None:
        if not self.dropped_garbage:
            return None
        return (f"{self.dropped_garbage} $GARBAGE arc(s) dropped: pocketsphinx FSG search cannot read "
                "any word there, so those paths are not recognised")


def _probability(cost: float) -> float:
    return math.exp(-min(max(cost, 0.0), MAX_COST))


def constraint_to_fsg(constraint: GrammarConstraint, *, name: str = "srgs",
                      spell: Callable[[str], str | None] | None = None) -> FsgConversion:
    """The FSG text format of ``constraint``: its states, one new final state reached by null
    transitions (probability ``exp(-final cost)``) from every final state, word transitions
    with probability ``exp(-cost)``, epsilon arcs as null transitions, $GARBAGE arcs dropped.

    ``spell(word)`` gives the dictionary spelling of a grammar word, or None when the
    dictionary lacks it; every missing word is reported at once (``MissingWordsError``).
    """
    final_state = constraint.num_states
    lines = [f"FSG_BEGIN {name}", f"NUM_STATES {final_state + 1}", f"START_STATE {constraint.start()}",
             f"FINAL_STATE {final_state}"]
    spelled: dict[int, str] = {}
    missing: list[str] = []
    words_used: list[str] = []
    word_count = null_count = dropped = 0
    for state in range(constraint.num_states):
        for label, target, cost in constraint.arcs(state):
            if label == ANY_LABEL or label == UNKNOWN_LABEL:
                dropped += 1
                continue
            probability = _probability(cost)
            if label == EPSILON_LABEL:
                lines.append(f"TRANSITION {state} {target} {probability:.10g}")
                null_count += 1
                continue
            word = spelled.get(label)
            if word is None:
                grammar_word = constraint.words[label]
                found = spell(grammar_word) if spell is not None else grammar_word
                if found is None or not found or any(ch.isspace() for ch in found):
                    if grammar_word not in missing:
                        missing.append(grammar_word)
                    continue
                word = spelled[label] = found
                words_used.append(found)
            lines.append(f"TRANSITION {state} {target} {probability:.10g} {word}")
            word_count += 1
        final = constraint.final(state)
        if final < math.inf:
            lines.append(f"TRANSITION {state} {final_state} {_probability(final):.10g}")
            null_count += 1
    if missing:
        raise MissingWordsError(missing)
    lines.append("FSG_END")
    return FsgConversion(text="\n".join(lines) + "\n", num_states=final_state + 1, start_state=constraint.start(),
                         final_state=final_state, word_transitions=word_count, null_transitions=null_count,
                         dropped_garbage=dropped, words=tuple(words_used))


# --- model and sessions -----------------------------------------------------------------------


def _is_filler(word: str) -> bool:
    return word.startswith(("<", "[", "+")) or word in ("", "<s>", "</s>", "<sil>")


def _is_phone_filler(phone: str) -> bool:
    """Silence and noise units of the phone loop (``SIL``, ``+NSN+``, ...): not speech."""
    return phone.upper() == "SIL" or phone.startswith(("+", "<", "["))


def _base_word(word: str) -> str:
    """``read(2)`` -> ``read``: pocketsphinx names alternative pronunciations this way."""
    if word.endswith(")") and "(" in word:
        return word[: word.rindex("(")]
    return word


class PocketsphinxModel:
    """The acoustic model and dictionary, loaded once; hold one per process and share it.

    ``hmm``/``dictionary`` default to the model the ``pocketsphinx`` wheel ships (en-US);
    ``phone_lm`` is the phonetic language model of the unconstrained phone loop used for
    rejection (default: the wheel's ``en-us-phone.lm.bin``).
    """

    def __init__(self, *, hmm: str | None = None, dictionary: str | None = None, phone_lm: str | None = None):
        try:
            import pocketsphinx
        except ImportError as exc:  # pragma: no cover - a dependency of the package
            raise DecoderError(f"the pocketsphinx back end needs the pocketsphinx package ({exc})") from None
        model_path = pocketsphinx.get_model_path()
        options: dict[str, Any] = {"lm": None,
                                   "hmm": hmm or os.path.join(model_path, "en-us", "en-us"),
                                   "dict": dictionary or os.path.join(model_path, "en-us", "cmudict-en-us.dict")}
        phone_lm = phone_lm or os.path.join(model_path, "en-us", "en-us-phone.lm.bin")
        for key, path in (("hmm", options["hmm"]), ("dict", options["dict"]), ("phone_lm", phone_lm)):
            if not os.path.exists(path):
                raise DecoderError(f"pocketsphinx {key}: {path}: no such file or directory")
        try:
            self._decoder: Any = pocketsphinx.Decoder(**options)
        except (RuntimeError, ValueError) as exc:
            raise DecoderError(f"pocketsphinx could not load its model: {exc}") from None
        try:
            self._decoder.add_allphone_file(ALLPHONE_SEARCH, phone_lm)
        except (RuntimeError, ValueError) as exc:
            raise DecoderError(f"pocketsphinx could not load the phone loop's language model {phone_lm}: {exc}") from None
        self.frame_rate = int(self._decoder.config["frate"])
        self.sample_rate = int(self._decoder.config["samprate"])
        self.score_scale = SCORE_SHIFT / float(self._decoder.config["ascale"] or 1.0)
        self.lock = threading.Lock()
        self._sessions = 0
        self._g2p: Any = None  # hama's G2P model, loaded on the first word the dictionary lacks
        self.added: dict[str, str] = {}  # words this model's dictionary got here -> their phones

    def spell(self, word: str) -> str | None:
        """The dictionary's spelling of a grammar word (as is, or lower-cased), or None."""
        for candidate in (word, word.lower()):
            if candidate and not any(ch.isspace() for ch in candidate) and self._decoder.lookup_word(candidate):
                return candidate
        return None

    def spell_phones(self, word: str) -> str | None:
        """The dictionary's (first) pronunciation of ``word``, or None."""
        phones = self._decoder.lookup_word(word)
        return str(phones) if phones else None

    def g2p_phones(self, word: str) -> str | None:
        """``word``'s pronunciation from hama's G2P model in ARPAbet phones, or None."""
        with self.lock:
            if self._g2p is None:
                try:
                    import hama
                    self._g2p = hama.G2PModel()
                except (ImportError, OSError, RuntimeError, ValueError) as exc:
                    raise DecoderError(f"the grapheme-to-phoneme model (hama) could not load: {exc}") from None
            g2p = self._g2p
        try:
            result = g2p.predict(word)
        except (RuntimeError, ValueError, KeyError, IndexError):
            return None
        return ipa_to_arpabet([str(alignment.phoneme) for alignment in result.alignments])

    def pronounce(self, word: str) -> str | None:
        """The dictionary spelling of ``word``, adding it to this model's dictionary first when it is
        missing (a digit as its number word, anything else by G2P); None when neither works."""
        found = self.spell(word)
        if found is not None or not word or any(ch.isspace() for ch in word):
            return found
        spelling = word.lower()
        if len(spelling) == 1 and spelling in "0123456789":
            phones = self.spell_phones(DIGIT_WORDS[int(spelling)])
        else:
            phones = self.g2p_phones(spelling)
        if not phones:
            return None
        with self.lock:
            if not self._decoder.lookup_word(spelling):
                try:
                    self._decoder.add_word(spelling, str(phones), True)
                except (RuntimeError, ValueError):
                    return None
                self.added[spelling] = str(phones)
        return spelling

    def session(self, activation: Activation, *,
                rejection_threshold: float = DEFAULT_REJECTION_THRESHOLD) -> PocketsphinxSession:
        """A decoder session; ``rejection_threshold`` (see ``PocketsphinxSession``)."""
        return PocketsphinxSession(self, activation, rejection_threshold=rejection_threshold)

    def _new_search_name(self) -> str:
        with self.lock:
            self._sessions += 1
            return f"srgs-session-{self._sessions}"


@dataclass(slots=True)
class PocketsphinxSession:
    """One caller's decoder under one activation (its FSG search is added to the shared model).

    ``rejection_threshold``: a result whose rejection score (the share of the unconstrained phone
    loop's speech frames inside grammar words, 0-1) is below it is NO_MATCH. 0 accepts every
    sentence the grammar search finds; a value above 1 rejects everything.
    """

    model: PocketsphinxModel
    activation: Activation
    rejection_threshold: float = DEFAULT_REJECTION_THRESHOLD
    conversion: FsgConversion = field(init=False)
    search: str = field(init=False)
    closed: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        threshold = self.rejection_threshold
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or math.isnan(threshold):
            raise DecoderError(f"rejection_threshold must be a number (0 accepts all, above 1 rejects all), got {threshold!r}")
        constraint = self.activation.constraint()
        self.conversion = constraint_to_fsg(constraint, spell=self.model.pronounce)
        self.search = self.model._new_search_name()
        decoder = self.model._decoder
        with tempfile.TemporaryDirectory(prefix="srgs-fsg-") as folder:
            path = os.path.join(folder, "grammar.fsg")
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(self.conversion.text)
            with self.model.lock:
                try:
                    fsg = decoder.read_fsg(path)
                    decoder.add_fsg(self.search, fsg)
                except (RuntimeError, ValueError) as exc:
                    raise DecoderError(f"pocketsphinx refused the grammar's FSG: {exc}") from None

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            with self.model.lock:
                try:
                    self.model._decoder.remove_search(self.search)
                except (KeyError, RuntimeError, AttributeError):
                    pass

    def __enter__(self) -> PocketsphinxSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def decode(self, audio: Audio, *, nbest: int | None = None) -> Recognition:
        """Decode one whole utterance; the n-best go to the activation's interpreter."""
        from interpreter.api import Hypothesis

        if self.closed:
            raise DecoderError("this decoder session is closed")
        if audio.rate != self.model.sample_rate:
            raise DecoderError(f"audio at {audio.rate} Hz: the model takes {self.model.sample_rate} Hz")
        interpreter = self.activation.interpreter()
        count = interpreter.nbest if nbest is None else nbest
        constraint = self.activation.constraint()
        began = time.perf_counter()
        decoder = self.model._decoder
        with self.model.lock:
            decoder.activate_search(self.search)
            decoder.start_utt()
            decoder.process_raw(audio.pcm(), full_utt=True)
            decoder.end_utt()
            best = decoder.hyp()
            segments = [(str(s.word), int(s.start_frame), int(s.end_frame), float(s.prob)) for s in decoder.seg()] \
                if best is not None else []
            raw: list[tuple[str, float]] = []
            if best is not None and best.hypstr is not None:
                raw.append((str(best.hypstr), float(best.score)))
                for index, entry in enumerate(decoder.nbest()):
                    if index >= 10 * count + 10:
                        break
                    if entry is not None and entry.hypstr is not None:
                        raw.append((str(entry.hypstr), float(entry.score)))
            speech: set[int] = set()
            if raw:  # the unconstrained phone loop on the same audio, for rejection
                decoder.activate_search(ALLPHONE_SEARCH)
                decoder.start_utt()
                decoder.process_raw(audio.pcm(), full_utt=True)
                decoder.end_utt()
                if decoder.hyp() is not None:
                    for phone in decoder.seg():
                        if not _is_phone_filler(str(phone.word)):
                            speech.update(range(int(phone.start_frame), int(phone.end_frame) + 1))
        hypotheses: list[tuple[tuple[str, ...], float, str | None]] = []
        seen: set[tuple[str, ...]] = set()
        for text, score in raw:
            words = tuple(_base_word(word) for word in text.split() if not _is_filler(word))
            if not words or words in seen:
                continue
            seen.add(words)
            accepted = constraint.accepts(words)
            if accepted is None:  # pocketsphinx's fallback when no path reached the final state
                continue
            grammar = constraint.grammars[accepted[1]].name if accepted[1] is not None else None
            cost = -math.log(score) * self.model.score_scale if score > 0 else MAX_COST
            hypotheses.append((words, min(max(cost, 0.0), MAX_COST), grammar))
            if len(hypotheses) >= count:
                break
        result = interpreter.interpret_hypotheses([Hypothesis(words, cost, grammar) for words, cost, grammar in hypotheses],
                                                  nbest=count)
        rejection_score: float | None = None
        rejected = False
        if hypotheses:
            inside: set[int] = set()
            for word, start, end, _ in segments:
                if not _is_filler(word):
                    inside.update(range(start, end + 1))
            rejection_score = len(speech & inside) / len(speech) if speech else 0.0
            if rejection_score < self.rejection_threshold:
                rejected = True
                result = replace(result, status="NO_MATCH", alternatives=(), error=None)
                segments = []
            elif result.alternatives:
                result = replace(result, alternatives=tuple(
                    replace(alternative, score=max(0, min(100, round(alternative.score * rejection_score))))
                    for alternative in result.alternatives))
        elapsed = time.perf_counter() - began
        rate = self.model.frame_rate
        times = tuple(WordTime(word=_base_word(word), start=start / rate, end=(end + 1) / rate,
                               confidence=max(0, min(100, round(100 * prob))))
                      for word, start, end, prob in segments if not _is_filler(word))
        return Recognition(result=result, words=times, hypotheses=tuple(hypotheses),
                           audio_seconds=audio.seconds, decode_seconds=elapsed, rejection_score=rejection_score,
                           rejected=rejected)


__all__ = ["DEFAULT_REJECTION_THRESHOLD", "DecoderError",
           "FsgConversion", "IPA_TO_ARPABET", "MissingWordsError", "PocketsphinxModel", "PocketsphinxSession",
           "Recognition", "WordTime", "constraint_to_fsg", "ipa_to_arpabet"]
