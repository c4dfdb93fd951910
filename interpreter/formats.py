"""Result formats, one writer each, shared by the command line and the server: JSON, NLSML,
EMMA and the W3C parse notation.

* JSON: the RECOGNITION_RESULT body of the CPqD ASR WebSocket protocol 2.3.
* NLSML: RFC 6787 §6.3.1 (``urn:ietf:params:xml:ns:mrcpv2``), instance per SISR 1.0 §7.
* EMMA 1.0 (W3C Recommendation 2009): ``emma:one-of`` of ``emma:interpretation``; a NO_MATCH is
  an interpretation with ``emma:uninterpreted="true"`` (EMMA §4.2.3; ``emma:no-input`` is for
  silence, not for input that matched nothing).
* Tree: ``$main[$action["open"],$object["the","door"]]`` (the W3C SRGS implementation report);
  ``NO_MATCH`` / ``FAILURE`` when there is no parse to show.

A FAILURE (the words matched, a tag failed) is neither a match nor a NO_MATCH in any format:
JSON has ``result_status: FAILURE`` and ``error``; NLSML follows MRCPv2 completion cause 014
``semantics-failure`` (RFC 6787 §9.4.11: the result holds the input text and no instance), with
the cause and reason in comments; EMMA has an interpretation with the tokens and no value, the
failure in its ``emma:info``. The input mode is the result's: DTMF is NLSML ``mode="dtmf"``,
EMMA ``emma:mode="dtmf"`` ``emma:medium="tactile"``.

SISR §7 XML serialisation of a value: an object property becomes a child element, ``_value``
the element's text and ``_attributes`` its attributes; an array becomes ``<item>`` elements;
scalars become text. Every writer stays valid for hostile values (markup characters, control
characters, lone surrogates, property names that are not XML names).
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # lxml is imported by the XML writers only: JSON output starts faster
    from lxml import etree

from .results import RecognitionResult
from .tree import ParseGarbage, ParseNode, ParseRule, ParseTag, ParseToken

MRCP_NS = "urn:ietf:params:xml:ns:mrcpv2"
EMMA_NS = "http://www.w3.org/2003/04/emma"


# --- JSON ---------------------------------------------------------------------------------


def to_json_dict(result: RecognitionResult) -> dict[str, object]:
    """The RECOGNITION_RESULT JSON body (``alternatives`` is empty on NO_MATCH)."""
    alternatives = [] if result.status != "RECOGNIZED" else [
        {
            "text": alt.text,
            "score": alt.score,
            "lm": alt.lm,
            "interpretations": [i.value for i in alt.interpretations],
            "interpretation_scores": [i.score for i in alt.interpretations],
        }
        for alt in result.alternatives
    ]
    body: dict[str, object] = {
        "alternatives": alternatives,
        "segment_index": 0,
        "last_segment": True,
        "final_result": True,
        "result_status": result.status,
    }
    if result.error is not None:
        body["error"] = {"code": "SEMANTICS_FAILURE", "message": result.error}
    return body


# Kept as escapes in UTF-8 JSON: lone surrogates (not encodable in UTF-8) and the two Unicode
# line separators (so that a JSON document stays one line for line-oriented readers).
_JSON_ESCAPED = re.compile("[\ud800-\udfff\u2028\u2029]")


def json_line(value: object) -> str:
    """Compact one-line JSON, non-ASCII kept as characters (UTF-8 when written), never invalid."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return _JSON_ESCAPED.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def to_json(result: RecognitionResult) -> str:
    """``to_json_dict`` as one line of JSON (``json_line``)."""
    return json_line(to_json_dict(result))


# --- XML helpers --------------------------------------------------------------------------

_BAD_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
@cache
def _name_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """The XML NameStartChar and NameChar classes (compiled on first use: they are large)."""
    start = re.compile(r"[A-Za-z_\u00c0-\u02ff\u0370-\u037d\u037f-\u1fff\u200c-\u200d"
                       r"\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd]")
    char = re.compile(r"[-.0-9A-Za-z_\u00b7\u00c0-\u02ff\u0300-\u037d\u037f-\u1fff"
                      r"\u200c-\u200d\u203f-\u2040\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff"
                      r"\uf900-\ufdcf\ufdf0-\ufffd]")
    return start, char


def xml_text(value: object) -> str:
    """A scalar as XML character data: characters XML 1.0 forbids become U+FFFD."""
    if value is None:
        return ""
    if value is True or value is False:
        text = "true" if value else "false"
    elif isinstance(value, (dict, list)):
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = str(value)
    return _BAD_XML_CHARS.sub("\ufffd", text)


