"""A singing voice: espeak-ng reads each phrase, WORLD sings it again on the melody.

For each phrase (notes without a rest of :data:`PHRASE_GAP` between them):

1. espeak-ng reads the phrase's words monotonously, reporting where every phoneme starts;
2. WORLD's cheaptrick takes the reading's spectral envelope (voicing comes from the phonemes,
   aperiodicity is modelled: both cheaper and steadier than dio/d4c on espeak's output);
3. the reading is time-warped so each syllable's vowel fills its notes while consonants keep
   about their spoken length (onsets just before the beat, codas at the end of the note);
4. the f0 is replaced by the notes' pitches with portamento, vibrato and a little drift;
5. WORLD synthesises at the reading's rate (22.05 kHz) and the phrase is resampled into place.

Readings and finished phrases are cached, so repeated choruses cost nothing. Note lyrics are
syllables: ``"chas-"`` then ``"ing"`` is one word (a trailing or leading ``-`` joins), ``""`` or
``None`` holds the previous syllable over another note (melisma).
"""

from __future__ import annotations

import itertools
import zlib
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import numpy as np
import pyworld
from scipy.signal import butter, resample_poly, sosfilt

from ..phonemes import SpokenPhoneme, speak, syllable_spans, words_of
from ..score import Note

FRAME_MS = 5.0
PHRASE_GAP = 0.3  # seconds of rest that end a phrase (and give room to breathe)
#: Synthesis FFT: 11.6 ms impulse responses, enough for formants to ring out, half the cost
#: of 512. The envelope is analysed at twice that (readings are pitched above 130 Hz to fit).
_SYNTH_FFT = 256
#: espeak mnemonics sung without voice (everything else carries the melody's f0).
VOICELESS = frozenset(["p", "t", "k", "f", "T", "s", "S", "h", "tS", "ts", "x", "C", "pf", "?"])
_PHRASE_RMS = 0.1  # each phrase is levelled to -20 dBFS RMS


@dataclass(frozen=True)
class Singer:
    """One espeak reading voice and how it is re-sung: formant ``warp`` (>1 brighter)."""

    espeak_variant: str
    espeak_pitch: int
    warp: float


#: The voices ``sing`` offers; ``choir`` re-sings the female reading as several singers.
SINGERS: dict[str, Singer] = {
    "female": Singer("+f3", 60, 1.04),
    "male": Singer("", 90, 0.96),
    "choir": Singer("+f3", 60, 1.0),
}
#: Choir members: formant warp, detune in cents, delay in seconds, gain.
CHOIR = ((1.0, 0.0, 0.0, 1.0), (1.08, 9.0, 0.017, 0.8), (0.9, -8.0, 0.029, 0.8),
         (0.84, 4.0, 0.041, 0.7))


_MAX_CONSONANTS = 0.12  # seconds a consonant cluster may take, however slow the song
_LEGATO = 0.03  # notes closer than this are sung joined


@dataclass(frozen=True)
class Unit:
    """A sung syllable: its notes and its span in the reading (onset, vowel start, vowel end,
    end), in seconds."""

    notes: tuple[Note, ...]
    src: tuple[float, float, float, float]

    @property
    def start(self) -> float:
        """When its vowel lands: the first note's start."""
        return self.notes[0].start

    @property
    def end(self) -> float:
        """The end of its last note."""
        return max(n.start + n.duration for n in self.notes)


@dataclass(frozen=True)
class Frames:
    """The sung phrase frame by frame: output time, reading time shown, pitch, note age and
    length (for vibrato), and gain (0 in rests)."""

    times: np.ndarray
    source: np.ndarray
    midi: np.ndarray
    ages: np.ndarray
    lengths: np.ndarray
    gain: np.ndarray


def _consonants(units: list[Unit]) -> list[tuple[float, float]]:
    """Sung length of each unit's onset and coda, squeezed so vowels keep 55 % of their notes."""
    sizes = [[min(0.9 * (u.src[1] - u.src[0]), _MAX_CONSONANTS),
              min(0.9 * (u.src[3] - u.src[2]), _MAX_CONSONANTS)] for u in units]
    for i, unit in enumerate(units):
        room = 0.45 * (unit.end - unit.start)
        legato = i + 1 < len(units) and units[i + 1].start - unit.end < _LEGATO
        need = sizes[i][1] + (sizes[i + 1][0] if legato else 0.0)
        if need > room:
            scale = room / need
            sizes[i][1] *= scale
            if legato:
                sizes[i + 1][0] *= scale
    return [(on, co) for on, co in sizes]


