"""``srgs interpret``, ``srgs match`` and ``srgs test``: the interpreter on the command line."""

from __future__ import annotations

import argparse
import json
import sys

from srgs.commands import add_fetch_arguments, fetch_options

FORMATS = ("json", "nlsml", "emma", "tree")


def register(subparsers) -> None:
    interpret = subparsers.add_parser(
        "interpret",
        help="interpret a text with SRGS grammars and their SISR tags",
        description="Match TEXT against the grammar(s) and print the semantic result. Exit 0 whenever it ran "
        "(NO_MATCH included), 1 with a message for a bad grammar.",
    )
    interpret.add_argument("grammar", metavar="GRAMMAR[#rule]", help="path, file:/builtin: URI; #rule activates that rule")
    interpret.add_argument("text", metavar="TEXT")
    interpret.add_argument("--grammar", dest="more", action="append", default=[], metavar="MORE",
                           help="another grammar active at the same time (repeatable)")
    interpret.add_argument("--weight", action="append", type=float, default=[], metavar="W",
                           help="weight of each grammar in order (default: equal)")
    interpret.add_argument("--nbest", type=int, default=1, metavar="N", help="at most N alternatives/interpretations")
    interpret.add_argument("--format", choices=FORMATS, default="json",
                           help="json: the RECOGNITION_RESULT body; nlsml: RFC 6787; emma: EMMA 1.0; tree: W3C parse notation")
    add_fetch_arguments(interpret)
    interpret.set_defaults(run=run_interpret)

    match = subparsers.add_parser(
        "match",
        help="incremental match of a token prefix (NO_MATCH, PARTIAL, MATCH, MATCH_END)",
        description="Tell how far TOKENS get through the grammar; DTMF input such as 715# is split into keys.",
    )
    match.add_argument("grammar", metavar="GRAMMAR[#rule]")
    match.add_argument("tokens", metavar="TOKENS")
    match.add_argument("--format", choices=("text", "json"), default="text")
    add_fetch_arguments(match)
    match.set_defaults(run=run_match)

    test = subparsers.add_parser(
        "test",
        help="run a grammar's regression cases (YAML or JSON lines) as a pass/fail table",
        description="Each case is {text, expect}; expect NO_MATCH for a text that must not match. Exit 1 on any failure.",
    )
    test.add_argument("grammar", metavar="GRAMMAR[#rule]")
    test.add_argument("cases", metavar="CASES")
    test.add_argument("--format", choices=("text", "json"), default="text")
    add_fetch_arguments(test)
    test.set_defaults(run=run_test)


def _interpreter(locations, args, weights=None, *, semantics=True):
    from .api import Interpreter, InterpreterOptions

    options = InterpreterOptions(fetch=fetch_options(args), nbest=max(1, getattr(args, "nbest", 1)), semantics=semantics)
    return Interpreter.load(locations, weights=weights or None, options=options)


def run_interpret(args: argparse.Namespace) -> int:
    from . import results

    locations = [args.grammar, *args.more]
    if args.weight and len(args.weight) != len(locations):
        print("srgs interpret: give one --weight per grammar", file=sys.stderr)
        return 2
    # The parse notation shows tags as written: it needs no semantics (and no valid script).
    interpreter = _interpreter(locations, args, args.weight, semantics=args.format != "tree")
    result = interpreter.interpret(args.text, nbest=args.nbest)
    writer = {"json": results.to_json, "nlsml": results.to_nlsml, "emma": results.to_emma, "tree": results.to_tree}[args.format]
    print(writer(result))
    return 0


def run_match(args: argparse.Namespace) -> int:
    outcome = _interpreter([args.grammar], args).match(args.tokens)
    if args.format == "json":
        print(json.dumps(outcome.to_json_dict(), ensure_ascii=False))
    else:
        value = "" if outcome.interpretation is None else " " + json.dumps(outcome.interpretation, ensure_ascii=False)
        print(f"{outcome.status.value}{value}")
    return 0


def run_test(args: argparse.Namespace) -> int:
    from .cases import NO_MATCH, read_cases, run_cases

    cases = read_cases(args.cases)
    interpreter = _interpreter([args.grammar], args)

    def value_of(text: str):
        result = interpreter.interpret(text)
        if result.status != "RECOGNIZED":
            return NO_MATCH
        return result.alternatives[0].interpretations[0].value

    outcomes = run_cases(cases, value_of)
    passed = sum(o.passed for o in outcomes)
    failed = len(outcomes) - passed
    if args.format == "json":
        print(json.dumps({
            "passed": passed,
            "failed": failed,
            "cases": [
                {"line": o.case.line, "text": o.case.text, "expect": o.case.expect, "got": o.got, "passed": o.passed, "error": o.error}
                for o in outcomes
            ],
        }, ensure_ascii=False))
    else:
        _print_table(outcomes)
        print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


def _print_table(outcomes) -> None:
    width = min(40, max((len(o.case.text) for o in outcomes), default=4))
    for o in outcomes:
        mark = "PASS" if o.passed else "FAIL"
        line = f"{mark}  {o.case.text[:width]:<{width}}"
        if not o.passed:
            got = o.error or json.dumps(o.got, ensure_ascii=False)
            line += f"  expected {json.dumps(o.case.expect, ensure_ascii=False)}, got {got}  ({o.case.line})"
        print(line)
