"""Content-keyed compile cache: an in-process LRU and an optional directory of FAR files.

The key is a hash of every grammar of the bundle (its model, which is what the readers made of
the source text), the links between them, the active rules, the compiler version and the
options -- never of a file name -- so an edited grammar is never served stale.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

from ..bundle import GrammarBundle
from ..errors import CompileError
from ..model import Grammar
from .options import COMPILER_VERSION, CompileOptions

if TYPE_CHECKING:  # imported on first use: it loads OpenFst
    from .artifact import CompiledGrammar


def grammar_hash(grammar: Grammar) -> str:
    """sha256 of a grammar's model (positions excluded: they do not change what is compiled);
    used only for grammars that were not read from source bytes (built in code)."""
    return hashlib.sha256(repr(grammar).encode("utf-8")).hexdigest()


def source_or_model_hash(bundle: GrammarBundle, key: str) -> str:
    """The sha256 of a grammar's source bytes when the loader read it, else of its model."""
    return bundle.source_hashes.get(key) or grammar_hash(bundle.grammars[key])


def bundle_hash(bundle: GrammarBundle) -> str:
    """sha256 of a bundle: every grammar, the links between them (and how they print), the main
    grammar, active rules."""
    content = {
        "main": bundle.main,
        "active": list(bundle.active),
        "grammars": sorted((key, source_or_model_hash(bundle, key)) for key in bundle.grammars),
        "links": sorted([list(src) + list(dst) for src, dst in bundle.links.items()]),
        "labels": sorted([list(src) + [label] for src, label in bundle.labels.items()]),
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode("utf-8")).hexdigest()


def cache_key(bundle: GrammarBundle, options: CompileOptions) -> str:
    content = [bundle_hash(bundle), COMPILER_VERSION, options.as_dict()]
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode("utf-8")).hexdigest()


class CompileCache:
    """Compiled grammars by content: ``get(bundle, options)`` compiles only on a miss.

    ``directory``: where compiled FARs are kept between processes (None: memory only).
    Thread-safe; two threads missing the same key may both compile (the result is the same).
    """

    def __init__(self, *, max_entries: int = 16, directory: str | Path | None = None):
        self.max_entries = max_entries
        self.directory = Path(directory) if directory else None
        self.hits = 0
        self.disk_hits = 0
        self.misses = 0
        self._entries: OrderedDict[str, CompiledGrammar] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, bundle: GrammarBundle, options: CompileOptions | None = None) -> CompiledGrammar:
        from .compiler import compile_bundle

        options = options or CompileOptions()
        key = cache_key(bundle, options)
        with self._lock:
            compiled = self._entries.get(key)
            if compiled is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return compiled
        compiled = self._from_disk(key)
        if compiled is None:
            compiled = compile_bundle(bundle, options=options)
            self._to_disk(key, compiled)
            with self._lock:
                self.misses += 1
        else:
            with self._lock:
                self.disk_hits += 1
        with self._lock:
            self._entries[key] = compiled
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return compiled

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def _path(self, key: str) -> Path | None:
        return self.directory / f"{key}.far" if self.directory else None

    def _from_disk(self, key: str) -> CompiledGrammar | None:
        from .artifact import CompiledGrammar

        path = self._path(key)
        if path is None or not path.is_file():
            return None
        try:
            return CompiledGrammar.load(path)
        except CompileError:
            return None  # a damaged or foreign file: compile again and overwrite it

    def _to_disk(self, key: str, compiled: CompiledGrammar) -> None:
        path = self._path(key)
        if path is None:
            return
        partial = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            compiled.save(partial)
            os.replace(partial, path)
        except (OSError, CompileError):
            # the disk cache is best effort: a full or read-only disk only costs a recompile
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)


_default_cache: CompileCache | None = None
_default_lock = threading.Lock()


def default_cache() -> CompileCache:
    """The process-wide cache; on disk too when ``$SRGS_CACHE_DIR`` names a directory."""
    global _default_cache
    with _default_lock:
        if _default_cache is None:
            _default_cache = CompileCache(directory=os.environ.get("SRGS_CACHE_DIR") or None)
        return _default_cache


def compile_cached(bundle: GrammarBundle, *, options: CompileOptions | None = None,
                   cache: CompileCache | None = None) -> CompiledGrammar:
    """``compile_bundle`` through a cache (the process-wide one by default)."""
    return (cache or default_cache()).get(bundle, options)
