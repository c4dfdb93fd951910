"""``srgs interpret``, ``srgs match`` and ``srgs test``: the interpreter on the command line.

Exit status as in every ``srgs`` command (``srgs.cli``): 0 it ran (RECOGNIZED or NO_MATCH),
1 bad grammar or input, 2 usage error, 3 FAILURE (a tag failed: the result is printed on stdout,
the message on stderr); ``srgs test``: 1 when any case fails.

Also registers the SISR tag check of ``srgs check`` (``extra_checks``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from srgs.cli import (
    EXIT_ERROR,
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_STATUS_HELP,
    EXIT_USAGE,
    error,
    int_range,
    positive_number,
    write_line,
)
from srgs.cli.compile_commands import add_compile_arguments
from srgs.cli.grammar_commands import add_fetch_arguments, fetch_options
from srgs.errors import SrgsError

if TYPE_CHECKING:  # imported where used: start-up time
    from interpreter.api import Interpreter, InterpreterOptions
    from interpreter.cases import Case, CaseOutcome
    from interpreter.results import RecognitionResult
    from interpreter.script import SemanticError
    from srgs.bundle import GrammarBundle

FORMATS = ("json", "nlsml", "emma", "tree")
BATCH_FORMATS = ("json", "nlsml", "emma")
# interpreter.api.MAX_NBEST, for --help (the api module is imported only when a command runs:
# start-up time); tests/test_cli_hardening.py keeps the two equal.
HELP_MAX_NBEST = 100


def nbest_type(text: str) -> int:
    """argparse type of --nbest: 1 to ``interpreter.api.MAX_NBEST``."""
    from interpreter.api import MAX_NBEST

    return int_range(1, MAX_NBEST)(text)


nbest_type.__name__ = "n-best count"
threshold_type = int_range(0, 100)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    interpret = subparsers.add_parser(
        "interpret",
        help="interpret a text with SRGS grammars and their SISR tags",
        description="Match TEXT against the grammar(s) and print the semantic result. GRAMMAR may be a "
        "compiled OUT.far (srgs compile). TEXT '-' reads one text per line from stdin and writes one "
        "result per line (JSON lines; NLSML and EMMA one document per line), flushed line by line.",
        epilog=EXIT_STATUS_HELP + ". With TEXT '-': 3 if any line was a FAILURE.",
    )
    interpret.add_argument("grammar", metavar="GRAMMAR[#rule]",
                           help="path, file:/builtin: URI or compiled .far; #rule activates that rule")
    interpret.add_argument("text", metavar="TEXT", help="the text to interpret, or - for one text per line from stdin")
    interpret.add_argument("--grammar", dest="more", action="append", default=[], metavar="MORE",
                           help="another grammar active at the same time (repeatable)")
    interpret.add_argument("--weight", action="append", type=positive_number, default=[], metavar="W",
                           help="weight of each grammar in order, a finite number > 0 (default: equal)")
    interpret.add_argument("--nbest", type=nbest_type, default=None, metavar="N",
                           help=f"at most N alternatives/interpretations, 1 to {HELP_MAX_NBEST} (default 1)")
    _add_threshold(interpret)
    interpret.add_argument("--format", choices=FORMATS, default="json",
                           help="json: the RECOGNITION_RESULT body; nlsml: RFC 6787; emma: EMMA 1.0; tree: W3C parse notation")
    add_compile_arguments(interpret)
    add_fetch_arguments(interpret)
    interpret.set_defaults(run=run_interpret)

    match = subparsers.add_parser(
        "match",
        help="incremental match of a token prefix (NO_MATCH, PARTIAL, MATCH, MATCH_END)",
        description="Tell how far TOKENS get through the grammar(s); DTMF input such as 715# is split into "
        "keys. A complete match whose tag fails prints its status and FAILURE, the message on stderr.",
        epilog=EXIT_STATUS_HELP,
    )
    match.add_argument("grammar", metavar="GRAMMAR[#rule]")
    match.add_argument("tokens", metavar="TOKENS")
    match.add_argument("--grammar", dest="more", action="append", default=[], metavar="MORE",
                       help="another grammar active at the same time (repeatable)")
    match.add_argument("--format", choices=("text", "json"), default="text")
    add_compile_arguments(match)
    add_fetch_arguments(match)
    match.set_defaults(run=run_match)

    test = subparsers.add_parser(
        "test",
        help="run a grammar's regression cases (YAML or JSON lines) as a pass/fail table",
        description="Each case is {text, expect[, rule]}; expect NO_MATCH for a text that must not match. A "
        "case whose tag fails is a FAILURE (the table says why) and never passes.",
        epilog="exit status: 0 every case passed, 1 a case failed or a bad grammar or cases file, 2 usage error",
    )
    test.add_argument("grammar", metavar="GRAMMAR[#rule]")
    test.add_argument("cases", metavar="CASES")
    _add_threshold(test)
    test.add_argument("--format", choices=("text", "json"), default="text")
    add_compile_arguments(test)
    add_fetch_arguments(test)
    test.set_defaults(run=run_test)

    check = subparsers.choices.get("check")
    if check is not None:  # `srgs check` also checks the syntax of every SISR tag
        check.set_defaults(extra_checks=[check_tags])


def _add_threshold(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--confidence-threshold", type=threshold_type, default=None, metavar="N",
                        help="0-100 (VoiceXML confidencelevel x 100): interpretations scoring under N are "
                        "dropped, none left is NO_MATCH (default 0)")


def check_tags(bundle: GrammarBundle) -> list[SemanticError]:
    """The SISR tag problems of a bundle, positioned (for ``srgs check``)."""
    from interpreter.sisr import tag_problems

    return tag_problems(bundle)


def interpreter_options(args: argparse.Namespace, *, semantics: bool = True) -> InterpreterOptions:
    """InterpreterOptions from the engine configuration, with this command's flags over it."""
    from interpreter.api import InterpreterOptions
    from interpreter.script import ScriptLimits
    from srgs.cli.compile_commands import compile_options
    from srgs.config import EngineConfig

    config = getattr(args, "config", None) or EngineConfig()
    nbest = getattr(args, "nbest", None)
    threshold = getattr(args, "confidence_threshold", None)
    return InterpreterOptions(
        fetch=fetch_options(args, limits=config.limits),
        compile=compile_options(args),
        script_limits=ScriptLimits(time_s=config.script.time_s, memory_bytes=config.script.memory_bytes,
                                   stack_bytes=config.script.stack_bytes),
        nbest=config.interpret.nbest if nbest is None else nbest,
        confidence_threshold=config.interpret.confidence_threshold if threshold is None else threshold,
        max_text_chars=config.limits.max_text_chars,
        semantics=semantics,
    )


