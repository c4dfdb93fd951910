"""A grammar with everything it references, resolved: what the compiler and interpreter take.

SRGS §2.2.2: a rule reference names a rule of the same grammar (``#name``), a rule of another
grammar (``uri#name``) or another grammar's root (``uri``). The resolver (``srgs.load.resolve``) reads
every grammar reachable from the main one and records where each external reference leads, so
that nothing downstream ever touches a URI again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

from .errors import ResolveError
from .model import Grammar, RuleRef

if TYPE_CHECKING:
    from .passes.recursion import RuleGraph


@dataclass(frozen=True, slots=True, kw_only=True)
class GrammarBundle:
    """The main grammar (``main``), every grammar it reaches, and the active rules.

    ``grammars`` maps a grammar key (its absolute URI, or the source name for an inline grammar)
    to the grammar. ``links`` maps ``(grammar key, reference uri as written)`` to
    ``(target grammar key, target rule name)`` for every external reference.
    ``labels`` gives each external reference as the W3C parse notation prints it (``$<uri#rule>``,
    prefixed by the referring grammar's base). ``source_hashes`` holds the sha256 of each grammar's
    source bytes, when it was read from a source (the compile cache keys on it). ``active`` lists
    the rules of the main grammar recognition starts from: the root by default, the fragment of
    ``file#rule``, or several rules active in parallel.
    """

    main: str
    grammars: Mapping[str, Grammar]
    links: Mapping[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    labels: Mapping[tuple[str, str], str] = field(default_factory=dict)
    source_hashes: Mapping[str, str] = field(default_factory=dict)
    active: tuple[str, ...] = ()
    # The rule graph of every rule, analysed once by the loader (None for a bundle made
    # otherwise); the compiler restricts it to the active rules instead of analysing again.
    analysis: RuleGraph | None = field(default=None, compare=False, repr=False)

    @classmethod
    def single(cls, grammar: Grammar, *, key: str | None = None, active: tuple[str, ...] = ()) -> GrammarBundle:
        """A bundle of one self-contained grammar (no external references)."""
        key = key or grammar.uri or "<inline>"
        rules = active or ((grammar.root,) if grammar.root else ())
        return cls(main=key, grammars=MappingProxyType({key: grammar}), active=rules)

    @property
    def main_grammar(self) -> Grammar:
        return self.grammars[self.main]

    def target(self, grammar_key: str, ref: RuleRef) -> tuple[str, str]:
        """Where a reference in grammar ``grammar_key`` leads: ``(grammar key, rule name)``."""
        if ref.is_local:
            return grammar_key, ref.rule_name or ""
        try:
            return self.links[(grammar_key, ref.uri)]
        except KeyError:
            raise ResolveError(f"unresolved reference {ref.uri!r}", ref.span) from None

    def label(self, grammar_key: str, ref: RuleRef) -> str:
        """How a reference prints in the W3C parse notation: ``$name`` or ``$<uri#rule>``."""
        if ref.is_local:
            return f"${ref.rule_name}"
        return self.labels.get((grammar_key, ref.uri), f"$<{ref.uri}>")
