"""What the accuracy benchmark speaks: grammars, in-grammar texts with their values, out-of-grammar
texts, voices, speeds and the audio conditions of each set.

In-grammar texts are the grammar's own cases (``grammars/builtin/**/NAME.cases.yaml``, with the
values they expect) followed by sentences sampled from the compiled grammar by its weights
(``srgs generate``, fixed seed), deduplicated, at most ``MAX_WORDS`` words; a sampled sentence's
expected value is what our interpreter gives its text (the grammar defines its meaning). Every
out-of-grammar text is checked against the grammar it is decoded under: it must not be a
sentence of it.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from interpreter.store import GrammarStore
from srgs.compile.sample import sample_sentences
from srgs.text import normalize_words

ROOT = Path(__file__).resolve().parents[2]
BUILTIN = ROOT / "grammars" / "builtin"
MAX_WORDS = 12
SEED = 20261201


@dataclass(frozen=True, slots=True)
class GrammarSpec:
    location: str
    language: str  # en-US or pt-BR
    cases: Path | None  # the cases file whose texts come first


EN_GRAMMARS = (
    GrammarSpec("builtin:examples/pizza", "en-US", BUILTIN / "examples" / "pizza.cases.yaml"),
    GrammarSpec("builtin:grammar/boolean", "en-US", BUILTIN / "voice" / "en-US" / "boolean.cases.yaml"),
    GrammarSpec("builtin:grammar/digits", "en-US", BUILTIN / "voice" / "en-US" / "digits.cases.yaml"),
    GrammarSpec("builtin:grammar/number", "en-US", BUILTIN / "voice" / "en-US" / "number.cases.yaml"),
)
PT_GRAMMARS = (
    GrammarSpec("builtin:grammar/boolean?lang=pt-BR", "pt-BR", BUILTIN / "voice" / "pt-BR" / "boolean.cases.yaml"),
    GrammarSpec("builtin:grammar/digits?lang=pt-BR", "pt-BR", BUILTIN / "voice" / "pt-BR" / "digits.cases.yaml"),
    GrammarSpec("builtin:grammar/number?lang=pt-BR", "pt-BR", BUILTIN / "voice" / "pt-BR" / "number.cases.yaml"),
)

VOICES = {"en-US": ("en-us", "en-us+f3"), "pt-BR": ("pt-br", "pt-br+f3")}
SPEEDS = (140, 175)  # words per minute (espeak-ng -s)
SNR_DB = 15.0

# Everyday requests no grammar here accepts (checked per grammar at build time).
OUT_OF_GRAMMAR_EN = (
    "what is the weather like today", "call my mother", "turn off the lights", "what time is it",
    "open the garage door", "play some music", "how far is the station", "send an email to john",
    "set an alarm for tomorrow", "where is the nearest bank", "read me the news", "book a table for tonight",
    "i need a taxi", "tell me a joke", "good morning everybody", "what is your name",
    "cancel my subscription", "i want to speak to an agent", "check my account balance",
    "the train leaves from platform nine", "my password does not work", "please repeat the question",
    "how much does shipping cost", "change my delivery address", "the internet is very slow",
    "where did i park the car", "remind me to buy milk", "switch to the kitchen camera",
    "who won the game last night", "translate this into french", "start a timer", "skip this song",
)
OUT_OF_GRAMMAR_PT = (
    "qual é a previsão do tempo", "ligue para minha mãe", "apague as luzes da sala", "que horas são",
    "abra a porta da garagem", "toque uma música", "onde fica a estação", "mande um email para o joão",
    "quero falar com um atendente", "cancele minha assinatura", "onde está o banco mais próximo",
    "leia as notícias de hoje",
)

CONDITIONS = ("clean", "noisy", "telephone")


@dataclass(frozen=True, slots=True)
class Utterance:
    """One decode: ``text`` spoken by ``voice`` at ``speed`` under ``condition``, decoded with
    ``grammar`` active; ``expected`` is the JSON value (None with ``in_grammar`` False)."""

    set: str  # one of ALL_SETS
    grammar: str
    language: str
    text: str
    in_grammar: bool
    expected: str | None  # the value as canonical JSON
    voice: str
    speed: int
    condition: str  # clean, noisy or telephone

    @property
    def key(self) -> str:
        return f"{self.voice}|{self.speed}|{self.condition}|{self.text}"


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def comparable_words(words: Sequence[str]) -> tuple[str, ...]:
    """Words for sentence accuracy: accents stripped and digits spelled, so that homophones the
    grammar treats alike ("três"/"tres", "0"/"zero") are one word."""
    digits = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
    out: list[str] = []
    for word in words:
        word = "".join(ch for ch in unicodedata.normalize("NFKD", word.lower()) if not unicodedata.combining(ch))
        out.append(digits[int(word)] if len(word) == 1 and word.isdigit() else word)
    return tuple(out)


def _value(store: GrammarStore, grammar: str, text: str) -> tuple[bool, Any]:
    result = store.activate([grammar]).interpreter().interpret(text)
    if result.status != "RECOGNIZED" or not result.alternatives:
        return False, None
    return True, result.alternatives[0].interpretations[0].value


def _speakable(text: str) -> bool:
    return 0 < len(text.split()) <= MAX_WORDS and "..." not in text


def grammar_texts(store: GrammarStore, spec: GrammarSpec, count: int) -> list[tuple[str, str]]:
    """``count`` (text, expected JSON) pairs: the cases file's recognised texts, then samples."""
    out: dict[str, str] = {}
    if spec.cases is not None and spec.cases.exists():
        for case in yaml.safe_load(spec.cases.read_text(encoding="utf-8")) or []:
            if len(out) >= count // 3:  # at most a third from the cases: the rest sampled
                break
            if not isinstance(case, dict) or case.get("params") or case.get("rule") or case.get("expect") == "NO_MATCH":
                continue
            text = str(case["text"])
            ok, value = _value(store, spec.location, text)
            if ok and _speakable(text) and canonical(value) == canonical(case["expect"]):
                out.setdefault(" ".join(normalize_words(text)), canonical(value))
    compiled = store.prepare(spec.location).compiled
    attempt = 0
    while len(out) < count and attempt < 20:
        for sentence in sample_sentences(compiled, 4 * count, seed=SEED + attempt):
            text = sentence["text"]
            if len(out) >= count or not _speakable(text) or text in out:
                continue
            ok, value = _value(store, spec.location, text)
            if ok:
                out[text] = canonical(value)
        attempt += 1
    return list(out.items())[:count]


