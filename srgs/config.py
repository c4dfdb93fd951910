"""One engine configuration: every limit and default, in one object passed down (issue 8).

A server or an application builds one ``EngineConfig`` and hands it to whatever loads, compiles
or interprets; nothing reads module defaults behind its back. Settings come, each layer over
the one before, from the defaults, a TOML file, the environment and explicit overrides (the
command line's ``--set``)::

    [limits]                      # srgs.limits.Limits: sizes of sources, nesting, text length
    max_text_chars = 5000
    [compile]                     # srgs.compile.CompileOptions: states, optimisation budget
    optimize_timeout_s = 5
    [script]                      # ScriptBudget: what the SISR tags of one interpretation may cost
    time_s = 0.5
    [interpret]                   # InterpretSettings: n-best and confidence defaults
    [decoder]                     # DecoderSettings: back end and rejection
    [server]                      # ServerSettings: sessions, message and audio sizes, timers

The same setting as an environment variable is ``SRGS_<SECTION>_<FIELD>`` in capitals
(``SRGS_SCRIPT_TIME_S=0.5``), and as an override ``script.time_s=0.5``.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .compile.options import CompileOptions
from .errors import SrgsError
from .limits import DEFAULT_LIMITS, Limits

ENV_PREFIX = "SRGS_"


class ConfigError(SrgsError):
    """A configuration file, variable or override that names no setting or has a bad value."""

    code = "CONFIG_INVALID"


@dataclass(frozen=True, slots=True, kw_only=True)
class ScriptBudget:
    """What the SISR tags of one interpretation may cost: their own CPU time (not other
    threads'), the heap one interpretation may allocate, the native stack of the script."""

    time_s: float = 0.25
    memory_bytes: int = 32 * 1024 * 1024
    stack_bytes: int = 1024 * 1024

    def __post_init__(self) -> None:
        if not (math.isfinite(self.time_s) and self.time_s > 0):
            raise ValueError(f"script time_s must be a positive number of seconds, got {self.time_s}")
        if self.memory_bytes < 1024 * 1024:
            raise ValueError(f"script memory_bytes must be at least 1 MiB, got {self.memory_bytes}")
        if self.stack_bytes < 64 * 1024:
            raise ValueError(f"script stack_bytes must be at least 64 KiB, got {self.stack_bytes}")


@dataclass(frozen=True, slots=True, kw_only=True)
class InterpretSettings:
    """Defaults of one interpretation: how many results, the largest n-best a caller may ask
    for (n-best costs grow with it), and the confidence under which a result is NO_MATCH."""

    nbest: int = 1
    max_nbest: int = 100
    confidence_threshold: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.max_nbest <= 100:  # interpreter.api.MAX_NBEST: the search's own bound
            raise ValueError(f"max_nbest must be between 1 and 100, got {self.max_nbest}")
        if not 1 <= self.nbest <= self.max_nbest:
            raise ValueError(f"nbest must be between 1 and max_nbest ({self.max_nbest}), got {self.nbest}")
        if not 0 <= self.confidence_threshold <= 100:
            raise ValueError(f"confidence_threshold must be between 0 and 100, got {self.confidence_threshold}")


@dataclass(frozen=True, slots=True, kw_only=True)
class DecoderSettings:
    """Which decoder back end recognises speech and how sure it must be (0-1 rejection score;
    ``None`` is the back end's own calibrated default). Grammars and free speech score rejection
    differently, so each has its own threshold: ``free_speech_rejection_threshold`` is the utterance
    confidence / 100 under which a free-speech result is NO_MATCH (either back end; each calibrates
    its own default)."""

    backend: str = "pocketsphinx"
    rejection_threshold: float | None = None
    free_speech_rejection_threshold: float | None = None

    def __post_init__(self) -> None:
        if self.backend not in ("pocketsphinx", "ctc"):
            raise ValueError(f"decoder backend must be 'pocketsphinx' or 'ctc', got {self.backend!r}")
        for name in ("rejection_threshold", "free_speech_rejection_threshold"):
            threshold = getattr(self, name)
            if threshold is not None and not (math.isfinite(threshold) and threshold >= 0):
                raise ValueError(f"decoder {name} must be a number >= 0, got {threshold}")


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerSettings:
    """What one server process allows its clients: sessions held at once, the size of one
    protocol message, audio per recognition, how long an idle session lives, and the default
    timers of a recognition (milliseconds, as the protocol's parameters)."""

    max_sessions: int = 200
    max_message_bytes: int = 2 * 1024 * 1024
    max_audio_s: float = 120.0
    idle_timeout_s: float = 300.0
    no_input_timeout_ms: int = 10_000
    recognition_timeout_ms: int = 30_000

    def __post_init__(self) -> None:
        for name in ("max_sessions", "max_message_bytes", "no_input_timeout_ms", "recognition_timeout_ms"):
            if getattr(self, name) < 1:
                raise ValueError(f"server {name} must be at least 1, got {getattr(self, name)}")
        for name in ("max_audio_s", "idle_timeout_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"server {name} must be a positive number of seconds, got {value}")


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineConfig:
    """Every limit and default of the engine, by section (see the module docstring)."""

    limits: Limits = DEFAULT_LIMITS
    compile: CompileOptions = field(default_factory=CompileOptions)
    script: ScriptBudget = field(default_factory=ScriptBudget)
    interpret: InterpretSettings = field(default_factory=InterpretSettings)
    decoder: DecoderSettings = field(default_factory=DecoderSettings)
    server: ServerSettings = field(default_factory=ServerSettings)

    # --- building ---------------------------------------------------------------------------

    @classmethod
    def load(
        cls,
        path: str | Path | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> EngineConfig:
        """Defaults, then the TOML file at ``path``, then ``SRGS_*`` variables of ``environ``
        (pass ``os.environ`` to read the process environment), then ``overrides``."""
        config = cls()
        if path is not None:
            config = config.with_settings(_read_toml(Path(path)), origin=str(path))
        if environ is not None:
            config = config.with_settings(_from_environment(environ), origin="environment")
        if overrides:
            config = config.with_settings(_nest(overrides, origin="override"), origin="override")
        return config

    @classmethod
    def from_environment(cls) -> EngineConfig:
        """The defaults with the process's ``SRGS_*`` variables applied."""
        return cls.load(environ=os.environ)

    def with_settings(self, sections: Mapping[str, Mapping[str, Any]], *, origin: str = "settings") -> EngineConfig:
        """A copy with ``{section: {field: value}}`` applied; values are checked and converted."""
        changes: dict[str, Any] = {}
        for section, values in sections.items():
            current = getattr(self, section, None) if section in SECTIONS else None
            if current is None:
                raise ConfigError(f"{origin}: unknown section {section!r} (known: {', '.join(SECTIONS)})")
            if not isinstance(values, Mapping):
                raise ConfigError(f"{origin}: [{section}] must be a table of settings")
            converted = {name: _convert(current, section, name, value, origin) for name, value in values.items()}
            try:
                changes[section] = dataclasses.replace(current, **converted)
            except ValueError as exc:
                raise ConfigError(f"{origin}: [{section}] {exc}") from None
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, dict[str, Any]]:
        """Every setting by section (what ``srgs config`` prints)."""
        return {section: dataclasses.asdict(getattr(self, section)) for section in SECTIONS}


SECTIONS = ("limits", "compile", "script", "interpret", "decoder", "server")


def setting_names() -> list[str]:
    """Every ``section.field`` the configuration knows."""
    config = EngineConfig()
    return [f"{section}.{f.name}" for section in SECTIONS for f in dataclasses.fields(getattr(config, section))]


def _convert(current: Any, section: str, name: str, value: Any, origin: str) -> Any:
    names = {f.name for f in dataclasses.fields(current)}
    if name not in names:
        raise ConfigError(f"{origin}: unknown setting {section}.{name} (known: {', '.join(sorted(names))})")
    kind = type(getattr(current, name))
    default = next(f.default for f in dataclasses.fields(current) if f.name == name)
    if default is None:  # an optional number whose default (None) is "the component's own"
        if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none", "default")):
            return None
        kind = float
    try:
        if kind is bool:
            return _boolean(value)
        if kind is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(str(value).replace("_", "")) if isinstance(value, str) else int(value)
        if kind is float:
            if isinstance(value, bool):
                raise ValueError
            number = float(value)
            if math.isnan(number):
                raise ValueError
            return number
        return kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{origin}: {section}.{name} wants {kind.__name__}, got {value!r}") from None


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(value)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read configuration {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def _from_environment(environ: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """``SRGS_SCRIPT_TIME_S=0.5`` -> ``{"script": {"time_s": "0.5"}}``; other SRGS_ names
    (``SRGS_CACHE_DIR``) are not settings and are left alone."""
    sections: dict[str, dict[str, str]] = {}
    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX):
            continue
        rest = key[len(ENV_PREFIX):].lower()
        for section in SECTIONS:
            if rest.startswith(section + "_"):
                sections.setdefault(section, {})[rest[len(section) + 1:]] = value
                break
    return sections


def _nest(overrides: Mapping[str, Any], *, origin: str) -> dict[str, dict[str, Any]]:
    sections: dict[str, dict[str, Any]] = {}
    for dotted, value in overrides.items():
        section, dot, name = dotted.partition(".")
        if not dot or not name:
            raise ConfigError(f"{origin}: a setting is SECTION.NAME=VALUE, got {dotted!r}")
        sections.setdefault(section, {})[name] = value
    return sections


def parse_override(text: str) -> tuple[str, str]:
    """``"script.time_s=0.5"`` -> ``("script.time_s", "0.5")`` (the command line's ``--set``)."""
    name, eq, value = text.partition("=")
    if not eq or "." not in name:
        raise ConfigError(f"--set wants SECTION.NAME=VALUE, got {text!r}")
    return name.strip(), value.strip()


DEFAULT_CONFIG = EngineConfig()

__all__ = [
    "ConfigError",
    "DEFAULT_CONFIG",
    "EngineConfig",
    "InterpretSettings",
    "ScriptBudget",
    "parse_override",
    "setting_names",
]
