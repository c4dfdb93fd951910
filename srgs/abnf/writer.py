"""Write a grammar model as an SRGS ABNF document (SRGS 1.0 §4, precedence §2.8).

``read_abnf(write_abnf(g), ...) == g`` for every canonical model: parentheses are added only where
precedence needs them or where ``abnf_reader`` would otherwise build a different node (a group
with a language), tokens are quoted when they would not read back as the same bare token.
``Grammar.metadata`` (XML only) is dropped; examples are written one per line with a line
break inside one collapsed to spaces, since an ``@example`` is one line.
"""

from __future__ import annotations

import math
import re
from typing import Protocol

from ..errors import GrammarSyntaxError
from ..model import (
    SPECIAL_NAMES,
    Expansion,
    Grammar,
    OneOf,
    Repeat,
    Rule,
    RuleRef,
    Sequence,
    SourceSpan,
    SpecialRef,
    Tag,
    Token,
)
from ..text import DTMF_KEY_WORDS


class _Located(Protocol):
    """What an error is reported at: a model node, rule, declaration or grammar."""

    @property
    def span(self) -> SourceSpan: ...


_BARE = re.compile(r'[^\s;|*+?()\[\]{}<>/$!="~]+')
_RULE_NAME = re.compile(r"[^\W\d][\w\-]*")
_LANGUAGE = re.compile(r"[A-Za-z0-9_\-]+")


def write_abnf(grammar: Grammar) -> str:
    """The ABNF text of ``grammar``: header, declarations, then the rules in order."""
    if grammar.version != "1.0":
        raise GrammarSyntaxError(f"ABNF can only carry SRGS version 1.0, not {grammar.version!r}", grammar.span)
    writer = _Writer(grammar.mode)
    lines = ["#ABNF 1.0 UTF-8;"]
    if grammar.language is not None:
        lines.append(f"language {_language(grammar.language, grammar)};")
    lines.append(f"mode {grammar.mode};")
    if grammar.root is not None:
        lines.append(f"root ${_rule_name(grammar.root, grammar)};")
    if grammar.tag_format is not None:
        lines.append(f"tag-format {_angle(grammar.tag_format, grammar)};")
    if grammar.base is not None:
        lines.append(f"base {_angle(grammar.base, grammar)};")
    for lexicon in grammar.lexicons:
        media = "" if lexicon.media_type is None else "~" + _angle(lexicon.media_type, lexicon)
        lines.append(f"lexicon {_angle(lexicon.uri, lexicon)}{media};")
    for meta in grammar.metas:
        keyword = "http-equiv" if meta.http_equiv else "meta"
        lines.append(f"{keyword} {_string(meta.name)} is {_string(meta.content)};")
    for tag in grammar.tags:
        lines.append(f"{_tag(tag)};")
    for rule in grammar.rules:
        lines.append("")
        lines.extend(_rule(rule, writer, grammar))
    return "\n".join(lines) + "\n"


def _rule(rule: Rule, writer: _Writer, grammar: Grammar) -> list[str]:
    lines: list[str] = []
    if rule.examples:
        lines.append("/**")
        for example in rule.examples:
            text = example.strip()
            if "\n" in text or "\r" in text:  # an @example is one line (§4.12)
                text = " ".join(text.split())
            text = text.replace("*/", "* /")
            lines.append(f" * @example {text}".rstrip())
        lines.append(" */")
    name = _rule_name(rule.name, rule)
    lines.append(f"{rule.scope} ${name} = {writer.choice(rule.expansion)};")
    return lines