def xml_name(key: str) -> str:
    """A property name as an XML element name (no colon); invalid characters become ``_``."""
    name_start, name_char = _name_patterns()
    chars = [c if name_char.fullmatch(c) else "_" for c in str(key)]
    name = "".join(chars) or "_"
    if not name_start.fullmatch(name[0]) or name[:3].lower() == "xml":
        name = "_" + name
    return name


def append_value(parent: etree._Element, value: object) -> None:
    """Serialise a semantic value into ``parent`` (SISR §7)."""
    from lxml import etree

    if isinstance(value, dict):
        for key, item in value.items():
            if key == "_value":
                parent.text = (parent.text or "") + xml_text(item)
            elif key == "_attributes" and isinstance(item, dict):
                for name, attr in item.items():
                    parent.set(xml_name(name), xml_text(attr))
            else:
                append_value(etree.SubElement(parent, xml_name(key)), item)
    elif isinstance(value, list):
        for item in value:
            append_value(etree.SubElement(parent, "item"), item)
    else:
        parent.text = (parent.text or "") + xml_text(value)


def _confidence(score: int) -> str:
    return f"{max(0, min(100, score)) / 100:.2f}"


def _document(root: etree._Element) -> str:
    from lxml import etree

    return '<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(root, encoding="unicode")


def one_line(document: str) -> str:
    """An NLSML or EMMA document on one line (line breaks in text become character references),
    for writing one document per line."""
    declaration, _, body = document.partition("\n")
    return declaration + body.replace("\r", "&#13;").replace("\n", "&#10;")


# --- failures -------------------------------------------------------------------------------

SRGS_NS = "urn:srgs-engine:result"  # the namespace of the failure element in EMMA's emma:info


def _failed_input(result: RecognitionResult, input_text: str | None) -> tuple[str, str | None]:
    """The words and grammar of a FAILURE: from its alternatives, else the text given."""
    if result.alternatives:
        return result.alternatives[0].text, result.alternatives[0].lm
    return " ".join((input_text or "").split()), None


def _comment(text: str) -> etree._Element:
    """An XML comment holding ``text`` (``--`` cannot appear in a comment: it becomes ``- -``)."""
    from lxml import etree

    safe = xml_text(text)
    while "--" in safe:
        safe = safe.replace("--", "- -")
    return etree.Comment(" " + safe + " ")


# --- NLSML ----------------------------------------------------------------------------------


def _nlsml_mode(result: RecognitionResult) -> str:
    return "dtmf" if result.mode == "dtmf" else "speech"


def to_nlsml(result: RecognitionResult, *, input_text: str | None = None) -> str:
    """RFC 6787 NLSML: one ``<interpretation>`` per interpretation, or a ``<nomatch/>``; a
    FAILURE is MRCP's semantics-failure (``input_text``: the text, when the result has none)."""
    from lxml import etree

    ns = f"{{{MRCP_NS}}}"
    # lxml-stubs type nsmap keys as str; lxml takes None for the default namespace
    root = etree.Element(ns + "result", nsmap={None: MRCP_NS})  # type: ignore[dict-item]
    mode = _nlsml_mode(result)
    if result.status == "FAILURE":
        text, lm = _failed_input(result, input_text)
        root.append(_comment("Completion-Cause: 014 semantics-failure"))
        root.append(_comment("Completion-Reason: " + (result.error or "semantic interpretation failed")))
        interp = etree.SubElement(root, ns + "interpretation")
        if lm is not None:
            root.set("grammar", xml_text(lm))
            interp.set("grammar", xml_text(lm))
        etree.SubElement(interp, ns + "input", mode=mode).text = xml_text(text)
        return _document(root)
    entries = [(alt, i) for alt in result.alternatives for i in alt.interpretations]
    if result.status == "NO_MATCH" or not entries:
        interp = etree.SubElement(root, ns + "interpretation")
        etree.SubElement(interp, ns + "instance")
        etree.SubElement(etree.SubElement(interp, ns + "input", mode=mode), ns + "nomatch")
        return _document(root)
    root.set("grammar", xml_text(entries[0][0].lm))
    for alt, interpretation in entries:
        interp = etree.SubElement(root, ns + "interpretation", grammar=xml_text(alt.lm),
                                  confidence=_confidence(interpretation.score))
        append_value(etree.SubElement(interp, ns + "instance"), interpretation.value)
        etree.SubElement(interp, ns + "input", mode=mode).text = xml_text(alt.text)
    return _document(root)


