"""Free speech rejection (pocketsphinx, ``decoder.free_speech``; CTC with ``--backend ctc``): how much in-domain speech is kept
and how much of each out-of-domain set is rejected, before (no rejection: every decode that found a
word is RECOGNIZED) and after (``FreeSpeechSession``'s utterance confidence against its threshold),
with the real-time factor of both.

The audio is made here, deterministically (espeak-ng, sox in repeatable mode, numpy noise from
fixed seeds), in two disjoint halves:

- ``tune``: the half the confidence models (``decoder.free_speech.GENERAL_CONFIDENCE``, and with
  ``--lm pizza`` ``USER_MODEL_CONFIDENCE``) were fitted and their thresholds chosen on (``--fit``);
- ``held-out``: other sentences, other voices and another speed, other noise seeds and levels,
  other tones: the numbers to quote.

Sets (each half): ``english`` (in domain: espeak-ng English sentences) and the out sets ``white``
and ``pink`` noise, ``babble`` (three to five English voices speaking different sentences over each
other), ``tones`` (sine tones, chords, beeps, sweeps), and espeak-ng speech in ``pt-br``, ``de``
and ``fr``. With ``--lm pizza`` the model is a grammar-shaped one (``srgs lm build`` of
``srgs generate builtin:examples/pizza`` samples) and the in-domain set is pizza orders (the
English sentences are then one more out set).

    python benchmarks/bench_free_speech_rejection.py [--split tune|held-out|both] [--lm general|pizza]
        [--backend pocketsphinx|ctc] [--threshold T] [--fit [--measures A,B] [--ridge R]
        [--from-features FILE.jsonl]] [--features FILE.jsonl] [--work DIR]

``--backend ctc``: the CTC back end's free speech (``decoder.ctc_free_speech``, its dynamic search):
"before" is what the session returns, "after" that result with the utterance confidence of
``decoder.ctc_free_speech_confidence`` (computed from the session's Recognition, the log-probabilities
and the best hypothesis' acoustic and LM scores) under its threshold made NO_MATCH; its models
(``CTC_GENERAL_CONFIDENCE``, ``CTC_USER_MODEL_CONFIDENCE``) were fitted with ``--backend ctc --split
tune --fit`` (``--ridge 1``, the default for ctc). A run of both halves takes about 1.5 minutes of CPU
with builtin:slm/general, 0.5 with --lm pizza. ``--from-features`` refits from a ``--features`` file
without decoding.

The English halves differ in voices and speed as well as sentences (tune: en-us, en-us+f3 at 150
wpm, en-gb-x-rp, en-us+m1 at 175; held out: en-us+m3, en-gb at 175). A run of both halves takes
about 10 minutes of CPU with builtin:slm/general, 2 with --lm pizza.

Prints, per set, the share RECOGNIZED before and after, the mean confidence, and the CPU real-time
factor with and without the confidence's phone-loop pass. Needs espeak-ng and sox.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from decoder.audio import Audio, read_wav  # noqa: E402

RATE = 16000

ENGLISH = {
    "tune": [
        "how are you today", "please call me tomorrow morning", "what time is it now", "thank you very much",
        "good morning everyone", "the weather is nice today", "i need a taxi to the airport",
        "where is the nearest bank", "turn off the lights in the kitchen", "tell me a joke",
        "i would like a cup of coffee", "can you help me with my homework", "we are going to the beach",
        "my brother lives in new york", "the meeting starts at ten o'clock", "she bought a new car last week",
        "please send me the report", "i have two children", "the train is late again",
        "do you want to have dinner with us",
    ],
    "held-out": [
        "what is your name", "i am looking for a hotel", "the children are playing in the park",
        "he works at the hospital", "can i pay by credit card", "it is raining outside",
        "we need to buy some bread and milk", "the book is on the table", "how much does this cost",
        "i will see you next week", "my phone is not working", "she is reading a letter from her mother",
        "let us go home now", "the store closes at nine", "please open the window",
        "they moved to a new house", "i forgot my password", "the doctor will call you back",
        "this is a very good idea", "where did you park the car",
    ],
}
PIZZA_ORDERS = {
    "tune": [
        "a small pizza with ham", "two large pizzas with mushrooms", "i would like a medium pizza",
        "give me three small pizzas with onions please", "can i have one large pizza with pineapple",
        "i want two medium pizzas with olives and peppers",
    ],
    "held-out": [
        "a large pizza with extra cheese", "four small pizzas with pepperoni", "i want five large pizzas",
        "one medium pizza with olives", "i would like two small pizzas with ham and mushrooms",
        "three large pizzas please",
    ],
}
FOREIGN = {
    "pt-br": {
        "tune": ["bom dia, tudo bem com você", "eu gostaria de uma pizza grande", "onde fica a estação de trem",
                 "o tempo está muito bonito hoje", "minha irmã mora em São Paulo", "quanto custa este livro",
                 "amanhã vamos para a praia", "por favor, fale mais devagar"],
        "held-out": ["boa noite, como vai a família", "eu preciso de um táxi agora", "as crianças estão na escola",
                     "ele trabalha no hospital da cidade", "vamos almoçar juntos no domingo",
                     "o meu telefone não está funcionando", "a loja fecha às nove horas", "obrigado pela ajuda"],
    },
    "de": {
        "tune": ["guten Morgen, wie geht es Ihnen", "ich hätte gern eine große Pizza", "wo ist der Bahnhof",
                 "das Wetter ist heute sehr schön", "meine Schwester wohnt in Berlin", "wie viel kostet das Buch",
                 "morgen fahren wir an den Strand", "bitte sprechen Sie langsamer"],
        "held-out": ["guten Abend, wie geht es der Familie", "ich brauche jetzt ein Taxi", "die Kinder sind in der Schule",
                     "er arbeitet im Krankenhaus der Stadt", "wir essen am Sonntag zusammen zu Mittag",
                     "mein Telefon funktioniert nicht", "der Laden schließt um neun Uhr", "vielen Dank für die Hilfe"],
    },
    "fr": {
        "tune": ["bonjour, comment allez-vous", "je voudrais une grande pizza", "où est la gare",
                 "il fait très beau aujourd'hui", "ma sœur habite à Paris", "combien coûte ce livre",
                 "demain nous allons à la plage", "parlez plus lentement, s'il vous plaît"],
        "held-out": ["bonsoir, comment va la famille", "j'ai besoin d'un taxi maintenant", "les enfants sont à l'école",
                     "il travaille à l'hôpital de la ville", "nous déjeunons ensemble dimanche",
                     "mon téléphone ne marche pas", "le magasin ferme à neuf heures", "merci beaucoup pour votre aide"],
    },
}
FOREIGN_VOICES = {"pt-br": "pt-br", "de": "de", "fr": "fr-fr"}
# (voices, speed) per half: the held-out half has voices and a speed the tuning half never heard
ENGLISH_VOICES = {"tune": (("en-us", 150), ("en-us+f3", 150), ("en-gb-x-rp", 175), ("en-us+m1", 175)),
                  "held-out": (("en-us+m3", 175), ("en-gb", 175))}
FOREIGN_SPEED = {"tune": 150, "held-out": 175}
SEEDS = {"tune": 11, "held-out": 23}


def _run(args: list[str]) -> None:
    subprocess.run(args, check=True, capture_output=True, timeout=120)


def speak(text: str, voice: str, speed: int, out: Path) -> Path:
    """``text`` by espeak-ng at 16 kHz, 16-bit mono, with sox in repeatable mode (``-R``: the
    same dither every time, so the same file on every run)."""
    if not out.exists():
        raw = out.with_suffix(".raw.wav")
        _run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(raw), text])
        _run(["sox", "-R", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", "-e", "signed-integer", str(out)])
        raw.unlink()
    return out


def _write(samples: np.ndarray, out: Path) -> Path:
    if not out.exists():
        with wave.open(str(out), "wb") as writer:
            writer.setnchannels(1)
            writer.setsampwidth(2)
            writer.setframerate(RATE)
            writer.writeframes(np.clip(np.rint(samples), -32768, 32767).astype("<i2").tobytes())
    return out


def _pad(samples: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Silence-ish margins (a faint noise floor) around a sound, as a recording has."""
    head, tail = (int(RATE * s) for s in rng.uniform(0.2, 0.4, 2))
    floor = rng.normal(0, 3, head + len(samples) + tail)
    floor[head:head + len(samples)] += samples
    return floor


