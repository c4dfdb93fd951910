"""Decoding audio under the active grammars (issue 10).

Layering: ``srgs`` <- ``interpreter`` <- ``decoder`` <- server; only ``srgs.cli`` imports this
package. ``decoder.audio`` reads WAV input; ``decoder.pocketsphinx_backend`` is the default back
end (pocketsphinx FSG search under the grammars' ``GrammarConstraint``, then the interpreter).
"""
