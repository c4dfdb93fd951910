"""``srgs check`` and ``srgs convert``: the front end on the command line.

``srgs check`` reports every problem of every file in one run. Checks that need more than the
front end (e.g. the interpreter's tag scripts) plug in without ``srgs`` importing them: each
function in the check parser's ``extra_checks`` default, ``check(bundle) -> [SrgsError, ...]``,
runs on every grammar that loads, and its problems are reported like the others::

    subparsers.choices["check"].set_defaults(extra_checks=[check_tag_scripts])
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence

from srgs.bundle import GrammarBundle
from srgs.errors import GrammarErrors, SrgsError
from srgs.limits import DEFAULT_LIMITS, Limits
from srgs.load.policy import AccessPolicy
from srgs.load.sources import FetchOptions, fetch, location_to_uri, map_uri, source_kind
from srgs.model import SourceSpan

ExtraCheck = Callable[[GrammarBundle], Sequence[SrgsError]]


def add_fetch_arguments(parser: argparse.ArgumentParser) -> None:
    """Options every command that loads grammars shares (where references may be read from)."""
    parser.add_argument("--allow-root", action="append", default=[], metavar="DIR",
                        help="directory external file references may read (repeatable; default: the grammar's own directory)")
    parser.add_argument("--allow-http", action="store_true", help="allow http(s) grammar references (timeout and size bounded)")
    parser.add_argument("--uri-map", action="append", default=[], metavar="PREFIX=REPLACEMENT",
                        help="redirect URIs starting with PREFIX to REPLACEMENT, a URI or a local path "
                             "(e.g. http://example.com/grammars/=local/copies/)")


def fetch_options(args: argparse.Namespace, limits: Limits | None = None) -> FetchOptions:
    """The command line's ``--allow-root``, ``--allow-http`` and ``--uri-map``, with ``limits``
    (else ``args.limits`` when a parser sets it, else the defaults): every command that loads
    grammars takes its options, and so its limits, from here."""
    limits = limits or getattr(args, "limits", None) or DEFAULT_LIMITS
    mappings = []
    for item in getattr(args, "uri_map", []) or []:
        prefix, sep, replacement = item.partition("=")
        if not sep:
            raise SystemExit(f"srgs: --uri-map wants PREFIX=REPLACEMENT, got {item!r}")
        if "://" not in replacement:
            if prefix.endswith("/") and not replacement.endswith(("/", os.sep)) and os.path.isdir(replacement):
                replacement += "/"  # PREFIX/ maps onto the directory, not onto names beside it
            replacement = location_to_uri(replacement)
        mappings.append((prefix, replacement))
    policy = AccessPolicy.local(roots=tuple(getattr(args, "allow_root", []) or ()),
                                http=bool(getattr(args, "allow_http", False)), uri_map=tuple(mappings))
    return FetchOptions(policy=policy, limits=limits)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = subparsers.add_parser("check", help="validate grammars (XML or ABNF) and everything they reference",
                                  description="Read each grammar, follow its references and report every problem as "
                                              "FILE:LINE:COL: error: MESSAGE on stderr. Exit 1 if any file has an error.")
    check.add_argument("files", nargs="+", metavar="FILE")
    check.add_argument("--format", choices=("text", "json"), default="text",
                       help="json: one report object on stdout: ok, and per file its errors "
                            "(file, line, column, message, severity)")
    add_fetch_arguments(check)
    check.set_defaults(run=run_check, extra_checks=[])

    config = subparsers.add_parser(
        "config", help="print the engine configuration in force (limits, compile, script, interpret)",
        description="Print every setting after --config FILE, SRGS_SECTION_NAME environment variables and "
                    "--set SECTION.NAME=VALUE are applied, as TOML (or JSON).")
    config.add_argument("--format", choices=("toml", "json"), default="toml")
    config.set_defaults(run=run_config)

    convert = subparsers.add_parser("convert", help="print a grammar in the other form (XML <-> ABNF)",
                                    description="Read one grammar and write it in the requested form on stdout.")
    convert.add_argument("file", metavar="FILE")
    convert.add_argument("--to", choices=("abnf", "xml"), required=True, help="the form to write")
    add_fetch_arguments(convert)
    convert.set_defaults(run=run_convert)


def run_check(args: argparse.Namespace) -> int:
    """Every problem of every file: syntax, validation, references, then ``args.extra_checks``."""
    from srgs.load.loader import load_bundle

    options = fetch_options(args)
    extra_checks: list[ExtraCheck] = list(getattr(args, "extra_checks", None) or [])
    report: list[dict[str, object]] = []
    failed = False
    for name in args.files:
        bundle = None
        try:
            bundle = load_bundle(name, options=options)
            problems: list[SrgsError] = []
            for check in extra_checks:
                try:
                    problems += check(bundle)
                except SrgsError as exc:
                    problems.append(exc)
        except SrgsError as exc:
            problems = [exc]
        if problems:
            failed = True
            errors = GrammarErrors(problems)
            report.append({"file": name, "ok": False, "errors": errors.records(name)})
            if args.format == "text":
                for line in errors.diagnostics():
                    print(line, file=sys.stderr)
            continue
        assert bundle is not None  # loaded: a failed load has its problem
        grammar = bundle.main_grammar
        referenced = len(bundle.grammars) - 1
        report.append({"file": name, "ok": True, "rules": len(grammar.rules), "referenced_grammars": referenced, "errors": []})
        if args.format == "text":
            print(f"{name}: ok ({len(grammar.rules)} rules, {referenced} referenced grammars)")
    if args.format == "json":
        print(json.dumps({"ok": not failed, "files": report}, ensure_ascii=False))
    return 1 if failed else 0


def run_convert(args: argparse.Namespace) -> int:
    from srgs.abnf.writer import write_abnf
    from srgs.load.loader import load_grammar, split_fragment
    from srgs.xml.writer import write_xml

    options = fetch_options(args)
    path, _ = split_fragment(args.file)
    uri = map_uri(location_to_uri(path), options)
    data = fetch(uri, options, roots=options.policy.caller_roots(), span=SourceSpan(path, 0, 0))
    grammar = load_grammar(data, path, limits=options.limits, kind=source_kind(uri))
    sys.stdout.write(write_abnf(grammar) if args.to == "abnf" else write_xml(grammar))
    return 0


def run_config(args: argparse.Namespace) -> int:
    from srgs.cli import json_line, write_line
    from srgs.config import EngineConfig

    config = getattr(args, "config", None) or EngineConfig()
    settings = config.as_dict()
    if args.format == "json":
        write_line(json_line(settings))
        return 0
    lines: list[str] = []
    for section, values in settings.items():
        lines.append(f"[{section}]")
        lines.extend(f"{name} = {_toml_value(value)}" for name, value in values.items())
        lines.append("")
    write_line("\n".join(lines).rstrip())
    return 0


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)
