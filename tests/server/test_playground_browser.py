"""The grammar playground in a real browser: Debian's chromium, headless, driven through the
DevTools protocol over its WebSocket, against a real server on a loopback port.

The suite requires chromium (``.ci/run`` installs it): without it this test fails and says so.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from websockets.sync.client import ClientConnection, connect

from server.app import create_app
from server.engine import ServerEngine

TIMEOUT_S = 15.0

# A grammar with one deliberate mistake: the '(' on the last line is never closed.
BROKEN = """#ABNF 1.0 UTF-8;
language en-US;
root $answer;
tag-format <semantics/1.0>;
public $answer = $yes {out = "yes"} | $no {out = "no"};
$yes = yes | yeah [please];
$no = no | (nope;
"""
FIXED = BROKEN.replace("(nope;", "nope;")
BROKEN_LINE = 7
BROKEN_COLUMN = BROKEN.splitlines()[BROKEN_LINE - 1].index(";") + 1  # where the ')' is missing


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("chromium is not installed: the playground's browser test needs Debian's chromium "
                    "(apt-get install chromium; .ci/run installs it)", pytrace=False)
    return found


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    """A real server (uvicorn, the app ``srgs serve`` runs) on a free loopback port, in a thread."""
    app = create_app(ServerEngine())
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + TIMEOUT_S
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(TIMEOUT_S)
        sock.close()


class Browser:
    """Just enough of the DevTools protocol: commands to one page, its events kept."""

    def __init__(self, connection: ClientConnection):
        self.connection = connection
        self.events: list[dict[str, Any]] = []
        self._next = 0

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        self._next += 1
        ident = self._next
        self.connection.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self.connection.recv(timeout=TIMEOUT_S))
            if message.get("id") == ident:
                if "error" in message:
                    raise AssertionError(f"DevTools {method} failed: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            if "method" in message:
                self.events.append(message)

    def evaluate(self, expression: str) -> Any:
        answer = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in answer:
            raise AssertionError(f"page script failed: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    def wait_for(self, expression: str, what: str) -> Any:
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what} ({expression})")
            time.sleep(0.05)

    def click(self, selector: str) -> None:
        """A real mouse click (pressed and released) at the middle of the element."""
        box = self.evaluate(f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
                            " e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
                            " return {x: r.x + r.width / 2, y: r.y + r.height / 2}; })()")
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=box["x"], y=box["y"], button="left", clickCount=1)

    def type_into(self, selector: str, text: str) -> None:
        """Focus the field, select what it holds and type ``text`` over it (input events fire)."""
        self.evaluate(f"(() => {{ const e = document.querySelector({json.dumps(selector)}); e.focus(); e.select(); }})()")
        self.send("Input.insertText", text=text)

    def problems(self) -> list[str]:
        """JavaScript exceptions and console errors the page has had (CSP refusals included)."""
        found = []
        for event in self.events:
            params = event.get("params", {})
            if event["method"] == "Runtime.exceptionThrown":
                found.append(json.dumps(params.get("exceptionDetails", {}))[:500])
            elif event["method"] == "Runtime.consoleAPICalled" and params.get("type") == "error":
                found.append(json.dumps(params.get("args", []))[:500])
            elif event["method"] == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                entry = params["entry"]
                found.append(f"{entry.get('text', '')[:500]} {entry.get('url', '')}".strip())
        return found

    def requested(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events if e["method"] == "Network.requestWillBeSent"]


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    """Headless chromium with a fresh profile, attached to its first page."""
    profile = tmp_path / "profile"
    log = (tmp_path / "chromium.log").open("wb")  # a file, not a pipe: a full pipe would stall chromium
    process = subprocess.Popen(
        [chromium_path(), "--headless=new", "--remote-debugging-port=0", f"--user-data-dir={profile}", "--no-sandbox",
         "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-gpu",
         "--disable-dev-shm-usage", "--window-size=1400,1000", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=log)
    try:
        active = profile / "DevToolsActivePort"
        deadline = time.monotonic() + TIMEOUT_S
        while not (active.is_file() and len(active.read_text().splitlines()) >= 2):
            if process.poll() is not None:
                said = (tmp_path / "chromium.log").read_bytes().decode(errors="replace")[-800:]
                raise AssertionError(f"chromium exited ({process.returncode}): {said}")
            assert time.monotonic() < deadline, "chromium did not open its DevTools port"
            time.sleep(0.05)
        port = int(active.read_text().splitlines()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=TIMEOUT_S) as answer:
            targets = json.load(answer)
        page = next(t for t in targets if t.get("type") == "page")
        with connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=TIMEOUT_S) as connection:
            client = Browser(connection)
            for domain in ("Page", "Runtime", "Log", "Network"):
                client.send(f"{domain}.enable")
            yield client
    finally:
        process.terminate()
        try:
            process.wait(TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def text_of(selector: str) -> str:
    return f"document.querySelector({json.dumps(selector)}).textContent"


def test_check_interpret_and_draw_in_a_real_browser(base_url: str, browser: Browser) -> None:
    browser.send("Page.navigate", url=base_url + "/")
    browser.wait_for("document.body && document.body.dataset.ready === 'true'", "the page to load its built-ins")
    assert browser.evaluate("document.querySelectorAll('#builtin option').length") > 10  # built-ins to pick from

    # a grammar with a mistake: the problem is listed at its line:col and marked in the editor
    browser.type_into("#grammar", BROKEN)
    browser.click("#check")
    where = f"{BROKEN_LINE}:{BROKEN_COLUMN}"
    listed = browser.wait_for(f"[...document.querySelectorAll('#problems .where')].map(e => e.textContent)"
                              f".includes({json.dumps(where)}) && {text_of('#problems')}", f"problem at {where}")
    assert "expected ')'" in listed
    assert browser.evaluate(f"document.querySelector('#gutter').children[{BROKEN_LINE - 1}].className") == "error"
    assert browser.evaluate("document.querySelector('#backdrop .error-spot').textContent") == ";"

    # fixed: the problems go, the check says OK
    browser.type_into("#grammar", FIXED)
    browser.click("#check")
    browser.wait_for(f"{text_of('#check-summary')}.startsWith('OK')", "the fixed grammar to check OK")
    assert browser.evaluate("document.querySelectorAll('#problems li').length") == 0
    assert browser.evaluate("document.querySelectorAll('#gutter .error').length") == 0

    # a text: the result JSON shown holds the interpretation, and the parse tree its rules
    browser.type_into("#text", "yeah please")
    browser.click("#interpret")
    shown = browser.wait_for(f"{text_of('#result')}.includes('RECOGNIZED') && {text_of('#result')}",
                             "the interpretation")
    result = json.loads(shown)
    assert result["result_status"] == "RECOGNIZED"
    assert result["alternatives"][0]["text"] == "yeah please"
    assert result["alternatives"][0]["interpretations"] == ["yes"]
    tree = browser.evaluate(text_of("#tree"))
    assert "$answer" in tree and "$yes" in tree and '"yeah"' in tree

    # the automaton, drawn inline as SVG
    browser.click("#draw")
    browser.wait_for("document.querySelector('#drawing svg') !== null", "the drawing")
    assert browser.evaluate("document.querySelectorAll('#drawing svg g.node').length") > 1
    assert "states" in browser.evaluate(text_of("#drawing-info"))

    # everything came from our server, and the page had no script error or refused resource
    outside = [url for url in browser.requested() if not url.startswith((base_url, "data:", "about:"))]
    assert outside == []
    assert browser.problems() == []
