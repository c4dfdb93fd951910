"""Free speech: word error rate and real-time factor of pocketsphinx's n-gram search with
builtin:slm/general against a grammar-shaped model built by ``srgs lm build`` from ``srgs generate``
samples of builtin:examples/pizza.

Synthesises with espeak-ng (voices en-us and en-us+f3, 150 words per minute) 12 pizza orders (in
the grammar, written here, not taken from the samples) and 10 everyday sentences outside it, and
decodes each with both models (``decoder.free_speech``), and with builtin:slm/general on the CTC back
end too (``decoder.ctc_free_speech``'s dynamic lexicon-tree search, emissions included in its
times). Prints per model and set: word error rate
(substitutions + deletions + insertions over reference words), sentence accuracy, mean and 90th
percentile real-time factor (wall clock) and the CPU time over the audio time (what one
core spends, whatever else runs on the machine); and what building and loading cost: the n-gram estimation, a
session's creation, and (``--convert``) builtin:slm/general's conversion to ARPA for KenLM. The
pizza grammar's own constrained search (the pocketsphinx back end) on the same pizza audio is the
reference line.

    python benchmarks/bench_free_speech.py [--samples 500] [--order 3] [--convert]

Needs espeak-ng and sox (as the decoder tests do).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from decoder.audio import read_wav  # noqa: E402
from decoder.ctc_backend import CtcModel  # noqa: E402
from decoder.ctc_free_speech import ctc_free_speech_session  # noqa: E402
from decoder.free_speech import free_speech_session  # noqa: E402
from decoder.lm import GENERAL, estimate, general_arpa, read_sphinx_trie, sphinx_general_lm  # noqa: E402
from decoder.pocketsphinx_backend import PocketsphinxModel  # noqa: E402
from interpreter.store import GrammarStore  # noqa: E402
from srgs.load.policy import AccessPolicy  # noqa: E402
from tests.decoder.speech import synthesise  # noqa: E402

PIZZA = "builtin:examples/pizza"
PIZZA_SENTENCES = [
    "a small pizza with ham", "two large pizzas with mushrooms", "i would like a medium pizza",
    "give me three small pizzas with onions please", "can i have one large pizza with pineapple",
    "i want two medium pizzas with olives and peppers", "a large pizza with extra cheese",
    "four small pizzas with pepperoni", "i want five large pizzas", "one medium pizza with olives",
    "i would like two small pizzas with ham and mushrooms", "three extra large pizzas please",
]
GENERAL_SENTENCES = [
    "how are you", "please call me tomorrow", "what time is it", "thank you very much", "good morning",
    "the weather is nice today", "i need a taxi", "where is the nearest bank", "turn off the lights",
    "tell me a joke",
]
VOICES = ("en-us", "en-us+f3")
SPEED = 150


def word_errors(reference: list[str], hypothesis: list[str]) -> int:
    """Levenshtein distance over words."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        current = [i] + [0] * len(hypothesis)
        for j, hyp in enumerate(hypothesis, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref != hyp))
        previous = current
    return previous[-1]


