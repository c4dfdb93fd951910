"""Read an SRGS grammar in the ABNF form (SRGS 1.0 §4) into the grammar model.

``abnf.lark`` is the syntax; lark's LALR parser with the contextual lexer calls
``_ModelBuilder`` as it reduces (no intermediate parse tree), so every node is built once, with
its source position taken from the lexer token that starts it. Errors come out as
``GrammarSyntaxError`` with ``FILE:LINE:COL``; cross-rule checks (undefined rules, root, ...)
belong to the validation passes, not here.
"""

from __future__ import annotations

import codecs
import re
import threading
from functools import lru_cache
from pathlib import Path

from lark import Lark, Token as LarkToken, Transformer
from lark.lexer import Lexer, PatternStr
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken, VisitError

from .errors import GrammarSyntaxError, InputLimitError
from .limits import DEFAULT_LIMITS, Limits
from .model import (
    SPECIAL_NAMES, Alternative, Grammar, Lexicon, Meta, OneOf, Repeat, Rule, RuleRef, Sequence,
    SourceSpan, SpecialRef, Tag, Token, one_of, sequence,
)

_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_CHARSET = re.compile(rb"#ABNF[ \t]+[^ \t;\r\n]+[ \t]+([A-Za-z0-9._:\-]+)[ \t]*;")
_HEADER = re.compile(r"#ABNF(?:[ \t]+([^ \t;\r\n]+))?(?:[ \t]+([^ \t;\r\n]+))?[ \t]*(;?)[ \t]*")
_REPEAT = re.compile(r"<\s*(\d+)\s*(-\s*(\d*))?\s*(?:/\s*([^/\s]+)\s*/)?\s*>")
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_EXAMPLE = re.compile(r"^[\s*]*@example(?:\s(.*))?$")
_LANG_NODES = (Token, RuleRef, Repeat, Sequence, OneOf)
_STATE = threading.local()


class _ReadContext:
    """Everything one ``read_abnf`` call accumulates while lark drives the builder."""

    __slots__ = ("source", "limits", "open", "docs", "doc_index", "last_end", "header", "seen",
                 "lexicons", "metas", "tags")

    def __init__(self, source: str, limits: Limits):
        self.source = source
        self.limits = limits
        self.open: list[LarkToken] = []  # the ( and [ not yet closed
        self.docs: list[LarkToken] = []
        self.doc_index = 0
        self.last_end = 0
        self.header: dict[str, str] = {"mode": "voice"}
        self.seen: dict[str, SourceSpan] = {}
        self.lexicons: list[Lexicon] = []
        self.metas: list[Meta] = []
        self.tags: list[Tag] = []

    def span(self, token: LarkToken) -> SourceSpan:
        return SourceSpan(self.source, token.line, token.column)

    def error(self, message: str, token: LarkToken) -> GrammarSyntaxError:
        return GrammarSyntaxError(message, self.span(token))


def read_abnf(data: bytes | str, source: str, *, limits: Limits = DEFAULT_LIMITS) -> Grammar:
    """Parse an ABNF grammar document (SRGS §4); ``source`` names it in spans and ``Grammar.uri``."""
    _check_size(data, source, limits)
    text = _decode(data, source) if isinstance(data, bytes) else data.lstrip("\ufeff")
    if "\r" in text:  # one newline convention, as XML does, so tags and tokens compare equal
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    _check_self_identifying_header(text, source)
    ctx = _ReadContext(source, limits)
    _STATE.ctx = ctx
    try:
        return _parser().parse(text)
    except VisitError as error:  # only if lark wraps a builder error; ours are raised as is
        raise error.orig_exc from None
    except UnexpectedInput as error:
        message, line, column = _describe_unexpected(error, ctx, text)
        raise GrammarSyntaxError(message, SourceSpan(source, line, column)) from None
    finally:
        _STATE.ctx = None


# --- bytes to text (§4.1: BOM first, then the header's charset, UTF-8 by default) -------------


def _check_size(data: bytes | str, source: str, limits: Limits) -> None:
    size = len(data)
    if isinstance(data, str) and size * 4 > limits.max_grammar_bytes >= size:
        size = len(data.encode("utf-8", "surrogatepass"))
    if size > limits.max_grammar_bytes:
        raise InputLimitError(
            f"grammar is {size} bytes, over the limit of {limits.max_grammar_bytes}", SourceSpan(source, 0, 0))


