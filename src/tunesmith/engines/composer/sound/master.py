"""Mastering: glue compression, saturation, loudness, true-peak limiting.

The chain lands on ``Production.target_lufs`` (integrated, ITU-R BS.1770) with true peaks at
or under ``Production.true_peak_db`` *after MP3 encoding*: the float master keeps a codec
margin below the ceiling and a little loudness above the target, because LAME's overshoot
and low-pass move both (measured on every style at 192 kbps). Loudness and true peak are
measured by :mod:`tunesmith.audio.loudness`, the meter the analyser reads tracks with too;
the limiter is pedalboard's ``BrickwallLimiter``, and the inter-sample overs it leaves are
found by interpolating only around the loudest samples. The top of the spectrum is rolled
off first (the encoder drops most of it anyway), since content near Nyquist makes the
largest overs; when the overs are still large the pass is redone under a lower ceiling.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from pedalboard import BrickwallLimiter, Gain, Pedalboard
from scipy.ndimage import minimum_filter1d
from scipy.signal import butter, sosfilt

from tunesmith.audio.loudness import integrated_loudness, peak_magnitude, true_peak
from tunesmith.engines.composer.score import SAMPLE_RATE, Production

SR = SAMPLE_RATE
_LIMIT_MARGIN_DB = 0.6  # sample-peak ceiling below the true-peak target
_FADE_OUT_S = 0.12
_FADE_IN_S = 0.003
_STAT_BLOCK = 441
_RELEASE_MS = 80.0
_PUSH = 1.6  # times the loudness miss asked of a limiter that already works
_FAST_RELEASE_MS = 40.0  # for loud targets: a slow release pumps away more than gain adds
_LOUD_SATURATION = 0.3  # knee 5.7 dB under the limiter's ceiling
_RELEASE_BLOCKS = 9  # the limiter's 80 ms release, in 10 ms blocks
_TOLERANCE_LU = 0.3
_TP_SAFETY_DB = 0.15  # the meter's 32-tap estimate vs. a long polyphase reference filter
_BUS_SATURATION = 0.3  # typical loudness a soft clip and a limiter take off
_CODEC_PEAK_DB = 1.0  # LAME at 192 kbps raised true peaks by up to 0.85 dB over the float master
_CODEC_CLICK_DB = 0.8  # and by up to 1.15 dB where the loudest peaks were clicks
_CODEC_LOSS_LU = 0.25  # and its low-pass took 0.25-0.45 LU of K-weighted air
_OVERSHOOT_DB = 0.3  # inter-sample overs above this redo the limiting under a lower ceiling
_AIR_LOWPASS_HZ = 17000.0  # LAME at 192 kbps keeps little above ~18 kHz anyway
_CHUNK = 1 << 16  # samples (or interpolation windows) per block of the streaming passes
_LIMIT_PREROLL = 3 * SR  # what the limiter hears before its half: its memory, mostly
_LIMIT_FADE = SR // 10  # the halves cross-fade over 100 ms


def codec_margin_db(audio: np.ndarray) -> float:
    """Headroom the MP3 encoder needs above the float master's true peak.

    LAME quantises high-frequency transients coarsely, so where the loudest peaks are clicks
    (rim shots, shakers: a sample-to-sample jump as large as the peak itself; a bass note's
    is a few percent of it) the decoded peak lands higher: measured up to 1.15 dB on clicky
    mixes, 0.85 dB (a bass-heavy reggae peak) elsewhere, over 100+ renders of every style.
    """
    peak = max(peak_magnitude(audio), 1e-9)
    jump = 0.0
    for channel in audio:
        for start in range(0, channel.size - 1, _CHUNK):
            step = np.diff(channel[start : start + _CHUNK + 1])
            jump = max(jump, peak_magnitude(step))
    clicks = float(np.clip((20 * np.log10(max(jump, 1e-9) / peak) + 1.0) / 2.0, 0.0, 1.0))
    return _CODEC_PEAK_DB + _CODEC_CLICK_DB * clicks


# ---- dynamics and colour -----------------------------------------------------------------


def _block_env(audio: np.ndarray, block: int) -> np.ndarray:
    """RMS of the louder channel per block."""
    count = audio.shape[-1] // block
    frames = audio[:, : count * block].reshape(audio.shape[0], count, block)
    step = max(_CHUNK // block, 1)
    mean = np.empty(frames.shape[:2], dtype=np.result_type(audio.dtype, np.float32))
    for start in range(0, count, step):
        mean[:, start : start + step] = np.mean(np.square(frames[:, start : start + step]), axis=-1)
    return np.sqrt(mean).max(axis=0) + 1e-9


def glue_compress(audio: np.ndarray, amount: float) -> np.ndarray:
    """A gentle bus compressor at control rate: 10 ms blocks, 10 ms attack, 150 ms release.

    Float32 ``audio`` is compressed in place (and returned).
    """
    if amount <= 0.01 or audio.shape[-1] < 4410:
        return audio
    block = 441
    level = 20 * np.log10(_block_env(audio, block))
    active = level[level > level.max() - 40]
    threshold = float(np.percentile(active, 60)) if active.size else -20.0
    ratio = 1.0 + 3.0 * amount
    wanted = -np.maximum(level - threshold, 0.0) * (1.0 - 1.0 / ratio)
    smooth = _attack_release(wanted, attack=0.63, release=0.065)
    gain = _ramp_gain(10 ** (smooth / 20), block, audio.shape[-1])
    out = audio if audio.dtype == np.float32 else np.empty(audio.shape, dtype=np.float32)
    for start in range(0, audio.shape[-1], _CHUNK):
        part = slice(start, start + _CHUNK)
        np.multiply(audio[:, part], gain[part], out=out[:, part])
    return out


def _ramp_gain(per_block: np.ndarray, block: int, n: int) -> np.ndarray:
    """Block gains to a per-sample gain with linear ramps between blocks (no zipper)."""
    g = per_block.astype(np.float32)
    nxt = np.append(g[1:], g[-1])
    ramp = np.arange(block, dtype=np.float32) / np.float32(block)
    gain = np.empty(n, dtype=np.float32)
    ramps = gain[: g.size * block].reshape(g.size, block)
    np.multiply((nxt - g)[:, None], ramp[None, :], out=ramps)
    ramps += g[:, None]
    gain[g.size * block :] = g[-1]
    return gain


def _attack_release(target: np.ndarray, attack: float, release: float) -> np.ndarray:
    """One-pole smoothing that falls fast (gain reduction) and recovers slowly."""
    out = np.empty_like(target)
    state = 0.0
    for i, value in enumerate(target.tolist()):
        coeff = attack if value < state else release
        state += coeff * (value - state)
        out[i] = state
    return out


def saturate(audio: np.ndarray, amount: float) -> np.ndarray:
    """Soft-clip the peaks above a knee that drops as ``amount`` rises, in place.

    Only samples above the knee are touched (a few percent), so this costs one comparison
    pass; the curve is continuous in level and slope at the knee, so it adds no edge.
    """
    if amount <= 0.01:
        return audio
    knee = np.float32(10 ** ((-3.0 - 9.0 * amount) / 20))
    room = np.float32(1.0) - knee
    flat = audio.reshape(-1)
    hot = np.flatnonzero(np.abs(flat) > knee)
    over = (np.abs(flat[hot]) - knee) / room
    flat[hot] = np.sign(flat[hot]) * (knee + room * np.tanh(over))
    return audio


_AIR_SOS = butter(4, _AIR_LOWPASS_HZ, fs=SR, output="sos").astype(np.float32)


def band_limit(audio: np.ndarray, in_place: bool = False) -> np.ndarray:
    """Take off the top octave's last few kHz before limiting.

    Clicks with energy close to Nyquist (rim shots, shakers, aliasing) peak between samples
    up to 3 dB above their samples, where a sample-peak limiter cannot see them; without that
    energy the limited true peak stays within ~0.5 dB of the sample ceiling.
    Filtered in float32 blocks with the filter state carried over (the same samples as one
    pass), each channel on its own core, into ``audio`` itself when ``in_place``.
    """
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        return band_limit(audio[np.newaxis], in_place)[0]
    out = audio if in_place else np.empty_like(audio)

    def channel(index: int) -> None:
        state = np.zeros((_AIR_SOS.shape[0], 2), dtype=np.float32)
        source, target = audio[index], out[index]
        for start in range(0, source.size, _CHUNK):
            part = slice(start, start + _CHUNK)
            target[part], state = sosfilt(_AIR_SOS, source[part], zi=state)

    with ThreadPoolExecutor(2, thread_name_prefix="air") as pool:
        list(pool.map(channel, range(audio.shape[0])))
    return out


def _fades(audio: np.ndarray) -> np.ndarray:
    fade_in = min(int(_FADE_IN_S * SR), audio.shape[-1] // 4)
    fade_out = min(int(_FADE_OUT_S * SR), audio.shape[-1] // 4)
    audio[:, :fade_in] *= np.linspace(0.0, 1.0, fade_in, dtype=np.float32)
    audio[:, audio.shape[-1] - fade_out :] *= np.cos(np.linspace(0, np.pi / 2, fade_out)).astype(
        np.float32
    )
    return audio


# ---- the chain ---------------------------------------------------------------------------


def _gain_to(audio: np.ndarray, target: float) -> float:
    level = integrated_loudness(audio)
    return 1.0 if not np.isfinite(level) else 10 ** ((target - level) / 20)


def _limit(audio: np.ndarray, gain: float, ceiling_db: float,
           release_ms: float = _RELEASE_MS) -> np.ndarray:
    """``audio`` times ``gain`` through the brickwall limiter, each half on its own core.

    The second half starts ``_LIMIT_PREROLL`` early so its limiter has heard what came
    before; the first runs on past the middle, and the two cross-fade there. Both are the
    same music under different gains, so the fade stays under the ceiling; where the
    limiter works hardest its memory outlasts the pre-roll and the fade smooths the small
    difference in gain that is left.
    """
    n = audio.shape[-1]
    half = n // 2

    gain_db = 20 * np.log10(max(gain, 1e-9))

    def limited(start: int, stop: int) -> np.ndarray:
        # The gain inside the board: pedalboard copies its input anyway, so no third copy.
        board = Pedalboard([Gain(gain_db), BrickwallLimiter(
            ceiling_db=ceiling_db, release_ms=release_ms, lookahead_ms=3.0)])
        return board(audio[:, start:stop], SR)

    if n < 2 * (_LIMIT_PREROLL + _LIMIT_FADE):
        return limited(0, n).astype(np.float32, copy=False)
    out = np.empty(audio.shape, dtype=np.float32)
    with ThreadPoolExecutor(2, thread_name_prefix="limit") as pool:
        first = pool.submit(limited, 0, half + _LIMIT_FADE)
        second = pool.submit(limited, half - _LIMIT_PREROLL, n)
        head = first.result()
        out[:, :half] = head[:, :half]
        overlap = head[:, half:].copy()
        del head, first  # the future holds its result too
        out[:, half:] = second.result()[:, _LIMIT_PREROLL:]
        del second
    fade = np.linspace(0.0, 1.0, _LIMIT_FADE, dtype=np.float32)
    joint = out[:, half : half + _LIMIT_FADE]
    joint *= fade
    overlap *= np.float32(1.0) - fade
    joint += overlap
    return out


def _limiter_loss_db(stats: tuple[np.ndarray, np.ndarray], gain: float, ceiling_db: float) -> float:
    """Predict how much loudness the limiter will take at ``gain`` (dB, <= 0).

    Block peaks over 10 ms show where the limiter must pull down; a minimum over the
    release time spreads each pull like the limiter's hold and release do.
    """
    peaks, powers = stats
    ceiling = 10 ** (ceiling_db / 20)
    reduction = np.minimum(1.0, ceiling / np.maximum(peaks * gain, 1e-9))
    reduction = minimum_filter1d(reduction, size=_RELEASE_BLOCKS, origin=-(_RELEASE_BLOCKS // 2))
    kept = float(np.sum(powers * reduction**2)) / max(float(np.sum(powers)), 1e-20)
    return 10 * np.log10(max(kept, 1e-6))


def _block_stats(audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per 10 ms block: the peak over both channels and the mean square."""
    count = audio.shape[-1] // _STAT_BLOCK
    frames = audio[:, : count * _STAT_BLOCK].reshape(audio.shape[0], count, _STAT_BLOCK)
    peaks = np.maximum(frames.max(axis=(0, 2)), -frames.min(axis=(0, 2)))
    powers = np.einsum("cbs,cbs->b", frames, frames)
    return peaks.astype(np.float64), powers.astype(np.float64)


