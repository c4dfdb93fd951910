"""Counters and latency figures of one server process, in the Prometheus text format.

Kept in memory and thread-safe; ``render()`` is what ``GET /metrics`` returns.
"""

from __future__ import annotations

import threading


class Metrics:
    """Named counters (``count``) and latency sums (``observe``) with optional labels."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        self._sums: dict[tuple[str, tuple[tuple[str, str], ...]], list[float]] = {}

    def count(self, name: str, amount: float = 1, **labels: str) -> None:
        with self._lock:
            key = (name, tuple(sorted(labels.items())))
            self._counters[key] = self._counters.get(key, 0.0) + amount

    def observe(self, name: str, seconds: float, **labels: str) -> None:
        key = (name, tuple(sorted(labels.items())))
        with self._lock:
            total = self._sums.setdefault(key, [0.0, 0.0])
            total[0] += seconds
            total[1] += 1

    def value(self, name: str, **labels: str) -> float:
        with self._lock:
            return self._counters.get((name, tuple(sorted(labels.items()))), 0.0)

    def render(self, gauges: dict[str, float] | None = None) -> str:
        """Every counter, latency sum/count and the given gauges, one sample a line."""
        lines: list[str] = []
        with self._lock:
            for (name, labels), amount in sorted(self._counters.items()):
                lines.append(f"srgs_{name}_total{_labels(labels)} {amount:g}")
            for (name, labels), (total, number) in sorted(self._sums.items()):
                lines.append(f"srgs_{name}_seconds_sum{_labels(labels)} {total:.6f}")
                lines.append(f"srgs_{name}_seconds_count{_labels(labels)} {number:g}")
        for name, amount in sorted((gauges or {}).items()):
            lines.append(f"srgs_{name} {amount:g}")
        return "\n".join(lines) + "\n"


def _labels(labels: tuple[tuple[str, str], ...]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{key}="{value.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
                     for key, value in labels)
    return "{" + inner + "}"
