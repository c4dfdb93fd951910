"""Accuracy, rejection and speed of the CTC back end (hama's phoneme model) on synthesised speech.

Every utterance is generated here: sentences sampled from the grammars by their weights (seeded),
spoken by espeak-ng (pt-BR: ``pt-br`` and ``pt-br+f3``; en-US: ``en-us`` and ``en-us+f3``) at
150 and 175 words per minute, each also as a telephone-band copy (sox: 8 kHz, 300-3400 Hz band
pass, read back through ``decoder.audio``'s 8 -> 16 kHz resampling). Out-of-grammar sentences
are decoded under each grammar of their language. Each utterance is decoded once with rejection
off and its rejection score kept, so the threshold can be chosen afterwards:

* calibration: the speed-150 half of the full-band copies, per language. The chosen threshold
  (0.05 steps) maximises the share of correctly recognised in-grammar utterances it keeps plus
  the share of out-of-grammar ones it rejects, keeping at least ``--keep`` (default 0.90) of the
  correct ones (the rule ``DEFAULT_REJECTION_THRESHOLD`` was set by);
* held out: the speed-175 half, where the figures reported below are measured.

(pt-BR's default threshold is not this calibration's: it is chosen on the pt-BR tuning set below.)

Printed per set: sentence accuracy (top text equals the sampled text), semantic accuracy
(top interpretation equals the text's own interpretation), false rejections, and, for the
out-of-grammar sentences, the rejection rate; then the real-time factor (model and search,
one thread) and the search's share.

    python benchmarks/bench_ctc.py [--count 20] [--cache DIR] [--threshold T]

``--pt-tuning`` runs instead the pt-BR TUNING set, the one the pt-BR lexicon's sets, search
weights and rejection threshold are chosen on, kept apart from bench_accuracy.py's held-out pt-BR
sets: sentences sampled from the pt-BR grammars at other seeds (none of bench_accuracy's texts),
voices ``pt-br``, ``pt-br+f3`` and ``pt-br+m3`` at speeds 125, 160 and 190 (bench_accuracy speaks
at 140 and 175), each sentence in two voice x speed combinations, and ``PT_TUNING_OOG``, Portuguese
requests that are not bench_accuracy's, each in two combinations under each grammar. It prints the figures per grammar, the
threshold -> accuracy/rejection trade-off and the threshold chosen by the pt-BR rule (the lowest
0.01 step rejecting at least 90% of the out-of-grammar utterances)::

    python benchmarks/bench_ctc.py --pt-tuning --cache /tmp/srgs-tune --count 50

Needs espeak-ng and sox (as the decoder tests do).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from decoder.audio import read_wav  # noqa: E402
from decoder.ctc_backend import DEFAULT_REJECTION_THRESHOLD, CtcModel  # noqa: E402
from interpreter.store import GrammarStore  # noqa: E402
from srgs.compile.sample import sample_sentences  # noqa: E402

SETS = {
    "pt-BR": ["builtin:grammar/digits?lang=pt-BR", "builtin:grammar/boolean?lang=pt-BR",
              "builtin:grammar/number?lang=pt-BR"],
    "en-US": ["builtin:grammar/digits", "builtin:grammar/boolean", "builtin:examples/pizza"],
}
VOICES = {"pt-BR": ("pt-br", "pt-br+f3"), "en-US": ("en-us", "en-us+f3")}
SPEEDS = (150, 175)
OUT_OF_GRAMMAR = {
    "pt-BR": ["qual é a previsão do tempo para amanhã", "eu quero falar com um atendente", "ligue para minha mãe",
              "apague as luzes da sala", "onde fica a estação de trem", "toque uma música animada",
              "quanto custa uma passagem para o rio", "marque uma consulta com o médico",
              "bom dia a todos", "qual é o seu nome"],
    "en-US": ["what is the weather like today", "call my mother", "turn off the lights", "what time is it",
              "open the door", "play some music", "how far is the station", "send an email to john",
              "where is the nearest bank", "tell me a joke"],
}


CACHED_NOTE = "; emissions read from the cache, model time not measured"

# --- the pt-BR tuning set ---------------------------------------------------------------------------

PT_TUNING_VOICES = ("pt-br", "pt-br+f3", "pt-br+m3")
PT_TUNING_SPEEDS = (125, 160, 190)
PT_TUNING_SEED = 31337
PT_TUNING_TARGET = 0.90  # out-of-grammar rejection the pt-BR threshold must reach on this set
# Portuguese requests none of the pt-BR grammars accepts, none of them bench_accuracy's
# OUT_OF_GRAMMAR_PT (some short, some with a grammar word inside: the hard cases).
PT_TUNING_OOG = (
    "qual é a previsão para o fim de semana", "eu preciso de um táxi", "desligue a televisão", "que dia é hoje",
    "feche a janela do quarto", "coloque uma música calma", "como chego ao aeroporto",
    "envie uma mensagem para a maria", "quero cancelar meu pedido", "qual é o saldo da minha conta",
    "a internet está muito lenta", "onde deixei as chaves do carro", "me lembre de comprar leite",
    "quem ganhou o jogo ontem", "traduza isso para o inglês", "ligue o ar condicionado",
    "reserve uma mesa para dois", "meu cartão foi bloqueado", "preciso falar com o gerente",
    "repita a pergunta por favor", "quanto custa o frete", "mude meu endereço de entrega", "a senha não funciona",
    "abra o aplicativo do banco", "boa noite", "tchau", "obrigado pela ajuda", "estou com fome",
    "o trem sai da plataforma", "vamos ao cinema hoje", "eu gosto de café", "a reunião foi adiada",
    "chame um médico", "tire uma foto", "aumente o volume", "bom dia", "olá", "me conte uma piada",
    "qual é a capital da frança", "o céu está azul",
)


@dataclass(frozen=True)
class TuningCase:
    grammar: str
    text: str
    value: str | None  # canonical JSON of the expected interpretation; None: out of grammar
    voice: str
    speed: int


def pt_tuning_cases(store: GrammarStore, count: int) -> list[TuningCase]:
    """The pt-BR tuning utterances: ``count`` sampled sentences per pt-BR grammar (none of
    bench_accuracy's held-out texts), each in two voice x speed combinations, and every
    ``PT_TUNING_OOG`` sentence under every grammar in two combinations (rotating)."""
    from benchmarks.accuracy.sets import (
        FULL,
        MAX_WORDS,
        OUT_OF_GRAMMAR_PT,
        PT_GRAMMARS,
        canonical,
        grammar_texts,
        out_of_grammar_texts,
    )

    overlap = set(PT_TUNING_OOG) & set(OUT_OF_GRAMMAR_PT)
    if overlap:
        raise ValueError(f"tuning out-of-grammar sentences also held out: {sorted(overlap)}")
    held_out = {text for spec in PT_GRAMMARS for text, _ in grammar_texts(store, spec, FULL.pt_per_grammar)}
    combos = [(voice, speed) for speed in PT_TUNING_SPEEDS for voice in PT_TUNING_VOICES]
    cases: list[TuningCase] = []
    for spec in PT_GRAMMARS:
        activation = store.activate([spec.location])
        interpreter = activation.interpreter()
        compiled = activation.grammars[0].compiled
        texts: dict[str, str] = {}
        for attempt in range(20):
            for sentence in sample_sentences(compiled, 4 * count, seed=PT_TUNING_SEED + attempt):
                text = str(sentence["text"])
                if len(texts) >= count or text in texts or text in held_out or any(ch.isdigit() for ch in text) \
                        or not 0 < len(text.split()) <= MAX_WORDS:
                    continue
                result = interpreter.interpret(text)
                if result.status == "RECOGNIZED" and result.alternatives:
                    texts[text] = canonical(result.alternatives[0].interpretations[0].value)
            if len(texts) >= count:
                break
        for index, (text, value) in enumerate(texts.items()):
            for shift in range(2):
                voice, speed = combos[(2 * index + shift) % len(combos)]
                cases.append(TuningCase(spec.location, text, value, voice, speed))
        for index, text in enumerate(out_of_grammar_texts(store, spec, PT_TUNING_OOG)):
            for shift in range(2):
                voice, speed = combos[(2 * index + shift + 3 * PT_GRAMMARS.index(spec)) % len(combos)]
                cases.append(TuningCase(spec.location, text, None, voice, speed))
    return cases


def tuning_log_probs(model: CtcModel, cases: list[TuningCase], folder: Path) -> list[tuple[np.ndarray, float]]:
    """Each case's emissions and audio seconds (the audio and the emissions cached in ``folder``)."""
    from benchmarks.accuracy.audio import speech_file

    out: list[tuple[np.ndarray, float]] = []
    for case in cases:
        path = speech_file(folder, case.text, voice=case.voice, speed=case.speed, condition="clean")
        cached = path.with_suffix(".npy")
        audio = read_wav(path)
        if cached.exists():
            log_probs = np.load(cached)
        else:
            log_probs = model.log_probs(audio)
            np.save(cached, log_probs)
        out.append((log_probs, audio.seconds))
    return out


def run_pt_tuning(args: argparse.Namespace) -> int:
    from benchmarks.accuracy.sets import canonical

    store = GrammarStore()
    model = CtcModel()
    cases = pt_tuning_cases(store, args.count)
    folder = Path(args.cache or tempfile.mkdtemp(prefix="srgs-tune-"))
    emissions = tuning_log_probs(model, cases, folder)
    sessions = {grammar: model.session(store.activate([grammar]), rejection_threshold=0.0)
                for grammar in dict.fromkeys(case.grammar for case in cases)}
    scored: list[tuple[TuningCase, bool, float]] = []  # case, right with rejection off, rejection score
    search_s = audio_s = 0.0
    for case, (log_probs, seconds) in zip(cases, emissions, strict=True):
        began = time.process_time()
        recognition = sessions[case.grammar].decode_log_probs(log_probs, audio_seconds=seconds)
        search_s += time.process_time() - began
        audio_s += seconds
        result = recognition.result
        value = None
        if result.status == "RECOGNIZED" and result.alternatives and result.alternatives[0].interpretations:
            value = canonical(result.alternatives[0].interpretations[0].value)
        scored.append((case, case.value is not None and value == case.value, recognition.rejection_score or 0.0))
    inside = [item for item in scored if item[0].value is not None]
    outside = [item for item in scored if item[0].value is None]
    chosen = next((step / 100 for step in range(101)
                   if sum(score < step / 100 for _, _, score in outside) >= PT_TUNING_TARGET * len(outside)), 1.0)
    threshold = args.threshold if args.threshold is not None else chosen
    default = DEFAULT_REJECTION_THRESHOLD.get("pt", 0.0)
    print(f"pt-BR tuning set: {len(inside)} in-grammar and {len(outside)} out-of-grammar decodes "
          f"(voices {', '.join(PT_TUNING_VOICES)}; speeds {PT_TUNING_SPEEDS}); threshold {threshold:.2f} "
          f"(rule: lowest reaching {PT_TUNING_TARGET:.0%} rejection: {chosen:.2f}; default {default:.2f})")
    for grammar in sessions:
        mine = [item for item in inside if item[0].grammar == grammar]
        theirs = [item for item in outside if item[0].grammar == grammar]
        right = sum(ok and score >= threshold for _, ok, score in mine)
        print(f"  {grammar:36} semantic {right}/{len(mine)} ({100 * right / max(1, len(mine)):.1f}%; "
              f"{sum(ok for _, ok, _ in mine)} with rejection off), false rejections "
              f"{sum(score < threshold for _, _, score in mine)}, out-of-grammar rejected "
              f"{sum(score < threshold for _, _, score in theirs)}/{len(theirs)}")
    right = sum(ok and score >= threshold for _, ok, score in inside)
    false = sum(score < threshold for _, _, score in inside)
    rejected = sum(score < threshold for _, _, score in outside)
    print(f"  total: semantic {right}/{len(inside)} ({100 * right / max(1, len(inside)):.1f}%; "
          f"{100 * sum(ok for _, ok, _ in inside) / max(1, len(inside)):.1f}% with rejection off), false rejections "
          f"{100 * false / max(1, len(inside)):.1f}%, out-of-grammar rejected {rejected}/{len(outside)} "
          f"({100 * rejected / max(1, len(outside)):.1f}%)")
    cells = []
    for step in range(4, 19):
        value = step / 20
        semantic = sum(ok and score >= value for _, ok, score in inside)
        cells.append(f"{value:.2f}: {100 * semantic / max(1, len(inside)):.0f}%/"
                     f"{100 * sum(score < value for _, _, score in outside) / max(1, len(outside)):.0f}%")
    print("  threshold: semantic/out-of-grammar rejected  " + " ".join(cells))
    if args.verbose:
        for case, ok, score in scored:
            if (case.value is not None and (not ok or score < threshold)) or (case.value is None and score >= threshold):
                print(f"    {'miss' if case.value is not None else 'accepted'} {score:.3f} {case.grammar.split('/')[-1]} "
                      f"{case.voice} {case.speed}: {case.text!r}")
    print(f"search RTF (CPU, one thread, emissions cached) {search_s / max(audio_s, 1e-9):.3f}")
    return 0


@dataclass
class Row:
    language: str
    grammar: str
    speed: int
    band: str
    inside: bool
    text: str
    sentence_ok: bool
    semantic_ok: bool
    score: float | None
    audio_s: float
    model_s: float
    search_s: float


def speak(text: str, voice: str, speed: int, folder: Path, band: str) -> Path:
    stem = "_".join(text.split())[:80] + f"_{voice}_{speed}"
    raw, wide, tel = folder / f"{stem}.raw.wav", folder / f"{stem}.wav", folder / f"{stem}.tel.wav"
    if not wide.exists():
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(raw), text], check=True,
                       capture_output=True, timeout=60)
        subprocess.run(["sox", "-R", str(raw), "-r", "16000", "-c", "1", "-b", "16", "-e", "signed-integer", str(wide)],
                       check=True, capture_output=True, timeout=60)
    if band == "tel" and not tel.exists():
        subprocess.run(["sox", "-R", str(wide), "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", str(tel),
                        "sinc", "300-3400"], check=True, capture_output=True, timeout=60)
    return tel if band == "tel" else wide


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20, help="sentences sampled per grammar (default 20)")
    parser.add_argument("--cache", help="keep the synthesised audio in this folder")
    parser.add_argument("--keep", type=float, default=0.90)
    parser.add_argument("--threshold", type=float, default=None, help="report at this threshold instead")
    parser.add_argument("--languages", default="pt-BR,en-US")
    parser.add_argument("--no-word-loop", action="store_true",
                        help="pt-BR rejection against the unconstrained best path, not the lexicon's word loop")
    parser.add_argument("--pt-tuning", action="store_true", help="run the pt-BR tuning set instead (see above)")
    parser.add_argument("--verbose", action="store_true", help="with --pt-tuning: list the losses")
    args = parser.parse_args()
    if args.pt_tuning:
        return run_pt_tuning(args)
    store = GrammarStore()
    model = CtcModel()
    rows: list[Row] = []
    languages = args.languages.split(",")
    with tempfile.TemporaryDirectory(prefix="srgs-bench-ctc-") as temporary:
        folder = Path(args.cache) if args.cache else Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        for language in languages:
            for grammar in SETS[language]:
                activation = store.activate([grammar])
                session = model.session(activation, rejection_threshold=0.0)
                if args.no_word_loop:
                    session.reference = None
                interpreter = activation.interpreter()
                compiled = activation.grammars[0].compiled
                seen: set[str] = set()
                cases: list[tuple[str, object, bool]] = []
                for sentence in sample_sentences(compiled, 4 * args.count, seed=7):
                    text = str(sentence["text"])
                    if text in seen or any(ch.isdigit() for ch in text):
                        continue  # digit tokens: espeak reads them, but the text would not compare
                    seen.add(text)
                    result = interpreter.interpret(text)
                    if result.status != "RECOGNIZED":
                        continue
                    cases.append((text, result.alternatives[0].interpretations[0].value, True))
                    if len(cases) >= args.count:
                        break
                cases += [(text, None, False) for text in OUT_OF_GRAMMAR[language]]
                for index, (text, value, inside) in enumerate(cases):
                    voice = VOICES[language][index % 2]
                    for speed in SPEEDS:
                        for band in ("wide", "tel"):
                            path = speak(text, voice, speed, folder, band)
                            audio = read_wav(path)
                            cached = path.with_suffix(".npy")
                            began = time.process_time()
                            if args.cache and cached.exists():
                                log_probs = np.load(cached)
                            else:
                                log_probs = model.log_probs(audio)
                                if args.cache:
                                    np.save(cached, log_probs)
                            model_s = time.process_time() - began
                            began = time.process_time()
                            recognition = session.decode_log_probs(log_probs, audio_seconds=audio.seconds)
                            search_s = time.process_time() - began
                            result = recognition.result
                            top = result.alternatives[0] if result.status == "RECOGNIZED" and result.alternatives else None
                            rows.append(Row(language, grammar, speed, band, inside, text,
                                            top is not None and top.text == text,
                                            top is not None and top.interpretations[0].value == value,
                                            recognition.rejection_score, audio.seconds,
                                            model_s, search_s))
    calibration = [row for row in rows if row.speed == SPEEDS[0]]
    held_out = [row for row in rows if row.speed == SPEEDS[1]]
    thresholds: dict[str, float] = {}
    for language in languages:
        chosen = calibrate([row for row in calibration if row.language == language and row.band == "wide"], args.keep)
        thresholds[language] = args.threshold if args.threshold is not None else chosen
        print(f"{language}: threshold {thresholds[language]:.3f} (calibrated {chosen:.3f}; default in "
              f"decoder.ctc_backend: {DEFAULT_REJECTION_THRESHOLD.get(language.split('-')[0], 0)}); calibrated on "
              f"speed {SPEEDS[0]}, figures on held-out speed {SPEEDS[1]} and on all")
        good = sorted(row.score or 0.0 for row in calibration if row.language == language and row.inside
                      and row.semantic_ok)
        bad = sorted(row.score or 0.0 for row in calibration if row.language == language and not row.inside)
        if good and bad:
            print(f"  scores, correct in-grammar: median {statistics.median(good):.3f}, 10% {good[len(good) // 10]:.3f}; "
                  f"out-of-grammar: median {statistics.median(bad):.3f}, 90% {bad[9 * len(bad) // 10]:.3f}")
    for label, subset in (("held-out", held_out), ("all", rows)):
        print(f"--- {label}")
        report(subset, thresholds)
    print("--- the trade-off on all rows: threshold: semantic accuracy/out-of-grammar rejection")
    for language, band in ((language, band) for language in languages for band in ("wide", "tel")):
        inside = [row for row in rows if row.language == language and row.inside and row.band == band]
        outside = [row for row in rows if row.language == language and not row.inside and row.band == band]
        cells = []
        for step in range(2, 15):
            value = step / 20
            fixed = {language: value}
            semantic = sum(row.semantic_ok and accepted(row, fixed) for row in inside)
            rejected = sum(not accepted(row, fixed) for row in outside)
            cells.append(f"{value:.2f}: {100 * semantic / max(1, len(inside)):.0f}%/{100 * rejected / max(1, len(outside)):.0f}%")
        print(f"{language} {band:4} " + " ".join(cells))
    audio_s = sum(row.audio_s for row in rows)
    model_s = sum(row.model_s for row in rows)
    search_s = sum(row.search_s for row in rows)
    print(f"RTF (CPU time, one thread) {(model_s + search_s) / audio_s:.3f} (model {model_s / audio_s:.3f}, "
          f"search {search_s / audio_s:.3f}{CACHED_NOTE if model_s < 0.01 * audio_s else ''}); "
          f"{len(rows)} decodes, {audio_s:.0f} s of audio; median search RTF "
          f"{statistics.median(row.search_s / row.audio_s for row in rows):.3f}")
    return 0


