"""The sans-I/O ASR session: states, grammars, parameters, the audio path and timers, with a fake
decoder and a fake clock (``now`` passed in). Every message the session emits is read by the
test client's strict reader (``tests/server/client.py``)."""

from __future__ import annotations

import io
import math
import wave

import numpy as np
import pytest

from decoder.base import Recognition, WordTime
from interpreter.api import Hypothesis
from interpreter.results import Alternative, RecognitionResult
from server.engine import ServerEngine
from server.session import Session, uri_list_grammar
from srgs.config import EngineConfig
from tests.server.client import Reply, message, read_strictly

PIZZA = """#ABNF 1.0 UTF-8;
language en-US;
tag-format <semantics/1.0>;
root $order;
public $order = (one {out = 1;} | two {out = 2;}) pizzas;
"""

PIZZA_XML = """<?xml version="1.0" encoding="UTF-8"?>
<grammar xmlns="http://www.w3.org/2001/06/grammar" version="1.0" xml:lang="en-US" root="r"
         tag-format="semantics/1.0">
  <rule id="r" scope="public"><one-of><item>one<tag>out=1;</tag></item><item>two<tag>out=2;</tag></item></one-of>
  pizzas</rule>
</grammar>
"""

# --- a fake decoder -----------------------------------------------------------------------------


class FakeStream:
    def __init__(self, owner: FakeDecoders, session: FakeSession, nbest: int | None):
        self.owner, self.session, self.nbest = owner, session, nbest
        self.audio = bytearray()
        self.canceled = self.finished = False
        owner.streams.append(self)

    def feed(self, pcm: bytes) -> None:
        assert not (self.canceled or self.finished)
        self.audio += pcm

    def partial(self) -> Recognition | None:
        """The first word of the first sentence, as a decoder's partial hypothesis (not a grammar sentence)."""
        self.owner.partials += 1
        word = self.owner.sentences[0][0][0]
        result = RecognitionResult(status="RECOGNIZED", alternatives=(
            Alternative(text=word, score=0, lm="", interpretations=()),))
        return Recognition(result=result, words=(WordTime(word=word, start=0.0, end=0.2, confidence=0),),
                           hypotheses=(), audio_seconds=len(self.audio) / 32000, decode_seconds=0.0)

    def finish(self) -> Recognition:
        self.finished = True
        sentences = self.owner.sentences.pop(0) if len(self.owner.sentences) > 1 else self.owner.sentences[0]
        return self.session.recognize(sentences, len(self.audio), self.nbest)

    def cancel(self) -> None:
        self.canceled = True


class FakeSession:
    def __init__(self, owner: FakeDecoders, activation, models, word_boosts=None):
        self.owner, self.activation, self.models, self.word_boosts = owner, activation, models, word_boosts
        self.closed = False

    def recognize(self, sentences, size: int, nbest: int | None) -> Recognition:
        """The n-best ``sentences`` (word tuples, best first) as the decoder would give them."""
        if self.activation is None:
            raise AssertionError("free speech is not faked")
        hypotheses = [Hypothesis(tuple(words), float(index)) for index, words in enumerate(sentences)]
        result = self.activation.interpreter().interpret_hypotheses(hypotheses, nbest=nbest)
        best = sentences[0] if sentences else ()
        words = tuple(WordTime(word=w, start=0.1 * i, end=0.1 * (i + 1), confidence=90) for i, w in enumerate(best))
        return Recognition(result=result, words=words, hypotheses=(), audio_seconds=size / 32000, decode_seconds=0.0)

    def decode(self, audio, *, nbest=None):  # pragma: no cover - the session streams
        raise AssertionError("the session streams")

    def stream(self, *, nbest: int | None = None) -> FakeStream:
        return FakeStream(self.owner, self, nbest)

    def close(self) -> None:
        self.closed = True


class FakeDecoders:
    """The session's decoder factory; ``sentences`` are the n-best of each segment (the last repeats)."""

    def __init__(self, *sentences: tuple[tuple[str, ...], ...]):
        self.sentences = list(sentences) or [(("two", "pizzas"),)]
        self.sessions: list[FakeSession] = []
        self.streams: list[FakeStream] = []
        self.partials = 0

    def __call__(self, activation, models, *, word_boosts=None) -> FakeSession:
        session = FakeSession(self, activation, models, word_boosts)
        self.sessions.append(session)
        return session


# --- audio --------------------------------------------------------------------------------------


