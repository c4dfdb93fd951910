"""Recognition parameters of the ASR WebSocket API 2.3: names, types, defaults, validation.

A session holds one ``Parameters`` (SET_PARAMETERS changes it, GET_PARAMETERS reads it);
START_RECOGNITION may carry parameters for that recognition only (``Parameters.overlaid``).
``Parameters.settings()`` gives the typed ``RecognitionSettings`` a recognition runs with.

Defaults (the reference leaves several to the server; these are the choices, documented):

- timers from ``[server]``: ``noInputTimeout.value`` = ``no_input_timeout_ms`` (10 s) and
  ``recognitionTimeout.value`` = ``recognition_timeout_ms`` (30 s), both enabled;
- ``decoder.maxSentences`` = ``[interpret] nbest`` (1), at most ``max_nbest``;
  ``decoder.confidenceThreshold`` = ``[interpret] confidence_threshold`` (0);
- ``decoder.wordDetails`` 0 (no ``words``; 1 the first alternative's, 2 every alternative's);
- the endpointer's from ``decoder.endpointer.EndpointerSettings`` (level threshold -40 dBFS,
  automatic window 5 s, longest segment 60 s);
- ``hints.words`` (``word:boost, ...``) boosts grammar words in the search (``decoder.word_boosts``:
  each unit multiplies the word's grammar probability by e, clamped to +-10; a word without a
  boost gets 5); words the active grammars lack are ignored (logged).

Names are matched in any case and written as the reference spells them. A name that is not a
parameter is ``ERROR_INVALID_PARAMETER``; a value out of its type or range is
``ERROR_INVALID_PARAMETER_VALUE``: both name the parameter, and nothing is changed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from decoder.endpointer import EndpointerSettings
from decoder.word_boosts import DEFAULT_BOOST
from srgs.config import EngineConfig

from .protocol import ERROR_INVALID_PARAMETER, ERROR_INVALID_PARAMETER_VALUE, parse_bool

Kind = Literal["bool", "int", "float", "text", "hints"]


class ParameterError(ValueError):
    """A parameter name or value refused: ``code`` is the protocol's Error-Code, ``name`` the parameter."""

    def __init__(self, code: str, name: str, message: str):
        super().__init__(message)
        self.code = code
        self.name = name


@dataclass(frozen=True, slots=True)
class Parameter:
    """One recognition parameter: its wire name, type, bounds and default."""

    name: str
    kind: Kind
    default: object
    low: float | None = None
    high: float | None = None

    def parse(self, text: str) -> object:
        """The typed value of ``text``; ``ParameterError`` when it is not one."""
        value = text.strip()
        try:
            if self.kind == "bool":
                return parse_bool(value)
            if self.kind == "int":
                number: float = int(value)
            elif self.kind == "float":
                number = float(value)
                if not math.isfinite(number):
                    raise ValueError(value)
            elif self.kind == "hints":
                return _hints(value)
            else:
                return value
        except ValueError:
            raise ParameterError(ERROR_INVALID_PARAMETER_VALUE, self.name,
                                 f"{self.name}: {text.strip()[:40]!r} is not {_KIND_WORDS[self.kind]}") from None
        if (self.low is not None and number < self.low) or (self.high is not None and number > self.high):
            raise ParameterError(ERROR_INVALID_PARAMETER_VALUE, self.name,
                                 f"{self.name}: {value} is out of range ({_range(self.low, self.high)})")
        return number

    def render(self, value: object) -> str:
        if self.kind == "bool":
            return "true" if value else "false"
        if self.kind == "float":
            return f"{float(value):g}"  # type: ignore[arg-type]
        return str(value)


_KIND_WORDS = {"bool": "a boolean (true or false)", "int": "a whole number", "float": "a number",
               "text": "text", "hints": "a list of word:boost"}
_HINT = re.compile(r"^[^\s:,]+(?::[-+]?\d+(?:\.\d+)?)?$")


def _hints(value: str) -> str:
    for entry in (item.strip() for item in value.split(",")):
        if entry and not _HINT.match(entry):
            raise ValueError(entry)
    return value