def _pink(count: int, rng: np.random.Generator) -> np.ndarray:
    spectrum = np.fft.rfft(rng.normal(0, 1, count))
    freqs = np.fft.rfftfreq(count, 1 / RATE)
    spectrum[1:] /= np.sqrt(freqs[1:])
    spectrum[0] = 0
    pink = np.fft.irfft(spectrum, count)
    return pink / np.sqrt(np.mean(pink ** 2))


def _level(samples: np.ndarray, dbfs: float) -> np.ndarray:
    """``samples`` scaled to an RMS of ``dbfs`` (dB against full scale)."""
    rms = float(np.sqrt(np.mean(samples ** 2))) or 1.0
    return samples / rms * 32768 * 10 ** (dbfs / 20)


def _tone_sound(kind: int, rng: np.random.Generator) -> np.ndarray:
    seconds = float(rng.uniform(1.0, 2.5))
    t = np.arange(int(RATE * seconds)) / RATE
    if kind == 0:  # a steady sine
        sound = np.sin(2 * np.pi * rng.uniform(200, 3000) * t)
    elif kind == 1:  # a chord of three to five sines
        sound = sum(np.sin(2 * np.pi * f * t) for f in rng.uniform(150, 2000, int(rng.integers(3, 6))))
    elif kind == 2:  # beeps: a tone on and off
        period = rng.uniform(0.15, 0.4)
        sound = np.sin(2 * np.pi * rng.uniform(400, 2500) * t) * ((t % period) < period / 2)
    elif kind == 3:  # a sweep
        low, high = sorted(rng.uniform(100, 4000, 2))
        sound = np.sin(2 * np.pi * (low * t + (high - low) * t ** 2 / (2 * seconds)))
    else:  # a melody of notes with harmonics (music-like)
        sound = np.zeros_like(t)
        step = int(RATE * rng.uniform(0.15, 0.3))
        for start in range(0, len(t), step):
            f = 220 * 2 ** (int(rng.integers(0, 24)) / 12)
            seg = t[start:start + step] - t[start]
            sound[start:start + step] = sum(np.sin(2 * np.pi * f * k * seg) / k for k in (1, 2, 3)) * np.exp(-3 * seg)
    return sound


