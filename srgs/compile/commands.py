"""``srgs compile``, ``srgs generate``, ``srgs draw``: the compiler on the command line."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..errors import CompileError, SrgsError
from ..model import SourceSpan
from .options import CompileOptions


def register(subparsers) -> None:
    from ..commands import add_fetch_arguments

    compile_ = subparsers.add_parser(
        "compile", help="compile a grammar to an FST archive (FAR)",
        description="Compile FILE (the root rule, or FILE#rule) and everything it references into one "
                    "FAR file holding the words->parse-events transducer, the token acceptor and the "
                    "tables the interpreter needs.")
    compile_.add_argument("grammar", metavar="FILE[#rule]")
    compile_.add_argument("-o", "--output", required=True, metavar="OUT.far", help="the file to write")
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
        description="Write the compiled transducer (or --acceptor) as Graphviz dot, or as SVG when OUT "
                    "ends in .svg (needs the graphviz 'dot' program).")
    draw.add_argument("grammar", metavar="FILE[#rule]")
    draw.add_argument("-o", "--output", required=True, metavar="OUT.svg|OUT.dot")
    draw.add_argument("--acceptor", action="store_true", help="draw the token acceptor instead of the transducer")
    _add_compile_arguments(draw)
    add_fetch_arguments(draw)
    draw.set_defaults(run=run_draw)


def _add_compile_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = CompileOptions()
    parser.add_argument("--recursion-depth", type=int, default=defaults.recursion_depth,
                        help=f"nested recursive references allowed (default {defaults.recursion_depth})")
    parser.add_argument("--garbage-cost", type=float, default=defaults.garbage_cost,
                        help=f"cost of one word read by $GARBAGE (default {defaults.garbage_cost})")
    parser.add_argument("--max-states", type=int, default=defaults.max_states,
                        help=f"refuse grammars whose FST gets larger (default {defaults.max_states})")
    parser.add_argument("--no-optimize", action="store_true", help="skip determinisation and minimisation")


def _compile(args: argparse.Namespace):
    from ..commands import fetch_options
    from ..loader import load_bundle
    from .compiler import compile_bundle

    options = CompileOptions(recursion_depth=args.recursion_depth, garbage_cost=args.garbage_cost,
                             max_states=args.max_states, optimize=not args.no_optimize)
    clock = time.perf_counter()
    bundle = load_bundle(args.grammar, options=fetch_options(args))
    loaded = time.perf_counter() - clock
    clock = time.perf_counter()
    compiled = compile_bundle(bundle, options=options)
    elapsed = time.perf_counter() - clock
    print(f"srgs: loaded {args.grammar} ({len(bundle.grammars)} grammar(s)) in {loaded * 1000:.1f} ms, "
          f"compiled in {elapsed * 1000:.1f} ms", file=sys.stderr)
    return compiled


def run_compile(args: argparse.Namespace) -> int:
    from .compiler import describe

    compiled = _compile(args)
    clock = time.perf_counter()
    compiled.save(args.output)
    if args.verbose:
        print(describe(compiled), file=sys.stderr)
        print(f"wrote {args.output} in {(time.perf_counter() - clock) * 1000:.1f} ms", file=sys.stderr)
    return 0


def run_generate(args: argparse.Namespace) -> int:
    from .sample import sample_sentences

    compiled = _compile(args)
    for sentence in sample_sentences(compiled, args.n, seed=args.seed, max_length=args.max_length):
        if args.format == "json":
            print(json.dumps(sentence, ensure_ascii=False))
        else:
            print(sentence["text"])
    return 0


def run_draw(args: argparse.Namespace) -> int:
    from .sample import display_symbols

    compiled = _compile(args)
    fst = (compiled.acceptor if args.acceptor else compiled.transducer).copy()
    symbols = display_symbols(compiled)
    output = Path(args.output)
    title = Path(args.grammar).name
    if output.suffix.lower() != ".svg":
        fst.draw(str(output), isymbols=symbols, osymbols=symbols, acceptor=args.acceptor, title=title, portrait=True)
        return 0
    dot = shutil.which("dot")
    if dot is None:
        raise CompileError("drawing SVG needs the graphviz 'dot' program: install graphviz, or write a "
                           ".dot file instead", SourceSpan(str(output), 0, 0))
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "fst.dot"
        fst.draw(str(source), isymbols=symbols, osymbols=symbols, acceptor=args.acceptor, title=title, portrait=True)
        result = subprocess.run([dot, "-Tsvg", str(source), "-o", str(output)], capture_output=True, text=True)
    if result.returncode != 0:
        raise SrgsError(f"dot failed: {result.stderr.strip()}", SourceSpan(str(output), 0, 0))
    return 0
