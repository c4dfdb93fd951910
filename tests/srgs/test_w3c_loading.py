"""Issue 2 bar: every W3C grammar the suite treats as legal loads (with everything it
references); every one it treats as illegal is refused with a positioned message."""

from __future__ import annotations

import re

import pytest

from srgs.errors import SrgsError
from srgs.load.loader import load_bundle
from tests import w3c

POSITIONED = re.compile(r"^[^\s:][^:]*:\d+:\d+: error: \S")

ENTRIES = w3c.entries_with_cases()
LEGAL = [e["file"] for e in ENTRIES if not w3c.is_illegal(e)]
ILLEGAL = [e["file"] for e in ENTRIES if w3c.is_illegal(e)]
HELPERS = [e["file"] for e in w3c.manifest() if not e["cases"]]


def _load(name: str):
    return load_bundle(str(w3c.TEST_DIR / name), options=w3c.fetch_options(), active=w3c.active_rules(name))


@pytest.mark.parametrize("name", LEGAL + HELPERS)
def test_legal_grammar_loads(name):
    bundle = _load(name)
    assert bundle.main_grammar.rules
    assert all(bundle.main_grammar.rule(rule) for rule in bundle.active)


@pytest.mark.parametrize("name", ILLEGAL)
def test_illegal_grammar_is_refused_with_a_positioned_message(name):
    with pytest.raises(SrgsError) as info:
        _load(name)
    lines = info.value.diagnostics()
    assert lines
    assert all(POSITIONED.match(line) for line in lines), lines


def test_the_corpus_split_is_the_one_expected():
    # 246 files: 12 helpers without cases, 39 illegal, the rest legal.
    assert len(w3c.manifest()) == 246
    assert len(HELPERS) == 12
    assert len(ILLEGAL) == 39
    assert len(LEGAL) == 246 - 12 - 39