def _anchors(units: list[Unit]) -> tuple[np.ndarray, np.ndarray, list[tuple[float, float]]]:
    """Piecewise-linear map from sung time to reading time, and the rests to keep silent."""
    sizes = _consonants(units)
    out: list[float] = []
    src: list[float] = []
    rests = []
    for i, (unit, (on, co)) in enumerate(zip(units, sizes, strict=False)):
        a, v0, v1, b = unit.src
        s, e = unit.start, unit.end
        nxt = units[i + 1] if i + 1 < len(units) else None
        legato = nxt is not None and nxt.start - e < _LEGATO
        coda_end = nxt.start - sizes[i + 1][0] if nxt is not None and legato else e
        vowel_end = max(coda_end - co, s + 0.3 * (e - s))
        length, d = vowel_end - s, v1 - v0
        # a sung vowel holds its middle: the spoken glide in and out stays short
        out += [s - on, s, s + 0.15 * length, vowel_end - 0.15 * length, vowel_end, coda_end]
        src += [a, v0, v0 + 0.3 * d, v1 - 0.3 * d, v1, b]
        if nxt is not None and not legato:
            rests.append((coda_end, nxt.start - sizes[i + 1][0]))
    times = np.maximum.accumulate(np.asarray(out))
    times += np.arange(len(times)) * 1e-6  # strictly increasing for np.interp
    return times, np.asarray(src), rests


def _pitch_track(notes: list[Note], times: np.ndarray) -> tuple[np.ndarray, ...]:
    """MIDI pitch per frame with ~40 ms portamento; rests hold the next note's pitch."""
    starts = np.array([n.start for n in notes])
    lengths = np.array([n.duration for n in notes])
    idx = np.clip(np.searchsorted(starts - 0.005, times, side="right") - 1, 0, len(notes) - 1)
    resting = (times >= starts[idx] + lengths[idx] + 0.02) & (idx < len(notes) - 1)
    idx = np.where(resting, idx + 1, idx)
    midi = np.array([n.pitch for n in notes], float)[idx]
    kernel = np.hanning(9)
    padded = np.pad(midi, 4, mode="edge")
    smooth = np.convolve(padded, kernel / kernel.sum(), mode="valid")
    return smooth, times - starts[idx], lengths[idx]


def phrase_frames(units: list[Unit], step: float) -> Frames:
    """Lay a phrase's syllables on their notes, one frame every ``step`` seconds."""
    out, src, rests = _anchors(units)
    times = np.arange(out[0], out[-1] + step, step)
    gain = np.ones(len(times))
    for a, b in rests:
        gain[(times > a) & (times < b)] = 0.0
    gain[0] = gain[-1] = 0.0
    notes = [n for u in units for n in u.notes]
    midi, ages, lengths = _pitch_track(notes, times)
    return Frames(times, np.interp(times, out, src), midi, ages, lengths, gain)


@dataclass(frozen=True)
class Reading:
    """espeak's reading of a phrase, analysed by WORLD at ``FRAME_MS`` frames."""

    rate: int
    phonemes: tuple[SpokenPhoneme, ...]
    voiced: np.ndarray
    envelope: np.ndarray
    aperiodicity: np.ndarray


@lru_cache(maxsize=256)
def read_phrase(text: str, espeak_voice: str, pitch: int) -> Reading:
    """Read a phrase with espeak-ng and analyse it with WORLD (cached by text and voice)."""
    wave, rate, phones = speak(text, espeak_voice, pitch=pitch)
    x = wave.astype(np.float64) / 32768.0
    times = np.arange(int(len(x) / rate * 1000.0 / FRAME_MS) + 1) * FRAME_MS / 1000.0
    voiced = _voicing(phones, rate, len(times))
    # the reading is monotone (pitch range 0), so one f0 sizes every cheaptrick window and
    # voicing comes from the phonemes: no f0 tracking is needed
    f0 = np.where(voiced, _reading_pitch(espeak_voice, pitch), 0.0)
    envelope = pyworld.cheaptrick(x, f0, times, rate, fft_size=_SYNTH_FFT * 2)[:, ::2].copy()
    return Reading(rate, tuple(phones), voiced, envelope, _aperiodicity(voiced, envelope.shape[1]))


