"""The compiled form of a grammar: two FST views, their symbols and tables, in one FAR file.

The file is an OpenFst FAR (``sttable``, standard arcs) with three entries, so OpenFst tools
can read the FSTs directly:

    acceptor     the token acceptor (input words only; optimised, epsilon-free)
    metadata     a one-state FST whose input symbol table, named ``srgs-metadata``, holds the
                 metadata JSON as its symbol 1 (hashes, tables, tag formats, header tags)
    transducer   words -> parse events (see ``symbols``)

Both FSTs carry the symbol table in the file; in memory they are kept without it (it is
``.symbols``), which keeps composition at parse time from copying it.
"""

from __future__ import annotations

import json
import math
import threading
from functools import cached_property
from pathlib import Path
from typing import Any

import pynini
import pywrapfst  # pynini's classes under their typed names (pynini's stub does not re-export them)

from ..errors import CompileError
from ..model import SourceSpan
from .symbols import ANY_LABEL, decode_labels, symbol_table, table_symbols

# The metadata JSON object (see ``CompiledGrammar``): values of several JSON types.
Metadata = dict[str, Any]
# output label -> (event kind, table index); None for a word
Events = list[tuple[str, int] | None]

FORMAT = "srgs-compiled/1"
_META_TABLE = "srgs-metadata"
_TABLES = ("tokens", "rules", "tags")
INFINITY = math.inf


