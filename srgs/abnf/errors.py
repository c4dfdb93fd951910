"""lark's parse errors as messages a grammar author can act on (SRGS 1.0 §4 ABNF form).

lark reports an unexpected character or an unexpected token with the set of terminals the parser
state accepts; ``describe_unexpected`` turns that into one sentence at the position to fix,
using what the reader knows (the open brackets, the mode, the token before).
"""

from __future__ import annotations

from lark import Token as LarkToken
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from .context import ReadContext

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


def describe_unexpected(error: UnexpectedInput, ctx: ReadContext, text: str) -> tuple[str, int, int]:
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
    token, expected = error.token, set(error.expected) - {"PHRASE", "CHOICE"}  # the fast lexer's own tokens
    state = getattr(error, "state", None)
    stack = getattr(state, "value_stack", None) or []
    previous = stack[-1] if stack and isinstance(stack[-1], LarkToken) else None  # a node: not a token
    previous_type = previous.type if previous is not None else None
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
        if token.type == "EQUAL" and previous is not None and previous_type == "RULE_REF":
            where = ctx.span(previous)
            return f"expected ';' after rule definition (before {previous.value})", where.line, where.column
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