def pizza_corpus(samples: int) -> list[str]:
    """The grammar-shaped model's training text: ``samples`` sentences of the pizza grammar
    (``srgs generate``, seed 11), the same in every benchmark that builds the model."""
    return subprocess.run([sys.executable, "-m", "srgs.cli", "generate", PIZZA, "-n", str(samples), "--seed", "11"],
                          check=True, capture_output=True, text=True, cwd=ROOT).stdout.splitlines()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=500, help="srgs generate samples for the pizza model")
    parser.add_argument("--order", type=int, default=3)
    parser.add_argument("--convert", action="store_true",
                        help="also time builtin:slm/general's conversion to ARPA (into a temporary directory)")
    args = parser.parse_args()
    store = GrammarStore()
    constraint = store.activate([PIZZA]).constraint()
    for text in PIZZA_SENTENCES:
        assert constraint.accepts(tuple(text.split())) is not None, text
    for text in GENERAL_SENTENCES:
        assert constraint.accepts(tuple(text.split())) is None, text
    model = PocketsphinxModel()
    with tempfile.TemporaryDirectory(prefix="srgs-bench-free-speech-") as name:
        folder = Path(name)
        sentences = pizza_corpus(args.samples)
        held_in = sum(1 for text in PIZZA_SENTENCES if text in set(sentences))
        began = time.perf_counter()
        arpa = estimate(sentences, args.order)
        build_seconds = time.perf_counter() - began
        pizza_path = folder / "pizza.arpa"
        pizza_path.write_text(arpa.to_arpa(), encoding="utf-8")
        print(f"pizza model: {args.samples} samples of {PIZZA}, order {args.order}, n-grams {arpa.counts()}, "
              f"built in {build_seconds * 1000:.0f} ms; {held_in}/{len(PIZZA_SENTENCES)} test sentences "
              "occur among the samples")
        sessions = {}
        for label, location in (("slm/general", GENERAL), ("pizza.arpa", str(pizza_path))):
            began = time.perf_counter()
            sessions[label] = free_speech_session(model, location, policy=AccessPolicy.local())
            print(f"session with {label}: {(time.perf_counter() - began) * 1000:.0f} ms to make")
        ctc = CtcModel()
        began = time.perf_counter()
        sessions["ctc slm/general"] = ctc_free_speech_session(ctc, GENERAL, policy=AccessPolicy.local())
        print(f"CTC session with slm/general: {(time.perf_counter() - began) * 1000:.0f} ms to make (KenLM and the "
              "pronunciation tree; once per process)")
        grammar_session = model.session(store.activate([PIZZA]))
        audio = {(text, voice): read_wav(synthesise(text, folder, voice=voice, speed=SPEED))
                 for text in PIZZA_SENTENCES + GENERAL_SENTENCES for voice in VOICES}
        print(f"\n{len(audio)} utterances (espeak-ng {', '.join(VOICES)} at {SPEED} wpm), "
              f"{sum(a.seconds for a in audio.values()):.0f} s of audio\n")
        print(f"{'model':<16} {'set':<10} {'WER':>7} {'sentences':>10} {'RTF mean':>9} {'RTF p90':>8} {'CPU RTF':>8}")
        for label, session in [*sessions.items(), ("pizza grammar", grammar_session)]:
            for set_name, texts in (("pizza", PIZZA_SENTENCES), ("general", GENERAL_SENTENCES)):
                if label == "pizza grammar" and set_name == "general":
                    continue  # out of the grammar: rejection, measured by bench_rejection.py
                errors = words = correct = 0
                rtfs: list[float] = []
                cpu = seconds = 0.0
                for text in texts:
                    for voice in VOICES:
                        began = time.process_time()
                        recognition = session.decode(audio[(text, voice)])
                        cpu += time.process_time() - began
                        seconds += recognition.audio_seconds
                        result = recognition.result
                        hypothesis = result.alternatives[0].text.split() if result.status == "RECOGNIZED" else []
                        errors += word_errors(text.split(), hypothesis)
                        words += len(text.split())
                        correct += hypothesis == text.split()
                        rtfs.append(recognition.real_time_factor)
                count = len(texts) * len(VOICES)
                p90 = statistics.quantiles(rtfs, n=10)[-1] if len(rtfs) > 1 else rtfs[0]
                print(f"{label:<16} {set_name:<10} {errors / words:>6.1%} {correct:>4}/{count:<5} "
                      f"{statistics.fmean(rtfs):>9.3f} {p90:>8.3f} {cpu / seconds:>8.3f}")
        for session in sessions.values():
            session.close()
        grammar_session.close()
        if args.convert:
            began = time.perf_counter()
            trie = read_sphinx_trie(sphinx_general_lm())
            read_seconds = time.perf_counter() - began
            path = general_arpa(cache=folder)
            print(f"\nbuiltin:slm/general to ARPA: trie read in {read_seconds:.1f} s, ARPA written in "
                  f"{time.perf_counter() - began - read_seconds:.1f} s, {path.stat().st_size / 1e6:.0f} MB, "
                  f"n-grams {trie.counts()}")
            from decoder.lm import LanguageModel

            began = time.perf_counter()
            LanguageModel(str(path))
            print(f"KenLM loads it in {time.perf_counter() - began:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