@lru_cache(maxsize=16)
def _reading_pitch(espeak_voice: str, pitch: int) -> float:
    """The f0 espeak reads at for a voice and pitch setting (measured once)."""
    wave, rate, _ = speak("ah", espeak_voice, pitch=pitch)
    x = wave.astype(np.float64) / 32768.0
    f0, _ = pyworld.dio(x, rate, f0_floor=60.0, f0_ceil=600.0, frame_period=FRAME_MS)
    voiced = f0[f0 > 0]
    return float(np.median(voiced)) if len(voiced) else 150.0


def _aperiodicity(voiced: np.ndarray, bins: int) -> np.ndarray:
    """A modelled aperiodicity (d4c costs more than the rest of the analysis together):
    voiced frames are nearly periodic below 1 kHz and breathier towards the top."""
    band = np.linspace(0.0, 1.0, bins)
    breathy = np.clip(0.02 + 0.75 * band ** 1.6, 0.0, 0.95)
    return np.where(voiced[:, None], breathy[None, :], 0.999)


def _voicing(phones: list[SpokenPhoneme], rate: int, frames: int) -> np.ndarray:
    """Voiced frames of a reading: every phoneme but the voiceless consonants and silences."""
    step = rate * FRAME_MS / 1000.0
    voiced = np.zeros(frames, dtype=bool)
    for p in phones:
        if p.name.lstrip("',%=") not in VOICELESS:
            voiced[round(p.start / step):round(p.end / step)] = True
    return voiced


def split_phrases(notes: list[Note]) -> list[list[Note]]:
    """Group notes into phrases at rests of ``PHRASE_GAP`` or more (never inside a word)."""
    phrases: list[list[Note]] = []
    open_word = False
    for note in sorted(notes, key=lambda n: n.start):
        gap = note.start - phrases[-1][-1].start - phrases[-1][-1].duration if phrases else 1e9
        if gap >= PHRASE_GAP and not open_word:
            phrases.append([])
        phrases[-1].append(note)
        lyric = (note.lyric or "").strip()
        open_word = lyric.endswith("-") or (open_word and not lyric)
    return phrases


def _one_word_per_note(notes: list[Note]) -> list[Note]:
    """Share a note among the words of a lyric like ``"in the"`` (see ``place_syllables``)."""
    out = []
    for note in notes:
        parts = (note.lyric or "").split()
        if len(parts) < 2:
            out.append(note)
            continue
        step = note.duration / len(parts)
        out.extend(Note(note.start + i * step, step, note.pitch, note.velocity, part)
                   for i, part in enumerate(parts))
    return out


def phrase_words(phrase: list[Note]) -> list[tuple[str, list[list[Note]]]]:
    """Words of a phrase with, per sung syllable, its note and any melisma notes after it."""
    words: list[tuple[str, list[list[Note]]]] = []
    joining = False
    for note in phrase:
        lyric = (note.lyric or "").strip()
        if not lyric and words:
            words[-1][1][-1].append(note)
            continue
        text = "".join(words_of(lyric.strip("-"))) or "ah"
        if words and (joining or lyric.startswith("-")):
            words[-1] = (words[-1][0] + text, words[-1][1] + [[note]])
        else:
            words.append((text, [[note]]))
        joining = lyric.endswith("-")
    return words


def _bins(items: int, bins: int) -> list[range]:
    """Split ``range(items)`` into ``bins`` consecutive, nearly equal runs."""
    edges = [round(i * items / bins) for i in range(bins + 1)]
    return [range(a, b) for a, b in itertools.pairwise(edges)]


