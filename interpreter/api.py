"""INTERPRET TEXT as a Python API: load grammars once, interpret many texts, from many threads.

``Interpreter.load("pizza.grxml")`` reads, resolves and compiles (through the compile cache);
``Interpreter.load("pizza.far")`` reads a grammar compiled by ``srgs compile -o``, without its
sources (the SISR semantics come from the file's metadata). ``interpret(text)`` normalises the
text, finds the n best parses in every active grammar, evaluates their SISR tags and returns a
``RecognitionResult`` (the RECOGNITION_RESULT body of the ASR WebSocket API). Nothing here holds
mutable state after construction, so one instance serves every thread (the script sandbox keeps
one engine per thread).

N-best: at most ``MAX_NBEST`` (100) alternatives, and as many interpretations per alternative.
Parses that give the same value (equal as canonical JSON) are one interpretation with the best
score, as commercial recognisers report them; when merging leaves fewer than n values, more
parses are searched, never more than ``MAX_NBEST`` per grammar, so the cost of an n-best is
bounded whatever the grammar's ambiguity. Interpretations scoring under the confidence
threshold (VoiceXML ``confidencelevel``, 0-100) are dropped; none left is a NO_MATCH.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from numbers import Real
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlparse

from srgs.bundle import GrammarBundle
from srgs.compile import CompileCache, CompiledGrammar, CompileOptions, compile_cached
from srgs.errors import CompileError, TextTooLongError
from srgs.limits import DEFAULT_LIMITS
from srgs.load.loader import bundle_from_text, load_bundle, split_fragment
from srgs.load.sources import FetchOptions
from srgs.model import SourceSpan
from srgs.text import normalize_words

from .match import MatchResult, MatchStatus, match_status
from .parse import can_continue, complete, is_prefix, parse_words
from .results import Alternative, Interpretation, RecognitionResult
from .script import ScriptLimits, TagSyntaxChecker
from .sisr import GrammarSemantics, SemanticError, SemanticEvaluator
from .sisr_program import LITERAL_FORMATS, SCRIPT_FORMATS, describe_tag, literal_assignment
from .tree import Parse, ParseGarbage, ParseRule

DEFAULT_NBEST = 1
MAX_NBEST = 100  # the largest n-best a caller may ask for (alternatives, and parses per grammar)


def check_nbest(nbest: object) -> int:
    """``nbest`` if it is an int in 1..MAX_NBEST, else ValueError."""
    if isinstance(nbest, bool) or not isinstance(nbest, int) or not 1 <= nbest <= MAX_NBEST:
        raise ValueError(f"nbest must be between 1 and {MAX_NBEST}, got {nbest!r}")
    return nbest


def check_confidence_threshold(threshold: object) -> int:
    """``threshold`` if it is an int in 0..100, else ValueError."""
    if isinstance(threshold, bool) or not isinstance(threshold, int) or not 0 <= threshold <= 100:
        raise ValueError(f"confidence_threshold must be between 0 and 100, got {threshold!r}")
    return threshold


@dataclass(frozen=True, slots=True, kw_only=True)
class InterpreterOptions:
    """How grammars are read and compiled, and how texts are interpreted.

    ``nbest``: alternatives and interpretations per alternative, 1..MAX_NBEST.
    ``confidence_threshold``: 0..100; interpretations scoring under it are dropped.
    ``max_text_chars``: longer texts are refused with a ``TextTooLongError``.
    ``semantics``: False gives parse trees only (tags are not run, e.g. for ``--format tree``).
    """

    fetch: FetchOptions = field(default_factory=FetchOptions)
    compile: CompileOptions | None = None
    cache: CompileCache | None = None  # None: the process's default cache (srgs.compile.default_cache)
    script_limits: ScriptLimits = field(default_factory=ScriptLimits)
    nbest: int = DEFAULT_NBEST
    confidence_threshold: int = 0
    max_text_chars: int = DEFAULT_LIMITS.max_text_chars
    semantics: bool = True

    def __post_init__(self) -> None:
        check_nbest(self.nbest)
        check_confidence_threshold(self.confidence_threshold)
        if isinstance(self.max_text_chars, bool) or not isinstance(self.max_text_chars, int) \
                or self.max_text_chars < 1:
            raise ValueError(f"max_text_chars must be a positive integer, got {self.max_text_chars!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class ActiveGrammar:
    """One compiled grammar ready to interpret: its name in results (``lm``) and its weight."""

    name: str
    compiled: CompiledGrammar
    evaluator: SemanticEvaluator | None
    mode: str
    by_character: bool = False  # split CJK characters of the text: the grammar's tokens were
    weight_cost: float = 0.0


@dataclass(frozen=True, slots=True)
class Hypothesis:
    """One entry of a decoder's n-best: the words, the acoustic cost (-log likelihood of the
    audio given the words; lower is better) and, when the decoder knows it (a
    ``GrammarConstraint`` does), the name of the grammar its path went through."""

    words: tuple[str, ...]
    acoustic_cost: float = 0.0
    grammar: str | None = None


class Interpreter:
    """Several grammars active at once (a START_RECOGNITION URI list), each with a weight."""

    def __init__(self, grammars: Sequence[ActiveGrammar], *, options: InterpreterOptions | None = None,
                 nbest: int | None = None):
        if not grammars:
            raise ValueError("an Interpreter needs at least one grammar")
        options = options or InterpreterOptions()
        if nbest is not None:
            options = replace(options, nbest=nbest)
        self.grammars = tuple(grammars)
        self.options = options

    @property
    def nbest(self) -> int:
        return self.options.nbest

    # --- construction ---------------------------------------------------------------------

    @classmethod
    def load(
        cls,
        locations: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        *,
        weights: Sequence[float] | None = None,
        options: InterpreterOptions | None = None,
    ) -> Interpreter:
        """Load grammars by location (path, URI, ``builtin:KIND/NAME``, ``#rule`` for a rule).

        A path (or ``file:`` URI) ending in ``.far`` is a grammar compiled by ``srgs compile -o``:
        it is read as it is, its sources are not needed.
        """
        options = options or InterpreterOptions()
        listed: Sequence[str | os.PathLike[str]] = (
            [locations] if isinstance(locations, (str, os.PathLike)) else locations)
        names = [os.fspath(name) for name in listed]
        costs = weight_costs(names, weights)
        active = []
        for name, cost in zip(names, costs, strict=True):
            path = artifact_path(name)
            if path is not None:
                active.append(_from_compiled(name, CompiledGrammar.load(path), options, cost))
            else:
                bundle = load_bundle(name, options=options.fetch)
                active.append(_from_bundle(name, bundle, options, cost))
        return cls(active, options=options)

    @classmethod
    def from_text(cls, text: str | bytes, *, name: str = "<inline>", options: InterpreterOptions | None = None) -> Interpreter:
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
    ) -> Interpreter:
        """Grammars already loaded (``srgs.load.loader.load_bundle``), named as results show them."""
        options = options or InterpreterOptions()
        costs = weight_costs([name for name, _ in bundles], weights)
        return cls([_from_bundle(name, bundle, options, cost) for (name, bundle), cost in zip(bundles, costs, strict=True)],
                   options=options)

    @classmethod
    def from_artifact(
        cls,
        compiled: CompiledGrammar | str | Path,
        *,
        name: str | None = None,
        options: InterpreterOptions | None = None,
    ) -> Interpreter:
        """One grammar compiled by ``srgs compile -o OUT.far`` (a ``CompiledGrammar`` or its path).

        The SISR semantics (tag formats, header tags, tag texts) come from the artifact's metadata;
        the grammar sources are not read. ``name`` (the ``lm`` of results) defaults to the path,
        or to the compiled grammar's main grammar key.
        """
        options = options or InterpreterOptions()
        if not isinstance(compiled, CompiledGrammar):
            path = str(compiled)
            compiled, name = CompiledGrammar.load(path), name or path
        return cls([_from_compiled(name or compiled.metadata.get("main", "<compiled>"), compiled, options, 0.0)],
                   options=options)

    # --- interpretation -------------------------------------------------------------------

    def interpret(self, text: str, *, nbest: int | None = None,
                  confidence_threshold: int | None = None) -> RecognitionResult:
        """Every grammar's n best parses of ``text`` with their SISR values, best first.

        ``nbest`` (1..MAX_NBEST) and ``confidence_threshold`` (0..100) default to the options'.
        Parses with equal values are merged (best score kept); interpretations under the
        threshold are dropped. Status: RECOGNIZED; NO_MATCH when no grammar parses the text or
        no interpretation reaches the threshold; FAILURE when every interpretation that reached
        it failed in its tags (``error`` says why).
        """
        _check_text(text, self.options.max_text_chars)
        nbest = self.options.nbest if nbest is None else check_nbest(nbest)
        threshold = self.options.confidence_threshold if confidence_threshold is None \
            else check_confidence_threshold(confidence_threshold)
        found: list[tuple[float, ActiveGrammar, tuple[str, ...], list[Parse]]] = []
        for grammar in self.grammars:
            words = normalize_words(text, mode=grammar.mode, by_character=grammar.by_character)
            parses = parse_words(grammar.compiled, words, nbest=nbest) if words else []
            if parses:
                found.append((parses[0].cost + grammar.weight_cost, grammar, words, parses))
        if not found:
            return RecognitionResult(status="NO_MATCH", alternatives=(), mode=self._mode())
        found.sort(key=lambda item: item[0])
        best_cost = found[0][0]
        alternatives: dict[tuple[str, str], _Readings] = {}
        failures: list[str] = []
        for _, grammar, words, parses in found:
            key = (" ".join(words), grammar.name)
            readings = alternatives.setdefault(key, _Readings(grammar))
            _read(grammar, words, parses, nbest, threshold, best_cost, readings, failures)
        return self._result(alternatives, failures, nbest)

    def match(self, tokens: str | Sequence[str]) -> MatchResult:
        """Incremental status of a token prefix (DTMF ``715#`` is split into keys).

        On a complete sentence (MATCH, MATCH_END) the first grammar that completes it gives
        ``lm`` and its best parse's value as ``interpretation``. When that parse's tags fail
        (SISR error, script limits), the status is still the one the tokens reached, with
        ``interpretation=None`` and ``error`` the message (``failed`` is True): the same failure
        ``interpret`` reports as FAILURE. No exception escapes for a semantic failure.
        """
        _check_text(tokens if isinstance(tokens, str) else " ".join(tokens), self.options.max_text_chars)
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
        if not parses:
            return MatchResult(status=status, lm=winner.name)
        try:
            value = _evaluate(winner, parses[0].tree, 100)
        except SemanticError as exc:
            return MatchResult(status=status, interpretation=None, lm=winner.name, error=f"{winner.name}: {exc}")
        return MatchResult(status=status, interpretation=value, lm=winner.name)

    def interpret_hypotheses(self, hypotheses: Sequence[Hypothesis], *, nbest: int | None = None,
                             confidence_threshold: int | None = None) -> RecognitionResult:
        """A decoder's n-best word sequences, each with its acoustic cost, as one result.

        Each hypothesis is parsed by its grammar (``Hypothesis.grammar``, the ``lm`` name) or by
        every active grammar; a candidate's total cost is its acoustic cost plus the grammar's
        (parse and activation weight). Confidences are posteriors over all candidates:
        ``100 * exp(-total) / sum(exp(-total))``, scaled by the share of words not read by
        $GARBAGE, so they combine acoustic and grammar evidence. Same result shape, n-best
        merging, threshold and FAILURE rules as ``interpret``.
        """
        nbest = self.options.nbest if nbest is None else check_nbest(nbest)
        threshold = self.options.confidence_threshold if confidence_threshold is None \
            else check_confidence_threshold(confidence_threshold)
        candidates: list[tuple[float, ActiveGrammar, tuple[str, ...], Parse]] = []
        for hypothesis in hypotheses:
            if not math.isfinite(hypothesis.acoustic_cost):
                raise ValueError(f"acoustic_cost must be finite, got {hypothesis.acoustic_cost!r}")
            text = " ".join(hypothesis.words)
            _check_text(text, self.options.max_text_chars)
            for grammar in self.grammars:
                if hypothesis.grammar is not None and grammar.name != hypothesis.grammar:
                    continue
                words = normalize_words(text, mode=grammar.mode, by_character=grammar.by_character)
                for parse in (parse_words(grammar.compiled, words, nbest=nbest) if words else []):
                    total = hypothesis.acoustic_cost + grammar.weight_cost + parse.cost
                    candidates.append((total, grammar, words, parse))
        if not candidates:
            return RecognitionResult(status="NO_MATCH", alternatives=(), mode=self._mode())
        candidates.sort(key=lambda item: item[0])
        best = candidates[0][0]
        normaliser = math.fsum(math.exp(best - total) for total, *_ in candidates)
        alternatives: dict[tuple[str, str], _Readings] = {}
        failures: list[str] = []
        for total, grammar, words, parse in candidates:
            posterior = math.exp(best - total) / normaliser
            garbage = _garbage_words(parse.tree)
            coverage = 1.0 if not words else (len(words) - garbage) / len(words)
            score = max(0, min(100, round(100 * posterior * coverage)))
            if score < threshold:
                continue
            readings = alternatives.setdefault((" ".join(words), grammar.name), _Readings(grammar))
            _add_reading(grammar, parse.tree, score, readings, failures)
        return self._result(alternatives, failures, nbest)

    def _result(self, alternatives: dict[tuple[str, str], _Readings], failures: list[str],
                nbest: int) -> RecognitionResult:
        entries = []
        for (words_text, name), readings in alternatives.items():
            interpretations = readings.best(nbest)
            if interpretations:
                entries.append((readings.grammar, Alternative(
                    text=words_text, score=interpretations[0].score, lm=name,
                    interpretations=interpretations)))
        if not entries:
            if failures:
                return RecognitionResult(status="FAILURE", error="; ".join(failures), mode=self._mode())
            return RecognitionResult(status="NO_MATCH", alternatives=(), mode=self._mode())
        entries.sort(key=lambda entry: -entry[1].score)  # stable: best cost first on ties
        entries = entries[:nbest]
        return RecognitionResult(status="RECOGNIZED", alternatives=tuple(alt for _, alt in entries),
                                 mode=_result_mode(entries[0][0].mode))

    def _mode(self) -> Literal["voice", "dtmf"]:
        """The input mode when no grammar matched: dtmf only if every active grammar is."""
        return "dtmf" if all(g.mode == "dtmf" for g in self.grammars) else "voice"


# --- n-best ---------------------------------------------------------------------------------


class _Readings:
    """The distinct values of one alternative, each with its best score and that parse's tree.

    The first reading's key (its value as canonical JSON) is made only when a second reading
    comes to be compared with it: a one-reading alternative (the usual 1-best) never needs it.
    """

    def __init__(self, grammar: ActiveGrammar):
        self.grammar = grammar
        self.by_key: dict[Any, Interpretation] = {}
        self._first: tuple[Any, Interpretation] | None = None  # (value, reading), key not made

    def add(self, key: Any, interpretation: Interpretation) -> bool:
        """Whether the value is new (False: merged into an equal one, the better score kept)."""
        self._settle()
        known = self.by_key.get(key)
        if known is None or interpretation.score > known.score:
            self.by_key[key] = interpretation
        return known is None

    def add_value(self, value: Any, interpretation: Interpretation) -> bool:
        """``add`` keyed by ``_value_key(value)``."""
        if self._first is None and not self.by_key:
            self._first = (value, interpretation)
            return True
        return self.add(_value_key(value), interpretation)

    def __len__(self) -> int:
        return len(self.by_key) + (self._first is not None)

    def best(self, n: int) -> tuple[Interpretation, ...]:
        if self._first is not None:  # the only reading so far
            return (self._first[1],)[:n]
        ordered = sorted(self.by_key.values(), key=lambda i: -i.score)  # stable: cost order on ties
        return tuple(ordered[:n])

    def _settle(self) -> None:
        if self._first is not None:
            value, interpretation = self._first
            self._first = None
            self.by_key[_value_key(value)] = interpretation


def _add_reading(grammar: ActiveGrammar, tree: ParseRule, score: int, readings: _Readings,
                 failures: list[str]) -> bool:
    """Evaluate the parse's tags and add the reading (a failing tag goes to ``failures``); True
    when it merged into an equal value already there."""
    try:
        value = _evaluate(grammar, tree, score)
    except SemanticError as exc:
        failures.append(f"{grammar.name}: {exc}")
        return False
    interpretation = Interpretation(value=value, score=score, tree=tree)
    if grammar.evaluator is not None:
        return not readings.add_value(value, interpretation)
    return not readings.add(tree, interpretation)


def _read(grammar: ActiveGrammar, words: tuple[str, ...], parses: list[Parse], nbest: int, threshold: int,
          best_cost: float, readings: _Readings, failures: list[str]) -> None:
    """Evaluate parses into ``readings``. When equal values merged and fewer than ``nbest`` are
    left, ask for more parses (doubling, never more than MAX_NBEST): a parse whose tags fail or
    that scores under the threshold takes its place as before, only merging makes room. Parses
    under the threshold are not evaluated; once even a garbage-free parse would score under it,
    the search stops."""
    requested = nbest
    seen: set[ParseRule] | None = None
    merged = False
    while True:
        for parse in parses:
            if seen is not None:
                if parse.tree in seen:
                    continue  # found again by the larger search
                seen.add(parse.tree)
            relative = parse.cost + grammar.weight_cost - best_cost
            garbage = parse.garbage if parse.garbage is not None else _garbage_words(parse.tree)
            score = _confidence(relative, garbage, len(words))
            if score < threshold:
                continue
            if _add_reading(grammar, parse.tree, score, readings, failures):
                merged = True
        if not merged or len(readings) >= nbest or len(parses) < requested or requested >= MAX_NBEST:
            return
        if _confidence_bound(parses[-1].cost + grammar.weight_cost - best_cost) < threshold:
            return  # every further parse costs at least as much: none would be kept
        if seen is None:
            seen = {parse.tree for parse in parses}
        requested = min(MAX_NBEST, requested * 2)
        parses = parse_words(grammar.compiled, words, nbest=requested)


_KEY_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _value_key(value: object) -> str:
    """Values equal after JSON canonicalisation (sorted keys, no spaces) are the same reading."""
    try:
        return _KEY_JSON.encode(value)  # json.dumps(value, sort_keys=True, ...), encoder made once
    except (TypeError, ValueError):
        return repr(value)


# --- weights and artifacts ----------------------------------------------------------------


def weight_costs(names: Sequence[str], weights: Sequence[float] | None) -> list[float]:
    """-log of each grammar's share of the total weight; every weight must be finite and > 0."""
    if weights is None:
        return [math.log(len(names))] * len(names) if names else []
    weights = list(weights)
    if len(weights) != len(names):
        raise ValueError(f"{len(weights)} weight(s) for {len(names)} grammar(s): give one weight per grammar")
    for name, weight in zip(names, weights, strict=True):
        if isinstance(weight, bool) or not isinstance(weight, Real) or not math.isfinite(weight) or weight <= 0:
            raise ValueError(f"the weight of grammar {name} must be a finite number > 0, got {weight!r}")
    logs = [math.log(float(weight)) for weight in weights]  # in logs: huge or tiny weights stay exact
    top = max(logs)
    log_total = top + math.log(math.fsum(math.exp(lw - top) for lw in logs))
    return [log_total - lw for lw in logs]


def artifact_path(location: str) -> str | None:
    """The file path when ``location`` names a compiled grammar (``.far``), else None."""
    path, fragment = split_fragment(location)
    if location.startswith("file:"):
        path = unquote(urlparse(path).path)
    if not path.lower().endswith(".far"):
        return None
    if fragment is not None:
        raise CompileError(f"a compiled grammar's active rules are fixed when it is compiled: "
                           f"compile the grammar with #{fragment} instead", SourceSpan(path, 0, 0))
    return path


def semantics_of(bundle: GrammarBundle) -> Mapping[str, GrammarSemantics]:
    """What the SISR evaluator needs of every grammar in the bundle, by grammar key."""
    return {key: GrammarSemantics.from_grammar(grammar) for key, grammar in bundle.grammars.items()}


def semantics_of_artifact(compiled: CompiledGrammar) -> Mapping[str, GrammarSemantics]:
    """The same, rebuilt from a compiled grammar's metadata (no source needed).

    ``metadata["grammars"][key]`` has each grammar's ``tag_format``, ``language`` and
    ``header_tags``: all the evaluator needs, tags being registered as parse trees show them.
    Two optional entries, when a compiler writes them, make it exactly what
    ``GrammarSemantics.from_grammar`` gives: ``rule_tags`` (``[[rule, [tag, ...]], ...]``) checks
    every tag at load, per rule, and ``tag_spans`` (``[[tag, source, line, column], ...]``) gives tag
    errors their position; a tag is its text or its index in ``metadata["tags"]``.
    """
    grammars = compiled.metadata.get("grammars")
    if not isinstance(grammars, dict):
        raise CompileError("the compiled grammar has no per-grammar semantics metadata",
                           SourceSpan(str(compiled.metadata.get("main", "<compiled>")), 0, 0))

    def text(tag: str | int) -> str:
        return compiled.tags[tag][0] if isinstance(tag, int) else tag

    out = {}
    for key, entry in grammars.items():
        rule_tags = tuple((rule, tuple(text(tag) for tag in tags)) for rule, tags in entry.get("rule_tags", ()))
        spans = tuple((text(tag), SourceSpan(source, line, column))
                      for tag, source, line, column in entry.get("tag_spans", ()))
        out[key] = GrammarSemantics(entry.get("tag_format"), tuple(entry.get("header_tags", ())),
                                    entry.get("language"), rule_tags, spans)
    return out


def check_artifact_tags(compiled: CompiledGrammar, semantics: Mapping[str, GrammarSemantics],
                        limits: ScriptLimits) -> None:
    """Refuse at load, as a grammar source is refused, a tag whose format is not supported or
    whose text is not a statement list (SemanticError, kind ``syntax``). Grammars whose metadata
    has ``rule_tags`` are checked by the evaluator itself."""
    checker: TagSyntaxChecker | None = None
    for text, key in compiled.tags:
        grammar = semantics.get(key)
        if grammar is None or grammar.rule_tags:
            continue
        fmt = None if grammar.tag_format is None else grammar.tag_format.strip().lower()
        where = SourceSpan(key, 0, 0)
        if fmt is not None and fmt not in SCRIPT_FORMATS and fmt not in LITERAL_FORMATS:
            raise SemanticError(f"tag {describe_tag(text)} in grammar {key}: unsupported tag-format "
                                f"'{grammar.tag_format}' (supported: semantics/1.0, semantics/1.0-literals)",
                                where, kind="syntax")
        if fmt in LITERAL_FORMATS or _is_literal_assignment(text):
            continue
        checker = checker or TagSyntaxChecker(limits)
        failure = checker.error(text)
        if failure is not None:
            line = f" (line {failure.line} of the tag)" if failure.line else ""
            raise SemanticError(f"tag {describe_tag(text)} of grammar {key}: {failure.detail}{line}",
                                where, kind="syntax")


def _is_literal_assignment(text: str) -> bool:
    """``out = <string|number|true|false|null>;``: a statement by construction."""
    return isinstance(literal_assignment(text), (str, int, float, bool, type(None)))


def _from_bundle(name: str, bundle: GrammarBundle, options: InterpreterOptions, cost: float) -> ActiveGrammar:
    compiled = compile_cached(bundle, options=options.compile, cache=options.cache)  # content-keyed
    return _active(name, compiled, semantics_of(bundle) if options.semantics else None,
                   bundle.main_grammar.mode, options, cost)


def _from_compiled(name: str, compiled: CompiledGrammar, options: InterpreterOptions, cost: float) -> ActiveGrammar:
    semantics = semantics_of_artifact(compiled) if options.semantics else None
    if semantics is not None:
        check_artifact_tags(compiled, semantics, options.script_limits)
    return _active(name, compiled, semantics, compiled.metadata.get("mode") or "voice", options, cost)


def _active(name: str, compiled: CompiledGrammar, semantics: Mapping[str, GrammarSemantics] | None, mode: str,
            options: InterpreterOptions, cost: float) -> ActiveGrammar:
    return ActiveGrammar(
        name=name,
        compiled=compiled,
        evaluator=SemanticEvaluator(semantics, limits=options.script_limits) if semantics is not None else None,
        mode=mode,
        by_character=bool(compiled.metadata.get("character_words")),
        weight_cost=cost,
    )


# --- helpers --------------------------------------------------------------------------------


def _check_text(text: str, limit: int = DEFAULT_LIMITS.max_text_chars) -> None:
    if len(text) > limit:
        raise TextTooLongError(f"the text is longer than {limit} characters", limit="Limits.max_text_chars")


def _result_mode(mode: str) -> Literal["voice", "dtmf"]:
    return "dtmf" if mode == "dtmf" else "voice"


def _evaluate(grammar: ActiveGrammar, tree: ParseRule, score: int) -> object:
    if grammar.evaluator is None:
        return None
    return grammar.evaluator.evaluate(tree, score=score / 100)


def _words(tokens: str | Sequence[str], grammar: ActiveGrammar) -> tuple[str, ...]:
    pieces = [tokens] if isinstance(tokens, str) else tokens
    return tuple(word for piece in pieces
                 for word in normalize_words(piece, mode=grammar.mode, by_character=grammar.by_character))


def _confidence(relative_cost: float, garbage: int, word_count: int) -> int:
    """0-100: the parse's probability relative to the best, scaled by the words not garbage
    (``garbage``: how many words $GARBAGE read)."""
    coverage = 1.0 if word_count == 0 else (word_count - garbage) / word_count
    return max(0, min(100, round(100 * math.exp(-max(0.0, relative_cost)) * coverage)))


def _confidence_bound(relative_cost: float) -> int:
    """The best score a parse of this relative cost can have (no garbage)."""
    return max(0, min(100, round(100 * math.exp(-max(0.0, relative_cost)))))


def _garbage_words(tree: ParseRule) -> int:
    count = 0
    for child in tree.children:
        if isinstance(child, ParseGarbage):
            count += len(child.words)
        elif isinstance(child, ParseRule):
            count += _garbage_words(child)
    return count


__all__ = [
    "DEFAULT_NBEST",
    "Hypothesis",
    "MAX_NBEST",
    "ActiveGrammar",
    "Interpreter",
    "InterpreterOptions",
    "MatchResult",
    "MatchStatus",
    "SemanticError",
    "check_artifact_tags",
    "check_confidence_threshold",
    "check_nbest",
    "semantics_of",
    "semantics_of_artifact",
]