def _decode(data: bytes, source: str) -> str:
    encoding, start, declared = "utf-8", 0, None
    for bom, name in _BOMS:
        if data.startswith(bom):
            encoding, start, declared = name, len(bom), "BOM"
            break
    else:
        if data.startswith(b"#\x00A\x00"):
            encoding = declared = "utf-16-le"
        elif data.startswith(b"\x00#\x00A"):
            encoding = declared = "utf-16-be"
        else:
            match = _CHARSET.match(data)
            if match:
                encoding = declared = match.group(1).decode("ascii")
                try:
                    codecs.lookup(encoding)
                except LookupError:
                    raise GrammarSyntaxError(f"unknown character encoding {encoding!r} in the ABNF header",
                                             SourceSpan(source, 1, match.start(1) + 1)) from None
    try:
        return data[start:].decode(encoding)
    except UnicodeDecodeError as error:
        if declared is None:  # no BOM, no charset: legacy grammars (W3C meta.gram) are Latin-1
            return data.decode("iso-8859-1")
        offset = start + error.start
        line = data.count(b"\n", 0, offset) + 1
        column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
        raise GrammarSyntaxError(f"bytes that are not valid {encoding}: {error.reason}",
                                 SourceSpan(source, line, column)) from None


def _check_self_identifying_header(text: str, source: str) -> None:
    """§4.1: ``#ABNF 1.0 [charset];`` comes first, alone on its line."""
    match = _HEADER.match(text)
    if match is None:
        raise GrammarSyntaxError("an ABNF grammar must start with the header '#ABNF 1.0;'",
                                 SourceSpan(source, 1, 1))
    version, _, semicolon = match.groups()
    if version is None:
        raise GrammarSyntaxError("the ABNF header has no version: write '#ABNF 1.0;'",
                                 SourceSpan(source, 1, match.end() + 1 if not semicolon else match.start(3) + 1))
    if version != "1.0":
        raise GrammarSyntaxError(f"unsupported ABNF version {version!r}: only 1.0 exists",
                                 SourceSpan(source, 1, match.start(1) + 1))
    if not semicolon:
        raise GrammarSyntaxError("expected ';' at the end of the ABNF header", SourceSpan(source, 1, match.end() + 1))
    if match.end() < len(text) and text[match.end()] != "\n":
        raise GrammarSyntaxError("the ABNF header '#ABNF 1.0;' must be followed by a new line",
                                 SourceSpan(source, 1, match.end() + 1))


# --- the parser ----------------------------------------------------------------------------------


class _ContextualLexer(Lexer):
    """lark's contextual lexing (only the terminals the LALR state accepts), in one regex per state.

    Same terminals as ``abnf.lark``, but white space and comments are skipped inside each state's
    pattern instead of one lexer round per ignored run, and doc comments, bracket depth and line
    numbers are handled here: about three times faster than lark's own contextual lexer.
    """

    __future_interface__ = 2
    _SKIP = r"(?:[^\S]+|//[^\n]*|/\*(?!\*[^/])[\s\S]*?\*/)*"

    def __init__(self, lexer_conf):
        self.terminals = {t.name: t for t in lexer_conf.terminals if t.name not in lexer_conf.ignore}
        self.terminals["DOC_COMMENT"] = next(t for t in lexer_conf.terminals if t.name == "DOC_COMMENT")
        self.skip = re.compile(self._SKIP)
        self.by_accepts: dict[frozenset, re.Pattern] = {}

    def _pattern(self, accepts: frozenset) -> re.Pattern:
        pattern = self.by_accepts.get(accepts)
        if pattern is None:
            names = [name for name in accepts if name in self.terminals] + ["DOC_COMMENT"]
            terms = sorted((self.terminals[name] for name in names),
                           key=lambda t: (-t.priority, -t.pattern.max_width, t.name))
            groups = []
            for term in terms:
                regexp = term.pattern.to_regexp()
                if isinstance(term.pattern, PatternStr) and regexp[-1:].isalpha():
                    regexp += r"(?![\w\-])"  # a keyword is a whole word: `metadata` is not `meta`
                groups.append(f"(?P<{term.name}>{regexp})")
            pattern = self.by_accepts[accepts] = re.compile(self._SKIP + "(?:" + "|".join(groups) + ")")
        return pattern

    def lex(self, lexer_state, parser_state):
        ctx = _STATE.ctx
        text = lexer_state.text.text
        end = len(text)
        states = parser_state.parse_conf.states
        pos = counted = line_start = 0
        line = 1
        cache: dict = {}
        while True:
            position = parser_state.position
            pattern = cache.get(position)
            if pattern is None:
                pattern = cache[position] = self._pattern(frozenset(states[position]))
            match = pattern.match(text, pos)
            if match is None:
                if self.skip.match(text, pos).end() == end:
                    return
                self._fail(text, self.skip.match(text, pos).end(), frozenset(states[position]), parser_state, ctx)
            kind = match.lastgroup
            start, pos = match.span(kind)
            newlines = text.count("\n", counted, start)
            if newlines:
                line += newlines
                line_start = text.rfind("\n", counted, start) + 1
            counted = start
            token = LarkToken(kind, match.group(kind), start, line, start - line_start + 1, None, None, pos)
            if kind == "DOC_COMMENT":
                ctx.docs.append(token)
                continue
            if kind in _OPENERS:
                _open(token, ctx)
            elif kind in _CLOSERS:
                ctx.open.pop()
            yield token

    def _fail(self, text, pos, accepts, parser_state, ctx):
        line = text.count("\n", 0, pos) + 1
        column = pos - (text.rfind("\n", 0, pos) + 1) + 1
        for name, term in self.terminals.items():  # a terminal of another state: UnexpectedToken
            match = re.compile(term.pattern.to_regexp()).match(text, pos)
            if match and name != "DOC_COMMENT":
                token = LarkToken(name, match.group(), pos, line, column, None, None, match.end())
                raise UnexpectedToken(token, {n for n in accepts if n.isupper()}, state=parser_state)
        raise UnexpectedCharacters(text, pos, line, column, allowed=accepts, state=parser_state)


