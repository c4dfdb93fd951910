"""The engine configuration on the command line: --config, SRGS_* variables, --set, srgs config."""

from __future__ import annotations

import json

from srgs.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_config_prints_every_section(capsys):
    code, out, _ = run(capsys, "config", "--format", "json")
    assert code == 0
    settings = json.loads(out)
    assert set(settings) == {"limits", "compile", "script", "interpret", "decoder", "server"}
    assert settings["script"]["time_s"] == 0.25


def test_file_environment_and_set_apply_in_order(tmp_path, capsys, monkeypatch):
    path = tmp_path / "engine.toml"
    path.write_text("[script]\ntime_s = 0.5\n[interpret]\nnbest = 2\n", encoding="utf-8")
    monkeypatch.setenv("SRGS_SCRIPT_TIME_S", "0.75")
    code, out, _ = run(capsys, "--config", str(path), "config", "--format", "json", "--set", "interpret.nbest=3")
    settings = json.loads(out)
    assert code == 0 and settings["script"]["time_s"] == 0.75 and settings["interpret"]["nbest"] == 3


def test_limits_from_the_configuration_reach_interpret(capsys):
    code, _, err = run(capsys, "interpret", "builtin:examples/yesno", "yes yes yes", "--set", "limits.max_text_chars=3")
    assert code == 1 and "longer than 3 characters" in err


def test_compile_options_of_interpret(capsys, monkeypatch):
    monkeypatch.setenv("SRGS_COMPILE_MAX_STATES", "10")
    code, _, err = run(capsys, "interpret", "builtin:examples/pizza", "two large pizzas")
    assert code == 1 and "over the limit of 10" in err
    code, out, _ = run(capsys, "interpret", "builtin:examples/pizza", "two large pizzas", "--max-states", "100000")
    assert code == 0 and json.loads(out)["result_status"] == "RECOGNIZED"


def test_the_configured_nbest_is_the_default(capsys):
    grammar = "builtin:examples/pizza"
    code, out, _ = run(capsys, "interpret", grammar, "two large pizzas", "--set", "interpret.nbest=1")
    assert code == 0 and len(json.loads(out)["alternatives"]) == 1


def test_bad_settings_are_clear_errors(capsys):
    code, _, err = run(capsys, "config", "--set", "bogus.x=1")
    assert code == 1 and "unknown section 'bogus'" in err
    code, _, err = run(capsys, "config", "--set", "script.time_s=-1")
    assert code == 1 and "time_s" in err
