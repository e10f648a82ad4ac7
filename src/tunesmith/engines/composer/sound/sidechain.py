"""Sidechain ducking: the parts that ask for it dip at each kick and recover over a beat.
"""

from __future__ import annotations

import numpy as np

from tunesmith.engines.composer.score import SAMPLE_RATE, Score

SR = SAMPLE_RATE
_DUCK_FLOOR = 0.12  # the deepest sidechain dip (-18 dB) at sidechain = 1


def duck_envelope(kicks: list[int], n: int, depth: float, bpm: float) -> np.ndarray:
    """Gain per sample that dips at each kick and recovers over most of a beat."""
    beat = 60.0 / bpm
    attack = int(0.004 * SR)
    recover = int(min(0.6 * beat, 0.32) * SR)
    t = np.arange(attack + recover, dtype=np.float32)
    shape = np.where(
        t < attack, t / attack, 1.0 - np.sin(np.clip((t - attack) / recover, 0, 1) * np.pi / 2) ** 2
    )
    template = (1.0 - depth * (1.0 - _DUCK_FLOOR) * shape).astype(np.float32)
    env = np.ones(n, dtype=np.float32)
    for start in sorted(set(kicks)):
        end = min(n, start + template.size)
        if end > start:
            np.minimum(env[start:end], template[: end - start], out=env[start:end])
    return env


def kick_onsets(kicks: list[int], score: Score) -> list[int]:
    """Kick positions from the drum parts, or every beat when there is no kick."""
    if kicks:
        return kicks
    beat = 60.0 / score.bpm
    return [round(i * beat * SR) for i in range(int(score.duration / beat) + 1)]