class _Writer:
    """Expansions at three precedence levels (§2.8): alternatives < sequence < unit."""

    def __init__(self, mode: str):
        self.dtmf = mode == "dtmf"

    def choice(self, node: Expansion) -> str:
        """Where alternatives may stand unparenthesised: a rule body, inside ( ) or [ ]."""
        if type(node) is OneOf and node.lang is None and _is_choice(node):
            return self.alternatives(node)
        return self.sequence(node)

    def sequence(self, node: Expansion) -> str:
        """Where a sequence may stand unparenthesised: an alternative."""
        if type(node) is Sequence and node.lang is None and len(node.items) > 1:
            return " ".join(self.unit(item) for item in node.items)
        return self.unit(node)

    def unit(self, node: Expansion) -> str:
        """A sequence item or the operand of a postfix ``<m-n>`` / ``!lang``."""
        if type(node) is Token:
            return self.token(node) + _lang(node.lang)
        if type(node) is RuleRef:
            return _rule_ref(node) + _lang(node.lang)
        if type(node) is SpecialRef:
            return "$" + node.name
        if type(node) is Tag:
            return _tag(node)
        if type(node) is Repeat:
            return self.repeat(node)
        if type(node) is Sequence:
            if node.lang is None:
                if len(node.items) == 1:
                    return self.unit(node.items[0])
                return "(" + " ".join(self.unit(item) for item in node.items) + ")"
            # the reader turns `(x)!l` into Sequence((x,), l): x must not be a bare choice
            return "(" + " ".join(self.unit(item) for item in node.items) + ")" + _lang(node.lang)
        if type(node) is OneOf:
            if not _is_choice(node):
                # one unweighted alternative: `(x)!l` reads back as Sequence((x,), l), same meaning
                inner = self.unit(node.alternatives[0].expansion)
                return inner if node.lang is None else "(" + inner + ")" + _lang(node.lang)
            return "(" + self.alternatives(node) + ")" + _lang(node.lang)
        raise TypeError(f"not an expansion: {node!r}")

    def alternatives(self, node: OneOf) -> str:
        parts: list[str] = []
        for alt in node.alternatives:
            weight = "" if alt.weight is None else f"/{_number(alt.weight, alt)}/ "
            parts.append(weight + self.sequence(alt.expansion))
        return " | ".join(parts)

    def repeat(self, node: Repeat) -> str:
        if node.min == 0 and node.max == 1 and node.prob is None:
            return "[" + self.choice(node.expansion) + "]" + _lang(node.lang)
        bounds = str(node.min) if node.max == node.min else f"{node.min}-{'' if node.max is None else node.max}"
        prob = "" if node.prob is None else f" /{_number(node.prob, node)}/"
        return f"{self.unit(node.expansion)}<{bounds}{prob}>{_lang(node.lang)}"

    def token(self, node: Token) -> str:
        text = node.text
        if not text.strip():
            raise GrammarSyntaxError("an empty token cannot be written in ABNF", node.span)
        if _BARE.fullmatch(text) and not (self.dtmf and ("#" in text or text.lower() in DTMF_KEY_WORDS)):
            return text
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _is_choice(node: OneOf) -> bool:
    """Whether the reader sees a choice: several alternatives, or one with a weight."""
    return len(node.alternatives) > 1 or node.alternatives[0].weight is not None


def _rule_ref(node: RuleRef) -> str:
    name = node.rule_name if node.is_local else None
    if name is not None and node.media_type is None and _RULE_NAME.fullmatch(name) and name not in SPECIAL_NAMES:
        return "$" + name
    if not node.uri or re.search(r"[\s>]", node.uri):
        raise GrammarSyntaxError(f"rule reference {node.uri!r} cannot be written in ABNF", node.span)
    media = "" if node.media_type is None else "~" + _angle(node.media_type, node)
    return f"$<{node.uri}>{media}"


def _tag(tag: Tag) -> str:
    """``{text}`` unless the text holds ``}`` (or starts like ``{!{``): then ``{!{text}!}`` (§2.6)."""
    text = tag.text
    if "}" not in text and not text.startswith("!{"):
        return "{" + text + "}"
    if "}!}" in text or text.endswith("}!"):
        raise GrammarSyntaxError(f"tag {text!r} contains '}}!}}' and cannot be written in ABNF", tag.span)
    return "{!{" + text + "}!}"


def _lang(lang: str | None) -> str:
    if lang is None:
        return ""
    if not _LANGUAGE.fullmatch(lang):
        raise GrammarSyntaxError(f"language {lang!r} cannot be written in ABNF")
    return "!" + lang


def _language(lang: str, where: _Located) -> str:
    if not _LANGUAGE.fullmatch(lang):
        raise GrammarSyntaxError(f"language {lang!r} cannot be written in ABNF", where.span)
    return lang


def _rule_name(name: str, where: _Located) -> str:
    if not _RULE_NAME.fullmatch(name):
        raise GrammarSyntaxError(f"rule name {name!r} cannot be written in ABNF", where.span)
    return name


def _angle(value: str, where: _Located) -> str:
    if ">" in value or "\n" in value:
        raise GrammarSyntaxError(f"{value!r} cannot be written between < > in ABNF", where.span)
    return f"<{value}>"


def _string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _number(value: float, where: _Located) -> str:
    if not math.isfinite(value):
        raise GrammarSyntaxError(f"{value!r} cannot be written as an ABNF weight or probability", where.span)
    return repr(float(value))
