"""Streaming decoding: a pocketsphinx session's stream (chunks in, partial hypotheses, the final
n-best equal to a whole-utterance decode), sessions streaming side by side, and the generic
``BufferedStream`` other back ends reuse."""

from __future__ import annotations

import numpy as np
import pytest

from decoder.audio import Audio, read_wav
from decoder.base import DecoderError, Recognition
from decoder.pocketsphinx_backend import PARTIAL_INTERVAL
from decoder.stream import BufferedStream
from interpreter.results import RecognitionResult
from tests.decoder.speech import synthesise

YESNO = "builtin:examples/yesno"
PIZZA = "builtin:examples/pizza"
CHUNK = 640  # 20 ms at 16 kHz


def same(a: Recognition, b: Recognition) -> bool:
    """Equal in everything but the time the decoding took."""
    return (a.result, a.words, a.hypotheses, a.audio_seconds, a.rejection_score, a.rejected) == \
        (b.result, b.words, b.hypotheses, b.audio_seconds, b.rejection_score, b.rejected)


def stream_in_chunks(session, audio: Audio, *, nbest: int | None = None, poll: bool = True):
    stream = session.stream(nbest=nbest)
    partials = []
    pcm = audio.pcm()
    for offset in range(0, len(pcm), CHUNK):
        stream.feed(pcm[offset: offset + CHUNK])
        if poll:
            partials.append(stream.partial())
    return stream.finish(), partials


@pytest.mark.parametrize("grammar, text", [
    (PIZZA, "i would like two large pizzas with mushrooms and olives"),
    (YESNO, "no thank you"),
    (YESNO, "open the door"),  # out of grammar: rejected the same way
])
def test_streaming_in_20ms_chunks_gives_what_decoding_the_whole_gives(store, model, speech, grammar, text):
    audio = read_wav(synthesise(text, speech))
    with model.session(store.activate([grammar], nbest=3)) as session:
        whole = session.decode(audio)
        streamed, partials = stream_in_chunks(session, audio)
        quiet, _ = stream_in_chunks(session, audio, poll=False)
    assert same(whole, streamed) and same(whole, quiet)
    if grammar == YESNO and text == "open the door":
        assert streamed.rejected and streamed.result.status == "NO_MATCH"
    else:
        assert streamed.result.alternatives[0].text == text and len(streamed.hypotheses) >= 1
    assert any(p is not None for p in partials)


def test_partial_hypotheses_grow_with_the_audio_and_are_rate_limited(store, model, speech):
    text = "i would like two large pizzas with mushrooms and olives"
    audio = read_wav(synthesise(text, speech))
    with model.session(store.activate([PIZZA])) as session:
        stream = session.stream()
        assert stream.partial() is None  # no audio yet
        pcm = audio.pcm()
        seen: list[str] = []
        for offset in range(0, len(pcm), CHUNK):
            stream.feed(pcm[offset: offset + CHUNK])
            partial = stream.partial()
            if partial is not None and (not seen or partial.result.alternatives[0].text != seen[-1]):
                seen.append(partial.result.alternatives[0].text)
        # no new audio: the same partial object, no new search
        assert stream.partial() is stream.partial()
        last = stream.partial()
        final = stream.finish()
    assert last is not None and last.result.alternatives[0].text == text
    # the partial text grew word by word towards the final one (each a sentence prefix)
    assert len(seen) >= 4 and seen[-1] == text
    assert all(text.startswith(words) or len(words.split()) <= len(text.split()) for words in seen)
    assert "two large" in " ".join(seen[2:])
    # a whole sentence already: the partial carries its interpretation, confidences 0
    assert last.result.alternatives[0].interpretations[0].value == \
        final.result.alternatives[0].interpretations[0].value
    assert all(word.confidence == 0 for word in last.words) and last.rejection_score is None
    assert PARTIAL_INTERVAL <= 0.5


def test_a_prefix_partial_has_the_words_and_no_interpretation(store, model, speech):
    audio = read_wav(synthesise("i would like two large pizzas with mushrooms and olives", speech))
    activation = store.activate([PIZZA])
    with model.session(activation) as session:
        stream = session.stream()
        stream.feed(audio.pcm()[: 2 * 19200])  # the first 1.2 s: "i would like ..."
        partial = stream.partial()
        stream.cancel()
    assert partial is not None and partial.result.status == "RECOGNIZED"
    alternative = partial.result.alternatives[0]
    assert alternative.text.startswith("i would") and alternative.lm == ""
    assert activation.constraint().accepts(alternative.text.split()) is None  # not a sentence yet
    assert alternative.interpretations == () and alternative.score == 0
    assert partial.audio_seconds == pytest.approx(1.2)


def test_partials_under_garbage_show_the_grammar_words_only(store, model, speech):
    grammar = store.prepare_text("#ABNF 1.0 UTF-8;\nlanguage en-US;\nmode voice;\nroot $r;\n"
                                 "public $r = $GARBAGE two large pizzas;\n")
    audio = read_wav(synthesise("uh i want two large pizzas", speech))
    with model.session(store.activate([grammar])) as session:
        stream = session.stream()
        pcm = audio.pcm()
        texts = []
        for offset in range(0, len(pcm), CHUNK):
            stream.feed(pcm[offset: offset + CHUNK])
            partial = stream.partial()
            if partial is not None:
                texts.append(partial.result.alternatives[0].text)
                assert partial.hypotheses[0][0][0] == "..."  # the garbage is in the hypothesis
        final = stream.finish()
    assert texts and all(text and "..." not in text for text in texts)
    assert texts[-1] == final.result.alternatives[0].text == "two large pizzas"