def _gain_for_target(audio: np.ndarray, target: float, ceiling_db: float) -> float:
    """Gain that should land at ``target`` LUFS after limiting, by predicting the loss."""
    level = integrated_loudness(audio)
    if not np.isfinite(level):
        return 1.0
    gain_db = target - level
    stats = _block_stats(audio)
    for _ in range(3):
        loss = _limiter_loss_db(stats, 10 ** (gain_db / 20), ceiling_db)
        gain_db = target - level - loss
    return 10 ** (gain_db / 20)


def loudness_and_peak(audio: np.ndarray, target: float, ceiling_db: float) -> np.ndarray:
    """Reach ``target`` LUFS under a ``ceiling_db`` true peak, usually in one limiter pass.

    The limiter sees sample peaks only. Where the loudest peaks are clicks, their peaks
    between samples stay up to 1.5 dB over its ceiling; then the pass is redone with the
    ceiling lowered by that much (a second plain pass costs a fifth of the limiter's
    oversampled mode). A shortfall is made up with plain gain as far as the true-peak
    headroom allows; past that, :func:`_clip_into_limiter` takes over.
    """
    sample_ceiling = ceiling_db - _LIMIT_MARGIN_DB
    gain = _gain_for_target(audio, target, sample_ceiling)
    out = _limit(audio, gain, sample_ceiling)
    ceiling = 10 ** ((ceiling_db - _TP_SAFETY_DB) / 20)
    floor = 10 ** ((sample_ceiling - 3.0) / 20)
    peak = true_peak(out, floor)
    over_db = 20 * np.log10(max(peak, 1e-9) / ceiling)
    if over_db > _OVERSHOOT_DB:
        sample_ceiling -= over_db
        gain = _gain_for_target(audio, target, sample_ceiling)
        out = _limit(audio, gain, sample_ceiling)
        peak = true_peak(out, floor)
    miss = target - integrated_loudness(out)
    if not np.isfinite(miss):
        return out
    headroom = 20 * np.log10(ceiling / max(peak, 1e-9))
    if miss > headroom + _TOLERANCE_LU:
        out, peak, miss = _clip_into_limiter(audio, gain, (target, sample_ceiling, ceiling),
                                             (out, peak, miss))
    trim = 10 ** (min(miss, 20 * np.log10(ceiling / max(peak, 1e-9))) / 20)
    out *= np.float32(trim)  # a plain gain scales the true peak with it
    return out


