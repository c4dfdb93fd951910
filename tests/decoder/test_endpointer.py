"""The endpointer: speech segments found in synthesised signals (tones and noise bursts at known
times) and in espeak-ng speech padded with silence and noise, at 8 and 16 kHz, in both level
modes, fed in chunks of any size."""

from __future__ import annotations

import numpy as np
import pytest

from decoder.audio import read_wav, resample
from decoder.endpointer import (
    AUTO_MIN_THRESHOLD_DB,
    Endpointer,
    EndpointerSettings,
    SpeechAudio,
    SpeechEnded,
    SpeechStarted,
)
from tests.decoder.speech import synthesise

FRAME = 0.01  # one frame: the tolerance of the detected times


def tone(rate: int, seconds: float, *, db: float = -20.0, hz: float = 440.0) -> np.ndarray:
    amplitude = 32768 * 10 ** (db / 20) * np.sqrt(2)  # a sine's RMS is amplitude / sqrt(2)
    t = np.arange(round(seconds * rate)) / rate
    return amplitude * np.sin(2 * np.pi * hz * t)


def noise(rate: int, seconds: float, *, db: float, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 32768 * 10 ** (db / 20), round(seconds * rate))


def silence(rate: int, seconds: float) -> np.ndarray:
    return np.zeros(round(seconds * rate))


def pcm(signal: np.ndarray) -> bytes:
    """16-bit PCM of ``signal`` plus a faint (-80 dBFS) noise, so that no two stretches are equal."""
    signal = signal + noise(16000, len(signal) / 16000, db=-80, seed=99)[: len(signal)]
    return np.clip(np.round(signal), -32768, 32767).astype("<i2").tobytes()


def run(settings: EndpointerSettings, data: bytes, chunk: int = 640) -> list[object]:
    endpointer = Endpointer(settings)
    events: list[object] = []
    for offset in range(0, len(data), chunk):
        events += endpointer.feed(data[offset: offset + chunk])
    events += endpointer.finish()
    return events


def segments(events: list[object]) -> list[tuple[float, float, str, bytes]]:
    """(start, end, reason, audio) of each segment, checking the events come in a valid order."""
    out: list[tuple[float, float, str, bytes]] = []
    start: float | None = None
    audio = b""
    for event in events:
        if isinstance(event, SpeechStarted):
            assert start is None, "a segment opened inside another"
            start, audio = event.at, event.audio
        elif isinstance(event, SpeechAudio):
            assert start is not None, "audio outside a segment"
            audio += event.audio
        else:
            assert isinstance(event, SpeechEnded) and start is not None, "an end without a start"
            out.append((start, event.at, event.reason, audio + event.audio))
            start = None
    assert start is None, "a segment left open after finish()"
    return out


def sample_span(data: bytes, audio: bytes, rate: int) -> tuple[float, float]:
    """Where the segment's audio lies in the stream (seconds): it must be a contiguous slice."""
    offset = data.find(audio)
    assert offset >= 0 and offset % 2 == 0, "the segment's audio is not a slice of the stream"
    return offset / 2 / rate, (offset + len(audio)) / 2 / rate


@pytest.mark.parametrize("rate", [8000, 16000])
@pytest.mark.parametrize("chunk", [1, 320, 641, 16000])
def test_tone_bursts_are_found_at_their_times_with_margins(rate, chunk):
    # bursts at 1.0-1.5 and 1.8-2.2 (one segment: the gap is under wait_end) and 4.0-4.7 s;
    # a little noise under them so no two stretches are equal
    parts = [silence(rate, 1.0), tone(rate, 0.5), silence(rate, 0.3), tone(rate, 0.4), silence(rate, 1.8),
             tone(rate, 0.7, hz=300), silence(rate, 1.6)]
    signal = np.concatenate(parts) + noise(rate, 6.3, db=-70)
    data = pcm(signal)
    found = segments(run(EndpointerSettings(sample_rate=rate), data, chunk))
    assert [(round(s, 2), round(e, 2), reason) for s, e, reason, _ in found] == \
        [(1.0, 2.2, "silence"), (4.0, 4.7, "silence")]
    # the audio: 200 ms head margin, 400 ms tail margin, contiguous slices of the stream
    assert sample_span(data, found[0][3], rate) == pytest.approx((0.8, 2.6), abs=1e-9)
    assert sample_span(data, found[1][3], rate) == pytest.approx((3.8, 5.1), abs=1e-9)


@pytest.mark.parametrize("rate", [8000, 16000])
def test_noise_bursts_over_a_quiet_background(rate):
    # fixed threshold -40 dBFS; background noise at -55 dBFS; bursts of noise at -25 dBFS
    background = noise(rate, 5.0, db=-55, seed=2)
    bursts = [(0.5, 1.1), (2.6, 3.05)]
    for start, end in bursts:
        a, b = round(start * rate), round(end * rate)
        background[a:b] += noise(rate, end - start, db=-25, seed=3)[: b - a]
    found = segments(run(EndpointerSettings(sample_rate=rate, wait_end_ms=800), pcm(background), 1000))
    assert len(found) == 2
    for (start, end), (got_start, got_end, reason, _) in zip(bursts, found, strict=True):
        assert abs(got_start - start) <= 2 * FRAME and abs(got_end - end) <= 2 * FRAME and reason == "silence"


