"""Epsilon removal, determinisation and minimisation within a time and memory budget
(issue 3, "optimisation"; issue 7, "untrusted input stays within the documented budgets").

``optimize_views`` turns the compiled transducer into the two views a compiled grammar keeps:
the transducer, and the token acceptor (its input side, always epsilon-free). Each view is
optimised the same way, in process or in a child process (``_optimize``): epsilon removal,
then, with each arc's input, output and weight encoded as one label, subset construction and
minimisation, then decoding (what ``Fst.optimize`` does to an FST it knows nothing about).

What this costs follows the grammar's ambiguity, not its size: ``((a | b c)<1-80>)<1-80>``
(26,000 states) takes a minute and gigabytes to determinise, ``(a|b)<0-> (a|c) (a|b)<25>``
(30 states) has 2^26 subsets, ``(a|{x}) (a|{x}) ...`` a quadratic epsilon removal. So only
work whose cost is bounded runs in process:

* epsilon removal (``_rmepsilon``), when its work (for every state with epsilon arcs, the arcs
  of every state of its epsilon closure and its epsilon arcs, times the closure's states
  unless the closure is a tree),
  counted by a walk that stops there, is within twice the FST's size plus ``_EPSILON_SLACK``;
* determinisation and minimisation, when the epsilon-free FST is deterministic already (a
  counted repeat: determinisation is then a copy and minimisation O(arcs × log states)); or
  acyclic with path counts that bound the subset construction's work within
  ``_DETERMINIZE_FACTOR`` times its size (a word list); or when it has at most
  ``in_process_states`` states and its subset construction, run here with a limit of
  ``_PROBE_STEPS`` steps, ends within it.

Everything else runs in one child process per compilation, under ``timeout_s`` and an
address-space limit of ``memory_bytes`` that the child sets on itself before it reads
anything. The child writes each view as soon as it is epsilon-free and again once optimised;
when it does not finish, the most advanced views are kept: the same paths with the same
weights, only not determinised. A token acceptor that could not even be made epsilon-free is
refused (``OptimizeBudgetError``).
"""

from __future__ import annotations

if __name__ == "__main__":  # the child process: its own address-space limit before anything else
    import resource
    import sys

    _limit = int(sys.argv[1])
    _hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    if _hard != resource.RLIM_INFINITY:
        _limit = min(_limit, _hard)
    resource.setrlimit(resource.RLIMIT_AS, (_limit, _hard))

import math
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pynini
import pywrapfst

P = pywrapfst.FstProperties
_F = TypeVar("_F", pynini.Fst, pynini.Fst | None)

# The most steps the subset construction of a small FST takes here before it gives up and the
# work goes to the child; the work epsilon removal may do in process beyond twice the FST's size.
_PROBE_STEPS = 1 << 18
_EPSILON_SLACK = 1 << 16
# The most work (subsets' states and arcs) an acyclic FST's determinisation may do in process,
# as a multiple of the FST's size (see ``_paths_bound_subsets``).
_DETERMINIZE_FACTOR = 8

# The stages a view goes through, in order, and the child's file names for them.
RAW, EPSILON_FREE, OPTIMIZED = 0, 1, 2
_FILES = {("transducer", EPSILON_FREE): "transducer.eps.fst", ("transducer", OPTIMIZED): "transducer.opt.fst",
          ("acceptor", EPSILON_FREE): "acceptor.eps.fst", ("acceptor", OPTIMIZED): "acceptor.opt.fst"}


class OptimizeBudgetError(Exception):
    """The token acceptor could not be made epsilon-free within the budget."""


@dataclass(frozen=True, slots=True)
class Budget:
    """``in_process_states``: the largest non-deterministic FST whose subset construction may
    be tried in process (see the module); ``timeout_s`` and ``memory_bytes``: the child
    process's deadline and address space."""

    in_process_states: int
    timeout_s: float
    memory_bytes: int


