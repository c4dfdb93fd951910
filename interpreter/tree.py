"""Parse trees: which rule matched which words and where each tag stands (SRGS §2, SISR §6).

One accepted path through the compiled transducer becomes one ``ParseTree``. The semantic
evaluator (SISR) and the result writers read only these classes, never the FST.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import final


# Final: no subclasses, so ``type(node) is ...`` tells every node kind apart (and narrows).
@final
@dataclass(frozen=True, slots=True)
class ParseToken:
    """A grammar token as written (``text``) and the normalised input words it consumed."""

    text: str
    words: tuple[str, ...]


@final
@dataclass(frozen=True, slots=True)
class ParseGarbage:
    """Input words swallowed by ``$GARBAGE``; not shown in the W3C tree notation."""

    words: tuple[str, ...]


@final
@dataclass(frozen=True, slots=True)
class ParseTag:
    """A tag reached on the path; ``text`` exactly as in the grammar."""

    text: str


@final
@dataclass(frozen=True, slots=True)
class ParseRule:
    """A matched rule.

    ``name``: the rule's own name (the key of SISR ``rules.NAME`` / ``meta.NAME``).
    ``label``: the reference as the W3C notation prints it: ``$name`` for a local rule (and for
    the root), ``$<uri#rule>`` or ``$<uri>`` for a rule reached through an external reference.
    ``grammar``: the key of the grammar the rule belongs to (its resolved URI), which tells the
    evaluator the tag format and header tags that apply.
    """

    name: str
    label: str
    grammar: str
    children: tuple[ParseNode, ...]

    @property
    def words(self) -> tuple[str, ...]:
        """Every input word this rule matched, garbage included, in order."""
        out: list[str] = []
        for child in self.children:
            if isinstance(child, (ParseToken, ParseGarbage)):
                out.extend(child.words)
            elif isinstance(child, ParseRule):
                out.extend(child.words)
        return tuple(out)


ParseNode = ParseToken | ParseGarbage | ParseTag | ParseRule


@dataclass(frozen=True, slots=True)
class Parse:
    """One parse of the whole input: the root rule's tree and the path cost (−log probability).

    ``garbage``: how many input words ``$GARBAGE`` read in the tree, when the parser counted
    them (None: count them in the tree)."""

    tree: ParseRule
    cost: float
    garbage: int | None = field(default=None, compare=False, repr=False)


# Constructors for the parser's hot loop: the same objects as the classes' own (frozen
# dataclasses), without the generated __init__'s per-field lookups.
_new = object.__new__
_set = object.__setattr__


def make_token(text: str, words: tuple[str, ...]) -> ParseToken:
    node = _new(ParseToken)
    _set(node, "text", text)
    _set(node, "words", words)
    return node


def make_garbage(words: tuple[str, ...]) -> ParseGarbage:
    node = _new(ParseGarbage)
    _set(node, "words", words)
    return node


def make_rule(name: str, label: str, grammar: str, children: tuple[ParseNode, ...]) -> ParseRule:
    node = _new(ParseRule)
    _set(node, "name", name)
    _set(node, "label", label)
    _set(node, "grammar", grammar)
    _set(node, "children", children)
    return node


def make_parse(tree: ParseRule, cost: float, garbage: int | None) -> Parse:
    parse = _new(Parse)
    _set(parse, "tree", tree)
    _set(parse, "cost", cost)
    _set(parse, "garbage", garbage)
    return parse
