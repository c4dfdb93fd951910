"""Start-up time of the command line against a bare interpreter start (issue 8).

Prints the median wall time of ``python -c pass`` (the baseline), ``srgs --help`` and a one-shot
``srgs interpret builtin:examples/yesno yes`` (a grammar compiled in the process), and each one's ratio to
the baseline. Targets: ``--help`` <= 3x, one-shot ``interpret`` <= 5x. Run: ``python benchmarks/bench_startup.py [RUNS]``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

# Measured as an installed package runs: with compiled bytecode (.pyc) written and reused.
ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}

COMMANDS = {
    "python -c pass (baseline)": [sys.executable, "-c", "pass"],
    "srgs --help": [sys.executable, "-m", "srgs.cli", "--help"],
    "srgs interpret builtin:examples/yesno yes": [sys.executable, "-m", "srgs.cli", "interpret", "builtin:examples/yesno", "yes"],
}


def median_seconds(command: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        clock = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=ENV)
        times.append(time.perf_counter() - clock)
    return statistics.median(times)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    for command in COMMANDS.values():  # warm the file cache and write the bytecode
        subprocess.run(command, capture_output=True, env=ENV)
    results = {name: median_seconds(command, runs) for name, command in COMMANDS.items()}
    base = results["python -c pass (baseline)"]
    print(f"median of {runs} runs")
    print(f"{'command':40} {'ms':>8} {'x baseline':>11}")
    for name, seconds in results.items():
        print(f"{name:40} {seconds * 1000:8.1f} {seconds / base:11.2f}")


if __name__ == "__main__":
    main()