def build_sets(split: str, work: Path, *, lm: str = "general") -> dict[str, list[Path]]:
    """The audio files of one half (``tune`` or ``held-out``), made once into ``work``."""
    folder = work / split
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEEDS[split])
    sets: dict[str, list[Path]] = {}
    in_domain = PIZZA_ORDERS[split] if lm == "pizza" else ENGLISH[split]
    sets["in-domain" if lm == "pizza" else "english"] = [
        speak(text, voice, speed, folder / f"{lm}-{number}-{voice}-{speed}.wav")
        for number, text in enumerate(in_domain) for voice, speed in ENGLISH_VOICES[split]]
    if lm == "pizza":
        sets["english"] = [speak(text, voice, speed, folder / f"english-{number}-{voice}-{speed}.wav")
                           for number, text in enumerate(ENGLISH[split][:10]) for voice, speed in ENGLISH_VOICES[split][:1]]
    levels = (-35.0, -25.0, -15.0) if split == "tune" else (-40.0, -30.0, -20.0)
    noise_makers: dict[str, Callable[[int], np.ndarray]] = {
        "white": lambda count: rng.normal(0, 1, count), "pink": lambda count: _pink(count, rng)}
    for name, make in noise_makers.items():
        files = []
        for number in range(12):
            count = int(RATE * rng.uniform(1.0, 3.0))
            files.append(_write(_pad(_level(make(count), levels[number % 3]), rng), folder / f"{name}-{number}.wav"))
        sets[name] = files
    babble = []
    sentences = ENGLISH["held-out" if split == "tune" else "tune"]  # not the in-domain half's sentences
    voices = ("en-us", "en-us+f3", "en-us+m3", "en-gb", "en-us+f2")
    for number in range(12):
        talkers = int(rng.integers(3, 6))
        parts = []
        for talker in range(talkers):
            text = sentences[int(rng.integers(0, len(sentences)))]
            path = speak(text, voices[talker], int(rng.choice([150, 175])),
                         folder / f"babble-part-{number}-{talker}.wav")
            parts.append(read_wav(path).samples.astype(np.float64))
        length = max(len(p) for p in parts) + RATE // 2
        mix = np.zeros(length)
        for part in parts:
            offset = int(rng.integers(0, length - len(part) + 1))
            mix[offset:offset + len(part)] += part
        babble.append(_write(_pad(_level(mix, float(rng.uniform(-30, -18))), rng), folder / f"babble-{number}.wav"))
    sets["babble"] = babble
    sets["tones"] = [_write(_pad(_level(_tone_sound(number % 5, rng), float(rng.uniform(-30, -15))), rng),
                            folder / f"tones-{number}.wav") for number in range(15)]
    for language, texts in FOREIGN.items():
        sets[language] = [speak(text, FOREIGN_VOICES[language], FOREIGN_SPEED[split],
                                folder / f"{language}-{number}.wav") for number, text in enumerate(texts[split])]
    return sets


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=("tune", "held-out", "both"), default="held-out")
    parser.add_argument("--lm", choices=("general", "pizza"), default="general")
    parser.add_argument("--backend", choices=("pocketsphinx", "ctc"), default="pocketsphinx")
    parser.add_argument("--threshold", type=float, default=None, help="the session's threshold (default: its own)")
    parser.add_argument("--features", type=Path, help="write each utterance's measures here (JSON lines)")
    parser.add_argument("--fit", action="store_true",
                        help="fit the confidence's logistic model on the tuning half's measures and print it")
    parser.add_argument("--measures", help="with --fit: the measures to weigh, comma-separated "
                                           "(default: those the back end's confidence model weighs)")
    parser.add_argument("--ridge", type=float, default=None,
                        help="with --fit: L2 on the standardised weights (default 0.01 for pocketsphinx, 1 for ctc)")
    parser.add_argument("--from-features", type=Path,
                        help="with --fit: read the measures from a --features file instead of decoding")
    parser.add_argument("--work", type=Path, default=Path("/tmp/srgs-bench-free-speech-rejection"))
    args = parser.parse_args()
    from decoder.lm import GENERAL, build_arpa

    location = GENERAL
    if args.lm == "pizza":
        args.work.mkdir(parents=True, exist_ok=True)
        samples = subprocess.run(["srgs", "generate", "builtin:examples/pizza", "-n", "500", "--seed", "1"],
                                 check=True, capture_output=True, text=True, timeout=120).stdout
        location = str(args.work / "pizza.arpa")
        Path(location).write_text(build_arpa(samples.splitlines(), 3), encoding="utf-8")
    positive = "in-domain" if args.lm == "pizza" else "english"
    if args.from_features is not None:
        rows = [json.loads(line) for line in args.from_features.read_text(encoding="utf-8").splitlines()]
        fit_rows = [(row["set"], row) for row in rows if row["split"] == "tune" and "confidence" in row]
        fit(fit_rows, positive, _fit_names(args), ridge=_ridge(args))
        return 0
    decoders = _ctc_decoders(location, args.threshold) if args.backend == "ctc" else \
        _pocketsphinx_decoders(location, args.threshold)
    threshold, decode = decoders
    out = args.features.open("w", encoding="utf-8") if args.features else None
    splits = ("tune", "held-out") if args.split == "both" else (args.split,)
    print(f"backend {args.backend}, model {args.lm}, threshold {threshold}")
    print(f"{'split':9} {'set':10} {'n':>3} {'kept before':>12} {'kept after':>11} {'mean conf':>9} "
          f"{'RTF before':>10} {'RTF after':>9}")
    fit_rows = []
    for split in splits:
        for name, paths in build_sets(split, args.work, lm=args.lm).items():
            kept_before = kept_after = 0
            confidences: list[float] = []
            cpu_before = cpu_after = seconds = 0.0
            for path in paths:
                audio = read_wav(path)
                seconds += audio.seconds
                outcome = decode(audio)
                cpu_before += outcome.cpu_before
                cpu_after += outcome.cpu_after
                kept_before += outcome.status_before == "RECOGNIZED"
                kept_after += outcome.status_after == "RECOGNIZED"
                measures = outcome.measures
                confidences.append(measures["confidence"] if measures is not None else 0.0)
                if out is not None:
                    out.write(json.dumps({"split": split, "set": name, "file": path.name,
                                          "status": outcome.status_after, "text": outcome.text,
                                          **(measures or {})}) + "\n")
                if split == "tune" and measures is not None:
                    fit_rows.append((name, measures))
            count = len(paths)
            print(f"{split:9} {name:10} {count:3} {kept_before / count:12.0%} {kept_after / count:11.0%} "
                  f"{sum(confidences) / count:9.1f} {cpu_before / seconds:10.3f} {cpu_after / seconds:9.3f}", flush=True)
    if out is not None:
        out.close()
    if args.fit:
        fit(fit_rows, positive, _fit_names(args), ridge=_ridge(args))
    return 0


