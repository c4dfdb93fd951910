"""Grammars the project ships, under ``builtin/`` (read by ``srgs.load.sources``):

- ``builtin/examples/NAME.grxml|.gram``: ``builtin:examples/NAME`` (pizza, yesno, digits);
- ``builtin/voice/LANG/NAME.grxml|.gram``: ``builtin:grammar/NAME[?lang=LANG;params]``, the voice
  grammars of each language (VoiceXML 2.0 types: boolean, digits, number, currency, date, time,
  phone, and for pt-BR cpf and cep);
- ``builtin/dtmf/NAME.gram``: ``builtin:dtmf/NAME[?params]``, the keypad grammars.

Next to each grammar, its regression cases ``NAME.cases.yaml`` (``srgs test``). A grammar that
takes parameters declares each as a ``srgs.param.NAME`` meta (its default) and writes
``__NAME__`` where the value goes; ``tools/`` keeps the scripts that generate large grammars.
"""
