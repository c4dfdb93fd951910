"""ABNF lexer tokens to grammar-model nodes: leaves (SRGS 1.0 §2.2-§2.6), phrases, postfixes (§2.5, §2.7).

Every function here builds the same node, span included, whichever lexer mode produced the
token: a ``PHRASE`` becomes exactly what its tokens read one by one would have become.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from lark import Token as LarkToken
from lark.lexer import TerminalDef

from ..errors import GrammarSyntaxError
from ..model import (
    Alternative,
    Expansion,
    OneOf,
    Repeat,
    RuleRef,
    Sequence,
    SourceSpan,
    SpecialRef,
    Tag,
    Token,
    is_special_name,
    one_of,
)
from ..text import DTMF_KEY_WORDS
from .context import ReadContext
from .lexer import PHRASE_PARTS, SKIP

_REPEAT = re.compile(r"<\s*(\d+)\s*(-\s*(\d*))?\s*(?:/\s*([^/\s]+)\s*/)?\s*>")
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_LANG_NODES = (Token, RuleRef, Repeat, Sequence, OneOf)

# What a grammar rule's callback hands up (abnf.lark): a lexer token (a ``?atom`` inlined), the
# alternatives of a one-of, one weighted alternative, or a node built below.
Item = LarkToken | list[Alternative] | Alternative | Expansion
# a weight as written, and where
_Weight = tuple[str, SourceSpan]


# --- leaves (§2.2 tokens, §2.3 rule references, §2.6 tags) ------------------------------------


def bare_token(text: str, span: SourceSpan, ctx: ReadContext) -> Token:
    if ctx.header["mode"] == "dtmf":  # SRGS App. E: `star` and `pound` name the keys * and #
        key = DTMF_KEY_WORDS.get(text.lower())
        if key is not None:
            text = key
        elif "#" in text:
            raise GrammarSyntaxError(f"'#' must be quoted in a DTMF grammar: write \"{text}\"", span)
    return Token(text=text, span=span)


def quoted_token(text: str, span: SourceSpan, ctx: ReadContext) -> Token:
    text = " ".join(unescape(text[1:-1]).split())
    if not text:
        raise GrammarSyntaxError("empty quoted token", span)
    return Token(text=text, span=span)


def rule_ref(text: str, span: SourceSpan, ctx: ReadContext) -> SpecialRef | RuleRef:
    name = text[1:]
    if is_special_name(name):
        return SpecialRef(name=name, span=span)
    return RuleRef(uri="#" + name, span=span)


def external_ref(text: str, span: SourceSpan, ctx: ReadContext, media_type: str | None = None) -> RuleRef:
    uri = text[2:-1]
    if not uri:
        raise GrammarSyntaxError("empty rule reference '$<>'", span)
    return RuleRef(uri=uri, media_type=media_type, span=span)


def phrase(text: str, span: SourceSpan, ctx: ReadContext) -> Expansion:
    """A ``PHRASE`` token's units: one node, or a language-less sequence the caller flattens."""
    (nodes, _), = _split(text, span, ctx)
    return nodes[0] if len(nodes) == 1 else Sequence(items=tuple(nodes), span=nodes[0].span)


def choice(text: str, span: SourceSpan, ctx: ReadContext) -> list[Alternative]:
    """A ``CHOICE`` token's alternatives, as the ``choice`` callback hands them up."""
    alternatives: list[Alternative] = []
    for nodes, weight in _split(text, span, ctx):
        expansion = nodes[0] if len(nodes) == 1 else Sequence(items=tuple(nodes), span=nodes[0].span)
        if weight is None:
            alternatives.append(Alternative(expansion=expansion, span=expansion.span))
        else:
            alternatives.append(Alternative(expansion=expansion, weight=weight_value(weight[0]), span=weight[1]))
    return alternatives


def _split(text: str, span: SourceSpan, ctx: ReadContext) -> list[tuple[list[Expansion], _Weight | None]]:
    """(units, weight) of each alternative in a run the fast lexer matched (so well formed)."""
    alternatives: list[tuple[list[Expansion], _Weight | None]] = []
    nodes: list[Expansion] = []
    outer: list[Expansion] = nodes
    bracket = span  # where the open '[' is (each ']' follows its '[')
    weight: _Weight | None = None
    source, line = span.source, span.line
    line_start = 1 - span.column  # the offset in ``text`` of the current line's first column
    counted = 0
    multiline = "\n" in text
    leaves = LEAVES
    plain_words = ctx.header["mode"] != "dtmf"  # a bare token is then just its text (§2.2.1)
    parts = ctx.phrase_parts
    assert parts is not None  # a PHRASE or CHOICE token comes from the fast mode only
    for match in parts.finditer(text):
        kind = match.lastgroup
        assert kind is not None  # every alternative of the pattern is a named group
        start = match.start(kind)
        if multiline:
            newlines = text.count("\n", counted, start)
            if newlines:
                line += newlines
                line_start = text.rfind("\n", counted, start) + 1
            counted = start
        part_span = SourceSpan(source, line, start - line_start + 1)
        if kind == "BARE_TOKEN" and plain_words:
            nodes.append(Token(text=match.group(kind), span=part_span))
        elif kind in _PARTS:
            nodes.append(leaves[kind](match.group(kind), part_span, ctx))
        elif kind == "VBAR":
            alternatives.append((nodes, weight))
            nodes = outer = []
            weight = None
        elif kind == "WEIGHT":
            weight = (match.group(kind), part_span)
        elif kind == "LSQB":
            outer, nodes, bracket = nodes, [], part_span
        else:  # RSQB
            inner = nodes[0] if len(nodes) == 1 else Sequence(items=tuple(nodes), span=nodes[0].span)
            nodes = outer
            nodes.append(Repeat(expansion=inner, min=0, max=1, span=bracket))
    alternatives.append((nodes, weight))
    return alternatives


