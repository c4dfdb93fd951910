"""Resolving external rule references into a ``GrammarBundle`` (SRGS §2.2.2, §4.9).

Each referenced grammar is read once (by its absolute URI), validated, and checked against the
reference: the media type it was asked for, the mode, the rule named by the fragment (it must
exist and be public) or, without a fragment, the root rule. Reference cycles between grammars
are recursion, which SRGS allows; they are noticed here (each grammar is read once) and left to
the compiler's recursion handling.
"""

from __future__ import annotations

import hashlib
import posixpath
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType

from ..bundle import GrammarBundle
from ..errors import GrammarErrors, ResolveError, SrgsError, display_source
from ..model import Grammar, RuleRef, iter_expansions
from ..passes.validate import grammar_problems
from .builtins import BUILTIN_SCHEME, BUILTIN_SUFFIXES, canonical_builtin_uri
from .policy import SESSION_SCHEME
from .sources import FetchOptions, fetch, map_uri, source_kind

XML_MEDIA_TYPE = "application/srgs+xml"
ABNF_MEDIA_TYPE = "application/srgs"


def base_of(grammar: Grammar, key: str) -> str:
    """The base URI for the grammar's relative references: ``base``, a ``base`` meta, or its URI."""
    declared = grammar.base or grammar.meta("base")
    if declared:
        return _join(key, declared)
    return key


def declared_base(grammar: Grammar) -> str | None:
    return grammar.base or grammar.meta("base")


def reference_uri(grammar: Grammar, key: str, ref: RuleRef) -> str:
    """The absolute URI of the grammar a reference points to."""
    return _join(base_of(grammar, key), ref.grammar_uri)


def reference_label(grammar: Grammar, ref: RuleRef) -> str:
    """The reference as the W3C parse notation prints it: ``$<uri#rule>``, the base prefixed."""
    base = declared_base(grammar)
    uri = ref.uri
    if base and not _is_absolute(uri):
        if _is_absolute(base):
            uri = urllib.parse.urljoin(base, uri)
        else:
            uri = (base if base.endswith("/") else posixpath.dirname(base) + "/") + uri
    return f"$<{uri}>"


def _is_absolute(uri: str) -> bool:
    return bool(urllib.parse.urlsplit(uri).scheme) or uri.startswith(BUILTIN_SCHEME)


def _join(base: str, uri: str) -> str:
    if _is_absolute(uri):
        return uri
    if base.startswith(SESSION_SCHEME):
        # session grammars refer to one another by name
        return SESSION_SCHEME + uri
    if base.startswith(BUILTIN_SCHEME):
        # a builtin grammar refers to another of its kind by name ("number.grxml", "number?x=1");
        # anything else ("../x", "a/b") stays a path that parse_builtin refuses
        kind = base[len(BUILTIN_SCHEME):].split("?", 1)[0].split("/", 1)[0]
        path, question, query = uri.partition("?")
        for suffix in BUILTIN_SUFFIXES:
            path = path.removesuffix(suffix)
        return f"{BUILTIN_SCHEME}{kind}/{path}{question}{query}"
    return urllib.parse.urljoin(base, uri)


