"""Text against a compiled grammar: parse trees, and prefix tests for incremental matching.

``parse_words`` finds the n best distinct output event strings of the grammar's transducer for
the input words (SRGS §2: which rule matched which words, and where each tag stands, SISR §6)
and decodes them into ``ParseRule`` trees. Every input word may also be read by $GARBAGE (the
``<any>`` label); a word the grammar does not know can only be read that way.

The best parse (n = 1) comes from a memoised walk of the transducer in Python (``_Walker``):
per state, the input-epsilon closure and the arcs of each word are read once and kept, so a
sentence costs a few dictionary look-ups per word. The walk gives exactly what OpenFst's
``compose`` + ``shortestpath`` give, and says so only when it can prove it: when the best path
is not better than every other path by more than float32 rounding could blur (a tie), when a
weight is negative, or when the search grows past a budget, it gives up and the parse is made
by pynini (compose, shortest path, OpenFst's path iterator), as is every n-best over 1. The
path's cost is summed in float32, arc by arc, as OpenFst sums it.

``is_prefix`` / ``can_continue`` / ``complete`` follow the token acceptor state by state: the
three facts an incremental (DTMF) matcher needs for NO_MATCH / PARTIAL / MATCH / MATCH_END.
"""

from __future__ import annotations

import enum
import heapq
import threading
import weakref
from array import array
from collections.abc import Sequence
from typing import Final, Literal, Protocol, TypeVar

import pynini
import pywrapfst

from srgs.compile import CompiledGrammar
from srgs.compile.symbols import (
    ANY_LABEL,
    GARBAGE_LABEL,
    GARBAGE_WORD,
    RESERVED,
    RULE_END_LABEL,
    RULE_START,
    RULE_STOP,
    TAG,
    TOKEN,
    word_symbol,
)

from .tree import (
    Parse,
    ParseGarbage,
    ParseNode,
    ParseRule,
    ParseTag,
    ParseToken,
    make_garbage,
    make_parse,
    make_rule,
    make_token,
)

_ONE = pywrapfst.Weight.one("tropical")
_INFINITY = float("inf")

# The walk's limits: past them the parse is left to pynini (same result, C++ speed).
WALK_BUDGET = 20_000  # relaxations (candidate path extensions) per parse
SMALL_STATE = 64  # a state with more arcs is read by binary search per label (if arcs are sorted)
MEMO_ENTRIES = 50_000  # entries per memo of a grammar's walk before that memo starts again


def parse_words(compiled: CompiledGrammar, words: Sequence[str], *, nbest: int = 1) -> list[Parse]:
    """The ``nbest`` best distinct parses of normalised ``words``, best (lowest cost) first."""
    if nbest < 1:
        return []
    walker = _walker(compiled)
    if walker.start < 0:
        return []
    if nbest == 1:
        found = walker.best(words)
        if found is not _UNDECIDED:
            return [] if found is None else [walker.decode(found[0], found[1], words)]
    return pynini_parses(compiled, words, nbest=nbest)


def pynini_parses(compiled: CompiledGrammar, words: Sequence[str], *, nbest: int = 1) -> list[Parse]:
    """``parse_words`` by OpenFst alone: compose, shortest path(s), path iterator. The walk of
    ``parse_words`` gives the same as this for n = 1 (the tests compare them)."""
    if nbest < 1 or compiled.transducer.start() < 0:
        return []
    walker = _walker(compiled)
    lattice = pynini.compose(_input_acceptor(walker, words), compiled.transducer)
    if lattice.start() < 0:
        return []
    if nbest == 1:
        best = pynini.shortestpath(lattice)
    else:
        lattice.project("output")
        lattice.rmepsilon()
        best = pynini.shortestpath(lattice, nshortest=nbest, unique=True)
    parses = [walker.decode(labels, cost, words) for labels, cost in _paths(best)]
    parses.sort(key=lambda parse: parse.cost)
    return parses


