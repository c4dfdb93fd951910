"""What the compiler may do and spend: one validated options object (issue 3)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..limits import DEFAULT_LIMITS

COMPILER_VERSION = "srgs-compile/3"


@dataclass(frozen=True, slots=True, kw_only=True)
class CompileOptions:
    """Compiler settings; every one of them takes part in the cache key.

    ``garbage_cost``: cost of one word swallowed by $GARBAGE (high enough that a grammar word
    wins over garbage). ``recursion_depth``: how many nested recursive references a recursive
    rule may make before the next one becomes $VOID (SRGS §5.4 allows recursion; a finite-state
    form needs a bound). ``max_repeat``: the largest repeat count expanded. ``max_states``: the
    largest FST built at any step. ``optimize``: determinise and minimise both views. In process
    only what is provably cheap (see ``optimize``): an epsilon removal whose counted work is
    linear, the minimisation of an FST already deterministic, the subset construction of an
    acyclic one whose path counts bound it linearly (a word list) or of one of at most
    ``optimize_in_process_states`` states that a bounded probe saw end; everything else
    in a child process bounded by ``optimize_timeout_s`` and ``optimize_memory_bytes`` (its
    own address-space limit). Over the budget, an FST is kept epsilon-free but not
    determinised (the same paths, the same weights); a token acceptor that could not even be
    made epsilon-free is refused.
    """

    garbage_cost: float = 10.0
    recursion_depth: int = 12
    max_repeat: int = DEFAULT_LIMITS.max_repeat
    max_states: int = 4_000_000
    optimize: bool = True
    optimize_in_process_states: int = 4_000
    optimize_timeout_s: float = 20.0
    optimize_memory_bytes: int = 2 * 1024**3

    def __post_init__(self) -> None:
        if not self.garbage_cost >= 0:
            raise ValueError("garbage_cost must be >= 0")
        if self.recursion_depth < 0 or self.max_repeat < 1 or self.max_states < 1:
            raise ValueError("recursion_depth must be >= 0, max_repeat and max_states >= 1")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
