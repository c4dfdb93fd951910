"""SISR script limits under threads and at scale, beside the old behaviour measured in the same run.

1. A tag that burns ~60 ms of CPU, interpreted by 1, 2, 4 and 8 threads at once (0.25 s limit):
   successes/failures and latency (wall time per interpretation) with our limit, which counts the
   interpretation's own CPU time, beside the baseline: the same sandbox with QuickJS's plain
   limit, which counts the whole process's CPU time (C ``clock()``), one run.
2. A tagged one-of of 100,000 and 600,000 entries (XML ``<item>wN<tag>...</tag></item>``), tags
   ``out="vN";`` and ``out.x=N;``: first interpretation after loading (the parse, then the tags),
   and the script engine's heap, beside the baseline: the whole list's table / program loaded into a QuickJS context, as
   the evaluator did before (time and heap, no memory limit).

    python benchmarks/bench_script_threads.py [--rounds N] [--sizes 100000,600000] [--no-compile]

``--no-compile`` skips the FST compile of part 2 (30 s for 600,000 entries) and times the
evaluator alone on the parse tree the compiled grammar gives.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from pathlib import Path

import quickjs

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from interpreter import Interpreter  # noqa: E402
from interpreter.api import semantics_of  # noqa: E402
from interpreter.parse import parse_words  # noqa: E402
from interpreter.script import DEFAULT_SCRIPT_LIMITS, QuickJsSandbox, _failure  # noqa: E402
from interpreter.sisr import GrammarSemantics, SemanticError, SemanticEvaluator  # noqa: E402
from interpreter.sisr_program import _dispatch  # noqa: E402
from interpreter.tree import ParseRule, ParseTag, ParseToken  # noqa: E402
from srgs.load.loader import bundle_from_text  # noqa: E402


class ProcessClockSandbox(QuickJsSandbox):
    """The baseline: one run under QuickJS's own limit, on the process's CPU clock."""

    def run(self, events_json: str, score: float) -> str:
        self._context.set_time_limit(self._limits.time_s)
        try:
            return self._run(events_json, float(score))
        except (quickjs.JSException, quickjs.StackOverflow) as error:
            raise _failure(error) from None
        finally:
            self._context.set_time_limit(-1)


# --- 1. threads ----------------------------------------------------------------------------


def burner(loops: int) -> ParseRule:
    text = f"var s = 0; for (var i = 0; i < {loops}; i++) s += i; out = {loops}"
    return ParseRule("main", "$main", "g", (ParseToken("go", ("go",)), ParseTag(text)))


def calibrate(seconds: float) -> int:
    evaluator = SemanticEvaluator({"g": GrammarSemantics("semantics/1.0", (), None)})
    loops = 1_000_000
    takes = []
    for _ in range(3):
        start = time.thread_time()
        evaluator.evaluate(burner(loops))
        takes.append(time.thread_time() - start)
    return int(loops * seconds / min(takes))


def under_threads(sandbox, loops: int, threads: int, rounds: int) -> tuple[int, int, list[float]]:
    evaluator = SemanticEvaluator({"g": GrammarSemantics("semantics/1.0", (), None)}, sandbox_factory=sandbox)
    evaluator.evaluate(burner(10))  # this thread's context is ready; the workers make their own
    barrier = threading.Barrier(threads)
    lock = threading.Lock()
    ok = failed = 0
    latencies: list[float] = []

    def work() -> None:
        nonlocal ok, failed
        evaluator.evaluate(burner(10))
        barrier.wait()
        for _ in range(rounds):
            start = time.perf_counter()
            try:
                evaluator.evaluate(burner(loops))
                good = True
            except SemanticError:
                good = False
            took = time.perf_counter() - start
            with lock:
                ok += good
                failed += not good
                latencies.append(took)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return ok, failed, latencies


def threads_part(rounds: int) -> None:
    loops = calibrate(0.06)
    print(f"1. a 60 ms tag ({loops:,} loop turns), {DEFAULT_SCRIPT_LIMITS.time_s:g} s limit, "
          f"{rounds} interpretations per thread, all threads at once")
    print(f"  {'threads':>7}  {'':<34} {'ok':>4} {'failed':>6} {'median':>9} {'p90':>9} {'max':>9}")
    for threads in (1, 2, 4, 8):
        for label, sandbox in (("ours (the thread's own CPU time)", QuickJsSandbox),
                               ("base (the process's CPU time)", ProcessClockSandbox)):
            ok, failed, lat = under_threads(sandbox, loops, threads, rounds)
            lat.sort()
            p90 = lat[max(0, int(len(lat) * 0.9) - 1)]
            print(f"  {threads:>7}  {label:<34} {ok:>4} {failed:>6} {statistics.median(lat) * 1e3:7.0f}ms "
                  f"{p90 * 1e3:7.0f}ms {lat[-1] * 1e3:7.0f}ms")


# --- 2. large tagged lists -------------------------------------------------------------------


TAGS = {"literal": lambda i: f'out="v{i}";', "script": lambda i: f"out.x={i}*1;"}  # *1: outside the Python-evaluated subset


def xml_list(count: int, tag) -> str:
    items = "".join(f"<item>w{i}<tag>{tag(i)}</tag></item>" for i in range(count))
    return ('<grammar xmlns="http://www.w3.org/2001/06/grammar" version="1.0" xml:lang="en-US" '
            f'root="main" tag-format="semantics/1.0"><rule id="main" scope="public"><one-of>{items}'
            '</one-of></rule></grammar>')


def heap_mb(evaluator: SemanticEvaluator) -> float:
    sandbox = getattr(evaluator._local, "sandbox", None)
    return sandbox._context.memory()["malloc_size"] / 2**20 if sandbox is not None else 0.0


BASELINE_MAX_SCRIPT_CASES = 100_000  # the engine's compile of one big switch grows quadratically


def baseline_load(count: int, kind: str, tag) -> tuple[float, float, str] | None:
    """The whole list in one QuickJS context, as the evaluator loaded it before."""
    if kind == "script" and count > BASELINE_MAX_SCRIPT_CASES:
        return None
    context = quickjs.Context()
    if kind == "literal":
        table = {i: json.loads(tag(i)[4:-1]) for i in range(count)}
        source = f"var table = JSON.parse({json.dumps(json.dumps(table))}); table"
    else:  # one rule function dispatching over every tag of the list, as the whole program was
        dispatch = "".join(_dispatch([(tag(i), i) for i in range(count)]))
        source = ("(function (__srgs_c, out) { var __srgs_k; while ((__srgs_k = __srgs_c.next()) !== -1) {"
                  f"try {{\n{dispatch}}} catch (__srgs_e) {{ throw __srgs_c.fail(__srgs_e); }}\n}} return out; }})")
    start = time.perf_counter()
    try:
        kept = context.eval(source)  # noqa: F841 - kept alive while the heap is measured
        outcome = "ok"
    except (quickjs.JSException, quickjs.StackOverflow) as error:
        outcome = str(error).splitlines()[0]
    took = time.perf_counter() - start
    return took, context.memory()["malloc_size"] / 2**20, outcome


def lists_part(sizes: list[int], compile_fst: bool) -> None:
    print(f"\n2. a tagged one-of, first interpretation after loading ({DEFAULT_SCRIPT_LIMITS.memory_bytes >> 20} MB "
          f"script memory limit){'' if compile_fst else ', evaluator only (--no-compile)'}")
    for count in sizes:
        for kind, tag in TAGS.items():
            bundle = bundle_from_text(xml_list(count, tag), source=f"list{count}.grxml")
            word, i = f"w{count - 1}", count - 1
            start = time.perf_counter()
            if compile_fst:
                compiled = Interpreter.from_bundles([("list", bundle)]).grammars[0]
                evaluator = compiled.evaluator
                load = time.perf_counter() - start
                start = time.perf_counter()
                tree = parse_words(compiled.compiled, (word,), nbest=1)[0].tree
                parse = time.perf_counter() - start
            else:
                evaluator = SemanticEvaluator(semantics_of(bundle))
                load = time.perf_counter() - start
                tree = ParseRule("main", "$main", bundle.main, (ParseToken(word, (word,)), ParseTag(tag(i))))
                parse = 0.0
            start = time.perf_counter()
            try:
                value = evaluator.evaluate(tree)
            except SemanticError as error:
                value = f"FAILURE: {error}"
            tags = time.perf_counter() - start
            first = f"first interpretation {(parse + tags) * 1e3:7.1f} ms (parse {parse * 1e3:6.1f}, tags {tags * 1e3:5.1f})"
            print(f"  {count:>7,} {tag(0).replace('0', 'N'):<11} ours: load {load:5.1f} s, {first}, "
                  f"engine heap {heap_mb(evaluator):5.1f} MB -> {str(value)[:60]}")
            base = baseline_load(count, kind, tag)
            if base is None:
                print(f"  {'':>7} {'':<11} base: not run above {BASELINE_MAX_SCRIPT_CASES:,} script tags "
                      "(compiling one switch of all of them grows quadratically)")
            else:
                print(f"  {'':>7} {'':<11} base: whole list into the engine {base[0] * 1e3:8.1f} ms, "
                      f"heap {base[1]:6.1f} MB ({base[2]})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="interpretations per thread (part 1)")
    parser.add_argument("--sizes", default="100000,600000", help="list sizes (part 2)")
    parser.add_argument("--no-compile", action="store_true", help="part 2: evaluator only, no FST compile")
    parser.add_argument("--part", choices=["1", "2", "all"], default="all")
    args = parser.parse_args()
    if args.part in ("1", "all"):
        threads_part(args.rounds)
    if args.part in ("2", "all"):
        lists_part([int(s) for s in args.sizes.split(",") if s], not args.no_compile)


if __name__ == "__main__":
    main()
