"""Hearing without ears: tempo, key, loudness, brightness and form of a finished track.

Tests, benchmarks and ``tunesmith analyze`` use this to check that what a track sounds like
matches what the composer planned::

    a = analyze_file(Path("track.mp3"))
    assert tempo_matches(a.tempo_bpm, 128) and key_matches(a.key, "A minor")

One mono mix at 22 050 Hz feeds two short-time spectra (short windows for onsets, long ones for
pitch and timbre); loudness and peaks are measured on the original channels and rate.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import scipy.fft

from tunesmith.audio import loudness
from tunesmith.audio.codec import as_channels_first, read_audio
from tunesmith.audio.key import chroma_spectrum, chromagram, estimate_key, key_chroma, key_matches
from tunesmith.audio.spectrogram import mono_for_analysis, render_spectrogram
from tunesmith.audio.structure import section_boundaries, timbre_features
from tunesmith.audio.tempo import estimate_tempo, onset_envelope, tempo_matches

__all__ = [
    "Analysis",
    "analyze",
    "analyze_file",
    "key_matches",
    "summary_lines",
    "tempo_matches",
    "write_spectrogram_png",
]

# Shares of power: sub (felt more than heard), low (bass and kick body), mid (voices, most
# instruments), high (air, cymbals, sibilance).
BANDS_HZ = {"sub": (20.0, 60.0), "low": (60.0, 250.0), "mid": (250.0, 4000.0),
            "high": (4000.0, 20000.0)}


@dataclass(frozen=True)
class Analysis:
    """What a track measures as. Levels of silence are ``-inf`` (``None`` in :meth:`to_dict`)."""

    duration_seconds: float
    sample_rate: int
    channels: int
    tempo_bpm: float
    tempo_confidence: float
    key: str
    key_confidence: float
    integrated_lufs: float
    true_peak_dbtp: float
    sample_peak_dbfs: float
    clipped_samples: int
    section_boundaries: list[float] = field(default_factory=list)
    spectral_centroid_hz: float = 0.0
    band_energy: dict[str, float] = field(default_factory=dict)
    rms_dbfs: float = float("-inf")

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict: floats rounded, infinite levels as ``None``."""
        return {name: _plain(value) for name, value in asdict(self).items()}


def _plain(value: object) -> object:
    if isinstance(value, float):
        return round(value, 3) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _average_power_spectrum(mono: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean power per frequency over Hann-windowed, non-overlapping 4096-sample segments."""
    size = min(4096, mono.size)
    segments = mono[: mono.size // size * size].reshape(-1, size)
    window = np.hanning(size).astype(np.float32)
    power = np.zeros(size // 2 + 1)
    for start in range(0, segments.shape[0], 512):  # bounded memory for long tracks
        spectra = scipy.fft.rfft(segments[start : start + 512] * window, axis=1)
        power += np.square(np.abs(spectra)).sum(axis=0)
    return np.fft.rfftfreq(size, 1.0 / sample_rate), power


def spectral_balance(audio: np.ndarray, sample_rate: int) -> tuple[float, dict[str, float]]:
    """(spectral centroid in Hz, share of power per band) from the long-term average spectrum."""
    mono = as_channels_first(audio).mean(axis=0)
    silent = 0.0, {name: 0.0 for name in BANDS_HZ}
    if mono.size < 256:
        return silent
    freqs, power = _average_power_spectrum(mono, sample_rate)
    audible = float(power[freqs >= 20.0].sum())
    if audible <= 0:
        return silent
    centroid = float((freqs * power).sum() / power.sum())
    shares = {name: float(power[(freqs >= lo) & (freqs < hi)].sum() / audible)
              for name, (lo, hi) in BANDS_HZ.items()}
    return centroid, shares


def analyze(audio: np.ndarray, sample_rate: int = 44100) -> Analysis:
    """Measure float audio shaped (channels, samples) (mono (samples,) is accepted too)."""
    data = as_channels_first(audio)
    if data.size == 0:
        raise ValueError("the audio has no samples: there is nothing to analyse")
    mono = mono_for_analysis(data, sample_rate)
    bpm, tempo_confidence = estimate_tempo(onset_envelope(mono))
    long_spectra = chroma_spectrum(mono)
    chroma = chromagram(long_spectra)
    key, key_confidence = estimate_key(key_chroma(long_spectra))
    centroid, shares = spectral_balance(data, sample_rate)
    return Analysis(
        duration_seconds=data.shape[1] / sample_rate,
        sample_rate=sample_rate,
        channels=data.shape[0],
        tempo_bpm=bpm,
        tempo_confidence=tempo_confidence,
        key=key,
        key_confidence=key_confidence,
        integrated_lufs=loudness.integrated_lufs(data, sample_rate),
        true_peak_dbtp=loudness.true_peak_dbtp(data),
        sample_peak_dbfs=loudness.sample_peak_dbfs(data),
        clipped_samples=loudness.clipped_samples(data),
        section_boundaries=section_boundaries(chroma, timbre_features(long_spectra)),
        spectral_centroid_hz=centroid,
        band_energy=shares,
        rms_dbfs=loudness.rms_dbfs(data),
    )


def analyze_file(path: Path) -> Analysis:
    """Decode ``path`` (MP3 padding trimmed) and :func:`analyze` it."""
    audio, rate = read_audio(Path(path))
    return analyze(audio, rate)


def write_spectrogram_png(audio_or_path: np.ndarray | Path | str, png_path: Path,
                          sample_rate: int = 44100) -> Path:
    """Draw a log-frequency spectrogram with time and frequency axes and section boundaries."""
    if isinstance(audio_or_path, (str, Path)):
        audio, sample_rate = read_audio(Path(audio_or_path))
    else:
        audio = as_channels_first(audio_or_path)
    mono = mono_for_analysis(audio, sample_rate)
    long_spectra = chroma_spectrum(mono)
    boundaries = section_boundaries(chromagram(long_spectra), timbre_features(long_spectra))
    return render_spectrogram(mono, Path(png_path), boundaries)


def _level(value: float, unit: str) -> str:
    return f"{value:.1f} {unit}" if math.isfinite(value) else f"-inf {unit} (silent)"


def _clock(seconds: float) -> str:
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"


def summary_lines(a: Analysis) -> list[str]:
    """Human-readable lines for ``tunesmith analyze``."""
    tempo = f"{a.tempo_bpm:.1f} BPM" if a.tempo_bpm > 0 else "no steady pulse"
    bands = "  ".join(f"{name} {share * 100:.0f}%" for name, share in a.band_energy.items())
    sections = ", ".join(_clock(s) for s in a.section_boundaries) or "none found"
    clipping = f"{a.clipped_samples} clipped samples" if a.clipped_samples else "no clipping"
    return [
        f"Length     {_clock(a.duration_seconds)} ({a.duration_seconds:.2f} s), "
        f"{a.sample_rate} Hz, {a.channels} ch",
        f"Tempo      {tempo} (confidence {a.tempo_confidence:.2f})",
        f"Key        {a.key} (confidence {a.key_confidence:.2f})",
        f"Loudness   {_level(a.integrated_lufs, 'LUFS')} integrated, "
        f"RMS {_level(a.rms_dbfs, 'dBFS')}",
        f"Peaks      true {_level(a.true_peak_dbtp, 'dBTP')}, "
        f"sample {_level(a.sample_peak_dbfs, 'dBFS')}, {clipping}",
        f"Brightness centroid {a.spectral_centroid_hz:.0f} Hz; power {bands}",
        f"Sections   new section at {sections}",
    ]