# --- EMMA -----------------------------------------------------------------------------------


def to_emma(result: RecognitionResult, *, mode: str | None = None, medium: str | None = None,
            input_text: str | None = None) -> str:
    """EMMA 1.0: ``emma:one-of`` of interpretations, grammars declared by ``emma:grammar``.

    ``mode``/``medium`` default to the result's input mode (voice/acoustic, dtmf/tactile); a
    FAILURE is an interpretation of the tokens with no value and the failure in ``emma:info``
    (``input_text``: the text, when the result has none)."""
    from lxml import etree

    emma = f"{{{EMMA_NS}}}"
    mode = mode or ("dtmf" if result.mode == "dtmf" else "voice")
    medium = medium or ("tactile" if mode == "dtmf" else "acoustic")
    root = etree.Element(emma + "emma", nsmap={"emma": EMMA_NS}, version="1.0")
    grammar_ids: dict[str, str] = {}
    for alt in result.alternatives:
        if alt.lm not in grammar_ids:
            grammar_ids[alt.lm] = f"grammar{len(grammar_ids) + 1}"
            etree.SubElement(root, emma + "grammar", id=grammar_ids[alt.lm], ref=xml_text(alt.lm))
    if result.status == "FAILURE":
        text, lm = _failed_input(result, input_text)
        interp = etree.SubElement(root, emma + "interpretation", id="interpretation1")
        if text:
            interp.set(emma + "tokens", xml_text(text))
        interp.set(emma + "medium", medium)
        interp.set(emma + "mode", mode)
        if lm in grammar_ids:
            interp.set(emma + "grammar-ref", grammar_ids[lm])
        info = etree.SubElement(interp, emma + "info")
        failure = etree.SubElement(info, f"{{{SRGS_NS}}}failure", nsmap={"srgs": SRGS_NS},
                                   status="FAILURE", cause="semantics-failure")
        failure.text = xml_text(result.error or "semantic interpretation failed")
        return _document(root)
    entries = [(alt, i) for alt in result.alternatives for i in alt.interpretations]
    if result.status == "NO_MATCH" or not entries:
        interp = etree.SubElement(root, emma + "interpretation", id="interpretation1")
        interp.set(emma + "uninterpreted", "true")
        interp.set(emma + "medium", medium)
        interp.set(emma + "mode", mode)
        return _document(root)
    one_of = etree.SubElement(root, emma + "one-of", id="one-of1")
    one_of.set(emma + "medium", medium)
    one_of.set(emma + "mode", mode)
    for n, (alt, interpretation) in enumerate(entries, 1):
        interp = etree.SubElement(one_of, emma + "interpretation", id=f"interpretation{n}")
        interp.set(emma + "confidence", _confidence(interpretation.score))
        interp.set(emma + "tokens", xml_text(alt.text))
        interp.set(emma + "medium", medium)
        interp.set(emma + "mode", mode)
        interp.set(emma + "grammar-ref", grammar_ids[alt.lm])
        append_value(interp, interpretation.value)
    return _document(root)


# --- W3C parse notation ---------------------------------------------------------------------


def tree_notation(tree: ParseRule) -> str:
    """``$rule[child,...]``: tokens double-quoted as written, tags ``{!{text}!}``, no garbage."""
    parts: list[str] = []
    stack: list[str | ParseNode] = [tree]  # nodes, and the brackets and commas between them
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            parts.append(node)
        elif isinstance(node, ParseRule):
            parts.append(node.label + "[")
            stack.append("]")
            shown = [c for c in node.children if not isinstance(c, ParseGarbage)]
            for i, child in enumerate(reversed(shown)):
                stack.append(child)
                if i < len(shown) - 1:
                    stack.append(",")
        elif isinstance(node, ParseToken):
            parts.append(json.dumps(node.text, ensure_ascii=False))
        elif isinstance(node, ParseTag):
            parts.append("{!{" + node.text + "}!}")
    return "".join(parts)


def to_tree(result: RecognitionResult) -> str:
    """One notation line per interpretation, best score first (stable for equal scores);
    ``NO_MATCH`` or ``FAILURE`` when there is none."""
    if result.status == "FAILURE":
        return "FAILURE"
    entries = [i for alt in result.alternatives for i in alt.interpretations]
    if result.status == "NO_MATCH" or not entries:
        return "NO_MATCH"
    entries.sort(key=lambda i: -i.score)
    return "\n".join(tree_notation(i.tree) for i in entries)
