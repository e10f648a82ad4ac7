"""Cues: bus effects across a span (filter sweeps, tape stops) and the sounds a cue adds
(risers, impacts, downlifters) at the level of the music around them.
"""

from __future__ import annotations

import numpy as np

from tunesmith.engines.composer.score import SAMPLE_RATE, Cue, Score
from tunesmith.engines.composer.sound import synth
from tunesmith.engines.composer.sound.buses import half_rate, place

SR = SAMPLE_RATE
_CUE_SEND = 0.35


def _span(cue: Cue, n: int) -> tuple[int, int]:
    return max(0, round(cue.start * SR)), min(n, round(cue.end * SR))


def filter_sweep(bus: np.ndarray, cue: Cue) -> None:
    """Open a low-pass across the span (the build into a drop), in place."""
    a, b = _span(cue, bus.shape[-1])
    if b - a < 256:
        return
    frac = np.arange(b - a) / (b - a)
    start = 18000.0 * 2.0 ** (-6.0 * float(np.clip(cue.amount, 0.0, 1.0)))
    bus[:, a:b] = synth.sweep_lowpass(bus[:, a:b], start * (18000.0 / start) ** frac, 0.35)


def tape_stop(bus: np.ndarray, cue: Cue) -> None:
    """Slow the music to a halt across the span, like a stopping turntable, in place."""
    a, b = _span(cue, bus.shape[-1])
    if b - a < 256:
        return
    frac = np.arange(b - a) / (b - a)
    speed = np.clip(1.0 - frac, 0.0, 1.0) ** 1.6
    pos = a + np.cumsum(speed) - speed[0]
    src = np.arange(a, b)
    seg = np.stack([np.interp(pos, src, ch[a:b]) for ch in bus])
    seg *= (1.0 - frac) ** 0.5  # the level sinks with the speed, as on tape
    fade = min(441, b - a)
    seg[:, -fade:] *= np.linspace(1.0, 0.0, fade)
    bus[:, a:b] = seg


def cue_sound(cue: Cue, seed: int) -> np.ndarray | None:
    """The sound a cue adds (risers, impacts, downlifters); None for bus effects."""
    seconds = max(cue.end - cue.start, 0.1)
    amount = float(np.clip(cue.amount, 0.0, 1.5))
    if cue.kind == "riser":
        return synth.riser(seconds, amount, seed)
    if cue.kind == "downlifter":
        return synth.downlifter(seconds, amount, seed)
    if cue.kind == "impact":
        return synth.impact(seconds, amount, seed)
    return None


def add_cue_sounds(dry: np.ndarray, reverb: np.ndarray | None, score: Score, seed: int) -> None:
    """Risers, impacts and downlifters at the level of the music around them."""
    sounds = [(c, cue_sound(c, seed + i)) for i, c in enumerate(score.cues)]
    if not any(s is not None for _, s in sounds):
        return
    level = float(np.sqrt(np.mean(np.square(dry[:, ::16], dtype=np.float64)))) or 0.05
    for cue, sound in sounds:
        if sound is None:
            continue
        sound = sound * np.float32(level * 2.2)
        start = round(cue.start * SR)
        place(dry, sound, start)
        if reverb is not None:
            place(reverb, half_rate(sound.mean(axis=0)) * np.float32(_CUE_SEND), start // 2)