class CompiledGrammar:
    """A compiled grammar: ``transducer`` (words -> events), ``acceptor`` (words), ``symbols``.

    The tables: ``tokens`` (``(text, words)``), ``rules`` (``(grammar, name, label)``), ``tags``
    (``(text, grammar)``). ``metadata`` holds hashes, active rules, language, mode and, per
    grammar, ``{tag_format, language, mode, header_tags}`` (in the file, the tables too).

    Decoder view (read-only, thread-safe): ``start()``, ``advance(state, word)`` -> list of
    ``(next state, cost)`` (a word the grammar does not have can still be read by $GARBAGE),
    ``final_cost(state)`` (``inf`` when the state is not final).
    """

    def __init__(self, transducer: pynini.Fst, acceptor: pynini.Fst, symbols: list[str], metadata: Metadata):
        self.transducer = transducer
        self.acceptor = acceptor
        self.symbol_list = symbols
        # The tables live once, as tuples (a 100,000-entry list would otherwise hold them twice);
        # ``save`` writes them back into the metadata JSON.
        self.metadata = {key: value for key, value in metadata.items() if key not in _TABLES}
        self.tokens: list[tuple[str, tuple[str, ...]]] = [(text, tuple(words)) for text, words in metadata["tokens"]]
        self.rules: list[tuple[str, str, str]] = [tuple(entry) for entry in metadata["rules"]]
        self.tags: list[tuple[str, str]] = [tuple(entry) for entry in metadata["tags"]]
        self._symbols: pywrapfst.SymbolTable | None = None
        self._states: dict[int, dict[int, tuple[tuple[int, float], ...]]] = {}
        self._lock = threading.Lock()

    # --- views --------------------------------------------------------------------------

    @cached_property
    def _decoded(self) -> tuple[dict[str, int], Events]:
        # Built on first parse, not at compile: `srgs compile -o` never needs them.
        return decode_labels(self.symbol_list)

    @property
    def word_labels(self) -> dict[str, int]:
        """Input word -> label."""
        return self._decoded[0]

    @property
    def events(self) -> Events:
        """Output label -> ``(event kind, table index)``, None for words."""
        return self._decoded[1]

    @property
    def symbols(self) -> pywrapfst.SymbolTable:
        """The symbol table of both sides of both FSTs."""
        if self._symbols is None:
            self._symbols = symbol_table(self.symbol_list)
        return self._symbols

    @property
    def stats(self) -> dict[str, Any]:
        """Compile timings, symbol count, and the state and arc counts of both views."""
        stats: dict[str, Any] = dict(self.metadata.get("stats", {}))
        for name, fst in (("transducer", self.transducer), ("acceptor", self.acceptor)):
            stats[name] = {"states": fst.num_states(), "arcs": arc_count(fst)}
        return stats

    @property
    def state_count(self) -> int:
        count: int = self.transducer.num_states()
        return count

    @property
    def arc_count(self) -> int:
        return arc_count(self.transducer)

    def labeled(self, view: str = "transducer") -> pynini.Fst:
        """A copy of one view with the symbol table attached (for drawing or writing)."""
        fst = (self.transducer if view == "transducer" else self.acceptor).copy()
        fst.set_input_symbols(self.symbols)
        fst.set_output_symbols(self.symbols)
        return fst

    # --- decoder view ---------------------------------------------------------------------

    def start(self) -> int:
        """The acceptor's start state (-1 when the grammar accepts nothing)."""
        state: int = self.acceptor.start()
        return state

    def advance(self, state: int, word: str) -> list[tuple[int, float]]:
        """Where ``word`` (a normalised word) leads from ``state``, with the cost of each arc."""
        if state < 0:
            return []
        arcs = self._arcs(state)
        label = self.word_labels.get(word)
        out = list(arcs.get(label, ())) if label is not None else []
        out.extend(arcs.get(ANY_LABEL, ()))
        return out

    def final_cost(self, state: int) -> float:
        if state < 0:
            return INFINITY
        return float(self.acceptor.final(state))

    def _arcs(self, state: int) -> dict[int, tuple[tuple[int, float], ...]]:
        arcs = self._states.get(state)
        if arcs is None:
            with self._lock:
                grouped: dict[int, list[tuple[int, float]]] = {}
                for arc in self.acceptor.arcs(state):
                    grouped.setdefault(arc.ilabel, []).append((arc.nextstate, float(arc.weight)))
                arcs = {label: tuple(targets) for label, targets in grouped.items()}
                self._states[state] = arcs
        return arcs

    # --- files ------------------------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Writes the FAR file described in the module docstring."""
        holder = pynini.Fst()
        holder.set_start(holder.add_state())
        holder.set_final(0)
        table = pywrapfst.SymbolTable(name=_META_TABLE)
        table.add_symbol("<eps>", 0)
        metadata = dict(self.metadata, tokens=[[text, list(words)] for text, words in self.tokens],
                        rules=[list(entry) for entry in self.rules], tags=[list(entry) for entry in self.tags])
        table.add_symbol(json.dumps(metadata, ensure_ascii=False, sort_keys=True), 1)
        holder.set_input_symbols(table)
        with pynini.Far(str(path), mode="w", arc_type="standard", far_type="sttable") as far:
            far["acceptor"] = self.labeled("acceptor")  # keys in sorted order (sttable)
            far["metadata"] = holder
            far["transducer"] = self.labeled("transducer")

    @classmethod
    def load(cls, path: str | Path) -> CompiledGrammar:
        """Reads a file written by ``save``; no grammar is parsed again."""
        where = SourceSpan(str(path), 0, 0)
        try:
            far = pynini.Far(str(path), mode="r")
        except Exception as exc:  # pynini raises several types for unreadable files
            raise CompileError(f"cannot read compiled grammar: {exc}", where) from None
        entries: dict[str, pynini.Fst] = {}
        while not far.done():
            entries[far.get_key()] = far.get_fst()
            far.next()
        far.close()
        if set(entries) != {"acceptor", "metadata", "transducer"}:
            raise CompileError("not a compiled SRGS grammar (missing FAR entries)", where)
        table = entries["metadata"].input_symbols()
        if table is None or table.name() != _META_TABLE:
            raise CompileError("not a compiled SRGS grammar (no metadata)", where)
        metadata = json.loads(table.find(1))
        if metadata.get("format") != FORMAT:
            raise CompileError(f"unsupported compiled grammar format {metadata.get('format')!r}", where)
        transducer, acceptor = entries["transducer"], entries["acceptor"]
        symbols = table_symbols(transducer.input_symbols())
        for fst in (transducer, acceptor):
            fst.set_input_symbols(None)
            fst.set_output_symbols(None)
        return cls(transducer, acceptor, symbols, metadata)


def arc_count(fst: pynini.Fst) -> int:
    count: int = sum(fst.num_arcs(state) for state in fst.states())
    return count
