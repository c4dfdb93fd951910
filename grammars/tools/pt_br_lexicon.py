"""Generate the pt-BR pronunciation lexicon of the CTC back end (decoder/data/pt-BR.lexicon).

    python grammars/tools/pt_br_lexicon.py              # rewrites decoder/data/pt-BR.lexicon
    python grammars/tools/pt_br_lexicon.py --en-us-g2p  # and decoder/data/en-US.g2p

``--en-us-g2p`` also keeps hama's G2P output for every word of the en-US built-in grammars
(grammars/builtin/voice/en-US and the examples) in decoder/data/en-US.g2p, so the en-US lexicon
does not run the G2P model for them at run time.

Needs espeak-ng at build time only: every word of the pt-BR built-in voice grammars
(grammars/builtin/voice/pt-BR/*.gram) plus ``COMMON_WORDS`` is spoken by ``espeak-ng -v pt-br -q
--ipa`` and the IPA respelled as sets of hama's General-American units by
``decoder.lexicon.respell_pt_br_ipa``. The output is plain text, sorted, so a regeneration shows as
a readable diff; run time reads it and never calls espeak-ng.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from decoder.lexicon import Pronunciation, format_pronunciation, pt_br_variants, respell_pt_br_ipa  # noqa: E402

OUT = ROOT / "decoder" / "data" / "pt-BR.lexicon"
GRAMMARS = ROOT / "grammars" / "builtin" / "voice" / "pt-BR"
COMMON_WORDS = """
a o as os um uma uns umas de do da dos das em no na nos nas por pelo pela para pra com sem e ou mas
que se não sim eu tu ele ela nós vós eles elas você vocês meu minha seu sua nosso nossa isso isto
aquilo este esta esse essa aqui ali lá já ainda também só muito pouco mais menos bem mal tudo nada
ser estar ter ter fazer ir vir poder querer dizer falar ver dar saber ficar passar pagar ligar
quero queria preciso gostaria pode posso sou estou tenho vou é está são foi era tem há
olá oi tchau bom boa dia tarde noite obrigado obrigada por favor desculpe licença ajuda atendente
cancelar confirmar voltar repetir continuar sair menu opção opções início ajuda falar pessoa
conta contas saldo extrato cartão crédito débito boleto fatura pagamento pix transferência
segunda terça quarta quinta sexta sábado domingo hoje amanhã ontem semana mês ano
janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro
hora horas minuto minutos segundo segundos meio meia reais real centavos centavo dinheiro
número telefone celular cpf cep endereço rua avenida cidade estado nome
primeiro primeira segundo segunda terceiro terceira último última próximo anterior
zero um dois três quatro cinco seis sete oito nove dez cem mil
""".split()


def grammar_words() -> list[str]:
    """Every word of the pt-BR built-in grammars, in first-seen order."""
    from interpreter.store import GrammarStore

    store = GrammarStore()
    words: list[str] = []
    seen: set[str] = set()
    for path in sorted(GRAMMARS.glob("*.gram")):
        constraint = store.activate([f"builtin:grammar/{path.stem}?lang=pt-BR"]).constraint()
        for word in constraint.words[3:]:
            if word not in seen:
                seen.add(word)
                words.append(word)
    return words


EN_US_OUT = ROOT / "decoder" / "data" / "en-US.g2p"


def en_us_words() -> list[str]:
    from interpreter.store import GrammarStore

    store = GrammarStore()
    locations = [f"builtin:grammar/{path.stem}" for path in sorted((GRAMMARS.parent / "en-US").glob("*.gram"))]
    locations += ["builtin:examples/pizza", "builtin:examples/yesno"]
    words: dict[str, None] = {}
    for location in locations:
        for word in store.activate([location]).constraint().words[3:]:
            words[word.lower()] = None
    return [word for word in words if not any(ch.isdigit() for ch in word)]


def write_en_us_g2p() -> None:
    import hama

    model = hama.G2PModel()
    lines = ["# hama G2P output of the en-US built-in grammars' words, written by",
             "# grammars/tools/pt_br_lexicon.py --en-us-g2p: do not edit by hand. WORD<TAB>units"]
    for word in sorted(en_us_words()):
        tokens = [str(alignment.phoneme) for alignment in model.predict(word).alignments]
        if tokens:
            lines.append(f"{word}\t{' '.join(tokens)}")
    EN_US_OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{EN_US_OUT}: {len(lines) - 2} words")


def espeak_ipa(word: str) -> str:
    done = subprocess.run(["espeak-ng", "-v", "pt-br", "-q", "--ipa", word], check=True, capture_output=True,
                          text=True, timeout=30)
    return done.stdout.strip()


SPELLED_OUT = 3  # positions per letter above which espeak-ng's isolated IPA spells the word out

CONTEXT = "pois"  # a carrier word: espeak-ng reduces unstressed words in a sentence (e: "ɛ" alone, "i" in one)


def espeak_ipa_in_context(word: str) -> str:
    """The IPA of ``word`` between two carrier words (as spoken inside a sentence), or "" when
    espeak-ng does not give three words back."""
    tokens = espeak_ipa(f"{CONTEXT} {word} {CONTEXT}").split()
    return tokens[1] if len(tokens) == 3 else ""


def build(words: list[str]) -> tuple[str, list[str]]:
    """The lexicon text and the words that could not be respelled (with why)."""
    lines: list[str] = ["# pt-BR pronunciations for hama's phoneme CTC model, generated by",
                        "# grammars/tools/pt_br_lexicon.py from espeak-ng's pt-BR IPA: do not edit by hand.",
                        "# WORD<TAB>positions; a|b = either unit, x? = optional"]
    problems: list[str] = []
    for word in sorted(set(words)):
        if not word or any(ch.isdigit() for ch in word):
            continue  # digit tokens are read as their number words at run time
        ipa = espeak_ipa(word)
        if not ipa or " " in ipa:
            problems.append(f"{word}: espeak-ng gave {ipa!r}")
            continue
        try:
            pronunciation = respell_pt_br_ipa(ipa)
        except ValueError as exc:
            problems.append(f"{word}: {exc}")
            continue
        forms: list[Pronunciation] = [pronunciation]
        in_context = espeak_ipa_in_context(word)
        if in_context and in_context.replace("ˈ", "").replace("ˌ", "") != ipa.replace("ˈ", "").replace("ˌ", ""):
            try:
                reduced = respell_pt_br_ipa(in_context)
            except ValueError:
                reduced = pronunciation  # the isolated form stands alone
            if reduced != pronunciation:
                if len(pronunciation) > SPELLED_OUT * len(word):  # é alone: "é agudo"
                    forms = []
                forms.append(reduced)
        for form in list(forms):
            forms += [variant for variant in pt_br_variants(form) if variant not in forms]
        lines += [f"{word}\t{format_pronunciation(form)}" for form in forms]
    return "\n".join(lines) + "\n", problems


def main() -> int:
    words = grammar_words() + COMMON_WORDS
    text, problems = build(words)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf-8")
    print(f"{OUT}: {text.count(chr(10)) - 3} pronunciations")
    for problem in problems:
        print(f"skipped {problem}", file=sys.stderr)
    if "--en-us-g2p" in sys.argv[1:]:
        write_en_us_g2p()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