def _clip_into_limiter(audio: np.ndarray, gain: float, levels: tuple[float, float, float],
                       first: tuple[np.ndarray, float, float]) -> tuple[np.ndarray, float, float]:
    """Loud targets, past what the limiter alone reaches: (audio, true peak, loudness miss).

    More gain into a limiter that already works hard makes it quieter (it pumps), so a soft
    clip with its knee under the ceiling takes the tallest peaks first and a faster release
    follows. The limiter pushed harder, then (unless plain gain can finish that take under
    the ceiling) two aims of the clipper at the target: the take that plain gain can finish
    best is kept.
    ``levels`` is (target LUFS, sample ceiling dBFS, true-peak ceiling), ``first`` the
    limiter's own take.
    """
    target, sample_ceiling, ceiling = levels
    top = np.float32(10 ** (sample_ceiling / 20))
    floor = float(top) * 10 ** (-3.0 / 20)

    def shortfall(take: tuple[np.ndarray, float, float]) -> tuple[float, float]:
        headroom = 20 * np.log10(ceiling / max(take[1], 1e-9))
        return max(take[2] - headroom, 0.0), abs(take[2])

    best = first  # only the best take so far is kept: each is the whole track
    # The limiter eats part of any extra gain: ask it for more than the miss first.
    pushed = _limit(audio, gain * 10 ** ((first[2] * _PUSH + 0.1) / 20), sample_ceiling,
                    _FAST_RELEASE_MS)
    best = min(best, (pushed, true_peak(pushed, floor), target - integrated_loudness(pushed)),
               key=shortfall)
    del pushed
    if shortfall(best)[0] == 0.0:
        # Plain gain finishes it under the ceiling: nothing a clipper adds would be louder.
        # (Over every style at 60 s this ended 8 of the 10 that came here.)
        return best
    miss = first[2]
    for _ in range(2):
        gain *= 10 ** (miss / 20)
        clipped = saturate(audio * np.float32(gain / top), _LOUD_SATURATION)
        clipped *= top
        out = _limit(clipped, 1.0, sample_ceiling, _FAST_RELEASE_MS)
        del clipped
        miss = target - integrated_loudness(out)
        if not np.isfinite(miss):
            break
        best = min(best, (out, true_peak(out, floor), miss), key=shortfall)
        del out
    return best


def master(mix: np.ndarray, production: Production) -> np.ndarray:
    """Master a mix to the production's loudness and peak: float32 (2, samples).

    A float32 mix is worked on in place (the master owns it: two fewer copies of the track).
    """
    audio = np.asarray(mix, dtype=np.float32)
    if not np.isfinite(float(np.sum(audio, dtype=np.float64))):  # one pass; NaN spreads
        audio = np.nan_to_num(audio, posinf=0.0, neginf=0.0)
    if not np.any(audio):
        return np.zeros_like(audio)
    audio = glue_compress(audio, production.compression)
    if production.saturation >= _BUS_SATURATION:  # lighter amounts drive the parts (mix.py)
        # Saturation works on the level the limiter will see: about the target.
        audio *= np.float32(_gain_to(audio, production.target_lufs))
        audio = saturate(audio, production.saturation)
    # Targets hold for the encoded MP3: keep the encoder's peak margin and loudness loss.
    ceiling = production.true_peak_db - codec_margin_db(audio)
    audio = loudness_and_peak(band_limit(audio, in_place=True),
                              production.target_lufs + _CODEC_LOSS_LU, ceiling)
    return _fades(audio)
