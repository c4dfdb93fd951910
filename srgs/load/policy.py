"""Where a grammar may reach: one access policy, chosen by whoever loads (issue 8).

A grammar names other grammars by URI, and a grammar can come from someone who must not read
this machine's files (a client of a server). So every read goes through one ``AccessPolicy``:

    builtin        ``builtin:KIND/NAME``, the grammars the engine ships
    session        ``session:NAME``, grammars the caller defined in its own ``GrammarNamespace``
    local_files    the caller itself may name a local file as the grammar to load
    own_directory  a grammar read from a file may reference files under its own directory
    roots          directories every grammar may reference files under
    http           ``http(s):`` references (bounded in time and size)
    uri_map        ``(prefix, replacement)`` rewrites applied before anything is read

``AccessPolicy.local()`` is the command line's (and ``load_bundle``'s) default;
``AccessPolicy.closed()`` is for grammars given as text by someone else: built-ins and the
caller's session grammars only, no file, no network. A refusal is decided from the URI alone,
before any file is looked at, so a refused grammar learns nothing about the file system.
"""

from __future__ import annotations

import threading
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

SESSION_SCHEME = "session:"


@dataclass(frozen=True, slots=True, kw_only=True)
class AccessPolicy:
    """What the grammars of one load may read (see the module docstring)."""

    builtin: bool = True
    session: bool = True
    local_files: bool = True
    own_directory: bool = True
    roots: tuple[str, ...] = ()
    http: bool = False
    uri_map: tuple[tuple[str, str], ...] = ()

    @classmethod
    def local(cls, *, roots: tuple[str, ...] = (), http: bool = False,
              uri_map: tuple[tuple[str, str], ...] = ()) -> AccessPolicy:
        """A user's own grammars on their own machine: files they name, each grammar's own
        directory, the listed roots; http only when asked for."""
        return cls(roots=tuple(roots), http=http, uri_map=tuple(uri_map))

    @classmethod
    def closed(cls, *, roots: tuple[str, ...] = (), http: bool = False) -> AccessPolicy:
        """Grammars from someone else (a server's clients): built-ins and session grammars;
        files only under ``roots`` and http only when granted."""
        return cls(local_files=False, own_directory=False, roots=tuple(roots), http=http)

    def caller_roots(self) -> tuple[Path, ...] | None:
        """Where a file the caller names itself may be: anywhere (None) when callers may name
        local files, else only under the listed roots."""
        return None if self.local_files else tuple(Path(root).resolve() for root in self.roots)

    def file_roots(self, grammar_uri: str) -> tuple[Path, ...]:
        """The directories a grammar read from ``grammar_uri`` may reference files under."""
        roots = [Path(root).resolve() for root in self.roots]
        parts = urllib.parse.urlsplit(grammar_uri)
        if self.own_directory and parts.scheme == "file":
            roots.append(Path(urllib.parse.unquote(parts.path)).resolve().parent)
        return tuple(roots)


class GrammarNamespace:
    """The grammars one caller (a session) defined by name: ``session:NAME`` resolves here and
    nowhere else, so one session never sees another's grammars. Thread-safe."""

    def __init__(self, name: str = "session") -> None:
        self.name = name
        self._sources: dict[str, tuple[bytes, str]] = {}
        self._lock = threading.Lock()

    def define(self, name: str, source: bytes | str, *, display: str | None = None) -> str:
        """Stores (or replaces) the grammar ``name``; returns its URI ``session:NAME``."""
        name = session_name(name)
        data = source.encode("utf-8") if isinstance(source, str) else bytes(source)
        with self._lock:
            self._sources[name] = (data, display or SESSION_SCHEME + name)
        return SESSION_SCHEME + name

    def source(self, name: str) -> bytes | None:
        with self._lock:
            entry = self._sources.get(session_name(name))
        return None if entry is None else entry[0]

    def release(self, name: str) -> bool:
        """Forgets one grammar; False when there was none by that name."""
        with self._lock:
            return self._sources.pop(session_name(name), None) is not None

    def clear(self) -> None:
        with self._lock:
            self._sources.clear()

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._sources)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.source(name) is not None


def session_name(name: str) -> str:
    """``session:pizza`` or ``pizza`` -> ``pizza``; refuses empty names and ones with ``#``."""
    bare = name[len(SESSION_SCHEME):] if name.startswith(SESSION_SCHEME) else name
    if not bare or "#" in bare or bare != bare.strip():
        raise ValueError(f"not a session grammar name: {name!r}")
    return bare


__all__ = ["SESSION_SCHEME", "AccessPolicy", "GrammarNamespace", "session_name"]
