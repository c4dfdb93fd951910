"""CtcModel.shared: free-speech models (seconds and 100+ MB to build) are built once per process,
even when sessions ask at the same moment, and grammar graphs never evict them."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from decoder import ctc_backend
from decoder.ctc_backend import CtcModel


def _model() -> CtcModel:
    units = ["a", "b", "<wb>", "<blank>"]
    return CtcModel(emissions=lambda samples: np.zeros((1, len(units)), dtype=np.float32), units=units)


def test_concurrent_askers_wait_for_one_build():
    model = _model()
    builds: list[int] = []

    def build() -> object:
        builds.append(1)
        time.sleep(0.2)  # long enough that every thread asks while it runs
        return object()

    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(model.shared("lm", build))) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(builds) == 1
    assert len(got) == 6 and all(value is got[0] for value in got)


def test_a_failed_build_is_not_kept_and_the_next_call_builds_again():
    model = _model()

    def fail() -> object:
        raise RuntimeError("no model")

    with pytest.raises(RuntimeError):
        model.shared("lm", fail)
    value = object()
    assert model.shared("lm", lambda: value) is value
    assert model.shared("lm", fail) is value  # kept now: not rebuilt


def test_grammar_graphs_do_not_evict_shared_models_and_shared_models_are_bounded(monkeypatch):
    model = _model()
    first = model.shared("general", object)
    for index in range(ctc_backend.GRAPH_CACHE_SIZE + 5):
        model.keep_graph(("grammar", index), object())  # type: ignore[arg-type]  # any graph stand-in
    assert model.shared("general", object) is first
    for index in range(ctc_backend.SHARED_CACHE_SIZE):
        model.shared(("user", index), object)
    assert model.shared("general", object) is not first  # least recently used: dropped
