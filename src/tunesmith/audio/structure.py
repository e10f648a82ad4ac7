"""Section boundaries: where the music stops resembling what came just before.

Each half-second block gets a harmony vector (chroma) and a timbre vector (cepstrum of log band
energies, MFCC-like). The self-similarity matrix of those blocks is square-ish along its
diagonal inside a section; a checkerboard kernel slid down the diagonal scores how much the
recent past differs from the near future (Foote's novelty), and the strong peaks are boundaries.
"""

from __future__ import annotations

import numpy as np
from scipy.fft import dct
from scipy.signal import find_peaks

from tunesmith.audio.key import CHROMA_FFT, CHROMA_FRAME_SECONDS
from tunesmith.audio.spectrogram import ANALYSIS_RATE, bin_frequencies

FRAMES_PER_BLOCK = 5  # about 0.46 s a block
BLOCK_SECONDS = FRAMES_PER_BLOCK * CHROMA_FRAME_SECONDS
KERNEL_BLOCKS = 14  # half-width of the checkerboard: about 6.5 s of past against 6.5 s of future
BANDS = 24
TIMBRE_COEFFICIENTS = 13
MIN_NOVELTY = 0.12  # peaks below this are the small changes inside a section (a fill, a chord)
RELATIVE_NOVELTY = 0.35  # and below this fraction of the strongest peak


def _band_matrix() -> np.ndarray:
    """(bins, BANDS) averaging matrix over log-spaced bands from 40 Hz to 10 kHz."""
    freqs = bin_frequencies(CHROMA_FFT, ANALYSIS_RATE)
    edges = np.geomspace(40.0, 10000.0, BANDS + 1)
    matrix = np.zeros((freqs.size, BANDS), dtype=np.float32)
    for band in range(BANDS):
        inside = (freqs >= edges[band]) & (freqs < edges[band + 1])
        matrix[inside, band] = 1.0 / max(1, int(inside.sum()))
    return matrix


_BANDS = _band_matrix()


def timbre_features(mag: np.ndarray) -> np.ndarray:
    """MFCC-like timbre per frame, (frames, TIMBRE_COEFFICIENTS), from long-window spectra."""
    energy = np.square(mag) @ _BANDS
    log_energy = np.log10(energy + 1e-10 + 1e-6 * float(energy.max(initial=0.0)))
    return dct(log_energy, type=2, norm="ortho", axis=1)[:, :TIMBRE_COEFFICIENTS]


def _blocks(features: np.ndarray) -> np.ndarray:
    """Average consecutive frames into blocks of FRAMES_PER_BLOCK."""
    count = features.shape[0] // FRAMES_PER_BLOCK
    trimmed = features[: count * FRAMES_PER_BLOCK]
    return trimmed.reshape(count, FRAMES_PER_BLOCK, -1).mean(axis=1)


def _unit_rows(features: np.ndarray) -> np.ndarray:
    """Standardise each feature over time, then scale each block to unit length."""
    z = (features - features.mean(axis=0)) / (features.std(axis=0) + 1e-6)
    norms = np.linalg.norm(z, axis=1, keepdims=True)
    return np.divide(z, norms, out=np.zeros_like(z), where=norms > 0)


def self_similarity(chroma: np.ndarray, timbre: np.ndarray) -> np.ndarray:
    """Cosine similarity of every block with every other, harmony and timbre weighted equally."""
    joined = np.hstack([_unit_rows(_blocks(chroma)), _unit_rows(_blocks(timbre))]) / np.sqrt(2)
    return joined @ joined.T


def _checkerboard(half: int) -> np.ndarray:
    """Gaussian-tapered checkerboard kernel, (2*half, 2*half), absolute values summing to 1."""
    offsets = np.arange(-half, half) + 0.5
    sign = np.sign(offsets)
    taper = np.exp(-0.5 * (offsets / (0.5 * half)) ** 2)
    kernel = np.outer(sign * taper, sign * taper)
    return kernel / np.abs(kernel).sum()


def novelty_curve(similarity: np.ndarray, half: int = KERNEL_BLOCKS) -> np.ndarray:
    """Foote novelty per block: high where the past and future blocks differ."""
    size = similarity.shape[0]
    kernel = _checkerboard(half)
    padded = np.pad(similarity, half, mode="edge")  # edges repeat, so the ends read as steady
    novelty = np.empty(size)
    for i in range(size):
        novelty[i] = float((padded[i : i + 2 * half, i : i + 2 * half] * kernel).sum())
    return novelty


def section_boundaries(chroma: np.ndarray, timbre: np.ndarray) -> list[float]:
    """Times in seconds where a new section starts (the start and end of the track excluded)."""
    if chroma.shape[0] < FRAMES_PER_BLOCK * 8:
        return []  # under four seconds there is nothing to call a section
    similarity = self_similarity(chroma, timbre)
    half = max(2, min(KERNEL_BLOCKS, similarity.shape[0] // 4))
    novelty = novelty_curve(similarity, half)
    floor = max(MIN_NOVELTY, RELATIVE_NOVELTY * float(novelty.max(initial=0.0)))
    peaks, _ = find_peaks(novelty, height=floor, distance=half)
    # The first and last seconds differ from everything (a count-in, a final decay) without
    # being a section, so peaks that close to either end are dropped.
    margin = half // 2
    inner = [int(i) for i in peaks if margin <= i <= similarity.shape[0] - margin]
    return [round(i * BLOCK_SECONDS, 2) for i in inner]  # block i starts at i * BLOCK_SECONDS