def test_a_click_does_not_open_a_segment_and_a_short_word_does():
    rate = 16000
    data = pcm(np.concatenate([silence(rate, 0.5), tone(rate, 0.03), silence(rate, 1.5), tone(rate, 0.06),
                               silence(rate, 1.5)]))
    found = segments(run(EndpointerSettings(), data))
    assert [(round(s, 2), round(e, 2)) for s, e, _, _ in found] == [(2.03, 2.09)]


def test_automatic_level_follows_a_loud_background():
    # background at -30 dBFS is over the fixed -40 dBFS threshold: fixed mode hears one long
    # segment; the automatic level learns the floor and finds the two louder bursts
    rate = 16000
    signal = noise(rate, 8.0, db=-30, seed=4)
    bursts = [(3.0, 3.6), (5.5, 6.2)]
    for start, end in bursts:
        a, b = round(start * rate), round(end * rate)
        signal[a:b] += tone(rate, end - start, db=-12)[: b - a]
    data = pcm(signal)
    fixed = segments(run(EndpointerSettings(), data))
    assert len(fixed) == 1 and fixed[0][0] == 0.0 and fixed[0][2] == "end_of_stream"
    endpointer = Endpointer(EndpointerSettings(level_mode=1))
    events = endpointer.feed(data) + endpointer.finish()
    found = segments(events)
    assert len(found) == 2
    for (start, end), (got_start, got_end, _, _) in zip(bursts, found, strict=True):
        assert abs(got_start - start) <= 2 * FRAME and abs(got_end - end) <= 2 * FRAME
    assert endpointer.noise_floor == pytest.approx(-30, abs=1.5)


def test_automatic_level_adapts_when_the_background_changes_and_has_a_lowest_threshold():
    rate = 8000
    # 4 s of quiet (-70 dBFS), then a -35 dBFS background from 4 s: after auto_level_len_ms (2 s)
    # it is the floor again; a burst at 9 s is found, the background step is not a segment
    quiet = noise(rate, 4.0, db=-70, seed=5)
    loud = noise(rate, 7.0, db=-35, seed=6)
    a, b = round(5.0 * rate), round(5.5 * rate)
    loud[a:b] += tone(rate, 0.5, db=-10)[: b - a]
    data = pcm(np.concatenate([quiet, loud]))
    found = segments(run(EndpointerSettings(level_mode=1, auto_level_len_ms=2000, max_segment_ms=3000,
                                            sample_rate=rate), data))
    # the step to a louder background opens a segment (speech-like until the floor catches up),
    # cut short by the time the floor has adapted; then the burst at 9 s is its own segment
    assert abs(found[0][0] - 4.0) <= 2 * FRAME and found[0][1] <= 4.0 + 2.0 + 2 * FRAME
    assert [(round(s, 2), round(e, 2)) for s, e, _, _ in found[1:]] == [(9.0, 9.5)]
    # digital silence: the threshold stays at its lowest, so a -70 dBFS hiss is not speech
    hiss = pcm(np.concatenate([silence(rate, 1.0), noise(rate, 1.0, db=-70 + 0.0), silence(rate, 1.0)]))
    assert AUTO_MIN_THRESHOLD_DB > -70
    assert segments(run(EndpointerSettings(level_mode=1, sample_rate=rate), hiss)) == []


def test_max_segment_cuts_long_speech_into_segments():
    rate = 16000
    data = pcm(np.concatenate([silence(rate, 0.5), tone(rate, 2.5), silence(rate, 0.2)]))
    found = segments(run(EndpointerSettings(max_segment_ms=1000, head_margin_ms=100), data))
    assert [(round(s, 2), round(e, 2), reason) for s, e, reason, _ in found] == \
        [(0.5, 1.5, "max_segment"), (1.5, 2.5, "max_segment"), (2.5, 3.0, "end_of_stream")]
    # the first keeps its head margin; the next ones continue where the previous one stopped
    spans = [sample_span(data, audio, rate) for _, _, _, audio in found]
    assert spans == [pytest.approx((0.4, 1.5)), pytest.approx((1.5, 2.5)), pytest.approx((2.5, 3.2))]


def test_the_end_of_the_stream_closes_an_open_segment():
    rate = 16000
    endpointer = Endpointer(EndpointerSettings())
    events = endpointer.feed(pcm(np.concatenate([silence(rate, 0.3), tone(rate, 0.5)])))
    assert isinstance(events[0], SpeechStarted) and endpointer.in_speech
    assert endpointer.seconds == pytest.approx(0.8)
    last = endpointer.finish()
    assert len(last) == 1 and isinstance(last[0], SpeechEnded) and last[0].reason == "end_of_stream"
    assert last[0].at == pytest.approx(0.8) and not endpointer.in_speech
    with pytest.raises(ValueError, match="finished"):
        endpointer.feed(b"\0\0")
    assert endpointer.finish() == []


