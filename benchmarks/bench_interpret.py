"""INTERPRET TEXT latency and throughput, beside the bare pynini compose + shortest path.

For each grammar: the full ``Interpreter.interpret`` (normalise, parse, SISR tags, result)
against the physical baseline, the same sentence's linear acceptor composed with the same
compiled transducer and its shortest path taken, with nothing else. Latency is per call (median
and p99 over many calls on one core); throughput is calls per second on one thread. The parse
alone (``parse_words``: the best path and its tree) is shown beside it, and the largest n-best
(``MAX_NBEST``) on a grammar with 4^10 parses of one sentence. For the 100,000-entry tagged
list: the Python objects its loading leaves (``tracemalloc`` around the load) and the first
interpretation after loading.

    python benchmarks/bench_interpret.py [--calls N] [--no-memory]

Targets (issue 4): pizza median < 1 ms and > 1,000/s per core; 100,000-entry list median < 5 ms.
Issue 7: n-best = MAX_NBEST on an ambiguous grammar well under a second.
Issue 8 (against the baseline of the same run): pizza median <= 2x (goal: under 100 us);
100,000-entry list median <= 1.5x; first interpretation after loading the 100,000-entry list
under 50 ms; the loaded list under 100 MB of Python objects.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import pynini

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_compile import _model, _names  # noqa: E402  (same 100,000-entry list)
from interpreter import Interpreter  # noqa: E402
from interpreter.api import MAX_NBEST, InterpreterOptions  # noqa: E402
from interpreter.parse import parse_words  # noqa: E402
from srgs.text import normalize_words  # noqa: E402

PIZZA_TEXTS = [
    "two large pizzas with mushrooms and olives",
    "i'd like a small pepperoni pizza please",
    "give me three medium pizzas with ham pineapple and extra cheese",
    "one extra large pizza",
]


def timings(fn, texts, calls: int) -> list[float]:
    for text in texts:  # warm-up: first use per thread builds the script context
        fn(text)
    out = []
    for i in range(calls):
        text = texts[i % len(texts)]
        start = time.perf_counter()
        fn(text)
        out.append(time.perf_counter() - start)
    return out


def baseline(compiled):
    """Compose the sentence's acceptor with the transducer and take the shortest path: no more."""
    symbols = compiled.symbols
    transducer = compiled.transducer

    def run(text: str):
        words = normalize_words(text)
        chain = pynini.accep(" ".join(words), token_type=symbols)
        lattice = pynini.compose(chain, transducer)
        return pynini.shortestpath(lattice)

    return run


def parse_only(interpreter):
    """``parse_words`` alone: the best path and its tree."""
    grammar = interpreter.grammars[0]

    def run(text: str):
        return parse_words(grammar.compiled, normalize_words(text, mode=grammar.mode))

    return run


AMBIGUOUS = ("#ABNF 1.0 UTF-8;\nlanguage en-US;\nroot $main;\ntag-format <semantics/1.0>;\n"
             "public $main = {out = 0;} ($x {out += rules.x;})<1-10>;\n"
             "$x = a {out = 1;} | a {out = 2;} | a {out = 3;} | a {out = 4;};\n")