def _interpreter(locations: list[str], args: argparse.Namespace, weights: Sequence[float] | None = None, *,
                 semantics: bool = True) -> Interpreter:
    from interpreter.api import Interpreter

    return Interpreter.load(locations, weights=weights or None, options=interpreter_options(args, semantics=semantics))


def run_interpret(args: argparse.Namespace) -> int:
    from interpreter import formats

    locations = [args.grammar, *args.more]
    if args.weight and len(args.weight) != len(locations):
        error("interpret", f"give one --weight per grammar ({len(locations)} grammar(s), {len(args.weight)} weight(s))")
        return EXIT_USAGE
    batch = args.text == "-"
    if batch and args.format not in BATCH_FORMATS:
        error("interpret", f"reading texts from stdin (-) writes one result per line: --format "
                           f"{', '.join(BATCH_FORMATS)}, not {args.format}")
        return EXIT_USAGE
    # The parse notation shows tags as written: it needs no semantics (and no valid script).
    interpreter = _interpreter(locations, args, args.weight, semantics=args.format != "tree")

    def render(result: RecognitionResult, text: str) -> str:
        if args.format == "nlsml":
            return formats.to_nlsml(result, input_text=text)
        if args.format == "emma":
            return formats.to_emma(result, input_text=text)
        if args.format == "tree":
            return formats.to_tree(result)
        return formats.to_json(result)

    if not batch:
        result = interpreter.interpret(args.text)
        write_line(render(result, args.text))
        if result.status == "FAILURE":
            error("interpret", f"FAILURE: {result.error}")
            return EXIT_FAILURE
        return EXIT_OK

    failed = False
    max_chars = interpreter.options.max_text_chars
    for number, text in _stdin_lines(max_bytes=4 * max_chars + 2):  # UTF-8: 4 bytes a character at most
        if text is None:
            error("interpret", f"stdin line {number}: not UTF-8 text, or longer than {max_chars} characters")
            return EXIT_ERROR
        try:
            result = interpreter.interpret(text)
        except SrgsError as exc:  # a text over the size limit: stop, the lines before are written
            error("interpret", f"stdin line {number}: {exc}")
            return EXIT_ERROR
        output = render(result, text)
        write_line(output if args.format == "json" else formats.one_line(output), flush=True)
        if result.status == "FAILURE":
            failed = True
            error("interpret", f"stdin line {number}: FAILURE: {result.error}")
    return EXIT_FAILURE if failed else EXIT_OK