def resolve(
    main: Grammar, *, key: str, form: str, options: FetchOptions, active: tuple[str, ...], source_hash: str = ""
) -> GrammarBundle:
    """Read every grammar reachable from ``main`` (read from ``form``, "xml" or "abnf", its source
    bytes hashing to ``source_hash``) and link each external reference."""
    from .loader import parse_grammar, sniff_form

    roots = _allowed_roots(key, options)
    grammars: dict[str, Grammar] = {key: main}
    forms: dict[str, str] = {key: form}
    hashes: dict[str, str] = {key: source_hash} if source_hash else {}
    links: dict[tuple[str, str], tuple[str, str]] = {}
    labels: dict[tuple[str, str], str] = {}
    problems: list[SrgsError] = []
    invalid: set[str] = set()  # referenced grammars that could not be read, reported once
    queue = [key]
    while queue:
        gkey = queue.pop(0)
        grammar = grammars[gkey]
        for ref in _external_refs(grammar):
            if (gkey, ref.uri) in links:
                continue
            target = reference_uri(grammar, gkey, ref)
            if target.startswith(BUILTIN_SCHEME) and options.policy.builtin:  # else fetch refuses it
                # one key per (name, language, parameters): the language of a builtin:grammar/
                # URI without ?lang= is the referring grammar's
                try:
                    target = canonical_builtin_uri(target, referrer_language=grammar.language,
                                                   default_language=options.language, span=ref.span)
                except SrgsError as exc:
                    problems.append(_wrap(exc, ref))
                    continue
            if target in invalid:
                problems.append(ResolveError(f"referenced grammar {display_source(target)} is not valid", ref.span))
                continue
            if target not in grammars:
                if len(grammars) >= options.limits.max_referenced_grammars:
                    raise ResolveError(f"more than {options.limits.max_referenced_grammars} grammars referenced", ref.span)
                mapped = map_uri(target, options)
                try:
                    data = fetch(mapped, options, roots=roots, span=ref.span)
                    forms[target] = sniff_form(data, target)
                except SrgsError as exc:
                    problems.append(_wrap(exc, ref))
                    continue
                nested: list[SrgsError] = []
                loaded = parse_grammar(data, target, limits=options.limits, kind=source_kind(mapped), problems=nested)
                if loaded is not None:
                    nested += grammar_problems(loaded)
                if nested or loaded is None:
                    # problems with a position in the referenced grammar are reported there;
                    # the others (a size limit, an unknown form) at the reference
                    problems.extend(p if p.span is not None and p.span.line > 0 else _wrap(p, ref) for p in nested)
                    problems.append(ResolveError(f"referenced grammar {display_source(target)} is not valid", ref.span))
                    invalid.add(target)
                    continue
                hashes[target] = hashlib.sha256(data).hexdigest()
                grammars[target] = loaded
                queue.append(target)
            referenced = grammars.get(target)
            if referenced is None:
                continue
            problem = _reference_problem(grammar, ref, referenced, forms.get(target, ""))
            if problem:
                problems.append(problem)
                continue
            rule_name = ref.rule_name or referenced.root or ""
            links[(gkey, ref.uri)] = (target, rule_name)
            labels[(gkey, ref.uri)] = reference_label(grammar, ref)
    if problems:
        raise GrammarErrors(problems)
    return GrammarBundle(
        main=key,
        grammars=MappingProxyType(grammars),
        links=MappingProxyType(links),
        labels=MappingProxyType(labels),
        source_hashes=MappingProxyType(hashes) if len(hashes) == len(grammars) else MappingProxyType({}),
        active=active,
    )


def _external_refs(grammar: Grammar) -> Iterator[RuleRef]:
    for rule in grammar.rules:
        for node in iter_expansions(rule.expansion):
            if isinstance(node, RuleRef) and not node.is_local:
                yield node


def _reference_problem(referrer: Grammar, ref: RuleRef, target: Grammar, form: str) -> SrgsError | None:
    if ref.media_type:
        wanted = {XML_MEDIA_TYPE: "xml", ABNF_MEDIA_TYPE: "abnf"}.get(ref.media_type.split(";")[0].strip())
        if wanted is None:
            return ResolveError(f"unsupported grammar media type {ref.media_type!r}", ref.span)
        if form and wanted != form:
            return ResolveError(f"{ref.grammar_uri} is not of media type {ref.media_type} (it is SRGS {form.upper()})", ref.span)
    if target.mode != referrer.mode:
        return ResolveError(f"{ref.grammar_uri} is a {target.mode} grammar, referenced from a {referrer.mode} grammar", ref.span)
    name = ref.rule_name
    if name is None:
        if not target.root:
            return ResolveError(f"{ref.grammar_uri} declares no root rule, so it cannot be referenced without '#rule'", ref.span)
        return None
    rule = target.rule(name)
    if rule is None:
        return ResolveError(f"{ref.grammar_uri} has no rule '{name}'", ref.span)
    if rule.scope != "public":
        return ResolveError(f"rule '{name}' of {ref.grammar_uri} is private and cannot be referenced from another grammar",
                            ref.span)
    return None


def _wrap(exc: SrgsError, ref: RuleRef) -> SrgsError:
    if exc.span is ref.span:
        return exc
    return ResolveError(f"cannot load {ref.uri}: {exc}", ref.span)


def _allowed_roots(key: str, options: FetchOptions) -> tuple[Path, ...]:
    """Where the references of a bundle whose main grammar is ``key`` may read files."""
    return options.policy.file_roots(key)
