"""The HTTP API (server.http_api) through the app, in process: interpret, recognise (espeak-ng
speech), built-ins, health, metrics, OpenAPI, and the errors: JSON, 4xx, one line, never a traceback."""

from __future__ import annotations

import asyncio
import base64
import json
import math
from typing import Any

import httpx
import numpy as np
import pytest

from decoder.audio import read_wav
from server.app import create_app
from server.engine import ServerEngine
from server.metrics import Metrics
from srgs.config import EngineConfig
from tests.decoder.speech import synthesise

PIZZA = "builtin:examples/pizza"
DRINKS = "#ABNF 1.0 UTF-8;\nlanguage en-US;\nroot $d;\npublic $d = (tea {out='tea'} | coffee {out='coffee'}) please;\n"


def call(app: Any, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(run())


@pytest.fixture(scope="module")
def engine() -> ServerEngine:
    return ServerEngine(EngineConfig.load(overrides={"server.max_message_bytes": "400000", "server.max_audio_s": "6",
                                                     "limits.max_text_chars": "5000"}))


@pytest.fixture(scope="module")
def app(engine):
    return create_app(engine)


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    error = body["error"]
    assert error["code"] == code
    assert "\n" not in error["message"] and "Traceback" not in error["message"]
    return {**error, "records": body.get("errors")}


# --- interpret ----------------------------------------------------------------------------------


def test_interpret_json_gives_the_recognition_result_body(app):
    response = call(app, "POST", "/v1/interpret", json={"text": "two large pizzas with mushrooms", "grammars": [PIZZA]})
    assert response.status_code == 200
    body = response.json()
    assert body["result_status"] == "RECOGNIZED" and body["final_result"] is True
    assert body["alternatives"][0]["interpretations"] == [{"qty": 2, "size": "L", "toppings": ["mushroom"]}]
    assert body["alternatives"][0]["lm"] == PIZZA


def test_interpret_plain_text_with_grammars_in_the_query(app):
    response = call(app, "POST", "/v1/interpret", params={"grammar": "builtin:grammar/digits?length=3"},
                    content="one two three", headers={"content-type": "text/plain"})
    assert response.status_code == 200, response.text
    assert response.json()["alternatives"][0]["interpretations"] == ["123"]


def test_inline_grammars_weights_nbest_and_definitions(app):
    # two grammars answer "paris"; the weights rank them and nbest keeps both
    france = "#ABNF 1.0 UTF-8;\nlanguage en-US;\nroot $c;\npublic $c = paris {out='FR'};\n"
    texas = "#ABNF 1.0 UTF-8;\nlanguage en-US;\nroot $c;\npublic $c = paris {out='US'};\n"
    body = call(app, "POST", "/v1/interpret", json={
        "text": "paris", "nbest": 2,
        "grammars": [{"text": france, "id": "fr", "weight": 3}, {"text": texas, "id": "us", "weight": 1}]}).json()
    assert [alt["lm"] for alt in body["alternatives"]] == ["session:fr", "session:us"]
    assert body["alternatives"][0]["score"] == 100 and body["alternatives"][1]["score"] == 33
    # a definition is referenced by an active grammar without being active itself
    main = "#ABNF 1.0 UTF-8;\nlanguage en-US;\nroot $m;\npublic $m = a $<session:drinks>;\n"
    body = call(app, "POST", "/v1/interpret", json={"text": "a tea please", "definitions": {"drinks": DRINKS},
                                                    "grammars": [{"text": main}]}).json()
    assert body["alternatives"][0]["interpretations"] == ["tea"] and body["alternatives"][0]["lm"] == "session:inline0"
    assert call(app, "POST", "/v1/interpret", json={"text": "tea please", "definitions": {"drinks": DRINKS},
                                                    "grammars": [{"text": main}]}).json()["result_status"] == "NO_MATCH"


def test_free_speech_gives_the_text_when_no_grammar_matches(app):
    both = {"grammars": [PIZZA, "builtin:slm/general"]}
    body = call(app, "POST", "/v1/interpret", json={"text": "two large pizzas", **both}).json()
    assert body["alternatives"][0]["lm"] == PIZZA
    body = call(app, "POST", "/v1/interpret", json={"text": "what  a nice day", **both}).json()
    assert body["alternatives"][0]["lm"] == "builtin:slm/general"
    assert body["alternatives"][0]["interpretations"] == ["what a nice day"]


def test_request_grammars_do_not_outlive_the_request(app):
    call(app, "POST", "/v1/interpret", json={"text": "tea please", "grammars": [{"text": DRINKS, "id": "drinks"}]})
    response = call(app, "POST", "/v1/interpret", json={"text": "tea please", "grammars": ["session:drinks"]})
    assert_error(response, 422, "REFERENCE_FAILED")


def test_a_semantic_failure_is_a_result_not_an_error(app):
    bad = "#ABNF 1.0 UTF-8;\nlanguage en-US;\ntag-format <semantics/1.0>;\nroot $a;\npublic $a = boom {out = nothing.here};\n"
    body = call(app, "POST", "/v1/interpret", json={"text": "boom", "grammars": [{"text": bad}]}).json()
    assert body["result_status"] == "FAILURE" and body["error"]["code"] == "SEMANTICS_FAILURE"


def test_grammar_errors_are_positioned_json(app):
    broken = "#ABNF 1.0 UTF-8;\nlanguage en-US;\nroot $a;\npublic $a = hello $nowhere;\n$b = (;\n"
    error = assert_error(call(app, "POST", "/v1/interpret", json={"text": "hello", "grammars": [{"text": broken}]}),
                         422, "GRAMMAR_INVALID")  # the first problem's code: $nowhere on line 4
    assert error["message"].startswith("session:inline0:4:") and "more: see errors" in error["message"]
    assert [record["line"] for record in error["records"]] == [4, 5]


@pytest.mark.parametrize(("payload", "status", "code"), [
    ({"text": "x"}, 400, "INVALID_REQUEST"),                                        # no grammars
    ({"text": "x", "grammars": [{"uri": PIZZA, "text": "both"}]}, 400, "INVALID_REQUEST"),
    ({"text": "x", "grammars": [PIZZA], "nbest": 0}, 400, "INVALID_REQUEST"),
    ({"text": "x", "grammars": [{"uri": PIZZA, "weight": -1}]}, 400, "INVALID_REQUEST"),
    ({"text": 5, "grammars": [PIZZA]}, 400, "INVALID_REQUEST"),
    ({"text": "x", "grammars": ["builtin:grammar/nosuch"]}, 422, "REFERENCE_FAILED"),
    ({"text": "x", "grammars": ["/etc/passwd"]}, 403, "ACCESS_DENIED"),            # closed policy: no files
    ({"text": "x" * 6000, "grammars": [PIZZA]}, 413, "TEXT_TOO_LONG"),
])
def test_bad_interpret_requests(app, payload, status, code):
    assert_error(call(app, "POST", "/v1/interpret", json=payload), status, code)


def test_malformed_bodies_and_media_types(app):
    assert_error(call(app, "POST", "/v1/interpret", content=b"{not json", headers={"content-type": "application/json"}),
                 400, "INVALID_REQUEST")
    assert_error(call(app, "POST", "/v1/interpret", content=b"<x/>", headers={"content-type": "application/xml"}),
                 415, "UNSUPPORTED_MEDIA_TYPE")
    assert_error(call(app, "POST", "/v1/interpret", content=b"\xff\xfe", params={"grammar": PIZZA},
                      headers={"content-type": "text/plain"}), 400, "INVALID_REQUEST")


def test_hostile_json_is_answered_not_a_server_fault(app):
    # a lone surrogate in the text comes back escaped in valid UTF-8 JSON
    response = call(app, "POST", "/v1/interpret", content=b'{"text": "\\ud800 tea please", "grammars": ["builtin:slm/general"]}',
                    headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    assert response.content.decode("utf-8") and b"\\ud800" in response.content
    assert response.json()["alternatives"][0]["text"] == "\ud800 tea please"
    deep = b'{"text": "x", "grammars": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert_error(call(app, "POST", "/v1/interpret", content=deep, headers={"content-type": "application/json"}),
                 400, "INVALID_REQUEST")


def test_bodies_over_the_message_limit_are_refused(app):
    big = {"text": "x", "grammars": [PIZZA], "pad": "y" * 500_000}
    assert_error(call(app, "POST", "/v1/interpret", json=big), 413, "MESSAGE_TOO_LARGE")

    async def chunks():  # no Content-Length: counted while it streams
        for _ in range(50):
            yield b"z" * 10_000

    assert_error(call(app, "POST", "/v1/interpret", content=chunks(), params={"grammar": PIZZA},
                      headers={"content-type": "text/plain"}), 413, "MESSAGE_TOO_LARGE")


def test_unknown_routes_and_methods_are_json_errors(app):
    assert_error(call(app, "GET", "/v1/nothing"), 404, "NOT_FOUND")
    assert_error(call(app, "GET", "/v1/interpret"), 405, "METHOD_NOT_ALLOWED")


def test_a_bug_is_a_500_json_error_with_no_traceback(engine, monkeypatch):
    import server.http_api as http_api

    def explode() -> list[dict[str, object]]:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(http_api, "builtin_catalogue", explode)
    error = assert_error(call(create_app(engine), "GET", "/v1/builtins"), 500, "INTERNAL_ERROR")
    assert "secret" not in error["message"]


# --- recognize ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pizza_wav(tmp_path_factory) -> bytes:
    return synthesise("a small pizza with ham", tmp_path_factory.mktemp("speech")).read_bytes()


def test_a_recognition_counts_against_max_sessions(pizza_wav, monkeypatch):
    engine = ServerEngine(EngineConfig.load(overrides={"server.max_sessions": "1"}))
    app = create_app(engine)
    held: list[int] = []
    real_session = engine.decoder_session

    def watching(*args: Any, **kwargs: Any) -> Any:
        held.append(engine.sessions)  # what the engine counts while this request decodes
        return real_session(*args, **kwargs)

    monkeypatch.setattr(engine, "decoder_session", watching)
    ok = call(app, "POST", "/v1/recognize", params={"grammar": PIZZA}, content=pizza_wav,
              headers={"content-type": "audio/wav"})
    assert ok.status_code == 200 and held == [1] and engine.sessions == 0  # counted, then freed
    assert engine.open_session()  # a WebSocket session holds the only place
    full = call(app, "POST", "/v1/recognize", params={"grammar": PIZZA}, content=pizza_wav,
                headers={"content-type": "audio/wav"})
    assert_error(full, 503, "SERVER_FULL")
    assert held == [1] and engine.sessions == 1  # refused before any decoding; the other session kept
    bad = call(app, "POST", "/v1/recognize", params={"grammar": "builtin:grammar/nope"}, content=pizza_wav,
               headers={"content-type": "audio/wav"})
    assert bad.status_code == 503 and engine.sessions == 1
    engine.close_session()
    failed = call(app, "POST", "/v1/recognize", params={"grammar": "builtin:grammar/nope"}, content=pizza_wav,
                  headers={"content-type": "audio/wav"})
    assert failed.status_code >= 400 and failed.status_code != 503 and engine.sessions == 0  # freed on errors too


def test_recognize_a_wav_body(app, pizza_wav):
    response = call(app, "POST", "/v1/recognize", params={"grammar": PIZZA}, content=pizza_wav,
                    headers={"content-type": "audio/wav"})
    assert response.status_code == 200, response.text
    body = response.json()  # the RECOGNITION_RESULT body, word details on the best alternative
    best = body["alternatives"][0]
    assert best["interpretations"] == [{"qty": 1, "size": "S", "toppings": ["ham"]}]
    assert [word["text"] for word in best["words"]] == "a small pizza with ham".split()
    assert body["start_time"] == best["words"][0]["start_time"] < best["words"][-1]["end_time"] == body["end_time"]
    assert body["result_status"] == "RECOGNIZED" and body["final_result"] is True
    plain = call(app, "POST", "/v1/recognize", params={"grammar": PIZZA, "word_details": "0"}, content=pizza_wav,
                 headers={"content-type": "audio/wav"}).json()
    assert "words" not in plain["alternatives"][0] and plain["alternatives"][0]["text"] == best["text"]


def test_recognize_raw_pcm_at_8khz_and_json_base64(app, tmp_path):
    import wave

    from decoder.audio import parse_wav

    wav8 = synthesise("a small pizza with ham", tmp_path, rate=8000)
    with wave.open(str(wav8), "rb") as reader:
        pcm8 = reader.readframes(reader.getnframes())
    # rejection off: this test is about the 8 kHz raw path, not the rejection threshold's calibration
    raw = call(app, "POST", "/v1/recognize", params={"grammar": PIZZA, "rejection_threshold": "0"}, content=pcm8,
               headers={"content-type": "audio/l16; rate=8000"})
    assert raw.status_code == 200, raw.text
    assert raw.json()["alternatives"][0]["text"] == "a small pizza with ham"
    pcm16 = parse_wav(wav8.read_bytes()).pcm()  # resampled to 16 kHz
    encoded = base64.b64encode(pcm16).decode("ascii")
    body = call(app, "POST", "/v1/recognize", json={"audio": encoded, "rate": 16000, "grammars": [PIZZA],
                                                     "rejection_threshold": 0}).json()
    assert body["alternatives"][0]["text"] == "a small pizza with ham"


def test_recognize_on_the_ctc_back_end_with_the_request_rejection_threshold(tmp_path, monkeypatch):
    """``decoder.backend = "ctc"``: /v1/recognize decodes with ``CtcModel``, the request's
    ``rejection_threshold`` over the configured one."""
    from decoder.ctc_backend import CtcModel

    thresholds: list[object] = []
    real_session = CtcModel.session

    def recorded(self: CtcModel, activation: Any, **options: Any) -> Any:
        thresholds.append(options.get("rejection_threshold"))
        return real_session(self, activation, **options)

    monkeypatch.setattr(CtcModel, "session", recorded)
    app = create_app(ServerEngine(EngineConfig.load(overrides={"decoder.backend": "ctc",
                                                               "decoder.rejection_threshold": "0.05"})))
    # Clean synthesised speech can follow the CTC model's own best path on every frame: a rejection
    # score of exactly 1, which no threshold in the API's range (0-1) rejects, and sox dithers each
    # synthesis differently, so whether it did was chance (about 1 run in 8 was RECOGNIZED at 1).
    # A fixed noise 30 dB under the speech holds the score near 0.71 whatever the dither.
    samples = read_wav(synthesise("coffee please", tmp_path)).samples.astype(np.float64)
    noise = np.random.default_rng(5).normal(0.0, math.sqrt(float(np.mean(samples ** 2)) / 1000), len(samples))
    pcm = np.clip(np.rint(samples + noise), -32768, 32767).astype("<i2").tobytes()
    body = {"audio": base64.b64encode(pcm).decode("ascii"), "rate": 16000,
            "grammars": [{"text": DRINKS, "id": "drinks"}]}
    accepted = call(app, "POST", "/v1/recognize", json=body).json()
    assert accepted["alternatives"][0]["interpretations"] == ["coffee"]
    rejected = call(app, "POST", "/v1/recognize", json={**body, "rejection_threshold": 1}).json()
    assert rejected["result_status"] == "NO_MATCH"
    assert thresholds == [0.05, 1.0]


def test_recognize_refuses_bad_and_long_audio(app):
    assert_error(call(app, "POST", "/v1/recognize", params={"grammar": PIZZA}, content=b"RIFF....WAVEjunk",
                      headers={"content-type": "audio/wav"}), 400, "AUDIO_INVALID")
    assert_error(call(app, "POST", "/v1/recognize", params={"grammar": PIZZA, "rate": "44100"}, content=b"\0\0" * 10,
                      headers={"content-type": "application/octet-stream"}), 400, "AUDIO_INVALID")
    assert_error(call(app, "POST", "/v1/recognize", params={"grammar": PIZZA}, content=b"\0" * 3,
                      headers={"content-type": "application/octet-stream"}), 400, "AUDIO_INVALID")
    seven_seconds = b"\0\0" * 16000 * 7  # max_audio_s is 6 here
    assert_error(call(app, "POST", "/v1/recognize", params={"grammar": PIZZA}, content=seven_seconds,
                      headers={"content-type": "application/octet-stream"}), 413, "AUDIO_TOO_LONG")
    assert_error(call(app, "POST", "/v1/recognize", params={"grammar": PIZZA}, content=b"\0\0",
                      headers={"content-type": "video/mp4"}), 415, "UNSUPPORTED_MEDIA_TYPE")
    assert_error(call(app, "POST", "/v1/recognize", json={"audio": "!!", "grammars": [PIZZA]}), 400, "INVALID_REQUEST")
    assert_error(call(app, "POST", "/v1/recognize", params={"grammar": PIZZA, "rejection_threshold": "2"},
                      content=b"\0\0", headers={"content-type": "application/octet-stream"}), 400, "INVALID_REQUEST")
    assert_error(call(app, "POST", "/v1/recognize", params={"grammar": PIZZA, "word_details": "3"},
                      content=b"\0\0", headers={"content-type": "application/octet-stream"}), 400, "INVALID_REQUEST")


# --- catalogue, health, metrics, OpenAPI --------------------------------------------------------


def test_builtins_lists_the_catalogue_with_languages_and_parameters(app):
    from srgs.load.builtins import builtin_names

    entries = {entry["uri"]: entry for entry in call(app, "GET", "/v1/builtins").json()["builtins"]}
    assert set(entries) == {f"builtin:{name}" for name in builtin_names()}
    digits = entries["builtin:grammar/digits"]
    assert set(digits["languages"]) == {"en-US", "pt-BR"} and {"minlength", "maxlength"} <= set(digits["params"])
    assert entries["builtin:dtmf/boolean"]["mode"] == "dtmf" and entries["builtin:dtmf/boolean"]["params"] == {"n": "2", "y": "1"}


def test_health_is_ok_then_503_when_every_session_is_held():
    engine = ServerEngine(EngineConfig.load(overrides={"server.max_sessions": "1"}))
    app = create_app(engine)
    ok = call(app, "GET", "/health")
    assert ok.status_code == 200 and ok.json()["status"] == "ok" and ok.json()["max_sessions"] == 1
    assert engine.open_session()
    full = call(app, "GET", "/health")
    assert full.status_code == 503 and full.json()["status"] == "full" and full.json()["sessions"] == 1


def test_metrics_count_requests_errors_and_latencies(engine, app):
    call(app, "POST", "/v1/interpret", json={"text": "two large pizzas", "grammars": [PIZZA]})
    call(app, "POST", "/v1/interpret", json={"text": "x"})
    response = call(app, "GET", "/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    assert 'srgs_http_requests_total{route="interpret",status="200"}' in text
    assert 'srgs_errors_total{api="http",code="INVALID_REQUEST"}' in text
    assert 'srgs_interpretations_total{api="http",status="RECOGNIZED"}' in text
    assert 'srgs_interpret_seconds_bucket{api="http",le="+Inf"}' in text
    assert "# TYPE srgs_sessions gauge" in text and "srgs_max_sessions 200" in text
    assert f"srgs_grammars_prepared {len(engine.store)}" in text
    for line in text.splitlines():  # every sample line is NAME{labels} VALUE
        assert line.startswith("# TYPE ") or len(line.rsplit(" ", 1)) == 2 and float(line.rsplit(" ", 1)[1]) >= 0


def test_metrics_histograms_are_cumulative():
    metrics = Metrics()
    for seconds in (0.0005, 0.003, 0.003, 0.2, 99.0):
        metrics.observe("decode", seconds)
    text = metrics.render()
    assert 'srgs_decode_seconds_bucket{le="0.001"} 1\n' in text
    assert 'srgs_decode_seconds_bucket{le="0.005"} 3\n' in text
    assert 'srgs_decode_seconds_bucket{le="30"} 4\n' in text
    assert 'srgs_decode_seconds_bucket{le="+Inf"} 5\n' in text
    assert "srgs_decode_seconds_count 5" in text and metrics.observed("decode") == 5
    assert text.index("# TYPE srgs_decode_seconds histogram") < text.index("srgs_decode_seconds_bucket")


def test_metrics_escape_label_values():
    metrics = Metrics()
    metrics.count("errors", code='a"b\\c\nd')
    assert 'srgs_errors_total{code="a\\"b\\\\c\\nd"} 1' in metrics.render()


def test_openapi_describes_every_http_route(app):
    from starlette.routing import Route

    document = call(app, "GET", "/openapi.json").json()
    assert document["openapi"].startswith("3.") and document["info"]["title"] and document["info"]["version"]
    for route in app.routes:
        if isinstance(route, Route):
            operations = document["paths"][route.path]
            for method in route.methods - {"HEAD"}:
                operation = operations[method.lower()]
                assert operation["summary"] and "200" in operation["responses"]
    # every $ref points at a schema the document has
    refs = {ref for ref in _refs(document)}
    assert refs and all(ref.removeprefix("#/components/schemas/") in document["components"]["schemas"] for ref in refs)
    assert document["paths"]["/v1/recognize"]["post"]["requestBody"]["content"]["audio/wav"]
    assert json.dumps(document)  # plain JSON
    from openapi_spec_validator import validate

    validate(document)  # raises on anything OpenAPI 3.1 does not allow


def _refs(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [value["$ref"]] if "$ref" in value else [r for item in value.values() for r in _refs(item)]
    if isinstance(value, list):
        return [r for item in value for r in _refs(item)]
    return []


NAMES = "#ABNF 1.0 UTF-8;\nlanguage en-US;\nroot $r;\npublic $r = call (bill {out='b'} | will {out='w'});\n"


def test_recognize_hints_boost_a_grammar_word(app, engine, tmp_path, monkeypatch):
    """``hints`` (as hints.words): 'call bill' is bill, will:8 makes it will (a string or, in
    JSON, an object); a query's hints reach the decoder session; bad hints are a 400."""
    audio = base64.b64encode(read_wav(synthesise("call bill", tmp_path)).pcm()).decode("ascii")
    body = {"audio": audio, "rate": 16000, "grammars": [{"text": NAMES, "id": "names"}], "rejection_threshold": 0}

    def value(**extra: Any) -> Any:
        response = call(app, "POST", "/v1/recognize", json={**body, **extra})
        assert response.status_code == 200, response.text
        return response.json()["alternatives"][0]["interpretations"][0]

    assert value() == "b"
    assert value(hints="will:8") == "w"
    assert value(hints={"bill": -8}) == "w"
    seen: list[object] = []
    real_session = engine.decoder_session

    def watching(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs.get("word_boosts"))
        return real_session(*args, **kwargs)

    monkeypatch.setattr(engine, "decoder_session", watching)
    call(app, "POST", "/v1/recognize", params=[("grammar", PIZZA), ("hints", "ham:2"), ("hints", "small")],
         content=b"RIFF", headers={"content-type": "audio/wav"})  # bad audio: refused before decoding
    assert seen == []
    wav = synthesise("a small pizza with ham", tmp_path).read_bytes()
    ok = call(app, "POST", "/v1/recognize", params=[("grammar", PIZZA), ("hints", "ham:2"), ("hints", "small")],
              content=wav, headers={"content-type": "audio/wav"})
    assert ok.status_code == 200 and seen == [{"ham": 2.0, "small": 5.0}]
    for bad in ("will:lots", {"will": "x"}, {"two words": 1}, ["will"]):
        assert_error(call(app, "POST", "/v1/recognize", json={**body, "hints": bad}), 400, "INVALID_REQUEST")
