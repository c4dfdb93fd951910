"""Small FST building blocks over integer labels (tropical weights, no symbol tables attached).

Every function returns a fresh mutable ``pynini.Fst`` the caller owns. Symbol tables are kept
off the pieces on purpose: attaching one to each of 100,000 small FSTs costs more than building
them; the compiled grammar carries one table beside its FSTs.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from itertools import zip_longest

import pynini
import pywrapfst

Arc = pywrapfst.Arc
ONE = pywrapfst.Weight.one("tropical")
ZERO_COST = float("inf")


def void() -> pynini.Fst:
    """No path at all ($VOID)."""
    return pynini.Fst()


def epsilon(cost: float = 0.0) -> pynini.Fst:
    """The empty path ($NULL), with an optional cost."""
    fst = pynini.Fst()
    state = fst.add_state()
    fst.set_start(state)
    fst.set_final(state, cost)
    return fst


def labels_path(pairs: list[tuple[int, int]]) -> pynini.Fst:
    """One path whose arcs carry the ``(input, output)`` label pairs, in order."""
    fst = pynini.Fst()
    fst.add_states(len(pairs) + 1)
    fst.set_start(0)
    for state, (ilabel, olabel) in enumerate(pairs):
        fst.add_arc(state, Arc(ilabel, olabel, ONE, state + 1))
    fst.set_final(len(pairs))
    return fst


def pack(inputs: list[int], outputs: list[int]) -> list[tuple[int, int]]:
    """An input string and an output string on as few arcs as possible.

    Only the two strings carry meaning (the parse is read from the output side alone), so
    ``a:<tok> b:ε ε:<tag>`` may become ``a:<tok> b:<tag>``: one state less per list entry.
    """
    return list(zip_longest(inputs, outputs, fillvalue=0))


def chains(paths: list[tuple[list[tuple[int, int]], float]]) -> pynini.Fst:
    """The union of single paths, each ``(label pairs, cost)``, built as one FST in one pass."""
    fst = pynini.Fst()
    start = fst.add_state()
    final = fst.add_state()
    fst.set_start(start)
    fst.set_final(final)
    for pairs, cost in paths:
        if not pairs:
            fst.add_arc(start, Arc(0, 0, cost, final))
            continue
        state = start
        last = len(pairs) - 1
        for position, (ilabel, olabel) in enumerate(pairs):
            target = final if position == last else fst.add_state()
            fst.add_arc(state, Arc(ilabel, olabel, cost if position == 0 else ONE, target))
            state = target
    return fst


def self_loop(ilabel: int, olabel: int, cost: float) -> pynini.Fst:
    """Zero or more arcs ``ilabel:olabel/cost`` (a $GARBAGE loop)."""
    fst = pynini.Fst()
    state = fst.add_state()
    fst.set_start(state)
    fst.set_final(state)
    fst.add_arc(state, Arc(ilabel, olabel, cost, state))
    return fst


def is_void(fst: pynini.Fst) -> bool:
    return bool(fst.start() == pywrapfst.NO_STATE_ID)


def with_cost(fst: pynini.Fst, cost: float) -> pynini.Fst:
    """Adds ``cost`` to every path (a new start state with a weighted epsilon arc)."""
    if cost == 0.0 or is_void(fst):
        return fst
    start = fst.add_state()
    fst.add_arc(start, Arc(0, 0, cost, fst.start()))
    fst.set_start(start)
    return fst


def concat_all(pieces: list[pynini.Fst]) -> pynini.Fst:
    """The concatenation of ``pieces`` (the first one is reused)."""
    result = pieces[0]
    for piece in pieces[1:]:
        if is_void(result) or is_void(piece):
            return void()
        result.concat(piece)
    return result


def input_labels(fst: pynini.Fst) -> set[int]:
    """Every non-epsilon input label on an arc."""
    return {arc.ilabel for state in fst.states() for arc in fst.arcs(state) if arc.ilabel}


def consuming_paths(fst: pynini.Fst) -> pynini.Fst:
    """The paths of ``fst`` that read at least one input label (SRGS §2.5: no empty iteration).

    A two-state acceptor of Σ⁺ over the labels ``fst`` reads, composed on its input side.
    """
    labels = sorted(input_labels(fst))
    if not labels:
        return void()
    plus = pynini.Fst()
    plus.add_states(2)
    plus.set_start(0)
    plus.set_final(1)
    for state in (0, 1):
        for label in labels:
            plus.add_arc(state, Arc(label, label, ONE, 1))
    result = pynini.compose(plus, fst.copy().arcsort("ilabel"))
    result.connect()
    return result


def silent_cost(fst: pynini.Fst) -> float | None:
    """The lowest cost of a path of ``fst`` that reads no word, when every such path writes
    nothing either (then one such path stands for all of them); else None."""
    silent: dict[int, list[tuple[int, int, float]]] = {}
    for state in fst.states():
        if fst.num_input_epsilons(state):
            silent[state] = [(arc.nextstate, arc.olabel, float(arc.weight)) for arc in fst.arcs(state) if not arc.ilabel]
    best = {fst.start(): 0.0}
    frontier = [(0.0, fst.start())]
    lowest = None
    while frontier:
        cost, state = heapq.heappop(frontier)
        if cost > best[state]:
            continue
        final = float(fst.final(state))
        if final != ZERO_COST and (lowest is None or cost + final < lowest):
            lowest = cost + final
        for target, olabel, weight in silent.get(state, ()):
            if olabel:
                return None
            if cost + weight < best.get(target, ZERO_COST):
                best[target] = cost + weight
                heapq.heappush(frontier, (cost + weight, target))
    return lowest


@dataclass(frozen=True, slots=True)
class ArcTable:
    """An FST as plain tuples, to splice many copies of it into another FST quickly.

    ``joinable``: the FST's start state has no incoming arc and its one final state (final
    cost 0, not the start) no outgoing arc, as a word, a word chain or a word list compiles.
    Such a copy needs no epsilon arc: its start becomes the state it is spliced after and its
    final state the state it ends in, so a counted repeat of it (``a<6000>``) is a plain
    epsilon-free chain, already as small as the optimiser would make it.
    """

    num_states: int
    start: int
    arcs: tuple[tuple[int, int, int, float, int], ...]
    finals: tuple[tuple[int, float], ...]
    joinable: bool = False

    @classmethod
    def of(cls, fst: pynini.Fst) -> ArcTable:
        arcs = []
        finals = []
        for state in fst.states():
            for arc in fst.arcs(state):
                arcs.append((state, arc.ilabel, arc.olabel, float(arc.weight), arc.nextstate))
            final = float(fst.final(state))
            if final != ZERO_COST:
                finals.append((state, final))
        start = fst.start()
        joinable = (len(finals) == 1 and finals[0][1] == 0.0 and finals[0][0] != start
                    and not any(source == finals[0][0] or target == start for source, _, _, _, target in arcs))
        return cls(num_states=fst.num_states(), start=start, arcs=tuple(arcs), finals=tuple(finals),
                   joinable=joinable)

    @property
    def size(self) -> int:
        return self.num_states + 1

    def splice(self, target: pynini.Fst, entry: int, cost: float = 0.0, end: int | None = None) -> int:
        """Copies this FST into ``target`` after state ``entry``; returns the state it ends in:
        ``end`` when given (a loop back to ``entry``), else a new state. ``cost`` is added to
        every path through the copy."""
        if self.joinable:
            return self._join(target, entry, cost, end)
        base = target.num_states()
        target.add_states(self.num_states)
        target.add_arc(entry, Arc(0, 0, cost, base + self.start))
        for state, ilabel, olabel, weight, nextstate in self.arcs:
            target.add_arc(base + state, Arc(ilabel, olabel, weight, base + nextstate))
        if end is None:
            end = target.add_state()
        for state, weight in self.finals:
            target.add_arc(base + state, Arc(0, 0, weight, end))
        return end

    def _join(self, target: pynini.Fst, entry: int, cost: float, end: int | None) -> int:
        """``splice`` without epsilon arcs: the start is ``entry``, the final state ``end``
        and the cost goes on the arcs leaving the start (every path takes exactly one)."""
        final = self.finals[0][0]
        base = target.num_states()
        target.add_states(self.num_states - 2)
        if end is None:
            end = target.add_state()
        states = []
        inner = base
        for state in range(self.num_states):
            if state == self.start:
                states.append(entry)
            elif state == final:
                states.append(end)
            else:
                states.append(inner)
                inner += 1
        start = self.start
        for state, ilabel, olabel, weight, nextstate in self.arcs:
            if state == start:
                weight += cost
            target.add_arc(states[state], Arc(ilabel, olabel, weight, states[nextstate]))
        return end
