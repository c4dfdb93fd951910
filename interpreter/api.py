"""INTERPRET TEXT as a Python API: load grammars once, interpret many texts, from many threads.

``Interpreter.load("pizza.grxml")`` reads, resolves and compiles (through the compile cache);
``interpret(text)`` normalises the text, finds the n best parses in every active grammar,
evaluates their SISR tags and returns a ``RecognitionResult`` (the RECOGNITION_RESULT body of
the ASR WebSocket API). Nothing here holds mutable state after construction, so one instance
serves every thread (the script sandbox keeps one engine per thread).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from srgs.bundle import GrammarBundle
from srgs.compile import CompiledGrammar, CompileOptions, compile_cached
from srgs.errors import InputLimitError
from srgs.fetch import FetchOptions
from srgs.limits import DEFAULT_LIMITS
from srgs.loader import bundle_from_text, load_bundle
from srgs.text import normalize_words

from .match import MatchResult, MatchStatus, match_status
from .parse import can_continue, complete, is_prefix, parse_words
from .results import Alternative, Interpretation, RecognitionResult
from .script import ScriptLimits
from .sisr import GrammarSemantics, SemanticError, SemanticEvaluator
from .tree import Parse, ParseGarbage, ParseRule

DEFAULT_NBEST = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class InterpreterOptions:
    """How grammars are read and compiled, and how tags run."""

    fetch: FetchOptions = field(default_factory=FetchOptions)
    compile: CompileOptions | None = None
    script_limits: ScriptLimits = field(default_factory=ScriptLimits)
    nbest: int = DEFAULT_NBEST
    semantics: bool = True  # False: parse trees only, tags are not run (e.g. for --format tree)


@dataclass(frozen=True, slots=True, kw_only=True)
class ActiveGrammar:
    """One compiled grammar ready to interpret: its name in results (``lm``) and its weight."""

    name: str
    compiled: CompiledGrammar
    evaluator: SemanticEvaluator | None
    mode: str
    by_character: bool = False  # split CJK characters of the text: the grammar's tokens were
    weight_cost: float = 0.0


class Interpreter:
    """Several grammars active at once (a START_RECOGNITION URI list), each with a weight."""

    def __init__(self, grammars: Sequence[ActiveGrammar], *, nbest: int = DEFAULT_NBEST):
        if not grammars:
            raise ValueError("an Interpreter needs at least one grammar")
        self.grammars = tuple(grammars)
        self.nbest = nbest

    # --- construction ---------------------------------------------------------------------

    @classmethod
    def load(
        cls,
        locations: str | Sequence[str],
        *,
        weights: Sequence[float] | None = None,
        options: InterpreterOptions | None = None,
    ) -> "Interpreter":
        """Load grammars by location (path, URI, ``builtin:NAME``, ``#rule`` for a rule)."""
        options = options or InterpreterOptions()
        names = [locations] if isinstance(locations, str) else list(locations)
        bundles = [(name, load_bundle(name, options=options.fetch)) for name in names]
        return cls.from_bundles(bundles, weights=weights, options=options)

    @classmethod
    def from_text(cls, text: str | bytes, *, name: str = "<inline>", options: InterpreterOptions | None = None) -> "Interpreter":
        """One grammar given as its source text (either form)."""
        options = options or InterpreterOptions()
        bundle = bundle_from_text(text, source=name, options=options.fetch)
        return cls.from_bundles([(name, bundle)], options=options)

    @classmethod
    def from_bundles(
        cls,
        bundles: Sequence[tuple[str, GrammarBundle]],
        *,
        weights: Sequence[float] | None = None,
        options: InterpreterOptions | None = None,
    ) -> "Interpreter":
        options = options or InterpreterOptions()
        weights = list(weights) if weights is not None else [1.0] * len(bundles)
        if len(weights) != len(bundles) or any(w <= 0 for w in weights):
            raise ValueError("one positive weight per grammar")
        total = sum(weights)
        active = []
        for (name, bundle), weight in zip(bundles, weights):
            compiled = compile_cached(bundle, options=options.compile)  # content-keyed cache
            active.append(
                ActiveGrammar(
                    name=name,
                    compiled=compiled,
                    evaluator=SemanticEvaluator(semantics_of(bundle), limits=options.script_limits)
                    if options.semantics
                    else None,
                    mode=bundle.main_grammar.mode,
                    by_character=bool(compiled.metadata.get("character_words")),
                    weight_cost=-math.log(weight / total),
                )
            )
        return cls(active, nbest=options.nbest)

    # --- interpretation -------------------------------------------------------------------

    def interpret(self, text: str, *, nbest: int | None = None) -> RecognitionResult:
        """Every grammar's n best parses of ``text`` with their SISR values, best first."""
        _check_text(text)
        nbest = max(1, nbest or self.nbest)
        scored: list[tuple[float, ActiveGrammar, tuple[str, ...], list[Parse]]] = []
        for grammar in self.grammars:
            words = normalize_words(text, mode=grammar.mode, by_character=grammar.by_character)
            parses = parse_words(grammar.compiled, words, nbest=nbest) if words else []
            if parses:
                scored.append((parses[0].cost + grammar.weight_cost, grammar, words, parses))
        if not scored:
            return RecognitionResult(status="NO_MATCH", alternatives=())
        scored.sort(key=lambda item: item[0])
        best_cost = scored[0][0]
        alternatives = []
        failures = []
        for _, grammar, words, parses in scored:
            interpretations = []
            for parse in parses[:nbest]:
                score = _confidence(parse.cost + grammar.weight_cost - best_cost, parse.tree, len(words))
                try:
                    value = _evaluate(grammar, parse.tree, score)
                except SemanticError as exc:
                    failures.append(f"{grammar.name}: {exc}")
                    continue
                interpretations.append(Interpretation(value=value, score=score, tree=parse.tree))
            if not interpretations:
                continue
            alternatives.append(
                Alternative(
                    text=" ".join(words),
                    score=max(i.score for i in interpretations),
                    lm=grammar.name,
                    interpretations=tuple(interpretations),
                )
            )
        if not alternatives:
            return RecognitionResult(status="FAILURE", error="; ".join(failures))
        return RecognitionResult(status="RECOGNIZED", alternatives=tuple(alternatives[:nbest]))

    def match(self, tokens: str | Sequence[str]) -> MatchResult:
        """Incremental status of a token prefix (DTMF ``715#`` is split into keys)."""
        _check_text(tokens if isinstance(tokens, str) else " ".join(tokens))
        any_complete = any_prefix = any_more = False
        winner: ActiveGrammar | None = None
        for grammar in self.grammars:
            words = _words(tokens, grammar)
            done = complete(grammar.compiled, words)
            if done and winner is None:
                winner = grammar
            any_complete |= done
            any_prefix |= done or is_prefix(grammar.compiled, words)
            any_more |= can_continue(grammar.compiled, words)
        status = match_status(any_complete, any_prefix, any_more)
        if winner is None:
            return MatchResult(status=status)
        words = _words(tokens, winner)
        parses = parse_words(winner.compiled, words, nbest=1)
        value = _evaluate(winner, parses[0].tree, 100) if parses else None
        return MatchResult(status=status, interpretation=value, lm=winner.name)


def _check_text(text: str) -> None:
    if len(text) > DEFAULT_LIMITS.max_text_chars:
        raise InputLimitError(f"the text is longer than {DEFAULT_LIMITS.max_text_chars} characters")


def _evaluate(grammar: ActiveGrammar, tree: ParseRule, score: int):
    if grammar.evaluator is None:
        return None
    return grammar.evaluator.evaluate(tree, score=score / 100)


def semantics_of(bundle: GrammarBundle) -> Mapping[str, GrammarSemantics]:
    """What the SISR evaluator needs of every grammar in the bundle, by grammar key."""
    return {key: GrammarSemantics.from_grammar(grammar) for key, grammar in bundle.grammars.items()}


def _words(tokens: str | Sequence[str], grammar: ActiveGrammar) -> tuple[str, ...]:
    pieces = [tokens] if isinstance(tokens, str) else tokens
    return tuple(word for piece in pieces for word in normalize_words(piece, mode=grammar.mode, by_character=grammar.by_character))


def _confidence(relative_cost: float, tree: ParseRule, word_count: int) -> int:
    """0-100: the parse's probability relative to the best, scaled by the words not garbage."""
    garbage = _garbage_words(tree)
    coverage = 1.0 if word_count == 0 else (word_count - garbage) / word_count
    return max(0, min(100, round(100 * math.exp(-max(0.0, relative_cost)) * coverage)))


def _garbage_words(tree: ParseRule) -> int:
    count = 0
    for child in tree.children:
        if isinstance(child, ParseGarbage):
            count += len(child.words)
        elif isinstance(child, ParseRule):
            count += _garbage_words(child)
    return count


__all__ = ["Interpreter", "InterpreterOptions", "ActiveGrammar", "MatchResult", "MatchStatus", "SemanticError"]
