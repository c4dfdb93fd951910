"""SRGS XML form (SRGS 1.0 §4 of the XML syntax): ``read_xml`` into the grammar model with
exact source positions, through a hardened lxml parser; ``write_xml`` back to an equal model."""

from .reader import read_xml
from .writer import write_xml

__all__ = ["read_xml", "write_xml"]
