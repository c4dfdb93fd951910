"""Serving the engine (issue 11): protocol-free session handlers and thin front ends over them.

Layering: ``srgs`` <- ``interpreter`` <- ``decoder`` <- ``server``; only the command line
(``srgs serve``) imports this package. ``server.engine.ServerEngine`` is what one server process
holds (the grammar store, the decoder model, limits, metrics); the session layer, the ASR
WebSocket API 2.3 front end and the HTTP front end are built on it.
"""
