"""Weights and probabilities as tropical costs (−log p), in one place (SRGS §2.4.1, §2.5.1).

* Alternative weights are relative: each is divided by the sum of its one-of (an absent weight
  is 1.0). A weight of 0 (or below) is floored to a tiny share so the path stays, last.
* ``repeat-prob`` p: every optional iteration beyond the minimum is taken with p and the repeat
  stops with 1−p; a repeat without a probability costs nothing either way.
"""

from __future__ import annotations

import math

# The smallest probability a path may have: keeps "weight 0" and "repeat-prob 1.0" paths alive.
PROBABILITY_FLOOR = 1e-6


def cost(probability: float) -> float:
    """−log p, with p floored at ``PROBABILITY_FLOOR``."""
    return -math.log(max(probability, PROBABILITY_FLOOR))


def alternative_costs(weights: list[float | None]) -> list[float]:
    """The cost of each alternative of a one-of, from its weights (None = 1.0)."""
    raw = [1.0 if w is None else float(w) for w in weights]
    if not all(math.isfinite(w) for w in raw):
        raw = [w if math.isfinite(w) and w > 0 else 0.0 for w in raw]
    top = max((w for w in raw if w > 0), default=1.0)
    floored = [max(w, top * PROBABILITY_FLOOR) for w in raw]
    total = sum(floored)
    return [-math.log(w / total) for w in floored]


def repeat_costs(probability: float | None) -> tuple[float, float]:
    """``(take, stop)``: the cost of one more optional iteration and of stopping."""
    if probability is None:
        return 0.0, 0.0
    p = min(max(float(probability), 0.0), 1.0)
    return cost(p), cost(1.0 - p)
