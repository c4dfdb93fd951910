"""The ASR WebSocket API 2.3 front end: a thin starlette shell over ``server.session.Session``.

One task per connection reads messages in order and hands each to the session; the session's
work (compiling grammars, decoding, interpreting: CPU-heavy, and pynini holds the GIL) runs on the
engine's worker threads, one call at a time per session, so the event loop keeps serving other
connections and their timers. A second task runs the session's timers (no-input, recognition,
idle session) on the event loop's clock, passed in as ``now``. Whatever ends the connection
(RELEASE_SESSION, the idle timeout, the client vanishing, an error), the session is closed: its
``session:`` grammars are released and its place under ``max_sessions`` is freed.

Mounted by ``server.app.create_app`` at ``/asr-server/asr``; the engine is ``app.state.engine``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from .session import Session

if TYPE_CHECKING:
    from .engine import ServerEngine

log = logging.getLogger("srgs.server")


class _Connection:
    """One WebSocket and its session."""

    def __init__(self, websocket: WebSocket, engine: ServerEngine):
        self.websocket = websocket
        self.engine = engine
        self.loop = asyncio.get_running_loop()
        client = websocket.client
        peer = f"{client.host}:{client.port}" if client is not None else "-"
        self.session = Session(engine, now=self.loop.time(), peer=peer)
        self.lock = asyncio.Lock()  # one session call at a time
        self.wake = asyncio.Event()  # the session changed: look at its next deadline again
        self.running: asyncio.Future[list[bytes]] | None = None  # the session call on a worker thread

    async def call(self, method: Callable[..., list[bytes]], *args: object) -> None:
        """Run ``method(*args, now)`` on a worker thread, then send what it returns, in order."""
        async with self.lock:
            if self.session.closed:
                return
            now = self.loop.time()
            self.running = self.loop.run_in_executor(self.engine.executor, lambda: method(*args, now))
            out = await asyncio.shield(self.running)
            for data in out:
                await self.websocket.send_bytes(data)
            while self.session.pending:  # END_OF_SPEECH is sent; now the decoding
                self.running = self.loop.run_in_executor(self.engine.executor, self.session.work, self.loop.time())
                for data in await asyncio.shield(self.running):
                    await self.websocket.send_bytes(data)
        self.wake.set()

    async def timers(self) -> None:
        """Tick the session at its deadlines; close the connection when the idle timeout closed
        the session (a RELEASE_SESSION is the reading task's to close: the session may read as
        closed here while its RESPONSE is still being sent)."""
        while True:
            deadline = self.session.next_deadline()
            timeout = None if deadline is None else max(0.0, deadline - self.loop.time())
            try:
                await asyncio.wait_for(self.wake.wait(), timeout)
                self.wake.clear()
                continue
            except TimeoutError:
                pass
            await self.call(self.session.tick)
            if self.session.expired:
                await self.close()
                return

    async def close(self) -> None:
        if self.websocket.application_state == WebSocketState.CONNECTED:
            try:
                await self.websocket.close()
            except (RuntimeError, OSError, WebSocketDisconnect):  # the client is already gone
                pass

    async def serve(self) -> None:
        """Read messages until the client goes or the session closes."""
        while not self.session.closed:
            received = await self.websocket.receive()
            if received["type"] == "websocket.disconnect":
                return
            data = received.get("bytes")
            if data is None:  # text frames are read too (the protocol says binary)
                data = (received.get("text") or "").encode("utf-8")
            await self.call(self.session.receive, data)
        await self.close()


async def asr_endpoint(websocket: WebSocket) -> None:
    """One connection: one ASR session (engine at ``websocket.app.state.engine``)."""
    engine: ServerEngine = websocket.app.state.engine
    await websocket.accept()
    connection = _Connection(websocket, engine)
    log.info("connection from %s: session %s", connection.session.peer, connection.session.handle)
    timers = asyncio.create_task(connection.timers())
    try:
        await connection.serve()
    except WebSocketDisconnect:
        pass
    except (RuntimeError, OSError) as exc:  # the client vanished while we were sending
        log.info("session %s: connection lost: %s", connection.session.handle, exc)
    finally:
        timers.cancel()
        if connection.running is not None:  # a call the timers task started may still be running
            await asyncio.wait([connection.running])
        if not connection.session.closed:
            log.info("session %s: client gone", connection.session.handle)
        await connection.loop.run_in_executor(engine.executor, connection.session.close)
        await connection.close()
