"""``srgs check`` and ``srgs convert``: the front end on the command line."""

from __future__ import annotations

import argparse
import json
import sys

from .errors import SrgsError
from .fetch import FetchOptions, fetch, location_to_uri


def add_fetch_arguments(parser: argparse.ArgumentParser) -> None:
    """Options every command that loads grammars shares (where references may be read from)."""
    parser.add_argument("--allow-root", action="append", default=[], metavar="DIR",
                        help="directory external file references may read (repeatable; default: the grammar's own directory)")
    parser.add_argument("--allow-http", action="store_true", help="allow http(s) grammar references (timeout and size bounded)")
    parser.add_argument("--uri-map", action="append", default=[], metavar="PREFIX=REPLACEMENT",
                        help="redirect URIs starting with PREFIX (e.g. a published URL to a local file: URI)")


def fetch_options(args: argparse.Namespace) -> FetchOptions:
    mappings = []
    for item in getattr(args, "uri_map", []) or []:
        prefix, sep, replacement = item.partition("=")
        if not sep:
            raise SystemExit(f"srgs: --uri-map wants PREFIX=REPLACEMENT, got {item!r}")
        mappings.append((prefix, location_to_uri(replacement) if "://" not in replacement else replacement))
    return FetchOptions(
        allowed_roots=tuple(getattr(args, "allow_root", []) or ()),
        allow_http=bool(getattr(args, "allow_http", False)),
        uri_map=tuple(mappings),
    )


def register(subparsers) -> None:
    check = subparsers.add_parser("check", help="validate grammars (XML or ABNF) and everything they reference",
                                  description="Read each grammar, follow its references and report every problem as "
                                              "FILE:LINE:COL: error: MESSAGE on stderr. Exit 1 if any file has an error.")
    check.add_argument("files", nargs="+", metavar="FILE")
    check.add_argument("--format", choices=("text", "json"), default="text", help="json: one report object on stdout")
    add_fetch_arguments(check)
    check.set_defaults(run=run_check)

    convert = subparsers.add_parser("convert", help="print a grammar in the other form (XML <-> ABNF)",
                                    description="Read one grammar and write it in the requested form on stdout.")
    convert.add_argument("file", metavar="FILE")
    convert.add_argument("--to", choices=("abnf", "xml"), required=True, help="the form to write")
    add_fetch_arguments(convert)
    convert.set_defaults(run=run_convert)


def run_check(args: argparse.Namespace) -> int:
    from .loader import load_bundle

    options = fetch_options(args)
    report = []
    failed = False
    for name in args.files:
        try:
            bundle = load_bundle(name, options=options)
        except SrgsError as exc:
            failed = True
            lines = exc.diagnostics()
            report.append({"file": name, "ok": False, "errors": lines})
            if args.format == "text":
                for line in lines:
                    print(line, file=sys.stderr)
            continue
        grammar = bundle.main_grammar
        report.append({"file": name, "ok": True, "rules": len(grammar.rules), "referenced_grammars": len(bundle.grammars) - 1})
        if args.format == "text":
            print(f"{name}: ok ({len(grammar.rules)} rules, {len(bundle.grammars) - 1} referenced grammars)")
    if args.format == "json":
        print(json.dumps({"ok": not failed, "files": report}))
    return 1 if failed else 0


def run_convert(args: argparse.Namespace) -> int:
    from .abnf_writer import write_abnf
    from .loader import load_grammar, split_fragment
    from .xml_writer import write_xml

    options = fetch_options(args)
    path, _ = split_fragment(args.file)
    data = fetch(location_to_uri(path), options, roots=(), span=None)
    grammar = load_grammar(data, path, limits=options.limits)
    sys.stdout.write(write_abnf(grammar) if args.to == "abnf" else write_xml(grammar))
    return 0
