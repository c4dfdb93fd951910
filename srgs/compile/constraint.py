"""A decoder constraint: the weighted union of an activation's grammars over one word table.

A speech decoder that follows a grammar needs one automaton over one vocabulary, whatever
grammars are active: ``GrammarConstraint`` joins the token acceptors of several compiled
grammars, each with its activation weight, without recompiling any of them. States of grammar
``g`` keep their numbers shifted by an offset, so every state (and so every path past the start)
belongs to exactly one grammar: ``grammar_of(state)`` says which, which is how a decoder's
hypothesis is handed back to the right grammar for interpretation.

Search API (read-only, thread-safe): ``start()``, ``arcs(state)`` -> ``(word label, next state,
cost)`` triples, ``advance(state, word)``, ``final(state)`` (``inf`` when not final). The label
``ANY`` (1) on an arc is $GARBAGE: any one word. Exports: ``to_fst()`` (an OpenFst acceptor with
the word table attached) and ``to_arc_list()`` (plain JSON-able states and arcs).
"""

from __future__ import annotations

import bisect
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import pynini
import pywrapfst  # pynini's classes under their typed names (pynini's stub does not re-export them)

from .artifact import CompiledGrammar
from .symbols import ANY, ANY_LABEL, EPSILON, UNKNOWN, word_symbol

INFINITY = math.inf
START = 0


@dataclass(frozen=True, slots=True)
class ConstraintGrammar:
    """One member of the union: its name in results, its compiled form and its weight."""

    name: str
    compiled: CompiledGrammar
    weight: float = 1.0


