"""Result formats: JSON shape, NLSML and EMMA well-formedness, the W3C tree notation."""

from __future__ import annotations

import json

import pytest
from lxml import etree

from interpreter.formats import (
    SRGS_NS,
    json_line,
    one_line,
    to_emma,
    to_json,
    to_json_dict,
    to_nlsml,
    to_tree,
    tree_notation,
)
from interpreter.results import Alternative, Interpretation, RecognitionResult
from interpreter.tree import ParseGarbage, ParseRule, ParseTag, ParseToken
from tests import w3c

MANIFEST = w3c.CORPUS / "manifest.json"
NS = {"m": "urn:ietf:params:xml:ns:mrcpv2", "emma": "http://www.w3.org/2003/04/emma"}
HOSTILE = 'a "q" <b> & \x01 \ud800 ]]> \u2028'


def tok(text):
    return ParseToken(text, tuple(text.lower().split()))


def R(name, *children, label=None):
    return ParseRule(name, label or f"${name}", "g", tuple(children))


PIZZA = R("order", tok("two"), R("size", tok("large"), ParseTag("out='L'")), tok("pizzas"))


def recognized(*values, text="two large pizzas", lm="session:pizza"):
    interpretations = tuple(Interpretation(value=v, score=93 - i, tree=PIZZA) for i, v in enumerate(values))
    return RecognitionResult(status="RECOGNIZED", alternatives=(
        Alternative(text=text, score=93, lm=lm, interpretations=interpretations),))


NO_MATCH = RecognitionResult(status="NO_MATCH")


def test_json_shape_is_the_recognition_result_body():
    assert to_json_dict(recognized({"size": "L", "qty": 2})) == {
        "alternatives": [{"text": "two large pizzas", "score": 93, "lm": "session:pizza",
                          "interpretations": [{"size": "L", "qty": 2}],
                          "interpretation_scores": [93]}],
        "segment_index": 0, "last_segment": True, "final_result": True,
        "result_status": "RECOGNIZED"}
    assert to_json_dict(NO_MATCH) == {"alternatives": [], "segment_index": 0, "last_segment": True,
                                      "final_result": True, "result_status": "NO_MATCH"}


def test_json_is_one_line_and_survives_hostile_text():
    line = to_json(recognized({HOSTILE: HOSTILE}, text=HOSTILE))
    assert "\n" not in line and "\u2028" not in line
    assert json.loads(line)["alternatives"][0]["interpretations"] == [{HOSTILE: HOSTILE}]
    line.encode("utf-8")


def test_nlsml_has_interpretation_instance_and_input():
    doc = etree.fromstring(to_nlsml(recognized({"size": "L", "qty": 2, "name": {"_value": "Bob",
                                                "_attributes": {"id": 7}}})).encode())
    interp = doc.find("m:interpretation", NS)
    assert doc.tag == "{urn:ietf:params:xml:ns:mrcpv2}result"
    assert interp.get("grammar") == "session:pizza" and interp.get("confidence") == "0.93"
    instance = interp.find("m:instance", NS)
    assert instance.findtext("m:size", namespaces=NS) == "L"
    assert instance.findtext("m:qty", namespaces=NS) == "2"
    assert instance.find("m:name", NS).text == "Bob" and instance.find("m:name", NS).get("id") == "7"
    assert interp.find("m:input", NS).get("mode") == "speech"
    assert interp.findtext("m:input", namespaces=NS) == "two large pizzas"


def test_nlsml_string_list_and_no_match():
    doc = etree.fromstring(to_nlsml(recognized("yes", ["a", 1, None, True])).encode())
    instances = doc.findall("m:interpretation/m:instance", NS)
    assert instances[0].text == "yes"
    assert [i.text for i in instances[1].findall("m:item", NS)] == ["a", "1", None, "true"]
    doc = etree.fromstring(to_nlsml(NO_MATCH).encode())
    assert doc.find("m:interpretation/m:input/m:nomatch", NS) is not None


@pytest.mark.parametrize("writer", [to_nlsml, to_emma])
def test_xml_writers_survive_hostile_values(writer):
    value = {HOSTILE: HOSTILE, "1st": [HOSTILE], "xmlns": "x", "_attributes": {"a b": HOSTILE}}
    doc = etree.fromstring(writer(recognized(value, HOSTILE, text=HOSTILE, lm=HOSTILE)).encode())
    assert "q" in "".join(doc.itertext())