_OPENERS = frozenset({"LPAR", "LSQB"})
_CLOSERS = frozenset({"RPAR", "RSQB"})


@lru_cache(maxsize=1)
def _parser() -> Lark:
    grammar = (Path(__file__).with_name("abnf.lark")).read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", lexer=_ContextualLexer, transformer=_ModelBuilder(),
                maybe_placeholders=True)


def _open(token: LarkToken, ctx: "_ReadContext") -> None:
    ctx.open.append(token)
    if len(ctx.open) > ctx.limits.max_nesting:
        raise InputLimitError(f"expansions nested deeper than {ctx.limits.max_nesting} levels", ctx.span(token))


# --- leaves: lexer tokens to model nodes (§2.2, §2.6) ----------------------------------------


def _bare_token(tok: LarkToken, ctx: _ReadContext) -> Token:
    text = tok.value
    if ctx.header["mode"] == "dtmf":  # SRGS App. E: `star` and `pound` name the keys * and #
        word = text.lower()
        if word == "star":
            text = "*"
        elif word == "pound":
            text = "#"
        elif "#" in text:
            raise ctx.error(f"'#' must be quoted in a DTMF grammar: write \"{text}\"", tok)
    return Token(text=text, span=ctx.span(tok))


def _quoted_token(tok: LarkToken, ctx: _ReadContext) -> Token:
    text = _unescape(tok.value[1:-1])
    text = " ".join(text.split())
    if not text:
        raise ctx.error("empty quoted token", tok)
    return Token(text=text, span=ctx.span(tok))


def _rule_ref(tok: LarkToken, ctx: _ReadContext):
    name = tok.value[1:]
    if name in SPECIAL_NAMES:
        return SpecialRef(name=name, span=ctx.span(tok))
    return RuleRef(uri="#" + name, span=ctx.span(tok))


def _external_ref(tok: LarkToken, ctx: _ReadContext, media_type: str | None = None) -> RuleRef:
    uri = tok.value[2:-1]
    if not uri:
        raise ctx.error("empty rule reference '$<>'", tok)
    return RuleRef(uri=uri, media_type=media_type, span=ctx.span(tok))


_LEAVES = {
    "BARE_TOKEN": _bare_token,
    "QUOTED_TOKEN": _quoted_token,
    "RULE_REF": _rule_ref,
    "EXTERNAL_REF": _external_ref,
    "TAG": lambda tok, ctx: Tag(text=tok.value[1:-1], span=ctx.span(tok)),
    "BLOCK_TAG": lambda tok, ctx: Tag(text=tok.value[3:-3], span=ctx.span(tok)),
}


