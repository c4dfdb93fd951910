"""Recognition parameters: defaults from the configuration, validation by name, GET/SET."""

from __future__ import annotations

import pytest

from decoder.endpointer import EndpointerSettings
from server.parameters import ParameterError, Parameters
from srgs.config import EngineConfig


def test_defaults_come_from_the_configuration():
    config = EngineConfig.load(overrides={"server.no_input_timeout_ms": "4000", "server.recognition_timeout_ms": "9000",
                                          "interpret.nbest": "3", "interpret.confidence_threshold": "20"})
    settings = Parameters(config).settings()
    assert (settings.no_input_timeout_ms, settings.recognition_timeout_ms) == (4000, 9000)
    assert (settings.max_sentences, settings.confidence_threshold) == (3, 20)
    assert settings.start_input_timers and not settings.continuous_mode and settings.word_details == 0
    assert settings.partial_interval_ms is None
    assert settings.endpointer == EndpointerSettings()


def test_every_reference_parameter_is_known_with_its_default():
    values = dict(Parameters(EngineConfig()).render())
    assert values["decoder.startInputTimers"] == "true" and values["decoder.continuousMode"] == "false"
    assert values["decoder.partialResultEnabled"] == "false" and values["decoder.partialResultInterval"] == "1000"
    assert values["endpointer.enabled"] == "true" and values["endpointer.levelMode"] == "2"
    assert (values["endpointer.headMargin"], values["endpointer.tailMargin"], values["endpointer.waitEnd"]) \
        == ("200", "400", "1000")
    assert values["endpointer.levelThreshold"] == "-40" and values["hints.words"] == ""
    for name in ("noInputTimeout.enabled", "recognitionTimeout.value", "decoder.maxSentences",
                 "decoder.confidenceThreshold", "decoder.wordDetails", "endpointer.autoLevelLen",
                 "endpointer.maxSegmentDuration", "Media-Type", "Channel-Identifier", "loggingTag",
                 "license.manager.accountTag", "Verify-Buffer-Utterance"):
        assert name in values


def test_set_is_all_or_nothing_and_names_the_bad_parameter():
    parameters = Parameters(EngineConfig())
    assert parameters.update([("DECODER.MAXSENTENCES", "4"), ("endpointer.enabled", "off")]) == \
        ["decoder.maxSentences", "endpointer.enabled"]
    assert parameters.settings().max_sentences == 4 and not parameters.settings().endpointer.enabled
    with pytest.raises(ParameterError) as caught:
        parameters.update([("decoder.maxSentences", "2"), ("decoder.maxSentence", "2")])
    assert (caught.value.code, caught.value.name) == ("ERROR_INVALID_PARAMETER", "decoder.maxSentence")
    assert parameters.settings().max_sentences == 4


@pytest.mark.parametrize("name, value", [
    ("decoder.maxSentences", "0"), ("decoder.maxSentences", "101"), ("decoder.maxSentences", "two"),
    ("decoder.confidenceThreshold", "-1"), ("decoder.wordDetails", "3"), ("decoder.continuousMode", "perhaps"),
    ("noInputTimeout.value", "0"), ("endpointer.levelMode", "3"), ("endpointer.levelThreshold", "nan"),
    ("endpointer.levelThreshold", "5"), ("decoder.partialResultInterval", "10"), ("hints.words", "a b:1"),
])
def test_values_out_of_type_or_range_are_refused(name, value):
    with pytest.raises(ParameterError) as caught:
        Parameters(EngineConfig()).update([(name, value)])
    assert caught.value.code == "ERROR_INVALID_PARAMETER_VALUE" and name in str(caught.value)


def test_hints_passive_and_infer_parameters_are_stored():
    parameters = Parameters(EngineConfig())
    parameters.update([("hints.words", "pizza:2, olives:1.5,mushrooms"), ("loggingTag", "t-1"),
                       ("Infer-gender-enabled", "true")])
    values = dict(parameters.render(["hints.words", "loggingTag", "infer-gender-enabled"]))
    assert values == {"hints.words": "pizza:2, olives:1.5,mushrooms", "loggingTag": "t-1",
                      "Infer-gender-enabled": "true"}


def test_overlaid_parameters_leave_the_session_alone():
    parameters = Parameters(EngineConfig())
    one = parameters.overlaid([("decoder.wordDetails", "2"), ("noInputTimeout.enabled", "false")])
    assert one.settings().word_details == 2 and one.settings().no_input_timeout_ms is None
    assert parameters.settings().word_details == 0 and parameters.settings().no_input_timeout_ms == 10_000


def test_render_asks_by_name_in_any_case():
    parameters = Parameters(EngineConfig())
    assert parameters.render(["NOINPUTTIMEOUT.VALUE", " "]) == [("noInputTimeout.value", "10000")]
    with pytest.raises(ParameterError):
        parameters.render(["unknown.name"])
