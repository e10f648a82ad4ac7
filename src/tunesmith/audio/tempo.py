"""Tempo from the onset-strength envelope: autocorrelation, a prior near 120 BPM, fine refinement.

The beat period shows up as peaks of the onset envelope's autocorrelation at the period and its
multiples. A log-normal prior centred on 120 BPM picks among the period's octaves (60, 120, 240
all fit a steady pulse); the chosen period is then refined by lining up the peaks at all its
multiples within a few seconds, which pins it far below one frame (about 12 ms).
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d, uniform_filter1d

from tunesmith.audio.spectrogram import ANALYSIS_RATE, bin_frequencies, stft_magnitude

ONSET_FFT = 1024
ONSET_HOP = 256
FRAME_RATE = ANALYSIS_RATE / ONSET_HOP  # about 86 onset frames a second
MIN_BPM, MAX_BPM = 40.0, 240.0
PRIOR_CENTRE_BPM = 120.0
PRIOR_OCTAVES = 1.0  # width (one standard deviation) of the log-normal tempo prior
REFINE_SPAN = 0.03  # search +-3 % around the coarse pick
REFINE_SECONDS = 12.0  # multiples of the period used to refine it
RELATED_RATIOS = (1.0, 2.0, 0.5)
COMPOUND_RATIOS = (1.5, 2.0 / 3.0, 3.0, 1.0 / 3.0)


def onset_envelope(mono: np.ndarray) -> np.ndarray:
    """Onset strength per frame (FRAME_RATE a second): positive log-spectral flux."""
    mag = stft_magnitude(mono, ONSET_FFT, ONSET_HOP)
    freqs = bin_frequencies(ONSET_FFT, ANALYSIS_RATE)
    band = (freqs >= 30.0) & (freqs <= 10000.0)
    ref = max(float(mag.max(initial=0.0)), 1e-9)
    # Log compression makes a soft hi-hat count next to a kick, as the ear hears it.
    log_mag = np.log1p(1000.0 * mag[:, band] / ref)
    flux = np.maximum(np.diff(log_mag, axis=0, prepend=log_mag[:1]), 0.0).sum(axis=1)
    # Removing the local mean keeps sustained textures (pads, reverb tails) from reading as onsets.
    flux = np.maximum(flux - uniform_filter1d(flux, size=int(FRAME_RATE)), 0.0)
    return gaussian_filter1d(flux, sigma=1.0).astype(np.float64)


def _autocorrelation(onsets: np.ndarray, max_lag: int) -> np.ndarray:
    """Autocorrelation for lags 0..max_lag, normalised so lag 0 is 1 (all zeros if flat)."""
    centred = onsets - onsets.mean()
    size = 1 << int(np.ceil(np.log2(2 * centred.size + 1)))
    spectrum = np.fft.rfft(centred, size)
    acf = np.fft.irfft(spectrum * np.conj(spectrum), size)[: max_lag + 1]
    return acf / acf[0] if acf[0] > 0 else np.zeros(max_lag + 1)


def _sample(acf: np.ndarray, lags: np.ndarray) -> np.ndarray:
    """The autocorrelation at fractional lags (linear interpolation, zero past the end)."""
    return np.interp(lags, np.arange(acf.size), acf, right=0.0)


def _prior(bpm: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * (np.log2(bpm / PRIOR_CENTRE_BPM) / PRIOR_OCTAVES) ** 2)


def _coarse_period(acf: np.ndarray) -> float:
    """The period (frames) whose autocorrelation, weighted by the prior, is highest."""
    bpm = np.geomspace(MIN_BPM, MAX_BPM, 600)
    period = 60.0 * FRAME_RATE / bpm
    # The peak at twice the period backs the candidate: a real beat repeats, a stray lag does not.
    strength = _sample(acf, period) + 0.5 * _sample(acf, 2 * period)
    return float(period[np.argmax(_prior(bpm) * np.maximum(strength, 0.0))])


def _refine_period(acf: np.ndarray, period: float) -> float:
    """Sub-frame period: the one whose multiples up to REFINE_SECONDS meet the most correlation."""
    candidates = period * np.linspace(1 - REFINE_SPAN, 1 + REFINE_SPAN, 601)
    count = max(1, int(REFINE_SECONDS * FRAME_RATE / period))
    multiples = np.arange(1, count + 1)
    scores = _sample(acf, candidates[:, np.newaxis] * multiples).sum(axis=1)
    return float(candidates[np.argmax(scores)])


def estimate_tempo(onsets: np.ndarray) -> tuple[float, float]:
    """(bpm, confidence 0..1) from an onset envelope; (0.0, 0.0) when there is no pulse."""
    max_lag = int(min(onsets.size - 1, (REFINE_SECONDS + 2) * FRAME_RATE))
    if max_lag < 60.0 * FRAME_RATE / MIN_BPM * 2:
        return 0.0, 0.0  # too short to see two beats at the slowest tempo
    acf = _autocorrelation(onsets, max_lag)
    if not acf.any():
        return 0.0, 0.0
    period = _refine_period(acf, _coarse_period(acf))
    confidence = float(np.clip(_sample(acf, np.array([period]))[0], 0.0, 1.0))
    return 60.0 * FRAME_RATE / period, confidence


def tempo_matches(detected: float, planned: float, tolerance: float = 0.02,
                  compound: bool = False) -> bool:
    """True when ``detected`` is ``planned`` (or half or double it) within ``tolerance``.

    ``compound=True`` also accepts 3/2 and 2/3 (and 3, 1/3), the readings a 6/8 or swung
    feel invites. Example: ``tempo_matches(59.6, 120)`` is True.
    """
    if detected <= 0 or planned <= 0:
        return False
    ratios = RELATED_RATIOS + (COMPOUND_RATIOS if compound else ())
    return any(abs(detected / (planned * r) - 1.0) <= tolerance for r in ratios)
