"""Recursion analysis runs once, in the loader; the compiler's view is a restriction of it."""

from __future__ import annotations

import pytest

from srgs.load.loader import load_bundle
from srgs.passes import recursion
from tests import w3c

LEGAL = [entry["file"] for entry in w3c.manifest() if not w3c.is_illegal(entry)]


@pytest.mark.parametrize("file", LEGAL)
def test_restriction_equals_a_fresh_analysis(file):
    bundle = load_bundle(str(w3c.TEST_DIR / file), options=w3c.fetch_options(), active=w3c.active_rules(file))
    roots = [(bundle.main, name) for name in bundle.active]
    fresh = recursion.analyse_rules(bundle, roots)
    restricted = bundle.analysis.restricted(roots)
    assert restricted.rules.keys() == fresh.rules.keys()
    assert restricted.references == fresh.references
    assert restricted.nullable == fresh.nullable
    assert {frozenset(c) for c in restricted.components} == {frozenset(c) for c in fresh.components}
    for a in fresh.rules:
        for b in fresh.rules:
            assert restricted.same_cycle(a, b) == fresh.same_cycle(a, b)


def test_the_loader_analyses_once(monkeypatch):
    calls = []
    original = recursion.analyse_rules
    monkeypatch.setattr(recursion, "analyse_rules", lambda *a, **k: calls.append(1) or original(*a, **k))
    bundle = load_bundle("builtin:examples/pizza")
    assert len(calls) == 1 and bundle.analysis is not None
