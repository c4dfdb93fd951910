"""Determinisation and minimisation within a time and memory budget (issue 3, "optimisation").

``Fst.optimize`` (epsilon removal, encoded determinisation, minimisation) is quick on the usual
grammar, but its cost follows the grammar's ambiguity, not its size: nested repeats such as
``((a | b c)<1-80>)<1-80>`` (a 26,000-state FST) take a minute and gigabytes. Small FSTs, and
word lists (next to no input epsilons: the compiler writes sequences, repeats and references
with epsilon arcs, so an FST without them is a union of word chains, whose determinisation
stays small), are optimised in process; others in a child process with a deadline and an
address-space limit, and when the child does not finish the FST is kept with only its
epsilons removed. Both
forms accept the same paths with the same weights, so the choice never changes a result.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import pynini

_CHILD = "import pynini, sys\nfst = pynini.Fst.read(sys.argv[1])\nfst.optimize()\nfst.write(sys.argv[2])\n"


def optimize_bounded(fst: pynini.Fst, *, in_process_states: int, timeout_s: float, memory_bytes: int) -> tuple[pynini.Fst, bool]:
    """The optimised FST and True, or (over the budget) the epsilon-free FST and False."""
    if fst.num_states() <= in_process_states or _word_list(fst):
        fst.optimize()
        return fst, True
    with tempfile.TemporaryDirectory(prefix="srgs-optimize-") as folder:
        source, target = Path(folder) / "in.fst", Path(folder) / "out.fst"
        fst.write(str(source))
        try:
            subprocess.run(
                [sys.executable, "-c", _CHILD, str(source), str(target)],
                timeout=timeout_s, check=True, capture_output=True,
                preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes)),
            )
            optimised = pynini.Fst.read(str(target))
        except (subprocess.TimeoutExpired, subprocess.CalledProcessError, OSError, pynini.FstIOError):
            fst.rmepsilon()
            return fst, False
    return optimised, True


def _word_list(fst: pynini.Fst) -> bool:
    """Whether the FST has next to no input-epsilon arcs (one per thousand states at most)."""
    allowed = max(4, fst.num_states() // 1000)
    seen = 0
    for state in fst.states():
        seen += fst.num_input_epsilons(state)
        if seen > allowed:
            return False
    return True