def optimize_views(transducer: pynini.Fst, budget: Budget, *,
                   determinize: bool = True) -> tuple[pynini.Fst, pynini.Fst, bool]:
    """``(transducer, acceptor, optimized)``: the transducer (optimised, or else as epsilon-free
    as the budget allowed), the epsilon-free token acceptor (optimised when the transducer
    was) and whether both were determinised. With ``determinize=False`` the transducer is
    kept as given and the acceptor only made epsilon-free."""
    goal = OPTIMIZED if determinize else EPSILON_FREE
    t_stage = RAW
    if determinize:
        transducer, t_stage = _in_process(transducer, budget, acceptor=False, goal=OPTIMIZED)
    acceptor: pynini.Fst | None = None
    a_stage = RAW
    if t_stage == OPTIMIZED or not determinize:
        acceptor, a_stage = _in_process(_projection(transducer), budget, acceptor=True, goal=goal)
        if a_stage < goal:
            found = _in_child("acceptor", acceptor, a_stage, goal, budget)
            acceptor, a_stage = _better(found, "acceptor", acceptor, a_stage)
    else:
        # An epsilon-free acceptor made here when cheap, in case the child does not get as far.
        if t_stage == EPSILON_FREE:
            acceptor, a_stage = _in_process(_projection(transducer), budget, acceptor=True, goal=EPSILON_FREE)
        found = _in_child("transducer", transducer, t_stage, goal, budget)
        transducer, t_stage = _better(found, "transducer", transducer, t_stage)
        acceptor, a_stage = _better(found, "acceptor", acceptor, a_stage)
    if acceptor is None or a_stage < EPSILON_FREE:
        raise OptimizeBudgetError(
            f"the grammar is too ambiguous: its token acceptor could not be made epsilon-free within "
            f"the optimisation budget of {budget.timeout_s:g} s and {budget.memory_bytes // 2**20} MiB "
            "(CompileOptions.optimize_timeout_s, optimize_memory_bytes)")
    return transducer, acceptor, t_stage == a_stage == OPTIMIZED


def _better(found: dict[str, tuple[pynini.Fst, int]], view: str, fst: _F, stage: int) -> tuple[_F, int]:
    """What the child wrote for ``view`` when it got further than ``stage``, else ``fst``."""
    if view in found and found[view][1] > stage:
        return found[view]
    return fst, stage


def _projection(transducer: pynini.Fst) -> pynini.Fst:
    acceptor: pynini.Fst = transducer.copy()
    acceptor.project("input")
    return acceptor


# --- in process: only what is provably cheap ---------------------------------------------------

def _in_process(fst: pynini.Fst, budget: Budget, *, acceptor: bool, goal: int) -> tuple[pynini.Fst, int]:
    """``fst`` taken as far towards ``goal`` as is provably cheap, and the stage reached."""
    if not epsilon_removal_is_cheap(fst, acceptor=acceptor):
        return fst, RAW
    if not fst.properties(P.NO_I_EPSILONS if acceptor else P.NO_EPSILONS, True):
        _rmepsilon(fst)  # (an expansion of shared, optimised rule bodies has none to remove)
    if goal == EPSILON_FREE:
        return fst, EPSILON_FREE
    encoded, encoder = _encoded(fst.copy())
    if not determinization_is_cheap(encoded, budget.in_process_states):
        return fst, EPSILON_FREE
    return _determinize_minimize(encoded, encoder), OPTIMIZED


def epsilon_removal_is_cheap(fst: pynini.Fst, *, acceptor: bool) -> bool:
    """Whether removing the FST's epsilon arcs (input epsilons of an acceptor, ε:ε arcs of a
    transducer) with ``_rmepsilon`` does work within twice the FST's size plus
    ``_EPSILON_SLACK``: for every state with epsilon arcs, the arcs of each state of its
    epsilon closure, plus the distances within the closure: its epsilon arcs when the closure
    is a tree (no epsilon arc into a state already reached: the first-in first-out queue then
    relaxes each arc once), else the closure's states times its epsilon arcs. The walk that
    counts it stops at that limit, so it is linear too (as building the FST was). (The
    acceptor of rules that each open many others, ``$digits`` choosing among 131 rules that
    each choose among 121, has a 16,000-state closure at its start, but a tree.)"""
    if fst.properties(P.NO_I_EPSILONS if acceptor else P.NO_EPSILONS, True):
        return True
    count = fst.num_states()
    arcs = [fst.num_arcs(state) for state in range(count)]
    limit = 2 * (count + sum(arcs)) + _EPSILON_SLACK
    successors: dict[int, list[int]] = {}
    for state in range(count):
        if fst.num_input_epsilons(state):
            targets = [arc.nextstate for arc in fst.arcs(state) if arc.ilabel == 0 and (acceptor or arc.olabel == 0)]
            if targets:
                successors[state] = targets
    work = 0
    for origin in successors:
        seen = {origin}
        stack = [origin]
        copied = epsilons = 0
        tree = True
        while stack:
            state = stack.pop()
            copied += 1 + arcs[state]
            epsilons += len(successors.get(state, ()))
            cost = copied + (epsilons if tree else len(seen) * epsilons)
            if work + cost > limit:
                return False
            for target in successors.get(state, ()):
                if target not in seen:
                    seen.add(target)
                    stack.append(target)
                else:
                    tree = False
        work += cost
    return True


