"""Hypothesis strategies for canonical grammar models (shared by the round-trip and FST tests)."""

from __future__ import annotations

from hypothesis import strategies as st

from srgs.model import Alternative, Grammar, Lexicon, Meta, Repeat, Rule, RuleRef, SpecialRef, Tag, Token, one_of, sequence

WORDS = ("yes", "no", "new", "york", "pizza", "a", "b", "c", "große", "été", "日本")
LANGS = (None, None, None, "fr-FR", "en-US")
RULE_NAMES = ("main", "r1", "r2", "r3")

words = st.sampled_from(WORDS)
tokens = st.builds(
    lambda parts, lang: Token(text=" ".join(parts), lang=lang),
    st.lists(words, min_size=1, max_size=2),
    st.sampled_from(LANGS),
)
tags = st.builds(lambda text: Tag(text=text), st.sampled_from(("out = 1;", "out.x = 'a';", "x}y", "{}", "literal")))
specials = st.builds(lambda name: SpecialRef(name=name), st.sampled_from(("NULL", "VOID", "GARBAGE")))
weights = st.one_of(st.none(), st.sampled_from((0.5, 1.0, 2.0, 10.0, 0.125)))


def expansions(rule_names: tuple[str, ...]) -> st.SearchStrategy:
    """Canonical expansions over a small vocabulary, with references to ``rule_names``."""
    refs = st.builds(lambda name: RuleRef(uri=f"#{name}"), st.sampled_from(rule_names))
    leaves = st.one_of(tokens, tokens, refs, specials, tags)

    def extend(children):
        seqs = st.builds(
            lambda items, lang: sequence(items, lang=lang),
            st.lists(children, min_size=0, max_size=3),
            st.sampled_from(LANGS),
        )
        alts = st.builds(
            lambda choices, lang: one_of(choices, lang=lang),
            st.lists(st.builds(lambda e, w: Alternative(expansion=e, weight=w), children, weights), min_size=1, max_size=3),
            st.sampled_from(LANGS),
        )
        repeats = st.builds(
            _repeat,
            children,
            st.integers(min_value=0, max_value=3),
            st.one_of(st.none(), st.integers(min_value=0, max_value=3)),
            st.one_of(st.none(), st.sampled_from((0.5, 0.25, 0.8))),
        )
        return st.one_of(seqs, alts, repeats)

    return st.recursive(leaves, extend, max_leaves=8)


def _repeat(expansion, low: int, extra: int | None, prob):
    high = None if extra is None else low + extra
    if high == 0:
        high, low = 1, 0
    return Repeat(expansion=expansion, min=low, max=high, prob=prob)


@st.composite
def grammars(draw) -> Grammar:
    """A whole canonical grammar: header declarations and 1-4 rules referring to each other."""
    count = draw(st.integers(min_value=1, max_value=len(RULE_NAMES)))
    names = RULE_NAMES[:count]
    rules = tuple(
        Rule(
            name=name,
            scope=draw(st.sampled_from(("public", "private"))),
            expansion=draw(expansions(names).filter(lambda e: not (hasattr(e, "items") and not e.items))),
            examples=tuple(draw(st.lists(st.sampled_from(("yes please", "new york")), max_size=2))),
        )
        for name in names
    )
    return Grammar(
        version="1.0",
        language=draw(st.sampled_from(("en-US", "fr-FR", "ja"))),
        mode="voice",
        root=draw(st.sampled_from(names)),
        tag_format=draw(st.sampled_from((None, "semantics/1.0", "semantics/1.0-literals"))),
        base=draw(st.sampled_from((None, "http://example.com/grammars/"))),
        lexicons=tuple(draw(st.lists(st.builds(lambda u, t: Lexicon(uri=u, media_type=t),
                                               st.sampled_from(("lex.pls", "http://example.com/l.pls")),
                                               st.sampled_from((None, "application/pls+xml"))), max_size=2))),
        metas=tuple(draw(st.lists(st.builds(lambda n, c, h: Meta(name=n, content=c, http_equiv=h),
                                            st.sampled_from(("author", "description", "Expires")),
                                            st.sampled_from(("someone", "it's \"quoted\"")), st.booleans()), max_size=2))),
        tags=tuple(draw(st.lists(tags, max_size=2))),
        rules=rules,
    )
