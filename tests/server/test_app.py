"""The assembled app (server.app): every front end on one app around one engine, and the worker
factory that reads its configuration from the environment."""

from __future__ import annotations

import json
import warnings

import pytest
from starlette.routing import Route, WebSocketRoute

from server.app import CONFIG_FILE_VARIABLE, CONFIG_SETTINGS_VARIABLE, app_from_environment, config_from_environment, create_app
from server.asr_websocket import asr_endpoint
from server.engine import ServerEngine
from srgs.config import ConfigError, EngineConfig
from tests.server.test_http_api import call


def test_one_app_holds_every_front_end_around_its_engine():
    engine = ServerEngine()
    app = create_app(engine)
    assert app.state.engine is engine
    websocket = [r for r in app.routes if isinstance(r, WebSocketRoute)]
    assert [(r.path, r.endpoint) for r in websocket] == [("/asr-server/asr", asr_endpoint)]
    paths = {r.path for r in app.routes if isinstance(r, Route)}
    assert {"/v1/recognize", "/v1/interpret", "/v1/builtins", "/health", "/metrics", "/openapi.json", "/"} <= paths
    page = call(app, "GET", "/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")


def test_create_app_without_an_engine_reads_the_environment(monkeypatch):
    monkeypatch.setenv("SRGS_SERVER_MAX_SESSIONS", "7")
    assert create_app().state.engine.config.server.max_sessions == 7


def test_the_websocket_endpoint_answers_on_the_app():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # starlette's notice about its httpx test client
        from starlette.testclient import TestClient

        client = TestClient(create_app(ServerEngine()))
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with client, client.websocket_connect("/asr-server/asr") as websocket:
        websocket.send_bytes(b"ASR 2.3 CREATE_SESSION\r\n\r\n")
        reply = websocket.receive_bytes()
        assert reply.startswith(b"ASR 2.3 RESPONSE\r\n") and b"\r\nResult: SUCCESS\r\n" in reply
        assert client.get("/health").json()["sessions"] == 1
        assert engine._executor is not None  # the session's work ran on the engine's threads
    assert engine._executor is None  # shut down with the app


def test_worker_configuration_comes_from_the_environment(tmp_path):
    config = tmp_path / "engine.toml"
    config.write_text("[server]\nmax_sessions = 9\nmax_audio_s = 30\n")
    environ = {CONFIG_FILE_VARIABLE: str(config), CONFIG_SETTINGS_VARIABLE: json.dumps({"server.max_audio_s": "12"}),
               "SRGS_SERVER_IDLE_TIMEOUT_S": "5"}
    settings = config_from_environment(environ).server
    assert (settings.max_sessions, settings.max_audio_s, settings.idle_timeout_s) == (9, 12.0, 5.0)
    assert config_from_environment({}) == EngineConfig()
    with pytest.raises(ConfigError, match="not JSON"):
        config_from_environment({CONFIG_SETTINGS_VARIABLE: "{"})
    with pytest.raises(ConfigError, match="JSON object"):
        config_from_environment({CONFIG_SETTINGS_VARIABLE: "[1]"})


def test_the_worker_factory_shares_the_cache_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("SRGS_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv(CONFIG_SETTINGS_VARIABLE, json.dumps({"server.max_sessions": "3"}))
    monkeypatch.delenv(CONFIG_FILE_VARIABLE, raising=False)
    app = app_from_environment()
    engine = app.state.engine
    assert engine.config.server.max_sessions == 3
    assert engine.store.cache.directory == tmp_path
    body = call(app, "POST", "/v1/interpret", json={"text": "yes", "grammars": [{"text": (
        "#ABNF 1.0 UTF-8;\nlanguage en-US;\nroot $y;\npublic $y = yes {out=true};\n")}]}).json()
    assert body["alternatives"][0]["interpretations"] == [True]
    assert list(tmp_path.glob("*.far"))  # what this worker compiled, the others load


def test_the_container_recipe_copies_every_package_and_serves_the_default_port():
    import re
    import tomllib
    from pathlib import Path

    from srgs.cli.serve_commands import DEFAULT_PORT

    repo = Path(__file__).resolve().parents[2]
    recipe = (repo / "server" / "deploy" / "Dockerfile").read_text()
    packages = tomllib.loads((repo / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    copied = set(re.findall(r"^COPY (\w+) \1$", recipe, re.MULTILINE))
    assert {name.rstrip("*") for name in packages} <= copied
    assert re.search(r"^FROM python:3\.11-slim\b", recipe, re.MULTILINE)
    assert f"EXPOSE {DEFAULT_PORT}" in recipe
    assert 'CMD ["srgs", "serve", "--host", "0.0.0.0"' in recipe
    assert "/health" in recipe