def _unescape(text: str) -> str:
    return _ESCAPE.sub(r"\1", text) if "\\" in text else text


def _node(item, ctx: _ReadContext):
    """An expansion from whatever a grammar rule handed up: a lexer token, choices or a node."""
    kind = type(item)
    if kind is LarkToken:
        return _LEAVES[item.type](item, ctx)
    if kind is list:
        return one_of(item, span=item[0].span)
    if kind is Alternative:
        return OneOf(alternatives=(item,), span=item.span)
    return item


def _with_lang(node, lang: str):
    """§2.7 ``!lang`` on a token, rule reference, repeat or group; otherwise wrap the node."""
    if isinstance(node, _LANG_NODES) and node.lang is None:
        kind = type(node)
        if kind is Token:
            return Token(text=node.text, lang=lang, span=node.span)
        if kind is RuleRef:
            return RuleRef(uri=node.uri, media_type=node.media_type, lang=lang, span=node.span)
        if kind is Repeat:
            return Repeat(expansion=node.expansion, min=node.min, max=node.max, prob=node.prob,
                          lang=lang, span=node.span)
    return Sequence(items=(node,), lang=lang, span=node.span)


def _repeat(node, tok: LarkToken, ctx: _ReadContext) -> Repeat:
    """§2.5 ``<n>``, ``<n-m>``, ``<n->`` with an optional ``/prob/``."""
    low, dash, high, prob = _REPEAT.fullmatch(tok.value).groups()
    low = int(low)
    high = low if dash is None else (int(high) if high else None)
    if high is not None and high < low:
        raise ctx.error(f"repeat maximum {high} is below its minimum {low}", tok)
    return Repeat(expansion=node, min=low, max=high, prob=None if prob is None else float(prob), span=node.span)


def _apply_postfixes(node, postfixes, ctx: _ReadContext):
    if len(ctx.open) + len(postfixes) > ctx.limits.max_nesting:
        raise InputLimitError(f"expansions nested deeper than {ctx.limits.max_nesting} levels",
                              ctx.span(postfixes[-1]))
    for postfix in postfixes:
        node = _repeat(node, postfix, ctx) if postfix.type == "REPEAT" else _with_lang(node, postfix.value[1:])
    return node


def _examples(doc: str) -> list[str]:
    """Each ``@example`` line of a ``/** ... */`` comment, stripped (§4.12 documentation comments)."""
    found = []
    for line in doc[3:-2].split("\n"):
        match = _EXAMPLE.match(line)
        if match:
            found.append((match.group(1) or "").strip())
    return found


