"""``srgs compile``, ``srgs generate``, ``srgs draw``: the compiler on the command line.

Output files are written beside their destination under a temporary name and moved in place
once complete: a path that cannot be written fails before anything is compiled, with
``srgs compile: cannot write PATH: REASON`` and exit status 1, and never leaves half a file.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from srgs.cli import EXIT_ERROR, EXIT_OK, EXIT_STATUS_HELP, error, json_line, write_line
from srgs.compile.options import CompileOptions
from srgs.errors import CompileError

if TYPE_CHECKING:  # imported where used: start-up time
    from srgs.compile.artifact import CompiledGrammar

# What `srgs draw -o` writes, by the output's extension: DOT text, or a graphviz `dot -T` format.
DRAW_FORMATS = {".dot": None, ".gv": None, ".svg": "svg", ".png": "png", ".pdf": "pdf"}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from srgs.cli.grammar_commands import add_fetch_arguments

    compile_ = subparsers.add_parser(
        "compile", help="compile a grammar to an FST archive (FAR)",
        description="Compile FILE (the root rule, or FILE#rule) and everything it references into one "
                    "FAR file holding the words->parse-events transducer, the token acceptor and the "
                    "tables the interpreter needs.", epilog=EXIT_STATUS_HELP)
    compile_.add_argument("grammar", metavar="FILE[#rule]")
    compile_.add_argument("-o", "--output", required=True, metavar="OUT.far",
                          help="the file to write (srgs interpret OUT.far reads it without the sources)")
    compile_.add_argument("-v", "--verbose", action="store_true",
                          help="print state and arc counts of both views and the timings (stderr)")
    _add_compile_arguments(compile_)
    add_fetch_arguments(compile_)
    compile_.set_defaults(run=run_compile)

    generate = subparsers.add_parser(
        "generate", help="print random sentences of a grammar",
        description="Sample N sentences from the grammar, choosing alternatives by their weights, and "
                    "print each as the grammar's token texts joined by spaces ($GARBAGE shows as '...').")
    generate.add_argument("grammar", metavar="FILE[#rule]")
    generate.add_argument("-n", type=int, default=10, metavar="N", help="how many sentences (default 10)")
    generate.add_argument("--seed", type=int, default=None, help="random seed, for repeatable output")
    generate.add_argument("--format", choices=("text", "json"), default="text",
                          help="text: one sentence per line; json: one object per line with tokens and tags")
    generate.add_argument("--max-length", type=int, default=200, help="longest path sampled (arcs)")
    _add_compile_arguments(generate)
    add_fetch_arguments(generate)
    generate.set_defaults(run=run_generate)

    draw = subparsers.add_parser(
        "draw", help="draw a grammar's FST (Graphviz)",
        description="Write the compiled transducer (or --acceptor) in the format OUT's extension names: "
                    ".dot or .gv (Graphviz DOT text), .svg, .png or .pdf (drawn by the graphviz 'dot' "
                    "program, which must be installed).", epilog=EXIT_STATUS_HELP)
    draw.add_argument("grammar", metavar="FILE[#rule]")
    draw.add_argument("-o", "--output", required=True, type=drawing_path, metavar="OUT.dot|.gv|.svg|.png|.pdf")
    draw.add_argument("--acceptor", action="store_true", help="draw the token acceptor instead of the transducer")
    _add_compile_arguments(draw)
    add_fetch_arguments(draw)
    draw.set_defaults(run=run_draw)


def add_compile_arguments(parser: argparse.ArgumentParser) -> None:
    """The compile options every command that compiles takes (over the configuration's)."""
    defaults = CompileOptions()
    parser.add_argument("--recursion-depth", type=int, default=None,
                        help=f"nested recursive references allowed (default {defaults.recursion_depth})")
    parser.add_argument("--garbage-cost", type=float, default=None,
                        help=f"cost of one word read by $GARBAGE (default {defaults.garbage_cost})")
    parser.add_argument("--max-states", type=int, default=None,
                        help=f"refuse grammars whose FST gets larger (default {defaults.max_states})")
    parser.add_argument("--no-optimize", action="store_true", help="skip determinisation and minimisation")


_add_compile_arguments = add_compile_arguments


def compile_options(args: argparse.Namespace) -> CompileOptions:
    """The configuration's compile options with this command's flags over them."""
    import dataclasses

    config = getattr(args, "config", None)
    base = config.compile if config is not None else CompileOptions()
    changes = {name: getattr(args, name) for name in ("recursion_depth", "garbage_cost", "max_states")
               if getattr(args, name, None) is not None}
    if getattr(args, "no_optimize", False):
        changes["optimize"] = False
    try:
        return dataclasses.replace(base, **changes)
    except ValueError as exc:
        raise CompileError(str(exc), None) from None


def _compile(args: argparse.Namespace) -> CompiledGrammar:
    from srgs.cli.grammar_commands import fetch_options
    from srgs.compile.compiler import compile_bundle
    from srgs.load.loader import load_bundle

    options = compile_options(args)
    clock = time.perf_counter()
    bundle = load_bundle(args.grammar, options=fetch_options(args))
    loaded = time.perf_counter() - clock
    clock = time.perf_counter()
    compiled = compile_bundle(bundle, options=options)
    elapsed = time.perf_counter() - clock
    print(f"srgs: loaded {args.grammar} ({len(bundle.grammars)} grammar(s)) in {loaded * 1000:.1f} ms, "
          f"compiled in {elapsed * 1000:.1f} ms", file=sys.stderr)
    return compiled


class CannotWrite(Exception):
    """An output file that cannot be written: ``cannot write PATH: REASON``."""

    def __init__(self, path: str | Path, reason: str):
        super().__init__(f"cannot write {path}: {reason}")


@contextlib.contextmanager
def output_file(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write, moved to ``path`` when the block ends without
    an exception (removed otherwise). Raises ``CannotWrite`` at once when ``path`` cannot be
    written (missing directory, no permission, a directory), before any work is done."""
    target = Path(path)
    if target.is_dir():
        raise CannotWrite(path, os.strerror(errno.EISDIR))
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        partial.open("wb").close()  # created with the permissions a new file gets (umask)
    except OSError as exc:
        raise CannotWrite(path, exc.strerror or str(exc)) from None
    try:
        yield partial
        try:
            os.replace(partial, target)
        except OSError as exc:
            raise CannotWrite(path, exc.strerror or str(exc)) from None
    finally:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)


def _check_far(path: Path, target: str) -> None:
    """OpenFst reports a failed write (full disk) only on stderr: read the archive's index back."""
    import pynini
    import pywrapfst  # pynini's classes under their typed names (pynini's stub does not re-export them)

    try:
        if path.stat().st_size == 0:
            raise CannotWrite(target, "nothing was written")
        pynini.Far(str(path), mode="r").close()
    except (OSError, pywrapfst.FstIOError) as exc:
        raise CannotWrite(target, f"the written file is not readable ({exc})") from None


def run_compile(args: argparse.Namespace) -> int:
    from srgs.compile.compiler import describe

    try:
        with output_file(args.output) as partial:
            compiled = _compile(args)
            clock = time.perf_counter()
            compiled.save(partial)
            _check_far(partial, args.output)
    except CannotWrite as exc:
        error("compile", str(exc))
        return EXIT_ERROR
    if args.verbose:
        print(describe(compiled), file=sys.stderr)
        print(f"wrote {args.output} in {(time.perf_counter() - clock) * 1000:.1f} ms", file=sys.stderr)
    return EXIT_OK


def run_generate(args: argparse.Namespace) -> int:
    from srgs.compile.sample import sample_sentences

    compiled = _compile(args)
    for sentence in sample_sentences(compiled, args.n, seed=args.seed, max_length=args.max_length):
        write_line(json_line(sentence) if args.format == "json" else sentence["text"])
    return 0


def drawing_path(text: str) -> str:
    """argparse type of ``draw -o``: a file name whose extension says what to write."""
    if Path(text).suffix.lower() not in DRAW_FORMATS:
        raise argparse.ArgumentTypeError(
            f"cannot tell what to write from the name {text!r}: use .dot or .gv (DOT text), or .svg, .png, .pdf "
            "(drawn by graphviz 'dot')")
    return text


def run_draw(args: argparse.Namespace) -> int:
    from srgs.compile.draw import dot_text, graphviz_available, render

    graphviz_format = DRAW_FORMATS[Path(args.output).suffix.lower()]
    if graphviz_format and not graphviz_available():
        error("draw", f"writing .{graphviz_format} needs the graphviz 'dot' program: install graphviz, or write a "
                      ".dot file instead")
        return EXIT_ERROR
    try:
        with output_file(args.output) as partial:
            compiled = _compile(args)
            source = dot_text(compiled, acceptor=args.acceptor, title=Path(args.grammar).name)
            data = source.encode("utf-8") if graphviz_format is None else render(source, graphviz_format)
            try:
                partial.write_bytes(data)
            except OSError as exc:
                raise CannotWrite(args.output, exc.strerror or str(exc)) from None
    except CannotWrite as exc:
        error("draw", str(exc))
        return EXIT_ERROR
    return EXIT_OK
