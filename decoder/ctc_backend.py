"""The CTC back end: a frame-synchronous Viterbi search over CTC emissions under the grammars.

``CtcModel()`` loads hama's bundled phoneme CTC model once (its native engine; 20 ms frames at
16 kHz, 191 IPA units of which it emits about 42 General-American phones, a word-boundary unit
``<wb>`` and a blank) and is shared: decoding takes its lock only while the network runs. Any
other CTC model can be brought with ``CtcModel(emissions=..., units=..., blank=...)``: a callable
from float32 samples at 16 kHz to a ``[frames x units]`` array of log-probabilities.

``model.session(activation)`` composes the activation's ``GrammarConstraint`` with the
pronunciation lexicon of each grammar's language (``decoder.lexicon``: en-US from the CMU
dictionary and hama's G2P, pt-BR from the shipped respelled lexicon, then spelling rules for the
words it lacks: ``decoder.lexicon.RuleLexicon``) and the CTC topology into
one search graph (``SearchGraph``): every word arc of the grammar gets a copy of each of its
word's pronunciations, a leading blank state, then for each position a phone state (emitting the
best of the position's unit set) and a blank state (emitting blank or ``<wb>``), self-loops on
all, optional positions skippable, the grammar state graph's nodes between words (epsilon arcs
closed over, $GARBAGE as a state emitting anything at ``GARBAGE_FRAME_COST`` per frame).

Word boosts (``word_boosts``, the ASR API's ``hints.words``; ``decoder.word_boosts``): a boosted
word's arcs cost ``boost`` nats less in the grammar, so entering one adds ``grammar_weight *
boost`` to the path's score; the boosts are part of the search graph's cache key (hint words no
active grammar has are not: they leave the graph as it is), and what they added is taken off
again where the search recovers a path's acoustic log-probability (rejection measures acoustics).

Search (``CtcSession.decode``): the model's RAW per-frame log-probabilities (not its greedy
decoder's temperature and blank bias); per frame, only the successors of surviving states are
evaluated, vectorised in numpy (``BEAM`` and ``MAX_ACTIVE`` pruning); word ends record a history
entry (word, start/end frame, score) so the best path's words and times come back without
per-frame back-pointers. The n-best are the distinct word sequences ending in a final state at
the last frame. They go to ``activation.interpreter().interpret_hypotheses`` with their acoustic
costs, as the pocketsphinx back end does.

Rejection: the normalised score is (the best path's acoustic log-probability - the reference's)
/ the number of speech frames (frames whose best unit is a phone), where the reference is the
unconstrained best path (the per-frame maximum) or, for a language whose lexicon is a closed list
(pt-BR), the best path through a loop of all the lexicon's words (``WordLoop``: a model that does
not know the language fits its words badly whether they are in the grammar or not, and the loop
pays that mismatch too); ``rejection_score = exp(normalised score)`` (0-1). Below
``rejection_threshold`` (by default ``DEFAULT_REJECTION_THRESHOLD`` of the grammars' language,
calibrated by ``benchmarks/bench_ctc.py``) the result is NO_MATCH. Two guards scale the score
down. Coverage: when the path's words leave more than ``1 - MIN_COVERAGE`` of the speech frames
outside them (times ``coverage / MIN_COVERAGE``): a short word absorbing an utterance, or a word
winning on its suffix, leaves the speech it skips in blank states, which the per-frame score alone
may forgive. Phone count (``PHONE_COUNT_WEIGHT``, pt-BR): times ``min(1, P / U)``, U the phones the
model emitted (runs of its per-frame best unit) and P the required positions of the path's words:
a few short words held over many emitted phones explain them as well as the word loop does when the
model is unsure, but cannot account for their number. Confidences are the interpreter's
posteriors times the rejection score.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

import numpy as np
import numpy.typing as npt

from decoder.audio import Audio
from decoder.base import DecoderError, Recognition, WordTime
from decoder.lexicon import EnglishLexicon, Lexicon, MissingPronunciationsError, Position, RuleLexicon, TextLexicon
from decoder.stream import BufferedStream
from decoder.word_boosts import resolve_boosts
from srgs.compile.symbols import ANY_LABEL, EPSILON_LABEL, UNKNOWN_LABEL

if TYPE_CHECKING:
    from interpreter.store import Activation

log = logging.getLogger("srgs.decoder")

SAMPLE_RATE = 16000
FRAME_SECONDS = 0.02  # hama's ASR: 160-sample hop, subsampled by 2
BLANK = "<blank>"
WORD_BOUNDARY = "<wb>"
BEAM = 30.0  # nats below the frame's best state
MAX_ACTIVE = 6000  # states kept per frame at most
GARBAGE_FRAME_COST = 2.0  # nats per frame a $GARBAGE word pays over the best unit
ACOUSTIC_SCALE = 1.0  # acoustic costs handed to the interpreter: on the scale of the grammar costs the search used
MIN_COVERAGE = 0.75  # share of speech frames the best path's words must cover
# Phone-count guard, per language: the rejection score is multiplied by min(1, P / U) ** weight,
# U the phones the model emitted (its greedy path's phone runs, outside $GARBAGE) and P the
# required positions of the best path's words (their shortest pronunciation): a few short words
# cannot account for a long utterance. pt: measured on the tuning set named at SEARCH_PARAMS
# (semantic accuracy at 90% out-of-grammar rejection 59.7% -> 63.3%); en-US: off (not measured).
PHONE_COUNT_WEIGHT: dict[str, float] = {"pt": 1.0}
# Reject when exp(per-speech-frame log-probability loss against the reference path) is below this.
# en: calibrated by benchmarks/bench_ctc.py on the speed-150 full-band half (the threshold in 0.05
# steps maximising kept correct results + rejected out-of-grammar ones); held out and all sets: see
# its output in the README. pt: the lowest 0.01 step reaching 90% out-of-grammar rejection on
# benchmarks/bench_ctc.py's pt-BR tuning set (--pt-tuning), with the phone-count guard.
DEFAULT_REJECTION_THRESHOLD: dict[str, float] = {"en": 0.25, "pt": 0.47}
OTHER_REJECTION_THRESHOLD = 0.25  # a lexicon brought for another language
GARBAGE_WORD = "<garbage>"
# nats per word of the rejection reference's word loop (after the word bonus); pt tuning set: 0 and
# 1 within one utterance of each other at 90% rejection, 0 the better
LOOP_WORD_PENALTY = 0.0
GRAPH_CACHE_SIZE = 32  # search graphs a model keeps
SHARED_CACHE_SIZE = 4  # free-speech language models (KenLM + search structures) a model keeps
MAX_GRAPH_STATES = 1_000_000  # emitting states of one search graph (about 150 bytes each)
MIN_SKIPPABLE_LENGTH = 3  # required positions a word needs before one of them may be skipped


@dataclass(frozen=True, slots=True)
class SearchParams:
    """How the search weighs the grammar against the acoustics."""

    grammar_weight: float = 0.5  # grammar arc costs (-ln p) are added to the log-probabilities times this
    word_bonus: float = 1.0  # nats added per word (counters CTC's preference for fewer, shorter words)
    skip_cost: float = 1.5  # nats for leaving out one required position of a word


# Measured on benchmarks/bench_ctc.py's cached sets: en-US gains 8 points of semantic accuracy on
# telephone speech from the lighter grammar weight. pt-BR, on bench_ctc.py's pt-BR tuning set
# (--pt-tuning --count 50: 300 in-grammar and 240 out-of-grammar decodes, voices pt-br/+f3/+m3 at
# speeds 125/160/190, none of bench_accuracy's sentences or speeds), semantic accuracy at the
# threshold rejecting 90% of out-of-grammar speech: grammar weight 0.5: 59.7%, 0.75: 58.3%, 1.0:
# 55.7%; word bonus 0 and 2 and skip cost 1.5 and 4 measured no better (a 240-decode version of
# the set had favoured weight 1.0: within its noise). With the phone-count guard and the narrowed
# lexicon: these weights 64.3%; word bonus 0.5: 62.7%, 1.5: 60.0%; grammar weight 0.75: 63.0%;
# skip cost 1.5: 59.0%.
SEARCH_PARAMS: dict[str, SearchParams] = {"en": SearchParams(),
                                          "pt": SearchParams(grammar_weight=0.5, word_bonus=1.0, skip_cost=2.5)}
NEG = np.float32(-np.inf)

FloatArray = npt.NDArray[np.float32]
T = TypeVar("T")
IntArray = npt.NDArray[np.int64]


# --- the model ------------------------------------------------------------------------------------


class CtcModel:
    """A CTC acoustic model (hama's by default) and the lexicons, loaded once and shared.

    ``emissions``: a callable from float32 samples in [-1, 1] at 16 kHz to ``[frames x units]``
    log-probabilities, with ``units`` naming the columns and ``blank`` the blank unit (a
    ``<wb>`` unit, when present, is treated as a blank between words). ``lexicons``: language
    prefix (``"en"``, ``"pt"``) -> Lexicon, overriding the shipped ones.
    """

    def __init__(self, *, emissions: Callable[[FloatArray], FloatArray] | None = None,
                 units: Sequence[str] | None = None, blank: str = BLANK, frame_seconds: float = FRAME_SECONDS,
                 lexicons: dict[str, Lexicon] | None = None):
        self.lock = threading.Lock()
        self._engine: Any = None
        if emissions is None:
            try:
                import hama
                asr = hama.ASRModel()
            except (ImportError, OSError, RuntimeError, ValueError) as exc:
                raise DecoderError(f"the CTC back end could not load hama's phoneme model: {exc}") from None
            self._engine = asr.session
            units = list(asr.decoder_tokens)
        elif units is None:
            raise DecoderError("a CTC model given as emissions needs its units")
        self._emissions = emissions
        self.units: tuple[str, ...] = tuple(units or ())
        self.unit_ids = {unit: index for index, unit in enumerate(self.units)}
        if blank not in self.unit_ids:
            raise DecoderError(f"the CTC model's units have no blank {blank!r}")
        self.blank_id = self.unit_ids[blank]
        self.wb_id = self.unit_ids.get(WORD_BOUNDARY)
        self.frame_seconds = frame_seconds
        self.sample_rate = SAMPLE_RATE
        self._lexicons: dict[str, Lexicon] = dict(lexicons or {})
        self._lexicon_lock = threading.Lock()
        self._loops: dict[str, SearchGraph | None] = {}
        # search graphs by (grammar content keys and weights, languages): sessions for the same
        # grammars (a server's recognitions) share one, built once
        self._graphs: OrderedDict[Hashable, SearchGraph] = OrderedDict()
        # free-speech models (a language model and its search structures: seconds and 100+ MB to
        # build), apart from the grammar graphs so that many grammars never evict them
        self._shared: OrderedDict[Hashable, object] = OrderedDict()
        self._building: dict[Hashable, threading.Lock] = {}

    def cached_graph(self, key: Hashable) -> SearchGraph | None:
        """A search graph built before for the same grammars, weights and languages."""
        with self._lexicon_lock:
            found = self._graphs.get(key)
            if found is not None:
                self._graphs.move_to_end(key)
            return found

    def keep_graph(self, key: Hashable, graph: SearchGraph) -> None:
        with self._lexicon_lock:
            self._graphs[key] = graph
            while len(self._graphs) > GRAPH_CACHE_SIZE:
                self._graphs.popitem(last=False)

    def shared(self, key: Hashable, build: Callable[[], T]) -> T:
        """The object kept under ``key``, built by ``build()`` once: sessions that ask at the same
        time wait for one build instead of each making its own. Bounded by ``SHARED_CACHE_SIZE``
        (least recently used dropped); a failed build is not kept."""
        with self._lexicon_lock:
            if key in self._shared:
                self._shared.move_to_end(key)
                return cast(T, self._shared[key])  # stored by this method under this key's T
            lock = self._building.setdefault(key, threading.Lock())
        with lock:
            with self._lexicon_lock:
                if key in self._shared:  # built while this call waited
                    return cast(T, self._shared[key])
            try:
                value = build()
            except BaseException:
                with self._lexicon_lock:
                    self._building.pop(key, None)
                raise
            with self._lexicon_lock:
                self._shared[key] = value
                self._building.pop(key, None)
                while len(self._shared) > SHARED_CACHE_SIZE:
                    self._shared.popitem(last=False)
            return value

    def blank_ids(self) -> list[int]:
        return [self.blank_id] + ([self.wb_id] if self.wb_id is not None else [])

    def word_loop(self, language: str | None) -> SearchGraph | None:
        """The rejection reference of ``language``: a loop of every word of its lexicon when that
        is a closed list (pt-BR), else None (the unconstrained best path is the reference)."""
        lexicon = self.lexicon(language)
        key = lexicon.language
        with self._lexicon_lock:
            if key in self._loops:
                return self._loops[key]
        graph = None
        table = lexicon.base if isinstance(lexicon, RuleLexicon) else lexicon
        if isinstance(table, TextLexicon):
            entries = table.entries
            params = search_params(key)
            loop_cost = (params.word_bonus + LOOP_WORD_PENALTY) / params.grammar_weight
            graph = build_graph(WordLoop(sorted(entries), loop_cost), lambda state, word: entries[word],
                                self.unit_ids, self.blank_ids(), len(self.units), params)
        with self._lexicon_lock:
            self._loops[key] = graph
        return graph

    def log_probs(self, audio: Audio) -> FloatArray:
        """The raw ``[frames x units]`` log-probabilities of ``audio`` (16 kHz)."""
        if audio.rate != self.sample_rate:
            raise DecoderError(f"audio at {audio.rate} Hz: the model takes {self.sample_rate} Hz")
        samples = audio.samples.astype(np.float32) / np.float32(32768.0)
        if len(samples) < 400:  # under one analysis window: no frame
            return np.zeros((0, len(self.units)), dtype=np.float32)
        if self._emissions is not None:
            out = np.asarray(self._emissions(samples), dtype=np.float32)
        else:
            with self.lock:
                log_probs, lengths = self._engine.run(
                    ["log_probs", "out_lengths"],
                    {"waveform": samples.reshape(1, -1), "waveform_lengths": np.array([len(samples)], dtype=np.int64)})
            out = np.asarray(log_probs[0][: int(np.asarray(lengths).reshape(-1)[0])], dtype=np.float32)
        if out.ndim != 2 or out.shape[1] != len(self.units):
            raise DecoderError(f"the CTC model gave an array of shape {out.shape}, expected [frames x {len(self.units)}]")
        return out

    def lexicon(self, language: str | None) -> Lexicon:
        """The lexicon of ``language`` (en-US when None), loaded once."""
        prefix = (language or "en-US").split("-")[0].lower()
        with self._lexicon_lock:
            found = self._lexicons.get(prefix)
            if found is None:
                if prefix == "en":
                    found = EnglishLexicon()
                elif prefix == "pt":
                    found = RuleLexicon(TextLexicon.shipped("pt-BR"))
                else:
                    raise DecoderError(f"the CTC back end has no pronunciation lexicon for language {language!r} "
                                       "(en-US and pt-BR)")
                self._lexicons[prefix] = found
        return found

    def session(self, activation: Activation, *, language: str | None = None,
                rejection_threshold: float | None = None,
                word_boosts: Mapping[str, float] | None = None) -> CtcSession:
        """A decoder session for ``activation``; ``language`` overrides the grammars' own;
        ``word_boosts``: word -> boost (``decoder.word_boosts``)."""
        return CtcSession(self, activation, language=language, rejection_threshold=rejection_threshold,
                          word_boosts=word_boosts)


# --- the search graph -----------------------------------------------------------------------------


class SearchAutomaton(Protocol):
    """What ``build_graph`` reads of a constraint: a grammar's ``GrammarConstraint``, a
    ``WordLoop`` or a free-speech n-gram automaton. Labels index ``words`` (0 is epsilon, 1 ``<any>``)."""

    num_states: int
    words: list[str]

    def start(self) -> int: ...

    def arcs(self, state: int) -> tuple[tuple[int, int, float], ...]: ...

    def final(self, state: int) -> float: ...


class WordLoop:
    """The constraint interface ``build_graph`` reads, for a loop of ``words`` (any sequence of
    them, each at ``cost``): the rejection reference of languages whose lexicon is a closed list."""

    def __init__(self, words: Sequence[str], cost: float):
        self.words = ["<eps>", "<any>", "<unk>", *words]
        self.num_states = 1
        self._arcs = tuple((label, 0, cost) for label in range(3, len(self.words)))

    def start(self) -> int:
        return 0

    def arcs(self, state: int) -> tuple[tuple[int, int, float], ...]:
        return self._arcs

    def final(self, state: int) -> float:
        return 0.0


@dataclass(slots=True)
class SearchGraph:
    """Grammar x lexicon x CTC topology. Emitting states 0..E-1; index space of predecessors:
    emitting states, then grammar nodes (E..E+G-1), then one dead slot (E+G)."""

    num_emitting: int
    num_nodes: int
    state_class: IntArray  # [E] emission class
    classes: list[IntArray]  # unit ids of each class (class 0: blank and <wb>; the last may be "any")
    pred: IntArray  # [E, K] predecessor indexes
    pred_cost: FloatArray  # [E, K] added to the predecessor's score (<= 0)
    pred_starts_word: npt.NDArray[np.bool_]  # [E, K] entering from the grammar node or the lead blank
    is_phone: npt.NDArray[np.bool_]  # [E]
    succ_ptr: IntArray  # CSR successors over the predecessor index space
    succ_idx: IntArray
    exit_src: IntArray  # word ends, sorted by exit_dst
    exit_dst: IntArray
    exit_arc: IntArray
    exit_cost: FloatArray
    arc_words: list[str]  # arc id -> grammar word (GARBAGE_WORD for $GARBAGE)
    closure: tuple[IntArray, IntArray, FloatArray] | None  # epsilon closure pairs (src, dst, cost), by dst
    start_nodes: tuple[IntArray, FloatArray]
    final: npt.NDArray[np.float64]  # [G] final cost (inf: not final)
    final_closed: npt.NDArray[np.float64]  # [G] best final cost through epsilons
    words: int  # grammar word arcs


def _closure_pairs(constraint: SearchAutomaton) -> list[tuple[int, int, float]]:
    """(src, dst, cost) for every state and every state reachable from it by epsilon arcs."""
    pairs: list[tuple[int, int, float]] = []
    eps: dict[int, list[tuple[int, float]]] = {}
    for state in range(constraint.num_states):
        for label, target, cost in constraint.arcs(state):
            if label == EPSILON_LABEL:
                eps.setdefault(state, []).append((target, cost))
    for state in range(constraint.num_states):
        best = {state: 0.0}
        if state in eps:
            stack = [state]
            while stack:
                node = stack.pop()
                for target, cost in eps.get(node, ()):
                    total = best[node] + cost
                    if total < best.get(target, math.inf):
                        best[target] = total
                        stack.append(target)
        pairs.extend((state, target, cost) for target, cost in best.items())
    return pairs


def search_params(language: str | None) -> SearchParams:
    return SEARCH_PARAMS.get((language or "en").split("-")[0].lower(), SearchParams())


def _before(pronunciation: Sequence[Position], index: int, skippable: bool,
            skip_cost: float) -> list[tuple[int, float]]:
    """The positions that may directly precede position ``index`` (-1: the word's start; ``index`` =
    len: the word's end), with the cost of getting there: optional positions are skipped for
    free, one required position (in words with ``MIN_SKIPPABLE_LENGTH`` of them) at ``skip_cost``
    (the model often drops a consonant it was not trained to hear in that context)."""
    found: dict[int, float] = {}
    back, cost, skips = index - 1, 0.0, 1 if skippable else 0
    while True:
        if cost > found.get(back, -math.inf):
            found[back] = cost
        if back < 0:
            break
        if not pronunciation[back].optional:
            if not skips:
                break
            skips -= 1
            cost -= skip_cost
        back -= 1
    return list(found.items())


class UnitClasses:
    """The distinct sets of CTC units a search scores, numbered in first-seen order (0: the blank
    units): a pronunciation position allowing several units is one class, scored per frame by its
    best unit (``class_emissions``)."""

    def __init__(self, unit_ids: Mapping[str, int], blank_ids: Sequence[int]):
        self._unit_ids = unit_ids
        self._index: dict[frozenset[int], int] = {}
        self.units: list[tuple[int, ...]] = []  # class -> its unit ids, sorted
        self.of_ids(blank_ids)

    def of_ids(self, ids: Iterable[int]) -> int:
        """The class of these unit ids (numbered when first seen)."""
        key = frozenset(ids)
        index = self._index.get(key)
        if index is None:
            index = self._index[key] = len(self.units)
            self.units.append(tuple(sorted(key)))
        return index

    def of(self, units: Iterable[str]) -> int:
        """The class of these unit names; ``DecoderError`` for a name the CTC model lacks."""
        ids: list[int] = []
        for unit in units:
            found = self._unit_ids.get(unit)
            if found is None:
                raise DecoderError(f"pronunciation unit {unit!r} is not one of the CTC model's units")
            ids.append(found)
        return self.of_ids(ids)


def class_emissions(log_probs: FloatArray, classes: Sequence[IntArray]) -> FloatArray:
    """``[frames x classes]``: each class's best unit per frame."""
    out = np.empty((log_probs.shape[0], len(classes)), dtype=np.float32)
    for index, ids in enumerate(classes):
        out[:, index] = log_probs[:, ids].max(axis=1) if len(ids) > 1 else log_probs[:, ids[0]]
    return out


def build_graph(constraint: SearchAutomaton, pronounce: Callable[[int, str], tuple[tuple[Position, ...], ...]],
                unit_ids: dict[str, int], blank_ids: Sequence[int], num_units: int,
                params: SearchParams | None = None, max_states: int | None = None, *,
                boosts: Mapping[int, float] | None = None) -> SearchGraph:
    """The search graph; ``pronounce(state, word)`` gives the pronunciations of a word read from
    grammar state ``state`` (its grammar's language). ``boosts`` (word label -> nats,
    ``decoder.word_boosts``): those words' arcs cost that much less in the grammar, so each adds
    ``grammar_weight * boost`` to the score of a path through it."""
    boosts = boosts or {}
    params = params or SearchParams()
    max_states = MAX_GRAPH_STATES if max_states is None else max_states
    grammar_weight = params.grammar_weight
    num_nodes = constraint.num_states
    classes = UnitClasses(unit_ids, blank_ids)
    any_class = -1
    state_class: list[int] = []
    is_phone: list[bool] = []
    preds: list[list[tuple[int, float, bool]]] = []
    exits: list[tuple[int, int, int, float]] = []  # (state, node, arc id, cost)
    arc_words: list[str] = []
    node_base = -1  # filled below: node index = node_base + state; resolved after counting states

    def add(cls: int, phone: bool) -> int:
        if len(state_class) >= max_states:
            raise DecoderError(f"the grammars are too large for the CTC back end's search graph (over {max_states} "
                               f"states at {word_arcs} of the grammar's word arcs): use the pocketsphinx back end")
        state_class.append(cls)
        is_phone.append(phone)
        preds.append([])
        return len(state_class) - 1

    # predecessors that are grammar nodes are written as -(state + 1) and resolved at the end
    missing: dict[str, None] = {}
    word_arcs = 0
    for state in range(num_nodes):
        for label, target, cost in constraint.arcs(state):
            if label == EPSILON_LABEL:
                continue
            weight = -grammar_weight * (float(cost) - boosts.get(label, 0.0)) + params.word_bonus
            node = -(state + 1)
            if label == ANY_LABEL or label == UNKNOWN_LABEL:
                if any_class < 0:
                    any_class = classes.of_ids(range(num_units))
                arc = len(arc_words)
                arc_words.append(GARBAGE_WORD)
                garbage = add(any_class, True)
                preds[garbage] = [(node, weight - GARBAGE_FRAME_COST, True), (garbage, -GARBAGE_FRAME_COST, False)]
                exits.append((garbage, target, arc, 0.0))
                word_arcs += 1
                continue
            word = constraint.words[label]
            try:
                pronunciations = pronounce(state, word)
            except MissingPronunciationsError:
                missing[word] = None
                continue
            arc = len(arc_words)
            arc_words.append(word)
            word_arcs += 1
            for pronunciation in pronunciations:
                lead = add(0, False)
                preds[lead] = [(node, weight, True), (lead, 0.0, False)]
                phones: list[int] = []
                blanks: list[int] = []
                for position in pronunciation:
                    phones.append(add(classes.of(position.phones), True))
                    blanks.append(add(0, False))
                skippable = sum(1 for position in pronunciation if not position.optional) >= MIN_SKIPPABLE_LENGTH
                for index, position in enumerate(pronunciation):
                    phone, blank = phones[index], blanks[index]
                    entry = [(phone, 0.0, False)]
                    for back, cost in _before(pronunciation, index, skippable, params.skip_cost):
                        if back < 0:
                            entry += [(node, weight + cost, True), (lead, cost, True)]
                            continue
                        previous = pronunciation[back]
                        if not (len(previous.phones) == 1 and previous.phones == position.phones):
                            entry.append((phones[back], cost, False))  # CTC: a repeat needs a blank between
                        entry.append((blanks[back], cost, False))
                    preds[phone] = entry
                    preds[blank] = [(phone, 0.0, False), (blank, 0.0, False)]
                for back, cost in _before(pronunciation, len(pronunciation), skippable, params.skip_cost):
                    if back >= 0:
                        exits.append((phones[back], target, arc, cost))
                        exits.append((blanks[back], target, arc, cost))
    if missing:
        # one error naming every word, whatever language lexicon lacked it
        raise MissingPronunciationsError(list(missing), "grammar's")
    emitting = len(state_class)
    node_base = emitting
    dead = emitting + num_nodes
    width = max((len(entry) for entry in preds), default=1)
    pred = np.full((emitting, width), dead, dtype=np.int64)
    pred_cost = np.zeros((emitting, width), dtype=np.float32)
    pred_starts = np.zeros((emitting, width), dtype=np.bool_)
    for index, entry in enumerate(preds):
        for column, (source, cost, starts) in enumerate(entry):
            pred[index, column] = node_base + (-source - 1) if source < 0 else source
            pred_cost[index, column] = cost
            pred_starts[index, column] = starts
    # successors (CSR over the predecessor index space)
    flat_src = pred.reshape(-1)
    flat_dst = np.repeat(np.arange(emitting, dtype=np.int64), width)
    valid = flat_src != dead
    order = np.argsort(flat_src[valid], kind="stable")
    succ_src = flat_src[valid][order]
    succ_idx = flat_dst[valid][order]
    succ_ptr = np.zeros(dead + 2, dtype=np.int64)
    np.add.at(succ_ptr, succ_src + 1, 1)
    succ_ptr = np.cumsum(succ_ptr)
    exits.sort(key=lambda item: item[1])
    exit_array = np.array([item[:3] for item in exits], dtype=np.int64).reshape(-1, 3)
    exit_cost = np.array([item[3] for item in exits], dtype=np.float32)
    pairs = _closure_pairs(constraint)
    closure = None
    if any(src != dst for src, dst, _ in pairs):
        ordered = sorted(pairs, key=lambda item: item[1])
        closure = (np.array([p[0] for p in ordered], dtype=np.int64), np.array([p[1] for p in ordered], dtype=np.int64),
                   np.array([-grammar_weight * p[2] for p in ordered], dtype=np.float32))
    final = grammar_weight * np.array([constraint.final(state) for state in range(num_nodes)], dtype=np.float64)
    final_closed = final.copy()
    for src, dst, cost in pairs:
        final_closed[src] = min(final_closed[src], grammar_weight * cost + final[dst])
    start_targets = [(dst, cost) for src, dst, cost in pairs if src == constraint.start()]
    start_nodes = (np.array([t for t, _ in start_targets], dtype=np.int64),
                   np.array([-grammar_weight * c for _, c in start_targets], dtype=np.float32))
    return SearchGraph(
        num_emitting=emitting, num_nodes=num_nodes, state_class=np.array(state_class, dtype=np.int64),
        classes=[np.array(ids, dtype=np.int64) for ids in classes.units],
        pred=pred, pred_cost=pred_cost, pred_starts_word=pred_starts, is_phone=np.array(is_phone, dtype=np.bool_),
        succ_ptr=succ_ptr, succ_idx=succ_idx, exit_src=exit_array[:, 0].copy(), exit_dst=exit_array[:, 1].copy(),
        exit_arc=exit_array[:, 2].copy(), exit_cost=exit_cost, arc_words=arc_words, closure=closure,
        start_nodes=start_nodes, final=final,
        final_closed=final_closed, words=word_arcs)


# --- the search -----------------------------------------------------------------------------------


def _segment_argmax(values: FloatArray, keys: IntArray) -> tuple[IntArray, FloatArray, IntArray]:
    """For ``values`` grouped by sorted ``keys``: each key, its max and the index of its first max."""
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    best = np.maximum.reduceat(values, starts)
    lengths = np.diff(np.r_[starts, len(values)])
    segment = np.repeat(np.arange(len(starts)), lengths)
    winners = np.flatnonzero(values == best[segment])
    first = winners[np.r_[True, segment[winners][1:] != segment[winners][:-1]]]
    return keys[starts], best, first


@dataclass(slots=True)
class SearchResult:
    """Distinct word sequences ending at the last frame, best first: (arc ids, score, history id,
    final node); and the history table to get their word times."""

    ends: list[tuple[tuple[int, ...], float, int, int, int]]  # arcs, score, history before the last word,
    # the last word's start and end frames
    history_prev: IntArray
    history_arc: IntArray
    history_start: IntArray
    history_end: IntArray
    history_score: FloatArray


def viterbi(graph: SearchGraph, log_probs: FloatArray, *, beam: float = BEAM, max_active: int = MAX_ACTIVE,
            max_ends: int = 50) -> SearchResult:
    """Frame-synchronous Viterbi of ``log_probs`` [T x units] through ``graph``."""
    frames = log_probs.shape[0]
    emitting, nodes = graph.num_emitting, graph.num_nodes
    dead = emitting + nodes
    emission = class_emissions(log_probs, graph.classes)
    score = np.full(dead + 1, NEG, dtype=np.float32)  # emitting, nodes, dead slot
    hist = np.full(dead + 1, -1, dtype=np.int64)
    wstart = np.zeros(dead + 1, dtype=np.int64)
    wend = np.zeros(dead + 1, dtype=np.int64)
    start_targets, start_costs = graph.start_nodes
    score[emitting + start_targets] = start_costs
    alive = emitting + start_targets
    h_prev: list[IntArray] = []
    h_arc: list[IntArray] = []
    h_start: list[IntArray] = []
    h_end: list[IntArray] = []
    h_score: list[FloatArray] = []
    next_id = 0
    empty = np.zeros(0, dtype=np.int64)
    last_rows = empty
    reached = np.zeros(emitting, dtype=np.bool_)
    for frame in range(frames):
        lengths = graph.succ_ptr[alive + 1] - graph.succ_ptr[alive]
        total = int(lengths.sum())
        if total == 0:
            break
        offsets = np.repeat(graph.succ_ptr[alive] - np.cumsum(np.r_[0, lengths[:-1]]), lengths)
        reached[:] = False
        reached[graph.succ_idx[np.arange(total) + offsets]] = True
        rows = np.flatnonzero(reached)
        sources = graph.pred[rows]
        candidates = score[sources] + graph.pred_cost[rows]
        choice = candidates.argmax(axis=1)
        picked = np.arange(len(rows))
        best = candidates[picked, choice]
        chosen = sources[picked, choice]
        new_score = best + emission[frame, graph.state_class[rows]]
        keep = new_score > NEG
        if keep.any():
            threshold = new_score[keep].max() - beam
            keep &= new_score >= threshold
        if int(keep.sum()) > max_active:
            cut = np.partition(new_score[keep], -max_active)[-max_active]
            keep &= new_score >= cut
        rows, chosen, choice, new_score = rows[keep], chosen[keep], choice[keep], new_score[keep]
        starts_word = graph.pred_starts_word[rows, choice]
        new_hist = hist[chosen]
        new_wstart = np.where(starts_word, frame, wstart[chosen])
        new_wend = np.where(graph.is_phone[rows], frame, wend[chosen])
        # this frame's emitting scores replace the last frame's; grammar nodes are recomputed
        score[:] = NEG
        score[rows] = new_score
        hist[rows] = new_hist
        wstart[rows] = new_wstart
        wend[rows] = new_wend
        last_rows = rows
        # word ends -> grammar nodes
        exit_values = score[graph.exit_src] + graph.exit_cost
        live = np.flatnonzero(exit_values > NEG)
        node_alive = empty
        if live.size:
            keys, values, first = _segment_argmax(exit_values[live], graph.exit_dst[live])
            winners = graph.exit_src[live[first]]
            ids = np.arange(next_id, next_id + len(keys), dtype=np.int64)
            next_id += len(keys)
            h_prev.append(hist[winners].copy())
            h_arc.append(graph.exit_arc[live[first]])
            h_start.append(wstart[winners].copy())
            h_end.append(wend[winners].copy())
            h_score.append(values.astype(np.float32))
            node_scores = values
            node_hist = ids
            node_keys = keys
            if graph.closure is not None:
                src, dst, cost = graph.closure
                raw = np.full(nodes, NEG, dtype=np.float32)
                raw_hist = np.full(nodes, -1, dtype=np.int64)
                raw[keys] = values
                raw_hist[keys] = ids
                through = raw[src] + cost
                ok = np.flatnonzero(through > NEG)
                if ok.size:
                    node_keys, node_scores, first2 = _segment_argmax(through[ok], dst[ok])
                    node_hist = raw_hist[src[ok[first2]]]
            score[emitting + node_keys] = node_scores
            hist[emitting + node_keys] = node_hist
            node_alive = emitting + node_keys
        alive = np.concatenate([rows, node_alive])
    # distinct word sequences ending in a final state at the last frame
    history_prev = np.concatenate(h_prev) if h_prev else empty
    history_arc = np.concatenate(h_arc) if h_arc else empty
    history_start = np.concatenate(h_start) if h_start else empty
    history_end = np.concatenate(h_end) if h_end else empty
    history_score = np.concatenate(h_score) if h_score else np.zeros(0, dtype=np.float32)
    ends: list[tuple[tuple[int, ...], float, int, int, int]] = []
    if frames and last_rows.size:
        exit_values = (score[graph.exit_src] + graph.exit_cost).astype(np.float64) - graph.final_closed[graph.exit_dst]
        candidates_idx = np.flatnonzero(np.isfinite(exit_values))
        order = candidates_idx[np.argsort(-exit_values[candidates_idx], kind="stable")]
        seen: set[tuple[int, ...]] = set()
        for index in order:
            state = int(graph.exit_src[index])
            arcs = [int(graph.exit_arc[index])]
            entry = int(hist[state])
            while entry >= 0:
                arcs.append(int(history_arc[entry]))
                entry = int(history_prev[entry])
            sequence = tuple(reversed(arcs))
            key = tuple(hash(graph.arc_words[a]) for a in sequence)
            if key in seen:
                continue
            seen.add(key)
            ends.append((sequence, float(exit_values[index]), int(hist[state]), int(wstart[state]), int(wend[state])))
            if len(ends) >= max_ends:
                break
    return SearchResult(ends=ends, history_prev=history_prev, history_arc=history_arc, history_start=history_start,
                        history_end=history_end, history_score=history_score)


# --- sessions -------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Decoded:
    """What the search gave, before interpretation."""

    hypotheses: list[tuple[tuple[str, ...], float, str | None]]
    words: tuple[WordTime, ...]
    normalised: float | None
    coverage: float
    phone_share: float = 1.0  # min(1, the best path's required positions / the phones the model emitted)
    features: dict[str, float] | None = None  # what the rejection score was made of (for calibration)


class CtcSession:
    """One caller's CTC decoder under one activation (the search graph is built here, once)."""

    def __init__(self, model: CtcModel, activation: Activation, *, language: str | None = None,
                 rejection_threshold: float | None = None, word_boosts: Mapping[str, float] | None = None):
        if rejection_threshold is not None and (isinstance(rejection_threshold, bool)
                                                or not isinstance(rejection_threshold, (int, float))
                                                or math.isnan(rejection_threshold)):
            raise DecoderError("rejection_threshold must be a number (0 accepts all, above 1 rejects all), "
                               f"got {rejection_threshold!r}")
        self.model = model
        self.activation = activation
        self.closed = False
        constraint = activation.constraint()
        self.constraint = constraint
        languages = [language or grammar.compiled.metadata.get("language") or "en-US"
                     for grammar in activation.grammars]
        self.languages = tuple(languages)
        if rejection_threshold is None:  # the calibrated one of the grammars' language(s)
            rejection_threshold = min(DEFAULT_REJECTION_THRESHOLD.get(lang.split("-")[0].lower(), OTHER_REJECTION_THRESHOLD)
                                      for lang in languages)
        self.rejection_threshold = float(rejection_threshold)
        lexicons = [model.lexicon(lang) for lang in languages]
        # one weighting for the session: its language's when all grammars share one, else en-US's
        self.params = search_params(languages[0] if len(set(languages)) == 1 else None)
        self.phone_count_weight = min(PHONE_COUNT_WEIGHT.get(lang.split("-")[0].lower(), 0.0) for lang in languages)
        self._lexicons = lexicons
        self._required: dict[str, int] = {}
        missing: dict[str, None] = {}

        def pronounce(state: int, word: str) -> tuple[tuple[Position, ...], ...]:
            index = constraint.grammar_of(state) if state != constraint.start() else None
            members = [lexicons[index]] if index is not None else lexicons
            for lexicon in members:
                found = lexicon.pronunciations(word)
                if found:
                    return found
            missing[word] = None
            raise MissingPronunciationsError([word], members[0].language)

        # word boosts (hints): the nats each boosted word label gains; part of the graph's key
        self.boosts = resolve_boosts(constraint.words, word_boosts)
        if self.boosts.ignored:
            log.info("word boosts for words no active grammar has, ignored: %s", ", ".join(self.boosts.ignored))
        self._word_ids = {word: label for label, word in enumerate(constraint.words)}
        key = (tuple((grammar.key, weight) for grammar, weight in zip(activation.grammars, activation.weights,
                                                                      strict=True)), self.languages, self.boosts.key)
        self.graph_key = key
        cached = model.cached_graph(key)
        if cached is not None:
            self.graph = cached
        else:
            try:
                self.graph = build_graph(constraint, pronounce, model.unit_ids, model.blank_ids(), len(model.units),
                                         self.params, boosts=self.boosts.labels)
            except MissingPronunciationsError:
                names = sorted({lexicon.language for lexicon in lexicons})
                raise MissingPronunciationsError(list(missing), "/".join(names)) from None
            model.keep_graph(key, self.graph)
        loops = {id(loop): loop for loop in (model.word_loop(lang) for lang in languages) if loop is not None}
        # a closed-list language's word loop is the rejection reference (one for the session)
        self.reference = next(iter(loops.values())) if len(loops) == 1 and len(set(languages)) == 1 else None
        speech = np.ones(len(model.units), dtype=np.bool_)
        speech[model.blank_id] = False
        if model.wb_id is not None:
            speech[model.wb_id] = False
        self._speech_units = speech

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> CtcSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def stream(self, *, nbest: int | None = None) -> BufferedStream:
        """Audio fed in chunks, decoded whole at ``finish`` (``decoder.stream.BufferedStream``:
        ``partial`` decodes what has arrived, at most every half second of new audio)."""
        if self.closed:
            raise DecoderError("this decoder session is closed")
        return BufferedStream(lambda audio: self.decode(audio, nbest=nbest), sample_rate=self.model.sample_rate,
                              partial_decode=lambda audio: self.decode(audio, nbest=1))

    def search(self, log_probs: FloatArray, count: int) -> _Decoded:
        """The n-best word sequences of ``log_probs``, the best one's word times and scores."""
        graph = self.graph
        params = self.params
        result = viterbi(graph, log_probs)
        frames = log_probs.shape[0]
        if not result.ends:
            return _Decoded([], (), None, 0.0)
        greedy = log_probs.max(axis=1).astype(np.float64)
        greedy_cum = np.r_[0.0, np.cumsum(greedy)]
        greedy_total = float(greedy_cum[-1])
        peaks = self._speech_units[log_probs.argmax(axis=1)]
        speech_frames = max(1, int(peaks.sum()))
        constraint = self.constraint
        hypotheses: list[tuple[tuple[str, ...], float, str | None]] = []
        best_acoustic: float | None = None
        for arcs, total, *_ in result.ends:
            words = tuple(graph.arc_words[a] for a in arcs)
            accepted = constraint.accepts(words) if GARBAGE_WORD not in words else (0.0, None)
            grammar_cost = accepted[0] if accepted is not None else 0.0
            # the log-probability of the audio on this path (what the grammar, the word bonus and
            # the word boosts added taken off)
            boosted = self.boosts.nats(self._word_ids, words)
            acoustic = (total + params.grammar_weight * (grammar_cost - boosted)
                        - params.word_bonus * len(words))
            if best_acoustic is None:
                best_acoustic = acoustic
            grammar = None
            if accepted is not None and accepted[1] is not None:
                grammar = constraint.grammars[accepted[1]].name
            # the interpreter adds the grammar's cost: what the boosts gave the path in the search
            # goes with the acoustic cost, so that it ranks the n-best as the search did
            cost = max(0.0, (greedy_total - acoustic) * ACOUSTIC_SCALE) - params.grammar_weight * boosted
            hypotheses.append((words, cost, grammar))
            if len(hypotheses) >= count:
                break
        # the best path's words and times from the history chain
        best_arcs, best_total, entry, last_start, last_end = result.ends[0]
        chain: list[int] = []
        while entry >= 0:
            chain.append(entry)
            entry = int(result.history_prev[entry])
        chain.reverse()
        spans: list[tuple[str, int, int, float]] = []
        previous_score = 0.0
        for item in chain:
            value = float(result.history_score[item])
            spans.append((graph.arc_words[int(result.history_arc[item])], int(result.history_start[item]),
                          int(result.history_end[item]), value - previous_score))
            previous_score = value
        spans.append((graph.arc_words[best_arcs[-1]], last_start, last_end, best_total - previous_score))
        covered = np.zeros(frames, dtype=np.bool_)
        times: list[WordTime] = []
        cursor = 0
        for number, (word, start, end, value) in enumerate(spans):
            covered[max(0, start - 1): end + 2] = True
            until = frames if number == len(spans) - 1 else end + 1
            frames_of_word = greedy_cum[until] - greedy_cum[cursor]
            word_peaks = max(1, int(peaks[cursor:until].sum()))
            confidence = math.exp(min(0.0, (value - frames_of_word) / word_peaks))
            cursor = end + 1
            if word == GARBAGE_WORD:
                continue
            times.append(WordTime(word=word, start=start * self.model.frame_seconds,
                                  end=(end + 1) * self.model.frame_seconds,
                                  confidence=max(0, min(100, round(100 * confidence)))))
        coverage = float((covered & peaks).sum()) / float(max(1, int(peaks.sum()))) if peaks.any() else 0.0
        phone_share = self._phone_share(log_probs, spans) if self.phone_count_weight else 1.0
        assert best_acoustic is not None
        # $GARBAGE explains its frames by design: its per-frame cost is a search cost, not a loss
        garbage_frames = sum(end - start + 1 for word, start, end, _ in spans if word == GARBAGE_WORD)
        explained = best_acoustic + GARBAGE_FRAME_COST * garbage_frames
        reference = greedy_total
        if self.reference is not None:
            loop = viterbi(self.reference, log_probs, max_ends=1)
            if loop.ends:
                arcs_of_loop, loop_total = loop.ends[0][0], loop.ends[0][1]
                reference = max(explained, loop_total + LOOP_WORD_PENALTY * len(arcs_of_loop))
        normalised = (explained - reference) / speech_frames
        loop_words = len(loop.ends[0][0]) if self.reference is not None and loop.ends else 0
        word_confidences = [t.confidence for t in times] or [0]
        features = {"loss_reference": normalised, "loss_greedy": (explained - greedy_total) / speech_frames,
                    "coverage": coverage, "words": float(len([w for w in spans if w[0] != GARBAGE_WORD])),
                    "loop_words": float(loop_words), "speech_frames": float(speech_frames), "frames": float(frames),
                    "min_word_confidence": float(min(word_confidences)),
                    "mean_word_confidence": float(sum(word_confidences)) / len(word_confidences),
                    "phone_share": phone_share}
        return _Decoded(hypotheses, tuple(times), normalised, coverage, phone_share, features)

    def required_positions(self, word: str) -> int:
        """The required positions of ``word``'s shortest pronunciation (0 when it has none)."""
        found = self._required.get(word)
        if found is None:
            found = 0
            for lexicon in self._lexicons:
                pronunciations = lexicon.pronunciations(word)
                if pronunciations:
                    found = min(sum(not position.optional for position in pron) for pron in pronunciations)
                    break
            self._required[word] = found
        return found

    def _phone_share(self, log_probs: FloatArray, spans: Sequence[tuple[str, int, int, float]]) -> float:
        """min(1, required positions of the path's words / phone runs of the greedy path outside
        $GARBAGE)."""
        best = log_probs.argmax(axis=1)
        runs = self._speech_units[best] & np.r_[True, best[1:] != best[:-1]]
        for word, start, end, _ in spans:
            if word == GARBAGE_WORD:
                runs[start: end + 1] = False
        emitted = int(runs.sum())
        required = sum(self.required_positions(word) for word, *_ in spans if word != GARBAGE_WORD)
        return min(1.0, required / emitted) if emitted else 1.0

    def decode(self, audio: Audio, *, nbest: int | None = None) -> Recognition:
        """Decode one whole utterance; the n-best go to the activation's interpreter."""
        if self.closed:
            raise DecoderError("this decoder session is closed")
        began = time.perf_counter()
        log_probs = self.model.log_probs(audio)
        return self.decode_log_probs(log_probs, audio_seconds=audio.seconds, nbest=nbest, began=began)

    def decode_log_probs(self, log_probs: FloatArray, *, audio_seconds: float, nbest: int | None = None,
                         began: float | None = None) -> Recognition:
        """Decode emissions already computed (``[frames x units]`` log-probabilities)."""
        from interpreter.api import Hypothesis

        began = time.perf_counter() if began is None else began
        interpreter = self.activation.interpreter()
        count = interpreter.nbest if nbest is None else nbest
        decoded = self.search(log_probs, count)
        result = interpreter.interpret_hypotheses(
            [Hypothesis(tuple(w for w in words if w != GARBAGE_WORD) or words, cost, grammar)
             for words, cost, grammar in decoded.hypotheses], nbest=count)
        rejection_score: float | None = None
        rejected = False
        words = decoded.words
        if decoded.hypotheses and decoded.normalised is not None:
            rejection_score = (math.exp(min(0.0, decoded.normalised)) * min(1.0, decoded.coverage / MIN_COVERAGE)
                               * decoded.phone_share ** self.phone_count_weight)
            if rejection_score < self.rejection_threshold:
                rejected = True
                result = replace(result, status="NO_MATCH", alternatives=(), error=None)
                words = ()
            elif result.alternatives:
                result = replace(result, alternatives=tuple(
                    replace(alternative, score=max(0, min(100, round(alternative.score * rejection_score))))
                    for alternative in result.alternatives))
        return Recognition(result=result, words=words, hypotheses=tuple(decoded.hypotheses),
                           audio_seconds=audio_seconds, decode_seconds=time.perf_counter() - began,
                           rejection_score=rejection_score, rejected=rejected)


__all__ = ["BEAM", "CtcModel", "CtcSession", "DEFAULT_REJECTION_THRESHOLD", "SearchGraph", "UnitClasses",
           "build_graph", "class_emissions", "viterbi"]
