"""Lo-fi colour: tape wobble, band limit, bit reduction and vinyl, as much as the production asks.
"""

from __future__ import annotations

import numpy as np
from pedalboard import HighpassFilter, LowpassFilter, Pedalboard

from tunesmith.audio.loudness import peak_magnitude
from tunesmith.engines.composer.score import SAMPLE_RATE, Production
from tunesmith.engines.composer.sound.filters import BLOCK, filter_in_place

SR = SAMPLE_RATE
_HISS_LOOP = 20 * SR  # vinyl hiss repeats after 20 s
_HISS_SPLICE = SR // 20


def tape_wobble(bus: np.ndarray, amount: float) -> np.ndarray:
    """Wow and flutter: a slowly varying delay read by interpolation, in place.

    Worked in blocks from the end backwards: a block reads only samples at or before its
    own, which are not yet overwritten, and float64 read positions for a whole track would
    be half a GB of temporaries.
    """
    n = bus.shape[-1]
    depth = amount * 0.0016 * SR
    for a in reversed(range(0, n, BLOCK)):
        b = min(n, a + BLOCK)
        index = np.arange(a, b, dtype=np.float64)
        # The wobble moves at a few hertz: work it out every 64 samples, draw lines between.
        coarse = np.arange(a, b + 64, 64, dtype=np.float64)
        t = coarse / SR
        delay = depth * (
            1.0 + 0.75 * np.sin(2 * np.pi * 0.55 * t) + 0.2 * np.sin(2 * np.pi * 5.7 * t)
        )
        pos = index - np.interp(index, coarse, delay)
        np.clip(pos, 0.0, n - 1, out=pos)
        lo = max(0, a - int(depth * 2.0) - 2)  # the longest delay is 1.95 x depth
        source = np.arange(lo, b, dtype=np.float64)
        block = np.stack([np.interp(pos, source, channel[lo:b]) for channel in bus])
        bus[:, a:b] = block
    return bus


def vinyl_noise(n: int, level: float, seed: int) -> np.ndarray:
    """Crackle (sparse clicks) and hiss, stereo, at ``level`` of full scale.

    The hiss is a band of noise ``_HISS_LOOP`` samples long played round: steady noise repeating
    that slowly is not heard to repeat, and a long track costs no more than a short one.
    The clicks fall anywhere.
    """
    rng = np.random.default_rng([seed, 77])
    loop = min(n, _HISS_LOOP)
    band = rng.standard_normal((2, loop + SR // 10), dtype=np.float32)
    band = Pedalboard([HighpassFilter(900.0), LowpassFilter(5500.0)])(band, SR)
    band = band[:, SR // 10 :] * np.float32(0.05)  # the filters settled
    if n <= loop:
        hiss = np.array(band[:, :n])
    else:
        # One period of the loop: its start fades in over the noise that followed its end
        # (equal power: the two are independent), so it comes round without a seam.
        fade = _HISS_SPLICE
        period = loop - fade
        x = np.linspace(0.0, np.pi / 2, fade, dtype=np.float32)
        band[:, :fade] = band[:, :fade] * np.sin(x) + band[:, period:loop] * np.cos(x)
        hiss = np.tile(band[:, :period], (1, -(-n // period)))[:, :n]
    del band
    click_shape = np.exp(-np.arange(90) / 14.0).astype(np.float32)
    for at in np.sort(rng.integers(0, max(n - 100, 1), size=int(n / SR * 5.0))):
        amp = float(rng.pareto(2.5) + 0.2) * (1 if rng.random() < 0.5 else -1) * 0.25
        hiss[int(rng.integers(0, 2)), at : at + 90] += click_shape * np.float32(amp)
    hiss *= np.float32(level)
    return hiss


def lofi_colour(bus: np.ndarray, prod: Production, seed: int) -> np.ndarray:
    """Tape wobble, band limit, bit reduction and vinyl, as much as the production asks.

    All in place on ``bus`` (float32), which is returned.
    """
    if prod.lofi > 0.02:
        tape_wobble(bus, prod.lofi)
        filter_in_place(LowpassFilter(16000.0 - 9500.0 * prod.lofi), bus)
        peak = peak_magnitude(bus) or 1.0
        steps = 2.0 ** (14.0 - 6.0 * prod.lofi)
        bus *= np.float32(steps / peak)
        np.round(bus, out=bus)
        bus *= np.float32(peak / steps)
    if prod.vinyl > 0.01:
        rms = float(np.sqrt(np.mean(np.square(bus[:, ::8], dtype=np.float64)))) or 0.05
        bus += vinyl_noise(bus.shape[-1], rms * prod.vinyl * 0.5, seed)
    return bus
