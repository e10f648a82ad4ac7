"""Filter design for the mix: each part's tone chain (high-pass, low-pass, presence, tilt and
drive), run on each distinct note sound, and latency-free pedalboard filters run over a bus
in place.

A filter is linear, so shaping a sound before placing it equals shaping the part afterwards,
for the cost of the few hundred distinct sounds.
"""

from __future__ import annotations

import functools

import numpy as np
from pedalboard import Plugin
from scipy.signal import butter, sosfilt

from tunesmith.engines.composer.library.instruments import MixSettings
from tunesmith.engines.composer.score import SAMPLE_RATE, Production

SR = SAMPLE_RATE
_SATURATION_DRIVE = 0.8
BLOCK = 1 << 18  # samples per block of in-place filters and tape wobble (6 s)


def _shelf(freq: float, gain_db: float, high: bool) -> np.ndarray:
    """RBJ shelving biquad as one second-order section."""
    a = 10.0 ** (gain_db / 40.0)
    w0 = 2 * np.pi * freq / SR
    cos, alpha = np.cos(w0), np.sin(w0) / np.sqrt(2.0)
    sign = 1.0 if high else -1.0
    b0 = a * ((a + 1) + sign * (a - 1) * cos + 2 * np.sqrt(a) * alpha)
    b1 = -2 * sign * a * ((a - 1) + sign * (a + 1) * cos)
    b2 = a * ((a + 1) + sign * (a - 1) * cos - 2 * np.sqrt(a) * alpha)
    a0 = (a + 1) - sign * (a - 1) * cos + 2 * np.sqrt(a) * alpha
    a1 = 2 * sign * ((a - 1) - sign * (a + 1) * cos)
    a2 = (a + 1) - sign * (a - 1) * cos - 2 * np.sqrt(a) * alpha
    return np.array([b0, b1, b2, a0, a1, a2]) / a0


def _peak(freq: float, gain_db: float, q: float) -> np.ndarray:
    """RBJ peaking biquad as one second-order section."""
    a = 10.0 ** (gain_db / 40.0)
    w0 = 2 * np.pi * freq / SR
    alpha = np.sin(w0) / (2 * q)
    b = [1 + alpha * a, -2 * np.cos(w0), 1 - alpha * a]
    den = [1 + alpha / a, -2 * np.cos(w0), 1 - alpha / a]
    return np.array(b + den) / den[0]


@functools.lru_cache(maxsize=256)
def tone_sos(mix: MixSettings, brightness: float) -> np.ndarray | None:
    """The part's filter chain (high-pass, low-pass, presence, tilt) or None when flat.

    Designed once per part's settings (shared, never written to): every sound of a part
    goes through the same chain.
    """
    sections: list[np.ndarray] = []
    if mix.highpass_hz > 22:
        sections.append(butter(2, mix.highpass_hz, "highpass", fs=SR, output="sos"))
    if mix.lowpass_hz < 19000:
        sections.append(butter(2, mix.lowpass_hz, "lowpass", fs=SR, output="sos"))
    if mix.presence_db:
        sections.append(_peak(3000.0, mix.presence_db, 0.9)[np.newaxis, :])
    if abs(brightness) > 0.02:
        sections.append(_shelf(4500.0, 4.0 * brightness, True)[np.newaxis, :])
        sections.append(_shelf(180.0, -1.5 * brightness, False)[np.newaxis, :])
    return np.concatenate(sections) if sections else None


def shape_tone(audio: np.ndarray, mix: MixSettings, prod: Production, role: str = "") -> np.ndarray:
    """A sound through its part's tone chain and drive, always stereo float32.

    The production's saturation drives drums and bass here, per sound, rather than on the
    whole bus: the same warmth and punch for a fraction of the cost.
    """
    if audio.shape[0] == 1:
        audio = np.repeat(audio, 2, axis=0)
    sos = tone_sos(mix, prod.brightness)
    if sos is not None:
        audio = sosfilt(sos, audio, axis=-1)
    drive = mix.drive + (prod.saturation * _SATURATION_DRIVE if role in ("drums", "bass") else 0.0)
    if drive > 0.005:
        peak = float(np.abs(audio).max()) or 1.0
        gain = 1.0 + 3.0 * drive
        audio = np.tanh(audio / peak * gain) * (peak / np.tanh(gain))
    return np.ascontiguousarray(audio, dtype=np.float32)


def filter_in_place(plugin: Plugin, bus: np.ndarray) -> np.ndarray:
    """``bus`` through a pedalboard filter without latency, in place, block by block (the
    same samples as one call, without a second track-size array)."""
    for a in range(0, bus.shape[-1], BLOCK):
        bus[:, a : a + BLOCK] = plugin(bus[:, a : a + BLOCK], SR, reset=False)
    return bus
