"""Fixtures of the decoder tests: a grammar store, a pocketsphinx model and a CTC model (one per
test module; each session has its own decoder or search and every utterance starts afresh, so
results do not depend on what was decoded before) and a folder for synthesised speech."""

from __future__ import annotations

from pathlib import Path

import pytest

from decoder.ctc_backend import CtcModel
from decoder.pocketsphinx_backend import PocketsphinxModel
from interpreter.store import GrammarStore

pytest.register_assert_rewrite("tests.decoder.checks")  # its asserts explain themselves as a test's do


@pytest.fixture(scope="module")
def store() -> GrammarStore:
    return GrammarStore()


@pytest.fixture(scope="module")
def model() -> PocketsphinxModel:
    return PocketsphinxModel()


@pytest.fixture(scope="module")
def ctc() -> CtcModel:
    return CtcModel()


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("speech")
