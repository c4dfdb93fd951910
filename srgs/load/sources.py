"""Reading grammar sources by URI, within bounds (SRGS §2.2.2 external references).

Schemes: ``file:`` (only under allowed root directories), ``builtin:`` (the grammars the
project ships, see below), and ``http:``/``https:`` only when enabled, with a timeout and a size limit.
A URI prefix map (a small catalog) can redirect, e.g. a published test-suite URL to a local copy.
Each kind of source has its own size limit (``Limits.max_grammar_bytes``, ``Limits.max_fetch_bytes``),
read from ``FetchOptions.limits``.

Built-in grammars (``builtin:``) are found and parametrised by ``srgs.load.builtins``.
"""

from __future__ import annotations

import os
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import AccessDeniedError, ResolveError
from ..limits import DEFAULT_LIMITS, Limits, SourceKind, check_size
from ..model import SourceSpan
from .builtins import BUILTIN_SCHEME, parse_builtin, substitute_params
from .policy import SESSION_SCHEME, AccessPolicy, GrammarNamespace


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchOptions:
    """How one load reads grammars: where it may reach (``policy``), how much it may read
    (``limits``) and, for ``session:`` URIs, the caller's grammar namespace (``sessions``)."""

    policy: AccessPolicy = field(default_factory=AccessPolicy)
    limits: Limits = DEFAULT_LIMITS
    sessions: GrammarNamespace | None = None
    language: str | None = None  # for builtin:grammar/ URIs when neither ?lang= nor the referrer says

    @property
    def uri_map(self) -> tuple[tuple[str, str], ...]:
        return self.policy.uri_map


def location_to_uri(location: str) -> str:
    """A command-line location (path or URI) as an absolute URI.

    A trailing slash is kept (``grammars/`` -> ``file:///.../grammars/``): a directory given as
    the target of a URI map must stay a prefix that names go under.
    """
    if (location.startswith((BUILTIN_SCHEME, SESSION_SCHEME))
            or urllib.parse.urlsplit(location).scheme in ("file", "http", "https")):
        return location
    uri = Path(location).resolve().as_uri()
    if location.endswith(("/", os.sep)) and not uri.endswith("/"):
        uri += "/"
    return uri


def source_kind(uri: str) -> SourceKind:
    """Which size limit applies to the grammar behind ``uri``: "http" for http(s), else "file"."""
    return "http" if urllib.parse.urlsplit(uri).scheme in ("http", "https") else "file"


def map_uri(uri: str, options: FetchOptions) -> str:
    for prefix, replacement in options.uri_map:
        if uri.startswith(prefix):
            return replacement + uri[len(prefix):]
    return uri


def fetch(uri: str, options: FetchOptions, *, roots: tuple[Path, ...] | None, span: SourceSpan | None = None) -> bytes:
    """The bytes behind ``uri`` (already absolute and mapped), or a ``ResolveError``.

    ``roots``: the directories a ``file:`` URI may be read under (empty: no file at all), or
    None for a file the caller named itself (``AccessPolicy.local_files``).

    Local files and builtin grammars are bounded by ``max_grammar_bytes``, http(s) by
    ``max_fetch_bytes`` and ``fetch_timeout_s`` (all from ``options.limits``).
    """
    limits = options.limits
    policy = options.policy
    if uri.startswith(BUILTIN_SCHEME):
        if not policy.builtin:
            raise AccessDeniedError(f"cannot read {uri}: built-in grammars are not allowed here (AccessPolicy.builtin)", span)
        ref = parse_builtin(uri, default_language=options.language, span=span)
        return substitute_params(ref, _read_bounded(ref.path, limits, span), span)
    if uri.startswith(SESSION_SCHEME):
        return _fetch_session(uri, options, span)
    parts = urllib.parse.urlsplit(uri)
    if parts.scheme == "file":
        return _fetch_file(Path(urllib.parse.unquote(parts.path)), roots, limits, span)
    if parts.scheme in ("http", "https"):
        if not policy.http:
            raise AccessDeniedError(f"cannot fetch {uri}: http(s) references are disabled "
                               "(allow them with --allow-http, or AccessPolicy(http=True))", span)
        return _fetch_http(uri, limits, span)
    if not parts.scheme:
        raise ResolveError(f"cannot resolve {uri!r}: a relative reference needs a grammar with a base URI "
                           "(a file, or a base declaration)", span)
    raise ResolveError(f"cannot fetch {uri!r}: unsupported URI scheme {parts.scheme!r}", span)


def _fetch_session(uri: str, options: FetchOptions, span: SourceSpan | None) -> bytes:
    name = uri[len(SESSION_SCHEME):]
    if not options.policy.session:
        raise AccessDeniedError(f"cannot read {uri}: session grammars are not allowed here (AccessPolicy.session)", span)
    data = options.sessions.source(name) if options.sessions is not None and name else None
    if data is None:
        raise ResolveError(f"no grammar {uri} is defined in this session", span)
    check_size(len(data), "inline", options.limits, uri, span)
    return data


def _fetch_file(path: Path, roots: tuple[Path, ...] | None, limits: Limits, span: SourceSpan | None) -> bytes:
    resolved = path.resolve()
    if roots is not None and not any(resolved == root or root in resolved.parents for root in roots):
        if not roots:
            raise AccessDeniedError(f"cannot read {path}: this grammar may not read local files "
                               "(grant a directory with --allow-root DIR, or AccessPolicy.roots)", span)
        allowed = ", ".join(str(r) for r in roots)
        raise AccessDeniedError(f"{resolved} is outside the allowed grammar directories ({allowed}); "
                           "allow its directory with --allow-root DIR (AccessPolicy.roots)", span)
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
    import urllib.error
    import urllib.request  # only when http is used: it costs start-up time

    limit = limits.max_fetch_bytes
    request = urllib.request.Request(uri, headers={"Accept": "application/srgs+xml, application/srgs"})
    try:
        with urllib.request.urlopen(request, timeout=limits.fetch_timeout_s) as response:  # noqa: S310 (scheme checked)
            data: bytes = response.read(limit + 1)
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise ResolveError(f"cannot fetch {uri}: {getattr(exc, 'reason', exc)}", span) from None
    if len(data) > limit:
        check_size(None, "http", limits, uri, span)
    return data