@dataclass
class Outcome:
    """One utterance decoded without rejection (before) and with it (after), and their CPU seconds."""

    status_before: str
    status_after: str
    text: str
    measures: dict[str, float] | None
    cpu_before: float
    cpu_after: float


def _ridge(args: argparse.Namespace) -> float:
    if args.ridge is not None:
        return float(args.ridge)
    return 1.0 if args.backend == "ctc" else 0.01


def _fit_names(args: argparse.Namespace) -> list[str]:
    if args.measures:
        return [name.strip() for name in args.measures.split(",") if name.strip()]
    if args.backend == "ctc":
        from decoder.ctc_free_speech_confidence import CTC_GENERAL_CONFIDENCE, CTC_USER_MODEL_CONFIDENCE

        return list((CTC_USER_MODEL_CONFIDENCE if args.lm == "pizza" else CTC_GENERAL_CONFIDENCE).weights)
    from decoder.free_speech import GENERAL_CONFIDENCE, USER_MODEL_CONFIDENCE

    return list((USER_MODEL_CONFIDENCE if args.lm == "pizza" else GENERAL_CONFIDENCE).weights)


def _pocketsphinx_decoders(location: str, threshold: float | None) -> tuple[float, Callable[[Audio], Outcome]]:
    """pocketsphinx free speech without the phone loop (before) and with it (after): two decodes."""
    from decoder.free_speech import FreeSpeechSession, free_speech_session
    from decoder.pocketsphinx_backend import PocketsphinxModel
    from srgs.load.policy import AccessPolicy

    model = PocketsphinxModel()
    given = {} if threshold is None else {"rejection_threshold": threshold}
    after = free_speech_session(model, location, policy=AccessPolicy.local(), **given)
    before = FreeSpeechSession(model, location, policy=AccessPolicy.local(), confidence=False)
    assert isinstance(after, FreeSpeechSession)

    def decode(audio: Audio) -> Outcome:
        began = time.process_time()
        old = before.decode(audio)
        cpu_before = time.process_time() - began
        began = time.process_time()
        new = after.decode(audio)
        cpu_after = time.process_time() - began
        measures = after.last_measures
        return Outcome(old.result.status, new.result.status,
                       old.result.alternatives[0].text if old.result.alternatives else "",
                       measures.as_dict() if measures is not None else None, cpu_before, cpu_after)

    return float(after.rejection_threshold or 0.0), decode


