"""Building a grammar model creates a large tree of fresh, acyclic objects; Python's cyclic
garbage collector, triggered again and again by those allocations, finds nothing to free and
costs a third of the read. Readers pause it for the duration of one read."""

from __future__ import annotations

import gc
from contextlib import contextmanager


@contextmanager
def collector_paused():
    """Disable the cyclic collector inside the block; re-enable it only if it was on."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