def test_cancel_and_one_utterance_at_a_time(store, model, speech):
    audio = read_wav(synthesise("yes please", speech))
    with model.session(store.activate([YESNO])) as session:
        stream = session.stream()
        stream.feed(audio.pcm())
        assert stream.partial() is not None
        with pytest.raises(DecoderError, match="in progress"):
            session.decode(audio)
        with pytest.raises(DecoderError, match="in progress"):
            session.stream()
        stream.cancel()
        stream.cancel()  # twice is harmless
        with pytest.raises(DecoderError, match="has ended"):
            stream.feed(b"\0\0")
        with pytest.raises(DecoderError, match="has ended"):
            stream.finish()
        # the cancelled utterance left nothing behind
        after = session.decode(audio)
        again, _ = stream_in_chunks(session, audio)
        assert after.result.alternatives[0].text == "yes please" and same(after, again)
    with pytest.raises(DecoderError, match="closed"):
        session.stream()


def test_a_session_closed_with_an_open_stream_cancels_it(store, model):
    session = model.session(store.activate([YESNO]))
    stream = session.stream()
    stream.feed(b"\0\0" * 1600)
    session.close()
    with pytest.raises(DecoderError, match="has ended"):
        stream.partial()


def test_results_do_not_depend_on_what_the_session_decoded_before(store, model, speech):
    first = read_wav(synthesise("a small pizza with ham", speech))
    other = read_wav(synthesise("four small pizzas with pepperoni", speech, voice="en-us+f3"))
    with model.session(store.activate([PIZZA])) as session:
        before = session.decode(first)
        session.decode(other)
        stream = session.stream()
        stream.feed(other.pcm())
        stream.partial()
        stream.cancel()
        assert same(before, session.decode(first))


def test_sessions_stream_side_by_side(store, model, speech):
    pizza = read_wav(synthesise("give me three small pizzas with onions please", speech)).pcm()
    yes = read_wav(synthesise("no thanks", speech)).pcm()
    with model.session(store.activate([PIZZA])) as one, model.session(store.activate([YESNO])) as two:
        expected = (one.decode(Audio(np.frombuffer(pizza, "<i2").astype(np.int16))),
                    two.decode(Audio(np.frombuffer(yes, "<i2").astype(np.int16))))
        streams = (one.stream(), two.stream())
        for offset in range(0, max(len(pizza), len(yes)), CHUNK):  # interleaved chunks
            for stream, pcm in zip(streams, (pizza, yes), strict=True):
                if offset < len(pcm):
                    stream.feed(pcm[offset: offset + CHUNK])
                    stream.partial()
        results = tuple(stream.finish() for stream in streams)
    assert all(same(a, b) for a, b in zip(expected, results, strict=True))
    assert results[0].result.alternatives[0].text == "give me three small pizzas with onions please"
    assert results[1].result.alternatives[0].text == "no thanks"


def test_odd_chunks_are_joined_into_samples(store, model, speech):
    audio = read_wav(synthesise("yes", speech))
    pcm = audio.pcm()
    with model.session(store.activate([YESNO])) as session:
        stream = session.stream()
        for offset in range(0, len(pcm), 333):  # odd sizes: samples split across chunks
            stream.feed(pcm[offset: offset + 333])
        assert same(stream.finish(), session.decode(audio))


# --- BufferedStream -------------------------------------------------------------------------


def fake_decode(calls: list[int]):
    def decode(audio: Audio) -> Recognition:
        calls.append(len(audio.samples))
        words = tuple(str(int(x)) for x in audio.samples[:2])
        return Recognition(result=RecognitionResult(status="NO_MATCH"), words=(), hypotheses=((words, 0.0, None),),
                           audio_seconds=audio.seconds, decode_seconds=0.0)
    return decode


def test_buffered_stream_rate_limits_partials_by_audio_time():
    calls: list[int] = []
    stream = BufferedStream(fake_decode(calls), sample_rate=16000, partial_interval=0.5)
    assert stream.partial() is None and calls == []
    stream.feed(np.arange(1600, dtype="<i2").tobytes())  # 0.1 s
    first = stream.partial()
    assert first is not None and calls == [1600]
    stream.feed(b"\0\0" * 4000)  # 0.35 s in all: under the interval since the last partial
    assert stream.partial() is first and calls == [1600]
    stream.feed(b"\0\0" * 4000 + b"\1")  # 0.6 s, plus half a sample
    assert stream.partial() is not first and calls == [1600, 9600]
    assert stream.partial_decodes == 2 and stream.seconds == pytest.approx(0.6)
    final = stream.finish()
    assert calls[-1] == 9600 and final.audio_seconds == pytest.approx(0.6)
    with pytest.raises(DecoderError, match="has ended"):
        stream.feed(b"\0\0")


def test_buffered_stream_over_a_pocketsphinx_session_is_its_decode(store, model, speech):
    audio = read_wav(synthesise("no thank you", speech))
    closed: list[bool] = []
    with model.session(store.activate([YESNO])) as session:
        stream = BufferedStream(session.decode, max_seconds=10, on_close=lambda: closed.append(True))
        pcm = audio.pcm()
        for offset in range(0, len(pcm), CHUNK):
            stream.feed(pcm[offset: offset + CHUNK])
        assert stream.partial() is not None
        assert same(stream.finish(), session.decode(audio)) and closed == [True]
        limited = BufferedStream(session.decode, max_seconds=0.5)
        with pytest.raises(DecoderError, match="over 0.5 seconds"):
            limited.feed(pcm)
        limited.cancel()
