"""The script sandbox that runs SISR tags (SISR 1.0 §3: ECMAScript in ``semantics/1.0`` tags).

Tag text is untrusted input. It runs in a QuickJS context with a time, memory and stack limit;
intrinsics are frozen once per context and stray globals removed after every interpretation, so
one interpretation never sees another's state (``sisr_runtime.js``). A context belongs to one
thread: the evaluator keeps one per thread (QuickJS crashes when a runtime changes threads).

    SemanticError      a tag failed: syntax, exception, time, memory or stack limit
    ScriptFailure      what a sandbox raises; the evaluator adds the tag, rule and grammar

``ScriptSandbox`` is the Protocol another engine would implement; ``QuickJsSandbox`` is ours.
"""

from __future__ import annotations

import json
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import quickjs

from srgs.errors import SrgsError
from srgs.model import SourceSpan

FailureKind = Literal["syntax", "exception", "timeout", "memory", "stack", "result"]

_RUNTIME_SOURCE = (Path(__file__).with_name("sisr_runtime.js")).read_text(encoding="utf-8")
_SYNTAX_SENTINEL = "__srgs_syntax_ok__"
_LINE = re.compile(r"<input>:(\d+)")


class SemanticError(SrgsError):
    """A tag could not be evaluated (SISR §3): says which tag, in which rule and grammar, and why.

    ``kind`` is one of ``syntax``, ``exception``, ``timeout``, ``memory``, ``stack``, ``result``.
    """

    def __init__(self, message: str, span: SourceSpan | None = None, *, kind: FailureKind = "exception"):
        super().__init__(message, span)
        self.kind = kind


@dataclass(frozen=True, slots=True, kw_only=True)
class ScriptLimits:
    """What one interpretation's scripts may cost.

    ``time_s``: CPU time of one interpretation (all its tags together), default 0.25 s, counted
    on the evaluating thread's own clock: other threads interpreting at the same time do not use
    it up (see ``QuickJsSandbox.run``).
    ``memory_bytes``: what one interpretation may allocate in its context, default 32 MB; the
    runtime and the grammars' compiled programs come on top.
    ``stack_bytes``: native stack the script may use, default 1 MB (about 1,600 nested JS calls);
    keep it well below the stack of the threads that evaluate (8 MB on Linux by default).
    """

    time_s: float = 0.25
    memory_bytes: int = 32 * 1024 * 1024
    stack_bytes: int = 1024 * 1024

    def __post_init__(self) -> None:
        if self.time_s <= 0 or self.memory_bytes < 1024 * 1024 or self.stack_bytes < 64 * 1024:
            raise ValueError(f"unusable script limits: {self}")


DEFAULT_SCRIPT_LIMITS = ScriptLimits()


class ScriptFailure(Exception):
    """Raised by a sandbox; ``kind`` says what went wrong, ``detail`` the engine's first line."""

    def __init__(self, kind: FailureKind, detail: str, line: int | None = None):
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail
        self.line = line


class ScriptSandbox(Protocol):
    """One script context for one thread, running ``sisr_runtime.js``.

    ``define_grammar`` makes grammar ``index`` run the factory program ``key`` (``source()``
    gives its source, or None for no script, when the sandbox has not compiled ``key`` yet);
    ``run`` evaluates one encoded parse tree and returns ``[value, clean]`` as JSON text;
    ``position`` says which ``[grammar, rule, tag]`` ran last (after a failure). Any
    ``ScriptFailure`` leaves the sandbox unusable: the caller drops it and makes a new one.
    """

    def define_grammar(self, index: int, literal: bool, key: Hashable,
                       source: Callable[[], str | None]) -> None: ...

    def run(self, events_json: str, score: float) -> str: ...

    def position(self) -> list[Any] | None: ...


# A run stopped by the engine while the thread's own CPU time is under the budget is run again
# (other threads used the process's CPU clock), at most this many runs in all, with the engine's
# limit scaled by the process/thread CPU ratio seen (at most MAX_LOAD, the threads it can share with).
MAX_RUNS = 5
MAX_LOAD = 64.0
_SPENT = 0.98  # a budget this used up is spent
MAX_PROGRAMS = 32  # compiled factory programs kept per sandbox


