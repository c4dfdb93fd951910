"""Reading grammar sources by URI, within bounds (SRGS §2.2.2 external references).

Schemes: ``file:`` (only under allowed root directories), ``builtin:NAME`` (the grammars the
project ships), and ``http:``/``https:`` only when enabled, with a timeout and a size limit.
A URI prefix map (a small catalog) can redirect, e.g. a published test-suite URL to a local copy.
Each kind of source has its own size limit (``Limits.max_grammar_bytes``, ``Limits.max_fetch_bytes``),
read from ``FetchOptions.limits``.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .errors import ResolveError
from .limits import DEFAULT_LIMITS, Limits, SourceKind, check_size
from .model import SourceSpan

BUILTIN_SCHEME = "builtin:"
BUILTIN_DIR = Path(__file__).resolve().parent.parent / "grammars" / "builtin"
BUILTIN_SUFFIXES = (".grxml", ".gram")


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchOptions:
    """Where grammars may come from.

    ``allowed_roots``: directories whose files (and subdirectories) ``file:`` URIs may read;
    empty means the directory of the main grammar. ``uri_map``: ``(prefix, replacement)`` pairs
    applied before fetching.
    """

    allowed_roots: tuple[str, ...] = ()
    allow_http: bool = False
    uri_map: tuple[tuple[str, str], ...] = ()
    limits: Limits = DEFAULT_LIMITS


def location_to_uri(location: str) -> str:
    """A command-line location (path or URI) as an absolute URI.

    A trailing slash is kept (``grammars/`` -> ``file:///.../grammars/``): a directory given as
    the target of a URI map must stay a prefix that names go under.
    """
    if location.startswith(BUILTIN_SCHEME) or urllib.parse.urlsplit(location).scheme in ("file", "http", "https"):
        return location
    uri = Path(location).resolve().as_uri()
    if location.endswith(("/", os.sep)) and not uri.endswith("/"):
        uri += "/"
    return uri


def source_kind(uri: str) -> SourceKind:
    """Which size limit applies to the grammar behind ``uri``: "http" for http(s), else "file"."""
    return "http" if urllib.parse.urlsplit(uri).scheme in ("http", "https") else "file"


def builtin_names() -> list[str]:
    return sorted({p.stem for p in BUILTIN_DIR.glob("*") if p.suffix in BUILTIN_SUFFIXES})


def map_uri(uri: str, options: FetchOptions) -> str:
    for prefix, replacement in options.uri_map:
        if uri.startswith(prefix):
            return replacement + uri[len(prefix):]
    return uri


def fetch(uri: str, options: FetchOptions, *, roots: tuple[Path, ...], span: SourceSpan | None = None) -> bytes:
    """The bytes behind ``uri`` (already absolute and mapped), or a ``ResolveError``.

    Local files and builtin grammars are bounded by ``max_grammar_bytes``, http(s) by
    ``max_fetch_bytes`` and ``fetch_timeout_s`` (all from ``options.limits``).
    """
    limits = options.limits
    if uri.startswith(BUILTIN_SCHEME):
        return _fetch_builtin(uri[len(BUILTIN_SCHEME):], limits, span)
    parts = urllib.parse.urlsplit(uri)
    if parts.scheme == "file":
        return _fetch_file(Path(urllib.parse.unquote(parts.path)), roots, limits, span)
    if parts.scheme in ("http", "https"):
        if not options.allow_http:
            raise ResolveError(f"cannot fetch {uri}: http(s) references are disabled "
                               "(allow them with --allow-http, or FetchOptions(allow_http=True))", span)
        return _fetch_http(uri, limits, span)
    raise ResolveError(f"cannot fetch {uri!r}: unsupported URI scheme {parts.scheme!r}", span)


def _fetch_builtin(name: str, limits: Limits, span: SourceSpan | None) -> bytes:
    for suffix in BUILTIN_SUFFIXES:
        path = BUILTIN_DIR / f"{name}{suffix}"
        if name and "/" not in name and path.is_file():
            return _read_bounded(path, limits, span)
    known = ", ".join(builtin_names()) or "none"
    raise ResolveError(f"no builtin grammar named {name!r} (known: {known})", span)


def _fetch_file(path: Path, roots: tuple[Path, ...], limits: Limits, span: SourceSpan | None) -> bytes:
    resolved = path.resolve()
    if roots and not any(resolved == root or root in resolved.parents for root in roots):
        allowed = ", ".join(str(r) for r in roots)
        raise ResolveError(f"{resolved} is outside the allowed grammar directories ({allowed}); "
                           "allow its directory with --allow-root DIR (FetchOptions.allowed_roots)", span)
    if resolved.is_dir():
        raise ResolveError(f"{resolved} is a directory, not a grammar file", span)
    if not resolved.is_file():
        raise ResolveError(f"grammar file not found: {resolved}", span)
    return _read_bounded(resolved, limits, span)


def _read_bounded(path: Path, limits: Limits, span: SourceSpan | None) -> bytes:
    limit = limits.max_grammar_bytes
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise ResolveError(f"cannot read {path}: {exc.strerror}", span) from None
    if len(data) > limit:
        check_size(None, "file", limits, str(path), span)
    return data


def _fetch_http(uri: str, limits: Limits, span: SourceSpan | None) -> bytes:
    limit = limits.max_fetch_bytes
    request = urllib.request.Request(uri, headers={"Accept": "application/srgs+xml, application/srgs"})
    try:
        with urllib.request.urlopen(request, timeout=limits.fetch_timeout_s) as response:  # noqa: S310 (scheme checked)
            data = response.read(limit + 1)
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise ResolveError(f"cannot fetch {uri}: {getattr(exc, 'reason', exc)}", span) from None
    if len(data) > limit:
        check_size(None, "http", limits, uri, span)
    return data
