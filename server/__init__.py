"""Serving the engine (issue 11): protocol-free session handlers and thin front ends over them.

Layering: ``srgs`` <- ``interpreter`` <- ``decoder`` <- ``server``; only the command line
(``srgs serve``) imports this package. ``server.engine.ServerEngine`` is what one server process
holds (the grammar store, the decoder models, limits, metrics); the session layer, the ASR
WebSocket API 2.3 front end and the HTTP front end are built on it.

Modules, from the top down: ``app`` (the Starlette app); ``asr_websocket`` and ``http_api``
(front ends; ``http_requests`` reads HTTP requests); ``session`` (the sans-I/O session: the
caller's interface and one handler per message) over ``audio_path`` (endpointer, decoder
streams, results), ``timers`` and ``session_state`` (what a session holds, what it sends);
``activation`` (grammars named by a request, free speech), ``audio_input`` (SEND_AUDIO to 16 kHz
PCM), ``states`` (the transition table), ``errors`` (refusals, engine errors to protocol and HTTP
codes), ``parameters``, ``results``, ``protocol`` (the wire codec); ``engine`` with
``decoder_sessions``, ``metrics``, ``openapi``; ``playground_api`` (the page at ``/``).
"""
