"""Send effects: reverb and delay run once each on mono send buses at half the sample rate.

Their returns are dark by design, and pedalboard's Reverb costs a fifth of the render budget
at full rate.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from pedalboard import Delay, HighpassFilter, LowpassFilter, Pedalboard, Reverb

from tunesmith.engines.composer.score import SAMPLE_RATE, Production

SR = SAMPLE_RATE
HALF = SR // 2
_PREDELAY_S = 0.018
_REVERB_RETURN = 1.2  # wet gain at the default reverb_mix of 0.15 (scaled linearly)
_DELAY_RETURN = 0.55


def reverb_return(send: np.ndarray, prod: Production,
                  pool: ThreadPoolExecutor | None = None) -> np.ndarray:
    """The stereo reverb return of a mono half-rate send bus, at half rate.

    Two mono reverbs of slightly different size make the left and right tails: as wide as
    pedalboard's stereo mode, at two thirds of its cost, and each can have a core (``pool``).
    """
    pre = int(_PREDELAY_S * HALF)
    shifted = np.concatenate([np.zeros(pre, np.float32), send[: send.size - pre]])
    low = Pedalboard([HighpassFilter(220.0), LowpassFilter(6500.0)])(shifted[np.newaxis, :], HALF)
    size = 0.35 + 0.6 * prod.reverb_size

    def tail(offset: float) -> np.ndarray:
        reverb = Reverb(room_size=min(size + offset, 0.98), damping=0.45, wet_level=1.0,
                        dry_level=0.0, width=1.0)
        return reverb(low, HALF)[0]

    offsets = (0.0, 0.025)
    tails = list(pool.map(tail, offsets) if pool else map(tail, offsets))
    return np.stack(tails) * np.float32(_REVERB_RETURN * prod.reverb_mix / 0.15)


def delay_return(send: np.ndarray, prod: Production, bpm: float) -> np.ndarray:
    """The stereo delay return of a half-rate send bus: tempo-synced echoes, darker, widened."""
    seconds = float(np.clip(prod.delay_beats * 60.0 / bpm, 0.05, 2.0))
    board = Pedalboard(
        [
            Delay(delay_seconds=seconds, feedback=0.38, mix=1.0),
            HighpassFilter(300.0),
            LowpassFilter(4500.0),
        ]
    )
    wet = board(send[np.newaxis, :], HALF)[0]
    haas = int(0.011 * HALF)
    right = np.concatenate([np.zeros(haas, np.float32), wet[: wet.size - haas]])
    return np.stack([wet, right]) * np.float32(_DELAY_RETURN)


def send_returns(sends: dict[str, np.ndarray | None], prod: Production,
                  bpm: float) -> np.ndarray | None:
    """Reverb and delay returns summed, at half rate (upsampled once by the caller).

    The reverb's two tails and the delay run at once: pedalboard releases the GIL.
    """
    reverb, delay = sends["reverb"], sends["delay"]
    with ThreadPoolExecutor(3, thread_name_prefix="sends") as pool:
        delayed = pool.submit(delay_return, delay, prod, bpm) if delay is not None else None
        returns = (reverb_return(reverb, prod, pool)
                   if reverb is not None and prod.reverb_mix > 0 else None)
        echoes = delayed.result() if delayed is not None else None
    if echoes is None:
        return returns
    return echoes if returns is None else returns + echoes
