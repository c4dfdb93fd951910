"""Loading grammars: sniff the form, read, validate, resolve references (the front end's entry).

``load_bundle("dir/main.grxml#rule")`` is what commands and the interpreter call;
``load_grammar`` reads and validates one document; ``bundle_from_text`` serves inline grammars
(e.g. a DEFINE_GRAMMAR body).
"""

from __future__ import annotations

import codecs
import dataclasses
import hashlib

from ..bundle import GrammarBundle
from ..errors import GrammarErrors, GrammarSyntaxError, GrammarValidationError, SrgsError
from ..limits import DEFAULT_LIMITS, Limits, SourceKind, check_size
from ..model import Grammar, SourceSpan
from ..passes.recursion import check_left_recursion
from ..passes.validate import grammar_problems
from .builtins import BUILTIN_SCHEME, canonical_builtin_uri
from .resolve import resolve
from .sources import FetchOptions, fetch, location_to_uri, map_uri, source_kind

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def sniff_form(data: bytes, source: str) -> str:
    """"xml" or "abnf", from the first significant character (SRGS §4.1 self-identifying header)."""
    head = data[:256]
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            text = head[len(bom):].decode(encoding, errors="ignore")
            break
    else:
        if head[:2] in (b"<\x00", b"#\x00") or head[1:2] == b"\x00" and head[:1].isspace():
            text = head.decode("utf-16-le", errors="ignore")
        elif head[:2] in (b"\x00<", b"\x00#") or head[:1] == b"\x00":
            text = head.decode("utf-16-be", errors="ignore")
        else:
            text = head.decode("latin-1")
    first = text.lstrip()[:1]
    if first == "<":
        return "xml"
    if first == "#":
        return "abnf"
    lowered = source.lower().split("#", 1)[0]
    if lowered.endswith((".grxml", ".xml")):
        return "xml"
    if lowered.endswith((".gram", ".abnf")):
        return "abnf"
    raise GrammarSyntaxError("not an SRGS grammar: expected an XML document or an '#ABNF 1.0' header", SourceSpan(source, 1, 1))


def parse_grammar(
    data: bytes | str,
    source: str,
    *,
    limits: Limits = DEFAULT_LIMITS,
    kind: SourceKind = "inline",
    problems: list[SrgsError] | None = None,
) -> Grammar | None:
    """Read one grammar document in either form (no validation, no references followed).

    ``kind`` says where the bytes came from ("file", "http" or "inline"): that size limit applies.
    Without ``problems`` the first error is raised. With a list, every syntax problem found is
    appended to it and the model read around them is returned (``None`` if there is none).
    """
    text = data if isinstance(data, str) else None
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        check_size(len(raw), kind, limits, "grammar", SourceSpan(source, 0, 0))
        form = sniff_form(raw, source)
    except SrgsError as exc:
        if problems is None:
            raise
        problems.append(exc)
        return None
    if form == "xml":
        from ..xml.reader import read_xml

        return read_xml(raw, source, limits=limits, kind=kind, problems=problems)
    from ..abnf.reader import read_abnf

    # ABNF text is read as text: its header's charset, if any, named the encoding of bytes
    return read_abnf(raw if text is None else text, source, limits=limits, kind=kind, problems=problems)


def grammar_with_problems(
    data: bytes | str, source: str, *, limits: Limits = DEFAULT_LIMITS, kind: SourceKind = "inline"
) -> tuple[Grammar | None, list[SrgsError], bool]:
    """Read one grammar and validate what could be read: ``(grammar or None, every problem, whether
    the text read without a syntax error)``. Problems of a grammar read around syntax errors
    are still validated: a rule in error stands as a placeholder that keeps its name defined."""
    problems: list[SrgsError] = []
    grammar = parse_grammar(data, source, limits=limits, kind=kind, problems=problems)
    readable = grammar is not None and not problems
    if grammar is not None:
        problems += grammar_problems(grammar)
    return grammar, problems, readable


