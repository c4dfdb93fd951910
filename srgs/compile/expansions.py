"""Expansions to transducers: one function per node type (SRGS §2.1-§2.6).

A compiled expansion reads words on its input side and writes the parse events on its output
side (see ``symbols``): a token with words w1..wk is ``w1:<tok:i> w2:ε ... wk:ε``, a tag is
``ε:<tag:k>``, a rule reference is ``ε:<rule:j> body ε:</rule>``.

Rule bodies are shared, not copied while they are built: each rule body is compiled once per
recursion depth, with every reference in it one arc ``ε:N`` whose output ``N`` is a nonterminal
label standing for (rule, depth, rule event), and then optimised once (epsilon removal,
determinisation and minimisation of its encoded labels) when that is provably cheap (the
``optimize`` budget). A body is so as small as its own expansions, not as its references'. The
whole grammar is expanded once at the end by OpenFst's Replace (``pynini.replace``), in C++: the
call arc of a reference reads nothing and writes ``<rule:j>``, each final state of the body
returns with ``ε:</rule>``. Its size is counted from the bodies' sizes before anything is
expanded, so a grammar over ``max_states`` is refused without building it.

Tail calls are shared: Replace makes one copy of a body per call stack, exponentially many for a
chain of rules each ending with a reference to the next (a counting grammar). A reference after
which its caller only writes a fixed continuation (tags, ``</rule>``) and ends is copied into the
caller's own group, keyed by the continuations pending (not the stack), when that makes the
expansion at least ``TAIL_GAIN`` times smaller or brings it within ``max_states``.

Recursion (SRGS §5.4) is bounded: a reference from a rule to a rule of its own recursion cycle
goes one level deeper; past ``recursion_depth`` levels it becomes $VOID.
Repeats (§2.5) never make a loop that reads no word: iterations beyond the minimum use only
the body's paths that read at least one word, and a body that reads nothing at all counts once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, overload

import pynini
import pywrapfst

from ..bundle import GrammarBundle
from ..errors import CompileError
from ..model import Expansion, OneOf, Repeat, RuleRef, Sequence, SourceSpan, SpecialRef, Tag, Token
from ..passes.recursion import RuleGraph, RuleKey, expansion_nullable
from ..text import splits_characters, token_words
from . import fsts
from .optimize import determinization_is_cheap, encoded, epsilon_removal_is_cheap, minimal, remove_epsilons
from .options import CompileOptions
from .symbols import ANY_LABEL, GARBAGE_LABEL, RULE_END_LABEL, SymbolBuilder
from .weights import alternative_costs, repeat_costs

# Nonterminal labels (one per rule, depth and rule event referred to) stand above every symbol
# label (OpenFst labels are 32-bit); the label of the whole grammar's root just below them.
NONTERMINAL_BASE = 1 << 30
ROOT_LABEL = NONTERMINAL_BASE - 1

BodyKey = tuple[RuleKey, int]
# Tail calls are shared (``GrammarCompiler._tail_shared``) in an expansion that Replace would
# make over TAIL_SHARING_FROM states, when sharing makes it at least TAIL_GAIN times smaller.
TAIL_SHARING_FROM = 20_000
TAIL_GAIN = 2
# A tail call of a body: (state, arc position) -> (nonterminal, the output labels of the path from
# its return state to a final state that has no arcs, that path's weight with its final weight).
Tails = dict[tuple[int, int], tuple[int, tuple[int, ...], pywrapfst.Weight]]
# A copy of a body in a tail-shared group: (body, the continuations pending below it, as an id
# of ``Pendings``).
Copy = tuple[BodyKey | None, int]
TAIL_CONTINUATION = 4  # the longest continuation (arcs after a call) that still makes it a tail call
# An entry of one of the event tables (``GrammarCompiler.tokens``, ``rules``, ``tags``).
_Entry = TypeVar("_Entry", bound=tuple[object, ...])


class Pendings:
    """Stacks of pending continuations (each the output labels a tail call's caller writes
    after it), interned: id 0 is the empty stack, any other id stands for (the stack below its
    innermost continuation, that continuation, its depth). Pushing and putting a continuation
    under a stack cost one lookup each, however deep the stack."""

    def __init__(self) -> None:
        self.nodes: list[tuple[int, tuple[int, ...], int]] = [(-1, (), 0)]
        self._ids: dict[tuple[int, tuple[int, ...]], int] = {}
        self._under: dict[tuple[tuple[int, ...], int], int] = {}

    def push(self, pending: int, outputs: tuple[int, ...]) -> int:
        """``pending`` with ``outputs`` as its new innermost continuation."""
        found = self._ids.get((pending, outputs))
        if found is None:
            found = self._ids[(pending, outputs)] = len(self.nodes)
            self.nodes.append((pending, outputs, self.nodes[pending][2] + 1))
        return found

    def under(self, outputs: tuple[int, ...], pending: int) -> int:
        """``pending`` with ``outputs`` as its new outermost continuation."""
        chain = []
        below = pending
        while below and (outputs, below) not in self._under:
            chain.append(below)
            below = self.nodes[below][0]
        result = self._under[(outputs, below)] if below else self.push(0, outputs)
        for node in reversed(chain):
            result = self._under[(outputs, node)] = self.push(result, self.nodes[node][1])
        return result


class GrammarCompiler:
    """Compiles the rules of one bundle into transducers sharing one symbol table and tables.

    ``tokens``: ``(text as written, normalised words)``; ``rules``: ``(grammar key, rule name,
    label)``; ``tags``: ``(text, grammar key)``. Event ``<tok:i>`` refers to ``tokens[i]``, etc.
    """

    def __init__(self, bundle: GrammarBundle, graph: RuleGraph, options: CompileOptions):
        self.bundle = bundle
        self.graph = graph
        self.options = options
        self.symbols = SymbolBuilder.new()
        self.tokens: list[tuple[str, tuple[str, ...]]] = []
        self.rules: list[tuple[str, str, str]] = []
        self.tags: list[tuple[str, str]] = []
        self._event_labels: dict[int, dict[tuple[object, ...], int]] = {
            id(self.rules): {}, id(self.tokens): {}, id(self.tags): {}}
        self._bodies: dict[BodyKey, pynini.Fst] = {}
        # Nonterminal label -> (body, rule event label) and back; what each body calls, and
        # how many states its full expansion has (counted, never built).
        self._calls: list[tuple[BodyKey, int]] = []
        self._nonterminals: dict[tuple[BodyKey, int], int] = {}
        self._called: dict[BodyKey, dict[int, int]] = {}
        self._sizes: dict[BodyKey, int] = {}
        self._shared: set[BodyKey] = set()
        # Tail sharing (see ``_tail_shared``): each body's tail calls, the copies its group
        # makes (None: more than max_states) and the states of its tail-shared expansion.
        self._tails: dict[BodyKey, Tails] = {}
        self._reach: dict[BodyKey, frozenset[Copy] | None] = {}
        self._tail_sizes: dict[BodyKey, int | None] = {}
        self._other_calls: dict[BodyKey, dict[int, int]] = {}
        self._pendings = Pendings()
        self._references = 0
        # Whether any token was split into CJK characters (its language is written without
        # spaces): the input text must then be split the same way.
        self.character_words = False

    # --- rules ---------------------------------------------------------------------------

    def compile_rules(self) -> None:
        """Compiles every reachable rule body, each after the rules it references."""
        bound = self.options.recursion_depth
        for members in self.graph.components:
            if members[0] in self.graph.component:
                for depth in range(bound, -1, -1):
                    for key in members:
                        self._body(key, depth)
            else:
                self._body(members[0], 0)

    def active(self, names: tuple[str, ...]) -> pynini.Fst:
        """The union of the active rules of the main grammar, each inside its rule events,
        expanded (every reference replaced by its rule's body)."""
        main = self.bundle.main
        pieces = []
        for name in names:
            key = (main, name)
            if fsts.is_void(self._body(key, 0)):
                continue
            label = self._event(self.rules, self.symbols.rule, (main, name, f"${name}"))
            pieces.append(fsts.labels_path([(0, self._nonterminal((key, 0), label))]))
        root = self._union(pieces)
        if fsts.is_void(root):
            return root
        rules = [rule for rule in self.bundle.main_grammar.rules if rule.name in names]
        span = rules[0].span if rules else self.bundle.main_grammar.span
        return self._expand(root, span, "the active rules")

    def _body(self, key: RuleKey, depth: int) -> pynini.Fst:
        body = self._bodies.get((key, depth))
        if body is None:
            rule = self.graph.rules[key]
            before = self._references
            body = self._compile(rule.expansion, key, depth)
            self._bodies[(key, depth)] = body
            self._called[(key, depth)] = self._calls_in(body) if self._references != before else {}
            if self._called[(key, depth)]:
                self._share((key, depth))  # it refers to others: made small before it is counted
            self._check_expanded_size((key, depth), rule.span, f"rule ${key[1]}")
            body = self._bodies[(key, depth)]
        return body

    def _share(self, body_key: BodyKey) -> None:
        """A body optimised once, when that is provably cheap (the ``optimize`` budget), so that
        every copy the expansion makes of it is as small as it can be, and the calls in it
        return to as few states as they can: a body that refers to others as soon as it is
        compiled, one that does not when it is first referred to. A body without references
        that only the root refers to (a word list) is left to the grammar's own optimisation."""
        if body_key in self._shared or not (self.options.optimize or self._called[body_key]):
            return  # (without ``optimize``, only bodies with references: their expansion's size)
        self._shared.add(body_key)
        body = self._bodies[body_key]
        if fsts.is_void(body) or not epsilon_removal_is_cheap(body, acceptor=False):
            return
        remove_epsilons(body)
        coded, encoder = encoded(body.copy())
        if determinization_is_cheap(coded, self.options.optimize_in_process_states):
            body = minimal(coded, encoder)
        self._bodies[body_key] = body
        self._called[body_key] = self._calls_in(body) if self._called[body_key] else {}
        self._sizes.pop(body_key, None)
        self._tails.pop(body_key, None)
        self._reach.pop(body_key, None)
        self._tail_sizes.pop(body_key, None)
        self._other_calls.pop(body_key, None)

    def _nonterminal(self, body_key: BodyKey, label: int) -> int:
        """The nonterminal label of a reference to ``body_key`` that writes rule event ``label``."""
        nonterminal = self._nonterminals.get((body_key, label))
        if nonterminal is None:
            nonterminal = self._nonterminals[(body_key, label)] = NONTERMINAL_BASE + len(self._calls)
            self._calls.append((body_key, label))
        return nonterminal

    def _calls_in(self, fst: pynini.Fst) -> dict[int, int]:
        """For each nonterminal label on an arc of ``fst``, how many copies of its body the
        expansion makes: Replace makes one per state a call to it returns to."""
        returns: dict[int, set[int]] = {}
        for state in fst.states():
            for arc in fst.arcs(state):
                if arc.olabel >= NONTERMINAL_BASE:
                    returns.setdefault(arc.olabel, set()).add(arc.nextstate)
        return {nonterminal: len(states) for nonterminal, states in returns.items()}

    def _expanded_size(self, body_key: BodyKey) -> int:
        """The states of a body with every reference in it expanded (at most: Replace shares
        the copies of calls that return to the same state)."""
        size = self._sizes.get(body_key)
        if size is None:
            size = self._bodies[body_key].num_states()
            for nonterminal, count in self._called[body_key].items():
                size += count * self._expanded_size(self._calls[nonterminal - NONTERMINAL_BASE][0])
            self._sizes[body_key] = size
        return size

    def _check_expanded_size(self, body_key: BodyKey, span: SourceSpan, what: str) -> None:
        size = self._expanded_size(body_key)
        if size > self.options.max_states:
            tail_size = self._tail_size(body_key)
            if tail_size is None or tail_size > self.options.max_states:
                raise CompileError(f"{what} needs {size if tail_size is None else tail_size} states, over the "
                                   f"limit of {self.options.max_states} (CompileOptions.max_states)", span)

    def _expand(self, fst: pynini.Fst, span: SourceSpan, what: str) -> pynini.Fst:
        """``fst`` with every reference replaced by the body it refers to, recursively: one
        OpenFst Replace. Its size is counted first (``max_states``); when sharing the tail calls
        (``_tail_shared``) makes it at least ``TAIL_GAIN`` times smaller, or is what brings it
        within ``max_states``, they are shared."""
        calls = self._calls_in(fst)
        if not calls:
            return fst
        size = fst.num_states() + sum(count * self._expanded_size(self._calls[nonterminal - NONTERMINAL_BASE][0])
                                      for nonterminal, count in calls.items())
        tail_size = None
        if size > min(TAIL_SHARING_FROM, self.options.max_states):
            tails = self._tail_calls(fst)
            reach = self._copies(None, tails)
            tail_size = None if reach is None else self._group_size(reach, fst, fst_calls(fst, tails))
        if tail_size is not None and (tail_size * TAIL_GAIN <= size or size > self.options.max_states):
            size = tail_size
        else:
            tail_size = None
        if size > self.options.max_states:
            raise CompileError(f"expanding {what} needs {size} states, over the limit of "
                               f"{self.options.max_states} (CompileOptions.max_states)", span)
        if tail_size is not None:
            return self._tail_shared(fst)
        needed: set[int] = set()
        pending = list(calls)
        while pending:
            nonterminal = pending.pop()
            if nonterminal not in needed:
                needed.add(nonterminal)
                pending.extend(self._called[self._calls[nonterminal - NONTERMINAL_BASE][0]])
        pairs = [(ROOT_LABEL, fst)]
        relabel = []
        for nonterminal in sorted(needed):
            body_key, label = self._calls[nonterminal - NONTERMINAL_BASE]
            pairs.append((nonterminal, self._bodies[body_key]))
            relabel.append((nonterminal, label))
        result = pynini.replace(pairs, call_arc_labeling="output", return_arc_labeling="output",
                                return_label=RULE_END_LABEL)
        result.relabel_pairs(opairs=relabel)
        return result

    # --- tail sharing ----------------------------------------------------------------------
    #
    # Replace makes one copy of a body per call stack that reaches it, so a chain of rules each
    # ending with a reference to the next one (``$left4 = $item $left3 | $pair $left2``: a
    # counting grammar) expands to one copy per path through the chain: exponentially many. A
    # call whose return state only leads, reading nothing, to a final state with no arcs (a
    # tail call) needs nothing of its caller's frame but what that path writes, the caller's
    # ``</rule>`` after it: so the callee is copied into its caller's group keyed by the
    # continuations pending below it (the same for every path of a counting grammar: as many
    # as there are paths' lengths), and only the other calls go through Replace.

    def _tail_calls(self, fst: pynini.Fst) -> Tails:
        """The tail calls of ``fst`` with their continuations (see ``Tails``)."""
        tails: Tails = {}
        zero = pywrapfst.Weight.zero("tropical")
        for state in fst.states():
            for position, arc in enumerate(fst.arcs(state)):
                if arc.olabel < NONTERMINAL_BASE or arc.ilabel != 0:
                    continue
                outputs: list[int] = []
                weight = pywrapfst.Weight.one("tropical")
                current = arc.nextstate
                for _ in range(TAIL_CONTINUATION + 1):
                    final = fst.final(current)
                    arcs = fst.num_arcs(current)
                    if final != zero and arcs == 0:
                        tails[(state, position)] = (arc.olabel, tuple(outputs), pywrapfst.times(weight, final))
                        break
                    if final != zero or arcs != 1:
                        break
                    (step,) = fst.arcs(current)
                    if step.ilabel != 0 or step.olabel >= NONTERMINAL_BASE:
                        break
                    if step.olabel:
                        outputs.append(step.olabel)
                    weight = pywrapfst.times(weight, step.weight)
                    current = step.nextstate
        return tails

    def _body_tails(self, body_key: BodyKey) -> Tails:
        tails = self._tails.get(body_key)
        if tails is None:  # (a body without references has no call to scan for)
            tails = self._tails[body_key] = self._tail_calls(self._bodies[body_key]) if self._called[body_key] else {}
        return tails

    def _copies(self, body_key: BodyKey | None, tails: Tails) -> frozenset[Copy] | None:
        """The copies the tail-shared group of a body makes (``body_key`` None: of the fst whose
        ``tails`` are given), None when they are more than ``max_states``."""
        found: set[Copy] = {(body_key, 0)}
        under = self._pendings.under
        for nonterminal, outputs in {(nonterminal, outputs) for nonterminal, outputs, _ in tails.values()}:
            callee = self._calls[nonterminal - NONTERMINAL_BASE][0]
            below = self._body_copies(callee)
            if below is None:
                return None
            found.update((key, under(outputs, pending)) for key, pending in below)
            if len(found) > self.options.max_states:
                return None
        return frozenset(found)

    def _body_copies(self, body_key: BodyKey) -> frozenset[Copy] | None:
        if body_key not in self._reach:
            self._prepare_tails(body_key)
        return self._reach[body_key]

    def _group_size(self, copies: frozenset[Copy], top: pynini.Fst | None = None,
                    top_calls: dict[int, int] | None = None) -> int | None:
        """The states of a tail-shared group's expansion: its copies, the states that close
        them, and what Replace makes of the calls that are not tail calls (``top``: the fst of
        the copy keyed None, with its calls that are not tail calls)."""
        size = len({pending for _, pending in copies}) * (1 + TAIL_CONTINUATION)
        for key, _ in copies:
            if key is None:
                assert top is not None and top_calls is not None
                states, calls = top.num_states(), top_calls
            else:
                states, calls = self._bodies[key].num_states(), self._body_other_calls(key)
            size += states
            for nonterminal, count in calls.items():
                below = self._tail_size(self._calls[nonterminal - NONTERMINAL_BASE][0])
                if below is None:
                    return None
                size += count * below
            if size > self.options.max_states:
                return None
        return size

    def _body_other_calls(self, body_key: BodyKey) -> dict[int, int]:
        calls = self._other_calls.get(body_key)
        if calls is None:
            calls = self._other_calls[body_key] = (fst_calls(self._bodies[body_key], self._body_tails(body_key))
                                                   if self._called[body_key] else {})
        return calls

    def _tail_size(self, body_key: BodyKey) -> int | None:
        """The states of a body's tail-shared expansion; None when over ``max_states``."""
        if body_key not in self._tail_sizes:
            self._prepare_tails(body_key)
        return self._tail_sizes[body_key]

    def _prepare_tails(self, body_key: BodyKey) -> None:
        """The copies and tail-shared sizes of a body and of every body below it, callees
        first, so that none of it recurses deeper than one call (a chain of rules may be
        longer than Python's recursion limit)."""
        order: list[BodyKey] = []
        seen: set[BodyKey] = set()
        stack: list[tuple[BodyKey, bool]] = [(body_key, False)]
        while stack:
            key, callees_done = stack.pop()
            if callees_done:
                order.append(key)
            elif key not in seen and key not in self._tail_sizes:
                seen.add(key)
                stack.append((key, True))
                stack.extend((self._calls[nonterminal - NONTERMINAL_BASE][0], False)
                             for nonterminal in self._called[key])
        for key in order:
            copies = self._reach[key] = self._copies(key, self._body_tails(key))
            self._tail_sizes[key] = None if copies is None else self._group_size(copies)

    def _tail_shared(self, fst: pynini.Fst) -> pynini.Fst:
        """``fst`` expanded with its tail calls shared: each group (the root, and each body
        called other than by a tail call) built here, the other calls by one Replace."""
        groups: dict[BodyKey | None, pynini.Fst] = {}
        pending: list[BodyKey | None] = [None]
        relabel: dict[int, int] = {}
        while pending:
            key = pending.pop()
            if key in groups:
                continue
            group = groups[key] = self._group(key, fst if key is None else self._bodies[key])
            for nonterminal in self._calls_in(group):
                body_key, label = self._calls[nonterminal - NONTERMINAL_BASE]
                relabel[nonterminal] = label
                pending.append(body_key)
        if not relabel:
            return groups[None]
        pairs = [(ROOT_LABEL, groups[None])]
        for nonterminal in sorted(relabel):
            pairs.append((nonterminal, groups[self._calls[nonterminal - NONTERMINAL_BASE][0]]))
        result = pynini.replace(pairs, call_arc_labeling="output", return_arc_labeling="output",
                                return_label=RULE_END_LABEL)
        result.relabel_pairs(opairs=sorted(relabel.items()))
        return result

    def _group(self, top_key: BodyKey | None, top: pynini.Fst) -> pynini.Fst:
        """The tail-shared group of one body: a copy of it, and of each body it reaches by tail
        calls per continuations pending (a tail call is an arc that writes the callee's rule
        event into that copy); where a copy ends, ``</rule>`` and the pending continuations
        close it and the copies it was called from."""
        zero = pywrapfst.Weight.zero("tropical")
        one = pywrapfst.Weight.one("tropical")
        group = pynini.Fst()
        bases: dict[Copy, int] = {}
        todo: list[Copy] = []
        nodes = self._pendings.nodes
        closers: dict[int, int] = {0: group.add_state()}
        group.set_final(closers[0])

        def closing(pending: int) -> int:
            """The state that writes the continuations ``pending``, innermost first, each
            followed by the ``</rule>`` of the copy it continues (but the group's top), then is final."""
            chain = []
            below = pending
            while below not in closers:
                chain.append(below)
                below = nodes[below][0]
            state = closers[below]
            for node in reversed(chain):
                _, outputs, depth = nodes[node]
                for label in reversed([*outputs, *([RULE_END_LABEL] if depth > 1 else [])]):
                    before: int = group.add_state()
                    group.add_arc(before, pywrapfst.Arc(0, label, one, state))
                    state = before
                closers[node] = state
            return state

        def base(copy: Copy) -> int:
            offset = bases.get(copy)
            if offset is None:
                body = top if copy[0] is None else self._bodies[copy[0]]
                offset = bases[copy] = group.num_states()
                group.add_states(body.num_states())
                todo.append(copy)
            return offset

        group.set_start(base((top_key, 0)) + top.start())
        while todo:
            copy = todo.pop()
            key, pending = copy
            body = top if key is None else self._bodies[key]
            tails = self._tail_calls(top) if key is None else self._body_tails(key)
            offset = bases[copy]
            for state in body.states():
                for position, arc in enumerate(body.arcs(state)):
                    tail = tails.get((state, position))
                    if tail is None:
                        group.add_arc(offset + state, pywrapfst.Arc(arc.ilabel, arc.olabel, arc.weight,
                                                                 offset + arc.nextstate))
                        continue
                    nonterminal, outputs, weight = tail
                    callee, label = self._calls[nonterminal - NONTERMINAL_BASE]
                    entry = base((callee, self._pendings.push(pending, outputs))) + self._bodies[callee].start()
                    group.add_arc(offset + state, pywrapfst.Arc(0, label, pywrapfst.times(arc.weight, weight), entry))
                final = body.final(state)
                if final != zero:
                    if pending:
                        group.add_arc(offset + state, pywrapfst.Arc(0, RULE_END_LABEL, final, closing(pending)))
                    else:
                        group.set_final(offset + state, final)
        group.connect()
        return group

    def _event(self, table: list[_Entry], symbol: Callable[[int], int], entry: _Entry) -> int:
        """The output label of a table entry (rule, token or tag), added on first use."""
        labels = self._event_labels[id(table)]
        label = labels.get(entry)
        if label is None:
            table.append(entry)
            label = labels[entry] = symbol(len(table) - 1)
        return label

    # --- expansions ------------------------------------------------------------------------

    def _compile(self, node: Expansion, rule: RuleKey, depth: int) -> pynini.Fst:
        if isinstance(node, (Token, Tag)):
            return fsts.labels_path(self._chain(node, rule, depth))
        if isinstance(node, SpecialRef):
            return self._special(node)
        if isinstance(node, RuleRef):
            return self._reference(node, rule, depth)
        if isinstance(node, Sequence):
            chain = self._chain(node, rule, depth)
            if chain is not None:
                return fsts.labels_path(chain)
            pieces = [self._compile(item, rule, depth) for item in node.items]
            result = fsts.concat_all(pieces) if pieces else fsts.epsilon()
        elif isinstance(node, OneOf):
            result = self._one_of(node, rule, depth)
        elif isinstance(node, Repeat):
            result = self._repeat(node, rule, depth)
        else:
            raise TypeError(f"not an expansion: {node!r}")
        self._check_size(result, node.span, "expansion")
        return result

    def _tag_label(self, node: Tag, grammar_key: str) -> int:
        return self._event(self.tags, self.symbols.tag, (node.text, grammar_key))

    def _special(self, node: SpecialRef) -> pynini.Fst:
        if node.name == "NULL":
            return fsts.epsilon()
        if node.name == "VOID":
            return fsts.void()
        return fsts.self_loop(ANY_LABEL, GARBAGE_LABEL, self.options.garbage_cost)

    def _reference(self, node: RuleRef, rule: RuleKey, depth: int) -> pynini.Fst:
        call = self._call(node, rule, depth)
        return fsts.void() if call is None else fsts.labels_path([(0, call)])

    def _call(self, node: RuleRef, rule: RuleKey, depth: int) -> int | None:
        """The nonterminal label of a reference (its call arc reads nothing and writes it);
        None when the reference is $VOID (past the recursion bound, or to a $VOID rule)."""
        target = self.bundle.target(rule[0], node)
        if target not in self.graph.rules:
            raise CompileError(f"reference to undefined rule {node.uri!r}", node.span)
        depth = depth + 1 if self.graph.same_cycle(rule, target) else 0
        if depth > self.options.recursion_depth:
            return None
        label = self.bundle.label(rule[0], node)
        if fsts.is_void(self._body(target, depth)):
            return None
        self._references += 1
        self._share((target, depth))
        event = self._event(self.rules, self.symbols.rule, (target[0], target[1], label))
        return self._nonterminal((target, depth), event)

    def _one_of(self, node: OneOf, rule: RuleKey, depth: int) -> pynini.Fst:
        """Alternatives (§2.4); the ones made only of tokens and tags (word lists) are written
        straight into one FST, which is what keeps a 100,000-entry list fast to compile."""
        costs = alternative_costs([alt.weight for alt in node.alternatives])
        chains: list[tuple[list[tuple[int, int]], float]] = []
        pieces: list[pynini.Fst] = []
        for alt, cost in zip(node.alternatives, costs, strict=True):
            chain = self._chain(alt.expansion, rule, depth)
            if chain is not None:
                chains.append((chain, cost))
            else:
                pieces.append(fsts.with_cost(self._compile(alt.expansion, rule, depth), cost))
        if chains:
            pieces.append(fsts.chains(chains))
        return self._union(pieces)

    @overload
    def _chain(self, node: Token | Tag, rule: RuleKey, depth: int) -> list[tuple[int, int]]: ...

    @overload
    def _chain(self, node: Expansion, rule: RuleKey, depth: int) -> list[tuple[int, int]] | None: ...

    def _chain(self, node: Expansion, rule: RuleKey, depth: int) -> list[tuple[int, int]] | None:
        """A token, a tag or a sequence of tokens, tags and rule references as label pairs,
        packed between references (see ``fsts.pack``; a reference is its one call arc, which
        stays where it is); None for anything else, or a reference to a $VOID rule (so never
        None for a token or a tag). The hot loop of a word list, and of a list of sequences of
        references: one call per entry."""
        items: tuple[Expansion, ...]
        if isinstance(node, Sequence):
            items = node.items
            if not all(type(item) is Token or type(item) is Tag or type(item) is RuleRef for item in items):
                return None
        elif isinstance(node, (Token, Tag)):
            items = (node,)
        else:
            return None
        grammar_key = rule[0]
        grammar = self.bundle.grammars[grammar_key]
        word_label = self.symbols.word
        pairs: list[tuple[int, int]] = []
        inputs: list[int] = []
        outputs: list[int] = []
        for item in items:  # each a token, a tag or a rule reference (checked above)
            if type(item) is Token:
                language = item.lang or grammar.language
                words = token_words(item.text, mode=grammar.mode, language=language)
                if not self.character_words and splits_characters(language):
                    self.character_words = True
                outputs.append(self._event(self.tokens, self.symbols.token, (item.text, words)))
                inputs.extend([word_label(word) for word in words])
            elif type(item) is Tag:
                outputs.append(self._tag_label(item, grammar_key))
            elif type(item) is RuleRef:
                call = self._call(item, rule, depth)
                if call is None:
                    return None
                pairs += fsts.pack(inputs, outputs)
                pairs.append((0, call))
                inputs, outputs = [], []
        return pairs + fsts.pack(inputs, outputs)

    def _union(self, pieces: list[pynini.Fst]) -> pynini.Fst:
        pieces = [piece for piece in pieces if not fsts.is_void(piece)]
        if not pieces:
            return fsts.void()
        if len(pieces) == 1:
            return pieces[0]
        return pynini.union(*pieces)

    def _repeat(self, node: Repeat, rule: RuleKey, depth: int) -> pynini.Fst:
        low, high = node.min, node.max
        if high is not None and high < low:
            raise CompileError(f"repeat <{low}-{high}>: the maximum is below the minimum", node.span)
        limit = self.options.max_repeat
        if low > limit or (high is not None and high > limit):
            raise CompileError(f"repeat <{low}-{'' if high is None else high}> is over the compiler's "
                               f"limit of {limit} repetitions (use an unbounded repeat)", node.span)
        if high == 0:
            return fsts.epsilon()
        body = self._compile(node.expansion, rule, depth)
        if fsts.is_void(body):
            return fsts.void() if low > 0 else fsts.epsilon()
        optional = None if high is None else high - low
        consuming = body
        skip = None
        if expansion_nullable(node.expansion, rule[0], self.bundle, self.graph.nullable):
            # which paths read words is only known with the references expanded
            body = self._expand(body, node.span, "the repeated expansion")
            consuming = fsts.consuming_paths(body)
            if fsts.is_void(consuming):  # reads nothing: any number of occurrences counts as one
                low, optional, consuming = (1, 0, body) if low else (0, 1, body)
            elif low:
                skip = fsts.silent_cost(body)
        if low == 1 and optional == 0:
            return body
        take, stop = repeat_costs(node.prob)
        if skip is not None:
            return self._skipping_chain(node.span, fsts.ArcTable.of(consuming), low, optional, take, stop, skip)
        return self._repeat_chain(node.span, fsts.ArcTable.of(body), low, fsts.ArcTable.of(consuming),
                                  optional, take, stop)

    def _repeat_chain(self, span: SourceSpan, body: fsts.ArcTable, low: int, consuming: fsts.ArcTable,
                      optional: int | None, take: float, stop: float) -> pynini.Fst:
        """``low`` copies of ``body``, then ``optional`` (None: any number of) copies of
        ``consuming``, ``take`` each, with ``stop`` to stop before the last."""
        self._check_repeat_size(span, low * body.size + (1 if optional is None else optional) * consuming.size)
        fst = pynini.Fst()
        state = fst.add_state()
        fst.set_start(state)
        for _ in range(low):
            state = body.splice(fst, state)
        if optional is None:
            fst.set_final(state, stop)
            consuming.splice(fst, state, take, end=state)
            return fst
        for _ in range(optional):
            fst.set_final(state, stop)
            state = consuming.splice(fst, state, take)
        fst.set_final(state)
        return fst

    def _skipping_chain(self, span: SourceSpan, consuming: fsts.ArcTable, low: int, optional: int | None,
                        take: float, stop: float, skip: float) -> pynini.Fst:
        """The repeat of a nullable body whose paths that read nothing write nothing either and
        cost at least ``skip``: only the number of occurrences that read words tells its paths
        apart (the empty ones may stand anywhere among the ``low``, for the same events and
        cost). So it is a chain of ``consuming`` copies, each place where it may end final
        with the cheapest cost of that many (and any loop at ``take`` past ``low``).
        Copying the body itself would give each copy an epsilon path to all the later ones,
        and ``(a|$NULL)<6000>`` a quadratic epsilon removal and determinisation."""
        count = low if optional is None else low + optional
        self._check_repeat_size(span, (count + 1) * consuming.size)

        def cheapest(reading: int) -> float:
            """The least cost of ``reading`` occurrences that read words, ``k`` of them among
            the ``low`` (the others empty) and ``j`` beyond, ``take`` each, ``stop`` below
            the maximum. The cost falls as ``k`` grows but for ``stop``: two candidates."""
            if optional is None:
                return (low - reading) * skip + stop
            costs = []
            for k in {min(reading, low), reading - optional}:
                if 0 <= k <= low:
                    j = reading - k
                    costs.append((low - k) * skip + j * take + (stop if j < optional else 0.0))
            return min(costs)

        fst = pynini.Fst()
        state = fst.add_state()
        fst.set_start(state)
        for reading in range(count + 1):
            fst.set_final(state, cheapest(reading))
            if reading < count:
                state = consuming.splice(fst, state)
        if optional is None:
            consuming.splice(fst, state, take, end=state)
        return fst

    def _check_repeat_size(self, span: SourceSpan, size: int) -> None:
        if size > self.options.max_states:
            raise CompileError(f"repeat would need about {size} states, over the limit of "
                               f"{self.options.max_states}", span)

    def _check_size(self, fst: pynini.Fst, span: SourceSpan, what: str) -> None:
        if fst.num_states() > self.options.max_states:
            raise CompileError(f"{what} needs {fst.num_states()} states, over the limit of "
                               f"{self.options.max_states} (CompileOptions.max_states)", span)


def fst_calls(fst: pynini.Fst, tails: Tails) -> dict[int, int]:
    """For each nonterminal label on an arc of ``fst`` that is not a tail call, how many states
    its calls return to (the copies of its body Replace makes per copy of ``fst``)."""
    returns: dict[int, set[int]] = {}
    for state in fst.states():
        for position, arc in enumerate(fst.arcs(state)):
            if arc.olabel >= NONTERMINAL_BASE and (state, position) not in tails:
                returns.setdefault(arc.olabel, set()).add(arc.nextstate)
    return {nonterminal: len(states) for nonterminal, states in returns.items()}
