"""The one symbol table of a compiled grammar: input words and parse events (SRGS §2, SISR §6).

Both sides of the transducer share it. Label 0 is ``<eps>``; then the reserved symbols; then
input words and event symbols in the order the compiler first meets them:

    <any>       input side: any one word, read by $GARBAGE (SRGS §2.2.3)
    <unk>       input side: a word the grammar does not know (never on a grammar arc)
    <garbage>   output side: one word swallowed by $GARBAGE
    </rule>     output side: the end of the innermost open rule
    <rule:J>    output side: rule J of the rule table starts
    <tok:I>     output side: token I of the token table (its words are on the input side)
    <tag:K>     output side: tag K of the tag table runs here

A word that itself looks like a reserved symbol (``<...>``, possible only for DTMF text) is
escaped with a leading backslash so it can never collide with one.
"""

from __future__ import annotations

from dataclasses import dataclass

# pynini's own classes, under their typed names (pynini's stub does not re-export them)
import pywrapfst

EPSILON = "<eps>"
ANY = "<any>"
UNKNOWN = "<unk>"
GARBAGE = "<garbage>"
RULE_END = "</rule>"

EPSILON_LABEL = 0
ANY_LABEL = 1
UNKNOWN_LABEL = 2
GARBAGE_LABEL = 3
RULE_END_LABEL = 4
RESERVED = (EPSILON, ANY, UNKNOWN, GARBAGE, RULE_END)

# Event kinds, as decoded from an output label.
RULE_START, RULE_STOP, TOKEN, TAG, GARBAGE_WORD = "rule", "end", "tok", "tag", "garbage"

def word_symbol(word: str) -> str:
    """The symbol of an input word (escaped when it could be read as a reserved symbol)."""
    if word.startswith(("<", "\\")):
        return "\\" + word
    return word


def symbol_word(symbol: str) -> str:
    """The input word a word symbol stands for (inverse of ``word_symbol``)."""
    return symbol[1:] if symbol.startswith("\\") else symbol


@dataclass(slots=True)
class SymbolBuilder:
    """Assigns labels while the compiler runs; ``table()`` freezes them into a SymbolTable.

    ``ids`` maps word symbols (and the reserved ones) to labels; event symbols are only added.
    """

    symbols: list[str]
    ids: dict[str, int]

    @classmethod
    def new(cls) -> SymbolBuilder:
        return cls(symbols=list(RESERVED), ids={name: i for i, name in enumerate(RESERVED)})

    def word(self, word: str) -> int:
        symbol = word_symbol(word) if word[:1] in ("<", "\\") else word
        label = self.ids.get(symbol)
        if label is None:
            label = self.ids[symbol] = len(self.symbols)
            self.symbols.append(symbol)
        return label

    def _event(self, kind: str, index: int) -> int:
        # Each table entry gets its event label once (the compiler remembers it): no lookup.
        self.symbols.append(f"<{kind}:{index}>")
        return len(self.symbols) - 1

    def rule(self, index: int) -> int:
        return self._event(RULE_START, index)

    def token(self, index: int) -> int:
        return self._event(TOKEN, index)

    def tag(self, index: int) -> int:
        return self._event(TAG, index)

    def table(self) -> pywrapfst.SymbolTable:
        return symbol_table(self.symbols)


def symbol_table(symbols: list[str]) -> pywrapfst.SymbolTable:
    """A SymbolTable whose label i is ``symbols[i]``."""
    table = pywrapfst.SymbolTable(name="srgs")
    for label, symbol in enumerate(symbols):
        table.add_symbol(symbol, label)
    return table


def table_symbols(table: pywrapfst.SymbolTableView) -> list[str]:
    """The symbols of a table as a dense list indexed by label."""
    out = [""] * table.available_key()
    for label, symbol in table:
        out[label] = symbol
    return out


def decode_labels(symbols: list[str]) -> tuple[dict[str, int], list[tuple[str, int] | None]]:
    """Word -> input label, and output label -> ``(event kind, table index)`` (None for words)."""
    words: dict[str, int] = {}
    events: list[tuple[str, int] | None] = [None] * len(symbols)
    events[GARBAGE_LABEL] = (GARBAGE_WORD, 0)
    events[RULE_END_LABEL] = (RULE_STOP, 0)
    for label in range(len(RESERVED), len(symbols)):
        symbol = symbols[label]
        if symbol.startswith("<") and symbol.endswith(">"):  # words never do (see word_symbol)
            kind, _, index = symbol[1:-1].partition(":")
            events[label] = (kind, int(index))
        elif symbol:
            words[symbol_word(symbol)] = label
    return words, events