@pytest.mark.parametrize("settings", [EndpointerSettings(enabled=False), EndpointerSettings(level_mode=0)])
def test_without_detection_all_audio_is_speech(settings):
    data = pcm(np.concatenate([silence(16000, 0.5), tone(16000, 0.3), silence(16000, 0.5)]))
    endpointer = Endpointer(settings)
    first = endpointer.feed(data[:333])
    assert len(first) == 1 and isinstance(first[0], SpeechStarted) and first[0].at == 0.0
    events = first + endpointer.feed(data[333:]) + endpointer.finish()
    found = segments(events)
    assert len(found) == 1 and found[0][3] == data and found[0][2] == "end_of_stream"


def test_head_margin_stops_at_the_stream_start_and_at_the_previous_segment():
    rate = 16000
    data = pcm(np.concatenate([silence(rate, 0.05), tone(rate, 0.3), silence(rate, 0.15), tone(rate, 0.3),
                               silence(rate, 0.5)]))
    found = segments(run(EndpointerSettings(wait_end_ms=100, tail_margin_ms=100, head_margin_ms=300), data))
    assert len(found) == 2
    first, second = (sample_span(data, audio, rate) for _, _, _, audio in found)
    assert first == pytest.approx((0.0, 0.45)) and second == pytest.approx((0.45, 0.9))


def test_a_tail_margin_longer_than_the_wait_end_is_kept_whole():
    rate = 16000
    data = pcm(np.concatenate([silence(rate, 0.5), tone(rate, 0.3), silence(rate, 2.0)]))
    found = segments(run(EndpointerSettings(wait_end_ms=200, tail_margin_ms=700), data))
    assert len(found) == 1 and found[0][1] == pytest.approx(0.8)
    assert sample_span(data, found[0][3], rate) == pytest.approx((0.3, 1.5))


@pytest.mark.parametrize("kwargs, message", [
    ({"head_margin_ms": -1}, "head_margin_ms must be a whole number >= 0"),
    ({"wait_end_ms": 1.5}, "wait_end_ms must be a whole number"),
    ({"level_mode": 3}, "level_mode must be 0 (off), 1 (automatic) or 2 (fixed)"),
    ({"level_threshold": float("nan")}, "level_threshold must be a finite number"),
    ({"sample_rate": 11025}, "sample_rate must be a positive multiple of 100 Hz"),
    ({"max_segment_ms": 0}, "max_segment_ms must be at least 10"),
])
def test_bad_settings_are_one_line_errors(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        EndpointerSettings(**kwargs)
    assert "\n" not in str(info.value)


# --- speech ---------------------------------------------------------------------------------


def speech_extent(samples: np.ndarray, rate: int) -> tuple[int, int]:
    """First and last sample of the synthesised speech (where its 10 ms level passes -45 dBFS)."""
    frame = rate // 100
    count = len(samples) // frame
    power = np.square(samples[: count * frame].astype(np.float64)).reshape(count, frame).mean(axis=1)
    loud = np.nonzero(10 * np.log10(power / 32768**2 + 1e-10) >= -45)[0]
    return int(loud[0]) * frame, (int(loud[-1]) + 1) * frame


@pytest.mark.parametrize("rate, mode, background_db", [(16000, 2, -60), (8000, 2, -60), (16000, 1, -45),
                                                        (8000, 1, -45)])
def test_speech_padded_with_silence_and_noise(speech, rate, mode, background_db):
    words = read_wav(synthesise("i would like two large pizzas please", speech)).samples
    if rate != 16000:
        words = resample(words, 16000, rate)
    first, last = speech_extent(words, rate)
    words = words[first:last].astype(np.float64)
    lead, gap = 1.5, 2.0
    signal = np.concatenate([silence(rate, lead), words, silence(rate, gap), words, silence(rate, 1.5)])
    signal += noise(rate, len(signal) / rate, db=background_db, seed=7)[: len(signal)]
    data = pcm(signal)
    found = segments(run(EndpointerSettings(level_mode=mode, sample_rate=rate), data, 320))
    duration = len(words) / rate
    expected = [(lead, lead + duration), (lead + duration + gap, lead + 2 * duration + gap)]
    assert len(found) == 2
    for (start, end), (got_start, got_end, reason, audio) in zip(expected, found, strict=True):
        # the quiet edges of speech (a fricative's onset, a release) under loud noise may be missed
        tolerance = 3 * FRAME + 1e-9 if mode == 2 else 0.06
        assert abs(got_start - start) <= tolerance and abs(got_end - end) <= tolerance and reason == "silence"
        span = sample_span(data, audio, rate)
        assert span[0] <= start and span[1] >= end  # the whole utterance is inside the segment
