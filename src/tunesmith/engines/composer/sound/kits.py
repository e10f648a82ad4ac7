"""Synthesised drum kits (808, 909, electronic, lofi, chip), one hit per GM key.

Each kit is a table of drums in ``data/kits.toml`` (loaded by :mod:`library.kits`); each drum
kind has one small synthesis function here (machinery). Hits are rendered once per (kit, key,
velocity bucket, variant) by :mod:`render`; the variants give repeated hats and claps slightly
different noise so a pattern does not sound like one sample looped.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.signal import butter, sosfilt

from tunesmith.audio.stereo import spread_gains
from tunesmith.engines.composer.library.kits import Drum, kits
from tunesmith.engines.composer.score import SAMPLE_RATE

SR = SAMPLE_RATE
TWO_PI = 2.0 * np.pi
VARIANTS = 3  # distinct noise takes per piece
_HAT_PARTIALS = (205.3, 304.4, 369.6, 522.7, 540.0, 800.0)  # the TR-808 metal oscillators


# ---- drum synthesis ----------------------------------------------------------------------


def _t(seconds: float) -> np.ndarray:
    return np.arange(int(seconds * SR)) / SR


def _band(x: np.ndarray, low: float, high: float, order: int = 2) -> np.ndarray:
    """Band-pass (or high-/low-pass when an edge is open) a mono signal."""
    nyq = 0.49 * SR
    if low <= 20:
        sos = butter(order, min(high, nyq), "lowpass", fs=SR, output="sos")
    elif high >= nyq:
        sos = butter(order, low, "highpass", fs=SR, output="sos")
    else:
        sos = butter(order, [low, high], "bandpass", fs=SR, output="sos")
    return sosfilt(sos, x)


def _kick(p: dict[str, float], rng: np.random.Generator) -> np.ndarray:
    t = _t(p.get("decay", 0.5) * 4.0)
    freq = p["f_end"] + (p["f_start"] - p["f_end"]) * np.exp(-t / p.get("pitch_tau", 0.03))
    body = np.sin(TWO_PI * np.cumsum(freq) / SR) * np.exp(-t / p.get("decay", 0.5))
    click = (
        _band(rng.standard_normal(t.size), 1500, 9000) * np.exp(-t / 0.004) * p.get("click", 0.3)
    )
    drive = 1.0 + 3.0 * p.get("drive", 0.2)
    return np.tanh(drive * (body + click)) / np.tanh(drive)


def _snare(p: dict[str, float], rng: np.random.Generator) -> np.ndarray:
    t = _t(p.get("noise_decay", 0.18) * 5.0)
    tone = sum(
        np.sin(TWO_PI * f * t * (1 + 0.12 * np.exp(-t / 0.01)))
        for f in (p["tone"], p["tone"] * 1.85)
    )
    tone = tone * np.exp(-t / p.get("tone_decay", 0.06)) * p.get("tone_level", 0.6)
    noise = _band(rng.standard_normal(t.size), p.get("noise_hp", 1200), p.get("noise_lp", 11000))
    noise = noise * np.exp(-t / p.get("noise_decay", 0.18)) * p.get("noise_level", 0.7)
    return np.tanh(1.5 * (tone + noise))


def _clap(p: dict[str, float], rng: np.random.Generator) -> np.ndarray:
    t = _t(p.get("decay", 0.2) * 5.0 + 0.04)
    env = np.zeros(t.size)
    gap = p.get("spacing", 0.011)
    for i in range(int(p.get("bursts", 4))):
        shifted = np.clip(t - i * gap, 0.0, None)
        tail = p.get("decay", 0.2) if i == int(p.get("bursts", 4)) - 1 else 0.006
        env = np.maximum(env, np.where(t >= i * gap, np.exp(-shifted / tail), 0.0))
    noise = _band(rng.standard_normal(t.size), p.get("bp_low", 900), p.get("bp_high", 2600), 2)
    return noise * env * 2.5


def _metal(p: dict[str, float], rng: np.random.Generator) -> np.ndarray:
    """Hats and cymbals: six detuned squares plus noise, high-passed, with a decay."""
    t = _t(p.get("decay", 0.05) * 6.0 + 0.01)
    tune = p.get("tune", 1.0) * (1.0 + 0.01 * rng.standard_normal())
    metal = sum(
        np.sign(np.sin(TWO_PI * f * tune * t + rng.random() * TWO_PI)) for f in _HAT_PARTIALS
    )
    mix = p.get("noise", 0.4)
    sig = (1 - mix) * metal / 6.0 + mix * rng.standard_normal(t.size)
    sig = _band(sig, p.get("hp", 7000), p.get("lp", SR / 2), 2)
    attack = np.clip(t / 0.0008, 0, 1)
    return sig * attack * np.exp(-t / p.get("decay", 0.05)) * 1.6


def _tom(p: dict[str, float], rng: np.random.Generator) -> np.ndarray:
    t = _t(p.get("decay", 0.3) * 4.0)
    freq = p["f"] * (1.0 + p.get("bend", 0.6) * np.exp(-t / 0.03))
    body = np.sin(TWO_PI * np.cumsum(freq) / SR) * np.exp(-t / p.get("decay", 0.3))
    slap = _band(rng.standard_normal(t.size), 800, 6000) * np.exp(-t / 0.008) * p.get("slap", 0.2)
    return np.tanh(1.3 * (body + slap))


def _bell(p: dict[str, float], rng: np.random.Generator) -> np.ndarray:
    """Cowbell and claves: a couple of square/sine partials through a band-pass."""
    t = _t(p.get("decay", 0.12) * 5.0)
    f = p["f"]
    osc = np.sign(np.sin(TWO_PI * f * t)) + np.sign(np.sin(TWO_PI * f * p.get("ratio", 1.48) * t))
    if p.get("sine", 0.0):
        osc = np.sin(TWO_PI * f * t)
    sig = _band(osc, f * 0.7, min(f * 4.0, 0.45 * SR), 2)
    return sig * np.exp(-t / p.get("decay", 0.12)) * np.clip(t / 0.0005, 0, 1)


def _shaker(p: dict[str, float], rng: np.random.Generator) -> np.ndarray:
    t = _t(p.get("decay", 0.06) * 5.0 + p.get("attack", 0.012))
    a = p.get("attack", 0.012)
    env = np.where(t < a, t / a, np.exp(-(t - a) / p.get("decay", 0.06)))
    jingle: np.ndarray | float = 0.0
    if p.get("jingle", 0.0):
        jingle = (
            p["jingle"]
            * _metal({"decay": p.get("decay", 0.06) * 1.5, "hp": 5000, "tune": 3.1}, rng)[: t.size]
        )
    return _band(rng.standard_normal(t.size), p.get("hp", 5000), SR / 2) * env + jingle


def _chip_noise(p: dict[str, float], rng: np.random.Generator) -> np.ndarray:
    """NES-style noise channel: sample-and-hold noise at a fixed rate, 4-bit volume steps."""
    t = _t(p.get("decay", 0.1) * 5.0)
    hold = max(1, int(SR / p.get("rate", 12000)))
    noise = np.repeat(np.sign(rng.standard_normal(t.size // hold + 1)), hold)[: t.size]
    env = np.round(np.exp(-t / p.get("decay", 0.1)) * 15) / 15
    return noise * env * 0.8


def _chip_kick(p: dict[str, float], rng: np.random.Generator) -> np.ndarray:
    """Triangle-channel kick: a fast pitch sweep down, stepped like the NES triangle."""
    t = _t(p.get("decay", 0.12) * 3.0)
    freq = 45.0 + 300.0 * np.exp(-t / 0.02)
    tri = 4.0 * np.abs(np.mod(np.cumsum(freq) / SR, 1.0) - 0.5) - 1.0
    return np.round(tri * 8) / 8 * np.exp(-t / p.get("decay", 0.12))


PIECE_KINDS: dict[str, Callable[[dict[str, float], np.random.Generator], np.ndarray]] = {
    "kick": _kick,
    "snare": _snare,
    "clap": _clap,
    "metal": _metal,
    "tom": _tom,
    "bell": _bell,
    "shaker": _shaker,
    "chip_noise": _chip_noise,
    "chip_kick": _chip_kick,
}

def piece(kit: str, key: int) -> Drum | None:
    """The drum a kit plays for a GM key, or None when the kit has nothing there (an unknown
    kit plays the electronic one)."""
    table = kits()
    return table.get(kit, table["electronic"]).get(key)


def render_hit(kit: str, key: int, velocity: int, variant: int = 0, seed: int = 0) -> np.ndarray:
    """One drum hit: stereo float32 (2, samples), panned, ending in silence."""
    spec = piece(kit, key)
    if spec is None:
        return np.zeros((2, 64), dtype=np.float32)
    rng = np.random.default_rng([seed, key, variant, sum(map(ord, kit))])
    mono = PIECE_KINDS[spec.kind](spec.params, rng)
    fade = min(256, mono.size // 4)
    mono[mono.size - fade :] *= np.linspace(1.0, 0.0, fade)
    level = 10.0 ** (spec.level_db / 20.0) * (velocity / 127.0) ** 1.3 * 0.5
    left, right = spread_gains(spec.pan)
    left, right = left * level, right * level
    return np.stack([mono * left, mono * right]).astype(np.float32)
