"""The server application: one Starlette app with every front end on one port.

- ``/asr-server/asr``: the ASR WebSocket API 2.3 (``server.asr_websocket.asr_endpoint``);
- the HTTP API (``server.http_api``): ``/v1/recognize``, ``/v1/interpret``, ``/v1/builtins``,
  ``/health``, ``/metrics``, ``/openapi.json``;
- the grammar playground (``server.playground_api``) at ``/``.

``create_app(engine)`` builds it around one ``ServerEngine`` (``app.state.engine``).
``app_from_environment()`` is the factory a uvicorn worker process calls
(``uvicorn --factory server.app:app_from_environment``): its configuration is
``$SRGS_CONFIG_FILE`` (a TOML file), the ``SRGS_*`` setting variables and ``$SRGS_CONFIG_SETTINGS``
(a JSON object of ``SECTION.NAME: VALUE`` overrides, what ``srgs serve --set`` passes on), and its
compile cache is ``$SRGS_CACHE_DIR``, which every worker of one ``srgs serve`` shares.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, WebSocketRoute

from server import http_api
from server.asr_websocket import asr_endpoint
from server.engine import ServerEngine
from server.responses import error_response
from srgs.config import ConfigError, EngineConfig

CONFIG_FILE_VARIABLE = "SRGS_CONFIG_FILE"
CONFIG_SETTINGS_VARIABLE = "SRGS_CONFIG_SETTINGS"
WEBSOCKET_PATH = "/asr-server/asr"


def create_app(engine: ServerEngine | None = None) -> Starlette:
    """The app around ``engine`` (default: a new one with the configuration of the environment)."""
    from server.playground_api import routes as playground_routes

    engine = engine or ServerEngine(EngineConfig.from_environment())
    routes: list[BaseRoute] = [
        WebSocketRoute(WEBSOCKET_PATH, asr_endpoint),
        *http_api.routes,
        *playground_routes,
    ]
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        engine.close()  # the worker threads finish the work in hand

    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error}, lifespan=lifespan)
    app.state.engine = engine
    return app


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own HTTP errors (no such route, method not allowed) as the API's JSON errors."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(status, "INVALID_REQUEST")
    detail = exc.detail if isinstance(exc, HTTPException) else "internal error"
    message = f"no route {request.url.path}" if status == 404 else f"{request.method} {request.url.path}: {detail}"
    response = error_response(status, code, message)
    if isinstance(exc, HTTPException) and exc.headers:
        response.headers.update(exc.headers)
    return response


def config_from_environment(environ: dict[str, str] | None = None) -> EngineConfig:
    """The configuration ``srgs serve`` hands its workers through the environment."""
    environ = dict(os.environ if environ is None else environ)
    overrides: dict[str, str] = {}
    encoded = environ.get(CONFIG_SETTINGS_VARIABLE)
    if encoded:
        try:
            decoded = json.loads(encoded)
        except ValueError as exc:
            raise ConfigError(f"${CONFIG_SETTINGS_VARIABLE} is not JSON: {exc}") from None
        if not isinstance(decoded, dict):
            raise ConfigError(f"${CONFIG_SETTINGS_VARIABLE} must be a JSON object of SECTION.NAME: VALUE")
        overrides = {str(key): str(value) for key, value in decoded.items()}
    return EngineConfig.load(environ.get(CONFIG_FILE_VARIABLE) or None, environ=environ, overrides=overrides)


def app_from_environment() -> Starlette:
    """The app of one uvicorn worker process (its configuration from the environment)."""
    cache_dir = os.environ.get("SRGS_CACHE_DIR") or None
    return create_app(ServerEngine(config_from_environment(), cache_dir=cache_dir))
