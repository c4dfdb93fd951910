"""``srgs serve``: the speech server (ASR WebSocket API 2.3, HTTP API, playground) on one port.

uvicorn runs ``server.app:app_from_environment`` in this process, or in ``--workers N`` worker
processes (pynini holds the GIL: throughput comes from processes). The workers share nothing but
the compile cache on disk (``--cache-dir``, else ``$SRGS_CACHE_DIR``, else the user's cache
folder): a grammar one worker compiled is loaded from there by the others. The configuration
(``--config FILE``, ``SRGS_*`` variables, ``--set``) is checked here, before anything listens,
and handed to the workers through the environment (``SRGS_CONFIG_FILE``,
``SRGS_CONFIG_SETTINGS``). Logs go to stderr: one line per session event, per HTTP request.

Exit status: 0 stopped cleanly (Ctrl-C, SIGTERM), 1 a bad configuration or an address that
cannot be bound, 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
from pathlib import Path
from typing import Any

from srgs.cli import EXIT_ERROR, EXIT_OK, error, int_range

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8025
LOG_FORMAT = "%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = subparsers.add_parser(
        "serve",
        help="run the speech server: ASR WebSocket API 2.3, HTTP API, health, metrics and playground on one port",
        description="Serve the engine on HOST:PORT: the ASR WebSocket API 2.3 at /asr-server/asr, the HTTP API "
        "(POST /v1/recognize, POST /v1/interpret, GET /v1/builtins; GET /openapi.json describes it), GET /health, "
        "GET /metrics (Prometheus) and the grammar playground at /. Worker processes share the compile cache "
        "directory. Stop with Ctrl-C or SIGTERM.",
        epilog="exit status: 0 stopped cleanly, 1 bad configuration or the address cannot be bound, 2 usage error",
    )
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST}; "
                       "0.0.0.0 for every interface)")
    serve.add_argument("--port", type=int_range(0, 65535), default=DEFAULT_PORT,
                       help=f"TCP port (default {DEFAULT_PORT})")
    serve.add_argument("--workers", type=int_range(1, 256), default=1, metavar="N",
                       help="worker processes (default 1); they share the compile cache directory")
    serve.add_argument("--cache-dir", metavar="DIR", default=None,
                       help="compile cache directory shared by the workers (default $SRGS_CACHE_DIR, else "
                       "~/.cache/srgs/compile)")
    serve.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default="info",
                       help="least important log lines shown (default info: one line per session event)")
    serve.add_argument("--no-access-log", dest="access_log", action="store_false",
                       help="no line per HTTP request")
    serve.set_defaults(run=run_serve)


def default_cache_dir() -> str:
    """``$SRGS_CACHE_DIR``, else ``$XDG_CACHE_HOME/srgs/compile`` (``~/.cache/srgs/compile``)."""
    named = os.environ.get("SRGS_CACHE_DIR")
    if named:
        return named
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "srgs", "compile")


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging set-up plus the engine's loggers (``server.*``, ``srgs.*``) on stderr."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = json.loads(json.dumps(LOGGING_CONFIG))
    config["formatters"]["engine"] = {"format": LOG_FORMAT}
    config["handlers"]["engine"] = {"formatter": "engine", "class": "logging.StreamHandler",
                                    "stream": "ext://sys.stderr"}
    for name in ("server", "srgs", "interpreter", "decoder"):
        config["loggers"][name] = {"handlers": ["engine"], "level": level.upper(), "propagate": False}
    return config


def run_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from server.app import CONFIG_FILE_VARIABLE, CONFIG_SETTINGS_VARIABLE

    cache_dir = Path(args.cache_dir or default_cache_dir()).expanduser().resolve()
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        error("serve", f"cannot create the cache directory {cache_dir}: {exc.strerror or exc}")
        return EXIT_ERROR
    # args.config was built (and checked) by srgs.cli.main; the workers rebuild the same one
    os.environ["SRGS_CACHE_DIR"] = str(cache_dir)
    config_file = getattr(args, "config_file", None)
    if config_file:
        os.environ[CONFIG_FILE_VARIABLE] = str(Path(config_file).resolve())
    else:
        os.environ.pop(CONFIG_FILE_VARIABLE, None)
    from srgs.config import parse_override

    overrides = dict(parse_override(item) for item in getattr(args, "settings", None) or [])
    os.environ[CONFIG_SETTINGS_VARIABLE] = json.dumps(overrides)
    problem = unbindable(args.host, args.port)
    if problem is not None:
        error("serve", f"cannot listen on {args.host}:{args.port}: {problem}")
        return EXIT_ERROR
    max_bytes = args.config.server.max_message_bytes
    config = uvicorn.Config(
        "server.app:app_from_environment",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_config=log_config(args.log_level),
        log_level=args.log_level,
        access_log=args.access_log,
        ws_max_size=2 * max_bytes + 65536,  # the WebSocket front end refuses what is over the limit itself
        timeout_graceful_shutdown=10,
        lifespan="auto",
    )
    server = uvicorn.Server(config)
    try:
        if args.workers > 1:
            from uvicorn.supervisors import Multiprocess

            # uvicorn binds the shared socket without naming TCP, so asyncio leaves Nagle's
            # algorithm on and a reply of two small messages waits ~40 ms for the client's
            # delayed ACK: switch it off here (accepted connections inherit it on Linux).
            sock = config.bind_socket()
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            Multiprocess(config, sockets=[sock]).run()
        else:
            server.run()
            if not server.started:
                error("serve", "the server stopped on an error (see the log above)")
                return EXIT_ERROR
    except KeyboardInterrupt:
        pass
    except SystemExit as exc:  # uvicorn's way of saying it could not start (logged above)
        if exc.code not in (0, None):
            error("serve", "the server stopped on an error (see the log above)")
            return EXIT_ERROR
    return EXIT_OK


def unbindable(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on (in use, no such address), or None when it can."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as exc:
        return str(exc.strerror or exc)
    family, kind, proto, _, address = infos[0]
    try:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            probe.bind(address)
    except OSError as exc:
        return str(exc.strerror or exc).lower()
    return None
