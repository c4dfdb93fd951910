"""Decoding audio under the active grammars (issue 10).

Layering: ``srgs`` <- ``interpreter`` <- ``decoder`` <- server; only ``srgs.cli`` imports this
package. ``decoder.audio`` reads WAV input; ``decoder.base`` holds the result types and the
``DecoderSession``/``DecoderStream`` interfaces; ``decoder.pocketsphinx_backend`` is the default
back end (pocketsphinx FSG search under the grammars' ``GrammarConstraint``, $GARBAGE as a phone
loop, rejection against an unconstrained phone loop, then the interpreter; each session has its
own small decoder and streams audio in chunks). ``decoder.stream.BufferedStream`` gives any back
end that decodes whole utterances a ``stream()``; ``decoder.endpointer`` finds where speech
starts and ends in a stream (energy-based, for the server's START_OF_SPEECH/END_OF_SPEECH).
"""
