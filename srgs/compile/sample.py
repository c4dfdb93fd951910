"""Random sentences of a compiled grammar, and readable symbols for drawing it.

Sampling uses ``pynini.randgen`` with ``log_prob`` selection: at each state an arc (or
stopping) is chosen with probability proportional to exp(−cost), so weighted alternatives and
``repeat-prob`` (SRGS §2.4.1, §2.5.1) shape what comes out.
"""

from __future__ import annotations

import random
from typing import TypedDict

import pynini
import pywrapfst  # pynini's classes under their typed names (pynini's stub does not re-export them)

from .artifact import CompiledGrammar
from .symbols import ANY_LABEL, GARBAGE_WORD, RULE_START, RULE_STOP, TAG, TOKEN, symbol_table

GARBAGE_TEXT = "..."


class Sentence(TypedDict):
    """One sampled sentence: its text, its tokens (``...`` for $GARBAGE) and the tags on its path."""

    text: str
    tokens: list[str]
    tags: list[str]


def sample_sentences(compiled: CompiledGrammar, count: int, *, seed: int | None = None,
                     max_length: int = 200) -> list[Sentence]:
    """Up to ``count`` sentences, each ``{"text", "tokens", "tags"}``."""
    if count < 1 or compiled.transducer.start() < 0:
        return []
    rng = random.Random(seed)
    out: list[Sentence] = []
    attempts = 0
    while len(out) < count and attempts < 4:  # paths cut by max_length are dropped; try again
        attempts += 1
        sample = pynini.randgen(compiled.transducer, npath=count - len(out), select="log_prob",
                                max_length=max_length, seed=rng.randrange(1, 2**31))
        out.extend(_sentence(compiled, labels) for labels in _path_labels(sample))
    return out[:count]


def _path_labels(fst: pynini.Fst) -> list[list[int]]:
    start = fst.start()
    if start < 0:
        return []
    paths: list[list[int]] = []
    for first in fst.arcs(start):
        labels = [first.olabel]
        state = first.nextstate
        while fst.num_arcs(state):
            arc = next(iter(fst.arcs(state)))
            labels.append(arc.olabel)
            state = arc.nextstate
        paths.append([label for label in labels if label])
    return paths


def _sentence(compiled: CompiledGrammar, labels: list[int]) -> Sentence:
    tokens: list[str] = []
    tags: list[str] = []
    for label in labels:
        event = compiled.events[label]
        assert event is not None  # the transducer's output labels are events, never words
        kind, index = event
        if kind == TOKEN:
            tokens.append(compiled.tokens[index][0])
        elif kind == GARBAGE_WORD:
            tokens.append(GARBAGE_TEXT)
        elif kind == TAG:
            tags.append(compiled.tags[index][0])
    return {"text": " ".join(tokens), "tokens": tokens, "tags": tags}


def display_symbols(compiled: CompiledGrammar) -> pywrapfst.SymbolTable:
    """The symbol table with events spelled out: ``"new york"``, ``$city[``, ``]``, ``{tag}``."""
    names = list(compiled.symbol_list)
    for label, event in enumerate(compiled.events):
        if event is None:
            continue
        kind, index = event
        if kind == TOKEN:
            names[label] = '"' + compiled.tokens[index][0] + '"'
        elif kind == RULE_START:
            names[label] = compiled.rules[index][2] + "["
        elif kind == RULE_STOP:
            names[label] = "]"
        elif kind == TAG:
            names[label] = "{" + compiled.tags[index][0] + "}"
    names[ANY_LABEL] = "<any>"
    seen: set[str] = set()
    for label, name in enumerate(names):  # a symbol table needs distinct names
        if name in seen:
            names[label] = f"{name}#{label}"
        seen.add(names[label])
    return symbol_table(names)
