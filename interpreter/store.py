"""The grammar store: what a server or an application holds (issue 8).

It reads, validates, compiles and prepares each grammar once (FST, checked SISR program, tag
tables), keyed by content, and hands out cheap *activations*: a list of (grammar, weight) that
gives an ``Interpreter`` and a decoder ``GrammarConstraint`` without recompiling or re-checking
a tag. One prepared grammar serves any number of activations with different weights.

Grammars defined at run time by name (DEFINE_GRAMMAR: ``session:NAME`` plus a body in either
form) live in a ``SessionGrammars`` namespace that the caller owns: one session's grammars are
invisible to another's, and releasing the namespace forgets them.

Across processes: with a compile-cache directory (``EngineConfig`` or ``$SRGS_CACHE_DIR``),
worker processes load compiled grammars from disk instead of compiling them again.

    store = GrammarStore()                                   # one per process
    pizza = store.prepare("builtin:examples/pizza")                   # compiled once
    session = store.session()                                # one per client session
    session.define("drinks", "#ABNF 1.0 UTF-8; ...")         # session:drinks
    activation = store.activate([(pizza, 2.0), ("session:drinks", 1.0)], session=session)
    activation.interpreter().interpret("two large pizzas")
    activation.constraint()                                  # for a decoder's search
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from srgs.bundle import GrammarBundle
from srgs.compile import CompileCache, CompiledGrammar
from srgs.compile.cache import cache_key
from srgs.compile.constraint import ConstraintGrammar, GrammarConstraint
from srgs.config import EngineConfig
from srgs.load.loader import bundle_from_text, load_bundle
from srgs.load.policy import SESSION_SCHEME, AccessPolicy, GrammarNamespace, session_name
from srgs.load.sources import FetchOptions

from .api import (
    ActiveGrammar,
    Interpreter,
    InterpreterOptions,
    artifact_path,
    check_artifact_tags,
    semantics_of,
    semantics_of_artifact,
    weight_costs,
)
from .script import ScriptLimits
from .sisr import SemanticEvaluator


@dataclass(frozen=True, slots=True, eq=False)
class PreparedGrammar:
    """A grammar ready to be activated: compiled, its tags checked, its evaluator built.

    ``key`` is the content key (every grammar source, links, active rules, compiler options);
    ``name`` is how results name it (``lm``): the location it was prepared from.
    """

    key: str
    name: str
    compiled: CompiledGrammar
    evaluator: SemanticEvaluator
    mode: str

    def active(self, weight_cost: float, name: str | None = None) -> ActiveGrammar:
        return ActiveGrammar(name=name or self.name, compiled=self.compiled, evaluator=self.evaluator,
                             mode=self.mode, by_character=bool(self.compiled.metadata.get("character_words")),
                             weight_cost=weight_cost)


@dataclass(slots=True)
class _Built:
    """What an activation builds on first use."""

    interpreter: Interpreter | None = None
    constraint: GrammarConstraint | None = None


@dataclass(frozen=True, slots=True, eq=False)
class Activation:
    """Grammars active together, each with a weight (a START_RECOGNITION grammar list).

    Cheap to make: nothing is compiled or checked; the interpreter and the constraint are built
    on first use and kept.
    """

    grammars: tuple[PreparedGrammar, ...]
    weights: tuple[float, ...]
    options: InterpreterOptions
    _built: _Built = field(default_factory=_Built, repr=False)

    def interpreter(self) -> Interpreter:
        """An interpreter over these grammars (shared by every caller of this activation)."""
        found = self._built.interpreter
        if found is None:
            names = [grammar.name for grammar in self.grammars]
            costs = weight_costs(names, self.weights)
            found = Interpreter([g.active(cost) for g, cost in zip(self.grammars, costs, strict=True)],
                                options=self.options)
            self._built.interpreter = found
        return found

    def constraint(self) -> GrammarConstraint:
        """The weighted union of these grammars over one word table, for a decoder's search."""
        found = self._built.constraint
        if found is None:
            found = GrammarConstraint([ConstraintGrammar(g.name, g.compiled, w)
                                       for g, w in zip(self.grammars, self.weights, strict=True)])
            self._built.constraint = found
        return found


