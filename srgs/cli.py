"""The ``srgs`` command: one subcommand per module, each registering its own parser.

Command modules live beside the packages they drive and are imported lazily by name, so the
core packages never import the command line (and a missing optional package only hides its
commands). Each module has ``register(subparsers)``; each parser sets ``run=function(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .errors import SrgsError

COMMAND_MODULES = (
    "srgs.commands",
    "srgs.compile.commands",
    "interpreter.commands",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="srgs",
        description="SRGS grammars and SISR semantic interpretation: check, convert, compile, interpret.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name or (exc.name and name.startswith(exc.name + ".")):
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except SrgsError as exc:
        for line in exc.diagnostics():
            print(line, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
