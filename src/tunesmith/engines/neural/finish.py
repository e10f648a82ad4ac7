"""From a pipeline's waveform to our track: 44.1 kHz stereo, the exact length, mastered, MP3.

A model makes at least the asked length (its own rate, mono or stereo); the surplus is cut
with a fade so the end does not click, and the master and the encoder are the composer's.
A model that stops short (MiniMax Music 3's planner may end a song early) is an error, not
a padded track: the caller asked for a length and gets it, or is told why not.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from tunesmith.audio.codec import SAMPLE_RATE, as_channels_first, write_mp3
from tunesmith.engines.base import EngineError
from tunesmith.engines.neural import composer_parts

#: A shortfall up to this long is rounding (latent frames, resampling) and is padded.
ROUNDING_SECONDS = 0.05
#: The fade over a cut end: long enough to sound like an ending, short on short tracks.
MAX_FADE_SECONDS = 2.0


class TrackTooShort(EngineError):
    code = "track_too_short"


def to_stereo_44k(audio: np.ndarray, rate: int) -> np.ndarray:
    """``audio`` (channels first or last, any rate) as float32 (2, samples) at 44.1 kHz."""
    data = as_channels_first(audio)
    if data.shape[0] == 1:
        data = np.repeat(data, 2, axis=0)
    elif data.shape[0] > 2:
        data = data[:2]
    if rate != SAMPLE_RATE:
        g = np.gcd(int(rate), SAMPLE_RATE)
        data = resample_poly(data, SAMPLE_RATE // g, int(rate) // g, axis=1)
    return np.ascontiguousarray(data, dtype=np.float32)


def exact_length(audio: np.ndarray, seconds: float) -> np.ndarray:
    """Cut ``audio`` (2, n) at 44.1 kHz to ``seconds`` with a fade; TrackTooShort if short."""
    wanted = round(seconds * SAMPLE_RATE)
    have = audio.shape[1]
    if have < wanted - ROUNDING_SECONDS * SAMPLE_RATE:
        raise TrackTooShort(
            f"the model ended the track after {have / SAMPLE_RATE:.1f} s, short of the "
            f"{seconds:g} s asked; retry with another seed or a shorter duration_seconds")
    if have < wanted:
        return np.pad(audio, ((0, 0), (0, wanted - have)))
    out = audio[:, :wanted].copy()
    if have > wanted:
        fade = min(int(MAX_FADE_SECONDS * SAMPLE_RATE), wanted // 10)
        out[:, wanted - fade:] *= np.cos(np.linspace(0, np.pi / 2, fade, dtype=np.float32))
    return out


def finish(audio: np.ndarray, rate: int, seconds: float, path: Path) -> Path:
    """The model's waveform as our MP3 of exactly ``seconds`` at ``path``."""
    track = exact_length(to_stereo_44k(audio, rate), seconds)
    track = np.nan_to_num(track, nan=0.0, posinf=0.0, neginf=0.0)
    return write_mp3(path, composer_parts.master(track))
