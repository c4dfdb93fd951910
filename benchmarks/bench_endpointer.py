"""Endpointing and streaming: accuracy and cost.

1. Endpointer accuracy: espeak-ng utterances (2 voices, 2 speeds) with a known speech extent,
   placed in a stream between stretches of silence, over a background noise at several levels,
   at 8 and 16 kHz, in fixed and automatic level modes; the error of each detected start and end
   (ms), missed and extra segments, and the CPU per 10 ms frame.
2. Streaming: a pocketsphinx session decoding each utterance whole, then streaming it in 20 ms
   chunks with ``partial()`` after every chunk (the final results are checked equal): the real-time
   factors, the cost of the partials and the latency of ``finish()``.
3. Memory: resident memory added per pocketsphinx session (its own decoder), and a session's
   creation time.

    python benchmarks/bench_endpointer.py [--quick]

Needs espeak-ng and sox (as the decoder tests do).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from decoder.audio import read_wav, resample  # noqa: E402
from decoder.endpointer import Endpointer, EndpointerSettings, SpeechEnded, SpeechStarted  # noqa: E402
from decoder.pocketsphinx_backend import PocketsphinxModel  # noqa: E402
from interpreter.store import GrammarStore  # noqa: E402
from tests.decoder.speech import synthesise  # noqa: E402

PIZZA = "builtin:examples/pizza"
SENTENCES = ["a small pizza with ham", "i would like two large pizzas with mushrooms and olives",
             "give me three small pizzas with onions please", "four small pizzas with pepperoni",
             "can i have one large pizza with pineapple", "i want two medium pizzas with olives and peppers"]
VOICES = ("en-us", "en-us+f3")
SPEEDS = (150, 175)


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def extent(samples: np.ndarray, rate: int) -> tuple[int, int]:
    """First and last sample of the speech: where its 10 ms level passes -45 dBFS."""
    frame = rate // 100
    count = len(samples) // frame
    power = np.square(samples[: count * frame].astype(np.float64)).reshape(count, frame).mean(axis=1)
    loud = np.nonzero(10 * np.log10(power / 32768**2 + 1e-10) >= -45)[0]
    return int(loud[0]) * frame, (int(loud[-1]) + 1) * frame


def endpointer_accuracy(utterances: list[np.ndarray]) -> None:
    print("endpointer: each utterance after 1.5 s and before 1.5 s of background; errors in ms "
          "(detected - true; start negative = early, end positive = late)")
    print(f"{'rate':>5} {'mode':>9} {'noise dBFS':>10} {'found':>7} {'start median/max':>17} "
          f"{'end median/max':>15} {'us/frame':>8}")
    rng = np.random.default_rng(1)
    for rate in (16000, 8000):
        for mode, noises in ((2, (-70, -55, -45)), (1, (-70, -55, -45, -35))):
            for noise_db in noises:
                starts: list[float] = []
                ends: list[float] = []
                found = 0
                frames = 0
                spent = 0.0
                for samples in utterances:
                    speech = samples if rate == 16000 else resample(samples, 16000, rate)
                    first, last = extent(speech, rate)
                    speech = speech[first:last].astype(np.float64)
                    pad = int(1.5 * rate)
                    signal = np.concatenate([np.zeros(pad), speech, np.zeros(pad)])
                    signal += rng.normal(0.0, 32768 * 10 ** (noise_db / 20), len(signal))
                    pcm = np.clip(np.round(signal), -32768, 32767).astype("<i2").tobytes()
                    endpointer = Endpointer(EndpointerSettings(level_mode=mode, sample_rate=rate))
                    began = time.process_time()
                    events = []
                    for offset in range(0, len(pcm), rate // 25):  # 20 ms chunks
                        events += endpointer.feed(pcm[offset: offset + rate // 25])
                    events += endpointer.finish()
                    spent += time.process_time() - began
                    frames += len(signal) // (rate // 100)
                    opened = [e for e in events if isinstance(e, SpeechStarted)]
                    closed = [e for e in events if isinstance(e, SpeechEnded)]
                    if len(opened) == 1 and len(closed) == 1:
                        found += 1
                        starts.append(1000 * (opened[0].at - 1.5))
                        ends.append(1000 * (closed[0].at - 1.5 - len(speech) / rate))
                mode_name = "fixed" if mode == 2 else "automatic"
                if starts:
                    start_text = f"{statistics.median(starts):+6.0f}/{max(starts, key=abs):+5.0f}"
                    end_text = f"{statistics.median(ends):+6.0f}/{max(ends, key=abs):+5.0f}"
                else:
                    start_text = end_text = "-"
                print(f"{rate:5} {mode_name:>9} {noise_db:10} {found:3}/{len(utterances):<3} {start_text:>17} "
                      f"{end_text:>15} {1e6 * spent / frames:8.1f}")


def streaming(model: PocketsphinxModel, store: GrammarStore, utterances: list[np.ndarray]) -> None:
    from decoder.audio import Audio

    whole_rtf: list[float] = []
    stream_rtf: list[float] = []
    partial_share: list[float] = []
    finish_ms: list[float] = []
    with model.session(store.activate([PIZZA])) as session:
        for samples in utterances:
            audio = Audio(samples=samples)
            began = time.process_time()
            whole = session.decode(audio)
            whole_rtf.append((time.process_time() - began) / audio.seconds)
            pcm = audio.pcm()
            stream = session.stream()
            partial_time = 0.0
            began = time.process_time()
            for offset in range(0, len(pcm), 640):
                stream.feed(pcm[offset: offset + 640])
                mark = time.process_time()
                stream.partial()
                partial_time += time.process_time() - mark
            mark = time.process_time()
            final = stream.finish()
            finish_ms.append(1000 * (time.process_time() - mark))
            total = time.process_time() - began
            stream_rtf.append(total / audio.seconds)
            partial_share.append(partial_time / audio.seconds)
            assert final.result == whole.result and final.words == whole.words, "stream and decode differ"
    print(f"\nstreaming ({len(utterances)} utterances, median {statistics.median(len(u) for u in utterances) / 16000:.1f} s; "
          "CPU time):")
    print(f"  decode whole: RTF median {statistics.median(whole_rtf):.3f}")
    print(f"  stream in 20 ms chunks with partial() after each: RTF median {statistics.median(stream_rtf):.3f} "
          f"(of which partials {statistics.median(partial_share):.3f}); finish() median "
          f"{statistics.median(finish_ms):.0f} ms, max {max(finish_ms):.0f} ms")


def memory(model: PocketsphinxModel, store: GrammarStore, count: int) -> None:
    activation = store.activate([PIZZA])
    model.session(activation).close()  # warm: the grammar compiled, pocketsphinx loaded
    before = rss_mb()
    began = time.perf_counter()
    sessions = [model.session(activation) for _ in range(count)]
    made = (time.perf_counter() - began) / count
    after = rss_mb()
    for session in sessions:
        session.close()
    print(f"\nmemory: {count} pizza sessions add {after - before:.0f} MB: {(after - before) / count:.1f} MB each; "
          f"{1000 * made:.0f} ms to make one (the shared model itself: 27 MB with the whole dictionary)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one voice and speed, 10 sessions")
    args = parser.parse_args()
    voices, speeds = (VOICES[:1], SPEEDS[:1]) if args.quick else (VOICES, SPEEDS)
    with tempfile.TemporaryDirectory(prefix="srgs-bench-endpointer-") as folder:
        utterances = [read_wav(synthesise(text, Path(folder), voice=voice, speed=speed)).samples
                      for voice in voices for speed in speeds for text in SENTENCES]
    endpointer_accuracy(utterances)
    model, store = PocketsphinxModel(), GrammarStore()
    streaming(model, store, utterances)
    memory(model, store, 10 if args.quick else 30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
