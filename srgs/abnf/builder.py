"""The model-building callbacks lark runs as its LALR parser reduces ``abnf.lark`` (SRGS 1.0 §4).

No intermediate parse tree: each callback gets its rule's children (lexer tokens or nodes built
below) and returns the model node, so every node is built once. Header declarations (§4.2-§4.11)
accumulate in the read's ``ReadContext``; ``start`` assembles the ``Grammar``.
"""

from __future__ import annotations

import re
from typing import cast

from lark import Token as LarkToken
from lark import Transformer

from ..model import (
    Alternative,
    Expansion,
    Grammar,
    Lexicon,
    Meta,
    Mode,
    OneOf,
    Repeat,
    Rule,
    RuleRef,
    Scope,
    Sequence,
    SourceSpan,
    sequence,
)
from .context import STATE, ReadContext, end_of, start_of
from .nodes import (
    TAGS,
    Item,
    apply_postfixes,
    choice,
    external_ref,
    phrase,
    to_expansion,
    unescape,
    weight_value,
)

_EXAMPLE = re.compile(r"^[\s*]*@example(?:\s(.*))?$")

# The children lark hands a callback, by position, where they are not all of one type (abnf.lark;
# ``[x]`` is None when x is absent).
_LexiconDecl = tuple[LarkToken, LarkToken | None, LarkToken]  # "lexicon" URI [MEDIA_TYPE] SEMI
_RuleDef = tuple[LarkToken | None, LarkToken, Item, LarkToken]  # [SCOPE] RULE_REF "=" alternatives SEMI
_Weighted = tuple[LarkToken, Item]  # WEIGHT sequence
_Bracketed = tuple[LarkToken, Item | None]  # LSQB [alternatives] "]", LPAR [alternatives] ")"
_GroupPostfixed = tuple[LarkToken, Item | None, LarkToken, *tuple[LarkToken, ...]]  # LPAR [alternatives] ")" _postfix+


def _examples(doc: str) -> list[str]:
    """Each ``@example`` line of a ``/** ... */`` comment, white space normalised as the XML
    ``<example>`` is (§4.12 documentation comments)."""
    found = []
    for line in doc[3:-2].split("\n"):
        match = _EXAMPLE.match(line)
        if match:
            found.append(" ".join((match.group(1) or "").split()))
    return found


def grammar_of(ctx: ReadContext) -> Grammar:
    """The grammar the read's context has accumulated: header declarations and rules."""
    header = ctx.header
    mode: Mode = "dtmf" if header["mode"] == "dtmf" else "voice"  # mode_decl accepts no other
    return Grammar(
        language=header.get("language"), mode=mode, root=header.get("root"),
        tag_format=header.get("tag_format"), base=header.get("base"), lexicons=tuple(ctx.lexicons),
        metas=tuple(ctx.metas), tags=tuple(ctx.tags), rules=tuple(ctx.rules),
        uri=ctx.source, span=SourceSpan(ctx.source, 1, 1))


