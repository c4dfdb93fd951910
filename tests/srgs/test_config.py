"""One engine configuration: defaults, TOML file, environment, overrides, in that order."""

from __future__ import annotations

import pytest

from srgs.config import ConfigError, EngineConfig, parse_override, setting_names


def test_defaults_hold_every_limit():
    config = EngineConfig()
    names = setting_names()
    for expected in ("limits.max_text_chars", "limits.max_grammar_bytes", "compile.max_states",
                     "compile.optimize_timeout_s", "compile.recursion_depth", "script.time_s",
                     "script.memory_bytes", "interpret.max_nbest"):
        assert expected in names
    assert config.interpret.max_nbest == 100


def test_layers_apply_in_order(tmp_path):
    path = tmp_path / "engine.toml"
    path.write_text("[script]\ntime_s = 0.5\nmemory_bytes = 4194304\n[limits]\nmax_text_chars = 10\n")
    config = EngineConfig.load(path, environ={"SRGS_SCRIPT_TIME_S": "0.75", "SRGS_CACHE_DIR": "/tmp/x"},
                               overrides={"script.time_s": "1.5"})
    assert config.script.time_s == 1.5  # override over environment over file
    assert config.script.memory_bytes == 4194304  # file
    assert config.limits.max_text_chars == 10
    assert EngineConfig.load(path, environ={"SRGS_SCRIPT_TIME_S": "0.75"}).script.time_s == 0.75


@pytest.mark.parametrize("override, message", [
    ({"script.time_s": "nan"}, "wants float"),
    ({"script.time_s": "0"}, "positive"),
    ({"interpret.nbest": "0"}, "nbest must be between"),
    ({"compile.max_states": "many"}, "wants int"),
    ({"script.bogus": "1"}, "unknown setting script.bogus"),
    ({"nosection.x": "1"}, "unknown section"),
    ({"novalue": "1"}, "SECTION.NAME"),
])
def test_bad_settings_are_clear_errors(override, message):
    with pytest.raises(ConfigError, match=message):
        EngineConfig.load(overrides=override)


def test_bad_files(tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text("[script\n")
    with pytest.raises(ConfigError, match="broken.toml"):
        EngineConfig.load(broken)
    with pytest.raises(ConfigError, match="cannot read configuration"):
        EngineConfig.load(tmp_path / "missing.toml")


def test_parse_override():
    assert parse_override("script.time_s = 0.5") == ("script.time_s", "0.5")
    with pytest.raises(ConfigError):
        parse_override("time_s")


def test_as_dict_round_trips():
    config = EngineConfig.load(overrides={"compile.optimize": "false", "interpret.nbest": "5"})
    assert EngineConfig().with_settings(config.as_dict()) == config


def test_decoder_and_server_sections_layer_like_the_others():
    config = EngineConfig.load(environ={"SRGS_SERVER_MAX_SESSIONS": "7"},
                               overrides={"decoder.rejection_threshold": "0.5", "decoder.backend": "ctc"})
    assert config.server.max_sessions == 7
    assert config.decoder.rejection_threshold == 0.5 and config.decoder.backend == "ctc"
    assert EngineConfig.load(overrides={"decoder.rejection_threshold": "none"}).decoder.rejection_threshold is None
    with pytest.raises(ConfigError, match="decoder backend"):
        EngineConfig.load(overrides={"decoder.backend": "kaldi"})
    with pytest.raises(ConfigError, match="max_sessions"):
        EngineConfig.load(overrides={"server.max_sessions": "0"})