class _RecordingSearch:
    """A CTC session's dynamic search that keeps its last n-best (the best hypothesis' acoustic and
    LM scores are what the confidence needs; the session does not return them)."""

    def __init__(self, search: Any):
        self.search = search
        self.last: list[Any] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.search, name)

    def decode(self, log_probs: Any, **options: Any) -> list[Any]:
        self.last = self.search.decode(log_probs, **options)
        return self.last


def _ctc_decoders(location: str, threshold: float | None) -> tuple[float, Callable[[Audio], Outcome]]:
    """The CTC session's decode (before: what the session returns) and the confidence over its
    result and log-probabilities (after: NO_MATCH under the threshold); one decode."""
    from decoder.ctc_backend import CtcModel
    from decoder.ctc_free_speech import CtcFreeSpeechSession
    from decoder.ctc_free_speech_confidence import confidence_model_for, ctc_free_speech_confidence
    from srgs.load.policy import AccessPolicy

    model = CtcModel()
    session = CtcFreeSpeechSession(model, location, policy=AccessPolicy.local())
    recorder = _RecordingSearch(session._dynamic)
    session._dynamic = recorder  # type: ignore[assignment]  # the same interface, recording
    confidence_model = confidence_model_for(location)
    limit = confidence_model.threshold if threshold is None else threshold

    def decode(audio: Audio) -> Outcome:
        began = time.process_time()
        recorder.last = []
        if not len(audio.samples) or int(np.abs(audio.samples.astype(np.int32)).max()) <= 2:  # as session.decode
            recognition = session.decode(audio)
            log_probs = np.zeros((0, len(model.units)), dtype=np.float32)
        else:
            log_probs = model.log_probs(audio)
            recognition = session.decode_log_probs(log_probs, audio_seconds=audio.seconds)
        cpu_before = time.process_time() - began
        status = recognition.result.status
        measures: dict[str, float] | None = None
        after = status
        if status == "RECOGNIZED" and recorder.last:
            best = recorder.last[0]
            confidence, found = ctc_free_speech_confidence(
                recognition, log_probs, blank_ids=model.blank_ids(), frame_seconds=model.frame_seconds,
                acoustic=best.acoustic, lm=best.lm, model=confidence_model)
            measures = found.as_dict()
            after = status if confidence / 100 >= limit else "NO_MATCH"
        cpu_after = time.process_time() - began
        alternatives = recognition.result.alternatives
        return Outcome(status, after, alternatives[0].text if alternatives else "", measures, cpu_before, cpu_after)

    return limit, decode


