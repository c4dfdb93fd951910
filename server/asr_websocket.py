"""The ASR WebSocket API 2.3 front end (first slice: sessions only; the session layer follows)."""

from __future__ import annotations

import time

from starlette.websockets import WebSocket, WebSocketDisconnect

from server import protocol


async def asr_endpoint(websocket: WebSocket) -> None:
    """One connection: one ASR session (engine at ``websocket.app.state.engine``)."""
    engine = websocket.app.state.engine
    await websocket.accept()
    handle = int(time.time() * 1000) * 1000
    created = False
    try:
        while True:
            data = await websocket.receive_bytes()
            try:
                message = protocol.parse_message(data)
            except protocol.ProtocolError as exc:
                await websocket.send_bytes(protocol.encode_message(protocol.RESPONSE, [
                    ("Handle", handle), ("Method", exc.method or "UNKNOWN"), ("Result", protocol.INVALID_MESSAGE),
                    ("Session-Status", protocol.IDLE), ("Error-Code", protocol.ERR_INVALID_ARGUMENT),
                    ("Message", str(exc))]))
                continue
            if message.name == protocol.CREATE_SESSION and not created:
                if not engine.open_session():
                    await websocket.send_bytes(protocol.encode_message(protocol.RESPONSE, [
                        ("Handle", handle), ("Method", message.name), ("Result", protocol.FAILURE),
                        ("Session-Status", protocol.IDLE), ("Error-Code", protocol.ERR_MAX_LICENSES),
                        ("Message", "the server holds its maximum number of sessions")]))
                    continue
                created = True
                result = protocol.SUCCESS
            elif message.name == protocol.RELEASE_SESSION:
                await websocket.send_bytes(protocol.encode_message(protocol.RESPONSE, [
                    ("Handle", handle), ("Method", message.name), ("Result", protocol.SUCCESS),
                    ("Session-Status", protocol.IDLE)]))
                await websocket.close()
                return
            else:
                result = protocol.INVALID_ACTION
            await websocket.send_bytes(protocol.encode_message(protocol.RESPONSE, [
                ("Handle", handle), ("Method", message.name), ("Result", result), ("Session-Status", protocol.IDLE)]))
    except WebSocketDisconnect:
        pass
    finally:
        if created:
            engine.close_session()
