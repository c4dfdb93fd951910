"""The SRGS front end and compiler.

Read grammars in either SRGS form into one model (``srgs.model``), validate and resolve them
(``srgs.loader.load_bundle``), write them back (``srgs.xml_writer``, ``srgs.abnf_writer``) and
compile them to weighted FSTs (``srgs.compile``). Errors are ``srgs.errors.SrgsError``s that say
where: ``FILE:LINE:COL: message``.
"""