def word_boosts(value: str) -> dict[str, float]:
    """``hints.words`` (``word:boost, ...``; a word without ``:boost`` gets ``DEFAULT_BOOST``) as
    word -> boost; ``ValueError`` naming the entry that is not ``word`` or ``word:number``. A word
    given twice keeps its last boost. What a boost does: ``decoder.word_boosts``."""
    out: dict[str, float] = {}
    for entry in (item.strip() for item in value.split(",")):
        if not entry:
            continue
        if not _HINT.match(entry):
            raise ValueError(entry)
        word, _, boost = entry.partition(":")
        out[word] = float(boost) if boost else DEFAULT_BOOST
    return out


def _range(low: float | None, high: float | None) -> str:
    if high is None:
        return f"at least {low:g}"
    return f"{low:g} to {high:g}"


# Accepted and stored, with no effect (the reference: clients send them).
PASSIVE = ("Media-Type", "Channel-Identifier", "loggingTag", "license.manager.accountTag", "Verify-Buffer-Utterance")
_INFER = re.compile(r"^infer-[a-z0-9_.-]+-enabled$", re.IGNORECASE)


def parameter_table(config: EngineConfig) -> dict[str, Parameter]:
    """Every parameter by lower-case name, with the defaults ``config`` gives."""
    server, interpret, endpointer = config.server, config.interpret, EndpointerSettings()
    table = [
        Parameter("decoder.startInputTimers", "bool", True),
        Parameter("noInputTimeout.enabled", "bool", True),
        Parameter("noInputTimeout.value", "int", server.no_input_timeout_ms, 1, 3_600_000),
        Parameter("recognitionTimeout.enabled", "bool", True),
        Parameter("recognitionTimeout.value", "int", server.recognition_timeout_ms, 1, 3_600_000),
        Parameter("decoder.maxSentences", "int", interpret.nbest, 1, interpret.max_nbest),
        Parameter("decoder.confidenceThreshold", "int", interpret.confidence_threshold, 0, 100),
        Parameter("decoder.continuousMode", "bool", False),
        Parameter("decoder.wordDetails", "int", 0, 0, 2),
        Parameter("decoder.partialResultEnabled", "bool", False),
        Parameter("decoder.partialResultInterval", "int", 1000, 100, 60_000),
        Parameter("endpointer.enabled", "bool", endpointer.enabled),
        Parameter("endpointer.headMargin", "int", endpointer.head_margin_ms, 0, 10_000),
        Parameter("endpointer.tailMargin", "int", endpointer.tail_margin_ms, 0, 10_000),
        Parameter("endpointer.waitEnd", "int", endpointer.wait_end_ms, 10, 60_000),
        Parameter("endpointer.levelMode", "int", endpointer.level_mode, 0, 2),
        Parameter("endpointer.levelThreshold", "float", endpointer.level_threshold, -100, 0),
        Parameter("endpointer.autoLevelLen", "int", endpointer.auto_level_len_ms, 10, 600_000),
        Parameter("endpointer.maxSegmentDuration", "int", endpointer.max_segment_ms, 10, 3_600_000),
        Parameter("hints.words", "hints", ""),
        *(Parameter(name, "text", "") for name in PASSIVE),
    ]
    return {parameter.name.lower(): parameter for parameter in table}


@dataclass(frozen=True, slots=True, kw_only=True)
class RecognitionSettings:
    """The parameters of one recognition, typed (times in milliseconds)."""

    start_input_timers: bool
    no_input_timeout_ms: int | None  # None: disabled
    recognition_timeout_ms: int | None
    max_sentences: int
    confidence_threshold: int
    continuous_mode: bool
    word_details: int
    partial_interval_ms: int | None  # None: no partial results
    endpointer: EndpointerSettings
    media_type: str
    word_boosts: Mapping[str, float] = field(default_factory=dict)  # hints.words: word -> boost