def tone(ms: int, rate: int = 16000) -> bytes:
    t = np.arange(rate * ms // 1000) / rate
    return (8000 * np.sin(2 * math.pi * 440 * t)).astype("<i2").tobytes()


def silence(ms: int, rate: int = 16000) -> bytes:
    return bytes(2 * (rate * ms // 1000))


def wav_bytes(pcm: bytes, rate: int) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(pcm)
    return out.getvalue()


# --- driving a session --------------------------------------------------------------------------


def make_engine(**server: object) -> ServerEngine:
    return ServerEngine(EngineConfig.load(overrides={f"server.{k}": str(v) for k, v in server.items()}))


class Driver:
    """A session with a fake clock."""

    def __init__(self, engine: ServerEngine | None = None, decoders: FakeDecoders | None = None, create: bool = True):
        self.engine = engine or make_engine()
        self.decoders = decoders or FakeDecoders()
        self.now = 0.0
        self.session = Session(self.engine, decoders=self.decoders, now=self.now)
        if create:
            assert self.send("CREATE_SESSION")[0].result == "SUCCESS"

    def send(self, name: str, headers=(), body: bytes | str = b"", *, eol: str = "\r\n") -> list[Reply]:
        data = body.encode("utf-8") if isinstance(body, str) else body
        return self.raw(message(name, headers, data, eol=eol))

    def raw(self, data: bytes) -> list[Reply]:
        return self.drained(self.session.receive(data, self.now))

    def tick(self, seconds: float = 0.0) -> list[Reply]:
        self.now += seconds
        return self.drained(self.session.tick(self.now))

    def drained(self, out: list[bytes]) -> list[Reply]:
        """``out`` and what the pending work gives, as a server sends them."""
        while self.session.pending:
            assert out and read_strictly(out[-1]).name == "END_OF_SPEECH"  # sent before the decoding
            out += self.session.work(self.now)
        return [read_strictly(data) for data in out]

    def define(self, name: str = "pizza", body: str = PIZZA, content_type: str = "application/srgs") -> Reply:
        return self.send("DEFINE_GRAMMAR", [("Content-ID", name), ("Content-Type", content_type)], body)[0]

    def start(self, uris=("session:pizza",), parameters=(), accept: str = "application/json",
              media_type: str = "audio/raw") -> Reply:
        (reply,) = self.send("START_RECOGNITION", [("Accept", accept), ("Media-Type", media_type),
                                                   ("Content-Type", "text/uri-list"), *parameters], "\n".join(uris))
        return reply

    def audio(self, pcm: bytes, *, last: bool = False, chunk: int = 3200, headers=()) -> list[Reply]:
        out: list[Reply] = []
        pieces = [pcm[i:i + chunk] for i in range(0, len(pcm), chunk)] or [b""]
        for index, piece in enumerate(pieces):
            final = last and index == len(pieces) - 1
            out += self.send("SEND_AUDIO", [("LastPacket", "true" if final else "false"), *headers], piece)
        return out


def names(replies: list[Reply]) -> list[str]:
    return [r.name if r.name != "RESPONSE" else f"RESPONSE {r['Method']} {r.result}" for r in replies]


def final(replies: list[Reply]) -> Reply:
    found = [r for r in replies if r.name == "RECOGNITION_RESULT" and r["Result-Status"] != "PROCESSING"]
    assert found, names(replies)
    return found[-1]


UTTERANCE = silence(300) + tone(600) + silence(1000)  # speech, then enough silence to end it (waitEnd 1000 ms)


# --- sessions and states ------------------------------------------------------------------------


def test_create_session_answers_idle_with_a_numeric_handle():
    driver = Driver(create=False)
    (reply,) = driver.send("CREATE_SESSION", [("User-Agent", "x")])
    assert (reply.result, reply["Session-Status"]) == ("SUCCESS", "IDLE")
    assert int(reply["Handle"]) == driver.session.handle
    assert driver.engine.sessions == 1


def test_messages_before_create_session_are_invalid_actions_and_change_nothing():
    driver = Driver(create=False)
    (reply,) = driver.send("DEFINE_GRAMMAR", [("Content-ID", "g"), ("Content-Type", "application/srgs")], PIZZA)
    assert (reply.result, reply["Error-Code"]) == ("INVALID_ACTION", "ERR_INVALID_STATE")
    assert "CREATE_SESSION" in reply["Message"]
    assert driver.engine.sessions == 0 and driver.session.state == "NONE"
    assert driver.send("CREATE_SESSION")[0].result == "SUCCESS"


def test_a_second_create_session_is_an_invalid_action():
    driver = Driver()
    assert driver.send("CREATE_SESSION")[0].result == "INVALID_ACTION"
    assert driver.engine.sessions == 1


def test_wrong_state_requests_get_invalid_action_and_change_nothing():
    driver = Driver()
    assert driver.define().result == "SUCCESS"
    (reply,) = driver.send("START_INPUT_TIMERS")
    assert (reply.result, reply["Session-Status"]) == ("INVALID_ACTION", "IDLE")
    (reply,) = driver.send("SEND_AUDIO", [("LastPacket", "false")], silence(100))
    assert (reply["Method"], reply.result, reply["Error-Code"]) == ("SEND_AUDIO", "INVALID_ACTION",
                                                                    "ERR_NOT_LISTENNING_AUDIO")
    assert driver.start().result == "SUCCESS"
    for name in ("START_RECOGNITION", "DEFINE_GRAMMAR", "SET_PARAMETERS", "INTERPRET_TEXT"):
        (reply,) = driver.send(name, [("Content-Type", "text/uri-list"), ("Text", "one pizzas"),
                                      ("Content-ID", "x")], "session:pizza")
        assert (reply.result, reply["Session-Status"]) == ("INVALID_ACTION", "LISTENING"), name
    assert driver.session.state == "LISTENING"
    assert final(driver.audio(UTTERANCE, last=True))["Result-Status"] == "RECOGNIZED"


def test_malformed_messages_get_invalid_message_and_the_session_goes_on():
    driver = Driver()
    for data in (b"HELLO", b"ASR 2.3 NOT_A_MESSAGE\r\n\r\n", b"ASR 2.3 DEFINE_GRAMMAR\r\nno colon here\r\n\r\n",
                 b"ASR 2.3 DEFINE_GRAMMAR\r\nContent-Length: many\r\n\r\nx", b"\xff\xfe"):
        (reply,) = driver.raw(data)
        assert (reply.name, reply.result, reply["Session-Status"]) == ("RESPONSE", "INVALID_MESSAGE", "IDLE"), data
        assert reply["Error-Code"] and reply["Message"]
    (reply,) = driver.send("DEFINE_GRAMMAR", [("Content-Type", "application/srgs")], PIZZA)  # no Content-ID
    assert reply.result == "INVALID_MESSAGE" and "Content-ID" in reply["Message"]
    assert driver.define().result == "SUCCESS"
    assert driver.start().result == "SUCCESS"
    (reply,) = driver.send("SEND_AUDIO", [("LastPacket", "maybe")], silence(10))
    assert reply.result == "INVALID_MESSAGE" and driver.session.state == "LISTENING"
    assert driver.define().result == "INVALID_ACTION"  # still listening
    assert driver.engine.metrics.value("errors", code="ERR_INVALID_ARGUMENT") >= 6


def test_a_message_over_the_size_limit_is_refused_and_the_session_goes_on():
    driver = Driver(make_engine(max_message_bytes=1000))
    (reply,) = driver.send("DEFINE_GRAMMAR", [("Content-ID", "big"), ("Content-Type", "application/srgs")],
                           PIZZA + "// " + "x" * 2000 + "\n")
    assert (reply["Method"], reply.result, reply["Error-Code"]) == ("DEFINE_GRAMMAR", "INVALID_MESSAGE",
                                                                    "ERR_BUFFER_OVERFLOW")
    assert driver.define().result == "SUCCESS"


def test_session_limit_answers_err_max_licenses_and_a_closed_session_frees_its_place():
    engine = make_engine(max_sessions=1)
    first = Driver(engine)
    second = Driver(engine, create=False)
    (reply,) = second.send("CREATE_SESSION")
    assert (reply.result, reply["Error-Code"]) == ("FAILURE", "ERR_MAX_LICENSES")
    assert second.session.state == "NONE" and engine.metrics.value("sessions_refused") == 1
    first.session.close()  # the client vanished
    assert engine.sessions == 0
    assert second.send("CREATE_SESSION")[0].result == "SUCCESS"


def test_release_session_answers_then_closes_and_frees_everything():
    driver = Driver()
    driver.define()
    assert driver.start().result == "SUCCESS"
    driver.audio(silence(300) + tone(300))
    (reply,) = driver.send("RELEASE_SESSION")
    assert (reply.result, reply["Session-Status"]) == ("SUCCESS", "IDLE")
    assert driver.session.closed and driver.engine.sessions == 0
    assert driver.decoders.streams[0].canceled and driver.decoders.sessions[0].closed
    assert driver.send("GET_PARAMETERS") == []


def test_idle_timeout_closes_the_session():
    driver = Driver(make_engine(idle_timeout_s=5))
    assert driver.session.next_deadline() == pytest.approx(5.0)
    assert driver.tick(4.9) == [] and not driver.session.closed
    driver.tick(0.2)
    assert driver.session.closed and driver.session.expired and driver.engine.sessions == 0
    driver = Driver(make_engine(idle_timeout_s=5))  # a recognition nobody feeds or times
    driver.define()
    driver.start(parameters=[("decoder.startInputTimers", "false")])
    driver.tick(4.0)
    driver.send("GET_PARAMETERS")  # any message is a sign of life
    assert driver.tick(4.0) == [] and not driver.session.closed
    driver.tick(1.1)
    assert driver.session.closed and driver.decoders.sessions[0].closed and driver.engine.sessions == 0


def test_close_releases_the_session_grammars():
    driver = Driver()
    driver.define()
    grammars = driver.session.grammars
    assert grammars is not None and grammars.names() == ["pizza"]
    driver.session.close()
    assert grammars.names() == [] and driver.engine.sessions == 0


def test_one_sessions_grammars_are_invisible_to_another():
    engine = make_engine()
    first, second = Driver(engine), Driver(engine)
    assert first.define().result == "SUCCESS"
    (reply,) = second.send("INTERPRET_TEXT", [("Text", "two pizzas"), ("Content-Type", "text/uri-list")],
                           "session:pizza")
    assert (reply.result, reply["Error-Code"]) == ("FAILURE", "ERR_FILE_OPEN")
    assert second.start().result == "FAILURE" and second.session.state == "IDLE"
    reply, result = first.send("INTERPRET_TEXT", [("Text", "two pizzas"), ("Content-Type", "text/uri-list")],
                               "session:pizza")
    assert result.json()["alternatives"][0]["interpretations"] == [2]


# --- grammars -----------------------------------------------------------------------------------


def interpret(driver: Driver, text: str, body: str = "session:pizza", content_type: str = "text/uri-list",
              headers=()) -> list[Reply]:
    return driver.send("INTERPRET_TEXT", [("Text", text), ("Content-Type", content_type), *headers], body)


@pytest.mark.parametrize("content_type", ["application/srgs", "application/srgs+xml", "application/grammar+xml",
                                          "application/xml", "text/xml", "text/plain", ""])
def test_define_grammar_inline_in_either_form_by_content_type(content_type):
    driver = Driver()
    body = PIZZA_XML if "xml" in content_type else PIZZA
    assert driver.define("g", body, content_type).result == "SUCCESS"
    response, result = interpret(driver, "one pizzas", "session:g")
    assert response.result == "SUCCESS"
    assert result.json()["alternatives"][0]["interpretations"] == [1]


def test_define_grammar_error_names_the_position_and_the_session_goes_on():
    driver = Driver()
    reply = driver.define("bad", "#ABNF 1.0 UTF-8;\nlanguage en-US;\nroot $a;\npublic $a = one | ;\n")
    assert (reply.result, reply["Error-Code"], reply["Session-Status"]) == ("FAILURE", "ERR_CORRUPTED_LM", "IDLE")
    assert reply["Message"].startswith("session:bad:4:") and "error:" in reply["Message"]
    reply = driver.define("undefined", "#ABNF 1.0 UTF-8;\nlanguage en-US;\nroot $a;\npublic $a = $b;\n")
    assert reply.result == "FAILURE" and "session:undefined:4:" in reply["Message"]
    assert driver.define().result == "SUCCESS"


def test_a_refused_definition_keeps_the_previous_one():
    driver = Driver()
    driver.define()
    assert driver.define("pizza", "#ABNF 1.0 UTF-8;\nbroken").result == "FAILURE"
    assert interpret(driver, "two pizzas")[1]["Result-Status"] == "RECOGNIZED"


def test_grammar_limits_are_failures():
    engine = ServerEngine(EngineConfig.load(overrides={"limits.max_inline_bytes": "200", "compile.max_states": "50"}))
    driver = Driver(engine)
    reply = driver.define("big", PIZZA + "// " + "x" * 300 + "\n")
    assert (reply.result, reply["Error-Code"]) == ("FAILURE", "ERR_BUFFER_OVERFLOW")
    words = " | ".join(f"w{i}" for i in range(100))
    reply = driver.define("states", f"#ABNF 1.0 UTF-8;\nlanguage en-US;\nroot $a;\npublic $a = ({words}) <1-9>;\n")
    assert reply.result == "FAILURE" and reply["Error-Code"] == "ERR_BUFFER_OVERFLOW", reply


def test_define_grammar_with_a_uri_list():
    driver = Driver()
    reply = driver.define("answer", "builtin:grammar/boolean\n# a comment\nbuiltin:grammar/digits?length=3\n",
                          "text/uri-list")
    assert reply.result == "SUCCESS", reply
    assert interpret(driver, "yes", "session:answer")[1].json()["alternatives"][0]["interpretations"] == [True]
    assert interpret(driver, "one two three", "session:answer")[1].json()["alternatives"][0]["interpretations"] \
        == ["123"]
    assert driver.define("lm", "builtin:slm/general", "text/uri-list").result == "FAILURE"


def test_uri_list_grammar_refuses_what_is_not_a_uri():
    assert "$<builtin:grammar/digits>" in uri_list_grammar(["builtin:grammar/digits"])
    driver = Driver()
    assert driver.define("x", "builtin:grammar/digits> | $<file:/etc/passwd", "text/uri-list").result == "FAILURE"


def test_define_grammar_refuses_other_content_types():
    reply = Driver().define("g", PIZZA, "audio/wav")
    assert (reply.result, reply["Error-Code"]) == ("FAILURE", "ERR_INVALID_ARGUMENT")


def test_client_grammars_cannot_read_files(tmp_path):
    secret = tmp_path / "secret.gram"
    secret.write_text(PIZZA)
    driver = Driver()
    reply = driver.define("g", f"#ABNF 1.0 UTF-8;\nlanguage en-US;\nroot $a;\npublic $a = $<{secret.as_uri()}>;\n")
    assert reply.result == "FAILURE" and reply["Error-Code"] == "ERR_FILE_OPEN"
    (reply,) = interpret(driver, "one pizzas", secret.as_uri())
    assert reply["Error-Code"] == "ERR_FILE_OPEN"


# --- INTERPRET_TEXT -----------------------------------------------------------------------------


def test_interpret_text_answers_response_then_the_result():
    driver = Driver()
    driver.define()
    response, result = interpret(driver, "Two Pizzas")
    assert (response.result, response["Session-Status"]) == ("SUCCESS", "IDLE")
    assert (result.name, result["Result-Status"], result["Session-Status"]) == ("RECOGNITION_RESULT", "RECOGNIZED",
                                                                                "IDLE")
    assert result["Content-Type"] == "application/json"
    body = result.json()
    assert body["alternatives"][0]["text"] == "Two Pizzas"
    assert body["alternatives"][0]["lm"] == "session:pizza" and body["alternatives"][0]["score"] == 100
    assert body["final_result"] is True and body["result_status"] == "RECOGNIZED"
    assert driver.engine.metrics.observed("interpret") == 1
    assert driver.engine.metrics.value("requests", method="INTERPRET_TEXT", result="SUCCESS") == 1
    assert driver.engine.metrics.value("interpretations", status="RECOGNIZED") == 1


def test_interpret_text_no_match_and_failure():
    driver = Driver()
    driver.define()
    _, result = interpret(driver, "three pizzas")
    assert result["Result-Status"] == "NO_MATCH" and result.json()["alternatives"] == []
    driver.define("throws", "#ABNF 1.0 UTF-8;\nlanguage en-US;\ntag-format <semantics/1.0>;\nroot $a;\n"
                            "public $a = boom {out = undefined_name.x;};\n")
    _, result = interpret(driver, "boom", "session:throws")
    assert result["Result-Status"] == "FAILURE" and result.json()["error"]["code"] == "SEMANTICS_FAILURE"


def test_interpret_text_with_several_grammars_inline_builtin_and_free_speech():
    driver = Driver()
    driver.define()
    _, result = interpret(driver, "yes", "session:pizza\nbuiltin:grammar/boolean")
    assert result.json()["alternatives"][0]["lm"] == "builtin:grammar/boolean"
    _, result = interpret(driver, "one pizzas", PIZZA, "application/srgs", [("Content-ID", "mine")])
    assert result.json()["alternatives"][0]["lm"] == "mine"
    _, result = interpret(driver, "hello  there", "session:pizza\nbuiltin:slm/general")
    alternative = result.json()["alternatives"][0]
    assert (alternative["lm"], alternative["interpretations"]) == ("builtin:slm/general", ["hello there"])


def test_interpret_text_n_best_and_confidence_threshold_per_request():
    driver = Driver()
    driver.define("paris", "#ABNF 1.0 UTF-8;\nlanguage en-US;\ntag-format <semantics/1.0>;\nroot $a;\n"
                           "public $a = /3/ paris {out=\"FR\";} | /1/ paris {out=\"US\";};\n")
    _, result = interpret(driver, "paris", "session:paris", headers=[("decoder.maxSentences", "2")])
    assert result.json()["alternatives"][0]["interpretation_scores"] == [100, 33]
    _, result = interpret(driver, "paris", "session:paris", headers=[("decoder.maxSentences", "2"),
                                                                      ("decoder.confidenceThreshold", "50")])
    assert result.json()["alternatives"][0]["interpretations"] == ["FR"]
    _, result = interpret(driver, "paris", "session:paris")  # per-request values do not stay
    assert result.json()["alternatives"][0]["interpretations"] == ["FR"]
    assert driver.send("GET_PARAMETERS", [("decoder.maxSentences", "")])[0]["decoder.maxSentences"] == "1"


def test_interpret_text_needs_text_and_a_grammar():
    driver = Driver()
    (reply,) = driver.send("INTERPRET_TEXT", [("Content-Type", "text/uri-list")], "session:pizza")
    assert reply.result == "INVALID_MESSAGE" and "Text" in reply["Message"]
    (reply,) = driver.send("INTERPRET_TEXT", [("Text", "x")])
    assert (reply.result, reply["Error-Code"]) == ("FAILURE", "ERR_NO_ACTIVE_LM")


def test_interpret_text_result_as_xml():
    driver = Driver()
    driver.define()
    _, result = interpret(driver, "two pizzas", headers=[("Accept", "application/xml")])
    assert result["Content-Type"] == "application/xml"
    from lxml import etree

    root = etree.fromstring(result.body)
    assert root.tag == "recognition_result"
    assert root.findtext("alternatives/alternative/interpretations/interpretation") == "2"
    assert root.findtext("result_status") == "RECOGNIZED"


def test_nothing_emitted_holds_asr_in_a_header_value_or_a_body_line():
    driver = Driver()
    grammar = ("#ABNF 1.0 UTF-8;\nlanguage en-US;\ntag-format <semantics/1.0>;\nroot $a;\n"
               "public $a = asr {!{out = {ASR: \"ASR\\nASR 2.3 RESPONSE\"};}!};\n")
    assert driver.define("ASR", grammar).result == "SUCCESS"
    # the strict reader fails on any 'ASR' in a header value or body line
    _, result = interpret(driver, "ASR", "session:ASR")
    assert result.json()["alternatives"][0]["interpretations"] == [{"ASR": "ASR\nASR 2.3 RESPONSE"}]
    assert result.json()["alternatives"][0]["text"] == "ASR" and b"\\u0041SR" in result.body
    _, result = interpret(driver, "ASR", "session:ASR", headers=[("Accept", "application/xml")])
    from lxml import etree

    root = etree.fromstring(result.body)
    value = root.find("alternatives/alternative/interpretations/interpretation")[0]
    assert (value.tag, value.text) == ("_x0041_SR", "ASR\nASR 2.3 RESPONSE")
    (reply,) = driver.send("SET_PARAMETERS", [("ASR.weird", "1")])
    assert "%41SR.weird" in reply["Message"]
    assert driver.send("SET_PARAMETERS", [("loggingTag", "ASR-1")])[0].result == "SUCCESS"
    assert driver.send("GET_PARAMETERS", [("loggingTag", "")])[0]["loggingTag"] == "%41SR-1"


# --- parameters ---------------------------------------------------------------------------------


def test_set_and_get_parameters():
    driver = Driver()
    (reply,) = driver.send("GET_PARAMETERS")
    assert reply["decoder.maxSentences"] == "1" and reply["noInputTimeout.value"] == "10000"
    assert reply["endpointer.waitEnd"] == "1000" and reply["decoder.partialResultInterval"] == "1000"
    (reply,) = driver.send("SET_PARAMETERS", [("decoder.maxsentences", "3"), ("noInputTimeout.Enabled", "off"),
                                              ("Infer-age-enabled", "true")])
    assert reply.result == "SUCCESS"
    (reply,) = driver.send("GET_PARAMETERS", [("decoder.maxSentences", ""), ("noInputTimeout.enabled", "")])
    assert (reply["decoder.maxSentences"], reply["noInputTimeout.enabled"]) == ("3", "false")
    assert "decoder.wordDetails" not in reply.headers


def test_bad_parameters_are_refused_by_name_and_nothing_changes():
    driver = Driver()
    (reply,) = driver.send("SET_PARAMETERS", [("decoder.maxSentences", "5"), ("decoder.noSuchThing", "1")])
    assert (reply.result, reply["Error-Code"]) == ("FAILURE", "ERROR_INVALID_PARAMETER")
    assert "decoder.noSuchThing" in reply["Message"]
    (reply,) = driver.send("SET_PARAMETERS", [("decoder.confidenceThreshold", "101")])
    assert reply["Error-Code"] == "ERROR_INVALID_PARAMETER_VALUE" and "decoder.confidenceThreshold" in reply["Message"]
    (reply,) = driver.send("GET_PARAMETERS", [("decoder.maxSentences", "")])
    assert reply["decoder.maxSentences"] == "1"
    (reply,) = driver.send("GET_PARAMETERS", [("nope", "")])
    assert reply["Error-Code"] == "ERROR_INVALID_PARAMETER"
    driver.define()
    reply = driver.start(parameters=[("decoder.wordDetails", "7")])
    assert reply.result == "FAILURE" and driver.session.state == "IDLE"


# --- the audio path -----------------------------------------------------------------------------


def test_recognition_start_of_speech_end_of_speech_and_the_result():
    driver = Driver()
    driver.define()
    reply = driver.start()
    assert (reply.result, reply["Session-Status"]) == ("SUCCESS", "LISTENING")
    replies = driver.audio(UTTERANCE)
    assert names(replies) == ["START_OF_SPEECH", "END_OF_SPEECH", "RECOGNITION_RESULT"]
    assert [r["Session-Status"] for r in replies] == ["LISTENING", "RECOGNIZING", "IDLE"]
    body = replies[-1].json()
    assert replies[-1]["Result-Status"] == "RECOGNIZED" and body["result_status"] == "RECOGNIZED"
    assert body["alternatives"][0]["interpretations"] == [2] and body["alternatives"][0]["lm"] == "session:pizza"
    assert body["segment_index"] == 0 and body["last_segment"] is True and body["final_result"] is True
    assert body["start_time"] == pytest.approx(0.3, abs=0.02) and body["end_time"] == pytest.approx(0.9, abs=0.02)
    assert "words" not in body["alternatives"][0]  # decoder.wordDetails defaults to 0
    stream = driver.decoders.streams[0]
    assert stream.finished and len(stream.audio) >= len(tone(600))  # the speech reached the decoder
    assert driver.decoders.sessions[0].closed and driver.session.state == "IDLE"
    assert driver.engine.metrics.value("recognitions", status="RECOGNIZED") == 1
    # the audio still in flight after END_OF_SPEECH is refused, and a new recognition can start
    assert driver.audio(silence(100))[0].result == "INVALID_ACTION"
    assert driver.start().result == "SUCCESS"


def test_last_packet_ends_the_segment_and_no_speech_is_no_speech():
    driver = Driver()
    driver.define()
    driver.start()
    replies = driver.audio(silence(200) + tone(400), last=True)
    assert names(replies) == ["START_OF_SPEECH", "END_OF_SPEECH", "RECOGNITION_RESULT"]
    assert final(replies)["Result-Status"] == "RECOGNIZED"
    driver.start()
    replies = driver.audio(silence(500), last=True)
    assert names(replies) == ["RECOGNITION_RESULT"]
    assert (replies[0]["Result-Status"], replies[0]["Session-Status"]) == ("NO_SPEECH", "IDLE")
    assert replies[0].json()["alternatives"] == []
    driver.start()
    assert final(driver.send("SEND_AUDIO", [("LastPacket", "True")]))["Result-Status"] == "NO_SPEECH"  # empty body


def test_no_match_when_the_decoder_finds_nothing_in_the_grammar():
    driver = Driver(decoders=FakeDecoders((("three", "pizzas"),)))
    driver.define()
    driver.start()
    result = final(driver.audio(UTTERANCE))
    assert result["Result-Status"] == "NO_MATCH" and result.json()["alternatives"] == []


def test_n_best_word_details_and_confidence_threshold():
    decoders = FakeDecoders((("two", "pizzas"), ("one", "pizzas")))
    driver = Driver(decoders=decoders)
    driver.define()
    driver.start(parameters=[("decoder.maxSentences", "2"), ("decoder.wordDetails", "1")])
    body = final(driver.audio(UTTERANCE)).json()
    assert decoders.streams[0].nbest == 2
    assert [a["interpretations"] for a in body["alternatives"]] == [[2], [1]]
    words = body["alternatives"][0]["words"]
    assert [w["text"] for w in words] == ["two", "pizzas"] and words[0]["score"] == 90
    assert words[0]["start_time"] >= 0.05  # segment times: where the decoder's audio began, plus the word's
    assert "words" not in body["alternatives"][1]
    driver.start(parameters=[("decoder.maxSentences", "2"), ("decoder.wordDetails", "2")])
    body = final(driver.audio(UTTERANCE)).json()
    assert [w["text"] for w in body["alternatives"][1]["words"]] == ["one", "pizzas"]
    driver.start(parameters=[("decoder.maxSentences", "2"), ("decoder.confidenceThreshold", "50")])
    body = final(driver.audio(UTTERANCE)).json()
    assert len(body["alternatives"]) == 1
    driver.start(parameters=[("decoder.confidenceThreshold", "100")])
    assert final(driver.audio(UTTERANCE))["Result-Status"] == "NO_MATCH"


def test_partial_results_every_interval_and_never_after_cancel():
    decoders = FakeDecoders()
    driver = Driver(decoders=decoders)
    driver.define()
    driver.start(parameters=[("decoder.partialResultEnabled", "true"), ("decoder.partialResultInterval", "200")])
    replies = driver.audio(silence(300) + tone(1000), chunk=1600)
    partials = [r for r in replies if r.name == "RECOGNITION_RESULT"]
    assert len(partials) >= 4 and all(r["Result-Status"] == "PROCESSING" for r in partials)
    assert all(r["Session-Status"] == "LISTENING" for r in partials)
    body = partials[0].json()
    assert body["final_result"] is False and body["alternatives"][0]["text"] == "two"
    (response, canceled) = driver.send("CANCEL_RECOGNITION")
    assert (response.result, response["Session-Status"]) == ("SUCCESS", "IDLE")
    assert (canceled["Result-Status"], canceled.json()["alternatives"]) == ("CANCELED", [])
    assert decoders.streams[0].canceled and not decoders.streams[0].finished
    assert driver.engine.metrics.value("recognitions", status="CANCELED") == 1
    assert driver.send("CANCEL_RECOGNITION")[0].result == "SUCCESS"  # nothing to cancel: a no-op
    driver.start()
    assert not any(r["Result-Status"] == "PROCESSING" for r in driver.audio(UTTERANCE) if r.name != "START_OF_SPEECH"
                   and r.name != "END_OF_SPEECH")


def test_continuous_mode_gives_one_result_per_segment():
    decoders = FakeDecoders((("one", "pizzas"),), (("two", "pizzas"),))
    driver = Driver(decoders=decoders)
    driver.define()
    driver.start(parameters=[("decoder.continuousMode", "true")])
    replies = driver.audio(UTTERANCE)
    assert names(replies) == ["START_OF_SPEECH", "END_OF_SPEECH", "RECOGNITION_RESULT"]
    first = replies[-1]
    assert first["Session-Status"] == "LISTENING" and first.json()["last_segment"] is False
    assert first.json()["alternatives"][0]["interpretations"] == [1]
    replies = driver.audio(tone(500) + silence(300), last=True)
    second = final(replies)
    assert second["Session-Status"] == "IDLE" and second.json()["segment_index"] == 1
    assert second.json()["last_segment"] is True and second.json()["alternatives"][0]["interpretations"] == [2]
    assert second.json()["start_time"] > first.json()["end_time"]
    # a last packet after the last segment ended: a closing result with no speech in it
    driver.start(parameters=[("decoder.continuousMode", "true")])
    driver.audio(UTTERANCE)
    closing = final(driver.send("SEND_AUDIO", [("LastPacket", "true")]))
    assert closing["Result-Status"] == "NO_SPEECH" and closing.json()["segment_index"] == 1


def test_no_input_timeout_on_the_clock():
    driver = Driver()
    driver.define()
    driver.start(parameters=[("noInputTimeout.value", "2000")])
    assert driver.session.next_deadline() == pytest.approx(2.0)
    assert driver.tick(1.9) == []
    (result,) = driver.tick(0.2)
    assert (result["Result-Status"], result["Session-Status"]) == ("NO_INPUT_TIMEOUT", "IDLE")
    assert result.json()["alternatives"] == [] and driver.decoders.sessions[0].closed


def test_no_input_timeout_on_audio_sent_faster_than_real_time():
    driver = Driver()
    driver.define()
    driver.start(parameters=[("noInputTimeout.value", "1000")])
    replies = driver.audio(silence(1500))
    assert names(replies) == ["RECOGNITION_RESULT"] + ["RESPONSE SEND_AUDIO INVALID_ACTION"] * (len(replies) - 1)
    assert replies[0]["Result-Status"] == "NO_INPUT_TIMEOUT"


def test_speech_stops_the_no_input_timer():
    driver = Driver()
    driver.define()
    driver.start(parameters=[("noInputTimeout.value", "1000"), ("recognitionTimeout.enabled", "false")])
    driver.audio(silence(200) + tone(300))
    assert driver.tick(5.0) == [] and driver.session.state == "LISTENING"


def test_start_input_timers_waits_when_decoder_start_input_timers_is_false():
    driver = Driver()
    driver.define()
    driver.send("SET_PARAMETERS", [("decoder.startInputTimers", "false"), ("noInputTimeout.value", "1000")])
    driver.start()
    assert driver.session.next_deadline() == pytest.approx(driver.now + 300)  # only the idle timeout
    assert driver.tick(10.0) == [] and driver.session.state == "LISTENING"
    (reply,) = driver.send("START_INPUT_TIMERS")
    assert (reply.result, reply["Session-Status"]) == ("SUCCESS", "LISTENING")
    assert driver.tick(0.5) == []
    assert driver.tick(0.6)[0]["Result-Status"] == "NO_INPUT_TIMEOUT"


def test_recognition_timeout_ends_the_speech_with_what_was_recognised():
    driver = Driver()
    driver.define()
    driver.start(parameters=[("recognitionTimeout.value", "3000")])
    driver.audio(silence(200) + tone(500))
    replies = driver.tick(3.1)
    assert names(replies) == ["END_OF_SPEECH", "RECOGNITION_RESULT"]
    assert replies[1]["Result-Status"] == "RECOGNITION_TIMEOUT"
    assert replies[1].json()["alternatives"][0]["interpretations"] == [2]
    driver.start(parameters=[("recognitionTimeout.value", "1000"), ("noInputTimeout.enabled", "false")])
    assert driver.tick(1.01)[0]["Result-Status"] == "RECOGNITION_TIMEOUT"


def test_max_speech_at_the_longest_segment_and_at_the_audio_limit():
    driver = Driver()
    driver.define()
    driver.start(parameters=[("endpointer.maxSegmentDuration", "500")])
    replies = driver.audio(silence(200) + tone(1000))
    assert names(replies)[:3] == ["START_OF_SPEECH", "END_OF_SPEECH", "RECOGNITION_RESULT"]
    assert final(replies)["Result-Status"] == "MAX_SPEECH"
    assert final(replies).json()["alternatives"][0]["interpretations"] == [2]
    driver = Driver(make_engine(max_audio_s=1))
    driver.define()
    driver.start()
    replies = driver.audio(silence(200) + tone(2000))
    assert final(replies)["Result-Status"] == "MAX_SPEECH"
    assert len(driver.decoders.streams[0].audio) <= 32000  # no more than a second reached the decoder
    driver.start()
    assert final(driver.audio(silence(1500)))["Result-Status"] == "MAX_SPEECH"


def test_raw_8khz_audio_is_resampled_without_seams():
    driver = Driver()
    driver.define()
    driver.start(media_type="audio/raw;rate=8000")
    pcm = silence(300, 8000) + tone(600, 8000) + silence(1200, 8000)
    replies = driver.audio(pcm, chunk=333)  # odd-sized packets
    assert final(replies)["Result-Status"] == "RECOGNIZED"
    audio = np.frombuffer(bytes(driver.decoders.streams[0].audio), dtype="<i2").astype(float)
    speech = audio[np.abs(audio) > 100]
    assert 0.5 * 16000 < len(speech) < 0.7 * 16000  # 600 ms of tone at 16 kHz
    reference = 8000 * np.sin(2 * math.pi * 440 * np.arange(len(audio)) / 16000)
    # no clicks at the packet edges: sample-to-sample steps stay those of a 440 Hz sine
    assert np.max(np.abs(np.diff(audio))) < 1.2 * np.max(np.abs(np.diff(reference)))


def test_wav_audio_header_is_stripped_and_its_rate_used():
    driver = Driver()
    driver.define()
    driver.start(media_type="audio/wav")
    data = wav_bytes(silence(300, 8000) + tone(600, 8000) + silence(1200, 8000), 8000)
    replies = driver.audio(data, chunk=20)  # the header split over packets
    assert final(replies)["Result-Status"] == "RECOGNIZED"
    audio = bytes(driver.decoders.streams[0].audio)
    assert b"RIFF" not in audio and b"WAVE" not in audio
    driver.start()
    replies = driver.audio(wav_bytes(tone(500, 16000), 44100)[:200] + silence(100))
    assert [r.result for r in replies[:1]] == ["FAILURE"] and "44100" in replies[0]["Message"]
    assert final(replies)["Result-Status"] == "FAILURE" and driver.session.state == "IDLE"


def test_start_recognition_refusals():
    driver = Driver()
    (reply,) = driver.send("START_RECOGNITION", [("Content-Type", "text/uri-list")])
    assert (reply.result, reply["Error-Code"]) == ("FAILURE", "ERR_NO_ACTIVE_LM")
    assert driver.start(["session:missing"])["Error-Code"] == "ERR_FILE_OPEN"
    assert driver.start(["builtin:grammar/nonesuch"])["Error-Code"] == "ERR_FILE_OPEN"
    assert driver.start(["builtin:examples/pizza"], media_type="audio/raw;rate=44100")["Error-Code"] \
        == "ERROR_INVALID_PARAMETER_VALUE"
    assert driver.session.state == "IDLE" and driver.decoders.sessions == []


def test_start_recognition_with_several_grammars_and_an_inline_one():
    driver = Driver()
    driver.define()
    assert driver.start(["session:pizza", "builtin:grammar/boolean", "builtin:slm/general"]).result == "SUCCESS"
    session = driver.decoders.sessions[0]
    assert [g.name for g in session.activation.grammars] == ["session:pizza", "builtin:grammar/boolean"]
    assert session.models == ("builtin:slm/general",)
    driver.send("CANCEL_RECOGNITION")
    (reply,) = driver.send("START_RECOGNITION", [("Content-Type", "application/srgs+xml"), ("Content-ID", "inl")],
                           PIZZA_XML)
    assert reply.result == "SUCCESS"
    assert [g.name for g in driver.decoders.sessions[1].activation.grammars] == ["inl"]


def test_lenient_client_messages_drive_a_whole_recognition():
    driver = Driver(create=False)
    assert driver.raw(b"ASR 2.4 CREATE_SESSION 17\nuser-agent:old")[0].result == "SUCCESS"
    raw = message("DEFINE_GRAMMAR", [("content-id", "pizza"), ("CONTENT-TYPE", "application/srgs")],
                  PIZZA.encode(), eol="\n")
    assert driver.raw(raw + b"trailing bytes")[0].result == "SUCCESS"
    reply = driver.raw(b"ASR 2.3 START_RECOGNITION\ncontent-type:text/uri-list\ncontent-length:13\n\nsession:pizza")[0]
    assert reply.result == "SUCCESS"
    replies = driver.raw(b"ASR 2.3 SEND_AUDIO\nLastPacket:yes\nContent-Length:999999\n\n" + UTTERANCE)
    assert final(replies)["Result-Status"] == "RECOGNIZED"


def test_grammars_and_free_speech_together_prefer_the_grammar_result():
    from server.decoder_sessions import EitherSession

    engine = make_engine()
    activation = engine.store.activate(["builtin:grammar/boolean"])
    grammar, free = FakeDecoders((("yes",),)), FakeDecoders((("no",),))
    either = EitherSession((grammar(activation, ()), free(engine.store.activate(["builtin:grammar/boolean"]), ())))
    stream = either.stream(nbest=1)
    stream.feed(silence(100))
    assert len(grammar.streams[0].audio) == len(free.streams[0].audio) == 3200  # both hear the audio
    assert stream.finish().result.alternatives[0].interpretations[0].value is True
    grammar.sentences = [(("maybe",),)]  # the grammar finds nothing: the free-speech result
    stream = either.stream()
    assert stream.finish().result.alternatives[0].interpretations[0].value is False
    either.close()
    assert grammar.sessions[0].closed and free.sessions[0].closed


class BrokenDecoders(FakeDecoders):
    """A back end that fails with an exception nobody planned for, in ``feed`` or in ``finish``."""

    def __init__(self, where: str):
        super().__init__()
        self.where = where

    def __call__(self, activation, models, *, word_boosts=None) -> FakeSession:
        session = super().__call__(activation, models, word_boosts=word_boosts)
        where = self.where

        class Broken(FakeStream):
            def feed(self, pcm: bytes) -> None:
                if where == "feed":
                    raise RuntimeError("feed exploded")
                super().feed(pcm)

            def finish(self) -> Recognition:
                if where == "finish":
                    raise KeyError("finish exploded")
                return super().finish()

        session.stream = lambda *, nbest=None: Broken(self, session, nbest)  # type: ignore[method-assign]
        return session


@pytest.mark.parametrize("where", ["feed", "finish"])
def test_an_unexpected_fault_is_one_line_and_the_session_goes_on(where, caplog):
    driver = Driver(decoders=BrokenDecoders(where))
    driver.define()
    driver.start()
    replies = driver.audio(UTTERANCE)
    failure = next(r for r in replies if r.name == "RESPONSE")
    assert (failure.result, failure["Error-Code"]) == ("FAILURE", "ERR_INTERNAL_ERROR")
    assert "exploded" in failure["Message"] and "Traceback" not in failure["Message"]
    assert final(replies)["Result-Status"] == "FAILURE" and driver.session.state == "IDLE"
    assert driver.decoders.sessions[0].closed
    assert "Traceback" in caplog.text  # the server's log has the whole story
    assert interpret(driver, "two pizzas")[1]["Result-Status"] == "RECOGNIZED"


# --- hints.words: word boosts reach the decoder -------------------------------------------------


def test_hints_words_reach_the_decoder_as_word_boosts():
    driver = Driver()
    driver.define()
    assert driver.start(parameters=[("hints.words", "two:3, Pizzas:-1.5, one")]).result == "SUCCESS"
    assert driver.decoders.sessions[0].word_boosts == {"two": 3.0, "Pizzas": -1.5, "one": 5.0}
    final(driver.audio(UTTERANCE, last=True))
    # set for the session: every later recognition gets them; none given: no boosts
    assert driver.send("SET_PARAMETERS", [("hints.words", "one:2")])[0].result == "SUCCESS"
    driver.start()
    assert driver.decoders.sessions[1].word_boosts == {"one": 2.0}
    final(driver.audio(UTTERANCE, last=True))
    assert driver.send("SET_PARAMETERS", [("hints.words", "")])[0].result == "SUCCESS"
    driver.start()
    assert driver.decoders.sessions[2].word_boosts is None


def test_hints_words_that_are_not_word_boost_pairs_are_refused():
    driver = Driver()
    driver.define()
    (reply,) = driver.send("SET_PARAMETERS", [("hints.words", "two:lots")])
    assert reply.result == "FAILURE" and reply["Error-Code"] == "ERROR_INVALID_PARAMETER_VALUE"
    assert "hints.words" in reply["Message"]