class GrammarStore:
    """Prepared grammars by content, shared by every activation, thread-safe.

    ``config``: limits, compile options, script budget, n-best defaults (one ``EngineConfig``).
    ``policy``: where grammars loaded by location may reach (default: the local policy; a server
    passes ``AccessPolicy.closed()``). Grammars given as text always get ``text_policy``
    (default: closed: built-ins and the session's own grammars). ``cache``: the compile cache,
    by default a new one (in memory, and on disk under ``config``'s or ``$SRGS_CACHE_DIR``'s
    directory when set). ``max_prepared``: how many prepared grammars are kept (least recently
    used ones are dropped; activations that hold them keep them alive).
    """

    def __init__(
        self,
        config: EngineConfig | None = None,
        *,
        policy: AccessPolicy | None = None,
        text_policy: AccessPolicy | None = None,
        cache: CompileCache | None = None,
        cache_dir: str | None = None,
        max_prepared: int = 256,
    ):
        self.config = config or EngineConfig()
        self.policy = policy or AccessPolicy.local()
        self.text_policy = text_policy or AccessPolicy.closed()
        directory = cache_dir if cache_dir is not None else os.environ.get("SRGS_CACHE_DIR") or None
        self.cache = cache or CompileCache(directory=directory, max_entries=max_prepared)
        self.max_prepared = max_prepared
        self.options = _interpreter_options(self.config)
        self._prepared: OrderedDict[str, PreparedGrammar] = OrderedDict()
        self._by_source: dict[str, str] = {}  # builtin location -> content key
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    # --- preparing --------------------------------------------------------------------------

    def prepare(self, location: str, *, session: SessionGrammars | None = None) -> PreparedGrammar:
        """The prepared grammar at ``location`` (path, ``file:``, ``builtin:``, ``session:``,
        ``http(s):`` as the policy allows; ``#rule`` activates a rule; ``.far`` a compiled one)."""
        if artifact_path(location) is not None and self.policy.local_files:
            return self._prepare_artifact(location)
        if location.startswith(SESSION_SCHEME) and session is not None:
            found = session.get(location)
            if found is not None:
                return found
        language = session.language if session is not None else None
        source_key = f"{location}\n{language or ''}"  # a builtin:grammar/ URI depends on the language
        if location.startswith("builtin:"):
            # built-in grammars do not change while the process runs: read them once
            with self._lock:
                key = self._by_source.get(source_key)
                found = self._prepared.get(key) if key is not None else None
            if found is not None:
                with self._lock:
                    self.hits += 1
                return found if found.name == location else _renamed(found, location)
        options = self._fetch(self.policy, session)
        prepared = self._prepare_bundle(location, load_bundle(location, options=options))
        if location.startswith("builtin:") and self.policy.builtin:
            with self._lock:
                self._by_source[source_key] = prepared.key
        return prepared

    def prepare_text(self, text: str | bytes, *, name: str = "<inline>",
                     session: SessionGrammars | None = None) -> PreparedGrammar:
        """A grammar given as source text (either form), read under ``text_policy``."""
        data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        options = self._fetch(self.text_policy, session)
        return self._prepare_bundle(name, bundle_from_text(data, source=name, options=options))

    def session(self, name: str = "session", *, language: str | None = None) -> SessionGrammars:
        """A new namespace for one caller's ``session:`` grammars; ``language`` (``pt-BR``) is the
        session's language, which ``builtin:grammar/`` URIs without ``?lang=`` use."""
        return SessionGrammars(self, name, language=language)

    # --- activating -------------------------------------------------------------------------

    def activate(
        self,
        grammars: Sequence[PreparedGrammar | str | tuple[PreparedGrammar | str, float]],
        *,
        session: SessionGrammars | None = None,
        nbest: int | None = None,
        confidence_threshold: int | None = None,
    ) -> Activation:
        """Grammars (prepared, or locations to prepare), each optionally with a weight (1.0)."""
        prepared: list[PreparedGrammar] = []
        weights: list[float] = []
        for entry in grammars:
            grammar, weight = entry if isinstance(entry, tuple) else (entry, 1.0)
            if isinstance(grammar, str):
                grammar = self.prepare(grammar, session=session)
            prepared.append(grammar)
            weights.append(weight)
        if not prepared:
            raise ValueError("an activation needs at least one grammar")
        weight_costs([g.name for g in prepared], weights)  # refuses bad weights now, not on use
        options = self.options
        if nbest is not None or confidence_threshold is not None:
            options = replace(options, nbest=options.nbest if nbest is None else nbest,
                              confidence_threshold=options.confidence_threshold if confidence_threshold is None
                              else confidence_threshold)
        return Activation(tuple(prepared), tuple(weights), options)

    # --- inside -----------------------------------------------------------------------------

    def _fetch(self, policy: AccessPolicy, session: SessionGrammars | None) -> FetchOptions:
        return FetchOptions(policy=policy, limits=self.config.limits,
                            sessions=session.namespace if session is not None else None,
                            language=session.language if session is not None else None)

    def _prepare_bundle(self, name: str, bundle: GrammarBundle) -> PreparedGrammar:
        key = cache_key(bundle, self.config.compile)
        with self._lock:
            found = self._prepared.get(key)
            if found is not None:
                self._prepared.move_to_end(key)
                self.hits += 1
                return found if found.name == name else _renamed(found, name)
        compiled = self.cache.get(bundle, self.config.compile)
        evaluator = SemanticEvaluator(semantics_of(bundle), limits=self.options.script_limits)  # checks tags
        prepared = PreparedGrammar(key=key, name=name, compiled=compiled, evaluator=evaluator,
                                   mode=bundle.main_grammar.mode)
        return self._keep(key, prepared)

    def _prepare_artifact(self, location: str) -> PreparedGrammar:
        path = artifact_path(location)
        assert path is not None
        with open(path, "rb") as handle:
            digest = hashlib.sha256(handle.read()).hexdigest()
        key = "far:" + digest
        with self._lock:
            found = self._prepared.get(key)
            if found is not None:
                self.hits += 1
                return found
        compiled = CompiledGrammar.load(path)
        semantics = semantics_of_artifact(compiled)
        check_artifact_tags(compiled, semantics, self.options.script_limits)
        prepared = PreparedGrammar(key=key, name=location, compiled=compiled,
                                   evaluator=SemanticEvaluator(semantics, limits=self.options.script_limits),
                                   mode=compiled.metadata.get("mode") or "voice")
        return self._keep(key, prepared)

    def _keep(self, key: str, prepared: PreparedGrammar) -> PreparedGrammar:
        with self._lock:
            self.misses += 1
            known = self._prepared.setdefault(key, prepared)  # another thread may have won
            self._prepared.move_to_end(key)
            while len(self._prepared) > self.max_prepared:
                self._prepared.popitem(last=False)
        return known if known.name == prepared.name else _renamed(known, prepared.name)

    def __len__(self) -> int:
        with self._lock:
            return len(self._prepared)