class _ModelBuilder(Transformer):
    """Callbacks lark runs at each reduction; the read's state lives in ``_STATE.ctx``."""

    # --- header (§4.2-§4.11) ---

    def _declare(self, key: str, value: str, token: LarkToken, what: str) -> None:
        ctx = _STATE.ctx
        if key in ctx.seen:
            first = ctx.seen[key]
            raise ctx.error(f"a second {what} declaration (the first is at line {first.line})", token)
        ctx.seen[key] = ctx.span(token)
        ctx.header[key] = value

    def language_decl(self, children):
        name, semi = children
        self._declare("language", name.value, name, "language")
        _STATE.ctx.last_end = semi.end_pos

    def mode_decl(self, children):
        mode, semi = children
        if mode.value not in ("voice", "dtmf"):
            raise _STATE.ctx.error(f"unknown mode {mode.value!r}: expected voice or dtmf", mode)
        self._declare("mode", mode.value, mode, "mode")
        _STATE.ctx.last_end = semi.end_pos

    def root_decl(self, children):
        ref, semi = children
        self._declare("root", ref.value[1:], ref, "root")
        _STATE.ctx.last_end = semi.end_pos

    def tag_format_decl(self, children):
        uri, semi = children
        self._declare("tag_format", uri.value[1:-1], uri, "tag-format")
        _STATE.ctx.last_end = semi.end_pos

    def base_decl(self, children):
        uri, semi = children
        self._declare("base", uri.value[1:-1], uri, "base")
        _STATE.ctx.last_end = semi.end_pos

    def lexicon_decl(self, children):
        uri, media_type, semi = children
        ctx = _STATE.ctx
        ctx.lexicons.append(Lexicon(uri=uri.value[1:-1], media_type=media_type and media_type.value[2:-1],
                                    span=ctx.span(uri)))
        ctx.last_end = semi.end_pos

    def meta_decl(self, children, http_equiv: bool = False):
        name, content, semi = children
        ctx = _STATE.ctx
        ctx.metas.append(Meta(name=_unescape(name.value[1:-1]), content=_unescape(content.value[1:-1]),
                              http_equiv=http_equiv, span=ctx.span(name)))
        ctx.last_end = semi.end_pos

    def http_equiv_decl(self, children):
        self.meta_decl(children, http_equiv=True)

    def header_tag_decl(self, children):
        tag, semi = children
        ctx = _STATE.ctx
        ctx.tags.append(_LEAVES[tag.type](tag, ctx))
        ctx.last_end = semi.end_pos

    # --- rules (§3) ---

    def rule_def(self, children):
        scope, name, body, semi = children
        ctx = _STATE.ctx
        start = (scope or name).start_pos
        examples: list[str] = []
        docs = ctx.docs
        while ctx.doc_index < len(docs) and docs[ctx.doc_index].start_pos < start:
            doc = docs[ctx.doc_index]
            if doc.start_pos >= ctx.last_end:
                examples.extend(_examples(doc.value))
            ctx.doc_index += 1
        ctx.last_end = semi.end_pos
        return Rule(name=name.value[1:], scope=scope.value if scope else "private", expansion=_node(body, ctx),
                    examples=tuple(examples), span=ctx.span(name))

    def start(self, children):
        ctx = _STATE.ctx
        header = ctx.header
        return Grammar(
            language=header.get("language"), mode=header["mode"], root=header.get("root"),
            tag_format=header.get("tag_format"), base=header.get("base"), lexicons=tuple(ctx.lexicons),
            metas=tuple(ctx.metas), tags=tuple(ctx.tags),
            rules=tuple(child for child in children if type(child) is Rule),
            uri=ctx.source, span=SourceSpan(ctx.source, 1, 1))

    # --- expansions (§2, precedence §2.8) ---

    def choice(self, children):
        ctx = _STATE.ctx
        alternatives = []
        for child in children:
            if type(child) is not Alternative:
                node = _node(child, ctx)
                child = Alternative(expansion=node, span=node.span)
            alternatives.append(child)
        return alternatives

    def weighted(self, children):
        weight, body = children
        ctx = _STATE.ctx
        return Alternative(expansion=_node(body, ctx), weight=float(weight.value.strip("/ \t\n")),
                           span=ctx.span(weight))

    def items(self, children):
        ctx = _STATE.ctx
        nodes = [_node(child, ctx) for child in children]
        return sequence(nodes, span=nodes[0].span)

    def postfixed(self, children):
        ctx = _STATE.ctx
        return _apply_postfixes(_node(children[0], ctx), children[1:], ctx)

    def typed_ref(self, children):
        ref, media_type = children
        return _external_ref(ref, _STATE.ctx, media_type.value[2:-1])

    def optional(self, children):
        bracket, body = children
        ctx = _STATE.ctx
        inner = Sequence(items=(), span=ctx.span(bracket)) if body is None else _node(body, ctx)
        return Repeat(expansion=inner, min=0, max=1, span=ctx.span(bracket))

    def group(self, children):
        paren, body = children
        ctx = _STATE.ctx
        return Sequence(items=(), span=ctx.span(paren)) if body is None else _node(body, ctx)

    def group_postfixed(self, children):
        paren, body, first, *rest = children
        ctx = _STATE.ctx
        if first.type == "REPEAT":
            return _apply_postfixes(self.group([paren, body]), children[2:], ctx)
        lang, span = first.value[1:], ctx.span(paren)
        if type(body) is list:  # `(a | b)!fr`: the one-of carries the language
            node = OneOf(alternatives=tuple(body), lang=lang, span=span)
        elif type(body) is Alternative:
            node = OneOf(alternatives=(body,), lang=lang, span=span)
        else:  # `(a b)!fr`, `(a)!fr`, `()!fr`: a sequence with a language
            node = sequence([] if body is None else [_node(body, ctx)], lang=lang, span=span)
        return _apply_postfixes(node, rest, ctx) if rest else node


# --- lark's parse errors as messages a grammar author can act on ---------------------------------

