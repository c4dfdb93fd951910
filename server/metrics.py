"""Counters and latency figures of one server process, in the Prometheus text format.

Kept in memory and thread-safe; ``render()`` is what ``GET /metrics`` returns:

- ``count(name, **labels)``: a counter, ``srgs_NAME_total{labels}``;
- ``observe(name, seconds, **labels)``: a latency histogram, ``srgs_NAME_seconds_bucket{le=...}``
  (cumulative, ``LATENCY_BUCKETS`` plus ``+Inf``), ``srgs_NAME_seconds_sum`` and ``_count``;
- ``render(gauges)``: the gauges the caller measures now (``srgs_NAME``), such as sessions held.

Each metric family has its ``# TYPE`` line before its samples (text exposition format 0.0.4).
"""

from __future__ import annotations

import bisect
import threading

# Upper bounds (seconds) of the latency histogram buckets: from a text interpretation (about a
# millisecond) to a long recognition.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_Labels = tuple[tuple[str, str], ...]


class _Histogram:
    __slots__ = ("buckets", "count", "total")

    def __init__(self) -> None:
        self.buckets = [0] * len(LATENCY_BUCKETS)
        self.total = 0.0
        self.count = 0


class Metrics:
    """Named counters (``count``) and latency histograms (``observe``) with optional labels."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[tuple[str, _Labels], float] = {}
        self._histograms: dict[tuple[str, _Labels], _Histogram] = {}

    def count(self, name: str, amount: float = 1, **labels: str) -> None:
        with self._lock:
            key = (name, tuple(sorted(labels.items())))
            self._counters[key] = self._counters.get(key, 0.0) + amount

    def observe(self, name: str, seconds: float, **labels: str) -> None:
        key = (name, tuple(sorted(labels.items())))
        index = bisect.bisect_left(LATENCY_BUCKETS, seconds)
        with self._lock:
            histogram = self._histograms.get(key)
            if histogram is None:
                histogram = self._histograms[key] = _Histogram()
            if index < len(LATENCY_BUCKETS):
                histogram.buckets[index] += 1
            histogram.total += seconds
            histogram.count += 1

    def value(self, name: str, **labels: str) -> float:
        """A counter's value (0 when never counted)."""
        with self._lock:
            return self._counters.get((name, tuple(sorted(labels.items()))), 0.0)

    def observed(self, name: str, **labels: str) -> int:
        """How many latencies ``name`` has observed with exactly these labels."""
        with self._lock:
            histogram = self._histograms.get((name, tuple(sorted(labels.items()))))
            return histogram.count if histogram is not None else 0

    def render(self, gauges: dict[str, float] | None = None) -> str:
        """Every counter, latency histogram and the given gauges, one sample a line."""
        lines: list[str] = []
        with self._lock:
            counters = sorted(self._counters.items())
            histograms = sorted((key, (list(h.buckets), h.total, h.count)) for key, h in self._histograms.items())
        family = ""
        for (name, labels), amount in counters:
            if name != family:
                family = name
                lines.append(f"# TYPE srgs_{name}_total counter")
            lines.append(f"srgs_{name}_total{_labels(labels)} {amount:g}")
        family = ""
        for (name, labels), (buckets, total, number) in histograms:
            if name != family:
                family = name
                lines.append(f"# TYPE srgs_{name}_seconds histogram")
            running = 0
            for bound, amount in zip(LATENCY_BUCKETS, buckets, strict=True):
                running += amount
                lines.append(f"srgs_{name}_seconds_bucket{_labels(labels + (('le', f'{bound:g}'),))} {running}")
            lines.append(f"srgs_{name}_seconds_bucket{_labels(labels + (('le', '+Inf'),))} {number}")
            lines.append(f"srgs_{name}_seconds_sum{_labels(labels)} {total:.6f}")
            lines.append(f"srgs_{name}_seconds_count{_labels(labels)} {number:g}")
        for name, amount in sorted((gauges or {}).items()):
            lines.append(f"# TYPE srgs_{name} gauge")
            lines.append(f"srgs_{name} {amount:g}")
        return "\n".join(lines) + "\n"


def _labels(labels: _Labels) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{key}="{_escape(value)}"' for key, value in labels)
    return "{" + inner + "}"


def _escape(value: str) -> str:
    """A label value as the exposition format writes it: backslash, quote and newline escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
