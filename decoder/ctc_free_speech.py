"""Free speech on the CTC back end: hama's phoneme CTC emissions searched under an n-gram model.

``ctc_free_speech_session(model, location)`` makes a ``DecoderSession`` (``decoder.base``) over a
shared ``CtcModel`` whose ``decode(audio)`` finds the best word sequences of the language model's
vocabulary in the CTC log-probabilities, as ``decoder.free_speech`` does with pocketsphinx.

Two searches (``session.search``), each with its own default weights:

- "dynamic" (the default): ``decoder.ctc_lexicon_search``, a pronunciation prefix tree of the
  model's vocabulary searched frame by frame with KenLM scoring each word end exactly
  (flashlight-text's lexicon decoder), so nothing grows with the n-grams: ``builtin:slm/general``
  (72k words, 3.7M n-grams, converted once to ARPA by ``decoder.lm.general_arpa``) included. Its
  shared part (KenLM, the tree) is kept in the model's graph cache by file, whatever the weights
  (``DEFAULT_LM_WEIGHT``, ``DEFAULT_WORD_BONUS``). Pronunciations: the English lexicon (CMU
  dictionary + hama's G2P) for models of up to ``G2P_VOCABULARY`` words, the CMU dictionary alone
  above (a word it lacks is left out: ``session.unpronounceable``).
- "static" (``search="static"``): the ARPA model is read as a back-off automaton
  (``NgramAutomaton``: one state per n-gram context of order < N, an arc per n-gram to the longest
  context it leads to, an epsilon back-off arc from each context to its suffix at the back-off
  weight, ``</s>`` as final costs) and handed to the CTC back end's graph builder and
  frame-synchronous Viterbi beam search (``decoder.ctc_backend.build_graph`` / ``viterbi``) in
  place of a grammar: every n-gram arc gets a copy of its word's pronunciations, so hypotheses are
  merged by (pronunciation state, LM state) and word ends pay ``lm_weight`` times the n-gram cost
  (-ln p) minus ``word_bonus``. Back-off is the usual Viterbi approximation (the cheaper of the
  explicit n-gram and the backed-off path); the n-best word sequences are rescored with KenLM's
  exact sentence probability. The graph has about (n-grams x pronunciations x 2 x pronunciation
  length) states: a model over ``MAX_STATIC_NGRAMS`` n-grams (``builtin:slm/general`` too) or
  whose graph would exceed ``MAX_GRAPH_STATES`` is refused with a one-line error (a bigram model of
  1,500 words and 30k n-grams makes 450k states, built in about 3 s). Kept in the model's graph
  cache (key: the file, its size and time, the weights).

Models: the dynamic search takes ARPA text (plain or gzip; ``srgs lm build`` writes them), KenLM
binary files (``build_binary`` probing or trie: KenLM maps the file, the vocabulary is read from the
strings at its end, ``decoder.lm.read_kenlm_vocabulary``, and each word's unigram log10 p from KenLM;
a file built with ``build_binary -v`` has no vocabulary and is refused) and pocketsphinx's binary
trie (converted to a temporary ARPA file, or the cached conversion for the wheel's own model):
``decoder.ctc_lexicon_search.open_language_model``. ``builtin:slm/general``'s 3.7M n-grams: KenLM
and the unigrams load in 2.1 s from the 100 MB ARPA, 0.1 s from a KenLM binary of it (trie 38 MB,
probing 82 MB: KenLM maps it); a whole session (the 72k-word tree too) in 2.2 s from ARPA, 1.1 s
from the trie binary, peak resident 295 MB / 253 MB. The static search reads the ARPA text and
refuses both binary formats with a one-line error.

Measured (``benchmarks/bench_ctc_free_speech.py``: 12 pizza orders not among the model's 500
samples, espeak-ng en-us and en-us+f3, a grammar-shaped ARPA model): WER at 150 / 175 words per
minute, dynamic 1.3% / 0.0% at wall-clock RTF 0.08, static 2.6% / 0.6% at 0.13 (the static
weights were tuned on the 150 set: flat around 0.5-1.0 / 0-1), pocketsphinx free speech with
the same model 3.9% / 7.8% at 0.11 (emissions included; a loaded 2-core machine). The static
search is no better on a small model, so the dynamic one is the default. ``builtin:slm/general``:
see ``decoder.ctc_lexicon_search`` (WER 38% where pocketsphinx makes 69%, ``bench_free_speech.py``).

Who may name a file: as ``decoder.free_speech`` (``resolve_free_speech_location`` under the
caller's ``AccessPolicy``; default ``AccessPolicy.closed()``).

Results as ``decoder.free_speech``'s: RECOGNIZED with the n-best texts as alternatives (``lm`` =
the location, one interpretation each whose value is the text), scores the texts' posteriors
(softmax of the rescored n-best), word times and confidences from the best path; NO_MATCH when
no frame's most likely unit is a phone (silence, noise: the CTC model hears only blanks; the
search would still fit a short word somewhere) or the audio is digital silence.

Rejection (the dynamic search): ``decoder.ctc_free_speech_confidence`` turns the decode into an
utterance confidence (0-100: how sure the CTC model is of its phones, what the best path loses
against the greedy one, the language model's likelihood per word for ``builtin:slm/general``).
``Recognition.rejection_score`` is confidence / 100; under the session's ``rejection_threshold``
(by default the confidence model's: ``CTC_GENERAL_CONFIDENCE`` or ``CTC_USER_MODEL_CONFIDENCE``)
the result is NO_MATCH (``rejected``), else the best alternative's score is the confidence and each
other's the confidence times its posterior over the best one's (``session.last_measures``: the
measures). The static search has no rejection score.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from decoder.audio import Audio
from decoder.base import DecoderError, DecoderSession, Recognition, WordTime
from decoder.ctc_backend import BEAM, CtcModel, FloatArray, SearchGraph, SearchParams, build_graph, viterbi
from decoder.ctc_free_speech_confidence import CtcFreeSpeechMeasures, confidence_model_for, ctc_free_speech_confidence
from decoder.ctc_lexicon_search import BEAM_SIZE, BEAM_THRESHOLD, LexiconSearch, file_key
from decoder.free_speech import SILENCE_PEAK, copy_checked_arpa, free_speech_result, word_confidence
from decoder.lexicon import Pronunciation
from decoder.lm import BOS, EOS, GENERAL, UNK, LanguageModel, LmError, general_arpa
from decoder.stream import BufferedStream
from srgs.load.policy import AccessPolicy
from srgs.model import SourceSpan

LN10 = math.log(10.0)
FIRST_WORD_LABEL = 5  # labels below are the constraint symbols' reserved ones (epsilon, any, unk, ...)
MAX_GRAPH_STATES = 1_000_000  # search states a model's graph may have (about 150 bytes each; building
# one of 30k states takes about 0.3 s)
# the dynamic search's weights: times ln p of each word (KenLM's), nats per word (the insertion
# penalty's opposite); chosen by benchmarks/bench_ctc_free_speech.py --general --sweep on its tuning set
DEFAULT_LM_WEIGHT = 0.8
DEFAULT_WORD_BONUS = 1.0
STATIC_LM_WEIGHT = 0.5  # the static search's; measured by benchmarks/bench_ctc_free_speech.py --sweep
STATIC_WORD_BONUS = 1.0
MAX_ACTIVE = 6000
MAX_STATIC_NGRAMS = 100_000  # the static search refuses models with more n-grams without reading them
NBEST_PATHS = 20  # distinct word sequences read from the search for rescoring and posteriors


# --- the n-gram model as an automaton ---------------------------------------------------------------


def read_arpa(path: str, *, location: str | None = None) -> list[dict[tuple[str, ...], tuple[float, float]]]:
    """The n-grams of an ARPA file (plain or gzip) by order: words -> (log10 p, log10 back-off).
    The file is checked first (``decoder.free_speech.copy_checked_arpa``: problems are an
    ``LmError`` at their line)."""
    from decoder.free_speech import _open_model

    copy_checked_arpa(path, None, location=location)
    tables: list[dict[tuple[str, ...], tuple[float, float]]] = []
    order = 0
    with _open_model(path) as handle:
        for raw in handle:
            line = raw.decode("utf-8", "replace").strip()
            if not line:
                continue
            if line.startswith("\\"):
                if line.endswith("-grams:"):
                    order = int(line[1:line.index("-")])
                    tables.append({})
                elif line == "\\end\\":
                    break
                continue
            if order == 0:
                continue
            fields = line.split()
            words = tuple(fields[1:order + 1])
            backoff = float(fields[order + 1]) if len(fields) > order + 1 else 0.0
            tables[order - 1][words] = (float(fields[0]), backoff)
    return tables


class NgramAutomaton:
    """A back-off n-gram model as the constraint interface ``build_graph`` reads (``start``,
    ``arcs``, ``final``, ``words``, ``num_states``), over the words ``keep`` accepts."""

    def __init__(self, tables: Sequence[dict[tuple[str, ...], tuple[float, float]]], keep: set[str]):
        order = len(tables)
        contexts: dict[tuple[str, ...], int] = {(): 0}
        for table in tables[: order - 1]:
            for words in table:
                if words[-1] != EOS:
                    contexts.setdefault(words, len(contexts))
        self.num_states = len(contexts)
        self.words = ["<eps>", "<any>", "<unk>", "<garbage>", "<rule-end>"]
        labels: dict[str, int] = {}
        arcs: list[list[tuple[int, int, float]]] = [[] for _ in range(self.num_states)]
        finals = [math.inf] * self.num_states
        self.word_arcs = 0

        def landing(words: tuple[str, ...]) -> int:
            words = words[len(words) - (order - 1):] if order > 1 else ()
            while words not in contexts:
                words = words[1:]
            return contexts[words]

        for table in tables:
            for words, (log10p, _) in table.items():
                context, word = words[:-1], words[-1]
                source = contexts.get(context)
                if source is None or word in (BOS, UNK) or log10p <= -98:
                    continue
                cost = -log10p * LN10
                if word == EOS:
                    finals[source] = min(finals[source], cost)
                    continue
                if word not in keep:
                    continue
                label = labels.get(word)
                if label is None:
                    label = labels[word] = len(self.words)
                    self.words.append(word)
                arcs[source].append((label, landing(words), cost))
                self.word_arcs += 1
        # back-off: a context to its suffix, at its back-off weight
        for words, state in contexts.items():
            if words:
                backoff = tables[len(words) - 1].get(words, (0.0, 0.0))[1]
                arcs[state].append((0, landing(words[1:]) if len(words) > 1 else 0, -backoff * LN10))
        self._arcs = [tuple(found) for found in arcs]
        self._finals = finals
        self._labels = labels
        self._start = contexts.get((BOS,), 0)
        self._by_label = [{label: (target, cost) for label, target, cost in found if label} for found in arcs]

    def start(self) -> int:
        return self._start

    def arcs(self, state: int) -> tuple[tuple[int, int, float], ...]:
        return self._arcs[state]

    def final(self, state: int) -> float:
        return self._finals[state]

    def _closure(self, costs: dict[int, float]) -> dict[int, float]:
        out = dict(costs)
        stack = list(costs)
        while stack:
            state = stack.pop()
            for label, target, cost in self._arcs[state]:
                if label == 0 and out[state] + cost < out.get(target, math.inf):
                    out[target] = out[state] + cost
                    stack.append(target)
        return out

    def path_cost(self, words: Iterable[str]) -> float:
        """The cheapest automaton cost of ``words`` then the end (what the Viterbi search paid)."""
        costs = {self._start: 0.0}
        for word in words:
            label = self._labels.get(word)
            following: dict[int, float] = {}
            for state, cost in self._closure(costs).items():
                step = self._by_label[state].get(label) if label is not None else None
                if step is not None and cost + step[1] < following.get(step[0], math.inf):
                    following[step[0]] = cost + step[1]
            costs = following
        return min((cost + self._finals[state] for state, cost in self._closure(costs).items()), default=math.inf)


# --- the session -------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Model:
    """What sessions over the same file and weights share (kept in the CtcModel's graph cache)."""

    graph: SearchGraph
    automaton: NgramAutomaton
    lm: LanguageModel
    unpronounceable: tuple[str, ...]


def arpa_counts(path: str, *, location: str | None = None) -> list[int]:
    """The n-gram counts an ARPA file's header declares (``ngram N=count`` lines)."""
    from decoder.free_speech import _open_model

    counts: list[int] = []
    with _open_model(path) as handle:
        for raw in handle:
            line = raw.decode("utf-8", "replace").strip()
            if line.startswith("ngram ") and "=" in line:
                try:
                    counts.append(int(line.partition("=")[2]))
                except ValueError:
                    raise LmError(f"bad ARPA header line {line!r}", SourceSpan(location or path, 0, 0)) from None
            elif line.startswith("\\") and line.endswith("-grams:"):
                break
    return counts


class CtcFreeSpeechSession:
    """One caller's CTC free-speech decoder over an n-gram model (ARPA; the dynamic search also
    KenLM and pocketsphinx binaries: see the module docstring)."""

    def __init__(self, model: CtcModel, location: str, *, nbest: int | None = None, policy: AccessPolicy | None = None,
                 lm_weight: float | None = None, word_bonus: float | None = None, beam: float = BEAM,
                 search: str = "dynamic", rejection_threshold: float | None = None):
        from decoder.free_speech import _model_kind, resolve_free_speech_location
        from interpreter.api import check_nbest

        try:
            self.nbest = check_nbest(1 if nbest is None else nbest)
        except ValueError as exc:
            raise DecoderError(str(exc)) from None
        for name, value in (("lm_weight", lm_weight), ("word_bonus", word_bonus), ("beam", beam),
                            ("rejection_threshold", rejection_threshold)):
            if value is None and name != "beam":
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise DecoderError(f"{name} must be a finite number, got {value!r}")
        self.model = model
        self.location = location
        self.closed = False
        self.beam = float(beam)
        self.beam_size = BEAM_SIZE
        self.beam_threshold = BEAM_THRESHOLD
        if search not in ("static", "dynamic"):
            raise DecoderError(f"search must be 'dynamic' or 'static', got {search!r}")
        self.search = search
        static = search == "static"
        self.lm_weight = float((STATIC_LM_WEIGHT if static else DEFAULT_LM_WEIGHT) if lm_weight is None else lm_weight)
        self.word_bonus = float((STATIC_WORD_BONUS if static else DEFAULT_WORD_BONUS) if word_bonus is None
                                else word_bonus)
        self.confidence_model = confidence_model_for(location)
        self.rejection_threshold = float(self.confidence_model.threshold if rejection_threshold is None
                                         else rejection_threshold)
        self.last_measures: CtcFreeSpeechMeasures | None = None
        path = resolve_free_speech_location(location, policy)  # the access policy decides first
        if location == GENERAL:
            path = str(general_arpa())  # KenLM reads the wheel's model converted to ARPA (once, cached)
        self.path = path
        self._shared: _Model | None = None
        self._dynamic: LexiconSearch | None = None
        if not static:
            self._dynamic = self._lexicon_search(path)
            self.unpronounceable = self._dynamic.unpronounceable
            return
        kind = _model_kind(path)
        if kind != "text":
            raise LmError(f"the CTC back end's static free-speech search reads ARPA models (srgs lm build writes them), "
                          f"not a {kind} binary file: use the dynamic search (the default)", SourceSpan(location, 0, 0))
        ngrams = sum(arpa_counts(path, location=location))
        if location == GENERAL or ngrams > MAX_STATIC_NGRAMS:
            raise LmError(f"the language model is too large for the CTC back end's static free-speech search ({ngrams} "
                          f"n-grams, at most {MAX_STATIC_NGRAMS}): use the dynamic search", SourceSpan(location, 0, 0))
        key = ("ctc-free-speech", *file_key(path), self.lm_weight, self.word_bonus)
        shared = model.shared(key, lambda: self._build(path))
        self._shared = shared
        self.unpronounceable = shared.unpronounceable

    def _lexicon_search(self, path: str) -> LexiconSearch:
        """The dynamic search's shared part for ``path`` (KenLM and the pronunciation tree), from
        the model's cache or built (sessions on the same file share it, whatever their weights)."""
        from decoder.ctc_lexicon_search import G2P_VOCABULARY, open_language_model, read_unigrams
        from decoder.lm import load_kenlm

        def build() -> LexiconSearch:
            if self.location == GENERAL:  # the cached conversion, checked when it was written
                opened = load_kenlm(path, self.location), read_unigrams(path)
            else:  # ARPA (checked), KenLM binary (its vocabulary read from the file) or pocketsphinx trie
                opened = open_language_model(path, self.location)
            lexicon = self.model.lexicon("en-US") if len(opened[1]) <= G2P_VOCABULARY else None
            return LexiconSearch.build(path, self.location, lexicon, self.model.unit_ids, self.model.blank_ids(),
                                       opened=opened)

        return self.model.shared(("ctc-lexicon-search", *file_key(path)), build)

    def _build(self, path: str) -> _Model:
        tables = read_arpa(path, location=self.location)
        lexicon = self.model.lexicon("en-US")
        pronunciations: dict[str, tuple[Pronunciation, ...]] = {}
        missing: list[str] = []
        for word in tables[0]:
            if len(word) != 1 or word[0] in (BOS, EOS, UNK) or word[0].startswith(("<", "[")):
                continue
            found = lexicon.pronunciations(word[0])
            if found:
                pronunciations[word[0]] = found
            else:
                missing.append(word[0])
        if not pronunciations:
            raise LmError("none of the language model's words has a pronunciation", SourceSpan(self.location, 0, 0))
        automaton = NgramAutomaton(tables, set(pronunciations))
        # every word arc gets a lead blank and a phone and a blank state per position of each pronunciation
        sizes = {word: sum(2 * len(pron) + 1 for pron in prons) for word, prons in pronunciations.items()}
        states = sum(sizes[automaton.words[label]] for state in range(automaton.num_states)
                     for label, _, _ in automaton.arcs(state) if label)
        if states > MAX_GRAPH_STATES:
            raise LmError(f"the language model is too large for the CTC back end's static free-speech search "
                          f"({automaton.word_arcs} n-grams, {states} search states, at most {MAX_GRAPH_STATES}): use "
                          "the dynamic search", SourceSpan(self.location, 0, 0))
        params = SearchParams(grammar_weight=self.lm_weight, word_bonus=self.word_bonus)
        graph = build_graph(automaton, lambda state, word: pronunciations[word],
                            self.model.unit_ids,
                            self.model.blank_ids(), len(self.model.units), params)
        return _Model(graph=graph, automaton=automaton, lm=LanguageModel(path), unpronounceable=tuple(missing))

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> CtcFreeSpeechSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def stream(self, *, nbest: int | None = None) -> BufferedStream:
        """Audio fed in chunks, decoded whole at ``finish`` (``decoder.stream.BufferedStream``)."""
        if self.closed:
            raise DecoderError("this decoder session is closed")
        # partials are not rejected (a prefix of an utterance is not one), as pocketsphinx's are not
        return BufferedStream(lambda audio: self.decode(audio, nbest=nbest), sample_rate=self.model.sample_rate,
                              partial_decode=lambda audio: self.decode(audio, nbest=1, reject=False))

    def decode(self, audio: Audio, *, nbest: int | None = None, reject: bool = True) -> Recognition:
        """Decode one whole utterance with the language model (``reject=False``: the confidence is
        computed but never turns the result into NO_MATCH, for partial results)."""
        from interpreter.api import check_nbest

        if self.closed:
            raise DecoderError("this decoder session is closed")
        try:
            count = self.nbest if nbest is None else check_nbest(nbest)
        except ValueError as exc:
            raise DecoderError(str(exc)) from None
        began = time.perf_counter()
        samples = audio.samples
        if not len(samples) or int(np.abs(samples.astype(np.int32)).max()) <= SILENCE_PEAK:
            return self._recognition([], (), audio.seconds, began, count)
        log_probs = self.model.log_probs(audio)
        return self.decode_log_probs(log_probs, audio_seconds=audio.seconds, nbest=count, began=began, reject=reject)

    def decode_log_probs(self, log_probs: FloatArray, *, audio_seconds: float, nbest: int | None = None,
                         began: float | None = None, reject: bool = True) -> Recognition:
        """Decode emissions already computed (``[frames x units]`` log-probabilities)."""
        began = time.perf_counter() if began is None else began
        count = self.nbest if nbest is None else nbest
        speech = np.ones(log_probs.shape[1], dtype=np.bool_)
        speech[self.model.blank_ids()] = False
        if not log_probs.size or not speech[log_probs.argmax(axis=1)].any():
            # no frame where a phone beats the blank: silence or noise, nothing was said
            return self._recognition([], (), audio_seconds, began, count)
        if self._dynamic is not None:
            return self._decode_dynamic(self._dynamic, log_probs, audio_seconds, began, count, reject=reject)
        shared = self._shared
        assert shared is not None
        graph = shared.graph
        result = viterbi(graph, log_probs, beam=self.beam, max_active=MAX_ACTIVE, max_ends=NBEST_PATHS)
        if not result.ends:
            return self._recognition([], (), audio_seconds, began, count)
        # rescore the n-best with KenLM's exact sentence probability
        scored: list[tuple[tuple[str, ...], float]] = []
        for arcs, total, *_ in result.ends:
            words = tuple(graph.arc_words[a] for a in arcs)
            paid = shared.automaton.path_cost(words)
            acoustic = total + self.lm_weight * paid - self.word_bonus * len(words)
            exact = -shared.lm.score(words) * LN10
            scored.append((words, acoustic - self.lm_weight * exact + self.word_bonus * len(words)))
        scored.sort(key=lambda item: -item[1])
        best_score = scored[0][1]
        mass = [(words, math.exp(score - best_score)) for words, score in scored]
        total_mass = math.fsum(value for _, value in mass)
        texts = [(words, value / total_mass) for words, value in mass]
        times = self._times(result, log_probs, texts)
        return self._recognition(texts, times, audio_seconds, began, count,
                                 [(words, best_score - score, self.location) for words, score in scored])

    def _decode_dynamic(self, search: LexiconSearch, log_probs: FloatArray, audio_seconds: float, began: float,
                        count: int, *, reject: bool = True) -> Recognition:
        """The dynamic search's n-best (KenLM scored them exactly: no rescoring), posteriors and times."""
        found = search.decode(log_probs, lm_weight=self.lm_weight, word_bonus=self.word_bonus,
                              beam_size=self.beam_size, beam_threshold=self.beam_threshold, max_results=NBEST_PATHS)
        if not found:
            return self._recognition([], (), audio_seconds, began, count)
        best_score = found[0].score
        mass = [(hypothesis.words, math.exp(hypothesis.score - best_score)) for hypothesis in found]
        total_mass = math.fsum(value for _, value in mass)
        texts = [(words, value / total_mass) for words, value in mass]
        best = found[0]
        seconds = self.model.frame_seconds
        times = tuple(
            WordTime(word=word, start=start * seconds, end=(end + 1) * seconds,
                     confidence=max(0, min(100, round(100 * word_confidence(texts, best.words, index)))))
            for index, (word, (start, end)) in enumerate(zip(best.words, best.spans, strict=True)))
        hypotheses = [(hypothesis.words, best_score - hypothesis.score, self.location) for hypothesis in found]
        recognition = self._recognition(texts, times, audio_seconds, began, count, hypotheses)
        confidence, self.last_measures = ctc_free_speech_confidence(
            recognition, log_probs, blank_ids=self.model.blank_ids(), frame_seconds=self.model.frame_seconds,
            acoustic=best.acoustic, lm=best.lm, model=self.confidence_model)
        score = confidence / 100
        rejected = reject and score < self.rejection_threshold
        return self._recognition([] if rejected else texts, times, audio_seconds, began, count, hypotheses,
                                 confidence=score, rejected=rejected)

    def _times(self, result: object, log_probs: FloatArray,
               texts: list[tuple[tuple[str, ...], float]]) -> tuple[WordTime, ...]:
        """The Viterbi-best path's words, times and confidences (when it is also the rescored best)."""
        from decoder.ctc_backend import SearchResult

        assert isinstance(result, SearchResult)
        assert self._shared is not None
        graph = self._shared.graph
        best_arcs, _, entry, last_start, last_end = result.ends[0]
        best_words = texts[0][0]
        if tuple(graph.arc_words[a] for a in best_arcs) != best_words:
            # the rescored best is another path: read its times from its own entry
            for arcs, _, other_entry, start, end in result.ends:
                if tuple(graph.arc_words[a] for a in arcs) == best_words:
                    best_arcs, entry, last_start, last_end = arcs, other_entry, start, end
                    break
        chain: list[int] = []
        while entry >= 0:
            chain.append(entry)
            entry = int(result.history_prev[entry])
        chain.reverse()
        spans = [(graph.arc_words[int(result.history_arc[item])], int(result.history_start[item]),
                  int(result.history_end[item])) for item in chain]
        spans.append((graph.arc_words[best_arcs[-1]], last_start, last_end))
        seconds = self.model.frame_seconds
        times = []
        for index, (word, start, end) in enumerate(spans):
            confidence = word_confidence(texts, best_words, index) if index < len(best_words) else 0.0
            times.append(WordTime(word=word, start=start * seconds, end=(end + 1) * seconds,
                                  confidence=max(0, min(100, round(100 * confidence)))))
        return tuple(times)

    def _recognition(self, texts: list[tuple[tuple[str, ...], float]], times: tuple[WordTime, ...],
                     audio_seconds: float, began: float, count: int,
                     hypotheses: Sequence[tuple[tuple[str, ...], float, str | None]] = (), *,
                     confidence: float | None = None, rejected: bool = False) -> Recognition:
        outcome = free_speech_result(self.location, texts, count, confidence=confidence)
        if outcome.status == "NO_MATCH":
            times = ()
        return Recognition(result=outcome, words=times, hypotheses=tuple(hypotheses[:count]),
                           audio_seconds=audio_seconds, decode_seconds=time.perf_counter() - began,
                           rejection_score=confidence, rejected=rejected)


def ctc_free_speech_session(model: CtcModel, location: str, *, nbest: int | None = None,
                            policy: AccessPolicy | None = None, lm_weight: float | None = None,
                            word_bonus: float | None = None, rejection_threshold: float | None = None) -> DecoderSession:
    """A free-speech ``DecoderSession`` on the CTC back end with the n-gram model at ``location``
    (ARPA, KenLM binary or pocketsphinx binary) or ``builtin:slm/general`` (``nbest``: default
    alternatives, 1; ``policy``: who may name files, default ``AccessPolicy.closed()``;
    ``lm_weight`` / ``word_bonus``: None for the search's own defaults). The first session on the
    general model loads it (about 3 s, 160 MB), later ones share it. ``rejection_threshold``: NO_MATCH
    below this utterance confidence / 100 (default the confidence model's; 0 accepts everything)."""
    return CtcFreeSpeechSession(model, location, nbest=nbest, policy=policy, lm_weight=lm_weight,
                                word_bonus=word_bonus, rejection_threshold=rejection_threshold)


__all__ = ["CtcFreeSpeechSession", "DEFAULT_LM_WEIGHT", "DEFAULT_WORD_BONUS", "NgramAutomaton", "STATIC_LM_WEIGHT",
           "STATIC_WORD_BONUS", "arpa_counts",
           "ctc_free_speech_session", "read_arpa"]
