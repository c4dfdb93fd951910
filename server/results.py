"""RECOGNITION_RESULT bodies (ASR WebSocket API 2.3), in JSON and XML, from a decoder
``Recognition`` or an interpreter ``RecognitionResult``.

JSON (``application/json``, the default; one line)::

    {"alternatives":[{"text":..,"score":93,"lm":"session:pizza","interpretations":[..],
      "interpretation_scores":[93],"words":[{"text":..,"score":95,"start_time":0.41,"end_time":0.62}]}],
     "segment_index":0,"last_segment":true,"final_result":true,"start_time":0.35,"end_time":1.9,
     "result_status":"RECOGNIZED"}

XML (``Accept: application/xml``): the same fields under ``<recognition_result>``, lists as
``alternatives/alternative``, ``interpretations/interpretation`` (each value serialised as SISR
1.0 §7 says), ``interpretation_scores/score`` and ``words/word``; one line.

No body line may hold the substring ``ASR`` (one client takes such a line for a start line): JSON
writes it ``\\u0041SR`` and XML ``&#65;SR`` (both read back as ``ASR``); an XML element name
(a property of a semantic value) is written ``_x0041_SR`` (the XML name-encoding convention).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from decoder.base import WordTime
from interpreter.formats import append_value, json_line, xml_name, xml_text
from interpreter.results import RecognitionResult

from .protocol import MAGIC

JSON_TYPE = "application/json"
XML_TYPE = "application/xml"


@dataclass(frozen=True, slots=True, kw_only=True)
class ResultBody:
    """What one RECOGNITION_RESULT says, before it is written in a format."""

    status: str  # the Result-Status: PROCESSING, RECOGNIZED, NO_MATCH, NO_INPUT_TIMEOUT, ...
    result: RecognitionResult | None = None  # None: nothing recognised (alternatives [])
    words: tuple[WordTime, ...] = ()  # the best path's words, times from the segment's first sample
    word_details: int = 0  # 0 none, 1 the first alternative, 2 every alternative
    segment_index: int = 0
    last_segment: bool = True
    final: bool = True
    start_time: float | None = None  # seconds from the start of the recognition's audio
    end_time: float | None = None
    time_offset: float = 0.0  # added to the words' times (where the decoder's audio began)
    text: str | None = None  # INTERPRET_TEXT: every alternative's text is the text given


def result_dict(body: ResultBody) -> dict[str, object]:
    """The RECOGNITION_RESULT as a JSON-able dict (field order as the reference shows)."""
    alternatives: list[dict[str, object]] = []
    result = body.result
    if result is not None and result.status == "RECOGNIZED":
        for index, alternative in enumerate(result.alternatives):
            entry: dict[str, object] = {
                "text": body.text if body.text is not None else alternative.text,
                "score": alternative.score,
                "lm": alternative.lm,
                "interpretations": [i.value for i in alternative.interpretations],
                "interpretation_scores": [i.score for i in alternative.interpretations],
            }
            if body.word_details >= 2 or (body.word_details == 1 and index == 0):
                entry["words"] = _words(alternative.text, body.words, body.time_offset, alternative.score)
            alternatives.append(entry)
    out: dict[str, object] = {
        "alternatives": alternatives,
        "segment_index": body.segment_index,
        "last_segment": body.last_segment,
        "final_result": body.final,
    }
    if body.start_time is not None:
        out["start_time"] = round(body.start_time, 3)
    if body.end_time is not None:
        out["end_time"] = round(body.end_time, 3)
    out["result_status"] = body.status
    if result is not None and result.status == "FAILURE" and result.error is not None:
        out["error"] = {"code": "SEMANTICS_FAILURE", "message": result.error}
    return out


def _words(text: str, words: Sequence[WordTime], offset: float, score: int) -> list[dict[str, object]]:
    """The words of an alternative: with times and confidences when they are the best path's,
    else the words alone with the alternative's score (the decoder times the best path only)."""
    spoken = text.split()
    if words and [w.word.lower() for w in words] == [w.lower() for w in spoken]:
        return [{"text": w.word, "score": w.confidence, "start_time": round(w.start + offset, 3),
                 "end_time": round(w.end + offset, 3)} for w in words]
    return [{"text": word, "score": score} for word in spoken]


def render(body: ResultBody, accept: str = JSON_TYPE) -> tuple[str, bytes]:
    """``(Content-Type, body bytes)`` in the format ``accept`` asks for (XML when it names xml)."""
    data = result_dict(body)
    if "xml" in accept.lower():
        return XML_TYPE, to_xml(data).encode("utf-8")
    return JSON_TYPE, to_json(data).encode("utf-8")


def to_json(data: object) -> str:
    """One line of JSON without the substring ``ASR`` (written ``\\u0041SR``: only strings can
    hold it, and the escape reads back as the same text)."""
    return json_line(data).replace(MAGIC, "\\u0041SR")


_LISTS = {"alternatives": "alternative", "interpretations": "interpretation", "interpretation_scores": "score",
          "words": "word"}


def to_xml(data: dict[str, object]) -> str:
    """The result as one line of XML under ``<recognition_result>``, without the substring ``ASR``."""
    from lxml import etree

    root = etree.Element("recognition_result")
    _xml_fields(root, data)
    for element in root.iter():
        if isinstance(element.tag, str) and MAGIC in element.tag:
            element.tag = element.tag.replace(MAGIC, "_x0041_SR")
    text = etree.tostring(root, encoding="unicode")
    text = text.replace("\r", "&#13;").replace("\n", "&#10;")
    return '<?xml version="1.0" encoding="UTF-8"?>' + text.replace(MAGIC, "&#65;SR")


def _xml_fields(parent: object, data: dict[str, object]) -> None:
    from lxml import etree

    assert isinstance(parent, etree._Element)
    for key, value in data.items():
        child = etree.SubElement(parent, key)
        item_name = _LISTS.get(key)
        if item_name is not None and isinstance(value, list):
            for item in value:
                element = etree.SubElement(child, item_name)
                if key == "interpretations":
                    append_value(element, item)
                elif isinstance(item, dict):
                    _xml_fields(element, item)
                else:
                    element.text = xml_text(item)
        elif isinstance(value, dict):
            _xml_fields(child, {xml_name(k): v for k, v in value.items()})
        else:
            child.text = xml_text(value)


__all__ = ["JSON_TYPE", "ResultBody", "XML_TYPE", "render", "result_dict", "to_json", "to_xml"]