class ModelBuilder(Transformer[LarkToken, Grammar | None]):
    """Callbacks lark runs at each reduction; the read's state lives in ``STATE.ctx``."""

    # --- header (§4.2-§4.11) ---

    def _declare(self, key: str, value: str, token: LarkToken, what: str) -> None:
        ctx = STATE.ctx
        if key in ctx.seen:
            first = ctx.seen[key]
            raise ctx.error(f"a second {what} declaration (the first is at line {first.line})", token)
        ctx.seen[key] = ctx.span(token)
        ctx.header[key] = value

    def language_decl(self, children: list[LarkToken]) -> None:
        name, semi = children
        self._declare("language", name.value, name, "language")
        STATE.ctx.last_end = end_of(semi)

    def mode_decl(self, children: list[LarkToken]) -> None:
        mode, semi = children
        if mode.value not in ("voice", "dtmf"):
            raise STATE.ctx.error(f"unknown mode {mode.value!r}: expected voice or dtmf", mode)
        self._declare("mode", mode.value, mode, "mode")
        STATE.ctx.last_end = end_of(semi)

    def root_decl(self, children: list[LarkToken]) -> None:
        ref, semi = children
        self._declare("root", ref.value[1:], ref, "root")
        STATE.ctx.last_end = end_of(semi)

    def tag_format_decl(self, children: list[LarkToken]) -> None:
        uri, semi = children
        self._declare("tag_format", uri.value[1:-1], uri, "tag-format")
        STATE.ctx.last_end = end_of(semi)

    def base_decl(self, children: list[LarkToken]) -> None:
        uri, semi = children
        self._declare("base", uri.value[1:-1], uri, "base")
        STATE.ctx.last_end = end_of(semi)

    def lexicon_decl(self, children: list[LarkToken | None]) -> None:
        uri, media_type, semi = cast(_LexiconDecl, children)
        ctx = STATE.ctx
        ctx.lexicons.append(Lexicon(uri=uri.value[1:-1], media_type=media_type and media_type.value[2:-1],
                                    span=ctx.span(uri)))
        ctx.last_end = end_of(semi)

    def meta_decl(self, children: list[LarkToken], http_equiv: bool = False) -> None:
        name, content, semi = children
        ctx = STATE.ctx
        ctx.metas.append(Meta(name=unescape(name.value[1:-1]), content=unescape(content.value[1:-1]),
                              http_equiv=http_equiv, span=ctx.span(name)))
        ctx.last_end = end_of(semi)

    def http_equiv_decl(self, children: list[LarkToken]) -> None:
        self.meta_decl(children, http_equiv=True)

    def header_tag_decl(self, children: list[LarkToken]) -> None:
        tag, semi = children
        ctx = STATE.ctx
        ctx.tags.append(TAGS[tag.type](tag.value, ctx.span(tag), ctx))
        ctx.last_end = end_of(semi)

    # --- rules (§3) ---

    def rule_def(self, children: list[Item | None]) -> Rule:
        scope, name, body, semi = cast(_RuleDef, children)
        ctx = STATE.ctx
        start = start_of(scope or name)
        examples: list[str] = []
        docs = ctx.docs
        while ctx.doc_index < len(docs) and start_of(docs[ctx.doc_index]) < start:
            doc = docs[ctx.doc_index]
            if start_of(doc) >= ctx.last_end:
                examples.extend(_examples(doc.value))
            ctx.doc_index += 1
        scope_name: Scope = "public" if scope is not None and scope.value == "public" else "private"  # SCOPE: no other
        rule = Rule(name=name.value[1:], scope=scope_name, expansion=to_expansion(body, ctx),
                    examples=tuple(examples), span=ctx.span(name))
        ctx.last_end = end_of(semi)
        ctx.rules.append(rule)
        return rule

    def start(self, children: list[object]) -> Grammar:
        return grammar_of(STATE.ctx)

    def body(self, children: list[object]) -> None:
        """A piece read by the error recovery: its declarations and rules are in the context."""
        return None

    rules = body

    # --- expansions (§2, precedence §2.8) ---

    def choice(self, children: list[Item]) -> list[Alternative]:
        ctx = STATE.ctx
        alternatives: list[Alternative] = []
        for child in children:
            if type(child) is not Alternative:
                node = to_expansion(child, ctx)
                child = Alternative(expansion=node, span=node.span)
            alternatives.append(child)
        return alternatives

    def weighted(self, children: list[Item]) -> Alternative:
        weight, body = cast(_Weighted, children)
        ctx = STATE.ctx
        return Alternative(expansion=to_expansion(body, ctx), weight=weight_value(weight.value),
                           span=ctx.span(weight))

    def items(self, children: list[Item]) -> Expansion:
        ctx = STATE.ctx
        nodes = [to_expansion(child, ctx) for child in children]
        return sequence(nodes, span=nodes[0].span)

    def phrase_run(self, children: list[LarkToken]) -> Expansion:
        run, = children
        ctx = STATE.ctx
        return phrase(run.value, ctx.span(run), ctx)

    def choice_run(self, children: list[LarkToken]) -> list[Alternative]:
        run, = children
        ctx = STATE.ctx
        return choice(run.value, ctx.span(run), ctx)

    def postfixed(self, children: list[Item]) -> Expansion:
        ctx = STATE.ctx  # atom _postfix+
        return apply_postfixes(to_expansion(children[0], ctx), cast("list[LarkToken]", children[1:]), ctx)

    def typed_ref(self, children: list[LarkToken]) -> RuleRef:
        ref, media_type = children
        ctx = STATE.ctx
        return external_ref(ref.value, ctx.span(ref), ctx, media_type.value[2:-1])

    def optional(self, children: list[Item | None]) -> Repeat:
        bracket, body = cast(_Bracketed, children)
        ctx = STATE.ctx
        inner = Sequence(items=(), span=ctx.span(bracket)) if body is None else to_expansion(body, ctx)
        return Repeat(expansion=inner, min=0, max=1, span=ctx.span(bracket))

    def group(self, children: list[Item | None]) -> Expansion:
        paren, body = cast(_Bracketed, children)
        ctx = STATE.ctx
        return Sequence(items=(), span=ctx.span(paren)) if body is None else to_expansion(body, ctx)

    def group_postfixed(self, children: list[Item | None]) -> Expansion:
        paren, body, first, *rest = cast(_GroupPostfixed, children)
        ctx = STATE.ctx
        if first.type == "REPEAT":
            return apply_postfixes(self.group([paren, body]), [first, *rest], ctx)
        lang, span = first.value[1:], ctx.span(paren)
        node: Expansion
        if type(body) is list:  # `(a | b)!fr`: the one-of carries the language
            node = OneOf(alternatives=tuple(body), lang=lang, span=span)
        elif type(body) is Alternative:
            node = OneOf(alternatives=(body,), lang=lang, span=span)
        else:  # `(a b)!fr`, `(a)!fr`, `()!fr`: a sequence with a language
            node = sequence([] if body is None else [to_expansion(body, ctx)], lang=lang, span=span)
        return apply_postfixes(node, rest, ctx) if rest else node
