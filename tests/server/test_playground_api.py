"""The grammar playground's endpoints (server/playground_api.py) through the app ``srgs serve`` runs."""

from __future__ import annotations

import asyncio
import html
import re
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

import server.playground_api as playground
from interpreter.tree import ParseRule, ParseToken
from server.app import create_app
from server.engine import ServerEngine
from srgs.config import EngineConfig

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's notice about its httpx test client
    from starlette.testclient import TestClient

YESNO = """#ABNF 1.0 UTF-8;
language en-US;
root $answer;
tag-format <semantics/1.0>;
public $answer = $yes {out = "yes"} | $no {out = "no"};
$yes = yes | yeah [please];
$no = no | nope;
"""

YESNO_XML = """<?xml version="1.0" encoding="UTF-8"?>
<grammar xmlns="http://www.w3.org/2001/06/grammar" version="1.0" xml:lang="en-US" root="answer"
         tag-format="semantics/1.0">
  <rule id="answer" scope="public">
    <one-of>
      <item>yes <tag>out = "yes";</tag></item>
      <item>no <tag>out = "no";</tag></item>
    </one-of>
  </rule>
</grammar>
"""


def client_for(config: EngineConfig | None = None) -> TestClient:
    return TestClient(create_app(ServerEngine(config)), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with client_for() as test_client:
        yield test_client


def position_of(text: str, needle: str) -> tuple[int, int]:
    """1-based line and column of the first ``needle`` in ``text``."""
    offset = text.index(needle)
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


# --- the page ----------------------------------------------------------------------------------


def test_the_page_is_served_at_the_root_with_everything_it_loads_from_this_server(client: TestClient):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    loaded = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert loaded and all(url.startswith("/playground/") for url in loaded)
    for url in loaded:
        answer = client.get(url)
        assert answer.status_code == 200, url
        assert not re.search(r"https?://", answer.text.replace("http://www.w3.org/2000/svg", "")), url
    assert client.get("/playground/app.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/playground/style.css").headers["content-type"].startswith("text/css")
    for name in ("index.html", "app.js", "style.css"):  # the page's ids the script uses exist
        assert (playground.PAGE_DIR / name).is_file()
    script = (playground.PAGE_DIR / "app.js").read_text()
    ids = set(re.findall(r'\$\("([a-z-]+)"\)', script))
    assert ids and all(f'id="{name}"' in page.text for name in ids), ids - set(re.findall(r'id="([a-z-]+)"', page.text))


# --- built-ins ---------------------------------------------------------------------------------


def test_builtins_list_examples_and_voice_grammars_with_example_texts(client: TestClient):
    grammars = client.get("/playground/builtins").json()["grammars"]
    uris = {g["uri"]: g for g in grammars}
    assert "builtin:examples/yesno" in uris and "builtin:examples/pizza" in uris
    assert "builtin:grammar/digits?lang=en-US" in uris and "builtin:grammar/digits?lang=pt-BR" in uris
    assert "yes please" in uris["builtin:examples/yesno"]["examples"]  # its @example comment
    assert uris["builtin:examples/pizza"]["form"] == "xml"


def test_a_builtin_source_has_its_parameters_at_their_defaults_and_checks_ok(client: TestClient):
    source = client.get("/playground/source", params={"uri": "builtin:grammar/digits?lang=en-US"}).json()["text"]
    assert "__minlength__" not in source and "public $digits = $need1 {" in source and "$uptonone" in source
    report = client.post("/playground/check", json={"grammar": source}).json()
    assert report["ok"] and report["root"] == "digits"
    missing = client.get("/playground/source", params={"uri": "file:///etc/passwd"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"


# --- check -------------------------------------------------------------------------------------


def test_check_reports_abnf_problems_at_their_line_and_column(client: TestClient):
    broken = YESNO.replace("$no = no | nope;", "$no = no | (nope;")
    report = client.post("/playground/check", json={"grammar": broken}).json()
    assert report["ok"] is False and report["form"] == "abnf"
    line, column = position_of(broken, "(nope;")
    [problem] = report["errors"]
    assert (problem["line"], problem["column"]) == (line, column + len("(nope"))
    assert problem["file"] == playground.SOURCE_NAME and problem["severity"] == "error"
    assert "')'" in problem["message"]


def test_check_reports_every_problem_of_an_xml_grammar(client: TestClient):
    broken = YESNO_XML.replace('<item>no <tag>out = "no";</tag></item>',
                               '<item>no <ruleref uri="#maybe"/><tag>out = "no" +;</tag></item>')
    report = client.post("/playground/check", json={"grammar": broken}).json()
    assert report["form"] == "xml" and not report["ok"]
    lines = {problem["line"] for problem in report["errors"]}
    assert position_of(broken, '<ruleref uri="#maybe"/>')[0] in lines
    assert any("maybe" in problem["message"] for problem in report["errors"])


def test_check_of_text_that_is_no_grammar_says_so_at_its_start(client: TestClient):
    report = client.post("/playground/check", json={"grammar": "hello there"}).json()
    assert report["ok"] is False and report["form"] is None
    assert [(e["line"], e["column"]) for e in report["errors"]] == [(1, 1)]
    assert "not an SRGS grammar" in report["errors"][0]["message"]
    refused = client.post("/playground/interpret", json={"grammar": "hello there", "text": "hello"})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "GRAMMAR_SYNTAX"


def test_check_reports_a_tag_script_syntax_error_at_the_tag(client: TestClient):
    broken = YESNO.replace('{out = "no"}', '{out = "no" +}')
    report = client.post("/playground/check", json={"grammar": broken}).json()
    assert not report["ok"]
    assert report["errors"][0]["line"] == position_of(broken, '{out = "no" +}')[0]


def test_check_of_a_good_grammar_says_what_it_is(client: TestClient):
    report = client.post("/playground/check", json={"grammar": YESNO}).json()
    assert report == {"ok": True, "form": "abnf", "rules": 3, "root": "answer", "mode": "voice",
                      "referenced_grammars": 0, "errors": []}
    assert client.post("/playground/check", json={"grammar": YESNO_XML}).json()["form"] == "xml"


def test_a_pasted_grammar_reads_builtins_but_no_file(client: TestClient, tmp_path: Path):
    secret = tmp_path / "secret.gram"
    secret.write_text("#ABNF 1.0 UTF-8;\nlanguage en-US;\nroot $s;\npublic $s = secret;\n")
    reaching = YESNO.replace("$no = no | nope;", f"$no = no | $<{secret.as_uri()}>;")
    report = client.post("/playground/check", json={"grammar": reaching}).json()
    assert not report["ok"] and report["errors"][0]["line"] == position_of(reaching, "$<file:")[0]
    assert "may not read local files" in report["errors"][0]["message"]
    refused = client.post("/playground/interpret", json={"grammar": reaching, "text": "secret"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "ACCESS_DENIED"
    builtin = YESNO.replace("$no = no | nope;", "$no = no | nope;\npublic $digits = $<builtin:grammar/digits>;")
    assert client.post("/playground/check", json={"grammar": builtin}).json()["ok"]


# --- interpret ---------------------------------------------------------------------------------


def test_interpret_gives_the_result_json_and_the_parse_tree(client: TestClient):
    answer = client.post("/playground/interpret", json={"grammar": YESNO, "text": "Yeah please"})
    assert answer.status_code == 200
    body = answer.json()
    result = body["result"]
    assert result["result_status"] == "RECOGNIZED"
    assert result["alternatives"][0]["text"] == "yeah please"
    assert result["alternatives"][0]["interpretations"] == ["yes"]
    [parse] = body["parses"]
    assert parse["value"] == "yes"
    assert parse["notation"] == '$answer[$yes["yeah","please"],{!{out = "yes"}!}]'
    assert [(n["depth"], n["kind"], n["text"]) for n in parse["nodes"]] == [
        (0, "rule", "$answer"), (1, "rule", "$yes"), (2, "token", "yeah"), (2, "token", "please"),
        (1, "tag", 'out = "yes"')]


def test_interpret_no_match_and_nbest(client: TestClient):
    body = client.post("/playground/interpret", json={"grammar": YESNO, "text": "maybe"}).json()
    assert body["result"]["result_status"] == "NO_MATCH" and body["parses"] == []
    for nbest in (0, 11, "2", True):
        refused = client.post("/playground/interpret", json={"grammar": YESNO, "text": "yes", "nbest": nbest})
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "INVALID_REQUEST"


def test_interpret_with_a_broken_grammar_gives_every_problem_positioned(client: TestClient):
    broken = YESNO.replace("$yes = yes", "$yes = (yes").replace("$no = no | nope;", "$no = no | $maybe;")
    answer = client.post("/playground/interpret", json={"grammar": broken, "text": "yes"})
    assert answer.status_code == 422
    body = answer.json()
    assert body["error"]["code"] == "GRAMMAR_SYNTAX" and "see errors" in body["error"]["message"]
    assert all(problem["line"] for problem in body["errors"]) and len(body["errors"]) >= 2


def test_a_text_over_the_limit_is_refused():
    with client_for(EngineConfig.load(overrides={"limits.max_text_chars": "10"})) as client:
        answer = client.post("/playground/interpret", json={"grammar": YESNO, "text": "yes " * 10})
    assert answer.status_code == 413 and answer.json()["error"]["code"] == "TEXT_TOO_LONG"


# --- draw --------------------------------------------------------------------------------------



def test_draw_gives_the_automaton_as_svg(client: TestClient):
    if shutil.which("dot") is None:
        pytest.fail("graphviz 'dot' is not installed (.ci/run installs graphviz)", pytrace=False)
    body = client.post("/playground/draw", json={"grammar": YESNO}).json()
    assert body["svg"].startswith("<svg") and body["svg"].rstrip().endswith("</svg>")
    assert body["svg"].count('class="node"') == body["states"] > 1
    assert 'yeah:"yeah"' in html.unescape(body["svg"])  # arcs labelled with the words and the grammar's tokens
    acceptor = client.post("/playground/draw", json={"grammar": YESNO, "acceptor": True}).json()
    assert acceptor["acceptor"] is True and acceptor["svg"].startswith("<svg")


def test_draw_refusals_are_json(client: TestClient, monkeypatch: pytest.MonkeyPatch):
    undefined = YESNO.replace("$no = no | nope;", "$no = no | $maybe;")
    broken = client.post("/playground/draw", json={"grammar": undefined})
    assert broken.status_code == 422 and broken.json()["errors"][0]["line"] == position_of(undefined, "$maybe")[0]
    assert client.post("/playground/draw", json={"grammar": YESNO, "acceptor": "yes"}).status_code == 400
    monkeypatch.setattr(playground, "MAX_DRAW_STATES", 2)
    large = client.post("/playground/draw", json={"grammar": YESNO})
    assert large.status_code == 422 and large.json()["error"]["code"] == "TOO_LARGE_TO_DRAW"
    monkeypatch.setenv("PATH", "")
    missing = client.post("/playground/draw", json={"grammar": YESNO})
    assert missing.status_code == 501 and "graphviz" in missing.json()["error"]["message"]


# --- requests ----------------------------------------------------------------------------------


def test_a_request_over_max_message_bytes_is_refused_even_without_a_length():
    grammar = YESNO + "// " + "x" * 2000 + "\n"
    with client_for(EngineConfig.load(overrides={"server.max_message_bytes": "1000"})) as client:
        declared = client.post("/playground/check", json={"grammar": grammar})
        chunks = (part.encode() for part in ['{"grammar": ', repr(grammar).replace("'", '"')[:1500], '"}'])
        streamed = client.post("/playground/check", content=chunks, headers={"content-type": "application/json"})
        small = client.post("/playground/check", json={"grammar": YESNO})
    for refused in (declared, streamed):
        assert refused.status_code == 413 and refused.json()["error"]["code"] == "REQUEST_TOO_LARGE"
    assert "content-length" not in streamed.request.headers
    assert small.status_code == 200 and small.json()["ok"]


@pytest.mark.parametrize(("body", "says"), [
    (b"{not json", "not JSON"), (b"[1, 2]", "JSON object"), (b'{"text": "yes"}', "'grammar' must be a string"),
    (b'{"grammar": "  "}', "empty"), (b"\xff\xfe", "not JSON"), (b"[" * 100_000 + b"]" * 100_000, "nested too deep"),
    (b'{"grammar": "#ABNF 1.0 UTF-8;\\ud800"}', "lone surrogate"),
])
def test_malformed_requests_get_a_json_error(client: TestClient, body: bytes, says: str):
    answer = client.post("/playground/check", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 400 and says in answer.json()["error"]["message"]


def test_a_value_no_utf8_can_hold_comes_back_as_valid_json(client: TestClient):
    grammar = YESNO.replace('{out = "no"}', '{out = "\\ud800"}')
    answer = client.post("/playground/interpret", json={"grammar": grammar, "text": "no"})
    assert answer.status_code == 200 and answer.content.decode("utf-8")  # valid UTF-8
    assert answer.json()["result"]["alternatives"][0]["interpretations"] == ["\ud800"]


def test_a_fault_of_the_server_is_json_without_a_traceback(client: TestClient, monkeypatch: pytest.MonkeyPatch):
    def broken(*args: object) -> None:
        raise RuntimeError("internal detail")

    monkeypatch.setattr(playground, "check_grammar", broken)
    answer = client.post("/playground/check", json={"grammar": YESNO})
    assert answer.status_code == 500 and answer.json()["error"]["code"] == "INTERNAL_ERROR"
    assert "internal detail" not in answer.text and "Traceback" not in answer.text


def test_grammar_work_runs_off_the_event_loop(client: TestClient, monkeypatch: pytest.MonkeyPatch):
    seen: list[bool] = []
    real = playground.interpret_text

    def spy(*args: object) -> object:
        try:
            asyncio.get_running_loop()
            seen.append(True)
        except RuntimeError:
            seen.append(False)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(playground, "interpret_text", spy)
    assert client.post("/playground/interpret", json={"grammar": YESNO, "text": "yes"}).status_code == 200
    assert seen == [False]


def test_requests_are_counted_in_the_metrics():
    engine = ServerEngine()
    with TestClient(create_app(engine)) as client:
        client.post("/playground/check", json={"grammar": YESNO})
        client.post("/playground/check", json={"grammar": "#ABNF 1.0 UTF-8;\n$a = (;"})  # a report, not a refusal
        client.post("/playground/interpret", json={"grammar": "", "text": "yes"})
    assert engine.metrics.value("playground_requests", action="check") == 2
    assert engine.metrics.value("playground_errors", action="interpret", code="INVALID_REQUEST") == 1


def test_a_deep_parse_tree_is_flattened_without_recursion():
    depth = 5000  # deeper than Python's recursion limit
    tree: ParseRule = ParseRule("leaf", "$leaf", "g", (ParseToken("x", ("x",)),))
    for level in range(depth):
        tree = ParseRule(f"r{level}", f"$r{level}", "g", (tree,))
    nodes = playground.tree_nodes(tree)
    assert len(nodes) == depth + 2 and nodes[-1] == {"depth": depth + 1, "kind": "token", "text": "x", "words": ["x"]}
