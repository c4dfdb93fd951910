"""INTERPRET TEXT throughput with 1, 2 and 4 worker processes, beside 1, 2 and 4 threads.

pynini (OpenFst) holds the GIL while it composes and searches, and so does the Python part of
an interpretation: threads in one process do not add throughput, processes do. Each worker
process (multiprocessing, spawn context) builds its own
``interpreter.store.GrammarStore(cache_dir=SHARED_DIR)`` and prepares the grammar: the first
process compiles it and writes it to the content-keyed disk cache, every later one loads the
compiled grammar from there instead of compiling again (both times are printed). All workers
wait at a barrier once prepared, then interpret for the same wall-clock window; calls/s is the
total over that window, printed with the CPU time the workers got over it (in cores: on a
machine other jobs keep busy, processes cannot get more than the free cores). The baseline is
the same loop on 1, 2 and 4 threads of one process sharing one prepared grammar (the store is
thread-safe).

    python benchmarks/bench_workers.py [--seconds S] [--grammar builtin:examples/pizza|names100k|...]

``names100k`` is the 100,000-entry tagged list of ``bench_compile.py``, written as an XML file
first: there compiling and loading from the disk cache differ by seconds.

On this project's 2-core machines, expect processes to scale up to 2 and threads not at all.
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from interpreter.store import GrammarStore  # noqa: E402

TEXTS = {
    "builtin:examples/pizza": [
        "two large pizzas with mushrooms and olives",
        "i'd like a small pepperoni pizza please",
        "give me three medium pizzas with ham pineapple and extra cheese",
        "one extra large pizza",
    ],
    "builtin:examples/yesno": ["yes please", "nope thank you", "that is ok", "yeah"],
    "builtin:examples/digits": ["7 1 5 #", "0 0 7", "1 2 3 4 5 6 7 8 9 0"],
}


NAMES = "names100k"


def _texts(location: str) -> list[str]:
    if location in TEXTS:
        return TEXTS[location]
    from benchmarks.bench_compile import _names

    return _names()[::9973][:8]


def _grammar_file(directory: str) -> str:
    """The 100,000-entry list as an XML file in ``directory`` (read by every worker)."""
    from benchmarks.bench_compile import _model
    from srgs.xml import write_xml

    path = Path(directory) / "names100k.grxml"
    path.write_text(write_xml(_model(NAMES).main_grammar), encoding="utf-8")
    return str(path)


def _loop(interpreter, texts: list[str], until: float) -> int:
    calls = 0
    while True:
        for text in texts:
            interpreter.interpret(text)
        calls += len(texts)
        if time.perf_counter() >= until:
            return calls


def _prepare(cache_dir: str, location: str):
    """A store of this process (over the shared disk cache) and the prepared grammar's
    interpreter; the time it took and whether the compiled grammar came from the disk."""
    start = time.perf_counter()
    store = GrammarStore(cache_dir=cache_dir)
    interpreter = store.activate([store.prepare(location)]).interpreter()
    seconds = time.perf_counter() - start
    return interpreter, seconds, store.cache.disk_hits > 0


def worker(cache_dir: str, location: str, seconds: float, barrier, results) -> None:
    """One worker process: prepare, warm up, wait for the others, interpret for ``seconds``."""
    interpreter, prepare_s, from_disk = _prepare(cache_dir, location)
    texts = _texts(location)
    for text in texts:  # warm-up: the first call per thread builds the script context
        interpreter.interpret(text)
    barrier.wait()
    start, cpu = time.perf_counter(), time.process_time()
    calls = _loop(interpreter, texts, start + seconds)
    results.put((calls, time.perf_counter() - start, time.process_time() - cpu, prepare_s, from_disk))


def processes(count: int, cache_dir: str, location: str, seconds: float) -> tuple[float, list[tuple]]:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(count)
    results = context.Queue()
    workers = [context.Process(target=worker, args=(cache_dir, location, seconds, barrier, results))
               for _ in range(count)]
    for process in workers:
        process.start()
    reports = [results.get(timeout=600) for _ in workers]
    for process in workers:
        process.join(timeout=60)
    window = max(elapsed for _, elapsed, *_ in reports)
    rate = sum(calls for calls, *_ in reports) / window
    cores = sum(cpu for _, _, cpu, *_ in reports) / window
    return rate, cores, reports


def threads(count: int, interpreter, location: str, seconds: float) -> tuple[float, float]:
    texts = _texts(location)
    barrier = threading.Barrier(count)
    counts: list[tuple[int, float]] = []
    lock = threading.Lock()

    def run() -> None:
        for text in texts:
            interpreter.interpret(text)
        barrier.wait()
        start = time.perf_counter()
        calls = _loop(interpreter, texts, start + seconds)
        with lock:
            counts.append((calls, time.perf_counter() - start))

    pool = [threading.Thread(target=run) for _ in range(count)]
    cpu = time.process_time()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    cpu = time.process_time() - cpu
    window = max(elapsed for _, elapsed in counts)
    return sum(calls for calls, _ in counts) / window, cpu / window


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="measuring window per configuration")
    parser.add_argument("--grammar", default="builtin:examples/pizza", choices=sorted(TEXTS) + [NAMES])
    args = parser.parse_args()
    shared = tempfile.mkdtemp(prefix="srgs-bench-cache-")
    try:
        if args.grammar == NAMES:
            grammars = tempfile.mkdtemp(prefix="srgs-bench-grammar-", dir=shared)
            args.grammar = _grammar_file(grammars)
        print(f"{args.grammar}, {args.seconds:g} s per configuration, {multiprocessing.cpu_count()} CPUs, "
              f"disk cache {shared} (empty at start)")
        # one worker alone on an empty cache (it compiles), then one alone again (it loads)
        _, _, [first] = processes(1, shared, args.grammar, 0.1)
        _, _, [again] = processes(1, shared, args.grammar, 0.1)
        rows = []
        prepares: list[float] = []
        for count in (1, 2, 4):
            rate, cores, reports = processes(count, shared, args.grammar, args.seconds)
            prepares.extend(prepare_s for *_, prepare_s, from_disk in reports if from_disk)
            rows.append((f"{count} process{'es' if count > 1 else ''}", rate, cores))
        interpreter, _, _ = _prepare(shared, args.grammar)
        for count in (1, 2, 4):
            rate, cores = threads(count, interpreter, args.grammar, args.seconds)
            rows.append((f"{count} thread{'s' if count > 1 else ''} (one process)", rate, cores))

        print("\npreparing the grammar in a fresh worker process (store, read, compile or load, tags):")
        print(f"  empty disk cache: compiled            {first[3] * 1e3:8.1f} ms"
              + ("" if not first[4] else "  (unexpected: found on disk)"))
        print(f"  warm disk cache: loaded, not compiled {again[3] * 1e3:8.1f} ms"
              + ("" if again[4] else "  (unexpected: compiled)"))
        if prepares:
            print(f"  loaded while the other workers start  {statistics.median(prepares) * 1e3:8.1f} ms "
                  f"(median of {len(prepares)})")
        print("\ninterpret calls/s (all workers together; CPU: cores' worth of CPU time the workers got)")
        base = rows[0][1]
        for label, rate, cores in rows:
            print(f"  {label:<26} {rate:10.0f} /s   {rate / base:4.2f}x one process   CPU {cores:4.2f}")
    finally:
        shutil.rmtree(shared, ignore_errors=True)


if __name__ == "__main__":
    main()