def out_of_grammar_texts(store: GrammarStore, spec: GrammarSpec, texts: Sequence[str]) -> list[str]:
    """The ``texts`` that are not sentences of the grammar."""
    constraint = store.activate([spec.location]).constraint()
    return [text for text in dict.fromkeys(texts)
            if normalize_words(text) and constraint.accepts(normalize_words(text)) is None]


def near_miss_texts(store: GrammarStore, spec: GrammarSpec) -> list[str]:
    """The cases file's NO_MATCH texts (sentences close to the grammar's: "large pizza", "yes no")."""
    chosen: list[str] = []
    if spec.cases is not None and spec.cases.exists():
        for case in yaml.safe_load(spec.cases.read_text(encoding="utf-8")) or []:
            if isinstance(case, dict) and case.get("expect") == "NO_MATCH" and not case.get("params") \
                    and not case.get("rule") and _speakable(str(case["text"])):
                chosen.append(str(case["text"]))
    return out_of_grammar_texts(store, spec, chosen)


@dataclass(frozen=True, slots=True)
class Plan:
    """Sizes: texts per grammar, how many voice x speed combinations each text is spoken in per set."""

    per_grammar: int = 30
    pt_per_grammar: int = 20
    combos_clean: int = 4
    combos_copies: int = 2  # noisy and telephone copies: the first N combinations of each text (rotating)
    oog_texts: int = len(OUT_OF_GRAMMAR_EN)
    pt_oog_texts: int = len(OUT_OF_GRAMMAR_PT)
    near_miss: int = 20  # per grammar


QUICK = Plan(per_grammar=4, pt_per_grammar=3, combos_clean=1, combos_copies=1, oog_texts=4, pt_oog_texts=2, near_miss=2)
FULL = Plan()


def _combos(language: str) -> list[tuple[str, int]]:
    return [(voice, speed) for voice in VOICES[language] for speed in SPEEDS]


def _rotating(name: str, specs: Sequence[GrammarSpec], language: str,
              texts_of: Callable[[GrammarSpec], Iterable[tuple[str, Any]]], *, in_grammar: bool = False) -> list[Utterance]:
    """Set ``name``: each grammar's (text, expected value) pairs, clean, each said once by the next
    voice and speed of ``language`` in turn."""
    combos = _combos(language)
    out: list[Utterance] = []
    index = 0
    for spec in specs:
        for text, value in texts_of(spec):
            voice, speed = combos[index % len(combos)]
            out.append(Utterance(name, spec.location, language, text, in_grammar, value, voice, speed, "clean"))
            index += 1
    return out


def build_utterances(store: GrammarStore, plan: Plan, sets: Sequence[str]) -> list[Utterance]:
    """Every utterance of the chosen ``sets`` (``ALL_SETS``)."""
    out: list[Utterance] = []
    en_combos = _combos("en-US")
    if any(name in sets for name in CONDITIONS):
        index = 0
        for spec in EN_GRAMMARS:
            for text, value in grammar_texts(store, spec, plan.per_grammar):
                for condition in CONDITIONS:
                    if condition not in sets:
                        continue
                    count = plan.combos_clean if condition == "clean" else plan.combos_copies
                    for shift in range(count):
                        voice, speed = en_combos[(index + shift) % len(en_combos)]
                        out.append(Utterance(condition, spec.location, "en-US", text, True, value, voice, speed,
                                             condition))
                index += 1
    if "oog" in sets:
        out += _rotating("oog", EN_GRAMMARS, "en-US", lambda spec: (
            (text, None) for text in out_of_grammar_texts(store, spec, OUT_OF_GRAMMAR_EN[: plan.oog_texts])))
    if "near-miss" in sets:
        out += _rotating("near-miss", EN_GRAMMARS, "en-US", lambda spec: (
            (text, None) for text in near_miss_texts(store, spec)[: plan.near_miss]))
    if "pt-br" in sets:
        out += _rotating("pt-br", PT_GRAMMARS, "pt-BR", lambda spec: grammar_texts(store, spec, plan.pt_per_grammar),
                         in_grammar=True)
    if "pt-br-oog" in sets:
        out += _rotating("pt-br-oog", PT_GRAMMARS, "pt-BR", lambda spec: (
            (text, None) for text in out_of_grammar_texts(store, spec, OUT_OF_GRAMMAR_PT[: plan.pt_oog_texts])))
    return out


ALL_SETS = ("clean", "noisy", "telephone", "oog", "near-miss", "pt-br", "pt-br-oog")

__all__ = ["ALL_SETS", "CONDITIONS", "EN_GRAMMARS", "FULL", "GrammarSpec", "OUT_OF_GRAMMAR_EN", "OUT_OF_GRAMMAR_PT",
           "PT_GRAMMARS", "Plan", "QUICK", "SNR_DB", "SPEEDS", "Utterance", "VOICES", "build_utterances", "canonical",
           "comparable_words", "grammar_texts", "near_miss_texts", "out_of_grammar_texts"]
