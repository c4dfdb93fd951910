"""The grammar model written as an SRGS XML document (SRGS 1.0 §2-§4, ``application/srgs+xml``).

The output is what ``srgs.xml.reader`` reads back to an equal model: ``read_xml(write_xml(g))
== g`` for every canonical grammar. Numbers are written as exact decimals (the shortest repr,
never an exponent: SRGS §2.4.1 allows none), text and attribute values are escaped so that XML
white-space normalisation cannot change them.
"""

from __future__ import annotations

from decimal import Decimal

from ..model import Alternative, Expansion, Grammar, OneOf, Repeat, Rule, RuleRef, Sequence, SpecialRef, Tag, Token
from ..text import DTMF_KEY_WORDS
from .reader import GRAMMAR_NS

_INDENT = "  "
_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ATTRIBUTE_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\t": "&#9;", "\n": "&#10;", "\r": "&#13;"}
)


def write_xml(grammar: Grammar) -> str:
    """The grammar as a pretty-printed SRGS XML document (one string, ending in a newline)."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<grammar" + _attributes(_grammar_attributes(grammar)) + ">"]
    inner = _INDENT
    for lexicon in grammar.lexicons:
        lines.append(f"{inner}<lexicon{_attributes([('uri', lexicon.uri), ('type', lexicon.media_type)])}/>")
    for meta in grammar.metas:
        key = "http-equiv" if meta.http_equiv else "name"
        lines.append(f"{inner}<meta{_attributes([(key, meta.name), ('content', meta.content)])}/>")
    if grammar.metadata is not None:
        lines.append(f"{inner}<metadata>{grammar.metadata}</metadata>")
    for tag in grammar.tags:
        lines.append(f"{inner}<tag>{_text(tag.text)}</tag>")
    writer = _ExpansionWriter(dtmf=grammar.mode == "dtmf")
    for rule in grammar.rules:
        lines.extend(_rule_lines(rule, writer, inner))
    lines.append("</grammar>")
    return "\n".join(lines) + "\n"


def _grammar_attributes(grammar: Grammar) -> list[tuple[str, str | None]]:
    """``<grammar>`` attributes (§4.1-§4.9): namespace, version, language, mode, root, ..."""
    return [
        ("xmlns", GRAMMAR_NS),
        ("version", grammar.version),
        ("xml:lang", grammar.language),
        ("mode", grammar.mode),
        ("root", grammar.root),
        ("tag-format", grammar.tag_format),
        ("xml:base", grammar.base),
    ]


def _rule_lines(rule: Rule, writer: _ExpansionWriter, indent: str) -> list[str]:
    """``<rule id scope>`` with its examples (§3.3) and its expansion."""
    inner = indent + _INDENT
    lines = [f"{indent}<rule{_attributes([('id', rule.name), ('scope', rule.scope)])}>"]
    lines.extend(f"{inner}<example>{_text(example)}</example>" for example in rule.examples)
    lines.extend(writer.content(rule.expansion, inner) or [f"{inner}<item/>"])  # a rule is never empty
    lines.append(f"{indent}</rule>")
    return lines


class _ExpansionWriter:
    """Writes expansions (§2) as XML lines; ``content`` is what goes between an item's tags."""

    def __init__(self, *, dtmf: bool):
        self.dtmf = dtmf

    def content(self, node: Expansion, indent: str) -> list[str]:
        """A language-less sequence writes its items in place; anything else is one element."""
        if isinstance(node, Sequence) and node.lang is None:
            return [line for item in node.items for line in self.element(item, indent)]
        return self.element(node, indent)

    def element(self, node: Expansion, indent: str) -> list[str]:
        if isinstance(node, Token):
            return [indent + self.token(node)]
        if isinstance(node, RuleRef):
            attributes = [("uri", node.uri), ("type", node.media_type), ("xml:lang", node.lang)]
            return [f"{indent}<ruleref{_attributes(attributes)}/>"]
        if isinstance(node, SpecialRef):
            return [f'{indent}<ruleref special="{node.name}"/>']
        if isinstance(node, Tag):
            return [f"{indent}<tag>{_text(node.text)}</tag>"]
        if isinstance(node, Sequence):
            return self.item([("xml:lang", node.lang)], Sequence(items=node.items), indent)
        if isinstance(node, Repeat):
            return self.item(_repeat_attributes(node), node.expansion, indent)
        if isinstance(node, OneOf):
            inner = indent + _INDENT
            lines = [f"{indent}<one-of{_attributes([('xml:lang', node.lang)])}>"]
            for alternative in node.alternatives:
                lines.extend(self.alternative(alternative, inner))
            lines.append(f"{indent}</one-of>")
            return lines
        raise TypeError(f"not an expansion: {node!r}")

    def alternative(self, alternative: Alternative, indent: str) -> list[str]:
        """One ``<item weight>`` of a one-of; a repeat or a sequence with a language shares it."""
        weight = [("weight", None if alternative.weight is None else _decimal(alternative.weight))]
        node = alternative.expansion
        if isinstance(node, Repeat):
            return self.item(weight + _repeat_attributes(node), node.expansion, indent)
        if isinstance(node, Sequence) and node.lang is not None:
            return self.item(weight + [("xml:lang", node.lang)], Sequence(items=node.items), indent)
        return self.item(weight, node, indent)

    def item(self, attributes: list[tuple[str, str | None]], content: Expansion, indent: str) -> list[str]:
        """``<item ...>content</item>``, or ``<item .../>`` when the content is empty."""
        inner_indent = indent + _INDENT
        inner = self.content(content, inner_indent)
        start = f"{indent}<item{_attributes(attributes)}"
        if not inner:
            return [start + "/>"]
        if len(inner) == 1:
            return [f"{start}>{inner[0][len(inner_indent):]}</item>"]
        return [start + ">", *inner, f"{indent}</item>"]

    def token(self, token: Token) -> str:
        """A bare word when it reads back as itself; otherwise ``<token>`` (§2.2.1)."""
        text = token.text
        plain = (
            token.lang is None
            and text
            and '"' not in text
            and not any(char in text for char in " \t\r\n")
            and not (self.dtmf and text in DTMF_KEY_WORDS)
        )
        if plain:
            return _text(text)
        return f"<token{_attributes([('xml:lang', token.lang)])}>{_text(text)}</token>"


def _repeat_attributes(node: Repeat) -> list[tuple[str, str | None]]:
    """``repeat`` "n", "n-m" or "n-" (§2.5), ``repeat-prob`` (§2.5.1) and the language."""
    if node.max is None:
        bounds = f"{node.min}-"
    elif node.max == node.min:
        bounds = str(node.min)
    else:
        bounds = f"{node.min}-{node.max}"
    prob = None if node.prob is None else _decimal(node.prob)
    return [("repeat", bounds), ("repeat-prob", prob), ("xml:lang", node.lang)]


def _decimal(number: float) -> str:
    """The shortest decimal that reads back as exactly ``number``, without an exponent."""
    text = format(Decimal(repr(float(number))), "f")
    return text if "." in text else text + ".0"


def _attributes(pairs: list[tuple[str, str | None]]) -> str:
    return "".join(f' {name}="{value.translate(_ATTRIBUTE_ESCAPES)}"' for name, value in pairs if value is not None)


def _text(text: str) -> str:
    return text.translate(_TEXT_ESCAPES)