def determinization_is_cheap(encoded: pynini.Fst, in_process_states: int) -> bool:
    """Whether determinising the (epsilon-free, encoded) FST is cheap: it is deterministic
    already (determinisation is then a copy); or it is acyclic and its paths bound the subset
    construction's work within ``_DETERMINIZE_FACTOR`` times its size (a word list); or it has
    at most ``in_process_states`` states and its subset construction, run here with a limit of
    ``_PROBE_STEPS`` steps, ends within it (OpenFst then builds those same subsets)."""
    if encoded.properties(P.I_DETERMINISTIC, True):
        return True
    if encoded.properties(P.ACYCLIC, True) and _paths_bound_subsets(encoded):
        return True
    count = encoded.num_states()
    if count > in_process_states:
        return False
    steps = 0
    arcs: list[list[tuple[int, int]]] = []
    for state in range(count):
        steps += 1 + encoded.num_arcs(state)
        if steps > _PROBE_STEPS:
            return False
        arcs.append([(arc.ilabel, arc.nextstate) for arc in encoded.arcs(state)])
    start = frozenset((encoded.start(),))
    seen = {start}
    stack = [start]
    while stack:
        moves: dict[int, set[int]] = {}
        for state in stack.pop():
            steps += 1 + len(arcs[state])
            for label, target in arcs[state]:
                moves.setdefault(label, set()).add(target)
        if steps > _PROBE_STEPS:
            return False
        for targets in moves.values():
            subset = frozenset(targets)
            if subset not in seen:
                seen.add(subset)
                stack.append(subset)
    return True


def _paths_bound_subsets(acyclic: pynini.Fst) -> bool:
    """Whether ``sum(paths(q) × (1 + arcs(q)))`` over the states ``q`` is at most
    ``_DETERMINIZE_FACTOR`` times the FST's size. A state is in at most as many subsets as there
    are strings, so paths, from the start to it: that sum bounds the subset construction's work
    (the paths of a word list: one to each state, as many as words to the shared last one).
    The number of paths to each state is a shortest distance in the log semiring, linear on an
    acyclic FST."""
    count = acyclic.num_states()
    arcs = [acyclic.num_arcs(state) for state in range(count)]
    limit = _DETERMINIZE_FACTOR * (count + sum(arcs)) + _EPSILON_SLACK
    log_limit = math.log(limit)
    work = 0.0
    counting = pynini.arcmap(pynini.arcmap(acyclic, map_type="rmweight"), map_type="to_log")
    for state, distance in enumerate(pynini.shortestdistance(counting)):
        paths = -float(distance)  # the log of the number of paths from the start
        if paths > log_limit:
            return False
        work += math.exp(paths) * (1 + arcs[state])
        if work > limit:
            return False
    return True


# --- the one optimisation, in process and in the child -------------------------------------------

def _encoded(fst: pynini.Fst) -> tuple[pynini.Fst, Any]:
    """The FST as an unweighted acceptor: each arc's (input, output, weight) encoded as one
    label (an acceptor's labels too: then OpenFst knows the result is an acceptor)."""
    encoder = pywrapfst.EncodeMapper(fst.arc_type(), encode_labels=True, encode_weights=True)
    fst.encode(encoder)
    return fst, encoder