class SessionGrammars:
    """One caller's grammars by name (``session:NAME``): defined, used, released.

    The sources live in a ``srgs.load.policy.GrammarNamespace`` (so grammars can reference one
    another as ``session:NAME``); each is prepared through the store when defined, so a grammar
    with an error is refused at DEFINE time and one defined twice with the same body is not
    compiled again.
    """

    def __init__(self, store: GrammarStore, name: str = "session", *, language: str | None = None):
        self.store = store
        self.language = language
        self.namespace = GrammarNamespace(name)
        self._prepared: dict[str, PreparedGrammar] = {}
        self._lock = threading.Lock()

    def define(self, name: str, body: str | bytes) -> PreparedGrammar:
        """Reads and prepares ``body`` (either form) as ``session:NAME``; replaces an earlier one.
        Nothing is kept when the body is refused."""
        bare = session_name(name)
        uri = SESSION_SCHEME + bare
        previous = self.namespace.source(bare)
        self.namespace.define(bare, body)
        try:
            prepared = self.store.prepare_text(body, name=uri, session=self)
        except BaseException:
            if previous is None:
                self.namespace.release(bare)
            else:
                self.namespace.define(bare, previous)
            raise
        with self._lock:
            self._prepared[bare] = prepared
        return prepared

    def get(self, name: str) -> PreparedGrammar | None:
        with self._lock:
            return self._prepared.get(session_name(name))

    def release(self, name: str) -> bool:
        """Forgets ``name``; False when it was not defined."""
        bare = session_name(name)
        with self._lock:
            self._prepared.pop(bare, None)
        return self.namespace.release(bare)

    def release_all(self) -> None:
        with self._lock:
            self._prepared.clear()
        self.namespace.clear()

    def names(self) -> list[str]:
        return self.namespace.names()


def _renamed(prepared: PreparedGrammar, name: str) -> PreparedGrammar:
    """The same prepared grammar (shared FST and evaluator) under another name."""
    return PreparedGrammar(key=prepared.key, name=name, compiled=prepared.compiled,
                           evaluator=prepared.evaluator, mode=prepared.mode)


def _interpreter_options(config: EngineConfig) -> InterpreterOptions:
    script = config.script
    return InterpreterOptions(
        compile=config.compile,
        script_limits=ScriptLimits(time_s=script.time_s, memory_bytes=script.memory_bytes,
                                   stack_bytes=script.stack_bytes),
        nbest=config.interpret.nbest,
        confidence_threshold=config.interpret.confidence_threshold,
        max_text_chars=config.limits.max_text_chars,
    )


__all__ = ["Activation", "GrammarStore", "PreparedGrammar", "SessionGrammars"]