class QuickJsSandbox:
    """``ScriptSandbox`` on QuickJS (PetterS' binding); create and use it in one thread only.

    The binding's time limit counts the whole process's CPU time (C ``clock()``, checked by the
    engine's interrupt handler; the binding releases the GIL while scripts run), so a busy
    process would stop a short tag. ``run`` therefore gives the engine the remaining budget of
    the thread's own CPU time (``time.thread_time``); when the engine stops a run before the
    thread has spent that budget, the time went to other threads: the interpretation (side-effect
    free, its globals reset) runs again from the start in a fresh context, with the remaining
    budget scaled by how much faster the process's clock ran than the thread's. A runaway tag is
    stopped once the thread's own time, all runs together, reaches the limit (or, should the
    load drop during a run, at most ``MAX_LOAD`` times the remainder); on an idle process the
    first run is the only one.
    """

    def __init__(self, limits: ScriptLimits = DEFAULT_SCRIPT_LIMITS):
        self._limits = limits
        self._programs: OrderedDict[Hashable, tuple[str | None, object]] = OrderedDict()
        self._defined: dict[int, tuple[bool, Hashable, str | None]] = {}
        self._open()

    def define_grammar(self, index: int, literal: bool, key: Hashable,
                       source: Callable[[], str | None]) -> None:
        current = self._defined.get(index)
        if current is not None and current[0] == literal and current[1] == key:
            return
        entry = self._programs.get(key)
        if entry is None:
            text = source()
            entry = self._programs[key] = (text, None if text is None else self._compile(text))
            while len(self._programs) > MAX_PROGRAMS:
                self._programs.popitem(last=False)
            self._rebase()
        else:
            self._programs.move_to_end(key)
        try:
            self._define(index, literal, entry[1])
        except (quickjs.JSException, quickjs.StackOverflow) as error:
            raise _failure(error) from None
        self._defined[index] = (literal, key, entry[0])

    def run(self, events_json: str, score: float) -> str:
        budget = self._limits.time_s
        spent = 0.0
        load = 1.0
        for attempt in range(MAX_RUNS):
            context = self._context
            engine_limit = (budget - spent) * load
            context.set_time_limit(engine_limit)
            start = time.thread_time()
            try:
                return str(self._run(events_json, float(score)))
            except (quickjs.JSException, quickjs.StackOverflow) as error:
                failure = _failure(error)
            finally:
                context.set_time_limit(-1)  # the runtime's own calls run unbounded
            if failure.kind != "timeout":
                raise failure
            own = time.thread_time() - start
            spent += own
            if attempt == MAX_RUNS - 1 or spent >= budget * _SPENT:
                raise failure
            # The process's clock ran engine_limit while this thread's ran `own`.
            load = min(MAX_LOAD, max(1.0, engine_limit / max(own, 1e-6)))
            self._open()  # the stopped context is dropped; the run starts again from scratch
        raise AssertionError("unreachable")

    def position(self) -> list[Any] | None:
        try:
            found = json.loads(self._position())
            return found if isinstance(found, list) else None
        except (quickjs.JSException, quickjs.StackOverflow, ValueError, TypeError):
            return None

    # --- internals ------------------------------------------------------------------------

    def _open(self) -> None:
        """A fresh context: the runtime loaded, every grammar defined so far compiled again."""
        context = quickjs.Context()
        context.set_max_stack_size(self._limits.stack_bytes)
        try:
            api = context.eval(_RUNTIME_SOURCE)  # our own code: no time or memory limit yet
            self._define = api("define")
            self._run = api("run")
            self._position = api("position")
        except quickjs.JSException as error:  # only a broken runtime file gets here
            raise RuntimeError(f"sisr_runtime.js failed to load: {_first_line(error)}") from error
        self._context = context
        self._programs.clear()
        for index, (literal, key, text) in self._defined.items():
            factory = None if text is None else self._compile(text)
            self._programs[key] = (text, factory)
            try:
                self._define(index, literal, factory)
            except (quickjs.JSException, quickjs.StackOverflow) as error:
                raise _failure(error) from None
        self._rebase()

    def _compile(self, text: str) -> object:
        """The factory a grammar program's source evaluates to (nothing of its tags runs yet)."""
        context = self._context
        context.set_memory_limit(_heap(context) + self._limits.memory_bytes + 16 * len(text))
        try:
            return context.eval(text)
        except (quickjs.JSException, quickjs.StackOverflow) as error:
            raise _failure(error) from None

    def _rebase(self) -> None:
        """Memory limit: what is allocated now (runtime, programs) plus one interpretation's."""
        context = self._context
        context.gc()
        context.set_memory_limit(_heap(context) + self._limits.memory_bytes)


