"""Placing parts on the buses: each part levelled, panned and widened onto the dry bus, and fed
to the half-rate mono send buses (reverb, delay), sound by sound.

The sends are mixed at half rate (each sound is halved once, then placed), which halves what
they cost; the returns come back to full rate once, in :func:`add_upsampled`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tunesmith.audio.stereo import pan_gains, widen

if TYPE_CHECKING:
    from collections.abc import Hashable

    from tunesmith.engines.composer.sound.stems import PartRender



def cut_at(sound: np.ndarray, limit: int) -> np.ndarray:
    """A choked sound: cut at ``limit`` samples with a 5 ms fade."""
    if not limit or limit >= sound.shape[-1]:
        return sound
    out = sound[..., :limit].copy()
    fade = min(220, limit)
    out[..., limit - fade :] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return out


def place(bus: np.ndarray, sound: np.ndarray, start: int) -> None:
    end = min(bus.shape[-1], start + sound.shape[-1])
    if end > start:
        bus[..., start:end] += sound[..., : end - start]


def place_part(
    pr: PartRender, dry: np.ndarray, sends: dict[str, np.ndarray | None], width: float = 0.6
) -> None:
    """Add a part, levelled, panned and widened, to a dry bus and its half-rate mono sends.

    Sound by sound: each is made ready, placed wherever it plays and dropped, so placing a
    part needs memory for one of its sounds, not a copy of them all. The part's sounds are
    used up.
    """
    gain = pr.level_gain()
    left, right = pan_gains(pr.part.pan)
    lr = np.array([[left * gain], [right * gain]], dtype=np.float32)
    levels = {"reverb": pr.part.reverb, "delay": pr.part.delay}
    fed = [(bus, np.float32(0.5 * levels[name])) for name, bus in sends.items()
           if bus is not None and levels[name] > 0]
    plays: dict[Hashable, list[tuple[int, int]]] = {}
    for start, key, limit in pr.events:
        plays.setdefault(key, []).append((start, limit))
    for key, where in plays.items():
        ready = widen(pr.sounds.pop(key), width) * lr
        for start, limit in where:
            place(dry, cut_at(ready, limit), start)
        if not fed:
            continue
        mono = half_rate(ready[0] + ready[1])  # (L + R) / 2 at half rate, with the 0.5 below
        del ready
        for bus, level in fed:
            scaled = mono * level
            for start, limit in where:
                place(bus, cut_at(scaled, -(-limit // 2)), start // 2)


def half_rate(x: np.ndarray) -> np.ndarray:
    """Half the sample rate by averaging pairs (the send filters remove what folds)."""
    m = x.size // 2
    return (x[0 : 2 * m : 2] + x[1 : 2 * m : 2]) * np.float32(0.5)


def add_upsampled(bus: np.ndarray, half_rate: np.ndarray) -> None:
    """Add a half-rate stereo signal to a full-rate bus, interpolating linearly, in place."""
    m = min(half_rate.shape[1], bus.shape[1] // 2)
    x = half_rate[:, :m]
    bus[:, 0 : 2 * m : 2] += x
    bus[:, 1 : 2 * m - 1 : 2] += 0.5 * (x[:, :-1] + x[:, 1:])
