"""Stereo placement: the pan laws and stereo width, written once for the mix and the master."""

from __future__ import annotations

import numpy as np


def pan_gains(pan: float) -> tuple[float, float]:
    """The mixer's constant-power balance: (1, 1) at the centre, one side silent at the extremes."""
    angle = (np.clip(pan, -1.0, 1.0) + 1.0) * np.pi / 4.0
    return float(np.cos(angle) * np.sqrt(2.0)), float(np.sin(angle) * np.sqrt(2.0))


def spread_gains(pan: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Power split of one source inside a sound (a drum of a kit, a detuned voice of a synth):
    left and right powers sum to 1, each -3 dB at the centre."""
    return np.sqrt(0.5 * (1.0 - pan)), np.sqrt(0.5 * (1.0 + pan))


def widen(audio: np.ndarray, width: float) -> np.ndarray:
    """Scale the side of a stereo float32 signal: ``width`` 0.6 (the default) keeps it as it is,
    0 narrows it to 0.4 of its side, 1.2 and above widens it 1.6 times."""
    factor = float(np.clip(0.4 + width, 0.0, 1.6))
    if abs(factor - 1.0) < 0.02:
        return audio
    mid = (audio[0] + audio[1]) * np.float32(0.5)
    side = (audio[0] - audio[1]) * np.float32(0.5 * factor)
    return np.stack([mid + side, mid - side])
