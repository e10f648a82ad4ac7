"""Loudness and peak measures: integrated LUFS and true peak (ITU-R BS.1770), sample peak, RMS.

All functions take float audio shaped (channels, samples) or (samples,), full scale = 1.0.
Silence has no loudness: the level functions return ``-inf`` for it.
"""

from __future__ import annotations

import numpy as np
import pyloudnorm
from numpy.lib.stride_tricks import sliding_window_view

from tunesmith.audio.codec import as_channels_first

OVERSAMPLING = 4
INTERPOLATION_TAPS = 12  # per phase, as in the BS.1770 true-peak reference filter
CLIP_LEVEL = 0.999  # 16-bit full scale after dither lands a hair under 1.0
_CHUNK = 1 << 14  # small enough that BLAS runs it on one thread: no thread spin-up per chunk


def peak_magnitude(audio: np.ndarray) -> float:
    """The largest absolute sample value (0 for no samples), without the full-size copy
    ``np.abs`` would make."""
    return max(float(audio.max(initial=0.0)), -float(audio.min(initial=0.0)))


def _db(amplitude: float) -> float:
    return 20.0 * float(np.log10(amplitude)) if amplitude > 0 else float("-inf")


def integrated_lufs(audio: np.ndarray, sample_rate: int) -> float:
    """Programme loudness in LUFS (K-weighted, gated), via pyloudnorm."""
    data = as_channels_first(audio)
    if data.shape[1] < int(0.4 * sample_rate) or not np.any(data):
        return float("-inf")  # shorter than one 400 ms gating block, or silent
    loudness = pyloudnorm.Meter(sample_rate).integrated_loudness(data.T.astype(np.float64))
    return float(loudness)


def _interpolation_filter() -> np.ndarray:
    """Windowed-sinc taps, (taps, phases), for the samples between the originals."""
    offsets = np.arange(INTERPOLATION_TAPS) - INTERPOLATION_TAPS // 2 + 1
    phases = np.arange(1, OVERSAMPLING) / OVERSAMPLING
    taps = np.sinc(offsets[:, np.newaxis] - phases) * np.kaiser(INTERPOLATION_TAPS, 5.0)[:, None]
    return (taps / taps.sum(axis=0)).astype(np.float32)  # unity gain at DC for every phase


_FILTER = _interpolation_filter()


def _channel_true_peak(channel: np.ndarray) -> float:
    """Largest magnitude of one channel oversampled 4x (originals included)."""
    half = INTERPOLATION_TAPS // 2
    padded = np.pad(channel, (half - 1, half))
    peak = peak_magnitude(channel)
    # A windowed matrix product per chunk filters about ten times faster than scipy upfirdn.
    for start in range(0, channel.size, _CHUNK):
        window = padded[start : start + _CHUNK + INTERPOLATION_TAPS - 1]
        between = sliding_window_view(window, INTERPOLATION_TAPS) @ _FILTER
        peak = max(peak, peak_magnitude(between))
    return peak


def true_peak_dbtp(audio: np.ndarray) -> float:
    """True peak in dBTP: the highest level of the signal oversampled 4x (ITU-R BS.1770)."""
    data = as_channels_first(audio)
    return _db(max((_channel_true_peak(ch) for ch in data), default=0.0))


def sample_peak_dbfs(audio: np.ndarray) -> float:
    """Highest sample magnitude in dBFS."""
    return _db(peak_magnitude(as_channels_first(audio)))


def clipped_samples(audio: np.ndarray, level: float = CLIP_LEVEL) -> int:
    """How many samples (over all channels) sit at or beyond full scale."""
    return int(np.count_nonzero(np.abs(as_channels_first(audio)) >= level))


def rms_dbfs(audio: np.ndarray) -> float:
    """RMS level over all channels in dBFS (a full-scale sine reads -3.01)."""
    data = as_channels_first(audio)
    if not data.size:
        return float("-inf")
    energy = sum(float(np.dot(ch.astype(np.float64), ch)) for ch in data)  # float64 sum
    return _db(float(np.sqrt(energy / data.size)))
