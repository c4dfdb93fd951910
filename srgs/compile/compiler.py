"""``compile_bundle``: a resolved grammar bundle to its compiled form (issue 3, SRGS §2-§5).

Passes, in order: analyse the rule graph (refusing left recursion), compile every reachable
rule once per recursion depth, join the active rules, trim, optimise the transducer (labels
encoded, so determinisation keeps input and output together), derive the token acceptor and
optimise it: both within the optimisation budget (see ``optimize``).
"""

from __future__ import annotations

import time

from ..bundle import GrammarBundle
from ..errors import CompileError
from ..model import SourceSpan
from ..passes.recursion import analyse_rules
from .artifact import FORMAT, CompiledGrammar
from .cache import bundle_hash, source_or_model_hash
from .expansions import GrammarCompiler
from .optimize import Budget, OptimizeBudgetError, optimize_views
from .options import COMPILER_VERSION, CompileOptions


def compile_bundle(bundle: GrammarBundle, *, options: CompileOptions | None = None) -> CompiledGrammar:
    """Compiles the active rules of ``bundle`` into a transducer and a token acceptor."""
    options = options or CompileOptions()
    main = bundle.main_grammar
    if not bundle.active:
        raise CompileError("no active rule: the grammar has no root rule and none was named "
                           "(use FILE#rule)", main.span)
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    roots = [(bundle.main, name) for name in bundle.active]
    # The loader analysed every rule once (GrammarBundle.analysis): take the active rules' part.
    graph = bundle.analysis.restricted(roots) if bundle.analysis is not None else analyse_rules(bundle, roots)
    compiler = GrammarCompiler(bundle, graph, options)
    compiler.compile_rules()
    transducer = compiler.active(bundle.active)
    transducer.connect()
    timings["build_s"] = time.perf_counter() - clock
    raw_states = transducer.num_states()

    clock = time.perf_counter()
    budget = Budget(in_process_states=options.optimize_in_process_states, timeout_s=options.optimize_timeout_s,
                    memory_bytes=options.optimize_memory_bytes)
    try:
        transducer, acceptor, optimized = optimize_views(transducer, budget, determinize=options.optimize)
    except OptimizeBudgetError as error:
        raise CompileError(str(error), _root_span(bundle)) from None
    transducer.arcsort("ilabel")
    acceptor.arcsort("ilabel")
    timings["optimize_s"] = time.perf_counter() - clock

    stats = {
        "raw_states": raw_states,
        "optimized": optimized,
        "symbols": len(compiler.symbols.symbols),
        **timings,
    }
    metadata = {
        "format": FORMAT,
        "compiler_version": COMPILER_VERSION,
        "source_hash": bundle_hash(bundle),
        "grammar_hashes": {key: source_or_model_hash(bundle, key) for key in bundle.grammars},
        "main": bundle.main,
        "active": list(bundle.active),
        "root": main.root,
        "language": main.language,
        "mode": main.mode,
        "character_words": compiler.character_words,
        "tag_format": main.tag_format,
        "grammars": {
            key: {"tag_format": grammar.tag_format, "language": grammar.language, "mode": grammar.mode,
                  "header_tags": [tag.text for tag in grammar.tags]}
            for key, grammar in bundle.grammars.items()
        },
        "tokens": [[text, list(words)] for text, words in compiler.tokens],
        "rules": [list(entry) for entry in compiler.rules],
        "tags": [list(entry) for entry in compiler.tags],
        "options": options.as_dict(),
        "stats": stats,
    }
    return CompiledGrammar(transducer, acceptor, list(compiler.symbols.symbols), metadata)


def _root_span(bundle: GrammarBundle) -> SourceSpan:
    """Where a whole-grammar problem is reported: the first active rule, else the grammar."""
    main = bundle.main_grammar
    for rule in main.rules:
        if rule.name in bundle.active:
            return rule.span
    return main.span


def describe(compiled: CompiledGrammar) -> str:
    """State and arc counts of both views and the compile timings, one line each."""
    stats = compiled.stats
    lines = [
        f"before optimisation: {stats['raw_states']} states",
        f"transducer: {stats['transducer']['states']} states, {stats['transducer']['arcs']} arcs",
        f"acceptor:   {stats['acceptor']['states']} states, {stats['acceptor']['arcs']} arcs",
        f"symbols:    {stats['symbols']}",
        f"build {stats['build_s'] * 1000:.1f} ms, optimise {stats['optimize_s'] * 1000:.1f} ms",
    ]
    if not stats.get("optimized", True):
        lines.append("not determinised: over the optimisation budget (same paths and weights, epsilon-free)")
    return "\n".join(lines)


__all__ = ["compile_bundle", "describe"]
