"""Loading grammars: where they may come from (``policy``), reading them within bounds
(``sources``), reading either form and validating (``loader``), following references into a
``GrammarBundle`` (``resolve``)."""

from .loader import bundle_from_text, load_bundle, load_grammar, parse_grammar
from .policy import AccessPolicy, GrammarNamespace
from .sources import FetchOptions

__all__ = ["AccessPolicy", "FetchOptions", "GrammarNamespace", "bundle_from_text", "load_bundle",
           "load_grammar", "parse_grammar"]