class Parameters:
    """A session's parameter values (SET_PARAMETERS / GET_PARAMETERS)."""

    def __init__(self, config: EngineConfig, values: dict[str, object] | None = None):
        self.config = config
        self.table = parameter_table(config)
        self.values: dict[str, object] = values if values is not None else \
            {key: parameter.default for key, parameter in self.table.items()}

    def lookup(self, name: str) -> Parameter | None:
        """The parameter named ``name`` (any case); ``Infer-*-enabled`` names are made on the fly."""
        key = name.strip().lower()
        found = self.table.get(key)
        if found is None and _INFER.match(key):
            found = Parameter(name.strip(), "text", "")
        return found

    def parsed(self, items: Iterable[tuple[str, str]]) -> dict[str, object]:
        """Validate ``(name, text)`` pairs; the typed values by lower-case name (nothing is set)."""
        out: dict[str, object] = {}
        for name, text in items:
            parameter = self.lookup(name)
            if parameter is None:
                raise ParameterError(ERROR_INVALID_PARAMETER, name, f"unknown parameter {name.strip()[:60]!r}")
            out[parameter.name.lower()] = parameter.parse(text)
            self.table.setdefault(parameter.name.lower(), parameter)
        return out

    def update(self, items: Iterable[tuple[str, str]]) -> list[str]:
        """Set every pair or none (SET_PARAMETERS); the names set."""
        changes = self.parsed(items)
        self.values.update(changes)
        return [self.table[key].name for key in changes]

    def overlaid(self, items: Iterable[tuple[str, str]]) -> Parameters:
        """A copy with ``items`` set on it (START_RECOGNITION's parameters for one recognition)."""
        changes = self.parsed(items)
        copy = Parameters(self.config, {**self.values, **changes})
        copy.table.update({key: self.table[key] for key in changes})
        return copy

    def render(self, names: Iterable[str] = ()) -> list[tuple[str, str]]:
        """``(name, value)`` for each of ``names``, or every parameter when none (GET_PARAMETERS)."""
        wanted = [name for name in names if name.strip()]
        if not wanted:
            return [(p.name, p.render(self.values.get(key, p.default))) for key, p in self.table.items()]
        out = []
        for name in wanted:
            parameter = self.lookup(name)
            if parameter is None:
                raise ParameterError(ERROR_INVALID_PARAMETER, name, f"unknown parameter {name.strip()[:60]!r}")
            key = parameter.name.lower()
            out.append((parameter.name, parameter.render(self.values.get(key, parameter.default))))
        return out

    def value(self, name: str) -> object:
        return self.values[name.lower()]

    def settings(self) -> RecognitionSettings:
        """The typed settings of a recognition with these values; ``ParameterError`` when the
        endpointer refuses a combination."""
        v = self.value

        def number(name: str) -> int:
            return int(v(name))  # type: ignore[call-overload,no-any-return]

        try:
            endpointer = EndpointerSettings(
                enabled=bool(v("endpointer.enabled")), head_margin_ms=number("endpointer.headMargin"),
                tail_margin_ms=number("endpointer.tailMargin"), wait_end_ms=number("endpointer.waitEnd"),
                level_mode=number("endpointer.levelMode"),
                level_threshold=float(v("endpointer.levelThreshold")),  # type: ignore[arg-type]
                auto_level_len_ms=number("endpointer.autoLevelLen"),
                max_segment_ms=number("endpointer.maxSegmentDuration"))
        except ValueError as exc:
            raise ParameterError(ERROR_INVALID_PARAMETER_VALUE, "endpointer", str(exc)) from None
        return RecognitionSettings(
            start_input_timers=bool(v("decoder.startInputTimers")),
            no_input_timeout_ms=number("noInputTimeout.value") if v("noInputTimeout.enabled") else None,
            recognition_timeout_ms=number("recognitionTimeout.value") if v("recognitionTimeout.enabled") else None,
            max_sentences=number("decoder.maxSentences"),
            confidence_threshold=number("decoder.confidenceThreshold"),
            continuous_mode=bool(v("decoder.continuousMode")),
            word_details=number("decoder.wordDetails"),
            partial_interval_ms=number("decoder.partialResultInterval") if v("decoder.partialResultEnabled") else None,
            endpointer=endpointer,
            media_type=str(v("Media-Type")),
            word_boosts=word_boosts(str(v("hints.words"))),
        )


__all__ = ["PASSIVE", "Parameter", "ParameterError", "Parameters", "RecognitionSettings", "parameter_table",
           "word_boosts"]
