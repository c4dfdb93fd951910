"""The server's shared state: session limit and metrics."""

from __future__ import annotations

from server.engine import ServerEngine
from server.metrics import Metrics
from srgs.config import EngineConfig


def test_session_limit_is_counted_and_freed():
    engine = ServerEngine(EngineConfig.load(overrides={"server.max_sessions": "2"}))
    assert engine.open_session() and engine.open_session()
    assert not engine.open_session()
    engine.close_session()
    assert engine.open_session()
    assert engine.sessions == 2


def test_client_grammars_get_no_file_access():
    engine = ServerEngine()
    assert not engine.policy.local_files and not engine.policy.http
    assert not engine.store.text_policy.local_files


def test_metrics_render_counters_and_latencies():
    metrics = Metrics()
    metrics.count("recognitions", status="RECOGNIZED")
    metrics.count("recognitions", status="RECOGNIZED")
    metrics.observe("interpret", 0.25)
    text = metrics.render({"sessions": 3})
    assert 'srgs_recognitions_total{status="RECOGNIZED"} 2' in text
    assert "srgs_interpret_seconds_sum 0.250000" in text and "srgs_interpret_seconds_count 1" in text
    assert "srgs_sessions 3" in text
