"""The ABNF lexer (SRGS 1.0 §4): lark's contextual lexing, one regular expression per parser state.

Same terminals as ``abnf.lark``, but white space and comments are skipped inside each state's
pattern instead of one lexer round per ignored run, and doc comments, bracket depth and line
numbers are handled here: about three times faster than lark's own contextual lexer.

In the fast mode (``ReadContext.phrases``) a run of plain expansions (bare and quoted tokens,
``$rule`` references, tags and ``[...]`` optionals of those) is one ``PHRASE`` token wherever the
parser accepts a unit, and a whole choice of such runs (``/w/ a b | c [d]``) one ``CHOICE``
token; ``abnf_nodes`` splits them again. Fewer tokens is what makes the LALR loop cheap. A
phrase never ends in a unit that a repeat or language postfix follows (§2.8 binds those to the
last unit only), so either token stands for the same parse as its tokens read one by one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NoReturn

from lark import Token as LarkToken
from lark.common import LexerConf
from lark.exceptions import UnexpectedCharacters, UnexpectedToken
from lark.lexer import Lexer, LexerState, PatternStr, TerminalDef
from lark.parsers.lalr_parser_state import ParserState

from ..errors import GrammarSyntaxError
from .context import STATE, ReadContext

# white space and comments, but not a /** doc comment */ (those are tokens, for @example); atomic,
# so that a comment always ends at its first */ (no backtracking to a later one)
SKIP = r"(?>(?:\s+|//[^\n]*|/\*(?!\*[^/])[\s\S]*?\*/)*)"
SKIP_ALL = r"(?>(?:\s+|//[^\n]*|/\*[\s\S]*?\*/)*)"  # doc comments too: what a postfix may follow
PHRASE_PARTS = ("BARE_TOKEN", "QUOTED_TOKEN", "RULE_REF", "TAG", "BLOCK_TAG")
_OPENERS = frozenset({"LPAR", "LSQB"})
_CLOSERS = frozenset({"RPAR", "RSQB"})
_RUNS = frozenset({"PHRASE", "CHOICE"})


def fast_regexps(terminals: dict[str, TerminalDef]) -> dict[str, str]:
    """``PHRASE``: a run of plain units with no postfix after the last one; ``CHOICE``: two or
    more such runs, each with an optional weight, separated by ``|``, that make up a whole
    ``alternatives``. Atomic groups keep each part exactly the token the one-by-one lexer reads."""
    atom = "(?>" + "|".join(terminals[name].pattern.to_regexp() for name in PHRASE_PARTS) + ")"
    optional = rf"\[{SKIP}{atom}(?:{SKIP}{atom})*{SKIP}\]"
    unit = f"(?:{atom}|{optional})"
    alternative = f"(?:{terminals['WEIGHT'].pattern.to_regexp()}{SKIP})?{unit}(?:{SKIP}{unit})*+"
    return {
        "CHOICE": rf"{alternative}(?:{SKIP}\|{SKIP}{alternative})+(?={SKIP}[;)\]])",
        "PHRASE": f"{unit}(?:{SKIP}{unit})*(?!{SKIP_ALL}[<!])",
    }


class ContextualLexer(Lexer):
    """Tokens for lark's LALR parser, matched only among the terminals its state accepts."""

    __future_interface__ = 2

    def __init__(self, lexer_conf: LexerConf) -> None:
        self.terminals = {t.name: t for t in lexer_conf.terminals if t.name not in lexer_conf.ignore}
        self.terminals["DOC_COMMENT"] = next(t for t in lexer_conf.terminals if t.name == "DOC_COMMENT")
        self.skip = re.compile(SKIP)
        self.fast = fast_regexps(self.terminals)
        self.by_accepts: dict[tuple[frozenset[str], bool], re.Pattern[str]] = {}

    def _pattern(self, accepts: frozenset[str], phrases: bool) -> re.Pattern[str]:
        pattern = self.by_accepts.get((accepts, phrases))
        if pattern is None:
            names = [name for name in accepts if name in self.terminals] + ["DOC_COMMENT"]
            terms = sorted((self.terminals[name] for name in names),
                           key=lambda t: (-t.priority, -t.pattern.max_width, t.name))
            groups = [f"(?P<{name}>{regexp})" for name, regexp in self.fast.items() if phrases and name in accepts]
            for term in terms:
                regexp = term.pattern.to_regexp()
                if isinstance(term.pattern, PatternStr) and regexp[-1:].isalpha():
                    regexp += r"(?![\w\-])"  # a keyword is a whole word: `metadata` is not `meta`
                groups.append(f"(?P<{term.name}>{regexp})")
            pattern = re.compile(SKIP + "(?:" + "|".join(groups) + ")")
            self.by_accepts[accepts, phrases] = pattern
        return pattern

    def lex(self, lexer_state: LexerState, parser_state: ParserState[int]) -> Iterator[LarkToken]:
        ctx = STATE.ctx
        text: str = lexer_state.text.text
        end = len(text) if ctx.stop is None else ctx.stop
        states = parser_state.parse_conf.states
        phrases = ctx.phrases
        semis = ctx.semis
        pos, line, line_start = ctx.begin
        counted = pos
        cache: dict[int, re.Pattern[str]] = {}
        while True:
            position = parser_state.position
            pattern = cache.get(position)
            if pattern is None:
                pattern = cache[position] = self._pattern(frozenset(states[position]), phrases)
            match = pattern.match(text, pos, end)
            if match is None:
                skipped = self.skip.match(text, pos, end)
                assert skipped is not None  # SKIP matches the empty string too
                failed = skipped.end()
                if failed == end:
                    return
                newlines = text.count("\n", counted, failed)
                if newlines:
                    line += newlines
                    line_start = text.rfind("\n", counted, failed) + 1
                self._fail(text, failed, end, line, failed - line_start + 1, frozenset(states[position]), parser_state)
            kind = match.lastgroup
            assert kind is not None  # every alternative of the pattern is a named group
            start, pos = match.span(kind)
            newlines = text.count("\n", counted, start)
            if newlines:
                line += newlines
                line_start = text.rfind("\n", counted, start) + 1
            counted = start
            token = LarkToken(kind, match.group(kind), start, line, start - line_start + 1, None, None, pos)
            if kind in _RUNS:
                yield from self._run(token, ctx)
                continue
            if kind in _OPENERS:
                ctx.open.append(token)
                ctx.check_nesting(len(ctx.open), ctx.span(token))
            elif kind in _CLOSERS:
                if not ctx.open:
                    opener = "(" if kind == "RPAR" else "["
                    raise GrammarSyntaxError(f"unmatched {token.value!r}: no {opener!r} is open", ctx.span(token))
                ctx.open.pop()
            elif kind == "DOC_COMMENT":
                ctx.docs.append(token)
                continue
            elif kind == "SEMI" and semis is not None and not ctx.open:
                semis.append(pos)
            yield token

    @staticmethod
    def _run(token: LarkToken, ctx: ReadContext) -> Iterator[LarkToken]:
        """A fast-mode run, with the nesting depth the one-by-one tokens would have: its ``[``
        counts while the parser reduces with the run as lookahead (``apply_postfixes``)."""
        if "[" in token:  # conservatively: a '[' in a quoted token or tag counts too
            ctx.check_nesting(len(ctx.open) + 1, ctx.span(token))
        if token[0] != "[":
            yield token
            return
        ctx.open.append(token)
        yield token
        ctx.open.pop()

    def _fail(self, text: str, pos: int, end: int, line: int, column: int, accepts: frozenset[str],
              parser_state: ParserState[int]) -> NoReturn:
        for name, term in self.terminals.items():  # a terminal of another state: UnexpectedToken
            match = re.compile(term.pattern.to_regexp()).match(text, pos, end)
            if match and name != "DOC_COMMENT":
                token = LarkToken(name, match.group(), pos, line, column, None, None, match.end())
                raise UnexpectedToken(token, {n for n in accepts if n.isupper()}, state=parser_state)
        raise UnexpectedCharacters(text, pos, line, column, allowed=accepts, state=parser_state)