def report(name: str, ours: list[float], base: list[float], parse: list[float] | None = None) -> float:
    def row(label, xs):
        med = statistics.median(xs) * 1e3
        p99 = sorted(xs)[int(len(xs) * 0.99) - 1] * 1e3
        rate = len(xs) / sum(xs)
        return f"  {label:<34} median {med:7.3f} ms   p99 {p99:7.3f} ms   {rate:9.0f} /s"

    print(name)
    print(row("Interpreter.interpret (ours)", ours))
    if parse is not None:
        print(row("parse_words only (ours)", parse))
    print(row("pynini compose+shortestpath (base)", base))
    ratio = statistics.median(ours) / statistics.median(base)
    print(f"  ratio (median ours / base): {ratio:.1f}x")
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--no-memory", action="store_true",
                        help="load the 100,000-entry list without tracemalloc (faster; no memory figure)")
    args = parser.parse_args()
    summary: list[tuple[str, str, str, str, str, bool]] = []  # what, ours, base, ratio, target, met

    pizza = Interpreter.load("builtin:examples/pizza")
    compiled = pizza.grammars[0].compiled
    for text in PIZZA_TEXTS:  # the baseline must parse what we parse
        assert pizza.interpret(text).status == "RECOGNIZED", text
    ours, base = timings(pizza.interpret, PIZZA_TEXTS, args.calls), timings(baseline(compiled), PIZZA_TEXTS, args.calls)
    ratio = report("pizza order grammar (SISR script tags, header tag)", ours, base,
                   timings(parse_only(pizza), PIZZA_TEXTS, args.calls))
    median = statistics.median(ours)
    summary.append(("pizza median", f"{median * 1e6:.0f} us", f"{statistics.median(base) * 1e6:.0f} us",
                    f"{ratio:.1f}x", "<= 2x (goal < 100 us)", ratio <= 2))

    print()
    gc.collect()
    if not args.no_memory:
        tracemalloc.start()
    start = time.perf_counter()
    names = Interpreter.from_bundles([("names", _model("names100k"))], options=InterpreterOptions())
    load_s = time.perf_counter() - start
    loaded_mb = peak_mb = None
    if not args.no_memory:
        gc.collect()
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        loaded_mb, peak_mb = current / 2**20, peak / 2**20
    picks = _names()[::9973][:8]
    start = time.perf_counter()
    first = names.interpret(picks[0])
    first_ms = (time.perf_counter() - start) * 1e3
    assert first.status == "RECOGNIZED"
    print(f"100,000-entry one-of with tags: loaded and compiled in {load_s:.1f} s"
          + (" (under tracemalloc)" if loaded_mb is not None else "")
          + f"; first interpretation after loading {first_ms:.1f} ms")
    if loaded_mb is not None:
        print(f"  Python objects left by loading: {loaded_mb:.1f} MiB (peak while loading {peak_mb:.1f} MiB)")
    for text in picks:
        assert names.interpret(text).status == "RECOGNIZED", text
    calls = max(200, args.calls // 5)
    ours, base = timings(names.interpret, picks, calls), timings(baseline(names.grammars[0].compiled), picks, calls)
    ratio = report("100,000-entry one-of (a tag per entry)", ours, base,
                   timings(parse_only(names), picks, calls))
    summary.append(("100,000-entry list median", f"{statistics.median(ours) * 1e6:.0f} us",
                    f"{statistics.median(base) * 1e6:.0f} us", f"{ratio:.1f}x", "<= 1.5x", ratio <= 1.5))
    summary.append(("first interpretation after load", f"{first_ms:.1f} ms", "", "", "< 50 ms", first_ms < 50))
    if loaded_mb is not None:
        summary.append(("100,000-entry list loaded", f"{loaded_mb:.1f} MiB", "", "", "< 100 MB",
                        loaded_mb * 2**20 < 100e6))

    ambiguous = Interpreter.from_text(AMBIGUOUS, name="ambiguous")
    text = " ".join(["a"] * 10)
    nbest = timings(lambda t: ambiguous.interpret(t, nbest=MAX_NBEST), [text], 20)
    result = ambiguous.interpret(text, nbest=MAX_NBEST)
    distinct = len(result.alternatives[0].interpretations)
    print(f"\nn-best = {MAX_NBEST} on (a {{1}} | a {{2}} | a {{3}} | a {{4}})<1-10>, 10 words (4^10 parses): "
          f"median {statistics.median(nbest) * 1e3:.1f} ms, max {max(nbest) * 1e3:.1f} ms, "
          f"{distinct} distinct values")

    print("\nIssue 8 targets (baseline: pynini compose + shortest path, this run)")
    print(f"  {'what':<34} {'ours':>10} {'base':>8} {'ratio':>6}  {'target':<24} met")
    for what, value, base_text, ratio_text, target, met in summary:
        print(f"  {what:<34} {value:>10} {base_text:>8} {ratio_text:>6}  {target:<24} {'yes' if met else 'NO'}")


if __name__ == "__main__":
    main()