class GrammarConstraint:
    """The weighted union of ``grammars``; state 0 is the shared start state."""

    def __init__(self, grammars: Sequence[ConstraintGrammar]):
        if not grammars:
            raise ValueError("a constraint needs at least one grammar")
        for member in grammars:
            if not (math.isfinite(member.weight) and member.weight > 0):
                raise ValueError(f"grammar {member.name!r}: weight must be a finite number > 0, got {member.weight}")
        total = sum(member.weight for member in grammars)
        self.grammars = tuple(grammars)
        self.weight_costs = tuple(-math.log(member.weight / total) for member in grammars)
        # One word table: label 0 epsilon, 1 <any> ($GARBAGE), 2 <unk>, then every word of
        # every grammar in first-seen order.
        self.words: list[str] = [EPSILON, ANY, UNKNOWN]
        self.word_ids: dict[str, int] = {EPSILON: 0, ANY: ANY_LABEL, UNKNOWN: 2}
        self._relabel: list[dict[int, int]] = []
        self._offsets: list[int] = []
        offset = 1
        for member in grammars:
            mapping = {0: 0, ANY_LABEL: ANY_LABEL}
            for word, label in member.compiled.word_labels.items():
                mapping[label] = self._word_id(word)
            self._relabel.append(mapping)
            self._offsets.append(offset)
            offset += max(0, member.compiled.acceptor.num_states())
        self.num_states = offset
        self._cache: dict[int, tuple[tuple[int, int, float], ...]] = {}
        self._by_label: dict[int, dict[int, tuple[tuple[int, float], ...]]] = {}
        self._lock = threading.Lock()

    def _word_id(self, word: str) -> int:
        label = self.word_ids.get(word)
        if label is None:
            label = self.word_ids[word] = len(self.words)
            self.words.append(word)
        return label

    # --- search -------------------------------------------------------------------------------

    def start(self) -> int:
        return START

    def grammar_of(self, state: int) -> int | None:
        """The index of the grammar a state belongs to (None for the shared start)."""
        if state == START:
            return None
        if not 0 < state < self.num_states:
            raise ValueError(f"no state {state}")
        return bisect.bisect_right(self._offsets, state) - 1

    def arcs(self, state: int) -> tuple[tuple[int, int, float], ...]:
        """``(word label, next state, cost)`` of every arc leaving ``state``."""
        cached = self._cache.get(state)
        if cached is None:
            cached = self._start_arcs() if state == START else self._member_arcs(state)
            with self._lock:
                self._cache[state] = cached
        return cached

    def advance(self, state: int, word: str) -> tuple[tuple[int, float], ...]:
        """Where ``word`` (normalised) leads from ``state`` with each arc's cost; a word no
        grammar knows is still read by $GARBAGE arcs."""
        grouped = self._by_label.get(state)
        if grouped is None:
            table: dict[int, list[tuple[int, float]]] = {}
            for label, target, cost in self.arcs(state):
                table.setdefault(label, []).append((target, cost))
            grouped = {label: tuple(items) for label, items in table.items()}
            with self._lock:
                self._by_label[state] = grouped
        word_label = self.word_ids.get(word)
        found = grouped.get(word_label, ()) if word_label is not None and word_label > 2 else ()
        return found + grouped.get(ANY_LABEL, ())

    def final(self, state: int) -> float:
        """The cost of ending in ``state``; ``inf`` when it is not final."""
        if state == START:
            return min((self._final_local(index, member.compiled.start()) + self.weight_costs[index]
                        for index, member in enumerate(self.grammars) if member.compiled.start() >= 0),
                       default=INFINITY)
        index = self.grammar_of(state)
        assert index is not None
        return self._final_local(index, state - self._offsets[index])

    def accepts(self, words: Sequence[str]) -> tuple[float, int | None] | None:
        """The best cost of ``words`` and the grammar of that path, or None (a reference walk
        for tests and tools; decoders do their own search)."""
        frontier: dict[int, float] = {START: 0.0}
        for word in words:
            step: dict[int, float] = {}
            for state, cost in frontier.items():
                for target, arc_cost in self.advance(state, word):
                    total = cost + arc_cost
                    if total < step.get(target, INFINITY):
                        step[target] = total
            frontier = step
            if not frontier:
                return None
        best: tuple[float, int | None] | None = None
        for state, cost in frontier.items():
            total = cost + self.final(state)
            if total < INFINITY and (best is None or total < best[0]):
                best = (total, self.grammar_of(state))
        return best

    # --- exports ------------------------------------------------------------------------------

    def to_fst(self) -> pynini.Fst:
        """The whole union as one OpenFst acceptor (tropical), word table attached."""
        fst = pynini.Fst()
        fst.add_states(self.num_states)
        fst.set_start(START)
        one = pywrapfst.Weight.one("tropical")
        for state in range(self.num_states):
            for label, target, cost in self.arcs(state):
                fst.add_arc(state, pywrapfst.Arc(label, label, pywrapfst.Weight("tropical", cost) if cost else one, target))
            final = self.final(state)
            if final < INFINITY:
                fst.set_final(state, final)
        table = pywrapfst.SymbolTable(name="srgs-words")
        for label, word in enumerate(self.words):
            table.add_symbol(word if label < 3 else word_symbol(word), label)
        fst.set_input_symbols(table)
        fst.set_output_symbols(table)
        return fst

    def to_arc_list(self) -> dict[str, object]:
        """``{"words", "start", "finals": [[state, cost]], "arcs": [[from, to, label, cost]],
        "grammars": [{"name", "weight", "first_state", "states"}]}``."""
        arcs = [[state, target, label, cost] for state in range(self.num_states)
                for label, target, cost in self.arcs(state)]
        finals = [[state, cost] for state in range(self.num_states) if (cost := self.final(state)) < INFINITY]
        grammars = [
            {"name": member.name, "weight": member.weight, "first_state": self._offsets[index],
             "states": max(0, member.compiled.acceptor.num_states())}
            for index, member in enumerate(self.grammars)
        ]
        return {"words": list(self.words), "start": START, "finals": finals, "arcs": arcs, "grammars": grammars}

    # --- inside -------------------------------------------------------------------------------

    def _start_arcs(self) -> tuple[tuple[int, int, float], ...]:
        """The start state reads what every grammar's start state reads, plus the weight."""
        arcs: list[tuple[int, int, float]] = []
        for index, member in enumerate(self.grammars):
            local = member.compiled.start()
            if local >= 0:
                arcs.extend((label, target, cost + self.weight_costs[index])
                            for label, target, cost in self._local_arcs(index, local))
        return tuple(arcs)

    def _member_arcs(self, state: int) -> tuple[tuple[int, int, float], ...]:
        index = self.grammar_of(state)
        assert index is not None
        return tuple(self._local_arcs(index, state - self._offsets[index]))

    def _local_arcs(self, index: int, local: int) -> list[tuple[int, int, float]]:
        offset, mapping = self._offsets[index], self._relabel[index]
        acceptor = self.grammars[index].compiled.acceptor
        return [(mapping[arc.ilabel], arc.nextstate + offset, float(arc.weight)) for arc in acceptor.arcs(local)]

    def _final_local(self, index: int, local: int) -> float:
        return float(self.grammars[index].compiled.acceptor.final(local))


__all__ = ["ConstraintGrammar", "GrammarConstraint"]
