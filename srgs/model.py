"""The grammar model: one immutable tree for both SRGS forms (SRGS 1.0 §2-§4).

Both readers (XML, ABNF) build these frozen dataclasses and both writers read them, so the
compiler, the interpreter and the server never see which form a grammar was written in.

Canonical form (what makes ``parse(serialise(g)) == g`` hold across the two forms):

* A ``Sequence`` never holds another ``Sequence`` without a language, and never has exactly one
  item unless it carries a language (``sequence()`` builds it that way). An empty sequence is an
  empty item: it matches nothing and succeeds, like ``$NULL``.
* A ``OneOf`` with a single unweighted alternative is just that alternative, in a one-item
  ``Sequence`` when it carries a language (``one_of()`` builds it that way).
* ``[x]`` and ``x<0-1>`` are both ``Repeat(x, 0, 1)``.
* Source positions (``span``) never take part in equality.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal, TypeGuard

Scope = Literal["public", "private"]
Mode = Literal["voice", "dtmf"]
SpecialName = Literal["NULL", "VOID", "GARBAGE"]

SPECIAL_NAMES: tuple[str, ...] = ("NULL", "VOID", "GARBAGE")


def is_special_name(name: str) -> TypeGuard[SpecialName]:
    """Whether ``name`` is one of ``SPECIAL_NAMES`` (``$NULL``, ``$VOID``, ``$GARBAGE``)."""
    return name in SPECIAL_NAMES


@dataclass(frozen=True, slots=True)
class SourceSpan:
    """Where a node starts in its source: a path or URI, 1-based line and column."""

    source: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.source}:{self.line}:{self.column}"


UNKNOWN_SPAN = SourceSpan("<unknown>", 0, 0)


def _span() -> SourceSpan:
    return field(default=UNKNOWN_SPAN, compare=False, repr=False)


# --- expansions (SRGS §2) -------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Token:
    """A token (§2.2); ``text`` may hold spaces ("new york") and is still one token."""

    text: str
    lang: str | None = None
    span: SourceSpan = _span()


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleRef:
    """A reference to a rule (§2.2): ``#name`` local, ``uri#name`` or ``uri`` external.

    ``uri`` is kept exactly as written; ``media_type`` is the ``type`` attribute / ABNF ``~<...>``.
    """

    uri: str
    media_type: str | None = None
    lang: str | None = None
    span: SourceSpan = _span()

    @property
    def is_local(self) -> bool:
        return self.uri.startswith("#")

    @property
    def grammar_uri(self) -> str:
        """The grammar part of the URI ('' for a local reference)."""
        return self.uri.split("#", 1)[0]

    @property
    def rule_name(self) -> str | None:
        """The fragment (the rule's name), or None for a reference to a grammar's root."""
        return self.uri.split("#", 1)[1] if "#" in self.uri else None


@dataclass(frozen=True, slots=True, kw_only=True)
class SpecialRef:
    """``NULL``, ``VOID`` or ``GARBAGE`` (§2.2.3)."""

    name: SpecialName
    span: SourceSpan = _span()


@dataclass(frozen=True, slots=True, kw_only=True)
class Tag:
    """A semantic tag (§2.6): its text exactly as written, without delimiters."""

    text: str
    span: SourceSpan = _span()


@dataclass(frozen=True, slots=True, kw_only=True)
class Sequence:
    """Expansions in order (§2.3); an empty one is an empty ``<item/>``."""

    items: tuple[Expansion, ...]
    lang: str | None = None
    span: SourceSpan = _span()


@dataclass(frozen=True, slots=True, kw_only=True)
class Alternative:
    """One choice of a ``OneOf`` with its optional weight (§2.4.1)."""

    expansion: Expansion
    weight: float | None = None
    span: SourceSpan = _span()


@dataclass(frozen=True, slots=True, kw_only=True)
class OneOf:
    """Alternatives (§2.4)."""

    alternatives: tuple[Alternative, ...]
    lang: str | None = None
    span: SourceSpan = _span()


@dataclass(frozen=True, slots=True, kw_only=True)
class Repeat:
    """An expansion repeated ``min`` to ``max`` times, ``max=None`` unbounded (§2.5)."""

    expansion: Expansion
    min: int
    max: int | None
    prob: float | None = None
    lang: str | None = None
    span: SourceSpan = _span()


Expansion = Token | RuleRef | SpecialRef | Tag | Sequence | OneOf | Repeat


def sequence(items: Iterable[Expansion], *, lang: str | None = None, span: SourceSpan = UNKNOWN_SPAN) -> Expansion:
    """Build a canonical sequence: nested language-less sequences flattened, a lone item unwrapped."""
    flat: list[Expansion] = []
    for item in items:
        if isinstance(item, Sequence) and item.lang is None:
            flat.extend(item.items)
        else:
            flat.append(item)
    if len(flat) == 1 and lang is None:
        return flat[0]
    return Sequence(items=tuple(flat), lang=lang, span=span)


def one_of(alternatives: Iterable[Alternative], *, lang: str | None = None, span: SourceSpan = UNKNOWN_SPAN) -> Expansion:
    """Build a canonical one-of: a lone unweighted alternative is unwrapped (kept in a one-item
    sequence when the one-of carries a language, as ``<item xml:lang>`` / ``(x)!lang`` would)."""
    alts = tuple(alternatives)
    if len(alts) == 1 and alts[0].weight is None:
        return sequence([alts[0].expansion], lang=lang, span=span)
    return OneOf(alternatives=alts, lang=lang, span=span)


# --- rules and grammar (SRGS §3, §4) ----------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """A rule definition (§3); ``examples`` are ``<example>`` / ABNF ``@example`` phrases."""

    name: str
    scope: Scope = "private"
    expansion: Expansion
    examples: tuple[str, ...] = ()
    span: SourceSpan = _span()


@dataclass(frozen=True, slots=True, kw_only=True)
class Lexicon:
    """A pronunciation lexicon declaration (§4.10)."""

    uri: str
    media_type: str | None = None
    span: SourceSpan = _span()


@dataclass(frozen=True, slots=True, kw_only=True)
class Meta:
    """``<meta name|http-equiv content>`` / ABNF ``meta|http-equiv "k" is "v";`` (§4.11.1)."""

    name: str
    content: str
    http_equiv: bool = False
    span: SourceSpan = _span()


@dataclass(frozen=True, slots=True, kw_only=True)
class Grammar:
    """A whole grammar document (§4).

    ``uri`` is where it was read from (the base for relative references when ``base`` is absent).
    ``metadata`` is the raw XML of ``<metadata>`` (XML form only; ABNF cannot carry it, so it does
    not take part in equality).
    """

    version: str = "1.0"
    language: str | None = None
    mode: Mode = "voice"
    root: str | None = None
    tag_format: str | None = None
    base: str | None = None
    lexicons: tuple[Lexicon, ...] = ()
    metas: tuple[Meta, ...] = ()
    tags: tuple[Tag, ...] = ()
    rules: tuple[Rule, ...] = ()
    metadata: str | None = field(default=None, compare=False)
    uri: str = field(default="", compare=False)
    span: SourceSpan = _span()

    def rule(self, name: str) -> Rule | None:
        for rule in self.rules:
            if rule.name == name:
                return rule
        return None

    @property
    def rule_map(self) -> dict[str, Rule]:
        return {rule.name: rule for rule in self.rules}

    @property
    def public_rules(self) -> tuple[Rule, ...]:
        return tuple(rule for rule in self.rules if rule.scope == "public")

    def meta(self, name: str) -> str | None:
        for meta in self.metas:
            if meta.name == name and not meta.http_equiv:
                return meta.content
        return None


def iter_expansions(expansion: Expansion) -> Iterator[Expansion]:
    """Every node of an expansion tree, depth first, parents before children."""
    stack = [expansion]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, Sequence):
            stack.extend(reversed(node.items))
        elif isinstance(node, OneOf):
            stack.extend(reversed([alt.expansion for alt in node.alternatives]))
        elif isinstance(node, Repeat):
            stack.append(node.expansion)
