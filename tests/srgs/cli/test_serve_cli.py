"""``srgs serve`` end to end: the real command as a subprocess on a free port, one worker and two,
answering HTTP and WebSocket clients, then stopped cleanly by a signal."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class Served:
    """``srgs serve`` running in a subprocess; stopped with SIGINT."""

    def __init__(self, tmp_path: Path, *args: str):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / f"serve-{self.port}.log"
        environ = {**os.environ, "SRGS_CACHE_DIR": str(tmp_path / "cache")}
        with self.log.open("wb") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "srgs.cli", "serve", "--port", str(self.port), *args],
                                            cwd=REPO, env=environ, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while True:
            try:
                if get(self.base + "/health")[0] == 200:
                    return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"srgs serve did not start:\n{self.log.read_text()}")
            time.sleep(0.2)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def exercise(served: Served, *, one_worker: bool) -> None:
    status, body = get(served.base + "/health")
    assert status == 200 and json.loads(body)["status"] == "ok"
    status, body = get(served.base + "/v1/interpret", json.dumps({
        "text": "two large pizzas", "grammars": ["builtin:examples/pizza"]}).encode(), {"Content-Type": "application/json"})
    assert status == 200, body
    assert json.loads(body)["alternatives"][0]["interpretations"] == [{"qty": 2, "size": "L"}]
    status, body = get(served.base + "/v1/interpret", b"{", {"Content-Type": "application/json"})
    assert status == 400 and json.loads(body)["error"]["code"] == "INVALID_REQUEST"
    status, body = get(served.base + "/metrics")
    assert status == 200
    assert re.search(rb"^srgs_sessions 0$", body, re.MULTILINE), body
    if one_worker:  # else this worker may not be the one that answered the requests above
        assert re.search(rb'^srgs_http_requests_total\{route="interpret",status="200"\} 1$', body, re.MULTILINE), body


def websocket_session(served: Served) -> bytes:
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    with connect(f"ws://127.0.0.1:{served.port}/asr-server/asr", open_timeout=30) as websocket:
        websocket.send(b"ASR 2.3 CREATE_SESSION\r\n\r\n")
        created = websocket.recv(timeout=30)
        websocket.send(b"ASR 2.3 RELEASE_SESSION\r\n\r\n")
        try:  # the answer, then the server closes the connection
            while True:
                websocket.recv(timeout=30)
        except ConnectionClosed:
            pass
    assert isinstance(created, bytes)
    return created


def test_serve_answers_http_and_websocket_and_stops_cleanly(tmp_path):
    served = Served(tmp_path, "--set", "server.max_sessions=7")
    try:
        exercise(served, one_worker=True)
        assert json.loads(get(served.base + "/health")[1])["max_sessions"] == 7  # --set reached the worker
        assert b"Result: SUCCESS" in websocket_session(served)
    finally:
        status = served.stop()
    output = served.output()
    assert status == 0, output
    assert "Traceback" not in output
    assert '"POST /v1/interpret HTTP/1.1" 200' in output  # one line per request
    assert re.search(r"^\S+ \S+ INFO \[\d+\] srgs\.server\S*: .*session", output, re.MULTILINE), output  # and per session event
    assert list((tmp_path / "cache").glob("*.far"))  # compiled into the shared cache directory


def test_serve_with_two_workers_sharing_the_cache(tmp_path):
    config = tmp_path / "engine.toml"
    config.write_text("[server]\nmax_sessions = 9\n")
    served = Served(tmp_path, "--workers", "2", "--no-access-log", "--config", str(config))
    try:
        exercise(served, one_worker=False)
        answers = [json.loads(get(served.base + "/health")[1]) for _ in range(20)]
        pids = {answer["pid"] for answer in answers}
        assert {answer["max_sessions"] for answer in answers} == {9}  # every worker read the --config file
    finally:
        status = served.stop()
    output = served.output()
    assert status == 0, output
    workers = set(map(int, re.findall(r"Started server process \[(\d+)\]", output)))
    assert len(workers) == 2 and pids <= workers, output
    assert "Traceback" not in output and "POST /v1/interpret" not in output
    assert list((tmp_path / "cache").glob("*.far"))


@pytest.mark.parametrize(("args", "message"), [
    (["--set", "server.max_sessions=0"], "max_sessions must be at least 1"),
    (["--host", "no.such.host.invalid"], "srgs serve: cannot listen on no.such.host.invalid:"),
])
def test_serve_refuses_a_bad_configuration_or_address_before_listening(args, message):
    run = subprocess.run([sys.executable, "-m", "srgs.cli", "serve", *args], cwd=REPO, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 1 and message in run.stderr and "Traceback" not in run.stderr


def test_serve_refuses_a_port_in_use():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = subprocess.run([sys.executable, "-m", "srgs.cli", "serve", "--port", str(port)], cwd=REPO,
                             capture_output=True, text=True, timeout=60)
    assert run.returncode == 1
    assert run.stderr.strip() == f"srgs serve: cannot listen on 127.0.0.1:{port}: address already in use"


def test_serve_help():
    run = subprocess.run([sys.executable, "-m", "srgs.cli", "serve", "--help"], cwd=REPO, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0
    for option in ("--host", "--port", "--workers", "--config", "--cache-dir", "/asr-server/asr", "/v1/recognize"):
        assert option in run.stdout
