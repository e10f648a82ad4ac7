"""Vocal parts → stems: the voice sings each part, the vocal chain sits it in the mix, and
the lead is double-tracked (one copy left, one right) in the sections that lift.

A vocal stem is one full-length stereo sound placed at 0, so :mod:`mix` treats it like any
other part (level, pan, reverb and delay sends); its level is measured over the sung spans
only, as an instrument's is over the spans where it sounds.
"""

from __future__ import annotations

import numpy as np
from pedalboard import HighpassFilter, HighShelfFilter, PeakFilter, Pedalboard

from tunesmith.engines.composer.library import vocal_data
from tunesmith.engines.composer.library.instruments import MixSettings
from tunesmith.engines.composer.score import LEAD, SAMPLE_RATE, Part, Score
from tunesmith.engines.composer.sound.filters import filter_in_place
from tunesmith.engines.composer.sound.singer import double, sing, vocal_chain
from tunesmith.engines.composer.sound.stems import PartRender

SR = SAMPLE_RATE
_BLOCK = 1024  # samples per block when finding where the voice sounds
_ACTIVE_RMS = 1e-3
_FADE = int(0.03 * SR)


def voice_of(part: Part) -> str:
    """The singer of a vocal part, from its instrument name (``female_vocals`` → female)."""
    for name, entry in vocal_data()["voices"].items():
        if entry["instrument"] == part.instrument:
            return str(name)
    return str(vocal_data()["default_voice"])


def sing_part(part: Part, score: Score, seed: int = 0) -> np.ndarray:
    """The part sung dry, mono float32, as long as the track."""
    n = round(score.duration * SR)
    audio = sing(part.notes, voice_of(part), SR, seed=seed)
    out = np.zeros(n, np.float32)
    out[: min(n, len(audio))] = audio[:n]
    return out


def _active_energy(wet: np.ndarray, dry: np.ndarray) -> tuple[float, int]:
    """Sum of squares of ``wet`` (read at a quarter rate) over the blocks where the ``dry``
    voice sounds, and how many quarter-rate samples that is."""
    size = _BLOCK // 4
    active = _active_blocks(dry)
    power = _block_power(np.asarray(wet[::4], np.float64), size)[: len(active)]
    active = active[: len(power)]
    return float(power[active].sum()) * size, int(active.sum()) * size