def walk_best(compiled: CompiledGrammar, words: Sequence[str]) -> Parse | None | _Undecided:
    """The walk alone: the best parse, None for no parse, or ``UNDECIDED`` when the walk cannot
    prove its answer equal to OpenFst's (``parse_words`` then asks pynini)."""
    walker = _walker(compiled)
    found = walker.best(words)
    if found is _UNDECIDED or found is None:
        return found
    return walker.decode(found[0], found[1], words)


def is_prefix(compiled: CompiledGrammar, words: Sequence[str]) -> bool:
    """Whether ``words`` can be continued (or not) into a sentence of the grammar."""
    return bool(_reachable(compiled, words))


def complete(compiled: CompiledGrammar, words: Sequence[str]) -> bool:
    """Whether ``words`` is a whole sentence of the grammar."""
    return any(compiled.final_cost(state) < _INFINITY for state in _reachable(compiled, words))


def can_continue(compiled: CompiledGrammar, words: Sequence[str]) -> bool:
    """Whether at least one more word can follow ``words`` in a sentence of the grammar."""
    return any(compiled.acceptor.num_arcs(state) for state in _reachable(compiled, words))


def _reachable(compiled: CompiledGrammar, words: Sequence[str]) -> set[int]:
    start = compiled.start()
    states = {start} if start >= 0 else set()
    for word in words:
        states = {target for state in states for target, _ in compiled.advance(state, word)}
        if not states:
            break
    return states


# --- the memoised walk ----------------------------------------------------------------------


class _Undecided(enum.Enum):
    """The walk's "no proven answer" (an enum member: ``is _UNDECIDED`` narrows for mypy)."""

    UNDECIDED = enum.auto()

    def __repr__(self) -> str:
        return "UNDECIDED"


_UNDECIDED: Final = _Undecided.UNDECIDED
UNDECIDED: Final = _UNDECIDED


class _GiveUp(Exception):
    """The walk cannot prove its answer (tie, negative weight, budget): pynini decides."""


_walkers: weakref.WeakKeyDictionary[CompiledGrammar, _Walker] = weakref.WeakKeyDictionary()
_walkers_lock = threading.Lock()


def _walker(compiled: CompiledGrammar) -> _Walker:
    walker = _walkers.get(compiled)
    if walker is None:
        with _walkers_lock:
            walker = _walkers.get(compiled)
            if walker is None:
                walker = _walkers[compiled] = _Walker(compiled)
    return walker


# What the walk keeps (see ``_Walker``):
_Arc = tuple[int, float, int]  # an arc of the transducer: (output label, weight, next state)
_Arcs = tuple[_Arc, ...]
_SmallState = tuple[_Arcs, dict[int, _Arcs]]  # a state's (input-epsilon arcs, {input label: arcs})
# A path step: (next state, cost, output labels, non-zero arc weights, ambiguous); a state's steps.
_Step = tuple[int, float, tuple[int, ...], tuple[float, ...], bool]
_Steps = tuple[_Step, ...]
# The best path found to a state, or to the end from a state: (cost, output labels, weights,
# ambiguous).
_Path = tuple[float, tuple[int, ...], tuple[float, ...], bool]
# The way back along the best path to a state: (the way back before it, outputs, weights).
_Back = tuple["_Back", tuple[int, ...], tuple[float, ...]] | None
_Reached = tuple[float, _Back, bool]  # a state of the search: (cost, way back, ambiguous)
# What ``decode`` does for an output label (``_Walker._action``): by its first item,
# ``_TOKEN`` (text, number of words, the token's node), ``_TAG`` (the node), ``_START`` (the
# rule's entry of ``CompiledGrammar.rules``), ``_STOP``, ``_GARBAGE``.
_TOKEN: Final = 0
_TAG: Final = 1
_START: Final = 2
_STOP: Final = 3
_GARBAGE: Final = 4
_Action = (tuple[Literal[0], str, int, ParseToken] | tuple[Literal[1], ParseTag]
           | tuple[Literal[2], tuple[str, str, str]] | tuple[Literal[3]] | tuple[Literal[4]])
