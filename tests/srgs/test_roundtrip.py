"""Issue 2: serialise both ways, ``parse(serialise(g)) == g``, for generated grammars and for
every W3C grammar, and across forms (XML -> model -> ABNF -> model)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from srgs.abnf.reader import read_abnf
from srgs.abnf.writer import write_abnf
from srgs.errors import SrgsError
from srgs.load.loader import parse_grammar
from srgs.xml.reader import read_xml
from srgs.xml.writer import write_xml
from tests import w3c
from tests.srgs.strategies import grammars

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(grammars())
def test_xml_round_trip_of_generated_grammars(grammar):
    assert read_xml(write_xml(grammar).encode("utf-8"), "gen.grxml") == grammar


@SETTINGS
@given(grammars())
def test_abnf_round_trip_of_generated_grammars(grammar):
    assert read_abnf(write_abnf(grammar), "gen.gram") == grammar


@SETTINGS
@given(grammars())
def test_cross_form_round_trip_of_generated_grammars(grammar):
    via_abnf = read_abnf(write_abnf(read_xml(write_xml(grammar).encode("utf-8"), "a.grxml")), "b.gram")
    assert via_abnf == grammar


def _readable_w3c_files():
    names = []
    for path in sorted(w3c.TEST_DIR.rglob("*.gr*")) + sorted(w3c.TEST_DIR.rglob("*.gram")):
        try:
            parse_grammar(path.read_bytes(), str(path))
        except SrgsError:
            continue
        names.append(path)
    return sorted(set(names))


W3C_FILES = _readable_w3c_files()


def test_most_of_the_corpus_is_readable():
    assert len(W3C_FILES) >= 225


@pytest.mark.parametrize("path", W3C_FILES, ids=lambda p: str(p.relative_to(w3c.TEST_DIR)))
def test_w3c_grammar_round_trips_through_both_forms(path):
    grammar = parse_grammar(path.read_bytes(), str(path))
    assert read_xml(write_xml(grammar).encode("utf-8"), "x.grxml") == grammar
    assert read_abnf(write_abnf(grammar), "x.gram") == grammar