def accepted(row: Row, thresholds: dict[str, float]) -> bool:
    return row.score is not None and row.score >= thresholds[row.language]


def calibrate(rows: list[Row], keep: float) -> float:
    """The threshold (0.05 steps) with the best sum of the share of correctly recognised in-grammar
    utterances it keeps and the share of out-of-grammar ones it rejects, among those keeping at
    least ``keep`` of the correct ones' accepted share at threshold 0; the lowest on ties."""
    correct = [row for row in rows if row.inside and row.semantic_ok and row.score is not None]
    outside = [row for row in rows if not row.inside]
    if not correct or not outside:
        return 0.0
    best, chosen = -1.0, 0.0
    for step in range(0, 20):
        value = step / 20
        kept = sum(row.score is not None and row.score >= value for row in correct) / len(correct)
        rejected = sum(row.score is None or row.score < value for row in outside) / len(outside)
        if kept >= keep and kept + rejected > best + 1e-9:
            best, chosen = kept + rejected, value
    return chosen


def report(rows: list[Row], threshold: dict[str, float]) -> None:
    keys = sorted({(row.language, row.grammar, row.band) for row in rows})
    for language, grammar, band in keys:
        subset = [row for row in rows if (row.language, row.grammar, row.band) == (language, grammar, band)]
        inside = [row for row in subset if row.inside]
        outside = [row for row in subset if not row.inside]
        sentence = sum(row.sentence_ok and accepted(row, threshold) for row in inside)
        semantic = sum(row.semantic_ok and accepted(row, threshold) for row in inside)
        false_rejects = sum(not accepted(row, threshold) for row in inside)
        rejected = sum(not accepted(row, threshold) for row in outside)
        unrejected = sum(row.semantic_ok for row in inside)
        print(f"{language} {grammar:36} {band:4}  sentence {sentence}/{len(inside)}  semantic {semantic}/{len(inside)} "
              f"({100 * semantic / max(1, len(inside)):.0f}%; {unrejected} with rejection off)  false rejections "
              f"{false_rejects}  out-of-grammar rejected {rejected}/{len(outside)}")
    for language in sorted({row.language for row in rows}):
        for band in ("wide", "tel"):
            subset = [row for row in rows if row.language == language and row.band == band]
            inside = [row for row in subset if row.inside]
            outside = [row for row in subset if not row.inside]
            semantic = sum(row.semantic_ok and accepted(row, threshold) for row in inside)
            unrejected = sum(row.semantic_ok for row in inside)
            rejected = sum(not accepted(row, threshold) for row in outside)
            print(f"{language} {band:4} total: semantic {semantic}/{len(inside)} ({100 * semantic / max(1, len(inside)):.0f}%; "
                  f"{100 * unrejected / max(1, len(inside)):.0f}% with rejection off), "
                  f"out-of-grammar rejected {rejected}/{len(outside)} ({100 * rejected / max(1, len(outside)):.0f}%)")


if __name__ == "__main__":
    raise SystemExit(main())
