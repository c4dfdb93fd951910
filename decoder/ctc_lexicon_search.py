"""A dynamic lexicon-tree search of CTC emissions under a large n-gram model (KenLM), for free speech.

The static search of ``decoder.ctc_free_speech`` copies a word's pronunciation onto every n-gram
arc, which cannot hold a model of millions of n-grams (``builtin:slm/general``: 72k words, 3.7M
n-grams). Here the n-gram model stays in KenLM and the pronunciations are one prefix tree shared by
every LM context: a hypothesis is (a node of the tree, a KenLM state), expanded frame by frame.

The search is flashlight-text's ``LexiconDecoder`` (CTC criterion, C++), the one a well-kept
library offers for this; its PyPI build has no KenLM class, so the language model is a Python
subclass of its ``LM`` (``_KenlmCallback``) around ``kenlm.Model.BaseScore`` with ``kenlm.State``
objects, made anew for each utterance (what it holds is per utterance; the ``kenlm.Model`` and the
tree are shared, read-only, by every thread):

- units: each distinct SET of CTC units a pronunciation position allows (``decoder.lexicon``
  positions) is one token of the tree, whose per-frame log-probability is the best of its units
  (as ``decoder.ctc_backend`` scores a phone state); token 0 is the blank (``<blank>`` or ``<wb>``,
  the better), also the silence token. CTC topology as in ``ctc_backend``: a token repeats on
  consecutive frames, the same token twice in a row needs a blank between, blanks anywhere.
- tree: the pronunciations of the model's words (``LexiconSearch.build``), each leaf carrying the
  word and its unigram log-probability; the tree is smeared with the maximum unigram below each
  node (``SmearingMode.MAX``: the LM look-ahead, replaced by the exact KenLM score at the word's
  end). A node ends at most ``MAX_HOMOPHONES`` words (flashlight's limit): the likeliest
  unigrams keep the place. Optional positions (hama's G2P pronunciations) give one spelling with
  and one without them (at most ``MAX_VARIANTS`` a pronunciation).
- scores: acoustic log-probability + ``lm_weight`` x ln p (KenLM, natural log, ``</s>`` at the
  end) + ``word_bonus`` per word; pruning: ``beam_size`` hypotheses per frame, within
  ``beam_threshold`` nats of the best. Hypotheses in the same tree node with the same KenLM state
  are merged (the state object is canonical per KenLM state), so an n-gram context is searched once.
- results: the final hypotheses, best first, their word sequences made distinct, with the
  acoustic and LM parts of the score and each word's frames (from the per-frame token path: a word
  starts at its first phone after the previous word's end and ends with the last repeat of its last
  phone).

Vocabulary: ``builtin:slm/general`` and other large models (over ``G2P_VOCABULARY`` words) use the
CMU dictionary's pronunciations only (``decoder.lexicon.read_cmu_dictionary``, mapped to the model's units as
``EnglishLexicon`` maps it: hama's G2P, 15-30 ms a word, would take
half an hour for 72k words); the words it lacks stay out of the search (``unpronounceable``).
Smaller models use the CTC model's English lexicon (dictionary + G2P), as grammars do.

Measured (``benchmarks/bench_ctc_free_speech.py --general --compare``; espeak-ng en-us and
en-us+f3; CPU time over audio time on a shared 2-core machine, emissions included, the search alone
in brackets): ``builtin:slm/general`` WER 11.0% on the tuning set (20 everyday sentences at 150
and 175 wpm) and 38.5% on ``bench_free_speech.py``'s 10 sentences at 150 wpm, where pocketsphinx
with the same model makes 67-68%; CPU 0.155 (0.11), pocketsphinx 0.21. ``BEAM_SIZE`` 50 / 100 /
200 / 400: tuning WER 16.2 / 11.0 / 11.2 / 9.0%, other set 42 / 38 / 31 / 28%, search CPU 0.06 /
0.11 / 0.23 / 0.42. A hand-written numpy token-passing search over the same tree and weights (the
benchmark's ``NumpyTreeSearch``, best path only) does better at every cost: 9.3% / 28.2% at a
search CPU of 0.045 (250 active tokens), 8.8% / 28.2% at 0.09 (500).
Loading: about 3 s (KenLM reads the 100 MB ARPA in 1.2 s; the 72.5k-word tree of 79k
pronunciations) and 160 MB resident (KenLM 80 MB, the tree the rest; 220 MB at the peak of
building); kept in the ``CtcModel``'s graph cache, so a process loads it once. flashlight's decode
holds the GIL between its LM callbacks: other Python threads wait up to about 50 ms.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from decoder.base import DecoderError
from decoder.ctc_backend import FloatArray, UnitClasses, class_emissions
from decoder.lexicon import Lexicon, Position, arpabet_pronunciation, normalise_word, read_cmu_dictionary
from decoder.lm import BOS, EOS, UNK, LmError, load_kenlm
from srgs.model import SourceSpan

LN10 = math.log(10.0)
BEAM_SIZE = 100  # hypotheses kept per frame (measured: see the module docstring)
BEAM_THRESHOLD = 25.0  # nats below the frame's best hypothesis
MAX_HOMOPHONES = 6  # words a tree node may end (flashlight's Trie limit)
MAX_VARIANTS = 4  # spellings of one pronunciation with and without its optional positions
G2P_VOCABULARY = 2000  # models with more words use the CMU dictionary alone (no G2P run per word)


def read_unigrams(path: str) -> dict[str, float]:
    """The 1-gram section of an ARPA file (plain or gzip): word -> log10 p."""
    from decoder.free_speech import _open_model

    unigrams: dict[str, float] = {}
    inside = False
    with _open_model(path) as handle:
        for raw in handle:
            line = raw.decode("utf-8", "replace").strip()
            if line.startswith("\\"):
                if inside:
                    break
                inside = line == "\\1-grams:"
                continue
            if inside and line:
                fields = line.split()
                if len(fields) >= 2:
                    unigrams[fields[1]] = float(fields[0])
    return unigrams


def kenlm_unigrams(model: Any, path: str, location: str) -> dict[str, float]:
    """A KenLM binary model's words (``decoder.lm.read_kenlm_vocabulary``: the strings at the end
    of the file) and their unigram log10 p from ``model`` (KenLM's score from the null context,
    what an ARPA file's 1-gram line says); every word but ``<unk>`` must be one the model knows."""
    import kenlm  # type: ignore[import-not-found]

    from decoder.lm import read_kenlm_vocabulary

    words = read_kenlm_vocabulary(path, location=location)
    null = kenlm.State()
    model.NullContextWrite(null)
    unigrams: dict[str, float] = {}
    for word in words:
        if word != UNK and word not in model:  # KenLM's "in" is "not <unk>"
            raise LmError(f"KenLM binary model: its vocabulary holds {word[:40]!r}, which the model does not know "
                          "(a damaged file?)", SourceSpan(location, 0, 0))
        out = kenlm.State()
        unigrams[word] = float(model.BaseScore(null, word, out))
    return unigrams


def open_language_model(path: str, location: str) -> tuple[Any, dict[str, float]]:
    """KenLM over the model at ``path`` and its unigrams (word -> log10 p), whatever its format:
    ARPA text (plain or gzip; checked by ``copy_checked_arpa``), a KenLM binary (the vocabulary
    read from the file's end, ``kenlm_unigrams``) or pocketsphinx's binary trie (converted to a
    temporary ARPA file by ``decoder.lm.read_sphinx_trie``, or the cached conversion of the
    wheel's own model, ``general_arpa``). Problems are one-line ``LmError``s naming ``location``."""
    import tempfile

    from decoder.free_speech import _model_kind, copy_checked_arpa
    from decoder.lm import general_arpa, sphinx_general_lm, sphinx_trie_to_arpa

    kind = _model_kind(path)
    if kind == "kenlm":
        model = load_kenlm(path, location)
        return model, kenlm_unigrams(model, path, location)
    if kind == "trie":
        try:
            general = os.path.realpath(sphinx_general_lm())
        except LmError:
            general = None
        if os.path.realpath(path) == general:
            arpa = str(general_arpa())  # the wheel's model: converted once, kept in the cache
            return load_kenlm(arpa, location), read_unigrams(arpa)
        with tempfile.TemporaryDirectory(prefix="srgs-slm-") as folder:
            arpa = os.path.join(folder, "model.arpa")
            sphinx_trie_to_arpa(path, arpa, location=location)
            copy_checked_arpa(arpa, None, location=location)
            return load_kenlm(arpa, location), read_unigrams(arpa)  # KenLM keeps an ARPA model in memory
    copy_checked_arpa(path, None, location=location)
    return load_kenlm(path, location), read_unigrams(path)


def _spellings(pronunciation: Sequence[Position]) -> list[tuple[Position, ...]]:
    """The pronunciation with and without its optional positions (at most ``MAX_VARIANTS``)."""
    variants: list[tuple[Position, ...]] = [()]
    for position in pronunciation:
        grown = [variant + (position,) for variant in variants]
        if position.optional and len(variants) * 2 <= MAX_VARIANTS:
            grown += variants
        variants = grown
    return [variant for variant in variants if variant]


@dataclass(frozen=True, slots=True)
class LexiconHypothesis:
    """One word sequence the search ended with: its total score (acoustic + lm_weight x LM +
    word_bonus x words), the acoustic log-probability, the LM's ln p (``</s>`` included) and each
    word's first and last frame."""

    words: tuple[str, ...]
    score: float
    acoustic: float
    lm: float
    spans: tuple[tuple[int, int], ...]


try:  # flashlight-text: the search itself (C++)
    from flashlight.lib.text.decoder import LM as _FlashlightLM  # type: ignore[import-untyped]
except ImportError:  # pragma: no cover - a dependency of the package
    _FlashlightLM = object


class _KenlmCallback(_FlashlightLM):  # type: ignore[misc]  # flashlight has no type hints
    """flashlight's LM interface over KenLM, for one utterance: flashlight ``LMState`` objects,
    one per KenLM state (so hypotheses in the same n-gram context merge), scores in ln p."""

    def __init__(self, model: Any, words: Sequence[str], state_type: Any, kenlm: Any):
        super().__init__()
        self._model = model
        self._words = words
        self._new_state = state_type
        self._kenlm_state = kenlm.State
        self._kenlm: dict[Any, Any] = {}  # flashlight state -> KenLM state
        self._canonical: dict[Any, Any] = {}  # KenLM state -> flashlight state
        self._scores: dict[tuple[Any, int], tuple[Any, float]] = {}

    def _state(self, kenlm_state: Any) -> Any:
        found = self._canonical.get(kenlm_state)
        if found is None:
            found = self._canonical[kenlm_state] = self._new_state()
            self._kenlm[found] = kenlm_state
        return found

    def start(self, start_with_nothing: bool) -> Any:
        state = self._kenlm_state()
        if start_with_nothing:
            self._model.NullContextWrite(state)
        else:
            self._model.BeginSentenceWrite(state)
        return self._state(state)

    def score(self, state: Any, token_index: int) -> tuple[Any, float]:
        key = (state, token_index)
        found = self._scores.get(key)
        if found is None:
            out = self._kenlm_state()
            value = self._model.BaseScore(self._kenlm[state], self._words[token_index], out) * LN10
            found = self._scores[key] = (self._state(out), value)
        return found

    def finish(self, state: Any) -> tuple[Any, float]:
        out = self._kenlm_state()
        value = self._model.BaseScore(self._kenlm[state], EOS, out) * LN10
        ended = self._new_state()  # its own state: ended hypotheses are not merged with each other
        self._kenlm[ended] = out
        return ended, value


@dataclass(slots=True)
class SpelledVocabulary:
    """A model's words spelled in tree tokens: ``token_units`` (token -> the CTC units it stands
    for; 0 is the blank), ``words`` (index -> word), ``entries`` (unigram ln p, tokens, word index)
    likeliest first, at most ``MAX_HOMOPHONES`` per spelling; ``missing``: words without one."""

    token_units: list[tuple[int, ...]]
    words: list[str]
    entries: list[tuple[float, tuple[int, ...], int]]
    missing: tuple[str, ...]


def spell_vocabulary(unigrams: dict[str, float], lexicon: Lexicon | None, unit_ids: dict[str, int],
                     blank_ids: Sequence[int]) -> SpelledVocabulary:
    """The pronunciations of ``unigrams``' words (log10 p) in ``lexicon`` (None: the CMU dictionary
    alone) as token sequences, a token per distinct set of units."""
    classes = UnitClasses(unit_ids, blank_ids)
    token_units = classes.units  # token -> its unit ids: a token is a class of units

    def token(position: Position) -> int:
        return classes.of(position.phones)

    dictionary = read_cmu_dictionary() if lexicon is None else {}
    arpabet: dict[str, int | None] = {}  # ARPAbet phone (with stress) -> token

    def arpabet_token(phone: str) -> int | None:
        if phone not in arpabet:
            found = arpabet_pronunciation([phone])
            arpabet[phone] = token(found[0]) if found else None
        return arpabet[phone]

    words: list[str] = []
    entries: list[tuple[float, tuple[int, ...], int]] = []
    missing: list[str] = []
    for word, log10p in unigrams.items():
        if word in (BOS, EOS, UNK) or word.startswith(("<", "[")) or log10p <= -98:
            continue
        spellings: set[tuple[int, ...]] = set()
        if lexicon is None:
            for phones in dictionary.get(normalise_word(word), ()):
                spelling = tuple(arpabet_token(phone) for phone in phones)
                if spelling and None not in spelling:
                    spellings.add(spelling)  # type: ignore[arg-type]  # None was ruled out
        else:
            for pronunciation in lexicon.pronunciations(word):
                for variant in _spellings(pronunciation):
                    spellings.add(tuple(token(position) for position in variant))
        if not spellings:
            missing.append(word)
            continue
        index = len(words)
        words.append(word)
        entries.extend((log10p * LN10, spelling, index) for spelling in sorted(spellings))
    kept: list[tuple[float, tuple[int, ...], int]] = []
    ended: dict[tuple[int, ...], int] = {}
    # likeliest first, ties by word then the spelling's units (token numbers follow the words' order):
    # the same tree whatever order the file lists its words in
    for entry in sorted(entries, key=lambda item: (-item[0], words[item[2]],
                                                   [token_units[token] for token in item[1]])):
        if ended.get(entry[1], 0) < MAX_HOMOPHONES:  # else the node ends its likeliest words already
            ended[entry[1]] = ended.get(entry[1], 0) + 1
            kept.append(entry)
    return SpelledVocabulary(token_units, words, kept, tuple(missing))


class LexiconSearch:
    """The shared part of the dynamic search over one n-gram model: KenLM, the pronunciation tree
    and its tokens (build with ``LexiconSearch.build``; decode with ``decode``, from any thread)."""

    def __init__(self, kenlm_model: Any, words: list[str], trie: Any, token_units: Sequence[Sequence[int]],
                 unpronounceable: tuple[str, ...]):
        self.kenlm_model = kenlm_model
        self.words = words
        self.trie = trie
        self.token_units = token_units
        self._token_ids = [np.array(ids, dtype=np.int64) for ids in token_units]
        self.unpronounceable = unpronounceable

    @classmethod
    def build(cls, path: str, location: str, lexicon: Lexicon | None, unit_ids: dict[str, int],
              blank_ids: Sequence[int], *, opened: tuple[Any, dict[str, float]] | None = None) -> LexiconSearch:
        """KenLM over the file at ``path`` and the tree of its unigrams' pronunciations in ``lexicon``
        (None: the CMU dictionary alone, mapped as ``EnglishLexicon`` maps it, without G2P);
        ``opened``: what ``open_language_model(path, location)`` returned, when the caller has it
        (else the file is read here: ARPA text or either binary format)."""
        try:
            from flashlight.lib.text.decoder import SmearingMode, Trie
        except ImportError as exc:  # pragma: no cover - a dependency of the package
            raise DecoderError(f"the CTC back end's large-model search needs flashlight-text ({exc})") from None
        model, unigrams = opened if opened is not None else open_language_model(path, location)
        vocabulary = spell_vocabulary(unigrams, lexicon, unit_ids, blank_ids)
        if not vocabulary.words:
            raise LmError("none of the language model's words has a pronunciation", SourceSpan(location, 0, 0))
        trie = Trie(len(vocabulary.token_units), 0)
        for score, spelling, index in vocabulary.entries:
            trie.insert(list(spelling), index, score)
        trie.smear(SmearingMode.MAX)
        return cls(model, vocabulary.words, trie, vocabulary.token_units, vocabulary.missing)

    def emissions(self, log_probs: FloatArray) -> FloatArray:
        """``[frames x tokens]``: each token's best unit per frame."""
        return class_emissions(log_probs, self._token_ids)

    def decode(self, log_probs: FloatArray, *, lm_weight: float, word_bonus: float, beam_size: int = BEAM_SIZE,
               beam_threshold: float = BEAM_THRESHOLD, max_results: int = 20) -> list[LexiconHypothesis]:
        """The distinct word sequences of the final hypotheses, best first (at most ``max_results``)."""
        import kenlm
        from flashlight.lib.text.decoder import (
            CriterionType,
            LexiconDecoder,
            LexiconDecoderOptions,
            LMState,
        )

        emissions = np.ascontiguousarray(self.emissions(log_probs))
        frames, width = emissions.shape
        if not frames:
            return []
        options = LexiconDecoderOptions(beam_size, width, beam_threshold, lm_weight, word_bonus, -math.inf, 0.0,
                                        False, CriterionType.CTC)
        callback = _KenlmCallback(self.kenlm_model, self.words, LMState, kenlm)
        decoder = LexiconDecoder(options, self.trie, callback, 0, 0, -1, [], False)
        results = decoder.decode(emissions.ctypes.data, frames, width)
        out: list[LexiconHypothesis] = []
        seen: set[tuple[str, ...]] = set()
        for result in results:
            labels = list(result.words)[1:frames + 1]
            path = list(result.tokens)[1:frames + 1]
            words = tuple(self.words[label] for label in labels if label >= 0)
            if not words or words in seen:
                continue
            seen.add(words)
            out.append(LexiconHypothesis(words=words, score=float(result.score),
                                         acoustic=float(result.emittingModelScore), lm=float(result.lmScore),
                                         spans=tuple(_word_frames(labels, path))))
            if len(out) >= max_results:
                break
        return out


def _word_frames(labels: Sequence[int], path: Sequence[int]) -> Iterable[tuple[int, int]]:
    """Each word's first and last frame from the per-frame word labels (set where a word's last
    token was entered) and tokens (0: blank)."""
    cursor = 0
    last = len(path) - 1
    for frame, label in enumerate(labels):
        if label < 0:
            continue
        start = next((index for index in range(cursor, frame + 1) if path[index] != 0), frame)
        end = frame
        while end < last and path[end + 1] == path[frame]:
            end += 1
        yield start, end
        cursor = end + 1


def file_key(path: str) -> tuple[str, int, int]:
    """What identifies a model file's content for the caches: its path, size and modification time."""
    stat = os.stat(path)
    return path, stat.st_size, stat.st_mtime_ns


__all__ = ["BEAM_SIZE", "BEAM_THRESHOLD", "SpelledVocabulary", "G2P_VOCABULARY", "LexiconHypothesis",
           "LexiconSearch", "file_key", "kenlm_unigrams", "open_language_model", "read_unigrams",
           "spell_vocabulary"]