def _stdin_lines(*, max_bytes: int) -> Iterator[tuple[int, str | None]]:
    """``(line number, text)`` for each stdin line as it arrives; text None (and the end) for a
    line that is not UTF-8 or is over ``max_bytes`` (never read whole into memory)."""
    stream = getattr(sys.stdin, "buffer", None)
    number = 0
    while True:
        raw: bytes | str = stream.readline(max_bytes) if stream is not None else sys.stdin.readline(max_bytes)
        if not raw:
            return
        number += 1
        if len(raw) >= max_bytes and not (raw.endswith(b"\n") if isinstance(raw, bytes) else raw.endswith("\n")):
            yield number, None
            return
        if isinstance(raw, bytes):
            try:
                raw = raw.decode("utf-8")
            except UnicodeDecodeError:
                yield number, None
                return
        yield number, raw.rstrip("\r\n")


def run_match(args: argparse.Namespace) -> int:
    from interpreter.formats import json_line

    outcome = _interpreter([args.grammar, *args.more], args).match(args.tokens)
    if args.format == "json":
        write_line(json_line(outcome.to_json_dict()))  # a failure has "error": {code, message}
    elif outcome.error is not None:
        write_line(f"{outcome.status.value} FAILURE")
    else:
        value = "" if outcome.interpretation is None else " " + json_line(outcome.interpretation)
        write_line(f"{outcome.status.value}{value}")
    if outcome.error is not None:
        error("match", f"FAILURE: {outcome.error}")
        return EXIT_FAILURE
    return EXIT_OK


def run_test(args: argparse.Namespace) -> int:
    from interpreter.cases import NO_MATCH, Failure, location_with_params, read_cases, run_cases
    from interpreter.formats import json_line
    from srgs.load.loader import split_fragment

    cases = read_cases(args.cases)
    base, _ = split_fragment(args.grammar)
    interpreters: dict[tuple[str | None, str | None], Interpreter] = {}

    def interpreter_for(rule: str | None, params: str | None = None) -> Interpreter:
        """One interpreter per (rule, built-in parameters) the cases ask for."""
        if (rule, params) not in interpreters:
            location = location_with_params(args.grammar if rule is None else f"{base}#{rule}", params)
            interpreters[(rule, params)] = _interpreter([location], args)
        return interpreters[(rule, params)]

    def value_of(case: Case) -> object:
        result = interpreter_for(case.rule, case.params).interpret(case.text)
        if result.status == "FAILURE":
            return Failure(result.error or "semantic interpretation failed")
        if result.status != "RECOGNIZED":
            return NO_MATCH
        return result.alternatives[0].interpretations[0].value

    if any(case.rule is None and not case.params for case in cases) or not cases:
        interpreter_for(None)  # a bad grammar is an error of the command, not of every case
    outcomes = run_cases(cases, value_of)
    passed = sum(o.passed for o in outcomes)
    failed = len(outcomes) - passed
    if args.format == "json":
        write_line(json_line({
            "passed": passed,
            "failed": failed,
            "cases": [
                {"line": o.case.line, "text": o.case.text, "expect": o.case.expect, "got": o.got, "passed": o.passed,
                 "error": o.error} | ({"rule": o.case.rule} if o.case.rule else {})
                for o in outcomes
            ],
        }))
    else:
        _print_table(outcomes)
        write_line(f"{passed} passed, {failed} failed")
    return EXIT_ERROR if failed else EXIT_OK


def _print_table(outcomes: list[CaseOutcome]) -> None:
    from interpreter.cases import FAILURE
    from interpreter.formats import json_line

    width = min(40, max((len(o.case.text) for o in outcomes), default=4))
    for o in outcomes:
        mark = "PASS" if o.passed else "FAIL"
        line = f"{mark}  {o.case.text[:width]:<{width}}"
        if not o.passed:
            if o.got == FAILURE and o.error:
                got = f"FAILURE: {o.error}"
            else:
                got = o.error or json_line(o.got)
            line += f"  expected {json_line(o.case.expect)}, got {got}  ({o.case.line})"
        write_line(line)