def weight_value(text: str) -> float:
    """§2.4.1 ``/w/`` before an alternative."""
    return float(text.strip("/ \t\n"))


def tag(text: str, span: SourceSpan, ctx: ReadContext) -> Tag:
    return Tag(text=text[1:-1], span=span)


def block_tag(text: str, span: SourceSpan, ctx: ReadContext) -> Tag:
    return Tag(text=text[3:-3], span=span)


# a tag token's node (§2.6), from its text, its span and the read: by the token's type
TAGS: dict[str, Callable[[str, SourceSpan, ReadContext], Tag]] = {"TAG": tag, "BLOCK_TAG": block_tag}
# a leaf token's node, from its text, its span and the read: by the token's type
LEAVES: dict[str, Callable[[str, SourceSpan, ReadContext], Expansion]] = {
    "BARE_TOKEN": bare_token,
    "QUOTED_TOKEN": quoted_token,
    "RULE_REF": rule_ref,
    "EXTERNAL_REF": external_ref,
    **TAGS,
}
_PARTS = frozenset(PHRASE_PARTS)


def phrase_parts_pattern(terminals: dict[str, TerminalDef]) -> re.Pattern[str]:
    """The pattern that splits a ``PHRASE`` or ``CHOICE`` into its parts, from ``abnf.lark``'s terminals."""
    parts = [f"(?P<{name}>{terminals[name].pattern.to_regexp()})" for name in PHRASE_PARTS + ("WEIGHT",)]
    parts += [r"(?P<LSQB>\[)", r"(?P<RSQB>\])", r"(?P<VBAR>\|)"]
    return re.compile(SKIP + "(?:" + "|".join(parts) + ")")


def unescape(text: str) -> str:
    return _ESCAPE.sub(r"\1", text) if "\\" in text else text


def to_expansion(item: Item, ctx: ReadContext) -> Expansion:
    """An expansion from whatever a grammar rule handed up: a lexer token, choices or a node."""
    if isinstance(item, LarkToken):
        return LEAVES[item.type](item.value, ctx.span(item), ctx)
    if isinstance(item, list):
        return one_of(item, span=item[0].span)
    if isinstance(item, Alternative):
        return OneOf(alternatives=(item,), span=item.span)
    return item


# --- postfixes (§2.5 repeats, §2.7 language attachments) -------------------------------------


def with_lang(expansion: Expansion, lang: str) -> Expansion:
    """§2.7 ``!lang`` on a token, rule reference, repeat or group; otherwise wrap the node."""
    if isinstance(expansion, _LANG_NODES) and expansion.lang is None:
        if type(expansion) is Token:
            return Token(text=expansion.text, lang=lang, span=expansion.span)
        if type(expansion) is RuleRef:
            return RuleRef(uri=expansion.uri, media_type=expansion.media_type, lang=lang, span=expansion.span)
        if type(expansion) is Repeat:
            return Repeat(expansion=expansion.expansion, min=expansion.min, max=expansion.max,
                          prob=expansion.prob, lang=lang, span=expansion.span)
    return Sequence(items=(expansion,), lang=lang, span=expansion.span)


def repeat(expansion: Expansion, tok: LarkToken, ctx: ReadContext) -> Repeat:
    """§2.5 ``<n>``, ``<n-m>``, ``<n->`` with an optional ``/prob/``."""
    bounds = _REPEAT.fullmatch(tok.value)
    assert bounds is not None  # abnf.lark's REPEAT has this form
    low_text, dash, high_text, prob = bounds.groups()
    low = int(low_text)
    high = low if dash is None else (int(high_text) if high_text else None)
    if high is not None and high < low:
        raise ctx.error(f"repeat maximum {high} is below its minimum {low}", tok)
    return Repeat(expansion=expansion, min=low, max=high, prob=None if prob is None else float(prob),
                  span=expansion.span)


def apply_postfixes(expansion: Expansion, postfixes: list[LarkToken], ctx: ReadContext) -> Expansion:
    ctx.check_nesting(len(ctx.open) + len(postfixes), ctx.span(postfixes[-1]))
    for postfix in postfixes:
        if postfix.type == "REPEAT":
            expansion = repeat(expansion, postfix, ctx)
        else:
            expansion = with_lang(expansion, postfix.value[1:])
    return expansion
