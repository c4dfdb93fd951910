"""The SRGS XML form (``application/srgs+xml``, SRGS 1.0 §2-§4) read into the grammar model.

lxml parses with a hardened parser: no DTD loading, no network, no entity expansion, no huge
trees. A document whose internal DTD subset declares an entity is refused before parsing, so an
entity bomb or an external entity costs one string search. lxml reports only the line where a
start tag *ends*, so ``xml_source.SourceLocator`` walks the decoded text alongside the tree, in document
order, to give every element and every plain-text token its line and column.

Foreign-namespace elements and attributes are ignored (SRGS §4; W3C conformance-5); unknown or
misplaced elements of the grammar namespace are errors. Cross-rule checks (undefined references,
duplicate ids, the root rule, recursion) belong to the validator, not here.

``read_xml`` raises the first problem it meets. Given a ``problems`` list, it records every
attribute, element and value problem instead, goes on reading, and returns the model it could
build (``None`` when the document itself is unusable: malformed XML, a wrong root element, a
limit), so that one run reports them all; lxml stops at the first well-formedness error.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable, Sequence
from typing import ParamSpec, TypeVar, cast

from lxml import etree
from lxml.etree import _Element

from ..errors import GrammarSyntaxError, InputLimitError, SrgsError
from ..limits import DEFAULT_LIMITS, Limits, SourceKind, check_size
from ..model import (
    Alternative,
    Expansion,
    Grammar,
    Lexicon,
    Meta,
    Mode,
    Repeat,
    Rule,
    RuleRef,
    Scope,
    SourceSpan,
    SpecialRef,
    Tag,
    Token,
    is_special_name,
    one_of,
    sequence,
)
from ..text import DTMF_KEY_WORDS
from .source import SourceLocator, decode_document, refuse_entity_declarations

GRAMMAR_NS = "http://www.w3.org/2001/06/grammar"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
_NS = "{" + GRAMMAR_NS + "}"
_WS = " \t\r\n"  # XML white space (XML 1.0 §2.3 S); Unicode spaces such as U+3000 are text
_WS_RUN = re.compile(r"[ \t\r\n]+")
_REPEAT = re.compile(r"(\d+)(?:(-)(\d*))?")
_DECIMAL = re.compile(r"\d+\.?\d*|\.\d+")  # SRGS §2.4.1 / §2.5.1: "n", "n.", ".n", "n.n"
_P = ParamSpec("_P")
_T = TypeVar("_T")
# reads one expansion element: (element, its span, its nesting depth) -> the expansion, None if in error
ExpansionReader = Callable[[_Element, SourceSpan, int], Expansion | None]
_HEADER_ELEMENTS = frozenset({"lexicon", "meta", "metadata", "tag"})
_Attributes = Sequence[tuple[str, str]]  # an element's (name, value) pairs
_NO_ATTRIBUTES: frozenset[str] = frozenset()
_NO_SPAN = SourceSpan("", 0, 0)
_LANG_ONLY = frozenset({XML_LANG})
_ITEM_ATTRIBUTES = frozenset({"repeat", "repeat-prob", "weight", XML_LANG})
_GRAMMAR_ATTRIBUTES = frozenset({"version", "mode", "root", "tag-format", XML_LANG, XML_BASE})


def read_xml(
    data: bytes,
    source: str,
    *,
    limits: Limits = DEFAULT_LIMITS,
    kind: SourceKind = "inline",
    problems: list[SrgsError] | None = None,
) -> Grammar | None:
    """Read one SRGS XML document; ``source`` names it in spans and becomes ``Grammar.uri``.

    ``kind`` says where the bytes came from ("file", "http" or "inline"): its size limit applies.
    Without ``problems``, the first problem is raised; with it, see the module docstring.
    """
    if problems is None:
        return _read(data, source, limits, kind, None)
    try:
        return _read(data, source, limits, kind, problems)
    except SrgsError as error:
        problems.append(error)
        return None


def _read(data: bytes, source: str, limits: Limits, kind: SourceKind, problems: list[SrgsError] | None) -> Grammar:
    check_size(len(data), kind, limits, "grammar", SourceSpan(source, 0, 0))
    text = decode_document(data)
    refuse_entity_declarations(text, source)
    try:
        parser = etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False,
                                 remove_comments=True, remove_pis=True)
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        line, column = error.position
        span = SourceSpan(source, line or 1, max(column, 1))
        message = (error.msg or "malformed XML").split(", line ")[0]
        if "Excessive depth" in message or "entity" in message and "loop" in message:
            raise InputLimitError(message, span) from None
        raise GrammarSyntaxError(f"malformed XML: {message}", span) from None
    dtd = root.getroottree().docinfo.internalDTD
    # lxml-stubs leave DTD.iterentities out (lxml has it since 2.0)
    if dtd is not None and next(iter(dtd.iterentities()), None) is not None:  # type: ignore[union-attr]
        raise InputLimitError("entity declarations are not allowed", SourceSpan(source, 1, 1))
    return _GrammarReader(SourceLocator(text, source), limits, problems).grammar(root)


def split_tokens(text: str, span: SourceSpan) -> list[str]:
    """Plain-text tokens (§2.2.1): white-space separated; a double-quoted run is one token.

    Quoted tokens come back with a leading '"' (white space inside normalised) so that the
    caller can tell them from bare words.
    """
    if '"' not in text:
        if text.isascii():
            return text.split()
        stripped = text.strip(_WS)
        return _WS_RUN.split(stripped) if stripped else []
    parts = text.split('"')
    if len(parts) % 2 == 0:
        raise GrammarSyntaxError("unterminated quoted token", span)
    tokens: list[str] = []
    for index, part in enumerate(parts):
        if index % 2 == 0:
            tokens.extend(split_tokens(part, span))
            continue
        token = normalize_space(part)
        if not token:
            raise GrammarSyntaxError("empty quoted token", span)
        tokens.append('"' + token)
    return tokens


def normalize_space(text: str) -> str:
    """XML white-space runs collapsed to one space, ends stripped."""
    if text.isascii():
        return " ".join(text.split())
    return _WS_RUN.sub(" ", text.strip(_WS))


class _GrammarReader:
    """Builds the model from one parsed document (SRGS §4 header, §3 rules, §2 expansions).

    Every problem goes through ``_report``: raised at once, or recorded in ``problems`` while the
    reader goes on with what it has (an element in error is still walked, so that the locator
    stays in step and the problems inside it are found too).
    """

    def __init__(self, locator: SourceLocator, limits: Limits, problems: list[SrgsError] | None = None):
        self.locator = locator
        self.limits = limits
        self.problems = problems
        self.dtmf = False
        self.expansion_readers: dict[str, ExpansionReader] = {
            _NS + "item": lambda el, span, depth: self._item(el, span, depth + 1)[0],
            _NS + "one-of": self._one_of,
            _NS + "ruleref": self._ruleref,
            _NS + "token": self._token,
            _NS + "tag": lambda el, span, depth: self._tag(el, span),
        }

    def _report(self, error: SrgsError) -> None:
        """Raise ``error``, or record it and let the caller carry on."""
        if self.problems is None:
            raise error
        self.problems.append(error)

    def _span(self, element: _Element, name: str) -> SourceSpan:
        prefix = element.prefix
        return self.locator.element(f"<{prefix}:{name}" if prefix else "<" + name, element)

    def _skip_descendants(self, element: _Element, after: _Element | None = None) -> None:
        """Moves the locator past the start tags of ``element``'s descendants (after ``after``)."""
        walking = after is None
        for descendant in element.iterdescendants():
            if walking:
                self._span(descendant, _local(descendant))
            walking = walking or descendant is after

    def _attributes(self, element: _Element, allowed: frozenset[str], span: SourceSpan) -> dict[str, str]:
        """The element's SRGS attributes; an unknown one in no namespace is an error."""
        found: dict[str, str] = {}
        # lxml-stubs say str | bytes; a parsed document's names and values are str
        for name, value in cast(_Attributes, element.items()):
            if name in allowed:
                found[name] = value
            elif name[0] != "{":
                self._report(GrammarSyntaxError(f"<{_local(element)}> has no attribute {name!r}", span))
        return found

    def _text_only(self, element: _Element, span: SourceSpan) -> None:
        self._attributes(element, _NO_ATTRIBUTES, span)
        if len(element):
            first = element[0]
            self._report(GrammarSyntaxError(f"<{_local(element)}> holds text only", self._span(first, _local(first))))
            self._skip_descendants(element, after=first)

    def _no_text(self, text: str | None, where: str) -> None:
        if text and not text.isspace() and text.strip(_WS):
            word = text.strip(_WS)
            span = self.locator.token_spans([word.split()[0]])[0]
            self._report(GrammarSyntaxError(f"text {normalize_space(word)[:40]!r} is not allowed {where}", span))

    # --- the grammar header (§4) ------------------------------------------------------------

    def grammar(self, root: _Element) -> Grammar:
        span = self._span(root, _local(root))
        if root.tag != _NS + "grammar":
            if _local(root) != "grammar":
                raise GrammarSyntaxError(f"the root element must be <grammar>, not <{_local(root)}>", span)
            found = etree.QName(root).namespace or "none"
            raise GrammarSyntaxError(f"<grammar> must be in the namespace {GRAMMAR_NS} (found {found})", span)
        attrs = self._attributes(root, _GRAMMAR_ATTRIBUTES, span)
        version = attrs.get("version")
        if version != "1.0":
            problem = "needs a version attribute" if version is None else f'has version "{version}", not "1.0"'
            self._report(GrammarSyntaxError(f"<grammar> {problem}", span))
            version = "1.0"
        mode_text = attrs.get("mode", "voice")
        if mode_text not in ("voice", "dtmf"):
            self._report(GrammarSyntaxError(f'bad mode "{mode_text}" (expected "voice" or "dtmf")', span))
        mode: Mode = "dtmf" if mode_text == "dtmf" else "voice"
        self.dtmf = mode == "dtmf"
        lexicons: list[Lexicon] = []
        metas: list[Meta] = []
        metadata: list[str] = []
        tags: list[Tag] = []
        rules: list[Rule] = []
        self._no_text(root.text, "in <grammar>")
        for child in root:
            tag = child.tag
            if tag.startswith(_NS):
                name = tag[len(_NS) :]
                child_span = self._span(child, name)
                if name == "rule":
                    rule = self._rule(child, child_span)
                    if rule is not None:
                        rules.append(rule)
                elif name not in _HEADER_ELEMENTS:
                    self._report(GrammarSyntaxError(f"<{name}> is not allowed in <grammar>", child_span))
                    self._skip_descendants(child)
                else:
                    if rules:
                        self._report(GrammarSyntaxError(f"<{name}> must come before the first <rule>", child_span))
                    declared = self._header_element(name, child, child_span)
                    if declared is None or rules:
                        pass
                    elif isinstance(declared, Lexicon):
                        lexicons.append(declared)
                    elif isinstance(declared, Meta):
                        metas.append(declared)
                    elif isinstance(declared, Tag):
                        tags.append(declared)
                    else:
                        metadata.append(declared)
            self._no_text(child.tail, "in <grammar>")
        return Grammar(
            version=version,
            language=attrs.get(XML_LANG),
            mode=mode,
            root=attrs.get("root"),
            tag_format=attrs.get("tag-format"),
            base=attrs.get(XML_BASE),
            lexicons=tuple(lexicons),
            metas=tuple(metas),
            tags=tuple(tags),
            rules=tuple(rules),
            metadata="".join(metadata) if metadata else None,
            uri=self.locator.source,
            span=span,
        )

    def _header_element(self, name: str, element: _Element, span: SourceSpan) -> Lexicon | Meta | str | Tag | None:
        """``<lexicon>`` (§4.10), ``<meta>`` (§4.11.1), ``<metadata>`` (§4.11.2), ``<tag>`` (§4.13)."""
        if name == "tag":
            return self._tag(element, span)
        if name == "metadata":
            self._attributes(element, _NO_ATTRIBUTES, span)
            return _inner_xml(element)
        if name == "lexicon":
            found = self._attributes(element, frozenset({"uri", "type"}), span)
            if not found.get("uri"):
                self._report(GrammarSyntaxError("<lexicon> needs a uri attribute", span))
                return None
            return Lexicon(uri=found["uri"], media_type=found.get("type"), span=span)
        found = self._attributes(element, frozenset({"name", "http-equiv", "content"}), span)
        if ("name" in found) == ("http-equiv" in found):
            self._report(GrammarSyntaxError("<meta> needs exactly one of name and http-equiv", span))
            return None
        if "content" not in found:
            self._report(GrammarSyntaxError("<meta> needs a content attribute", span))
            return None
        http_equiv = "http-equiv" in found
        return Meta(name=found["http-equiv" if http_equiv else "name"], content=found["content"], http_equiv=http_equiv,
                    span=span)

    # --- rules (§3) -------------------------------------------------------------------------

    def _rule(self, element: _Element, span: SourceSpan) -> Rule | None:
        """``<rule id scope>``: ``<example>``s first (§3.3), then the rule expansion."""
        found = self._attributes(element, frozenset({"id", "scope"}), span)
        name = found.get("id")
        if not name:
            self._report(GrammarSyntaxError("<rule> needs an id attribute", span))
        scope_text = found.get("scope", "private")
        if scope_text not in ("public", "private"):
            self._report(GrammarSyntaxError(f'bad scope "{scope_text}" (expected "public" or "private")', span))
        scope: Scope = "public" if scope_text == "public" else "private"
        examples: list[str] = []
        items: list[Expansion] = []
        has_content = self._words(element.text, items)
        for child in element:
            if child.tag == _NS + "example":
                example_span = self._span(child, "example")
                if has_content:
                    self._report(GrammarSyntaxError("<example> must come before the rule's expansion", example_span))
                self._text_only(child, example_span)
                examples.append(normalize_space(child.text or ""))
            else:
                has_content = self._child(child, 0, items) or has_content
            has_content = self._words(child.tail, items) or has_content
        if not has_content:
            self._report(GrammarSyntaxError(f'empty rule "{name}"', span))
        if not name:
            return None
        return Rule(name=name, scope=scope, expansion=sequence(items, span=span), examples=tuple(examples), span=span)

    # --- expansions (§2) --------------------------------------------------------------------

    def _words(self, text: str | None, into: list[Expansion]) -> bool:
        """Plain-text tokens (§2.2.1) appended to ``into``; whether there were any."""
        if not text or text.isspace() and text.isascii():
            return False
        try:
            tokens = split_tokens(text, _NO_SPAN)
        except GrammarSyntaxError as error:  # positioned at the text (after any end tag before it)
            first = text.split(None, 1)[0] if text.strip() else ""
            span = self.locator.token_spans([first])[0] if first else self.locator.span_at(self.locator.pos)
            self._report(GrammarSyntaxError(error.message, span))
            return True
        dtmf = self.dtmf
        for token, span in zip(tokens, self.locator.token_spans(tokens), strict=True):
            if token[0] == '"':
                into.append(Token(text=token[1:], span=span))
            else:
                into.append(Token(text=DTMF_KEY_WORDS.get(token, token) if dtmf else token, span=span))
        return bool(tokens)

    def _child(self, element: _Element, depth: int, into: list[Expansion]) -> bool:
        """Appends one child element's expansion; False for a foreign element (ignored)."""
        tag = element.tag
        reader = self.expansion_readers.get(tag)
        if reader is None:
            if not tag.startswith(_NS):
                return False
            name = tag[len(_NS) :]
            self._report(GrammarSyntaxError(f"<{name}> is not allowed here", self._span(element, name)))
            self._skip_descendants(element)
            return True
        node = reader(element, self._span(element, tag[len(_NS) :]), depth)
        if node is not None:
            into.append(node)
        return True

    def _item(self, element: _Element, span: SourceSpan, depth: int) -> tuple[Expansion, float | None]:
        """``<item>`` (§2.3) with its repeat (§2.5) and its weight (§2.4.1, used by one-of)."""
        if depth > self.limits.max_nesting:
            raise InputLimitError(f"nesting deeper than {self.limits.max_nesting}", span)
        found = self._attributes(element, _ITEM_ATTRIBUTES, span) if element.items() else {}
        items: list[Expansion] = []
        self._words(element.text, items)
        for child in element:
            self._child(child, depth, items)
            self._words(child.tail, items)
        weight = self._value(_number, found["weight"], "weight", span, positive=True) if "weight" in found else None
        lang = found.get(XML_LANG)
        bounds = self._value(_repeat_bounds, found["repeat"], span) if "repeat" in found else None
        if bounds is None:
            if "repeat-prob" in found and "repeat" not in found:
                self._report(GrammarSyntaxError("repeat-prob needs a repeat attribute", span))
            return sequence(items, lang=lang, span=span), weight
        low, high = bounds
        prob = (self._value(_number, found["repeat-prob"], "repeat-prob", span, at_most_one=True)
                if "repeat-prob" in found else None)
        return Repeat(expansion=sequence(items, span=span), min=low, max=high, prob=prob, lang=lang, span=span), weight

    def _value(self, parse: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T | None:
        """``parse(*args, **kwargs)``, or None when it reports a problem."""
        try:
            return parse(*args, **kwargs)
        except GrammarSyntaxError as error:
            self._report(error)
            return None

    def _one_of(self, element: _Element, span: SourceSpan, depth: int) -> Expansion | None:
        """``<one-of>`` (§2.4): ``<item>`` children only, each an alternative with its weight."""
        depth += 1
        if depth > self.limits.max_nesting:
            raise InputLimitError(f"nesting deeper than {self.limits.max_nesting}", span)
        found = self._attributes(element, _LANG_ONLY, span) if element.items() else {}
        self._no_text(element.text, "in <one-of> outside an <item>")
        alternatives: list[Alternative] = []
        for child in element:
            tag = child.tag
            if tag == _NS + "item":
                child_span = self._span(child, "item")
                expansion, weight = self._item(child, child_span, depth + 1)
                alternatives.append(Alternative(expansion=expansion, weight=weight, span=child_span))
            elif tag.startswith(_NS):
                name = tag[len(_NS) :]
                self._report(GrammarSyntaxError(f"<one-of> holds <item>s only, not <{name}>", self._span(child, name)))
                self._skip_descendants(child)
            self._no_text(child.tail, "in <one-of> outside an <item>")
        if not alternatives:
            self._report(GrammarSyntaxError("<one-of> needs at least one <item>", span))
            return None
        return one_of(alternatives, lang=found.get(XML_LANG), span=span)

    def _ruleref(self, element: _Element, span: SourceSpan, depth: int) -> Expansion | None:
        """``<ruleref uri type xml:lang>`` (§2.2) or ``<ruleref special>`` (§2.2.3)."""
        found = self._attributes(element, frozenset({"uri", "special", "type", XML_LANG}), span)
        if len(element) or element.text and element.text.strip(_WS):
            self._report(GrammarSyntaxError("<ruleref> must be empty", span))
            self._skip_descendants(element)
        if ("uri" in found) == ("special" in found):
            self._report(GrammarSyntaxError("<ruleref> needs exactly one of uri and special", span))
            return None
        if "special" in found:
            special = found["special"]
            if not is_special_name(special):
                self._report(GrammarSyntaxError(f'bad special rule "{special}" (expected NULL, VOID or GARBAGE)', span))
                return None
            if len(found) > 1:
                self._report(GrammarSyntaxError("a special <ruleref> takes no type or xml:lang", span))
            return SpecialRef(name=special, span=span)
        if not found["uri"]:
            self._report(GrammarSyntaxError("<ruleref> has an empty uri", span))
            return None
        return RuleRef(uri=found["uri"], media_type=found.get("type"), lang=found.get(XML_LANG), span=span)

    def _token(self, element: _Element, span: SourceSpan, depth: int) -> Token | None:
        """``<token xml:lang>`` (§2.2.1): one token, white space normalised, quotes literal."""
        found = self._attributes(element, _LANG_ONLY, span) if element.items() else {}
        if len(element):
            self._report(GrammarSyntaxError("<token> holds text only", span))
            self._skip_descendants(element)
            return None
        text = normalize_space(element.text or "")
        if not text:
            self._report(GrammarSyntaxError("empty <token>", span))
            return None
        return Token(text=text, lang=found.get(XML_LANG), span=span)

    def _tag(self, element: _Element, span: SourceSpan) -> Tag:
        """``<tag>`` (§2.6): its text exactly as written (CDATA included)."""
        self._text_only(element, span)
        return Tag(text=element.text or "", span=span)


def _local(element: _Element) -> str:
    return etree.QName(element).localname


def _repeat_bounds(value: str, span: SourceSpan) -> tuple[int, int | None]:
    """``repeat="n"``, ``"n-m"`` or ``"n-"`` (§2.5)."""
    match = _REPEAT.fullmatch(value.strip(_WS))
    if match is None:
        raise GrammarSyntaxError(f'bad repeat "{value}" (expected n, n-m or n-)', span)
    low = int(match.group(1))
    if not match.group(2):
        return low, low
    if not match.group(3):
        return low, None
    high = int(match.group(3))
    if high < low:
        raise GrammarSyntaxError(f'bad repeat "{value}": the maximum is below the minimum', span)
    return low, high


def _number(value: str, what: str, span: SourceSpan, *, positive: bool = False, at_most_one: bool = False) -> float:
    """A weight (§2.4.1, positive) or a repeat probability (§2.5.1, in [0, 1])."""
    text = value.strip(_WS)
    number = float(text) if _DECIMAL.fullmatch(text) else math.nan
    if not math.isfinite(number):
        raise GrammarSyntaxError(f'bad {what} "{value}" (expected a decimal number such as 0.5)', span)
    if positive and number <= 0:
        raise GrammarSyntaxError(f'{what} "{value}" must be a positive number', span)
    if at_most_one and number > 1:
        raise GrammarSyntaxError(f'{what} "{value}" is outside [0, 1]', span)
    return number


def _inner_xml(element: _Element) -> str:
    """The content of ``<metadata>`` as self-contained XML: each child declares what it uses."""
    text = (element.text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text + "".join(etree.tostring(copy.deepcopy(child), encoding="unicode", with_tail=True) for child in element)
