"""Synthesised voices with numpy: band-limited oscillators, a 24 dB low-pass, envelopes.

A note is its tone (:func:`note_tone`: oscillators, filter, drive) under its envelope
(:func:`shape_note`), a float32 array shaped (channels, samples) with the release tail;
:mod:`render` renders one tone per pitch, velocity and glide and shapes each quantised length
from it, so a song pays for each distinct tone once. Saw and pulse waves use polyBLEP, which removes
most of the aliasing a naive ramp folds back into the audible band at a fraction of the cost
of oversampling. The filter is a pair of biquads whose coefficients change in steps of 1/16
octave: a sweep costs one ``sosfilt`` call per step, not per sample.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy.signal import sosfilt

try:  # the loop behind scipy's sosfilt, without its ~30 us of checks per call
    from scipy.signal._sosfilt import _sosfilt as _sosfilt_loop
except ImportError:  # pragma: no cover - a scipy that moved it: the public call does the same
    _sosfilt_loop = None

from tunesmith.audio.stereo import spread_gains
from tunesmith.engines.composer.library.instruments import SynthPatch
from tunesmith.engines.composer.score import SAMPLE_RATE

SR = SAMPLE_RATE
TWO_PI = 2.0 * np.pi
_STEPS_PER_OCTAVE = 16  # cutoff resolution of filter sweeps (3/4 of a semitone)
_BLOCK = 64  # samples between cutoff updates
_EDGE = 96  # samples of fade at the end of every note (no clicks)


# ---- oscillators -------------------------------------------------------------------------


def _blep(t: np.ndarray, dt: np.ndarray | float, out: np.ndarray, sign: float) -> None:
    """Add ``sign`` x the polyBLEP residual of a unit step at phase 0 to ``out``, in place.

    Only samples within one step of the discontinuity are touched (a few per cycle).
    """
    dts = np.broadcast_to(np.asarray(dt, dtype=np.float32), t.shape)
    near = np.flatnonzero(t < dts)
    x = t[near] / dts[near]
    out[near] += sign * (x + x - x * x - 1.0)
    near = np.flatnonzero(t > 1.0 - dts)
    y = (t[near] - 1.0) / dts[near]
    out[near] += sign * (y * y + y + y + 1.0)


def _fraction(x: np.ndarray) -> np.ndarray:
    """``x mod 1`` for phases: x - floor(x) is exact for x >= 0 and 7x cheaper than np.mod."""
    return x - np.floor(x)


def wave(kind: str, phase: np.ndarray, dt: np.ndarray | float, width: float = 0.5) -> np.ndarray:
    """One oscillator from its running phase (cycles): saw, square, pulse, triangle, sine."""
    t = _fraction(phase).astype(np.float32)
    if kind in ("saw", "supersaw"):
        out = 2.0 * t - 1.0
        _blep(t, dt, out, -1.0)
        return out
    if kind in ("square", "pulse"):
        pw = 0.5 if kind == "square" else width
        out = np.where(t < pw, np.float32(1.0), np.float32(-1.0))
        _blep(t, dt, out, 1.0)
        _blep(_fraction(t - np.float32(pw) + np.float32(1.0)), dt, out, -1.0)
        return out
    if kind == "triangle":
        return 4.0 * np.abs(t - np.float32(0.5)) - np.float32(1.0)
    return np.sin(np.float32(TWO_PI) * t)


def _frequency(patch: SynthPatch, pitch: int, n: int, glide_from: int | None) -> np.ndarray | float:
    """Frequency in Hz per sample (or a constant) with pitch drop, slide and vibrato."""
    base = 440.0 * 2.0 ** ((pitch + 12 * patch.octave - 69) / 12.0)
    t = np.arange(n) / SR
    semis = np.zeros(n)
    moving = False
    if patch.pitch_drop_semitones:
        semis += patch.pitch_drop_semitones * np.exp(-t / patch.pitch_drop_time)
        moving = True
    if glide_from is not None and patch.slide_time > 0 and glide_from != pitch:
        semis += (glide_from - pitch) * np.exp(-t / (patch.slide_time / 3.0))
        moving = True
    if patch.vibrato_cents:
        ramp = np.clip((t - patch.vibrato_delay) / 0.3, 0.0, 1.0)
        semis += ramp * patch.vibrato_cents / 100.0 * np.sin(TWO_PI * patch.vibrato_hz * t)
        moving = True
    return base * 2.0 ** (semis / 12.0) if moving else base


def _unison(
    patch: SynthPatch, cycles: np.ndarray, freq: np.ndarray | float, rng: np.random.Generator
) -> np.ndarray:
    """Detuned unison voices, spread in stereo when the patch asks: (1 or 2, n)."""
    count = max(1, patch.voices)
    spread = np.linspace(-1.0, 1.0, count) if count > 1 else np.zeros(1)
    ratios = 2.0 ** (spread * np.abs(spread) ** 0.3 * patch.detune_cents / 1200.0)
    stereo = patch.stereo_spread > 0 and count > 1
    out = np.zeros((2 if stereo else 1, cycles.size), dtype=np.float32)
    # The centre voice carries the pitch; the side voices are quieter so detune reads as width.
    levels = np.where(np.abs(spread) < 1e-9, 1.0, 0.75) / np.sqrt(count)
    for i in range(count):
        phase = cycles * ratios[i] + (rng.random() if count > 1 else 0.0)
        voice = wave(patch.wave, phase, freq * ratios[i] / SR, patch.pulse_width)
        voice = (voice * levels[i]).astype(np.float32)
        if stereo:
            pan = spread[i] * patch.stereo_spread * (1 if i % 2 else -1)
            left, right = spread_gains(pan)
            out[0] += voice * np.float32(left)
            out[1] += voice * np.float32(right)
        else:
            out[0] += voice
    return out


def _fm(patch: SynthPatch, cycles: np.ndarray, velocity: int) -> np.ndarray:
    """Two-operator FM with a decaying index (keys, bells) plus an optional tine."""
    t = np.arange(cycles.size) / SR
    brightness = 0.5 + velocity / 127.0
    index = patch.fm_index * brightness * np.exp(-t / patch.fm_decay)
    mod = index * np.sin(TWO_PI * cycles * patch.fm_ratio)
    if patch.fm_tine_ratio:
        mod += 0.9 * brightness * np.exp(-t / 0.04) * np.sin(TWO_PI * cycles * patch.fm_tine_ratio)
    return np.sin(TWO_PI * cycles + mod).astype(np.float32)[np.newaxis, :]


def _oscillators(
    patch: SynthPatch, freq: np.ndarray | float, n: int, velocity: int, rng: np.random.Generator
) -> np.ndarray:
    """All oscillators of a patch summed: (channels, n) float32."""
    # A constant pitch needs no running sum (and keeps full phase precision).
    cycles = np.cumsum(freq) / SR if isinstance(freq, np.ndarray) else np.arange(n) * (freq / SR)
    if patch.wave == "fm":
        return _fm(patch, cycles, velocity)
    out = _unison(patch, cycles, freq, rng)
    if patch.mix_wave and patch.mix_level:
        ratio = 2.0**patch.mix_octave
        extra = wave(patch.mix_wave, cycles * ratio + 0.25, freq * ratio / SR, patch.pulse_width)
        out += (patch.mix_level * extra).astype(np.float32)
    if patch.bit_depth:
        steps = 2 ** (patch.bit_depth - 1)
        out = np.round(out * steps) / steps
    if patch.sub_level:
        out += (patch.sub_level * np.sin(TWO_PI * cycles * 0.5)).astype(np.float32)
    return out


# ---- filter ------------------------------------------------------------------------------


def lowpass_sos(cutoff_hz: float, q: float) -> np.ndarray:
    """One RBJ low-pass biquad as a second-order section."""
    w0 = TWO_PI * min(cutoff_hz, 0.45 * SR) / SR
    alpha = np.sin(w0) / (2.0 * q)
    cos = np.cos(w0)
    b = np.array([(1 - cos) / 2, 1 - cos, (1 - cos) / 2])
    a = np.array([1 + alpha, -2 * cos, 1 - alpha])
    return np.concatenate([b / a[0], a / a[0]])


def _ladder(cutoff_hz: float, resonance: float) -> np.ndarray:
    """24 dB/oct: a flat section and a resonant one."""
    return np.stack(
        [lowpass_sos(cutoff_hz, 0.54), lowpass_sos(cutoff_hz, 0.71 + 9.0 * resonance**2)]
    )


@functools.lru_cache(maxsize=4096)
def _ladder_step(step: int, resonance: float) -> np.ndarray:
    """The ladder at a cutoff of ``step`` sixteenths of an octave above 1 Hz (shared: never
    written to, though scipy's loop wants a writable array)."""
    return _ladder(2.0 ** (step / _STEPS_PER_OCTAVE), resonance)


def _filter_block(sos: np.ndarray, x: np.ndarray, state: np.ndarray) -> np.ndarray:
    """``x`` (channels, n) through ``sos`` in float64, carrying ``state`` (channels, 2, 2)."""
    if _sosfilt_loop is None:
        y, zf = sosfilt(sos, x, axis=-1, zi=state.transpose(1, 0, 2))
        state[...] = zf.transpose(1, 0, 2)
        return y
    y = np.array(x, dtype=np.float64)
    _sosfilt_loop(sos, y, state)
    return y


def sweep_lowpass(x: np.ndarray, cutoff: np.ndarray | float, resonance: float) -> np.ndarray:
    """Low-pass ``x`` (channels, n) with a cutoff that may change per sample."""
    if np.isscalar(cutoff):
        return sosfilt(_ladder(float(cutoff), resonance), x, axis=-1).astype(np.float32)  # type: ignore[arg-type]
    cut = np.asarray(cutoff)[::_BLOCK]
    steps = np.round(np.log2(np.clip(cut, 20.0, 0.45 * SR)) * _STEPS_PER_OCTAVE)
    edges = np.flatnonzero(np.diff(steps)) + 1
    starts = np.concatenate([[0], edges]) * _BLOCK
    ends = np.concatenate([edges * _BLOCK, [x.shape[-1]]])
    out = np.empty_like(x, dtype=np.float32)
    state = np.zeros((x.shape[0], 2, 2))
    for s, e in zip(starts, ends, strict=True):
        out[:, s:e] = _filter_block(_ladder_step(int(steps[s // _BLOCK]), resonance), x[:, s:e],
                                    state)
    return out


def _cutoff(patch: SynthPatch, pitch: int, velocity: int, n: int, bpm: float) -> np.ndarray | float:
    """The filter cutoff in Hz: key tracking, velocity, envelope and LFO."""
    octaves = (
        patch.key_track * (pitch - 60) / 12.0 + patch.velocity_to_cutoff * (velocity - 100) / 127.0
    )
    base = patch.cutoff_hz * 2.0**octaves
    if not (patch.filter_env_octaves or patch.lfo_octaves):
        return base
    t = np.arange(n) / SR
    mod = (
        patch.filter_env_octaves * (0.6 + 0.4 * velocity / 127.0) * np.exp(-t / patch.filter_decay)
    )
    if patch.lfo_beats:
        rate = bpm / 60.0 / patch.lfo_beats
        mod = mod + patch.lfo_octaves * 0.5 * (1.0 - np.cos(TWO_PI * rate * t))  # opens from shut
    elif patch.lfo_hz:
        mod = mod + patch.lfo_octaves * np.sin(TWO_PI * patch.lfo_hz * t)
    return base * 2.0**mod


# ---- envelope and the whole note ---------------------------------------------------------


def envelope(
    attack: float, decay: float, sustain: float, release: float, n_on: int, n: int
) -> np.ndarray:
    """ADSR with exponential decay and release; ends at exactly zero."""
    t = np.arange(n, dtype=np.float64) / SR
    attack = max(attack, 0.0015)
    rise = np.clip(t / attack, 0.0, 1.0)
    level = sustain + (1.0 - sustain) * np.exp(
        -np.maximum(t - attack, 0.0) / max(decay / 4.0, 1e-3)
    )
    env = rise * level
    off = min(n_on, n - 1)
    tail = env[off] * np.exp(-(t[off:] - t[off]) / max(release / 4.6, 1e-3))
    env[off:] = tail
    edge = min(_EDGE, n)
    env[n - edge :] *= np.linspace(1.0, 0.0, edge)
    return env.astype(np.float32)


def note_length(patch: SynthPatch, duration: float) -> tuple[int, int]:
    """Samples while held and in all (with the release tail)."""
    n_on = max(round(duration * SR), 32)
    return n_on, n_on + int(patch.release * 1.25 * SR) + _EDGE


def note_tone(
    patch: SynthPatch,
    pitch: int,
    n: int,
    velocity: int,
    *,
    bpm: float = 120.0,
    glide_from: int | None = None,
    seed: int = 0,
) -> np.ndarray:
    """A note's first ``n`` samples before its envelope: oscillators, filter and drive.

    Everything here runs forward in time and nothing depends on when the note is let go,
    so a shorter note's tone is exactly the start of a longer one's: one tone serves every
    length of the same pitch and velocity (see :func:`shape_note`).
    """
    rng = np.random.default_rng([seed, pitch, velocity])
    freq = _frequency(patch, pitch, n, glide_from)
    audio = _oscillators(patch, freq, n, velocity, rng)
    if patch.wave != "fm":
        audio = sweep_lowpass(audio, _cutoff(patch, pitch, velocity, n, bpm), patch.resonance)
    if patch.drive:
        gain = 1.0 + 4.0 * patch.drive
        audio = np.tanh(audio * gain) / np.tanh(gain)
    return audio


def shape_note(patch: SynthPatch, tone: np.ndarray, duration: float, velocity: int) -> np.ndarray:
    """The note held for ``duration``: its tone (at least as long) under the envelope."""
    n_on, n = note_length(patch, duration)
    env = envelope(patch.attack, patch.decay, patch.sustain, patch.release, n_on, n)
    loud = (velocity / 127.0) ** 1.2
    return (tone[:, :n] * env * np.float32(0.5 * loud)).astype(np.float32)


# ---- production effects: risers, impacts, downlifters ------------------------------------


def _noise(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.standard_normal((2, n)).astype(np.float32) * np.float32(0.3)


def riser(seconds: float, amount: float, seed: int) -> np.ndarray:
    """White noise through an opening filter plus a rising saw: stereo (2, n)."""
    n = max(int(seconds * SR), 64)
    t = np.arange(n) / SR
    frac = t / max(seconds, 1e-3)
    cut = 300.0 * 2.0 ** (5.0 * frac)
    noise = sweep_lowpass(_noise(np.random.default_rng([seed, 11]), n), cut, 0.35)
    cycles = np.cumsum(110.0 * 2.0 ** (2.0 * frac)) / SR
    tone = wave("saw", cycles, 110.0 * 2.0 ** (2.0 * frac) / SR)
    tone = sweep_lowpass(tone[np.newaxis, :].astype(np.float32), cut, 0.2)
    out = noise + 0.25 * tone
    out *= (frac**2 * amount).astype(np.float32)
    return _fade_edges(out)


def downlifter(seconds: float, amount: float, seed: int) -> np.ndarray:
    """Noise through a closing filter with a falling tone: stereo (2, n)."""
    n = max(int(seconds * SR), 64)
    frac = np.arange(n) / n
    cut = 9000.0 * 2.0 ** (-5.5 * frac)
    noise = sweep_lowpass(_noise(np.random.default_rng([seed, 12]), n), cut, 0.2)
    tone = np.sin(TWO_PI * np.cumsum(880.0 * 2.0 ** (-3.0 * frac)) / SR).astype(np.float32)
    out = noise + 0.15 * tone
    out *= ((1.0 - frac) ** 2 * amount).astype(np.float32)
    return _fade_edges(out)


def impact(seconds: float, amount: float, seed: int) -> np.ndarray:
    """A sub drop with a noise burst, for the downbeat of a drop: stereo (2, n)."""
    n = max(int(max(seconds, 1.5) * SR), 64)
    t = np.arange(n) / SR
    freq = 32.0 + 38.0 * np.exp(-t / 0.12)
    boom = np.sin(TWO_PI * np.cumsum(freq) / SR) * np.exp(-t / 0.6)
    burst = sweep_lowpass(_noise(np.random.default_rng([seed, 13]), n), 2500.0, 0.0)
    burst *= np.exp(-t / 0.09).astype(np.float32) * np.float32(2.0)
    out = (0.9 * boom).astype(np.float32) + burst
    return _fade_edges(out * np.float32(amount))


def _fade_edges(x: np.ndarray) -> np.ndarray:
    """Short fades at both ends so a gesture never clicks in or out."""
    edge = min(_EDGE * 2, x.shape[-1] // 2)
    ramp = np.linspace(0.0, 1.0, edge, dtype=np.float32)
    x = np.array(x, dtype=np.float32)
    x[..., :edge] *= ramp
    x[..., x.shape[-1] - edge :] *= ramp[::-1]
    return x
