"""Text against a compiled grammar: parse trees, and prefix tests for incremental matching.

``parse_words`` composes the input words with the grammar's transducer (SRGS §2: which rule
matched which words, and where each tag stands, SISR §6) and decodes the n best distinct
output event strings into ``ParseRule`` trees. Every input word may also be read by $GARBAGE
(the ``<any>`` label); a word the grammar does not know can only be read that way.

``is_prefix`` / ``can_continue`` / ``complete`` follow the token acceptor state by state: the
three facts an incremental (DTMF) matcher needs for NO_MATCH / PARTIAL / MATCH / MATCH_END.
"""

from __future__ import annotations

from typing import Sequence

import pynini

from srgs.compile import CompiledGrammar
from srgs.compile.symbols import ANY_LABEL, GARBAGE_WORD, RULE_START, RULE_STOP, TAG, TOKEN

from .tree import Parse, ParseGarbage, ParseRule, ParseTag, ParseToken

_ONE = pynini.Weight.one("tropical")
_INFINITY = float("inf")


def parse_words(compiled: CompiledGrammar, words: Sequence[str], *, nbest: int = 1) -> list[Parse]:
    """The ``nbest`` best distinct parses of normalised ``words``, best (lowest cost) first."""
    if nbest < 1 or compiled.transducer.start() < 0:
        return []
    lattice = pynini.compose(_input_acceptor(compiled, words), compiled.transducer)
    if lattice.start() < 0:
        return []
    if nbest == 1:
        best = pynini.shortestpath(lattice)
    else:
        lattice.project("output")
        lattice.rmepsilon()
        best = pynini.shortestpath(lattice, nshortest=nbest, unique=True)
    parses = [_decode(compiled, labels, cost, words) for labels, cost in _paths(best)]
    parses.sort(key=lambda parse: parse.cost)
    return parses


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


def _input_acceptor(compiled: CompiledGrammar, words: Sequence[str]) -> pynini.Fst:
    """A chain reading each word (when known) or ``<any>``, arcs sorted by label."""
    labels = compiled.word_labels
    fst = pynini.Fst()
    fst.add_states(len(words) + 1)
    fst.set_start(0)
    for position, word in enumerate(words):
        fst.add_arc(position, pynini.Arc(ANY_LABEL, ANY_LABEL, _ONE, position + 1))
        label = labels.get(word)
        if label is not None:
            fst.add_arc(position, pynini.Arc(label, label, _ONE, position + 1))
    fst.set_final(len(words))
    return fst


def _paths(fst: pynini.Fst) -> list[tuple[list[int], float]]:
    """The output labels (epsilons dropped) and cost of every path of an acyclic FST.

    OpenFst's path iterator walks the paths in C++: reading a shortest-path result arc by arc
    in Python cost more than the composition and the search together.
    """
    if fst.start() < 0:
        return []
    out = []
    paths = fst.paths()
    while not paths.done():
        out.append(([label for label in paths.olabels() if label], float(paths.weight())))
        paths.next()
    return out


def _decode(compiled: CompiledGrammar, labels: list[int], cost: float, words: Sequence[str]) -> Parse:
    """Output events to a tree; each token takes its words from the input, in order."""
    events, rules, tokens, tags = compiled.events, compiled.rules, compiled.tokens, compiled.tags
    stack: list[tuple[tuple[str, str, str], list]] = []
    root: ParseRule | None = None
    position = 0
    for label in labels:
        kind, index = events[label]
        if kind == TAG:
            stack[-1][1].append(ParseTag(text=tags[index][0]))
        elif kind == TOKEN:
            text, token_words = tokens[index]
            end = position + len(token_words)
            stack[-1][1].append(ParseToken(text=text, words=tuple(words[position:end])))
            position = end
        elif kind == RULE_START:
            stack.append((rules[index], []))
        elif kind == RULE_STOP:
            (grammar, name, rule_label), children = stack.pop()
            node = ParseRule(name=name, label=rule_label, grammar=grammar, children=tuple(children))
            if stack:
                stack[-1][1].append(node)
            else:
                root = node
        elif kind == GARBAGE_WORD:
            children = stack[-1][1]
            if children and isinstance(children[-1], ParseGarbage):
                children[-1] = ParseGarbage(words=children[-1].words + (words[position],))
            else:
                children.append(ParseGarbage(words=(words[position],)))
            position += 1
    assert root is not None and not stack, "a path of the transducer always closes its rules"
    return Parse(tree=root, cost=cost)