def load_grammar(data: bytes | str, source: str, *, limits: Limits = DEFAULT_LIMITS, kind: SourceKind = "inline") -> Grammar:
    """Read and validate one grammar; raise ``GrammarErrors`` listing every problem."""
    grammar, problems, _ = grammar_with_problems(data, source, limits=limits, kind=kind)
    if problems or grammar is None:
        raise GrammarErrors(problems)
    return grammar


def split_fragment(location: str) -> tuple[str, str | None]:
    """``file.grxml#rule`` -> ``("file.grxml", "rule")``."""
    if "#" in location:
        path, fragment = location.rsplit("#", 1)
        return path, fragment or None
    return location, None


def load_bundle(location: str, *, options: FetchOptions | None = None, active: tuple[str, ...] = ()) -> GrammarBundle:
    """Load a grammar by path or URI (``#rule`` picks the active rule) with all it references.

    Every problem found (syntax, validation, references) is raised together as ``GrammarErrors``.
    """
    options = options or FetchOptions()
    path, fragment = split_fragment(location)
    uri = location_to_uri(path)
    display = path if "://" not in path and not path.startswith(("builtin:", "session:")) else uri
    try:
        if uri.startswith(BUILTIN_SCHEME) and options.policy.builtin:  # the canonical key: language chosen, parameters sorted
            uri = display = canonical_builtin_uri(uri, default_language=options.language, span=SourceSpan(display, 0, 0))
        mapped = map_uri(uri, options)
        data = fetch(mapped, options, roots=options.policy.caller_roots(), span=SourceSpan(display, 0, 0))
    except SrgsError as exc:
        raise GrammarErrors([exc]) from None
    return _bundle(data, uri, display, fragment, options, active, source_kind(mapped))


def bundle_from_text(
    data: bytes | str,
    *,
    source: str = "<inline>",
    options: FetchOptions | None = None,
    active: tuple[str, ...] = (),
) -> GrammarBundle:
    """A bundle for a grammar given as text; relative references resolve against ``source``.

    The text is bounded by ``options.limits.max_inline_bytes``.
    """
    options = options or FetchOptions()
    if isinstance(data, str):
        data = data.encode("utf-8")
    return _bundle(data, source, source, None, options, active, "inline")


def _bundle(data: bytes, key: str, display: str, fragment: str | None, options: FetchOptions,
            active: tuple[str, ...], kind: SourceKind) -> GrammarBundle:
    grammar, problems, _ = grammar_with_problems(data, display, limits=options.limits, kind=kind)
    if grammar is None:
        raise GrammarErrors(problems)
    rules: tuple[str, ...] = ()
    if not problems:  # which rules to activate (a problem such as an undefined root says it already)
        try:
            rules = active or ((fragment,) if fragment else default_active_rules(grammar))
        except GrammarErrors as exc:
            problems += exc.errors
        for name in rules:
            if grammar.rule(name) is None:
                problems.append(GrammarValidationError(f"no rule '{name}' to activate", grammar.span))
    try:
        bundle = resolve(grammar, key=key, form=sniff_form(data, display), options=options, active=rules,
                         source_hash=hashlib.sha256(data).hexdigest())
    except GrammarErrors as exc:
        problems += exc.errors
    except SrgsError as exc:
        problems.append(exc)
    if problems:
        raise GrammarErrors(problems)
    try:
        graph = check_left_recursion(bundle)
    except SrgsError as exc:
        raise GrammarErrors([exc]) from None
    return dataclasses.replace(bundle, analysis=graph)


def default_active_rules(grammar: Grammar) -> tuple[str, ...]:
    """The root; without a declared root, every public rule (SRGS §4.7 leaves it to the host)."""
    if grammar.root:
        return (grammar.root,)
    public = tuple(rule.name for rule in grammar.public_rules)
    if not public:
        raise GrammarErrors([GrammarValidationError("no root rule declared and no public rule to activate", grammar.span)])
    return public