def test_emma_one_of_with_confidence_tokens_and_grammar():
    doc = etree.fromstring(to_emma(recognized({"size": "L"}, "other")).encode())
    assert doc.tag == "{http://www.w3.org/2003/04/emma}emma" and doc.get("version") == "1.0"
    grammar = doc.find("emma:grammar", NS)
    assert grammar.get("ref") == "session:pizza"
    interps = doc.findall("emma:one-of/emma:interpretation", NS)
    assert len(interps) == 2
    e = "{http://www.w3.org/2003/04/emma}"
    assert interps[0].get(e + "confidence") == "0.93" and interps[1].get(e + "confidence") == "0.92"
    assert interps[0].get(e + "tokens") == "two large pizzas"
    assert interps[0].get(e + "mode") == "voice" and interps[0].get(e + "medium") == "acoustic"
    assert interps[0].get(e + "grammar-ref") == grammar.get("id")
    assert interps[0].findtext("size") == "L" and interps[1].text == "other"


def test_emma_no_match_is_uninterpreted():
    doc = etree.fromstring(to_emma(NO_MATCH).encode())
    interp = doc.find("emma:interpretation", NS)
    assert interp.get("{http://www.w3.org/2003/04/emma}uninterpreted") == "true"


def _manifest_out(file: str, utterance: str) -> str:
    for entry in json.loads(MANIFEST.read_text(encoding="utf-8")):
        if entry["file"] == file:
            for case in entry["cases"]:
                if case["in"] == utterance:
                    return case["out"]
    raise KeyError((file, utterance))


@pytest.mark.parametrize("file, utterance, tree", [
    ("abnf-precedence.gram", "a a a da da da da a do a do",
     R("main", R("repeat", *[tok(t) for t in ("a", "a", "a", "da da")], R("da", tok("da")),
                 R("da", tok("da")), *[tok(t) for t in ("a", "do", "a", "do")]))),
    ("tag-many.gram", "hello",
     R("main", R("tagandruleref", ParseTag('"before ruleref"'), R("hello", tok("hello")),
                 ParseTag('"before NULL"'), ParseTag('"before GARBAGE"'), ParseGarbage(()),
                 ParseTag('"after GARBAGE"')))),
    ("tag-delimit-2.gram", "is also outside the",
     R("main", R("cbintag", ParseTag("tag can contain { and also } so "),
                 *[tok(t) for t in ("is", "also", "outside", "the")], ParseTag("tag")))),
    ("conformance-3.gram", "please call Jean Francois",
     R("main", R("polite_start", R("start", tok("please"), label="$<polite.gram#start>"),
                 label="$<common.gram#polite_start>"), tok("call"),
       R("main", tok("Jean"), tok("Francois"), label="$<french_names.gram>"))),
    ("tag-standalone.gram", "Say something",
     R("main", tok("Say"), R("tagonly", ParseTag("only tag content in this rule")), tok("something"))),
])
def test_tree_notation_matches_the_manifest(file, utterance, tree):
    assert tree_notation(tree) == _manifest_out(file, utterance)


def test_garbage_is_not_shown_and_tokens_are_json_quoted():
    tree = R("main", ParseGarbage(("uh",)), ParseToken('say "hi"', ("say", '"hi"')))
    assert tree_notation(tree) == '$main["say \\"hi\\""]'


def test_to_tree_lists_interpretations_best_first():
    low = Interpretation(value=1, score=10, tree=R("a", tok("x")))
    high = Interpretation(value=2, score=90, tree=R("b", tok("x")))
    result = RecognitionResult(status="RECOGNIZED", alternatives=(
        Alternative(text="x", score=90, lm="g", interpretations=(low, high)),))
    assert to_tree(result) == '$b["x"]\n$a["x"]'


def test_to_tree_says_no_match_and_failure_rather_than_nothing():
    assert to_tree(NO_MATCH) == "NO_MATCH"
    assert to_tree(FAILURE) == "FAILURE"


# --- FAILURE: the words matched, a tag failed -----------------------------------------------

FAILURE = RecognitionResult(status="FAILURE", error="g.gram:5:22: tag {!{x--y}!} threw ReferenceError -")
EMMA = "{http://www.w3.org/2003/04/emma}"


