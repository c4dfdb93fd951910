"""The ``srgs`` command line: the layer on top of every package (issue 8).

Nothing below imports it. Each command module here (``grammar_commands``: check, convert, config;
``compile_commands``: compile, generate, draw; ``interpret_commands``: interpret, match, test;
``recognize_commands``: recognize) has
``register(subparsers)``, each parser sets ``run=function(args) -> int``, and a module imports
what its command runs only when it runs, so ``srgs --help`` starts without loading the engine.

Exit status, the same in every command:

    0  it ran: a result (RECOGNIZED or NO_MATCH), a file written, every check or case passed
    1  bad input: a grammar, cases file or text with a problem (message on stderr), a file that
       cannot be read or written, a check or test case that failed
    2  usage: an option or argument the command does not take (argparse's message on stderr)
    3  FAILURE: the words matched but a semantic tag failed; the result is still printed on
       stdout (in the requested format), the message on stderr
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from srgs import version
from srgs.errors import SrgsError

if TYPE_CHECKING:  # imported where used: start-up time
    from srgs.config import EngineConfig

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_FAILURE = 3

EXIT_STATUS_HELP = ("exit status: 0 ran (RECOGNIZED or NO_MATCH), 1 bad grammar or input (message on "
                    "stderr), 2 usage error, 3 FAILURE: a semantic tag failed (result on stdout, "
                    "message on stderr)")


class _Version(argparse.Action):
    """``--version``: looks the version up only when asked (package metadata costs start-up time)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, default: object = argparse.SUPPRESS,
                 help: str | None = None) -> None:
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: str | Sequence[Any] | None, option_string: str | None = None) -> None:
        write_line(f"{parser.prog} {version()}")
        parser.exit()


# --- argument types ---------------------------------------------------------------------------


def positive_number(text: str) -> float:
    """argparse type: a finite number > 0 (a grammar weight)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number greater than 0, not {text!r}")
    return value


def int_range(low: int, high: int) -> Callable[[str], int]:
    """argparse type: an integer from ``low`` to ``high`` inclusive."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low} to {high}, not {value}")
        return value

    parse.__name__ = f"integer {low}-{high}"
    return parse


# --- output -----------------------------------------------------------------------------------


# Escaped even in UTF-8 JSON: lone surrogates (UTF-8 cannot encode them) and the Unicode line
# separators (a JSON document stays one line for line-oriented readers).
_JSON_ESCAPED = re.compile("[\ud800-\udfff\u2028\u2029]")


def json_line(value: object) -> str:
    """Compact one-line JSON with non-ASCII kept as characters (``ensure_ascii=False``)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return _JSON_ESCAPED.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def write_line(text: str, *, flush: bool = False) -> None:
    """``text`` and a newline on stdout as UTF-8, whatever the locale's encoding."""
    stream = sys.stdout
    encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "").replace("_", "")
    buffer = getattr(stream, "buffer", None)
    if encoding == "utf8" or buffer is None:
        stream.write(text + "\n")
        if flush:
            stream.flush()
        return
    stream.flush()
    buffer.write((text + "\n").encode("utf-8", "backslashreplace"))
    buffer.flush()


def error(command: str, message: str) -> None:
    """``srgs COMMAND: MESSAGE`` on stderr."""
    print(f"srgs {command}: {message}", file=sys.stderr)


# --- main -------------------------------------------------------------------------------------


def add_config_arguments(parser: argparse.ArgumentParser, default: object = None) -> None:
    """``--config FILE`` and ``--set SECTION.NAME=VALUE``: the engine configuration
    (``srgs.config``: defaults, then the file, then ``SRGS_*`` variables, then each ``--set``)."""
    parser.add_argument("--config", dest="config_file", metavar="FILE", default=default,
                        help="engine configuration (TOML: [limits], [compile], [script], [interpret])")
    parser.add_argument("--set", dest="settings", action="append", metavar="SECTION.NAME=VALUE",
                        default=default if default is not None else [],
                        help="one setting, over the file and SRGS_* variables (repeatable; srgs config lists them)")


def engine_config(args: argparse.Namespace) -> EngineConfig:
    """The ``EngineConfig`` of this run: defaults, ``--config``, ``SRGS_*`` variables, ``--set``."""
    from srgs.config import EngineConfig, parse_override

    overrides = dict(parse_override(item) for item in getattr(args, "settings", None) or [])
    return EngineConfig.load(getattr(args, "config_file", None), environ=os.environ, overrides=overrides)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="srgs",
        description="SRGS grammars and SISR semantic interpretation: check, convert, compile, interpret.",
        epilog=EXIT_STATUS_HELP,
    )
    parser.add_argument("--version", action=_Version, help="print 'srgs VERSION' and exit")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    from srgs.cli import (
        compile_commands,
        grammar_commands,
        interpret_commands,
        lm_commands,
        recognize_commands,
        serve_commands,
    )

    for module in (grammar_commands, compile_commands, interpret_commands, recognize_commands, lm_commands,
                   serve_commands):
        module.register(subparsers)
    add_config_arguments(parser)
    for command in subparsers.choices.values():  # also accepted after the command's name
        add_config_arguments(command, default=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        args.config = engine_config(args)
        args.limits = args.config.limits
        return int(args.run(args) or 0)
    except SrgsError as exc:
        for line in exc.diagnostics():
            print(line, file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:  # a file the command reads or writes; never a traceback
        where = f"{exc.filename}: " if exc.filename else ""
        error(args.command, f"{where}{exc.strerror or exc}")
        return EXIT_ERROR