def _word_units(groups: list[list[Note]], phones: list[SpokenPhoneme], rate: int) -> list[Unit]:
    """Pair a word's note groups with its spoken syllables, merging whichever side has more."""
    spans = syllable_spans([p.name for p in phones])
    sec = 1.0 / rate
    syl = [(phones[a].start * sec, phones[v].start * sec, phones[v].end * sec,
            phones[b - 1].end * sec) for a, v, b in spans]
    units = []
    if len(syl) >= len(groups):
        for group, run in zip(groups, _bins(len(syl), len(groups)), strict=False):
            first, last = syl[run[0]], syl[run[-1]]
            units.append(Unit(tuple(group), (first[0], first[1], last[2], last[3])))
    else:
        for s, run in zip(syl, _bins(len(groups), len(syl)), strict=False):
            units.append(Unit(tuple(n for g in run for n in groups[g]), s))
    return units


def phrase_units(phrase: list[Note], singer: Singer, language: str) -> tuple[Reading, list[Unit]]:
    """Read a phrase and pair every sung syllable with its notes and spoken span."""
    words = phrase_words(phrase)
    reading = read_phrase(" ".join(w for w, _ in words), language + singer.espeak_variant,
                          singer.espeak_pitch)
    by_word: dict[int, list[SpokenPhoneme]] = {}
    for p in reading.phonemes:
        by_word.setdefault(p.word, []).append(p)
    if len(by_word) != len(words):  # espeak split or merged words: sing it as one long word
        words = [("", [g for _, groups in words for g in groups])]
        by_word = {0: list(reading.phonemes)}
    units = []
    for (_, groups), phones in zip(words, by_word.values(), strict=False):
        units.extend(_word_units(groups, phones, reading.rate))
    return reading, units