_Key = TypeVar("_Key")
_Value = TypeVar("_Value")


def _path_cost(weights: Sequence[float]) -> float:
    """A path's cost as pynini reports it: the left-to-right sum rounded to float32 after every
    addition, as OpenFst's tropical weights (float) add along a path, then read back from its
    text form (``float(Weight)`` parses OpenFst's 9 significant digits). A float64 addition of
    two float32 values rounded to float32 is the float32 addition (53 >= 2 * 24 + 2 bits: no
    double-rounding error)."""
    acc = array("f", (0.0,))
    for weight in weights:
        acc[0] += weight
    return float(format(acc[0], ".9g"))


class _Walker:
    """The transducer of one compiled grammar, read lazily and kept (thread-safe: entries are
    immutable, two threads may compute the same entry, with the same value; a memo that reaches
    ``MEMO_ENTRIES`` entries is emptied and fills again).

    A path step is ``(next state, cost, output labels, weights, ambiguous)``: ``weights`` the
    non-zero arc weights in path order (for the float32 sum), ``ambiguous`` whether another path
    reached the same state at a cost within rounding of this one.
    """

    def __init__(self, compiled: CompiledGrammar):
        self.fst = compiled.transducer
        self.symbols = compiled.symbol_list
        self.rules = compiled.rules
        self.tokens = compiled.tokens
        self.tags = compiled.tags
        self.sorted = self.fst.properties(pywrapfst.I_LABEL_SORTED, True) == pywrapfst.I_LABEL_SORTED
        self.start = self.fst.start()
        self._index: dict[str, int] | None = None
        self._index_lock = threading.Lock()
        self._events: dict[int, tuple[str, int]] = {}
        self._actions: dict[int, _Action] = {}  # output label -> what decode does
        self._arcs: dict[int, _SmallState | _BigState] = {}  # state -> (eps arcs, {label: arcs}) or a _BigState
        self._closures: dict[int, _Steps] = {}
        self._steps: dict[int, dict[int, _Steps]] = {}  # label -> state -> step
        self._step_count = 0
        self._finals: dict[int, _Path | None] = {}

    # --- labels -------------------------------------------------------------------------

    def label(self, word: str) -> int | None:
        """The input label of a normalised word (None: unknown to the grammar). The table is made
        on first use from the symbol list in one C-level pass (the grammar's full decoded tables,
        ``CompiledGrammar.word_labels`` / ``events``, cost far more on a large list)."""
        index = self._index
        if index is None:
            index = self._make_index()
        label = index.get(word_symbol(word) if word[:1] in ("<", "\\") else word)
        if label is None or label < len(RESERVED):
            return None
        return label

    def _make_index(self) -> dict[str, int]:
        with self._index_lock:
            if self._index is None:
                # word symbols only: events and reserved symbols are "<...>" (words that look
                # like that are escaped), holes in the table are ""
                self._index = {symbol: label for label, symbol in enumerate(self.symbols)
                               if symbol and symbol[0] != "<"}
            return self._index

    def event(self, label: int) -> tuple[str, int]:
        """``(kind, table index)`` of an output label."""
        event = self._events.get(label)
        if event is None:
            if label == GARBAGE_LABEL:
                event = (GARBAGE_WORD, 0)
            elif label == RULE_END_LABEL:
                event = (RULE_STOP, 0)
            else:
                symbol = self.symbols[label]
                kind, _, index = symbol[1:-1].partition(":")
                if not (symbol.startswith("<") and symbol.endswith(">")) or not index.isdigit():
                    raise ValueError(f"output label {label} ({symbol!r}) is not a parse event")
                event = (kind, int(index))
            self._remember(self._events, label, event)
        return event

    # --- arcs -----------------------------------------------------------------------------

    def _state(self, state: int) -> _SmallState | _BigState:
        found = self._arcs.get(state)
        if found is None:
            fst = self.fst
            count = fst.num_arcs(state)
            if count > SMALL_STATE and self.sorted:
                found = _BigState(fst, state, count)
            else:
                if count > 16 * SMALL_STATE:
                    raise _GiveUp  # a large unsorted state: reading it costs more than pynini
                eps: list[_Arc] = []
                by_label: dict[int, list[_Arc]] = {}
                for arc in fst.arcs(state):
                    weight = _weight(arc.weight)
                    entry = (arc.olabel, weight, arc.nextstate)
                    if arc.ilabel == 0:
                        eps.append(entry)
                    else:
                        by_label.setdefault(arc.ilabel, []).append(entry)
                found = (tuple(eps), {label: tuple(arcs) for label, arcs in by_label.items()})
            self._remember(self._arcs, state, found)
        return found

    def _eps_arcs(self, state: int) -> _Arcs:
        found = self._state(state)
        return found.arcs(0) if isinstance(found, _BigState) else found[0]

    def _label_arcs(self, state: int, label: int) -> _Arcs:
        found = self._state(state)
        if isinstance(found, _BigState):
            return found.arcs(label)
        return found[1].get(label, ())

    def _final(self, state: int) -> float:
        return _weight(self.fst.final(state))

    # --- memoised pieces of paths ---------------------------------------------------------

    def closure(self, state: int) -> _Steps:
        """The best input-epsilon path from ``state`` to each state it reaches:
        ``((target, cost, outputs, weights, ambiguous), ...)`` (Dijkstra: weights are >= 0)."""
        found = self._closures.get(state)
        if found is not None:
            return found
        best: dict[int, _Path] = {state: (0.0, (), (), False)}
        heap = [(0.0, 0, state)]
        done: set[int] = set()
        late_tie = False
        order = 0
        while heap:
            _, _, current = heapq.heappop(heap)
            if current in done:
                continue
            done.add(current)
            cost, outs, weights, ambiguous = best[current]
            for olabel, weight, target in self._eps_arcs(current):
                if weight < 0:
                    raise _GiveUp
                new = cost + weight
                known = best.get(target)
                if known is None:
                    best[target] = (new, outs + (olabel,) if olabel else outs,
                                    weights + (weight,) if weight else weights, ambiguous)
                elif target in done:
                    if new - known[0] <= _tolerance(known[0]):
                        late_tie = True  # an equal path to a settled state: trust nothing here
                    continue
                elif new < known[0] - _tolerance(new):
                    best[target] = (new, outs + (olabel,) if olabel else outs,
                                    weights + (weight,) if weight else weights, ambiguous)
                elif abs(new - known[0]) <= _tolerance(new):
                    if new < known[0]:
                        best[target] = (new, outs + (olabel,) if olabel else outs,
                                        weights + (weight,) if weight else weights, True)
                    else:
                        best[target] = (known[0], known[1], known[2], True)
                    continue
                else:
                    continue
                order += 1
                heapq.heappush(heap, (new, order, target))
        found = tuple((target, cost, outs, weights, ambiguous or late_tie)
                      for target, (cost, outs, weights, ambiguous) in best.items())
        self._remember(self._closures, state, found)
        return found

    def step(self, state: int, label: int) -> _Steps:
        """Every state reached from ``state`` by input-epsilon arcs and then one arc reading
        ``label``, with the best such path: ``((next, cost, outputs, weights, ambiguous), ...)``."""
        by_state = self._steps.get(label)
        if by_state is None:
            by_state = self._steps.setdefault(label, {})
        found = by_state.get(state)
        if found is not None:
            return found
        best: dict[int, _Path] = {}  # as in closure
        for middle, cost, outs, weights, ambiguous in self.closure(state):
            for olabel, weight, target in self._label_arcs(middle, label):
                if weight < 0:
                    raise _GiveUp
                new = cost + weight
                known = best.get(target)
                if known is None or new < known[0] - _tolerance(new):
                    best[target] = (new, outs + (olabel,) if olabel else outs,
                                    weights + (weight,) if weight else weights, ambiguous)
                elif abs(new - known[0]) <= _tolerance(new):
                    if new < known[0]:
                        best[target] = (new, outs + (olabel,) if olabel else outs,
                                        weights + (weight,) if weight else weights, True)
                    else:
                        best[target] = (known[0], known[1], known[2], True)
        found = tuple((target, cost, outs, weights, ambiguous)
                      for target, (cost, outs, weights, ambiguous) in best.items())
        self._step_count += 1
        if self._step_count > MEMO_ENTRIES:
            self._steps.clear()  # a long-running process over a huge grammar: memory stays bounded
            self._step_count = 0
            by_state = self._steps.setdefault(label, {})
        by_state[state] = found
        return found

    def final(self, state: int) -> _Path | None:
        """The best way to end from ``state``: ``(cost, outputs, weights, ambiguous)`` (input
        epsilons, then a final weight), None when no final state is reached."""
        found = self._finals.get(state, _UNDECIDED)
        if found is not _UNDECIDED:
            return found
        chosen: _Path | None = None
        for target, cost, outs, weights, ambiguous in self.closure(state):
            final = self._final(target)
            if final == _INFINITY:
                continue
            if final < 0:
                raise _GiveUp
            new = cost + final
            if chosen is None or new < chosen[0] - _tolerance(new):
                chosen = (new, outs, weights + (final,) if final else weights, ambiguous)
            elif abs(new - chosen[0]) <= _tolerance(new):
                if new < chosen[0]:
                    chosen = (new, outs, weights + (final,) if final else weights, True)
                else:
                    chosen = (chosen[0], chosen[1], chosen[2], True)
        self._remember(self._finals, state, chosen)
        return chosen

    def _remember(self, memo: dict[_Key, _Value], key: _Key, value: _Value) -> None:
        if len(memo) >= MEMO_ENTRIES:
            memo.clear()  # a long-running process over a huge grammar: keep memory bounded
        memo[key] = value

    # --- the search -----------------------------------------------------------------------

    def best(self, words: Sequence[str]) -> tuple[list[int], float] | None | _Undecided:
        """``(output labels, float32 cost)`` of the best path, None when there is none, or
        ``_UNDECIDED`` (see ``_GiveUp``)."""
        try:
            return self._best(words)
        except _GiveUp:
            return _UNDECIDED

    def _best(self, words: Sequence[str]) -> tuple[list[int], float] | None:
        # state -> (cost, back, ambiguous); back = (previous back, outputs, weights)
        frontier: dict[int, _Reached] = {self.start: (0.0, None, False)}
        budget = WALK_BUDGET
        memo = self._steps
        index = self._index
        if index is None:
            index = self._make_index()
        for word in words:
            if word[:1] in ("<", "\\"):
                label = self.label(word)
            else:
                label = index.get(word)
                if label is not None and label < len(RESERVED):
                    label = None
            if len(frontier) == 1:  # the usual case: one state, one way on (known steps only)
                [(state, (cost, back, ambiguous))] = frontier.items()
                known_steps = memo.get(label, _NO_STEPS).get(state) if label is not None else ()
                any_steps = memo.get(ANY_LABEL, _NO_STEPS).get(state)
                if known_steps is not None and any_steps is not None and len(known_steps) + len(any_steps) == 1:
                    target, step_cost, outs, weights, step_ambiguous = (known_steps or any_steps)[0]
                    frontier = {target: (cost + step_cost, (back, outs, weights), ambiguous or step_ambiguous)}
                    budget -= 1
                    if budget < 0:
                        raise _GiveUp
                    continue
            reached: dict[int, _Reached] = {}
            for read in ((label, ANY_LABEL) if label is not None else (ANY_LABEL,)):
                by_state = memo.get(read)
                if by_state is None:
                    by_state = memo.setdefault(read, {})
                for state, (cost, back, ambiguous) in frontier.items():
                    steps = by_state.get(state)
                    if steps is None:
                        steps = self.step(state, read)
                        by_state = memo.get(read) or by_state
                    if not steps:
                        continue
                    budget -= len(steps)
                    for target, step_cost, outs, weights, step_ambiguous in steps:
                        new = cost + step_cost
                        known = reached.get(target)
                        if known is None:
                            reached[target] = (new, (back, outs, weights), ambiguous or step_ambiguous)
                            continue
                        gap = known[0] - new
                        tolerance = 1e-4 + 1e-5 * new  # _tolerance(new), inline: costs are >= 0
                        if gap > tolerance:
                            reached[target] = (new, (back, outs, weights), ambiguous or step_ambiguous)
                        elif gap > 0:
                            reached[target] = (new, (back, outs, weights), True)
                        elif gap >= -tolerance:
                            reached[target] = (known[0], known[1], True)
            if budget < 0:
                raise _GiveUp
            if not reached:
                return None
            frontier = reached
        chosen: _Reached | None = None
        for state, (cost, back, ambiguous) in frontier.items():
            end = self.final(state)
            if end is None:
                continue
            new = cost + end[0]
            if chosen is None or new < chosen[0] - _tolerance(new):
                chosen = (new, (back, end[1], end[2]), ambiguous or end[3])
            elif abs(new - chosen[0]) <= _tolerance(new):
                if new < chosen[0]:
                    chosen = (new, (back, end[1], end[2]), True)
                else:
                    chosen = (chosen[0], chosen[1], True)
        if chosen is None:
            return None
        if chosen[2]:
            raise _GiveUp
        pieces: list[tuple[tuple[int, ...], tuple[float, ...]]] = []
        back = chosen[1]
        while back is not None:
            back, outs, weights = back
            pieces.append((outs, weights))
        pieces.reverse()
        labels = [label for outs, _ in pieces for label in outs]
        cost = _path_cost([weight for _, weights in pieces for weight in weights])
        return labels, cost

    # --- labels to a tree -----------------------------------------------------------------

    def decode(self, labels: Sequence[int], cost: float, words: Sequence[str]) -> Parse:
        """Output events to a tree; each token takes its words from the input, in order."""
        actions = self._actions
        words = tuple(words)
        stack: list[tuple[tuple[str, str, str], list[ParseNode]]] = []
        root: ParseRule | None = None
        position = 0
        garbage = 0
        children: list[ParseNode] = []
        for label in labels:
            action = actions.get(label) or self._action(label)
            # told apart by action[0] itself (not a local copy of it), which narrows the tuple
            if action[0] == _TOKEN:
                end = position + action[2]
                node = action[3]
                taken = words[position:end]
                # the token's own node when the words are its words (they always are: a token
                # is read by its words' labels), shared: nodes are immutable
                children.append(node if node.words == taken else make_token(action[1], taken))
                position = end
            elif action[0] == _TAG:
                children.append(action[1])
            elif action[0] == _START:
                children = []
                stack.append((action[1], children))
            elif action[0] == _STOP:
                (grammar, name, rule_label), done = stack.pop()
                rule = make_rule(name, rule_label, grammar, tuple(done))
                if stack:
                    children = stack[-1][1]
                    children.append(rule)
                else:
                    root = rule
            else:  # garbage
                if children and type(last := children[-1]) is ParseGarbage:
                    children[-1] = make_garbage(last.words + (words[position],))
                else:
                    children.append(make_garbage((words[position],)))
                position += 1
                garbage += 1
        assert root is not None and not stack, "a path of the transducer always closes its rules"
        return make_parse(root, cost, garbage)

    def _action(self, label: int) -> _Action:
        """What ``decode`` does for an output label, made once per label."""
        action: _Action
        kind, index = self.event(label)
        if kind == TOKEN:
            text, token_words = self.tokens[index]
            action = (_TOKEN, text, len(token_words), make_token(text, tuple(token_words)))
        elif kind == TAG:
            action = (_TAG, ParseTag(self.tags[index][0]))
        elif kind == RULE_START:
            action = (_START, self.rules[index])
        elif kind == RULE_STOP:
            action = (_STOP,)
        elif kind == GARBAGE_WORD:
            action = (_GARBAGE,)
        else:
            raise ValueError(f"output label {label} is not a parse event")
        self._remember(self._actions, label, action)
        return action


