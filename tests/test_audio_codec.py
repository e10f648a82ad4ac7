"""MP3 out and back: exact lengths, sample alignment and a valid LAME header, serial or parallel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tunesmith.audio.codec import _crc16, duration_seconds, read_audio, write_mp3

SR = 44100


def _music(seconds: float, seed: int = 0) -> np.ndarray:
    """A chord with a tremolo and clicks: tonal enough for MP3, with edges to align on."""
    n = round(seconds * SR)
    t = np.arange(n) / SR
    tone = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6, 440.0)) * 0.12
    tone *= 0.7 + 0.3 * np.sin(2 * np.pi * 3.0 * t)
    clicks = np.zeros(n)
    clicks[np.random.default_rng(seed).integers(0, n, size=max(1, n // SR * 4))] = 0.5
    return np.stack([tone + clicks, tone * 0.8 - clicks]).astype(np.float32)


def _frame_kbps(path: Path) -> set[int]:
    """The bitrates of every frame, from their MPEG-1 Layer III headers."""
    table = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0]
    data, at, rates = path.read_bytes(), 0, set()
    while at + 4 <= len(data) and data[at] == 0xFF:
        kbps = table[data[at + 2] >> 4]
        rates.add(kbps)
        at += 144 * kbps * 1000 // SR + ((data[at + 2] >> 1) & 1)
    assert at == len(data), "the file is not a clean run of MP3 frames"
    return rates


def _lame_header(path: Path) -> tuple[int, int, bool]:
    """(encoder delay, end padding, CRC valid) from the first frame's LAME header."""
    data = path.read_bytes()
    info = data.find(b"Info")
    start, lame = data.rfind(b"\xff", 0, info), data.find(b"LAME", info)
    b = data[lame + 21 : lame + 24]
    crc_ok = _crc16(data[start : start + 190]) == int.from_bytes(data[start + 190 : start + 192],
                                                                 "big")
    return (b[0] << 4) | (b[1] >> 4), ((b[1] & 0x0F) << 8) | b[2], crc_ok


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("seconds", [0.05, 1.0, 7.3, 61.0])
def test_an_mp3_is_exactly_as_long_as_its_audio_and_decodes_in_place(
        tmp_path: Path, threads: int, seconds: float) -> None:
    audio = _music(seconds)
    path = write_mp3(tmp_path / "t.mp3", audio, threads=threads)
    assert duration_seconds(path) == pytest.approx(audio.shape[1] / SR, abs=1e-9)
    assert _frame_kbps(path) == {192}
    _, _, crc_ok = _lame_header(path)
    assert crc_ok, "the LAME header's CRC no longer matches it"
    decoded, rate = read_audio(path)
    assert rate == SR and decoded.shape == audio.shape
    error = np.sqrt(np.mean((decoded - audio) ** 2))
    shifted = np.sqrt(np.mean((decoded[:, 44:] - audio[:, :-44]) ** 2))  # 1 ms late
    assert error < 0.1 * np.sqrt(np.mean(audio**2)), "decoded audio is not the source"
    assert error < 0.5 * shifted, "decoded audio is not aligned with the source"


def test_the_parallel_encoder_sounds_like_the_serial_one_even_where_it_splices(
        tmp_path: Path) -> None:
    audio = _music(40.0, seed=3)
    errors = {}
    for threads in (1, 2):
        decoded, _ = read_audio(write_mp3(tmp_path / f"{threads}.mp3", audio, threads=threads))
        errors[threads] = decoded - audio
    signal = float(np.mean(audio**2))
    snr = {k: 10 * np.log10(signal / float(np.mean(e**2))) for k, e in errors.items()}
    assert snr[2] > snr[1] - 1.0, snr
    # The two halves meet near the middle: no 50 ms stretch there is worse than the worst
    # stretch of the serial encode.
    def worst(e: np.ndarray, lo: int, hi: int) -> float:
        w = 2205
        blocks = e[:, lo : lo + (hi - lo) // w * w].reshape(2, -1, w)
        return float(np.sqrt(np.mean(blocks**2, axis=(0, 2))).max())
    mid = audio.shape[1] // 2
    assert worst(errors[2], mid - SR, mid + SR) <= 1.5 * worst(errors[1], 0, audio.shape[1])


def test_the_parallel_stream_records_no_delay_and_its_padding(tmp_path: Path) -> None:
    audio = _music(10.0)
    delay, padding, _ = _lame_header(write_mp3(tmp_path / "p.mp3", audio, threads=2))
    frames_length = -(-(audio.shape[1] + 529) // 1152) * 1152
    assert (delay, padding) == (0, frames_length - audio.shape[1])