def _determinize_minimize(encoded: pynini.Fst, encoder: Any) -> pynini.Fst:
    """Subset construction and minimisation of an epsilon-free encoded FST, decoded; then
    parallel arcs with the same labels merged into the cheapest (an epsilon removal with no
    epsilon left does just that). What ``Fst.optimize`` does to a transducer whose
    determinism it does not know, but never its weighted transducer minimisation, whose
    pushing of output strings is quadratic on a long chain (``a<6000>``: 10 s and 1.1 GB)."""
    # (an FST known to be deterministic already, the expansion of shared optimised rule bodies
    # often is, is minimised as it is: its determinisation would be a copy)
    result = encoded if encoded.properties(P.I_DETERMINISTIC, True) else pynini.determinize(encoded)
    # Known to be an unweighted acceptor (computed, not assumed), ``minimize`` takes the
    # acceptor algorithm; an FST not known to be one gets the transducer minimisation.
    result.properties(P.ACCEPTOR | P.UNWEIGHTED, True)
    result.minimize()
    result.decode(encoder)
    _rmepsilon(result)
    return result


def _rmepsilon(fst: pynini.Fst) -> None:
    """Epsilon removal with a first-in first-out queue: its work for a state follows the
    state's epsilon closure (with nonnegative costs, at most its states times its epsilon
    arcs). OpenFst's default for an acyclic epsilon graph, a topological-order queue, scans
    the order between the closure's first and last state: ``a<0-100000>`` took 14 s."""
    fst.rmepsilon(queue_type="fifo")


# What the compiler uses on each rule body it shares (``expansions``), under the same budget.
encoded = _encoded
minimal = _determinize_minimize
remove_epsilons = _rmepsilon


def _optimize(fst: pynini.Fst) -> pynini.Fst:
    _rmepsilon(fst)
    return _determinize_minimize(*_encoded(fst))


# --- the child process ------------------------------------------------------------------------

def _in_child(given: str, fst: pynini.Fst, stage: int, goal: int, budget: Budget) -> dict[str, tuple[pynini.Fst, int]]:
    """Takes the ``given`` view (a transducer, with the acceptor derived from it, or an
    acceptor alone) from ``stage`` towards ``goal`` in a child process; returns, per view it
    wrote, its most advanced form and stage."""
    found: dict[str, tuple[pynini.Fst, int]] = {}
    with tempfile.TemporaryDirectory(prefix="srgs-optimize-") as name:
        folder = Path(name)
        fst.write(str(folder / f"{given}.fst"))
        command = [sys.executable, "-P", str(Path(__file__).resolve()), str(budget.memory_bytes), str(folder),
                   given, str(stage), str(goal)]
        try:
            subprocess.run(command, timeout=budget.timeout_s, check=True, capture_output=True)
        except (subprocess.TimeoutExpired, subprocess.CalledProcessError, OSError):
            pass  # keep what it wrote
        for view in ("transducer", "acceptor"):
            for written in (OPTIMIZED, EPSILON_FREE):
                path = folder / _FILES[(view, written)]
                try:
                    if path.exists():
                        found[view] = (pynini.Fst.read(str(path)), written)
                        break
                except pywrapfst.FstIOError:
                    continue
    return found


def _write(fst: pynini.Fst, folder: Path, view: str, stage: int) -> None:
    """Writes a view whole or not at all (the parent may kill the child at any moment)."""
    partial = folder / (_FILES[(view, stage)] + ".part")
    fst.write(str(partial))
    os.replace(partial, folder / _FILES[(view, stage)])


def _child(folder: Path, given: str, stage: int, goal: int) -> None:
    """The child's work, each view written as soon as it reaches a stage. From a transducer:
    it and its acceptor epsilon-free first (an epsilon-free acceptor is the one thing a
    compiled grammar cannot do without), then the optimised transducer, then the optimised
    acceptor of that. From an acceptor: it, made epsilon-free, then optimised."""
    fst = pynini.Fst.read(str(folder / f"{given}.fst"))
    if given == "acceptor":
        if stage < EPSILON_FREE:
            _rmepsilon(fst)
            _write(fst, folder, "acceptor", EPSILON_FREE)
        if goal == OPTIMIZED:
            _write(_optimize(fst), folder, "acceptor", OPTIMIZED)
        return
    if stage < EPSILON_FREE:
        _rmepsilon(fst)
        _write(fst, folder, "transducer", EPSILON_FREE)
    acceptor = _projection(fst)
    _rmepsilon(acceptor)
    _write(acceptor, folder, "acceptor", EPSILON_FREE)
    if goal == OPTIMIZED:
        fst = _optimize(fst)
        _write(fst, folder, "transducer", OPTIMIZED)
        _write(_optimize(_projection(fst)), folder, "acceptor", OPTIMIZED)


if __name__ == "__main__":
    _child(Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
