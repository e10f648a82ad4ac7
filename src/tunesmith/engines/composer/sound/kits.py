"""Synthesised drum kits (808, 909, electronic, lofi, chip), one hit per GM key.

Each kit is a table of :class:`Piece` entries (data); each piece kind has one small synthesis
function (machinery). Hits are rendered once per (kit, key, velocity bucket, variant) by
:mod:`render`; the variants give repeated hats and claps slightly different noise so a
pattern does not sound like one sample looped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.signal import butter, sosfilt

from tunesmith.audio.stereo import spread_gains
from tunesmith.engines.composer.score import SAMPLE_RATE

SR = SAMPLE_RATE
TWO_PI = 2.0 * np.pi
VARIANTS = 3  # distinct noise takes per piece
_HAT_PARTIALS = (205.3, 304.4, 369.6, 522.7, 540.0, 800.0)  # the TR-808 metal oscillators


@dataclass(frozen=True)
class Piece:
    """One drum: a synthesis kind, its parameters, level (dB) and pan (-1..1)."""

    kind: str
    params: dict[str, float] = field(default_factory=dict)
    level_db: float = 0.0
    pan: float = 0.0


# ---- piece synthesis ---------------------------------------------------------------------


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

# ---- kits (data) -------------------------------------------------------------------------

_HAT_C = {"decay": 0.035, "hp": 7500, "noise": 0.35}
_HAT_O = {"decay": 0.28, "hp": 7000, "noise": 0.35}
_PERC: dict[int, Piece] = {
    37: Piece("bell", {"f": 1700, "sine": 1, "decay": 0.02}, -6, 0.1),
    54: Piece("shaker", {"decay": 0.09, "hp": 6000, "jingle": 0.6}, -9, 0.35),
    56: Piece("bell", {"f": 540, "ratio": 1.48, "decay": 0.09}, -10, -0.3),
    60: Piece("tom", {"f": 400, "decay": 0.08, "bend": 0.2, "slap": 0.4}, -7, 0.3),
    61: Piece("tom", {"f": 290, "decay": 0.1, "bend": 0.2, "slap": 0.4}, -7, 0.2),
    62: Piece("tom", {"f": 320, "decay": 0.05, "bend": 0.1, "slap": 0.6}, -8, -0.25),
    63: Piece("tom", {"f": 330, "decay": 0.16, "bend": 0.15, "slap": 0.3}, -7, -0.3),
    64: Piece("tom", {"f": 220, "decay": 0.2, "bend": 0.15, "slap": 0.3}, -7, -0.2),
    65: Piece("tom", {"f": 520, "decay": 0.12, "bend": 0.1, "slap": 0.5}, -9, 0.4),
    66: Piece("tom", {"f": 380, "decay": 0.14, "bend": 0.1, "slap": 0.5}, -9, 0.3),
    69: Piece("shaker", {"decay": 0.05, "hp": 7000}, -12, -0.4),
    70: Piece("shaker", {"decay": 0.05, "hp": 5500, "attack": 0.02}, -11, 0.4),
    73: Piece("shaker", {"decay": 0.12, "hp": 3000, "attack": 0.05}, -12, -0.35),
    75: Piece("bell", {"f": 2500, "sine": 1, "decay": 0.03}, -9, 0.35),
}


def _kit(
    kick: Piece,
    snare: Piece,
    clap: Piece,
    hat_c: Piece,
    hat_o: Piece,
    crash: Piece,
    ride: Piece,
    tom_f: float,
    tom_decay: float,
) -> dict[int, Piece]:
    """A full key map from the pieces that give a kit its character."""
    toms = {
        41: (0.8, -0.35),
        43: (0.9, -0.25),
        45: (1.0, -0.1),
        47: (1.2, 0.05),
        48: (1.4, 0.2),
        50: (1.65, 0.3),
    }
    kit = dict(_PERC)
    kit.update(
        {
            36: kick,
            35: kick,
            38: snare,
            40: snare,
            39: clap,
            42: hat_c,
            44: hat_c,
            46: hat_o,
            49: crash,
            57: crash,
            55: crash,
            52: crash,
            51: ride,
            59: ride,
            53: ride,
        }
    )
    for key, (mult, pan) in toms.items():
        kit[key] = Piece("tom", {"f": tom_f * mult, "decay": tom_decay}, -3, pan)
    return kit


#: Synthesised kits by name; keys are GM percussion numbers.
KITS: dict[str, dict[int, Piece]] = {
    "808": _kit(
        Piece(
            "kick",
            {
                "f_start": 140,
                "f_end": 48,
                "pitch_tau": 0.045,
                "decay": 0.42,
                "click": 0.12,
                "drive": 0.25,
            },
            0,
        ),
        Piece(
            "snare",
            {
                "tone": 185,
                "tone_decay": 0.05,
                "noise_decay": 0.13,
                "noise_hp": 1800,
                "tone_level": 0.7,
            },
            -3,
        ),
        Piece(
            "clap",
            {"decay": 0.16, "bursts": 4, "spacing": 0.01, "bp_low": 900, "bp_high": 2800},
            -2,
        ),
        Piece("metal", {**_HAT_C, "decay": 0.03}, -8, 0.2),
        Piece("metal", {**_HAT_O, "decay": 0.35}, -9, 0.2),
        Piece("metal", {"decay": 0.9, "hp": 5000, "noise": 0.5, "tune": 1.3}, -10, -0.3),
        Piece("metal", {"decay": 0.45, "hp": 6000, "noise": 0.2, "tune": 1.8}, -13, 0.35),
        95.0,
        0.28,
    ),
    "909": _kit(
        Piece(
            "kick",
            {
                "f_start": 260,
                "f_end": 52,
                "pitch_tau": 0.018,
                "decay": 0.24,
                "click": 0.45,
                "drive": 0.45,
            },
            0,
        ),
        Piece(
            "snare",
            {
                "tone": 200,
                "tone_decay": 0.04,
                "noise_decay": 0.16,
                "noise_hp": 2200,
                "noise_level": 0.9,
            },
            -3,
        ),
        Piece(
            "clap",
            {"decay": 0.22, "bursts": 4, "spacing": 0.012, "bp_low": 1000, "bp_high": 3200},
            -2,
        ),
        Piece("metal", {"decay": 0.035, "hp": 8500, "noise": 0.6}, -8, 0.2),
        Piece("metal", {"decay": 0.3, "hp": 8000, "noise": 0.6}, -9, 0.2),
        Piece("metal", {"decay": 1.1, "hp": 6000, "noise": 0.7, "tune": 1.4}, -11, -0.3),
        Piece("metal", {"decay": 0.6, "hp": 5000, "noise": 0.25, "tune": 2.2}, -13, 0.35),
        110.0,
        0.22,
    ),
    "electronic": _kit(
        Piece(
            "kick",
            {
                "f_start": 200,
                "f_end": 50,
                "pitch_tau": 0.025,
                "decay": 0.32,
                "click": 0.3,
                "drive": 0.5,
            },
            0,
        ),
        Piece(
            "snare",
            {
                "tone": 210,
                "tone_decay": 0.05,
                "noise_decay": 0.14,
                "noise_hp": 1500,
                "noise_level": 0.8,
            },
            -2,
        ),
        Piece(
            "clap",
            {"decay": 0.18, "bursts": 3, "spacing": 0.009, "bp_low": 1100, "bp_high": 4000},
            -2,
        ),
        Piece("metal", {"decay": 0.03, "hp": 9000, "noise": 0.7}, -8, 0.2),
        Piece("metal", {"decay": 0.25, "hp": 8500, "noise": 0.7}, -9, 0.2),
        Piece("metal", {"decay": 1.0, "hp": 6000, "noise": 0.8, "tune": 1.5}, -11, -0.3),
        Piece("metal", {"decay": 0.5, "hp": 5500, "noise": 0.3, "tune": 2.0}, -13, 0.35),
        100.0,
        0.25,
    ),
    "lofi": _kit(
        Piece(
            "kick",
            {
                "f_start": 110,
                "f_end": 52,
                "pitch_tau": 0.035,
                "decay": 0.22,
                "click": 0.2,
                "drive": 0.6,
            },
            0,
        ),
        Piece(
            "snare",
            {
                "tone": 190,
                "tone_decay": 0.07,
                "noise_decay": 0.11,
                "noise_hp": 900,
                "noise_lp": 6500,
                "noise_level": 0.6,
            },
            -2,
        ),
        Piece(
            "clap",
            {"decay": 0.12, "bursts": 3, "spacing": 0.012, "bp_low": 800, "bp_high": 2200},
            -3,
        ),
        Piece("metal", {"decay": 0.03, "hp": 6000, "lp": 12000, "noise": 0.8}, -10, 0.2),
        Piece("metal", {"decay": 0.2, "hp": 6000, "lp": 12000, "noise": 0.8}, -11, 0.2),
        Piece("metal", {"decay": 0.8, "hp": 4500, "lp": 11000, "noise": 0.8}, -13, -0.3),
        Piece(
            "metal", {"decay": 0.4, "hp": 4500, "lp": 11000, "noise": 0.4, "tune": 1.9}, -14, 0.3
        ),
        90.0,
        0.2,
    ),
    "chip": {
        **{k: Piece("chip_noise", {"decay": 0.08, "rate": 9000}, -3) for k in (38, 40, 39, 37)},
        **{
            k: Piece("chip_noise", {"decay": 0.02, "rate": 30000}, -9) for k in (42, 44, 54, 69, 70)
        },
        **{
            k: Piece("chip_noise", {"decay": 0.15, "rate": 30000}, -9)
            for k in (46, 49, 51, 52, 55, 57, 59)
        },
        **{k: Piece("chip_kick", {"decay": 0.12}, 0) for k in (35, 36, 41, 43, 45, 47, 48, 50)},
    },
}


def piece(kit: str, key: int) -> Piece | None:
    """The piece a kit plays for a GM key, or None when the kit has nothing there."""
    table = KITS.get(kit, KITS["electronic"])
    return table.get(key)


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