def _active_blocks(dry: np.ndarray) -> np.ndarray:
    """Which blocks of ``_BLOCK`` samples hold some voice (read at a quarter of the rate)."""
    power = _block_power(np.asarray(dry[::4], np.float64), _BLOCK // 4)
    return power > _ACTIVE_RMS ** 2


def sung_segments(dry: np.ndarray, join: float = 1.5,
                  tail: float = 0.4) -> list[tuple[int, int]]:
    """Sample spans where the voice sings, joined across rests shorter than ``join`` seconds
    and padded with ``tail`` seconds for the chain to ring out."""
    active = _active_blocks(dry)
    spans: list[list[int]] = []
    for block in np.flatnonzero(active):
        a, b = int(block) * _BLOCK, (int(block) + 1) * _BLOCK
        if spans and a - spans[-1][1] < join * SR:
            spans[-1][1] = b
        else:
            spans.append([a, b])
    pad = int(tail * SR)
    return [(max(0, a - _BLOCK), min(len(dry), b + pad)) for a, b in spans]


def lift_spans(score: Score) -> list[tuple[int, int]]:
    """Sample spans of the sections that lift (choruses, drops)."""
    lifted = vocal_data()["lift_kinds"]
    return [(round(s.start * SR), round(s.end * SR)) for s in score.sections
            if s.name in lifted]


def _lifted(n: int, at: int, lifts: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The parts of a segment (``n`` samples from ``at``) inside lifting sections, local."""
    out = []
    for a, b in lifts:
        lo, hi = max(a, at), min(b, at + n)
        if hi - lo > 2 * _FADE:
            out.append((lo - at, hi - at))
    return out


def _fades(n: int) -> np.ndarray:
    """A gain of 1 with short linear fades at both ends."""
    ramp = np.minimum(np.arange(n, dtype=np.float32), np.arange(n, dtype=np.float32)[::-1])
    return np.minimum(1.0, ramp / _FADE).astype(np.float32)


def _stereo(wet: np.ndarray, lifted: list[tuple[int, int]], seed: int) -> np.ndarray:
    """A segment in stereo: the lead in the middle, plus a double on each side where it lifts."""
    out = np.stack([wet, wet])
    gain = np.float32(10.0 ** (float(vocal_data()["mix"]["double_db"]) / 20.0))
    for i, (a, b) in enumerate(lifted):
        source = wet[a:b] * _fades(b - a)
        out[0, a:b] += double(source, SR, seed=2 * (seed + i) + 1, delay_ms=19.0) * gain
        out[1, a:b] += double(source, SR, seed=2 * (seed + i) + 2, delay_ms=27.0) * gain
    return out


def render_vocal(part: Part, score: Score, seed: int = 0) -> PartRender:
    """A vocal part sung and put through the vocal chain: one stereo sound per sung segment
    (silence costs nothing), the lead doubled where the section lifts."""
    dry = sing_part(part, score, seed)
    lifts = lift_spans(score) if part.name == LEAD else []
    pr = PartRender(part, MixSettings())
    energy, count = 0.0, 0
    for index, (a, b) in enumerate(sung_segments(dry)):
        wet = vocal_chain(dry[a:b], SR, reverb=0.0, brightness=score.production.brightness)
        wet = np.asarray(wet[: b - a], np.float32)
        more, samples = _active_energy(wet, dry[a:b])
        energy, count = energy + more, count + samples
        key = ("vocal", part.name, index)
        pr.sounds[key] = _stereo(wet, _lifted(b - a, a, lifts), 100 * (seed + index))
        pr.events.append((a, key, 0))
    pr.power = energy / count if count else 0.0
    return pr


# ---- seating the voice in the mix --------------------------------------------------------
def _weighted(audio: np.ndarray) -> np.ndarray:
    """A mono signal at a quarter rate, weighted roughly as loudness meters hear it (no deep
    bass, presence lifted): the K-weighting of BS.1770, cheaply."""
    quarter = np.ascontiguousarray(audio[::4], np.float32)[None, :]
    board = Pedalboard([HighpassFilter(80.0), HighShelfFilter(1500.0, 4.0, 0.7)])
    return np.asarray(board(quarter, SR // 4)[0])


def _block_power(x: np.ndarray, size: int) -> np.ndarray:
    blocks = len(x) // size
    return np.mean(np.square(x[: blocks * size].reshape(blocks, size)), axis=1)


def voice_balance_db(bed: np.ndarray, voice: np.ndarray) -> float:
    """Gain (dB) that puts ``voice`` at the data's loudness against the instrument ``bed``,
    measured where the voice sings."""
    mix = vocal_data()["mix"]
    pv = _block_power(_weighted(voice.mean(axis=0)), _BLOCK // 4)
    pb = _block_power(_weighted(bed.mean(axis=0)), _BLOCK // 4)
    if not len(pv) or pv.max() <= 0:
        return 0.0
    active = pv > pv.max() * 10 ** (-35 / 10)
    if pb[active].mean() <= 0:
        return 0.0
    ratio = 10 * np.log10(pb[active].mean() / pv[active].mean())
    low, high = mix["balance_range_db"]
    return float(np.clip(ratio + float(mix["over_bed_db"]), low, high))


def seat_voices(bed: np.ndarray, voices: list[PartRender]) -> None:
    """Make room for the voices and level them over the instruments, in place: a broad dip in
    the bed's presence band, then one gain for every vocal part so the lead sits on top."""
    mix = vocal_data()["mix"]
    filter_in_place(PeakFilter(float(mix["pocket_hz"]), float(mix["pocket_db"]), 0.8), bed)
    lead = next((pr for pr in voices if pr.part.name == LEAD), voices[0])
    sung = np.zeros(bed.shape[-1], np.float32)
    for start, key, _ in lead.events:
        sound = lead.sounds[key].mean(axis=0)
        end = min(len(sung), start + len(sound))
        sung[start:end] += sound[: end - start]
    sung *= np.float32(lead.level_gain())
    gain = np.float32(10.0 ** (voice_balance_db(bed, sung[None, :]) / 20.0))
    scaled: set[int] = set()  # in place, once per array: a track's voices take memory enough
    for pr in voices:
        for audio in pr.sounds.values():
            if id(audio) not in scaled:
                audio *= gain
                scaled.add(id(audio))