def _heap(context: quickjs.Context) -> int:
    return int(context.memory()["malloc_size"])


class TagSyntaxChecker:
    """Checks that a tag's text is a complete ECMAScript statement list (SISR §3.1).

    The text is parsed as a whole Script behind a leading ``throw``, so none of it runs and it
    cannot close the block it will later be pasted into: a Script has balanced braces, strings,
    comments and templates, and no ``return``, ``break`` or ``continue`` outside its own
    statements. One context is reused while texts pass; a failure is confirmed in a fresh context
    (earlier texts' global declarations could clash with this one's, e.g. two ``let x``).
    Not thread-safe: use one per thread or behind a lock.
    """

    def __init__(self, limits: ScriptLimits = DEFAULT_SCRIPT_LIMITS):
        self._limits = limits
        self._context: quickjs.Context | None = None
        self._checked = 0

    def error(self, text: str) -> ScriptFailure | None:
        """None when ``text`` parses, else a ``ScriptFailure`` (kind ``syntax``, line in the tag)."""
        failure = self._check(text, fresh=False)
        if failure is not None and self._checked > 1:
            failure = self._check(text, fresh=True)
        return failure

    def _check(self, text: str, *, fresh: bool) -> ScriptFailure | None:
        if fresh or self._context is None or self._checked >= 500:
            self._context = _limited_context(self._limits)
            self._checked = 0
        self._checked += 1
        self._context.set_memory_limit(self._limits.memory_bytes + 16 * len(text))  # a long tag parses
        try:
            self._context.eval(f'throw "{_SYNTAX_SENTINEL}";\n{text}\n')
        except (quickjs.JSException, quickjs.StackOverflow) as error:
            if str(error).startswith(_SYNTAX_SENTINEL):
                return None
            self._context = None
            failure = _failure(error)
            if failure.kind == "exception":
                failure.kind = "syntax"
            if failure.line is not None:
                failure.line -= 1
            return failure
        self._context = None
        return ScriptFailure("syntax", "the tag did not parse as a statement list")


def _limited_context(limits: ScriptLimits) -> quickjs.Context:
    """A context for parsing only (nothing runs: no time limit needed)."""
    context = quickjs.Context()
    context.set_memory_limit(limits.memory_bytes)
    context.set_max_stack_size(limits.stack_bytes)
    return context


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _failure(error: BaseException) -> ScriptFailure:
    """Sort an engine exception into a ``ScriptFailure`` by what the engine reported."""
    detail = _first_line(error)
    match = _LINE.search(str(error))
    line = int(match.group(1)) if match else None
    if isinstance(error, quickjs.StackOverflow) or detail == "InternalError: stack overflow":
        return ScriptFailure("stack", detail, line)
    if detail == "InternalError: interrupted":
        return ScriptFailure("timeout", detail, line)
    # Out of memory, QuickJS may fail to allocate the error itself and report a bare "null"
    # (a script's own ``throw null`` reads differently through this binding).
    if detail in ("InternalError: out of memory", "null"):
        return ScriptFailure("memory", "InternalError: out of memory", line)
    return ScriptFailure("exception", detail, line)