def _cents(rng: np.random.Generator, times: np.ndarray, ages: np.ndarray,
           lengths: np.ndarray) -> np.ndarray:
    """Vibrato (delayed, only on long notes) plus slow drift, in cents per frame."""
    depth, rate, phase = rng.uniform(28, 38), rng.uniform(5.2, 5.9), rng.uniform(0, 2 * np.pi)
    onset = np.clip((ages - 0.18) / 0.25, 0.0, 1.0) * (lengths >= 0.4)
    vibrato = depth * onset * np.sin(2 * np.pi * rate * times + phase)
    knots = rng.normal(0.0, 4.0, size=len(times) // 40 + 2)
    drift = np.interp(np.linspace(0, len(knots) - 1, len(times)), np.arange(len(knots)), knots)
    return vibrato + drift


def _warp(spectra: np.ndarray, factor: float) -> np.ndarray:
    """Move formants by ``factor`` along the frequency axis (spectral envelope or aperiodicity)."""
    if factor == 1.0:
        return np.ascontiguousarray(spectra)
    bins = spectra.shape[1]
    source = np.clip(np.arange(bins) / factor, 0, bins - 1)
    lo = np.floor(source).astype(int)
    hi = np.minimum(lo + 1, bins - 1)
    w = source - lo
    return np.ascontiguousarray(spectra[:, lo] * (1 - w) + spectra[:, hi] * w)


def _gather(table: np.ndarray, position: np.ndarray) -> np.ndarray:
    """Rows of ``table`` at fractional frame positions, linearly interpolated."""
    lo = np.clip(np.floor(position).astype(int), 0, len(table) - 1)
    hi = np.minimum(lo + 1, len(table) - 1)
    w = (position - lo)[:, None]
    return np.ascontiguousarray(table[lo] * (1 - w) + table[hi] * w)


def _sing_phrase(phrase: tuple[Note, ...], voice: str, language: str,
                 seed: int) -> tuple[float, np.ndarray, int]:
    """One phrase at the reading's rate: (start time, samples, rate)."""
    singer = SINGERS[voice]
    reading, units = phrase_units(list(phrase), singer, language)
    frames = phrase_frames(units, FRAME_MS / 1000.0)
    rng = np.random.default_rng([seed, zlib.crc32(repr(phrase).encode())])
    position = frames.source / (FRAME_MS / 1000.0)
    voiced = reading.voiced[np.clip(np.round(position).astype(int), 0, len(reading.voiced) - 1)]
    sp, ap = _gather(reading.envelope, position), _gather(reading.aperiodicity, position)
    members = CHOIR if voice == "choir" else ((1.0, 0.0, 0.0, 1.0),)
    out = np.zeros(int(len(position) * FRAME_MS * reading.rate / 1000) + reading.rate)
    for warp, detune, delay, gain in members:
        cents = _cents(rng, frames.times, frames.ages, frames.lengths) + detune
        f0 = 440.0 * 2.0 ** ((frames.midi + cents / 100.0 - 69.0) / 12.0) * voiced
        factor = warp * singer.warp
        y = pyworld.synthesize(np.ascontiguousarray(f0), _warp(sp, factor), _warp(ap, factor),
                               reading.rate, FRAME_MS)
        at = int(delay * reading.rate)
        n = min(len(y), len(out) - at)
        out[at:at + n] += gain * y[:n]
    gain = np.interp(np.arange(len(out)) / reading.rate, frames.times - frames.times[0],
                     frames.gain, right=0.0)
    out *= gain
    active = np.abs(out) > 1e-4
    rms = float(np.sqrt(np.mean(out[active] ** 2))) if active.any() else 0.0
    return float(frames.times[0]), out * (_PHRASE_RMS / rms if rms > 0 else 0.0), reading.rate


@lru_cache(maxsize=64)
def _phrase_audio(phrase: tuple[Note, ...], voice: str, language: str, seed: int,
                  sample_rate: int) -> tuple[int, np.ndarray]:
    """A phrase whose first note starts at 0: (samples sung before it, audio); cached."""
    start, audio, rate = _sing_phrase(phrase, voice, language, seed)
    ratio = Fraction(sample_rate, rate)
    audio = resample_poly(audio, ratio.numerator, ratio.denominator).astype(np.float32)
    audio.flags.writeable = False  # shared by every repeat of the phrase
    return round(-start * sample_rate), audio


def _breath(rng: np.random.Generator, seconds: float, sample_rate: int) -> np.ndarray:
    """An in-breath: band-passed noise that swells and stops (level about -30 dBFS)."""
    n = int(seconds * sample_rate)
    noise = sosfilt(_breath_filter(sample_rate), rng.normal(size=n))
    shape = np.sin(np.linspace(0.0, np.pi, n)) ** 2 * np.linspace(0.6, 1.0, n)
    return (0.03 * noise / (np.std(noise) + 1e-9) * shape).astype(np.float32)


@lru_cache(maxsize=8)
def _breath_filter(sample_rate: int) -> np.ndarray:
    """The band of an in-breath: air noise between 600 Hz and 5 kHz."""
    band = (600.0, min(5000.0, 0.45 * sample_rate))
    return np.asarray(butter(2, band, "bandpass", fs=sample_rate, output="sos"))


def _mix_into(out: np.ndarray, audio: np.ndarray, at: int) -> None:
    """Add ``audio`` into ``out`` starting at sample ``at``, clipping at both ends."""
    a, b = max(at, 0), min(at + len(audio), len(out))
    if b > a:
        out[a:b] += audio[a - at:b - at]


def sing(notes: list[Note], voice: str = "female", sample_rate: int = 44100, seed: int = 0,
         language: str = "en-us", breaths: bool = True) -> np.ndarray:
    """Sing ``notes`` (MIDI pitch, seconds, syllable lyrics); mono float32 to the last note end.

    >>> sing([Note(0.0, 0.5, 67, lyric="hel-"), Note(0.5, 1.0, 72, lyric="lo")]).shape
    (66150,)
    """
    if voice not in SINGERS:
        raise ValueError(f"unknown voice {voice!r}: choose one of {', '.join(SINGERS)}")
    sung = _one_word_per_note([n for n in notes if n.duration > 0])
    end = max((n.start + n.duration for n in sung), default=0.0)
    out = np.zeros(int(np.ceil(end * sample_rate)), np.float32)
    rng = np.random.default_rng(seed)
    last_end = 0.0
    for phrase in split_phrases(sung):
        first = phrase[0].start
        relative = tuple(Note(round(n.start - first, 4), round(n.duration, 4), n.pitch,
                              n.velocity, n.lyric) for n in phrase)
        lead, audio = _phrase_audio(relative, voice, language, seed, sample_rate)
        at = round(first * sample_rate) - lead
        _mix_into(out, audio, at)
        rest = first - last_end
        if breaths and rest >= 0.5:
            breath = _breath(rng, min(0.35, rest - 0.2), sample_rate)
            _mix_into(out, breath, at - len(breath) - int(0.03 * sample_rate))
        last_end = max(n.start + n.duration for n in phrase)
    np.clip(out, -1.0, 1.0, out=out)
    return out


def vocal_chain(audio: np.ndarray, sample_rate: int = 44100, reverb: float = 0.12,
                presence_db: float = 2.5, brightness: float = 0.0) -> np.ndarray:
    """A lead-vocal chain: high-pass, presence lift, de-essing cut, compressor, short reverb."""
    from pedalboard import (
        Compressor,
        HighpassFilter,
        HighShelfFilter,
        PeakFilter,
        Pedalboard,
        Reverb,
    )

    board = Pedalboard([
        HighpassFilter(cutoff_frequency_hz=95.0),
        PeakFilter(cutoff_frequency_hz=280.0, gain_db=-1.5, q=1.0),  # boxiness of the vocoder
        PeakFilter(cutoff_frequency_hz=3200.0, gain_db=presence_db, q=0.9),
        PeakFilter(cutoff_frequency_hz=6800.0, gain_db=-3.0, q=2.5),  # static de-ess
        Compressor(threshold_db=-22.0, ratio=3.5, attack_ms=4.0, release_ms=90.0),
        HighShelfFilter(cutoff_frequency_hz=9000.0, gain_db=1.0 + 3.0 * brightness),
    ])
    if reverb > 0:  # a mix with its own reverb send asks for none here
        board.append(Reverb(room_size=0.45, damping=0.55, wet_level=reverb, dry_level=1.0,
                            width=0.0))
    return board(np.asarray(audio, np.float32)[None, :], sample_rate)[0]


def double(audio: np.ndarray, sample_rate: int = 44100, seed: int = 0,
           delay_ms: float = 22.0, wander_ms: float = 3.0) -> np.ndarray:
    """A double-tracked copy (to pan opposite the lead): drifting delay, so a few cents
    of moving detune and loose timing, slightly darker and 2 dB down."""
    rng = np.random.default_rng(seed)
    x = np.asarray(audio, np.float32)
    n = len(x)
    if n == 0:
        return x.copy()
    delay = _upsample(_double_delay(rng, n // _CONTROL + 2, sample_rate, delay_ms, wander_ms), n)
    whole = np.floor(delay).astype(np.int32)  # delays are small: keep positions exact
    frac = delay - whole.astype(np.float32)
    index = np.arange(n, dtype=np.int32) - whole
    copy = np.take(x, index, mode="clip") * (1 - frac) + np.take(x, index - 1, mode="clip") * frac
    copy[: int(np.max(whole)) + 1] *= index[: int(np.max(whole)) + 1] > 0  # nothing before 0
    return (0.8 * sosfilt(_double_filter(sample_rate), copy)).astype(np.float32)


_CONTROL = 32  # samples per step of the double's delay curve


def _double_delay(rng: np.random.Generator, steps: int, sample_rate: int, delay_ms: float,
                  wander_ms: float) -> np.ndarray:
    """The double's delay in samples, one value per ``_CONTROL`` samples."""
    t = np.arange(steps) * _CONTROL / sample_rate
    knots = rng.normal(0.0, 1.0, size=int(t[-1] * 2) + 3)
    drift = np.interp(t * 2.0, np.arange(len(knots)), knots)
    wobble = np.sin(2 * np.pi * 0.31 * t + rng.uniform(0, 2 * np.pi))
    return (delay_ms + wander_ms * (0.6 * wobble + 0.4 * np.tanh(drift))) * sample_rate / 1000


def _upsample(control: np.ndarray, n: int) -> np.ndarray:
    """Linear interpolation of a control curve to ``n`` samples (uniform steps, no search)."""
    ramp = np.arange(_CONTROL, dtype=np.float32) / _CONTROL
    steps = control.astype(np.float32)
    return (steps[:-1, None] * (1 - ramp) + steps[1:, None] * ramp).reshape(-1)[:n]


@lru_cache(maxsize=8)
def _double_filter(sample_rate: int) -> np.ndarray:
    """The double's gentle high cut."""
    return np.asarray(butter(1, 8000.0, "lowpass", fs=sample_rate, output="sos"))
