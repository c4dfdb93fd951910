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

Recursion (SRGS §5.4) is bounded: a reference from a rule to a rule of its own recursion cycle
goes one level deeper; past ``recursion_depth`` levels it becomes $VOID.
Repeats (§2.5) never make a loop that reads no word: iterations beyond the minimum use only
the body's paths that read at least one word, and a body that reads nothing at all counts once.
"""

from __future__ import annotations

import pynini

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
        self._ids: dict[tuple, int] = {}
        self._event_labels: dict[int, dict[tuple, int]] = {id(self.rules): {}, id(self.tokens): {}, id(self.tags): {}}
        self._bodies: dict[BodyKey, pynini.Fst] = {}
        # Nonterminal label -> (body, rule event label) and back; what each body calls, and
        # how many states its full expansion has (counted, never built).
        self._calls: list[tuple[BodyKey, int]] = []
        self._nonterminals: dict[tuple[BodyKey, int], int] = {}
        self._called: dict[BodyKey, dict[int, int]] = {}
        self._sizes: dict[BodyKey, int] = {}
        self._shared: set[BodyKey] = set()
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
            raise CompileError(f"{what} needs {size} states, over the limit of "
                               f"{self.options.max_states} (CompileOptions.max_states)", span)

    def _expand(self, fst: pynini.Fst, span: SourceSpan, what: str) -> pynini.Fst:
        """``fst`` with every reference replaced by the body it refers to, recursively: one
        OpenFst Replace. Its size is counted first (``max_states``)."""
        calls = self._calls_in(fst)
        if not calls:
            return fst
        size = fst.num_states() + sum(count * self._expanded_size(self._calls[nonterminal - NONTERMINAL_BASE][0])
                                      for nonterminal, count in calls.items())
        if size > self.options.max_states:
            raise CompileError(f"expanding {what} needs {size} states, over the limit of "
                               f"{self.options.max_states} (CompileOptions.max_states)", span)
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

    def _event(self, table: list, symbol, entry: tuple) -> int:
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

    def _chain(self, node: Expansion, rule: RuleKey, depth: int) -> list[tuple[int, int]] | None:
        """A token, a tag or a sequence of tokens, tags and rule references as label pairs,
        packed between references (see ``fsts.pack``; a reference is its one call arc, which
        stays where it is); None for anything else, or a reference to a $VOID rule. The hot loop
        of a word list, and of a list of sequences of references: one call per entry."""
        kind = type(node)
        if kind is Sequence:
            items = node.items
            if not all(type(item) is Token or type(item) is Tag or type(item) is RuleRef for item in items):
                return None
        elif kind is Token or kind is Tag:
            items = (node,)
        else:
            return None
        grammar_key = rule[0]
        grammar = self.bundle.grammars[grammar_key]
        word_label = self.symbols.word
        pairs: list[tuple[int, int]] = []
        inputs: list[int] = []
        outputs: list[int] = []
        for item in items:
            if type(item) is Tag:
                outputs.append(self._tag_label(item, grammar_key))
                continue
            if type(item) is RuleRef:
                call = self._call(item, rule, depth)
                if call is None:
                    return None
                pairs += fsts.pack(inputs, outputs)
                pairs.append((0, call))
                inputs, outputs = [], []
                continue
            language = item.lang or grammar.language
            words = token_words(item.text, mode=grammar.mode, language=language)
            if not self.character_words and splits_characters(language):
                self.character_words = True
            outputs.append(self._event(self.tokens, self.symbols.token, (item.text, words)))
            inputs.extend([word_label(word) for word in words])
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
