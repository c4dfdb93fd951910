"""The ASR 2.3 codec: every lenient-parsing case of the reference, and strict emission."""

from __future__ import annotations

import io
import json
import wave

import pytest

from server import protocol as p
from server.results import ResultBody, render, result_dict, to_json, to_xml
from tests.server.client import read_strictly

# --- parsing leniently ------------------------------------------------------------------------


def test_a_strict_message_reads():
    message = p.parse_message(b"ASR 2.3 DEFINE_GRAMMAR\r\nContent-ID: g\r\nContent-Type: application/srgs\r\n"
                              b"Content-Length: 5\r\n\r\nhello")
    assert message.name == "DEFINE_GRAMMAR" and message.body == b"hello"
    assert message.get("Content-ID") == "g" and message.content_type == "application/srgs"


@pytest.mark.parametrize("data", [
    b"ASR 2.3 CREATE_SESSION\nUser-Agent: x\n\n",  # LF-only
    b"ASR 2.3 CREATE_SESSION\r\nUser-Agent: x\r\n",  # no empty line
    b"ASR 2.3 CREATE_SESSION\r\nUser-Agent: x",  # no final newline at all
    b"ASR 2.3 CREATE_SESSION\r\nUser-Agent:x\r\n\r\n",  # no space after the colon
    b"ASR 2.3 CREATE_SESSION\r\nUSER-agent: x\r\n\r\n",  # any case
    b"ASR 2.3 CREATE_SESSION 1234567\r\nUser-Agent: x\r\n\r\n",  # a 4th token
    b"ASR 2.4 CREATE_SESSION\r\nUser-Agent: x\r\n\r\n",  # ASR 2.x
    b"ASR 2.0 create_session\nuser-agent:  x  ",  # all at once
])
def test_lenient_forms_read_the_same(data):
    message = p.parse_message(data)
    assert message.name == "CREATE_SESSION" and message.get("user-agent") == "x" and message.body == b""


def test_body_length_extra_bytes_and_short_bodies():
    head = b"ASR 2.3 SEND_AUDIO\r\nLastPacket: false\r\nContent-Length: 4\r\n\r\n"
    assert p.parse_message(head + b"abcdEXTRA").body == b"abcd"  # extra bytes after the body dropped
    short = b"ASR 2.3 SEND_AUDIO\nContent-Length: 100\n\nabc"
    assert p.parse_message(short).body == b"abc"  # a Content-Length larger than what came
    assert p.parse_message(b"ASR 2.3 SEND_AUDIO\n\nno length").body == b"no length"
    binary = bytes(range(256)) * 4
    assert p.parse_message(b"ASR 2.3 SEND_AUDIO\r\nContent-Length: 1024\r\n\r\n" + binary).body == binary
    assert p.parse_message(b"ASR 2.3 SEND_AUDIO\nContent-Length: 4\n\n\n\n\n\n").body == b"\n\n\n\n"


@pytest.mark.parametrize("data, complaint", [
    (b"", "start line"),
    (b"HTTP/1.1 200 OK\r\n\r\n", "start line"),
    (b"ASR 3.0 CREATE_SESSION\r\n\r\n", "start line"),
    (b"ASR 2.3\r\n\r\n", "start line"),
    (b"ASR 2.3 FLY_TO_THE_MOON\r\n\r\n", "unknown message"),
    (b"ASR 2.3 CREATE_SESSION\r\nno colon\r\n\r\n", "line 2"),
    (b"ASR 2.3 CREATE_SESSION\r\n: no name\r\n\r\n", "line 2"),
    (b"ASR 2.3 SEND_AUDIO\r\nContent-Length: -1\r\n\r\n", "negative"),
    (b"ASR 2.3 SEND_AUDIO\r\nContent-Length: x\r\n\r\n", "not a number"),
    (b"\xff\xfe\xfd\r\n\r\n", "UTF-8"),
])
def test_unreadable_messages_are_protocol_errors(data, complaint):
    with pytest.raises(p.ProtocolError) as caught:
        p.parse_message(data)
    assert complaint in str(caught.value)


def test_a_protocol_error_names_the_message_when_it_can():
    with pytest.raises(p.ProtocolError) as caught:
        p.parse_message(b"ASR 2.3 DEFINE_GRAMMAR\r\nbroken\r\n\r\n")
    assert caught.value.method == "DEFINE_GRAMMAR"


