"""Checks over the grammar model, each run once: ``validate`` (SRGS constraints of one grammar)
and ``recursion`` (the rule graph of a whole bundle: left recursion, nullable rules, cycles)."""