_NAMES = {
    "SEMI": "';'", "RPAR": "')'", "RSQB": "']'", "VBAR": "'|'", "EQUAL": "'='", "LPAR": "'('",
    "LSQB": "'['", "RULE_REF": "a rule name ($name)", "EXTERNAL_REF": "a rule reference $<uri>",
    "BARE_TOKEN": "a token", "QUOTED_TOKEN": "a quoted token", "TAG": "a tag", "BLOCK_TAG": "a tag",
    "WEIGHT": "a weight /w/", "REPEAT": "a repeat <m-n>", "LANG": "a language !lang", "STRING": "a quoted string",
    "URI": "a <uri>", "MEDIA_TYPE": "a media type ~<type>", "SCOPE": "public or private",
    "LANGUAGE_NAME": "a language tag", "MODE_NAME": "voice or dtmf", "$END": "the end of the grammar",
}
_EXPANSION_START = {"BARE_TOKEN", "QUOTED_TOKEN", "RULE_REF", "LPAR"}
_LONE_CHARS = {
    "}": "'}' outside a tag: a {...} tag cannot hold '}'; write such a tag as {!{ ... }!} (§2.6)",
    "{": "unterminated tag: '{' without its closing '}' (or '{!{' without '}!}')",
    '"': "unterminated quoted string",
    "'": "unterminated quoted string",
    "<": "malformed '<...>': expected a repeat <m>, <m-n>, <m-> (optionally with /prob/) or a <uri>",
    "$": "malformed rule reference: expected $name or $<uri>",
    "!": "malformed language attachment: expected !lang-tag",
    "/": "malformed weight: expected /number/ before an alternative",
    "~": "a media type ~<type> may only follow an external rule reference $<uri>",
}


def _describe_unexpected(error: UnexpectedInput, ctx: _ReadContext, text: str) -> tuple[str, int, int]:
    """(message, line, column) for a lark error, phrased for the grammar's author."""
    if isinstance(error, UnexpectedCharacters):
        char = error.char
        if char in "*+?":
            if ctx.header["mode"] == "dtmf" and char == "*":
                return "'*' must be quoted in a DTMF grammar: write \"*\" (§2.2.4)", error.line, error.column
            return (f"reserved symbol {char!r}: quote it (\"{char}\") to use it as a token; "
                    "write repeats as <m-n> (§2.5)", error.line, error.column)
        if char == "/" and text.startswith("/*", error.pos_in_stream):
            return "unterminated comment: '/*' without '*/'", error.line, error.column
        message = _LONE_CHARS.get(char, f"unexpected character {char!r}")
        return message, error.line, error.column
    assert isinstance(error, UnexpectedToken)
    token, expected = error.token, set(error.expected)
    state = getattr(error, "state", None)
    stack = getattr(state, "value_stack", None) or []
    previous = stack[-1] if stack else None
    previous_type = previous.type if isinstance(previous, LarkToken) else None
    found = "the end of the grammar" if token.type == "$END" else repr(token.value)
    line, column = token.line, token.column
    if token.type == "SEMI" and previous_type == "EQUAL":
        return "empty rule body: a rule needs an expansion (write $NULL for one that matches nothing)", line, column
    if previous_type == "VBAR" and token.type in ("SEMI", "VBAR", "RPAR", "RSQB", "$END"):
        return f"expected an expansion after '|', found {found}", line, column
    if ctx.open and token.type in ("SEMI", "RPAR", "RSQB", "$END"):
        opener = ctx.open[-1]
        closer = ")" if opener.type == "LPAR" else "]"
        return (f"expected '{closer}' to close the '{opener.value}' at line {opener.line}, "
                f"column {opener.column}; found {found}", line, column)
    if "SEMI" in expected and expected & _EXPANSION_START:
        if token.type == "EQUAL" and previous_type == "RULE_REF":
            return (f"expected ';' after rule definition (before {previous.value})",
                    previous.line, previous.column)
        if token.type in ("REPEAT", "LANG", "WEIGHT"):
            return f"{_NAMES[token.type]} cannot stand here: found {found}", line, column
        return f"expected ';' after rule definition, found {found}", line, column
    if expected == {"SEMI"}:
        return f"expected ';' after declaration, found {found}", line, column
    if "SCOPE" in expected:
        if "META" in expected and token.type != "$END":
            return f"unknown declaration {token.value!r}: expected a header keyword or a rule", line, column
        return f"expected a rule definition ('$name = expansion;'), found {found}", line, column
    wanted = sorted(_NAMES.get(name, name.lower()) for name in expected)
    return f"unexpected {found}: expected {', '.join(wanted)}", line, column