_NO_STEPS: dict[int, _Steps] = {}


def _weight(weight: pywrapfst.Weight) -> float:
    """A tropical weight's exact float32 value (``float(weight)`` parses its 9-digit text, which
    is that value only once rounded to float32 again)."""
    return array("f", (float(weight),))[0]


def _tolerance(cost: float) -> float:
    """How far apart two path costs must be for float32 sums (OpenFst's) to order them as
    float64 sums do: generous against the rounding of hundreds of additions."""
    return 1e-4 + 1e-5 * abs(cost)


class _ArcCursor(Protocol):
    """What ``_BigState`` uses of an arc iterator (``Fst.arcs``)."""

    def seek(self, a: int) -> None: ...

    def value(self) -> pywrapfst.Arc: ...


class _BigState:
    """A state with many arcs, sorted by input label: each label's arcs found by binary search
    (``ArcIterator.seek``) when first asked for, never the whole list."""

    __slots__ = ("fst", "state", "count", "by_label")

    def __init__(self, fst: pynini.Fst, state: int, count: int):
        self.fst, self.state, self.count = fst, state, count
        self.by_label: dict[int, _Arcs] = {}

    def arcs(self, label: int) -> _Arcs:
        found = self.by_label.get(label)
        if found is not None:
            return found
        iterator = self.fst.arcs(self.state)
        low = self._lower_bound(iterator, label)
        out: list[_Arc] = []
        position = low
        while position < self.count:
            iterator.seek(position)
            arc = iterator.value()
            if arc.ilabel != label:
                break
            out.append((arc.olabel, _weight(arc.weight), arc.nextstate))
            position += 1
        found = tuple(out)
        if len(self.by_label) >= MEMO_ENTRIES:
            self.by_label.clear()
        self.by_label[label] = found
        return found

    def _lower_bound(self, iterator: _ArcCursor, label: int) -> int:
        low, high = 0, self.count
        while low < high:
            middle = (low + high) // 2
            iterator.seek(middle)
            if iterator.value().ilabel < label:
                low = middle + 1
            else:
                high = middle
        return low


# --- pynini -----------------------------------------------------------------------------------


def _input_acceptor(walker: _Walker, words: Sequence[str]) -> pynini.Fst:
    """A chain reading each word (when known) or ``<any>``, arcs sorted by label."""
    fst = pynini.Fst()
    fst.add_states(len(words) + 1)
    fst.set_start(0)
    for position, word in enumerate(words):
        fst.add_arc(position, pywrapfst.Arc(ANY_LABEL, ANY_LABEL, _ONE, position + 1))
        label = walker.label(word)
        if label is not None:
            fst.add_arc(position, pywrapfst.Arc(label, label, _ONE, position + 1))
    fst.set_final(len(words))
    return fst


def _paths(fst: pynini.Fst) -> list[tuple[list[int], float]]:
    """The output labels (epsilons dropped) and cost of every path of an acyclic FST.

    OpenFst's path iterator walks the paths in C++: reading a shortest-path result arc by arc
    in Python cost more than the composition and the search together.
    """
    if fst.start() < 0:
        return []
    out: list[tuple[list[int], float]] = []
    paths = fst.paths()
    while not paths.done():
        out.append(([label for label in paths.olabels() if label], float(paths.weight())))
        paths.next()
    return out
