"""The baseline's grammar: an SRGS grammar (with everything it references) written as JSGF.

The conversion is structural, rule for rule, as someone moving the grammar to pocketsphinx's own
grammar format would write it: a token becomes its words (as the compiler normalises them, then
spelled as the pronunciation dictionary has them), a ``one-of`` an alternation (``/w/`` weights
when the SRGS alternatives have any), a rule reference a JSGF rule reference, ``NULL``/``VOID``
the JSGF special rules, and a repeat ``<m-n>`` m copies followed by nested optionals (``[e [e]]``;
an open upper bound is ``( e )*`` or ``( e )+``). Tags are dropped: JSGF decoding gives words
only, and the benchmark interprets those words with our interpreter. ``$GARBAGE`` cannot be
searched by pocketsphinx and becomes ``<VOID>`` (as our FSG conversion drops it). ``repeat-prob``
has no JSGF equivalent and is ignored.

Why not our compiled acceptor, one JSGF rule per state: pocketsphinx expands every rule
reference inline, so a state reached along many paths is copied once per path; the digits
grammar (130 states) then exhausted memory. Written from the SRGS rules the grammar has the size
of the SRGS grammar inlined, as pocketsphinx users have it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from srgs.bundle import GrammarBundle
from srgs.model import Alternative, Expansion, Grammar, OneOf, Repeat, RuleRef, Sequence, SpecialRef, Tag, Token
from srgs.text import token_words

_PLAIN_TOKEN = re.compile(r"^[^\s=;|*+<>()\[\]{}/\"\\]+$")


class JsgfError(ValueError):
    """A grammar the conversion cannot write (a word with no pronunciation, a bad weight)."""


@dataclass(frozen=True, slots=True)
class JsgfGrammar:
    """JSGF text whose public rule ``<sentence>`` is the bundle's active rules, and the words used."""

    text: str
    words: tuple[str, ...]
    rules: int


def jsgf_token(word: str) -> str:
    """A word as a JSGF token: as is when it has no JSGF punctuation, else quoted."""
    if _PLAIN_TOKEN.match(word):
        return word
    if '"' in word or "\\" in word:
        raise JsgfError(f"word {word!r} cannot be written as a JSGF token")
    return f'"{word}"'


def bundle_to_jsgf(bundle: GrammarBundle, *, spell: Callable[[str], str | None] | None = None,
                   name: str = "srgs") -> JsgfGrammar:
    """``bundle`` as a JSGF grammar. ``spell(word)`` gives the dictionary spelling of a grammar
    word (None: it has none, a ``JsgfError`` naming every such word)."""
    converter = _Converter(bundle, spell)
    roots = [converter.rule_name(bundle.main, rule) for rule in bundle.active]
    if not roots:
        raise JsgfError("the grammar has no active rule")
    converter.run()
    if converter.missing:
        raise JsgfError("words with no pronunciation: " + ", ".join(sorted(converter.missing)))
    lines = ["#JSGF V1.0;", f"grammar {name};", "public <sentence> = " + " | ".join(roots) + ";"]
    lines.extend(f"{rule} = {body};" for rule, body in converter.bodies)
    return JsgfGrammar(text="\n".join(lines) + "\n", words=tuple(converter.words), rules=len(converter.bodies))


class _Converter:
    def __init__(self, bundle: GrammarBundle, spell: Callable[[str], str | None] | None):
        self.bundle = bundle
        self.spell = spell
        self.names: dict[tuple[str, str], str] = {}
        self.pending: list[tuple[str, str]] = []
        self.bodies: list[tuple[str, str]] = []
        self.words: list[str] = []
        self.spelled: dict[str, str | None] = {}
        self.missing: set[str] = set()

    def rule_name(self, grammar_key: str, rule: str) -> str:
        key = (grammar_key, rule)
        if key not in self.names:
            self.names[key] = f"<r{len(self.names)}>"
            self.pending.append(key)
        return self.names[key]

    def run(self) -> None:
        while self.pending:
            grammar_key, rule_name = self.pending.pop(0)
            grammar = self.bundle.grammars[grammar_key]
            rule = next((r for r in grammar.rules if r.name == rule_name), None)
            if rule is None:
                raise JsgfError(f"{grammar_key}: no rule {rule_name!r}")
            body = self.expansion(rule.expansion, grammar_key, grammar, grammar.language) or "<NULL>"
            self.bodies.append((self.names[(grammar_key, rule_name)], body))

    def word(self, word: str) -> str | None:
        if word not in self.spelled:
            found = self.spell(word) if self.spell is not None else word
            self.spelled[word] = found
            if found is None:
                self.missing.add(word)
            elif found not in self.words:
                self.words.append(found)
        return self.spelled[word]

    def expansion(self, node: Expansion, key: str, grammar: Grammar, lang: str | None) -> str | None:
        """JSGF for ``node``; None when it reads nothing (a tag)."""
        if isinstance(node, Tag):
            return None
        if isinstance(node, Token):
            words = token_words(node.text, mode=grammar.mode, language=node.lang or lang)
            spelled = [self.word(word) for word in words]
            if not words:
                return "<NULL>"
            return " ".join(jsgf_token(word) for word in spelled if word is not None) or "<VOID>"
        if isinstance(node, SpecialRef):
            return "<NULL>" if node.name == "NULL" else "<VOID>"
        if isinstance(node, RuleRef):
            target_key, target_rule = self.bundle.target(key, node)
            if not target_rule:
                target_rule = self.bundle.grammars[target_key].root or ""
            return self.rule_name(target_key, target_rule)
        if isinstance(node, Sequence):
            parts = [part for item in node.items
                     if (part := self.expansion(item, key, grammar, node.lang or lang)) is not None]
            if not parts:
                return None
            return parts[0] if len(parts) == 1 else "(" + " ".join(parts) + ")"
        if isinstance(node, OneOf):
            return self.one_of(node.alternatives, key, grammar, node.lang or lang)
        if isinstance(node, Repeat):
            inner = self.expansion(node.expansion, key, grammar, node.lang or lang)
            if inner is None:
                return None
            return repeat_jsgf(inner, node.min, node.max)
        raise JsgfError(f"cannot convert {type(node).__name__}")

    def one_of(self, alternatives: tuple[Alternative, ...], key: str, grammar: Grammar, lang: str | None) -> str:
        weighted = any(alt.weight is not None for alt in alternatives)
        parts: list[str] = []
        for alt in alternatives:
            weight = 1.0 if alt.weight is None else alt.weight
            if weight <= 0:
                continue  # never chosen
            body = self.expansion(alt.expansion, key, grammar, lang) or "<NULL>"
            parts.append(f"/{weight:g}/ {body}" if weighted else body)
        if not parts:
            return "<VOID>"
        return "(" + " | ".join(parts) + ")"


def repeat_jsgf(inner: str, low: int, high: int | None) -> str:
    """``inner`` repeated ``low`` to ``high`` times (None: no upper bound) in JSGF."""
    if high is not None and high < low:
        raise JsgfError(f"repeat {low}-{high}")
    if high == 0:
        return "<NULL>"
    parts = [inner] * low
    if high is None:
        if low == 0:
            return f"({inner})*"
        parts[-1] = f"({inner})+"
    else:
        optional = ""
        for _ in range(high - low):
            optional = f"[{inner}{' ' + optional if optional else ''}]"
        if optional:
            parts.append(optional)
    return parts[0] if len(parts) == 1 else "(" + " ".join(parts) + ")"


__all__ = ["JsgfError", "JsgfGrammar", "bundle_to_jsgf", "jsgf_token", "repeat_jsgf"]
