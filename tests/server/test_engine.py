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


class _Model:
    """A decoder model that records how its sessions were asked for."""

    def __init__(self) -> None:
        self.calls: list[dict[str, object]] = []

    def session(self, activation: object, **options: object) -> _Model:
        self.calls.append(options)
        return self

    def stream(self) -> None:  # has its own streaming: not wrapped
        raise NotImplementedError

    def close(self) -> None:
        pass


def _engine(monkeypatch, **settings: str) -> tuple[ServerEngine, _Model, _Model]:
    engine = ServerEngine(EngineConfig.load(overrides=settings))
    pocketsphinx, ctc = _Model(), _Model()
    monkeypatch.setattr(engine, "decoder_model", lambda: pocketsphinx)
    monkeypatch.setattr(engine, "ctc_model", lambda: ctc)
    return engine, pocketsphinx, ctc


def test_the_configured_back_end_and_rejection_threshold_decode_the_grammars(monkeypatch):
    activation = object()
    engine, pocketsphinx, ctc = _engine(monkeypatch)
    assert engine.decoder_session(activation) is pocketsphinx  # type: ignore[arg-type]
    assert pocketsphinx.calls == [{}] and ctc.calls == []  # the back end's own default threshold
    engine, pocketsphinx, ctc = _engine(monkeypatch, **{"decoder.backend": "ctc",
                                                         "decoder.rejection_threshold": "0.7"})
    assert engine.decoder_session(activation) is ctc  # type: ignore[arg-type]
    engine.decoder_session(activation, rejection_threshold=0.2)  # type: ignore[arg-type]  # a request's own wins
    assert ctc.calls == [{"rejection_threshold": 0.7}, {"rejection_threshold": 0.2}] and pocketsphinx.calls == []
    engine, pocketsphinx, ctc = _engine(monkeypatch, **{"decoder.rejection_threshold": "0.4"})
    engine.decoder_session(activation)  # type: ignore[arg-type]
    assert pocketsphinx.calls == [{"rejection_threshold": 0.4}]


def test_free_speech_follows_the_configured_back_end_the_general_model_too(monkeypatch):
    import decoder.ctc_free_speech
    import decoder.free_speech

    made: list[tuple[str, object, str]] = []
    monkeypatch.setattr(decoder.free_speech, "free_speech_session",
                        lambda model, location, **_: made.append(("pocketsphinx", model, location)) or _Model())
    monkeypatch.setattr(decoder.ctc_free_speech, "ctc_free_speech_session",
                        lambda model, location, **_: made.append(("ctc", model, location)) or _Model())
    engine, pocketsphinx, ctc = _engine(monkeypatch, **{"decoder.backend": "ctc"})
    engine.decoder_session(None, ["shop.arpa"])
    engine.decoder_session(None, ["builtin:slm/general"])  # 72k words: the CTC lexicon-tree search takes it
    engine, pocketsphinx2, _ = _engine(monkeypatch)
    engine.decoder_session(None, ["shop.arpa"])
    assert made == [("ctc", ctc, "shop.arpa"), ("ctc", ctc, "builtin:slm/general"),
                    ("pocketsphinx", pocketsphinx2, "shop.arpa")]


def test_free_speech_takes_the_configured_free_speech_threshold(monkeypatch):
    import decoder.free_speech

    seen: list[object] = []
    monkeypatch.setattr(decoder.free_speech, "free_speech_session",
                        lambda model, location, **options: seen.append(options.get("rejection_threshold")) or _Model())
    engine, _, _ = _engine(monkeypatch, **{"decoder.free_speech_rejection_threshold": "0.6",
                                           "decoder.rejection_threshold": "0.9"})
    engine.decoder_session(None, ["builtin:slm/general"])
    engine, _, _ = _engine(monkeypatch)
    engine.decoder_session(None, ["builtin:slm/general"])
    assert seen == [0.6, None]  # its own setting, not the grammars' threshold; None: the model's default
    import decoder.ctc_free_speech

    monkeypatch.setattr(decoder.ctc_free_speech, "ctc_free_speech_session",
                        lambda model, location, **options: seen.append(options.get("rejection_threshold")) or _Model())
    engine, _, _ = _engine(monkeypatch, **{"decoder.backend": "ctc", "decoder.free_speech_rejection_threshold": "0.8"})
    engine.decoder_session(None, ["builtin:slm/general"])
    assert seen[-1] == 0.8  # CTC free speech takes the same setting


def test_word_boosts_reach_the_grammar_decoder_of_either_back_end(monkeypatch):
    activation = object()
    engine, pocketsphinx, ctc = _engine(monkeypatch)
    engine.decoder_session(activation, word_boosts={"bill": 8.0})  # type: ignore[arg-type]
    engine.decoder_session(activation, word_boosts={})  # type: ignore[arg-type]  # none: not passed
    assert pocketsphinx.calls == [{"word_boosts": {"bill": 8.0}}, {}]
    engine, pocketsphinx, ctc = _engine(monkeypatch, **{"decoder.backend": "ctc"})
    engine.decoder_session(activation, word_boosts={"will": -2.0})  # type: ignore[arg-type]
    assert ctc.calls == [{"rejection_threshold": None, "word_boosts": {"will": -2.0}}]