def fit(rows: list[tuple[str, dict[str, Any]]], positive: str, names: list[str], *, ridge: float = 0.01) -> None:
    """The logistic model of ``decoder.free_speech.ConfidenceModel`` (the measures ``names``) on the
    tuning half's measures: every out set weighs the same, the in-domain set as much as all of them; L2
    (``ridge``) on the standardised weights; Newton's method. Prints the weights (for the measures' own
    units), the bias, and the thresholds that keep 95%, 90% and 85% of the in-domain utterances."""
    if not rows:
        print("--fit: no measures (give --split tune or both)")
        return
    sets = [name for name, _ in rows]
    x = np.array([[measures[key] for key in names] for _, measures in rows])
    y = np.array([name == positive for name in sets], dtype=float)
    weight = np.array([1.0 / sets.count(name) for name in sets])
    weight[y == 1] *= len(set(sets)) - 1
    mean, spread = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = np.hstack([(x - mean) / spread, np.ones((len(x), 1))])
    beta = np.zeros(z.shape[1])
    penalty = ridge * np.eye(len(beta))
    for _ in range(100):
        p = 1 / (1 + np.exp(-z @ beta))
        gradient = z.T @ (weight * (p - y)) + penalty @ beta
        hessian = (z * (weight * p * (1 - p))[:, None]).T @ z + penalty
        beta -= np.linalg.solve(hessian, gradient)
    coefficients = beta[:-1] / spread
    bias = float(beta[-1] - (beta[:-1] * mean / spread).sum())
    print("weights={" + ", ".join(f'"{k}": {v:.3f}' for k, v in zip(names, coefficients, strict=True)) + "}, "
          f"bias={bias:.3f}")
    kept = np.sort(1 / (1 + np.exp(-(x[y == 1] @ coefficients + bias))))
    for share in (0.95, 0.90, 0.85):
        print(f"threshold keeping {share:.0%} of {positive} (tuning half): {kept[int(round((1 - share) * len(kept)))]:.3f}")


if __name__ == "__main__":
    raise SystemExit(main())
