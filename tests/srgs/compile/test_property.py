"""The compiled FST accepts exactly what a direct reading of the model accepts (SRGS §2)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from interpreter.parse import parse_words
from srgs.compile import compile_bundle
from srgs.model import Alternative, OneOf, Repeat, Sequence, SpecialRef, Tag, Token

from .models import single

VOCAB = ("a", "b", "c")


def expansions(depth: int = 3):
    leaves = st.one_of(
        st.sampled_from(VOCAB).map(lambda w: Token(text=w)),
        st.just(Token(text="a b")),
        st.just(Tag(text="t")),
        st.sampled_from(("NULL", "VOID")).map(lambda n: SpecialRef(name=n)),
    )
    if depth == 0:
        return leaves
    inner = expansions(depth - 1)
    return st.one_of(
        leaves,
        st.lists(inner, min_size=0, max_size=3).map(lambda items: Sequence(items=tuple(items))),
        st.lists(st.tuples(inner, st.sampled_from((None, 0.0, 2.0))), min_size=1, max_size=3).map(
            lambda alts: OneOf(alternatives=tuple(Alternative(expansion=e, weight=w) for e, w in alts))),
        st.tuples(inner, st.integers(0, 2), st.one_of(st.none(), st.integers(0, 3)),
                  st.sampled_from((None, 0.3))).filter(lambda t: t[2] is None or t[2] >= t[1]).map(
            lambda t: Repeat(expansion=t[0], min=t[1], max=t[2], prob=t[3])),
    )


def ends(node, words: tuple[str, ...], start: int) -> set[int]:
    """Every position where a match of ``node`` starting at ``start`` can end."""
    if isinstance(node, Token):
        toks = tuple(node.text.split())
        return {start + len(toks)} if words[start:start + len(toks)] == toks else set()
    if isinstance(node, Tag):
        return {start}
    if isinstance(node, SpecialRef):
        return set() if node.name == "VOID" else {start}
    if isinstance(node, Sequence):
        positions = {start}
        for item in node.items:
            positions = {end for p in positions for end in ends(item, words, p)}
        return positions
    if isinstance(node, OneOf):
        return {end for alt in node.alternatives for end in ends(alt.expansion, words, start)}
    if isinstance(node, Repeat):
        reached = {start} if node.min == 0 else set()
        frontier = {start}
        count = 0
        limit = node.max if node.max is not None else node.min + len(words) + 1
        while frontier and count < limit:
            count += 1
            frontier = {end for p in frontier for end in ends(node.expansion, words, p)}
            if count >= node.min:
                reached |= frontier
            if node.max is None and count > node.min + len(words) + 1:
                break
        return reached
    raise TypeError(node)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expansions(), st.lists(st.lists(st.sampled_from(VOCAB), max_size=4), min_size=1, max_size=6))
def test_fst_accepts_what_the_model_accepts(expansion, sentences):
    compiled = compile_bundle(single(expansion))
    for sentence in [[]] + sentences:
        words = tuple(sentence)
        expected = len(words) in ends(expansion, words, 0)
        parses = parse_words(compiled, list(words), nbest=2)
        assert bool(parses) == expected, (expansion, words)
        for parse in parses:
            assert parse.tree.words == words
