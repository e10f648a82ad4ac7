"""Short-time spectra shared by the analysers, and the spectrogram picture.

Analysis runs on a mono mix resampled to 22 050 Hz: everything tempo, key and structure need
lies below 11 kHz, and half the samples halves the cost of every transform.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import scipy.fft
from numpy.lib.stride_tricks import sliding_window_view
from scipy.signal import resample_poly

ANALYSIS_RATE = 22050
PICTURE_FMIN_HZ = 30.0
PICTURE_FMAX_HZ = 11000.0
PICTURE_ROWS = 320
PICTURE_FLOOR_DB = -80.0


def mono_for_analysis(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mix (channels, n) audio to mono float32 at :data:`ANALYSIS_RATE`."""
    mono = np.asarray(audio, dtype=np.float32)
    if mono.ndim == 2:
        mono = mono.mean(axis=0)
    if sample_rate != ANALYSIS_RATE and mono.size:
        g = int(np.gcd(int(sample_rate), ANALYSIS_RATE))
        mono = resample_poly(mono, ANALYSIS_RATE // g, int(sample_rate) // g)
    return np.ascontiguousarray(mono, dtype=np.float32)


def stft_magnitude(signal: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """Magnitude spectra, shape (frames, n_fft // 2 + 1), Hann window, frames centred."""
    padded = np.pad(np.asarray(signal, dtype=np.float32), (n_fft // 2, n_fft // 2))
    if padded.size < n_fft:
        padded = np.pad(padded, (0, n_fft - padded.size))
    frames = sliding_window_view(padded, n_fft)[::hop]
    window = np.hanning(n_fft).astype(np.float32)
    out = np.empty((frames.shape[0], n_fft // 2 + 1), dtype=np.float32)
    # Chunks of about 2 M samples keep the windowed copy small; scipy's FFT stays in float32.
    step = max(1, (1 << 21) // n_fft)
    for start in range(0, frames.shape[0], step):
        chunk = frames[start : start + step] * window
        out[start : start + step] = np.abs(scipy.fft.rfft(chunk, axis=1))
    return out


def bin_frequencies(n_fft: int, sample_rate: int) -> np.ndarray:
    """Centre frequency in Hz of each rfft bin."""
    return np.fft.rfftfreq(n_fft, 1.0 / sample_rate)


def log_frequency_rows(mag: np.ndarray, sample_rate: int, n_fft: int,
                       rows: int = PICTURE_ROWS) -> tuple[np.ndarray, np.ndarray]:
    """Resample spectra (frames, bins) onto log-spaced frequencies: (rows, frames), row_hz."""
    row_hz = np.geomspace(PICTURE_FMIN_HZ, min(PICTURE_FMAX_HZ, sample_rate / 2), rows)
    pos = row_hz * n_fft / sample_rate
    low = np.minimum(np.floor(pos).astype(int), mag.shape[1] - 2)
    frac = (pos - low).astype(np.float32)
    smooth = mag[:, low] * (1.0 - frac) + mag[:, low + 1] * frac
    # High rows span many bins: take the strongest so thin partials are not lost between rows.
    edges = np.searchsorted(bin_frequencies(n_fft, sample_rate), np.sqrt(row_hz[:-1] * row_hz[1:]))
    strongest = np.maximum.reduceat(mag, np.concatenate(([low[0]], edges)), axis=1)[:, :rows]
    wide = np.diff(np.concatenate(([low[0]], edges, [edges[-1] + 1]))) > 1
    return np.where(wide, strongest, smooth).T, row_hz


def render_spectrogram(mono: np.ndarray, png_path: Path, boundaries: list[float]) -> Path:
    """Draw a log-frequency spectrogram of ``mono`` (at ANALYSIS_RATE) to a PNG file."""
    duration = mono.size / ANALYSIS_RATE
    n_fft = 2048
    hop = max(128, int(np.ceil(mono.size / PLOT_WIDTH)))
    rows, row_hz = log_frequency_rows(stft_magnitude(mono, n_fft, hop), ANALYSIS_RATE, n_fft)
    ref = max(float(rows.max()), 1e-9)
    db = 20.0 * np.log10(np.maximum(rows, ref * 1e-6) / ref)
    level = np.clip(1.0 - db / PICTURE_FLOOR_DB, 0.0, 1.0)
    columns = np.minimum((np.arange(PLOT_WIDTH) * level.shape[1]) // PLOT_WIDTH, level.shape[1] - 1)
    image = np.full((MARGIN_TOP + PICTURE_ROWS + MARGIN_BOTTOM,
                     MARGIN_LEFT + PLOT_WIDTH + MARGIN_RIGHT, 3), BACKGROUND, dtype=np.uint8)
    plot = image[MARGIN_TOP : MARGIN_TOP + PICTURE_ROWS, MARGIN_LEFT : MARGIN_LEFT + PLOT_WIDTH]
    plot[:] = _colour(level[::-1, columns])
    _draw_frequency_axis(image, row_hz)
    _draw_time_axis(image, duration)
    for seconds in boundaries:
        _mark_boundary(image, seconds / duration if duration else 0.0)
    png_path.parent.mkdir(parents=True, exist_ok=True)
    png_path.write_bytes(encode_png(image))
    return png_path


# --- drawing ------------------------------------------------------------------------------------

PLOT_WIDTH = 1000
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 52, 16, 12, 30
BACKGROUND = (16, 16, 24)
INK = (220, 220, 220)
BOUNDARY = (80, 230, 255)
# Dark violet through red and orange to pale yellow: loudness reads as brightness in print too.
PALETTE = np.array([(0, 0, 4), (40, 11, 84), (101, 21, 110), (159, 42, 99), (212, 72, 66),
                    (245, 125, 21), (250, 193, 39), (252, 255, 164)], dtype=np.float32)
# 3x5 pixel glyphs, one string of 15 bits per character, read row by row.
GLYPHS = {
    "0": "111101101101111", "1": "010110010010111", "2": "111001111100111",
    "3": "111001111001111", "4": "101101111001001", "5": "111100111001111",
    "6": "111100111101111", "7": "111001010010010", "8": "111101111101111",
    "9": "111101111001111", ":": "000010000010000", "k": "100101110101101",
    "H": "101101111101101", "z": "000111001010111", "s": "000011010001110",
}
GLYPH_SCALE = 2
FREQUENCY_TICKS = (50, 100, 200, 500, 1000, 2000, 5000, 10000)


def _colour(level: np.ndarray) -> np.ndarray:
    """Map levels in 0..1 to RGB through :data:`PALETTE`."""
    pos = level * (len(PALETTE) - 1)
    low = np.minimum(pos.astype(int), len(PALETTE) - 2)
    frac = (pos - low)[..., np.newaxis]
    return (PALETTE[low] * (1 - frac) + PALETTE[low + 1] * frac).astype(np.uint8)


def _draw_text(image: np.ndarray, text: str, x: int, y: int) -> None:
    """Write ``text`` with its top-left corner at (x, y), skipping unknown characters."""
    for char in text:
        bits = GLYPHS.get(char)
        if bits is not None:
            glyph = np.array([b == "1" for b in bits]).reshape(5, 3)
            big = np.kron(glyph, np.ones((GLYPH_SCALE, GLYPH_SCALE), dtype=bool))
            region = image[y : y + big.shape[0], x : x + big.shape[1]]
            region[big[: region.shape[0], : region.shape[1]]] = INK
        x += 4 * GLYPH_SCALE


def _text_width(text: str) -> int:
    return 4 * GLYPH_SCALE * len(text) - GLYPH_SCALE


def _draw_frequency_axis(image: np.ndarray, row_hz: np.ndarray) -> None:
    """Ticks and labels (50, 100, ... 10k) on the left edge, plus the unit."""
    log_lo, log_hi = np.log(row_hz[0]), np.log(row_hz[-1])
    for hz in FREQUENCY_TICKS:
        if not row_hz[0] <= hz <= row_hz[-1]:
            continue
        height = (np.log(hz) - log_lo) / (log_hi - log_lo)
        y = MARGIN_TOP + round((1 - height) * (PICTURE_ROWS - 1))
        image[y, MARGIN_LEFT - 5 : MARGIN_LEFT] = INK
        label = f"{hz // 1000}k" if hz >= 1000 else str(hz)
        _draw_text(image, label, MARGIN_LEFT - 8 - _text_width(label), y - 5)
    _draw_text(image, "Hz", 4, MARGIN_TOP + PICTURE_ROWS + 9)


def _time_step(duration: float) -> int:
    """A tick spacing in seconds giving at most a dozen labels."""
    for step in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600):
        if duration / step <= 12:
            return step
    return 1200


def _draw_time_axis(image: np.ndarray, duration: float) -> None:
    """Ticks labelled m:ss (or 12s under a minute) along the bottom edge."""
    base = MARGIN_TOP + PICTURE_ROWS
    if duration <= 0:
        return
    step = _time_step(duration)
    for seconds in range(0, int(duration) + 1, step):
        x = MARGIN_LEFT + round(seconds / duration * (PLOT_WIDTH - 1))
        image[base : base + 5, x] = INK
        label = f"{seconds // 60}:{seconds % 60:02d}" if duration >= 60 else f"{seconds}s"
        left = min(max(MARGIN_LEFT - 8, x - _text_width(label) // 2),
                   image.shape[1] - _text_width(label) - 2)
        _draw_text(image, label, left, base + 9)


def _mark_boundary(image: np.ndarray, fraction: float) -> None:
    """A dashed vertical line across the plot at ``fraction`` of the duration."""
    x = MARGIN_LEFT + round(min(max(fraction, 0.0), 1.0) * (PLOT_WIDTH - 1))
    for y in range(MARGIN_TOP, MARGIN_TOP + PICTURE_ROWS, 8):
        image[y : y + 5, x] = BOUNDARY


def encode_png(image: np.ndarray) -> bytes:
    """Encode an (height, width, 3) uint8 array as an 8-bit RGB PNG."""
    height, width, _ = image.shape
    filtered = np.zeros((height, width * 3 + 1), dtype=np.uint8)  # filter byte 0 on each row
    filtered[:, 1:] = image.reshape(height, width * 3)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(filtered.tobytes(), 6)) + chunk(b"IEND", b""))
