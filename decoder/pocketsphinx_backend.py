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
phone loop (allphone search with the model's phonetic language model). The rejection score
(0-1) is the lower of two measures:

- coverage: the share of the phone loop's speech frames (its non-silence, non-filler phones)
  that the grammar path explains with grammar words (or $GARBAGE): speech the grammar cannot
  account for is forced into silence or fillers by the constrained search, so it scores low;
  mapped to 1 at full coverage and to the default threshold at ``COVERAGE_AT_THRESHOLD`` (0.97;
  telephone-band audio ``NARROWBAND_COVERAGE_AT_THRESHOLD``, 0.85);
- acoustic match: per frame of the grammar words, their acoustic log-likelihood on the grammar
  path minus the phone loop's over the same frames (``_word_likelihood_ratio``), mapped to 1
  from ``LLR_FULL`` up and to the default threshold at ``LLR_AT_THRESHOLD``: words the grammar
  forced onto other speech match badly even when every frame is covered (a $GARBAGE grammar, or
  speech that only sounds close). ``acoustic_check=False`` leaves the coverage alone (unmapped).

The two bounds were chosen on a tuning set disjoint from the accuracy benchmark's held-out set
(``benchmarks/bench_rejection.py --tuning``); ``session.measures`` keeps the last utterance's
measures (``RejectionMeasures``) and ``rejection_score_of`` makes the score from them.

Below ``rejection_threshold`` (``DEFAULT_REJECTION_THRESHOLD``, calibrated by
``benchmarks/bench_rejection.py``) the result is NO_MATCH; otherwise every alternative's
confidence is its interpreter posterior times the score. (The acoustic path scores pocketsphinx
reports for whole utterances were measured first and do not separate in- from out-of-grammar
speech: the FSG search's silence over unexplained speech scores well.)

$GARBAGE: each ``<any>`` arc of the constraint becomes, in the FSG, one transition per garbage
word (``GARBAGE_WORDS``: one word per phone of the acoustic model, pronounced as that phone) with
probability ``garbage_probability`` (``GARBAGE_PROBABILITY``): the grammar's $GARBAGE loop is a
phone loop the search can follow over any speech. A run of garbage phones comes back as the word
``...`` in ``Recognition.hypotheses`` (the interpreter reads it as what $GARBAGE matched; it is
not in the alternative's text nor in ``Recognition.words``).

Word boosts (``word_boosts``, the ASR API's ``hints.words``; ``decoder.word_boosts``): a boosted
word's FSG arcs cost ``boost`` nats less. An FSG takes probabilities up to 1 only, so the boosted
costs are pushed toward the start state (``boosted_costs``): every sentence's cost moves by the
same amount and the search ranks sentences exactly as the boosted grammar does. pocketsphinx
weighs them by its language weight (6.5): measured on espeak-ng "call bill" against
``call (bill | will)``, will wins from a boost of 3 (CTC: 5); "dan" -> "don" from 12 (CTC: 8).

Words missing from the dictionary: a digit token "0".."9" takes the dictionary's pronunciation of
its number word ("zero".."nine"); any other word gets one from ``hama``'s grapheme-to-phoneme model
(its IPA mapped to the acoustic model's ARPAbet phones by ``ipa_to_arpabet``). Either is added to
that model object's pocketsphinx dictionary (``Decoder.add_word``), never process-wide. A word
hama gives no pronunciation for, or one with a phone outside the table (tones, clicks, ...), is a
``MissingWordsError`` naming it.
"""

from __future__ import annotations

import heapq
import logging
import math
import os
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from decoder.audio import Audio
from decoder.base import DecoderError, Recognition, WordTime
from decoder.lexicon import base_word
from decoder.word_boosts import WordBoosts, resolve_boosts
from srgs.compile.constraint import GrammarConstraint
from srgs.compile.symbols import ANY_LABEL, EPSILON_LABEL, UNKNOWN_LABEL

if TYPE_CHECKING:
    from interpreter.store import Activation

log = logging.getLogger("srgs.decoder")

MAX_COST = 700.0  # exp(-700) is still a positive double: a probability pocketsphinx can read
# pocketsphinx keeps acoustic scores shifted down by 10 bits (SENSCR_SHIFT); its lattice
# posteriors divide them by ``ascale`` (20). The n-best path scores the Python API returns are
# in the shifted domain: times 1024 / ascale they are on the scale of pocketsphinx's own word
# posteriors (measured: the interpreter's confidences then match ``seg().prob`` within a point).
SCORE_SHIFT = 1024.0
# The rejection score is the lower of the coverage (the share of the unconstrained phone loop's
# speech frames inside grammar words) and the grammar words' acoustic match
# (``_word_likelihood_ratio``: log-likelihood per frame against the phone loop's), each mapped to
# 0-1 so that the default threshold falls at COVERAGE_AT_THRESHOLD and at LLR_AT_THRESHOLD
# (LLR_FULL and above: 1). Chosen on the tuning set of benchmarks/bench_rejection.py --tuning
# (espeak-ng voices en-us+m3, en-us+f2, en-gb at 125/160/190 wpm; 4 en-US grammars; 38
# out-of-grammar requests; all disjoint from the accuracy benchmark's held-out set) by a rule fixed
# beforehand: of the (coverage, ratio) pairs rejecting >= 92% of the out-of-grammar utterances,
# the one keeping the most semantically correct in-grammar results (clean, noisy, telephone) plus
# rejected out-of-grammar ones: coverage 0.97 and ratio -5.4 (the former 0.70 and -5.0 rejected
# 273/304 = 89.8% there; these 280/304 = 92.1%, keeping 217 correct results of 257 against 217).
DEFAULT_REJECTION_THRESHOLD = 0.70
COVERAGE_AT_THRESHOLD = 0.97
LLR_FULL = -4.0
LLR_AT_THRESHOLD = -5.4
# Telephone-band audio (8 kHz, resampled: nothing above 4 kHz) matches the 16 kHz acoustic model
# worse word for word than the free phone loop does: its ratios sit about half a nat lower
# (measured on the same utterances resampled through 8 kHz: -5.5 keeps every correct result the
# coverage alone keeps). Audio with under NARROWBAND_SHARE of its energy above 4 kHz is telephone.
NARROWBAND_LLR_SHIFT = -0.5
NARROWBAND_SHARE = 1e-3
# ... and its speech is covered less: on telephone-band audio the coverage bound is the highest
# that keeps as many semantically correct results of the tuning set's telephone copies as the
# former score did (29 of 40; at 0.85: 30; at 0.97: 27). Out-of-grammar speech is measured clean.
NARROWBAND_COVERAGE_AT_THRESHOLD = 0.85
ALLPHONE_SEARCH = "srgs-allphone"
# A stream's partial hypotheses come from pocketsphinx's live search fed in blocks of this many
# samples (100 ms at 16 kHz), whatever the chunks the audio arrives in.
BLOCK_SAMPLES = 1600
BLOCK_BYTES = 2 * BLOCK_SAMPLES
PARTIAL_INTERVAL = 0.2  # seconds of audio between two partial hypotheses of a stream
# $GARBAGE: one "garbage word" per phone of the acoustic model (CMU ARPAbet, as the en-US model
# has them), each pronounced as that one phone, on every $GARBAGE arc of the FSG.
GARBAGE_PHONES = ("AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G", "HH",
                  "IH", "IY", "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T", "TH", "UH",
                  "UW", "V", "W", "Y", "Z", "ZH")
GARBAGE_PREFIX = "srgs-garbage-"
GARBAGE_WORDS = tuple(GARBAGE_PREFIX + phone.lower() for phone in GARBAGE_PHONES)
GARBAGE_PROBABILITY = 1e-3  # FSG probability of one garbage phone (before pocketsphinx's language weight)
GARBAGE_TEXT = "..."  # a run of garbage phones in a hypothesis: what $GARBAGE read


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
    dropped_garbage: int  # $GARBAGE (<any>) arcs dropped (no garbage words given)
    words: tuple[str, ...]  # the dictionary spellings used on word transitions
    garbage_arcs: int = 0  # $GARBAGE arcs searched through the garbage words

    @property
    def note(self) -> str | None:
        if not self.dropped_garbage:
            return None
        return (f"{self.dropped_garbage} $GARBAGE arc(s) dropped: pocketsphinx FSG search cannot read "
                "any word there, so those paths are not recognised")


def _probability(cost: float) -> float:
    return math.exp(-min(max(cost, 0.0), MAX_COST))


def _strong_components(successors: Sequence[Sequence[int]]) -> list[list[int]]:
    """The strongly connected components of a graph (Tarjan's, iterative), each component after
    every component it reaches (sinks first)."""
    count = len(successors)
    index = [-1] * count
    low = [0] * count
    on_stack = [False] * count
    stack: list[int] = []
    components: list[list[int]] = []
    counter = 0
    for root in range(count):
        if index[root] >= 0:
            continue
        work = [(root, 0)]
        while work:
            node, position = work.pop()
            if position == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack[node] = True
            targets = successors[node]
            if position < len(targets):
                work.append((node, position + 1))
                target = targets[position]
                if index[target] < 0:
                    work.append((target, 0))
                elif on_stack[target]:
                    low[node] = min(low[node], index[target])
                continue
            if low[node] == index[node]:
                component: list[int] = []
                while True:
                    member = stack.pop()
                    on_stack[member] = False
                    component.append(member)
                    if member == node:
                        break
                components.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return components


def boosted_costs(constraint: GrammarConstraint, boosts: Mapping[int, float], *,
                  garbage_cost: float | None) -> tuple[list[list[tuple[int, int, float]]], list[float]]:
    """The constraint's arcs and final costs with ``boosts`` (label -> nats) taken off the costs of
    their words' arcs, then pushed toward the start state so that no cost is negative (an FSG
    takes probabilities up to 1): every arc's cost becomes ``cost - boost + V(target) - V(source)``
    and every final cost ``final - V(state)``, ``V`` the cheapest cost from a state to the end.
    Every complete path's cost changes by the same ``-V(start)``, so the search ranks sentences
    exactly as the boosted grammar does. On a cycle of the grammar (a repeated word) a boost
    would make each turn gain without end: there, every choice of a state whose arcs in the cycle
    would gain (and its final cost) pays that gain, so the boosted word keeps its full advantage
    over the other choices at each state but a path does not gain by going round.

    ``garbage_cost``: the cost of a $GARBAGE arc (one garbage word), None when they are dropped;
    unknown-word arcs are dropped (cost inf)."""
    states = constraint.num_states
    arcs: list[list[tuple[int, int, float]]] = []
    for state in range(states):
        out: list[tuple[int, int, float]] = []
        for label, target, cost in constraint.arcs(state):
            if label == ANY_LABEL:
                cost = garbage_cost if garbage_cost is not None else math.inf
            elif label == UNKNOWN_LABEL:
                cost = math.inf
            else:
                cost = float(cost) - boosts.get(label, 0.0)
            out.append((label, target, cost))
        arcs.append(out)
    finals = [float(constraint.final(state)) for state in range(states)]
    successors = [[target for _, target, cost in out if cost < math.inf] for out in arcs]
    potential = [math.inf] * states
    for component in _strong_components(successors):
        members = set(component)
        cyclic = len(component) > 1 or any(target == component[0] for target in successors[component[0]])
        if cyclic:  # a boost must not make a cycle gain: a state whose arcs in the cycle would
            # gain shifts all its choices (and its final cost) by the same amount
            for member in component:
                lowest = min((cost for _, target, cost in arcs[member] if target in members), default=0.0)
                if lowest < 0:
                    arcs[member] = [(label, target, cost - lowest) for label, target, cost in arcs[member]]
                    finals[member] -= lowest
        # the cheapest cost to the end: arcs leaving the component are settled, those inside it
        # are >= 0 (Dijkstra)
        for member in component:
            best = finals[member]
            for _, target, cost in arcs[member]:
                if target not in members:
                    best = min(best, cost + potential[target])
            potential[member] = best
        if cyclic:
            incoming: dict[int, list[tuple[int, float]]] = {}
            for member in component:
                for _, target, cost in arcs[member]:
                    if target in members:
                        incoming.setdefault(target, []).append((member, cost))
            heap = [(potential[member], member) for member in component if potential[member] < math.inf]
            heapq.heapify(heap)
            while heap:
                value, node = heapq.heappop(heap)
                if value > potential[node]:
                    continue
                for source, cost in incoming.get(node, ()):
                    if value + cost < potential[source]:
                        potential[source] = value + cost
                        heapq.heappush(heap, (value + cost, source))
    pushed: list[list[tuple[int, int, float]]] = []
    for state in range(states):
        here = potential[state]
        if here == math.inf:  # no way to the end from here: nothing to push
            pushed.append([(label, target, max(cost, 0.0)) for label, target, cost in arcs[state]])
            continue
        pushed.append([(label, target, max(0.0, cost + potential[target] - here)) for label, target, cost in arcs[state]])
        finals[state] = max(0.0, finals[state] - here)
    return pushed, finals


def constraint_to_fsg(constraint: GrammarConstraint, *, name: str = "srgs",
                      spell: Callable[[str], str | None] | None = None,
                      garbage: Sequence[str] = (), garbage_probability: float = 0.0,
                      boosts: Mapping[int, float] | None = None) -> FsgConversion:
    """The FSG text format of ``constraint``: its states, one new final state reached by null
    transitions (probability ``exp(-final cost)``) from every final state, word transitions
    with probability ``exp(-cost)``, epsilon arcs as null transitions.

    A $GARBAGE arc (``<any>``: any one word) becomes one transition per word of ``garbage``
    (the garbage words: one phone each, see ``GARBAGE_PHONES``), each with probability
    ``garbage_probability``, between the same two states: the grammar's garbage loop becomes a
    phone loop the search can follow over any speech. Without ``garbage`` the arcs are dropped.

    ``spell(word)`` gives the dictionary spelling of a grammar word, or None when the
    dictionary lacks it; every missing word is reported at once (``MissingWordsError``).

    ``boosts`` (word label -> nats, ``decoder.word_boosts``): those words' arcs cost that much
    less, with the costs pushed toward the start so that every probability stays at most 1
    (``boosted_costs``).
    """
    final_state = constraint.num_states
    lines = [f"FSG_BEGIN {name}", f"NUM_STATES {final_state + 1}", f"START_STATE {constraint.start()}",
             f"FINAL_STATE {final_state}"]
    spelled: dict[int, str] = {}
    missing: list[str] = []
    words_used: list[str] = []
    word_count = null_count = dropped = garbage_arcs = 0
    pushed: list[list[tuple[int, int, float]]] | None = None
    finals: list[float] = []
    if boosts:
        garbage_cost = -math.log(garbage_probability) if garbage and garbage_probability > 0 else None
        pushed, finals = boosted_costs(constraint, boosts, garbage_cost=garbage_cost)
    for state in range(constraint.num_states):
        for label, target, cost in (pushed[state] if pushed is not None else constraint.arcs(state)):
            if label == ANY_LABEL and garbage:
                each = garbage_probability if pushed is None else _probability(cost)
                lines.extend(f"TRANSITION {state} {target} {each:.10g} {word}" for word in garbage)
                word_count += len(garbage)
                garbage_arcs += 1
                continue
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
        final = constraint.final(state) if pushed is None else finals[state]
        if final < math.inf:
            lines.append(f"TRANSITION {state} {final_state} {_probability(final):.10g}")
            null_count += 1
    if missing:
        raise MissingWordsError(missing)
    lines.append("FSG_END")
    return FsgConversion(text="\n".join(lines) + "\n", num_states=final_state + 1, start_state=constraint.start(),
                         final_state=final_state, word_transitions=word_count, null_transitions=null_count,
                         dropped_garbage=dropped, words=tuple(words_used), garbage_arcs=garbage_arcs)


# --- model and sessions -----------------------------------------------------------------------


def _is_filler(word: str) -> bool:
    return word.startswith(("<", "[", "+")) or word in ("", "<s>", "</s>", "<sil>")


def _is_phone_filler(phone: str) -> bool:
    """Silence and noise units of the phone loop (``SIL``, ``+NSN+``, ...): not speech."""
    return phone.upper() == "SIL" or phone.startswith(("+", "<", "["))


def _is_garbage(word: str) -> bool:
    return word.startswith(GARBAGE_PREFIX)


def _hypothesis_words(text: str) -> tuple[str, ...]:
    """A pocketsphinx hypothesis as grammar words: fillers dropped, alternative pronunciations
    named by their word, each run of garbage phones one ``GARBAGE_TEXT``."""
    words: list[str] = []
    for word in text.split():
        if _is_garbage(word):
            if not words or words[-1] != GARBAGE_TEXT:
                words.append(GARBAGE_TEXT)
        elif not _is_filler(word):
            words.append(base_word(word))
    return tuple(words)


def _log(probability: float) -> float | None:
    return math.log(probability) if probability > 0 else None


def _word_ratios(words: Sequence[tuple[str, int, int, float]],
                 phones: Sequence[tuple[str, int, int, float]]) -> list[tuple[str, int, float]]:
    """Each grammar word's (word, frames, acoustic log-likelihood on the grammar path minus the
    phone loop's over the same frames), fillers, garbage and underflowed words left out."""
    out: list[tuple[str, int, float]] = []
    for word, start, end, likelihood in words:
        word_log = _log(likelihood)
        if _is_filler(word) or _is_garbage(word) or word_log is None:
            continue
        share = 0.0
        for _, phone_start, phone_end, phone_likelihood in phones:
            overlap = min(end, phone_end) - max(start, phone_start) + 1
            phone_log = _log(phone_likelihood)
            if overlap > 0 and phone_log is not None:
                share += phone_log * overlap / (phone_end - phone_start + 1)
        out.append((base_word(word), end - start + 1, word_log - share))
    return out


def _word_likelihood_ratio(words: Sequence[tuple[str, int, int, float]],
                           phones: Sequence[tuple[str, int, int, float]]) -> float | None:
    """Per frame, the grammar words' acoustic log-likelihood on the grammar path minus the
    unconstrained phone loop's over the same frames (each phone's share by overlap): near 0
    when the words are really there, far below when the grammar forced them on other speech.
    Segments are ``(word, first frame, last frame, acoustic likelihood)``; fillers and garbage
    are left out, and so is a word whose likelihood underflowed to 0. None without any word."""
    ratios = _word_ratios(words, phones)
    frames = sum(count for _, count, _ in ratios)
    return sum(total for _, _, total in ratios) / frames if frames else None


def _loop_loglik(phones: Sequence[tuple[str, int, int, float]]) -> float | None:
    """The phone loop's acoustic log-likelihood per frame of its speech phones (None without any)."""
    total = 0.0
    frames = 0
    for phone, start, end, likelihood in phones:
        value = _log(likelihood)
        if not _is_phone_filler(phone) and value is not None:
            total += value
            frames += end - start + 1
    return total / frames if frames else None


@dataclass(frozen=True, slots=True)
class RejectionMeasures:
    """What the rejection score of one utterance is made of (``PocketsphinxSession.measures``).

    ``coverage``: the share of the phone loop's speech frames inside grammar words;
    ``ratio``: the grammar words' pooled acoustic log-likelihood ratio per frame against the
    phone loop (None without a word); ``word_ratios``: each word's (word, frames, total ratio);
    ``narrowband``: telephone-band audio; ``speech_frames``: the phone loop's speech frames;
    ``phones``: its speech phones; ``seconds``: the audio's length."""

    coverage: float
    ratio: float | None
    word_ratios: tuple[tuple[str, int, float], ...]
    narrowband: bool
    speech_frames: int
    phones: int
    seconds: float
    word_posteriors: tuple[float, ...] = ()  # the grammar words' lattice posteriors
    word_phones: tuple[str, ...] = ()  # the grammar words' phones (their pronunciations on the path)
    loop_phones: tuple[str, ...] = ()  # the phone loop's speech phones
    loop_loglik: float | None = None  # the phone loop's acoustic log-likelihood per speech frame


def _narrowband(audio: bytes, rate: int) -> bool:
    """Whether ``audio`` (16-bit PCM) has almost no energy above 4 kHz: telephone-band speech."""
    samples = np.frombuffer(audio[: len(audio) - len(audio) % 2], dtype="<i2").astype(np.float64)
    if rate <= 8000 or len(samples) < 256:
        return rate <= 8000
    power = np.abs(np.fft.rfft(samples)) ** 2
    total = float(power.sum())
    high = float(power[int(len(power) * 4000 / (rate / 2)):].sum())
    return total > 0 and high / total < NARROWBAND_SHARE


def _acoustic_factor(ratio: float) -> float:
    """The word likelihood ratio on the rejection score's scale: 1 from ``LLR_FULL`` up,
    ``DEFAULT_REJECTION_THRESHOLD`` at ``LLR_AT_THRESHOLD``, linear in between and below."""
    slope = (1.0 - DEFAULT_REJECTION_THRESHOLD) / (LLR_FULL - LLR_AT_THRESHOLD)
    return max(0.0, min(1.0, 1.0 - (LLR_FULL - ratio) * slope))


def _coverage_factor(coverage: float, *, narrowband: bool = False) -> float:
    """The coverage on the rejection score's scale: 1 at full coverage,
    ``DEFAULT_REJECTION_THRESHOLD`` at ``COVERAGE_AT_THRESHOLD`` (telephone-band audio:
    ``NARROWBAND_COVERAGE_AT_THRESHOLD``), linear in between and below."""
    bound = NARROWBAND_COVERAGE_AT_THRESHOLD if narrowband else COVERAGE_AT_THRESHOLD
    slope = (1.0 - DEFAULT_REJECTION_THRESHOLD) / (1.0 - bound)
    return max(0.0, min(1.0, 1.0 - (1.0 - coverage) * slope))


def rejection_score_of(measures: RejectionMeasures, *, acoustic_check: bool = True) -> float:
    """The rejection score (0-1) of an utterance's measures: the lower of the coverage
    (``_coverage_factor``) and the acoustic match (``_acoustic_factor``); with ``acoustic_check``
    off, the coverage alone (the share itself, unscaled)."""
    if not acoustic_check:
        return measures.coverage
    score = _coverage_factor(measures.coverage, narrowband=measures.narrowband)
    if measures.ratio is not None:
        shift = NARROWBAND_LLR_SHIFT if measures.narrowband else 0.0
        score = min(score, _acoustic_factor(measures.ratio - shift))
    return score


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
        self._options = dict(options)
        self.phone_lm = phone_lm
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
        missing (a digit as its number word, a hyphenated word as its parts, anything else by G2P);
        None when none of these works."""
        found = self.spell(word)
        if found is not None or not word or any(ch.isspace() for ch in word):
            return found
        spelling = word.lower()
        phones = self._compound_phones(spelling) if "-" in spelling.strip("-") else None
        if phones is None and len(spelling) == 1 and spelling in "0123456789":
            phones = self.spell_phones(DIGIT_WORDS[int(spelling)])
        elif phones is None:
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

    def _compound_phones(self, spelling: str) -> str | None:
        """A hyphenated word ("seventy-two") said as its parts, when the dictionary (or the digit
        table) has every part: G2P reads such words poorly, and the dictionary lacks most."""
        parts: list[str] = []
        for part in spelling.split("-"):
            if not part:
                continue
            if len(part) == 1 and part in "0123456789":
                part = DIGIT_WORDS[int(part)]
            phones = self.spell_phones(part)
            if phones is None:
                return None
            parts.append(phones)
        return " ".join(parts) if parts else None

    def dictionary_for(self, words: Sequence[str]) -> str:
        """Dictionary text (``word PHONES`` lines) of ``words`` with all their pronunciations
        (``word(2)``, ... as pocketsphinx names the alternatives)."""
        lines: list[str] = []
        with self.lock:
            for word in dict.fromkeys(words):
                for variant in range(1, 100):
                    name = word if variant == 1 else f"{word}({variant})"
                    phones = self._decoder.lookup_word(name)
                    if not phones:
                        break
                    lines.append(f"{name} {phones}")
        return "\n".join(lines) + "\n"

    def session(self, activation: Activation, *, rejection_threshold: float = DEFAULT_REJECTION_THRESHOLD,
                garbage_probability: float = GARBAGE_PROBABILITY, acoustic_check: bool = True,
                word_boosts: Mapping[str, float] | None = None) -> PocketsphinxSession:
        """A decoder session; ``rejection_threshold``, ``garbage_probability``, ``acoustic_check``,
        ``word_boosts`` (see ``PocketsphinxSession``)."""
        return PocketsphinxSession(self, activation, rejection_threshold=rejection_threshold,
                                   garbage_probability=garbage_probability, acoustic_check=acoustic_check,
                                   word_boosts=word_boosts)

    def _new_search_name(self) -> str:
        with self.lock:
            self._sessions += 1
            return f"srgs-session-{self._sessions}"


@dataclass(slots=True)
class PocketsphinxSession:
    """One caller's decoder under one activation, with its own pocketsphinx decoder.

    The session's decoder holds the acoustic model, a dictionary of only the grammar's words (all
    their pronunciations, looked up in the shared model's dictionary), the grammar's FSG and the
    phone loop used for rejection: about 6 MB and 20-40 ms to make (a decoder with the whole
    dictionary is 27 MB), so sessions never wait for each other on the shared model. Not
    thread-safe: one caller at a time. (pocketsphinx holds the GIL while it decodes, so parallel
    decoding needs processes, not threads.)

    ``rejection_threshold``: a result whose rejection score (the share of the unconstrained phone
    loop's speech frames inside grammar words, bounded by the words' acoustic match; 0-1) is below
    it is NO_MATCH. 0 accepts every sentence the grammar search finds; a value above 1 rejects
    everything. ``acoustic_check=False``: the score is the coverage alone (as before the acoustic
    match was added). ``garbage_probability``: the FSG probability of each phone $GARBAGE reads
    (higher lets garbage take more of the speech; 1e-3 by default, tuned on espeak-ng speech).
    ``word_boosts``: word -> boost (``decoder.word_boosts``: each unit multiplies the grammar
    probability of the word's arcs by e, in the FSG, pushed so that it stays a valid FSG); the hint
    words that no active grammar has are in ``boosts.ignored`` (and logged).

    Every utterance starts from the same feature state (``reinit_feat`` and the model's initial
    cepstral mean) and is searched whole, so the same audio gives the same result whatever the
    session decoded before, and whether it came whole (``decode``) or in chunks (``stream``).
    """

    model: PocketsphinxModel
    activation: Activation
    rejection_threshold: float = DEFAULT_REJECTION_THRESHOLD
    garbage_probability: float = GARBAGE_PROBABILITY
    acoustic_check: bool = True
    word_boosts: Mapping[str, float] | None = None
    boosts: WordBoosts = field(init=False)
    conversion: FsgConversion = field(init=False)
    search: str = field(init=False)
    closed: bool = field(init=False, default=False)
    dictionary: str = field(init=False, repr=False)  # the session dictionary's text
    _decoder: Any = field(init=False, default=None, repr=False)
    _cmn: str = field(init=False, default="", repr=False)
    _stream: PocketsphinxStream | None = field(init=False, default=None, repr=False)
    # the last utterance's rejection measures (None when the search found no sentence)
    measures: RejectionMeasures | None = field(init=False, default=None, repr=False)
    _pron: dict[str, str] | None = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        threshold = self.rejection_threshold
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or math.isnan(threshold):
            raise DecoderError(f"rejection_threshold must be a number (0 accepts all, above 1 rejects all), got {threshold!r}")
        constraint = self.activation.constraint()
        self.boosts = resolve_boosts(constraint.words, self.word_boosts)
        if self.boosts.ignored:
            log.info("word boosts for words no active grammar has, ignored: %s", ", ".join(self.boosts.ignored))
        self.conversion = constraint_to_fsg(constraint, spell=self.model.pronounce, garbage=GARBAGE_WORDS,
                                            garbage_probability=self.garbage_probability, boosts=self.boosts.labels)
        self.search = self.model._new_search_name()
        self.dictionary = self.model.dictionary_for(self.conversion.words)
        if self.conversion.garbage_arcs:
            self.dictionary += "".join(f"{word} {phone}\n" for word, phone in zip(GARBAGE_WORDS, GARBAGE_PHONES, strict=True))
        import pocketsphinx

        with tempfile.TemporaryDirectory(prefix="srgs-fsg-") as folder:
            fsg_path, dict_path = os.path.join(folder, "grammar.fsg"), os.path.join(folder, "words.dict")
            with open(fsg_path, "w", encoding="utf-8") as handle:
                handle.write(self.conversion.text)
            with open(dict_path, "w", encoding="utf-8") as handle:
                handle.write(self.dictionary)
            try:
                decoder = pocketsphinx.Decoder(**{**self.model._options, "dict": dict_path})
            except (RuntimeError, ValueError) as exc:
                raise DecoderError(f"pocketsphinx could not make the session's decoder: {exc}") from None
            try:
                decoder.add_fsg(self.search, decoder.read_fsg(fsg_path))
            except (RuntimeError, ValueError) as exc:
                raise DecoderError(f"pocketsphinx refused the grammar's FSG: {exc}") from None
            try:
                decoder.add_allphone_file(ALLPHONE_SEARCH, self.model.phone_lm)
            except (RuntimeError, ValueError) as exc:
                raise DecoderError(f"pocketsphinx could not load the phone loop's language model: {exc}") from None
        self._decoder = decoder
        self._cmn = str(decoder.get_cmn())

    def close(self) -> None:
        if not self.closed:
            if self._stream is not None:
                self._stream.cancel()
            self.closed = True
            self._decoder = None

    def __enter__(self) -> PocketsphinxSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def decode(self, audio: Audio, *, nbest: int | None = None) -> Recognition:
        """Decode one whole utterance; the n-best go to the activation's interpreter (feeding the
        same audio to ``stream`` in chunks gives this very result)."""
        if audio.rate != self.model.sample_rate:
            raise DecoderError(f"audio at {audio.rate} Hz: the model takes {self.model.sample_rate} Hz")
        count = self._check_ready(nbest)
        return self._recognise(audio.pcm(), audio.seconds, count)

    def stream(self, *, nbest: int | None = None) -> PocketsphinxStream:
        """Start an utterance fed in chunks (16-bit little-endian mono PCM at 16 kHz)."""
        self._stream = PocketsphinxStream(self, self._check_ready(nbest))
        return self._stream

    def _check_ready(self, nbest: int | None) -> int:
        if self.closed:
            raise DecoderError("this decoder session is closed")
        if self._stream is not None:
            raise DecoderError("this decoder session has an utterance in progress: finish or cancel its stream first")
        count = self.activation.interpreter().nbest if nbest is None else nbest
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise DecoderError(f"nbest must be a whole number >= 1, got {count!r}")
        return count

    # --- one utterance (called by the stream) ---------------------------------------------------

    def _begin(self, search: str) -> None:
        decoder = self._decoder
        decoder.reinit_feat()  # the same starting point for every utterance
        decoder.set_cmn(self._cmn)
        decoder.activate_search(search)
        decoder.start_utt()

    def _pronunciations(self) -> dict[str, str]:
        """The session dictionary: word (``word(2)`` for a variant) -> its phones."""
        if self._pron is None:
            self._pron = {}
            for line in self.dictionary.splitlines():
                name, _, phones = line.partition(" ")
                if name:
                    self._pron[name] = phones.strip()
        return self._pron

    def _recognise(self, audio: bytes, seconds: float, count: int) -> Recognition:
        """The grammar search over the whole utterance, the phone loop over it, the result."""
        from interpreter.api import Hypothesis

        began = time.perf_counter()
        decoder = self._decoder
        self._begin(self.search)
        decoder.process_raw(audio, full_utt=True)
        decoder.end_utt()
        best = decoder.hyp()
        segments = [(str(s.word), int(s.start_frame), int(s.end_frame), float(s.prob)) for s in decoder.seg()] \
            if best is not None else []
        acoustic = [(str(s.word), int(s.start_frame), int(s.end_frame), float(s.ascore)) for s in decoder.seg()] \
            if best is not None else []
        raw: list[tuple[str, float]] = []
        if best is not None and best.hypstr is not None:
            raw.append((str(best.hypstr), float(best.score)))
            for index, entry in enumerate(decoder.nbest()):
                if index >= 10 * count + 10:
                    break
                if entry is not None and entry.hypstr is not None:
                    raw.append((str(entry.hypstr), float(entry.score)))
        interpreter = self.activation.interpreter()
        constraint = self.activation.constraint()
        hypotheses: list[tuple[tuple[str, ...], float, str | None]] = []
        seen: set[tuple[str, ...]] = set()
        raw_text: dict[tuple[str, ...], str] = {}
        for text, score in raw:
            words = _hypothesis_words(text)
            if not words or words in seen:
                continue
            seen.add(words)
            raw_text[words] = text
            accepted = constraint.accepts(words)
            if accepted is None:  # pocketsphinx's fallback when no path reached the final state
                continue
            grammar = constraint.grammars[accepted[1]].name if accepted[1] is not None else None
            cost = -math.log(score) * self.model.score_scale if score > 0 else MAX_COST
            hypotheses.append((words, min(max(cost, 0.0), MAX_COST), grammar))
            if len(hypotheses) >= count:
                break
        aligned = False
        if hypotheses and best is not None and _hypothesis_words(str(best.hypstr or "")) != hypotheses[0][0]:
            # pocketsphinx's best path is not a sentence of the grammar (its fallback when no path
            # reached the final state): the times and acoustic scores of the words are those of
            # the best sentence of the n-best, aligned to the audio
            found = self._align(raw_text[hypotheses[0][0]], audio)
            if found is not None:
                acoustic, aligned = found, True
                segments = [(word, start, end, 1.0) for word, start, end, _ in found]
        self.measures = None
        speech: set[int] = set()
        phones: list[tuple[str, int, int, float]] = []
        if hypotheses:  # the unconstrained phone loop on the same audio, for rejection
            self._begin(ALLPHONE_SEARCH)
            decoder.process_raw(audio, full_utt=True)
            decoder.end_utt()
            if decoder.hyp() is not None:
                phones = [(str(p.word), int(p.start_frame), int(p.end_frame), float(p.ascore)) for p in decoder.seg()]
                for phone, start, end, _ in phones:
                    if not _is_phone_filler(phone):
                        speech.update(range(start, end + 1))
        result = interpreter.interpret_hypotheses([Hypothesis(words, cost, grammar) for words, cost, grammar in hypotheses],
                                                  nbest=count)
        if aligned:  # no lattice posterior for an aligned word: its sentence's posterior
            posterior = result.alternatives[0].score / 100 if result.alternatives else 0.0
            segments = [(word, start, end, posterior) for word, start, end, _ in segments]
        rejection_score: float | None = None
        rejected = False
        if hypotheses:
            inside: set[int] = set()
            for word, start, end, _ in segments:
                if not _is_filler(word):  # grammar words and what $GARBAGE read
                    inside.update(range(start, end + 1))
            ratios = _word_ratios(acoustic, phones)
            frames = sum(count for _, count, _ in ratios)
            self.measures = RejectionMeasures(
                coverage=len(speech & inside) / len(speech) if speech else 0.0,
                ratio=sum(total for _, _, total in ratios) / frames if frames else None,
                word_ratios=tuple(ratios), narrowband=_narrowband(audio, self.model.sample_rate),
                speech_frames=len(speech), phones=sum(1 for phone in phones if not _is_phone_filler(phone[0])),
                seconds=seconds,
                word_posteriors=tuple(prob for word, _, _, prob in segments
                                      if not _is_filler(word) and not _is_garbage(word)),
                word_phones=tuple(phone for word, _, _, _ in acoustic if not _is_filler(word) and not _is_garbage(word)
                                  for phone in self._pronunciations().get(word, "").split()),
                loop_phones=tuple(phone for phone, _, _, _ in phones if not _is_phone_filler(phone)),
                loop_loglik=_loop_loglik(phones))
            rejection_score = rejection_score_of(self.measures, acoustic_check=self.acoustic_check)
            if rejection_score < self.rejection_threshold:
                rejected = True
                result = replace(result, status="NO_MATCH", alternatives=(), error=None)
                segments = []
            elif result.alternatives:
                result = replace(result, alternatives=tuple(
                    replace(alternative, score=max(0, min(100, round(alternative.score * rejection_score))))
                    for alternative in result.alternatives))
        rate = self.model.frame_rate
        times = tuple(WordTime(word=base_word(word), start=start / rate, end=(end + 1) / rate,
                               confidence=max(0, min(100, round(100 * prob))))
                      for word, start, end, prob in segments if not _is_filler(word) and not _is_garbage(word))
        return Recognition(result=result, words=times, hypotheses=tuple(hypotheses), audio_seconds=seconds,
                           decode_seconds=time.perf_counter() - began, rejection_score=rejection_score,
                           rejected=rejected)

    def _align(self, text: str, audio: bytes) -> list[tuple[str, int, int, float]] | None:
        """``text`` (pocketsphinx words) force-aligned to ``audio``: its segments with their
        acoustic likelihoods, or None when pocketsphinx cannot align it."""
        decoder = self._decoder
        try:
            decoder.reinit_feat()
            decoder.set_cmn(self._cmn)
            decoder.set_align_text(text)
            decoder.start_utt()
            decoder.process_raw(audio, full_utt=True)
            decoder.end_utt()
        except (RuntimeError, ValueError):
            return None
        if decoder.hyp() is None:
            return None
        return [(str(s.word), int(s.start_frame), int(s.end_frame), float(s.ascore)) for s in decoder.seg()]

    def _partial(self, seconds: float) -> Recognition | None:
        """The grammar search's best path so far (a backtrace; no rejection pass)."""
        from interpreter.api import Hypothesis
        from interpreter.results import Alternative, RecognitionResult

        began = time.perf_counter()
        best = self._decoder.hyp()
        if best is None or not best.hypstr:
            return None
        words = _hypothesis_words(str(best.hypstr))
        if not any(word != GARBAGE_TEXT for word in words):  # nothing but what $GARBAGE read so far
            return None
        rate = self.model.frame_rate
        times = tuple(WordTime(word=base_word(str(s.word)), start=int(s.start_frame) / rate,
                               end=(int(s.end_frame) + 1) / rate, confidence=0)
                      for s in self._decoder.seg() if not _is_filler(str(s.word)) and not _is_garbage(str(s.word)))
        constraint = self.activation.constraint()
        accepted = constraint.accepts(words)
        grammar = None if accepted is None or accepted[1] is None else constraint.grammars[accepted[1]].name
        if accepted is not None:  # already a whole sentence: its interpretation (confidence unknown yet)
            result = self.activation.interpreter().interpret_hypotheses([Hypothesis(words, 0.0, grammar)], nbest=1)
            result = replace(result, alternatives=tuple(replace(a, score=0) for a in result.alternatives))
        else:  # a prefix: the words only
            text = " ".join(word for word in words if word != GARBAGE_TEXT)
            result = RecognitionResult(status="RECOGNIZED", alternatives=(
                Alternative(text=text, score=0, lm="", interpretations=()),))
        return Recognition(result=result, words=times, hypotheses=((words, 0.0, grammar),), audio_seconds=seconds,
                           decode_seconds=time.perf_counter() - began)


class PocketsphinxStream:
    """One utterance of a ``PocketsphinxSession`` fed in chunks (``DecoderStream``).

    ``feed`` keeps the audio (a copy into a buffer: no search). ``finish`` searches the whole
    utterance at once, exactly as ``session.decode`` of the same audio does (pocketsphinx
    normalises a whole utterance by its own cepstral mean, which its live mode must estimate as
    it goes: measured on the rejection benchmark's 88 in-grammar utterances, whole-utterance
    search gets 73 right, the live search in 100 ms blocks 67); so the final result's latency is
    that search plus the rejection phone loop (``benchmarks/bench_endpointer.py``: median 150 ms
    of CPU after a 3 s utterance). ``partial`` runs the live search
    over the audio that arrived since its last call (each block once: over an utterance all
    partials together cost one more search, nothing when ``partial`` is never called) and
    returns its best path so far, recomputed when at least ``PARTIAL_INTERVAL`` seconds of audio
    arrived since the last one; its confidences are 0 and it is not checked for rejection.
    ``cancel`` drops the utterance. The session takes a new utterance once this one is finished
    or cancelled.
    """

    def __init__(self, session: PocketsphinxSession, nbest: int) -> None:
        self._session = session
        self._nbest = nbest
        self._audio = bytearray()
        self._searched = -1  # bytes of _audio the live search has had; -1: not started
        self._partial: Recognition | None = None
        self._done = False

    @property
    def seconds(self) -> float:
        return len(self._audio) // 2 / self._session.model.sample_rate

    def feed(self, pcm: bytes) -> None:
        self._check()
        self._audio += pcm

    def partial(self) -> Recognition | None:
        self._check()
        session = self._session
        rate = session.model.sample_rate
        ready = (len(self._audio) // BLOCK_BYTES) * BLOCK_BYTES
        if self._searched >= 0 and (ready - self._searched) / 2 / rate < PARTIAL_INTERVAL:
            return self._partial
        if ready == 0:
            return None
        if self._searched < 0:
            session._begin(session.search)
            self._searched = 0
        for offset in range(self._searched, ready, BLOCK_BYTES):
            session._decoder.process_raw(bytes(self._audio[offset: offset + BLOCK_BYTES]), full_utt=False)
        self._searched = ready
        self._partial = session._partial(ready / 2 / rate)
        return self._partial

    def finish(self) -> Recognition:
        self._check()
        session = self._session
        try:
            self._end_live()
            end = len(self._audio) - len(self._audio) % 2
            return session._recognise(bytes(self._audio[:end]), end / 2 / session.model.sample_rate, self._nbest)
        finally:
            self._close()

    def cancel(self) -> None:
        if not self._done:
            self._end_live()
            self._close()

    def _end_live(self) -> None:
        if self._searched >= 0:
            self._searched = -1
            self._session._decoder.end_utt()

    def _check(self) -> None:
        if self._done:
            raise DecoderError("this audio stream has ended (finished or cancelled)")

    def _close(self) -> None:
        self._done = True
        self._audio = bytearray()
        self._partial = None
        if self._session._stream is self:
            self._session._stream = None


__all__ = ["BLOCK_SAMPLES", "DEFAULT_REJECTION_THRESHOLD", "DecoderError",
           "FsgConversion", "IPA_TO_ARPABET", "MissingWordsError", "PocketsphinxModel", "PocketsphinxSession",
           "PocketsphinxStream", "Recognition", "RejectionMeasures", "WordTime", "constraint_to_fsg", "ipa_to_arpabet",
           "rejection_score_of"]