def test_json_failure_has_status_and_error():
    body = to_json_dict(FAILURE)
    assert body["result_status"] == "FAILURE" and body["alternatives"] == []
    assert body["error"] == {"code": "SEMANTICS_FAILURE", "message": FAILURE.error}


def test_nlsml_failure_is_mrcp_semantics_failure_not_a_nomatch():
    text = to_nlsml(FAILURE, input_text="  hello   there ")
    doc = etree.fromstring(text.encode())
    assert doc.find(".//m:nomatch", NS) is None
    assert doc.find(".//m:instance", NS) is None  # RFC 6787 cause 014: the input text, no interpretation
    interp = doc.find("m:interpretation", NS)
    assert interp.get("confidence") is None
    assert interp.find("m:input", NS).text == "hello there"
    assert interp.find("m:input", NS).get("mode") == "speech"
    comments = [c.text for c in doc.iter(etree.Comment)]
    assert comments[0] == " Completion-Cause: 014 semantics-failure "
    assert "threw ReferenceError" in comments[1] and "x- -y" in comments[1]  # "--" cannot be in a comment


def test_emma_failure_is_in_emma_info_not_uninterpreted():
    doc = etree.fromstring(to_emma(FAILURE, input_text="hello").encode())
    interp = doc.find("emma:interpretation", NS)
    assert interp.get(EMMA + "uninterpreted") is None
    assert interp.get(EMMA + "tokens") == "hello"
    failure = interp.find(f"emma:info/{{{SRGS_NS}}}failure", NS)
    assert failure.get("cause") == "semantics-failure" and failure.text == FAILURE.error
    assert doc.find(".//emma:one-of", NS) is None


@pytest.mark.parametrize("writer", [to_nlsml, to_emma])
def test_failure_writers_survive_hostile_messages(writer):
    hostile = RecognitionResult(status="FAILURE", error=HOSTILE + "--")
    doc = etree.fromstring(writer(hostile, input_text=HOSTILE).encode())
    assert doc is not None


# --- input mode -------------------------------------------------------------------------------


def test_dtmf_results_are_labelled_dtmf():
    dtmf = RecognitionResult(status="RECOGNIZED", mode="dtmf", alternatives=(
        Alternative(text="7 1 5 #", score=100, lm="builtin:examples/digits",
                    interpretations=(Interpretation(value="715", score=100, tree=PIZZA),)),))
    doc = etree.fromstring(to_nlsml(dtmf).encode())
    assert doc.find("m:interpretation/m:input", NS).get("mode") == "dtmf"
    doc = etree.fromstring(to_emma(dtmf).encode())
    for node in (doc.find("emma:one-of", NS), doc.find("emma:one-of/emma:interpretation", NS)):
        assert node.get(EMMA + "mode") == "dtmf" and node.get(EMMA + "medium") == "tactile"
    no_match = RecognitionResult(status="NO_MATCH", mode="dtmf")
    assert etree.fromstring(to_nlsml(no_match).encode()).find(
        "m:interpretation/m:input", NS).get("mode") == "dtmf"
    interp = etree.fromstring(to_emma(no_match).encode()).find("emma:interpretation", NS)
    assert interp.get(EMMA + "mode") == "dtmf" and interp.get(EMMA + "medium") == "tactile"


def test_voice_results_are_labelled_speech():
    doc = etree.fromstring(to_emma(recognized("x")).encode())
    assert doc.find("emma:one-of", NS).get(EMMA + "medium") == "acoustic"


# --- one line per result ------------------------------------------------------------------------


def test_json_keeps_non_ascii_as_characters():
    line = to_json(recognized({"ville": "Québec 北京"}, text="québec"))
    assert "Québec 北京" in line and "\\u" not in line
    assert json_line({"a": "\u2029\ud800é"}) == '{"a":"\\u2029\\ud800é"}'


@pytest.mark.parametrize("writer", [to_nlsml, to_emma])
def test_one_line_documents_keep_line_breaks_of_values(writer):
    document = writer(recognized("a\nb\r\nc", text="x"))
    line = one_line(document)
    assert "\n" not in line and "\r" not in line
    doc = etree.fromstring(line.split("?>", 1)[1].encode())
    assert "a\nb\r\nc" in "".join(doc.itertext())
