"""``srgs lm build`` / ``srgs lm score`` and free-speech recognition from the command line: the
flow ``srgs generate GRAMMAR | srgs lm build - -o G.arpa``, then espeak-ng audio recognised with it."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from decoder.lm import LanguageModel
from srgs.cli import main
from srgs.cli.lm_commands import add_free_speech_arguments, free_speech_requested, recognize_free_speech
from tests.decoder.speech import synthesise

REPO = Path(__file__).resolve().parents[3]


def srgs(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "srgs.cli", *args], capture_output=True, text=True, cwd=REPO,
                          input=stdin, timeout=120)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("lmcli") / "corpus.txt"
    done = srgs("generate", "builtin:examples/pizza", "-n", "200", "--seed", "5")
    assert done.returncode == 0, done.stderr
    path.write_text(done.stdout, encoding="utf-8")
    return path


ORDER = "i want two large pizzas with mushrooms and olives"


@pytest.fixture(scope="module")
def pizza_model(corpus, tmp_path_factory) -> tuple[Path, Path]:
    """A grammar-shaped model built by the command (srgs lm build) and an order spoken in it."""
    folder = tmp_path_factory.mktemp("lmcli-speech")
    model = folder / "pizza.arpa"
    assert main(["lm", "build", str(corpus), "-o", str(model), "-q"]) == 0
    return model, synthesise(ORDER, folder)


def test_build_writes_an_arpa_model_and_a_summary(corpus, tmp_path, capsys):
    out = tmp_path / "pizza.arpa"
    assert main(["lm", "build", str(corpus), "-o", str(out), "--order", "3"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"srgs lm build: wrote {out}: order 3, 200 sentences")
    assert LanguageModel(str(out)).order == 3
    assert main(["lm", "build", str(corpus), "-o", str(tmp_path / "p2.arpa"), "--order", "2", "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["order"] == 2 and summary["sentences"] == 200 and len(summary["ngrams"]) == 2
    assert summary["vocabulary"] == summary["ngrams"][0] and summary["words"] > 200
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left


def test_build_reads_stdin_and_writes_stdout(corpus):
    text = corpus.read_text(encoding="utf-8")
    done = srgs("lm", "build", "-", "-o", "-", "--order", "2", stdin=text)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("\\data\\\nngram 1=") and done.stdout.rstrip().endswith("\\end\\")


def test_build_reports_progress_for_big_corpora(tmp_path):
    lines = "".join(f"call number {i % 97} please\n" for i in range(20000))
    done = srgs("lm", "build", "-", "-o", str(tmp_path / "big.arpa"), stdin=lines)
    assert done.returncode == 0, done.stderr
    assert "srgs lm build: 10000 sentences read" in done.stderr and "20000 sentences read" in done.stderr
    quiet = srgs("lm", "build", "-", "-o", str(tmp_path / "big2.arpa"), "-q", stdin=lines)
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_build_errors_are_one_line(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("fine words\nsome <s> inside\n", encoding="utf-8")
    done = srgs("lm", "build", str(bad), "-o", str(tmp_path / "x.arpa"))
    assert (done.returncode, done.stderr) == (1, f"{bad}:2:6: error: <s> is reserved for the sentence boundaries: "
                                                 "give plain sentences, one a line\n")
    assert not (tmp_path / "x.arpa").exists()
    latin = tmp_path / "latin1.txt"
    latin.write_bytes(b"caf\xe9 au lait\n")
    done = srgs("lm", "build", str(latin), "-o", str(tmp_path / "x.arpa"))
    assert done.returncode == 1 and done.stderr.startswith(f"srgs lm build: {latin}: not UTF-8 text")
    done = srgs("lm", "build", str(tmp_path / "missing.txt"), "-o", str(tmp_path / "x.arpa"))
    assert done.returncode == 1 and "missing.txt" in done.stderr and "Traceback" not in done.stderr
    done = srgs("lm", "build", str(bad), "-o", str(tmp_path / "x.arpa"), "--order", "9")
    assert done.returncode == 2 and "--order: must be from 2 to 6" in done.stderr
    done = srgs("lm")
    assert done.returncode == 2 and "build" in done.stderr and "score" in done.stderr


def test_score_gives_log_probabilities_and_perplexity(corpus, tmp_path, capsys):
    out = tmp_path / "pizza.arpa"
    assert main(["lm", "build", str(corpus), "-o", str(out), "-q"]) == 0
    assert main(["lm", "score", str(out), "a large pizza", "pizza a large zebra", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    first, second = report["sentences"]
    assert first["log10_prob"] > second["log10_prob"] and report["oov"] == ["zebra"] and report["perplexity"] > 1
    assert main(["lm", "score", str(out), "a large pizza"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("\ta large pizza") and lines[1].startswith("perplexity ")
    assert main(["lm", "score", str(corpus), "a"]) == 1
    assert "not a language model KenLM can read" in capsys.readouterr().err


def recognize_parser() -> argparse.ArgumentParser:
    """What ``srgs recognize`` becomes with free speech (see lm_commands.recognize_free_speech)."""
    parser = argparse.ArgumentParser(prog="srgs recognize")
    parser.add_argument("grammars", nargs="*")
    parser.add_argument("audio")
    parser.add_argument("--nbest", type=int, default=None)
    add_free_speech_arguments(parser)
    return parser


def test_free_speech_recognition_with_a_grammar_shaped_model(pizza_model, capsys):
    model, audio = pizza_model
    for argv in (["--lm", str(model), str(audio)], [str(model), str(audio), "--nbest", "2"]):
        args = recognize_parser().parse_args(argv)
        assert free_speech_requested(args) == str(model)
        assert recognize_free_speech(args) == 0
        result = json.loads(capsys.readouterr().out)
        assert result["result_status"] == "RECOGNIZED"
        best = result["alternatives"][0]
        assert best["text"] == ORDER and best["interpretations"] == [ORDER] and best["lm"] == str(model)
        assert [w["word"] for w in result["words"]] == ORDER.split()
    args = recognize_parser().parse_args(["builtin:examples/pizza", str(audio)])
    assert free_speech_requested(args) is None  # a grammar: srgs recognize's own path


def test_free_speech_recognition_usage_errors(tmp_path, capsys):
    args = recognize_parser().parse_args(["--lm", "x.arpa", "builtin:examples/pizza", "a.wav"])
    assert recognize_free_speech(args) == 2
    assert "grammars or --lm, not both" in capsys.readouterr().err
    args = argparse.Namespace(audio="a.wav", lm=None, grammars=["builtin:examples/pizza"], nbest=None)
    assert recognize_free_speech(args) == 2


def test_srgs_recognize_takes_a_language_model_instead_of_grammars(pizza_model, capsys):
    model, audio = pizza_model
    capsys.readouterr()
    assert main(["recognize", "--lm", str(model), str(audio)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["alternatives"][0]["text"] == ORDER
    assert main(["recognize", "--backend", "ctc", "--lm", str(model), str(audio)]) == 0  # CTC free speech
    result = json.loads(capsys.readouterr().out)
    assert result["alternatives"][0]["text"] == ORDER and [w["word"] for w in result["words"]] == ORDER.split()
    # (builtin:slm/general on --backend ctc: the dynamic search of decoder/ctc_free_speech.py, tested there)
    assert main(["recognize", str(audio)]) == 2
    assert "give at least one grammar, or --lm LM" in capsys.readouterr().err


def test_free_speech_rejection_threshold_from_the_flag_and_the_configuration(pizza_model, capsys):
    model, audio = pizza_model
    capsys.readouterr()
    assert main(["recognize", "--lm", str(model), str(audio)]) == 0  # the model's calibrated default keeps it
    kept = json.loads(capsys.readouterr().out)
    assert kept["result_status"] == "RECOGNIZED" and 0 < kept["alternatives"][0]["score"] < 100
    assert main(["recognize", "--lm", str(model), str(audio), "--rejection-threshold", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["result_status"] == "NO_MATCH"
    assert main(["--set", "decoder.free_speech_rejection_threshold=1", "recognize", "--lm", str(model), str(audio)]) == 0
    assert json.loads(capsys.readouterr().out)["result_status"] == "NO_MATCH"
    # the flag wins over the configuration
    assert main(["--set", "decoder.free_speech_rejection_threshold=1", "recognize", "--lm", str(model), str(audio),
                 "--rejection-threshold", "0"]) == 0
    assert json.loads(capsys.readouterr().out)["result_status"] == "RECOGNIZED"
    # the configuration's back end serves free speech too, with the same threshold settings
    assert main(["--set", "decoder.backend=ctc", "recognize", "--lm", str(model), str(audio)]) == 0
    ctc_kept = json.loads(capsys.readouterr().out)
    assert ctc_kept["result_status"] == "RECOGNIZED" and ctc_kept["alternatives"][0]["text"] == ORDER
    assert main(["--set", "decoder.backend=ctc", "recognize", "--lm", str(model), str(audio),
                 "--rejection-threshold", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["result_status"] == "NO_MATCH"
    assert main(["--set", "decoder.backend=ctc", "--set", "decoder.free_speech_rejection_threshold=1", "recognize",
                 "--lm", str(model), str(audio)]) == 0
    assert json.loads(capsys.readouterr().out)["result_status"] == "NO_MATCH"
    assert main(["--set", "decoder.free_speech_rejection_threshold=-1", "recognize", "--lm", str(model),
                 str(audio)]) != 0
    assert "free_speech_rejection_threshold must be a number >= 0" in capsys.readouterr().err