@pytest.mark.parametrize("text, value", [
    ("true", True), ("True", True), ("TRUE", True), ("1", True), ("yes", True), ("on", True), (" On ", True),
    ("false", False), ("False", False), ("0", False), ("no", False), ("off", False), ("OFF", False),
])
def test_booleans_in_every_spelling(text, value):
    assert p.parse_bool(text) is value


@pytest.mark.parametrize("text", ["", "2", "maybe", "truee", "y"])
def test_other_booleans_are_refused(text):
    with pytest.raises(ValueError):
        p.parse_bool(text)


def test_media_types_and_their_parameters():
    assert p.media_type("Application/SRGS; charset=UTF-8") == "application/srgs"
    assert p.media_parameters("audio/raw; Rate=8000;x=\"y\"") == {"rate": "8000", "x": "y"}


def wav(rate: int = 8000, frames: bytes = b"\x01\x00" * 10, channels: int = 1) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(frames)
    return out.getvalue()


def test_wav_header_is_found_and_located():
    data = wav(8000)
    found = p.wav_header(data)
    assert found is not None and (found.rate, found.channels, found.bits, found.encoding) == (8000, 1, 16, 1)
    assert data[found.data_offset:] == b"\x01\x00" * 10
    assert p.wav_header(data[:20]) is None  # still arriving
    with_list = data[:12] + b"LIST\x04\x00\x00\x00abcd" + data[12:]  # another chunk before fmt
    found = p.wav_header(with_list)
    assert found is not None and with_list[found.data_offset:] == b"\x01\x00" * 10
    with pytest.raises(ValueError):
        p.wav_header(b"RIFF\x00\x00\x00\x00AVI LIST")


# --- emitting strictly ------------------------------------------------------------------------


def test_emission_is_strict():
    data = p.encode_message("RESPONSE", [("Handle", 12), ("Method", "CREATE_SESSION"), ("Result", "SUCCESS"),
                                         ("Session-Status", "IDLE")])
    assert data == (b"ASR 2.3 RESPONSE\r\nHandle: 12\r\nMethod: CREATE_SESSION\r\nResult: SUCCESS\r\n"
                    b"Session-Status: IDLE\r\n\r\n")
    body = "{\"é\":1}".encode()
    data = p.encode_message("RECOGNITION_RESULT", {"Handle": 1, "Result-Status": "RECOGNIZED", "Session-Status": "IDLE",
                                                  "Content-Length": 999},
                            body)
    assert data.endswith(b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    assert data.count(b"Content-Length") == 1
    read_strictly(data)


def test_header_values_never_hold_asr_or_line_breaks():
    assert p.header_safe("ASR failed:\r\n at ASR") == "%41SR failed: at %41SR"
    data = p.encode_message("RESPONSE", [("Handle", 1), ("Message", "bad\nASR 2.3 RESPONSE")])
    assert data.count(b"\r\n") == 4 and b"ASR" not in data[len(b"ASR 2.3 RESPONSE"):]


# --- result bodies ----------------------------------------------------------------------------


def test_an_empty_result_has_empty_alternatives():
    body = result_dict(ResultBody(status="NO_INPUT_TIMEOUT"))
    assert body == {"alternatives": [], "segment_index": 0, "last_segment": True, "final_result": True,
                    "result_status": "NO_INPUT_TIMEOUT"}
    content_type, data = render(ResultBody(status="NO_MATCH"), "application/xml")
    assert content_type == "application/xml" and data.startswith(b"<?xml") and b"\n" not in data
    assert render(ResultBody(status="NO_MATCH"), "")[0] == "application/json"


def test_json_and_xml_bodies_escape_asr_and_read_back():
    value = {"ASR": ["ASR", "xASRy"], "line": "a\nASR 2.3 RESPONSE"}
    text = to_json(value)
    assert "ASR" not in text and "\n" not in text and json.loads(text) == value
    xml = to_xml({"result_status": "RECOGNIZED", "alternatives": [{"text": "ASR", "interpretations": [value]}]})
    assert "ASR" not in xml and "\n" not in xml
    from lxml import etree

    root = etree.fromstring(xml.encode())
    interpretation = root.find("alternatives/alternative/interpretations/interpretation")
    assert [child.tag for child in interpretation] == ["_x0041_SR", "line"]
    assert [item.text for item in interpretation[0]] == ["ASR", "xASRy"]
    assert interpretation[1].text == "a\nASR 2.3 RESPONSE"
    assert root.findtext("alternatives/alternative/text") == "ASR"
