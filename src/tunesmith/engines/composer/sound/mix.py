"""The mix: part tone, level and pan, reverb and delay sends, sidechain, cues, lo-fi colour.

Tone filters (high-pass, presence, brightness tilt) run on each distinct note sound, not on
full-length stems: a filter is linear, so shaping a sound before placing it equals shaping
the part afterwards, for the cost of the few hundred distinct sounds. Reverb and delay run
once each on mono send buses at half the sample rate: their returns are dark by design, and
pedalboard's Reverb costs a fifth of the render budget at full rate. The sends are mixed at
half rate too (each sound is halved once, then placed), which halves what they cost.
"""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np
from pedalboard import Delay, HighpassFilter, LowpassFilter, Pedalboard, Plugin, Reverb
from scipy.signal import butter, sosfilt

from tunesmith.audio.loudness import peak_magnitude
from tunesmith.engines.composer.sound import synth
from tunesmith.engines.composer.sound.instruments import MixSettings
from tunesmith.engines.composer.score import SAMPLE_RATE, Cue, Production, Score

if TYPE_CHECKING:
    from collections.abc import Hashable, Iterable

    from tunesmith.engines.composer.sound.render import PartRender

SR = SAMPLE_RATE
HALF = SR // 2
_PREDELAY_S = 0.018
_REVERB_RETURN = 1.2  # wet gain at the default reverb_mix of 0.15 (scaled linearly)
_DELAY_RETURN = 0.55
_DUCK_FLOOR = 0.12  # the deepest sidechain dip (-18 dB) at sidechain = 1
_CUE_SEND = 0.35
_SATURATION_DRIVE = 0.8
_WOBBLE_BLOCK = 1 << 18  # samples per block of tape wobble and in-place filters (6 s)
_HISS_LOOP = 20 * SR  # vinyl hiss repeats after 20 s
_HISS_SPLICE = SR // 20


# ---- tone: per-sound filters -------------------------------------------------------------


def _shelf(freq: float, gain_db: float, high: bool) -> np.ndarray:
    """RBJ shelving biquad as one second-order section."""
    a = 10.0 ** (gain_db / 40.0)
    w0 = 2 * np.pi * freq / SR
    cos, alpha = np.cos(w0), np.sin(w0) / np.sqrt(2.0)
    sign = 1.0 if high else -1.0
    b0 = a * ((a + 1) + sign * (a - 1) * cos + 2 * np.sqrt(a) * alpha)
    b1 = -2 * sign * a * ((a - 1) + sign * (a + 1) * cos)
    b2 = a * ((a + 1) + sign * (a - 1) * cos - 2 * np.sqrt(a) * alpha)
    a0 = (a + 1) - sign * (a - 1) * cos + 2 * np.sqrt(a) * alpha
    a1 = 2 * sign * ((a - 1) - sign * (a + 1) * cos)
    a2 = (a + 1) - sign * (a - 1) * cos - 2 * np.sqrt(a) * alpha
    return np.array([b0, b1, b2, a0, a1, a2]) / a0


def _peak(freq: float, gain_db: float, q: float) -> np.ndarray:
    """RBJ peaking biquad as one second-order section."""
    a = 10.0 ** (gain_db / 40.0)
    w0 = 2 * np.pi * freq / SR
    alpha = np.sin(w0) / (2 * q)
    b = [1 + alpha * a, -2 * np.cos(w0), 1 - alpha * a]
    den = [1 + alpha / a, -2 * np.cos(w0), 1 - alpha / a]
    return np.array(b + den) / den[0]


@functools.lru_cache(maxsize=256)
def tone_sos(mix: MixSettings, brightness: float) -> np.ndarray | None:
    """The part's filter chain (high-pass, low-pass, presence, tilt) or None when flat.

    Designed once per part's settings (shared, never written to): every sound of a part
    goes through the same chain.
    """
    sections: list[np.ndarray] = []
    if mix.highpass_hz > 22:
        sections.append(butter(2, mix.highpass_hz, "highpass", fs=SR, output="sos"))
    if mix.lowpass_hz < 19000:
        sections.append(butter(2, mix.lowpass_hz, "lowpass", fs=SR, output="sos"))
    if mix.presence_db:
        sections.append(_peak(3000.0, mix.presence_db, 0.9)[np.newaxis, :])
    if abs(brightness) > 0.02:
        sections.append(_shelf(4500.0, 4.0 * brightness, True)[np.newaxis, :])
        sections.append(_shelf(180.0, -1.5 * brightness, False)[np.newaxis, :])
    return np.concatenate(sections) if sections else None


def shape_tone(audio: np.ndarray, mix: MixSettings, prod: Production, role: str = "") -> np.ndarray:
    """A sound through its part's tone chain and drive, always stereo float32.

    The production's saturation drives drums and bass here, per sound, rather than on the
    whole bus: the same warmth and punch for a fraction of the cost.
    """
    if audio.shape[0] == 1:
        audio = np.repeat(audio, 2, axis=0)
    sos = tone_sos(mix, prod.brightness)
    if sos is not None:
        audio = sosfilt(sos, audio, axis=-1)
    drive = mix.drive + (prod.saturation * _SATURATION_DRIVE if role in ("drums", "bass") else 0.0)
    if drive > 0.005:
        peak = float(np.abs(audio).max()) or 1.0
        gain = 1.0 + 3.0 * drive
        audio = np.tanh(audio / peak * gain) * (peak / np.tanh(gain))
    return np.ascontiguousarray(audio, dtype=np.float32)


# ---- placing parts on the buses ----------------------------------------------------------


def pan_gains(pan: float) -> tuple[float, float]:
    """Constant-power balance: (1, 1) at the centre, one side silent at the extremes."""
    angle = (np.clip(pan, -1.0, 1.0) + 1.0) * np.pi / 4.0
    return float(np.cos(angle) * np.sqrt(2.0)), float(np.sin(angle) * np.sqrt(2.0))


def _cut(sound: np.ndarray, limit: int) -> np.ndarray:
    """A choked sound: cut at ``limit`` samples with a 5 ms fade."""
    if not limit or limit >= sound.shape[-1]:
        return sound
    out = sound[..., :limit].copy()
    fade = min(220, limit)
    out[..., limit - fade :] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return out


def _place(bus: np.ndarray, sound: np.ndarray, start: int) -> None:
    end = min(bus.shape[-1], start + sound.shape[-1])
    if end > start:
        bus[..., start:end] += sound[..., : end - start]


def _width(sound: np.ndarray, factor: float) -> np.ndarray:
    """Scale the side of a stereo sound (mono sounds are untouched)."""
    if abs(factor - 1.0) < 0.02:
        return sound
    mid = sound.mean(axis=0)
    side = (sound[0] - sound[1]) * np.float32(0.5 * factor)
    return np.stack([mid + side, mid - side])


def place_part(
    pr: PartRender, dry: np.ndarray, sends: dict[str, np.ndarray | None], width: float = 0.6
) -> None:
    """Add a part, levelled, panned and widened, to a dry bus and its half-rate mono sends.

    Sound by sound: each is made ready, placed wherever it plays and dropped, so placing a
    part needs memory for one of its sounds, not a copy of them all. The part's sounds are
    used up.
    """
    gain = pr.level_gain()
    left, right = pan_gains(pr.part.pan)
    lr = np.array([[left * gain], [right * gain]], dtype=np.float32)
    levels = {"reverb": pr.part.reverb, "delay": pr.part.delay}
    factor = float(np.clip(0.4 + width, 0.0, 1.6))
    fed = [(bus, np.float32(0.5 * levels[name])) for name, bus in sends.items()
           if bus is not None and levels[name] > 0]
    plays: dict[Hashable, list[tuple[int, int]]] = {}
    for start, key, limit in pr.events:
        plays.setdefault(key, []).append((start, limit))
    for key, where in plays.items():
        ready = _width(pr.sounds.pop(key), factor) * lr
        for start, limit in where:
            _place(dry, _cut(ready, limit), start)
        if not fed:
            continue
        mono = _down(ready[0] + ready[1])  # (L + R) / 2 at half rate, with the 0.5 below
        del ready
        for bus, level in fed:
            scaled = mono * level
            for start, limit in where:
                _place(bus, _cut(scaled, -(-limit // 2)), start // 2)


# ---- sidechain ---------------------------------------------------------------------------


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


# ---- send effects ------------------------------------------------------------------------


def _down(x: np.ndarray) -> np.ndarray:
    """Half the sample rate by averaging pairs (the send filters remove what folds)."""
    m = x.size // 2
    return (x[0 : 2 * m : 2] + x[1 : 2 * m : 2]) * np.float32(0.5)


def add_upsampled(bus: np.ndarray, half_rate: np.ndarray) -> None:
    """Add a half-rate stereo signal to a full-rate bus, interpolating linearly, in place."""
    m = min(half_rate.shape[1], bus.shape[1] // 2)
    x = half_rate[:, :m]
    bus[:, 0 : 2 * m : 2] += x
    bus[:, 1 : 2 * m - 1 : 2] += 0.5 * (x[:, :-1] + x[:, 1:])


def reverb_return(send: np.ndarray, prod: Production,
                  pool: ThreadPoolExecutor | None = None) -> np.ndarray:
    """The stereo reverb return of a mono half-rate send bus, at half rate.

    Two mono reverbs of slightly different size make the left and right tails: as wide as
    pedalboard's stereo mode, at two thirds of its cost, and each can have a core (``pool``).
    """
    pre = int(_PREDELAY_S * HALF)
    shifted = np.concatenate([np.zeros(pre, np.float32), send[: send.size - pre]])
    low = Pedalboard([HighpassFilter(220.0), LowpassFilter(6500.0)])(shifted[np.newaxis, :], HALF)
    size = 0.35 + 0.6 * prod.reverb_size

    def tail(offset: float) -> np.ndarray:
        reverb = Reverb(room_size=min(size + offset, 0.98), damping=0.45, wet_level=1.0,
                        dry_level=0.0, width=1.0)
        return reverb(low, HALF)[0]

    offsets = (0.0, 0.025)
    tails = list(pool.map(tail, offsets) if pool else map(tail, offsets))
    return np.stack(tails) * np.float32(_REVERB_RETURN * prod.reverb_mix / 0.15)


def delay_return(send: np.ndarray, prod: Production, bpm: float) -> np.ndarray:
    """The stereo delay return of a half-rate send bus: tempo-synced echoes, darker, widened."""
    seconds = float(np.clip(prod.delay_beats * 60.0 / bpm, 0.05, 2.0))
    board = Pedalboard(
        [
            Delay(delay_seconds=seconds, feedback=0.38, mix=1.0),
            HighpassFilter(300.0),
            LowpassFilter(4500.0),
        ]
    )
    wet = board(send[np.newaxis, :], HALF)[0]
    haas = int(0.011 * HALF)
    right = np.concatenate([np.zeros(haas, np.float32), wet[: wet.size - haas]])
    return np.stack([wet, right]) * np.float32(_DELAY_RETURN)


# ---- cues --------------------------------------------------------------------------------


def _span(cue: Cue, n: int) -> tuple[int, int]:
    return max(0, round(cue.start * SR)), min(n, round(cue.end * SR))


def filter_sweep(bus: np.ndarray, cue: Cue) -> None:
    """Open a low-pass across the span (the build into a drop), in place."""
    a, b = _span(cue, bus.shape[-1])
    if b - a < 256:
        return
    frac = np.arange(b - a) / (b - a)
    start = 18000.0 * 2.0 ** (-6.0 * float(np.clip(cue.amount, 0.0, 1.0)))
    bus[:, a:b] = synth.sweep_lowpass(bus[:, a:b], start * (18000.0 / start) ** frac, 0.35)


def tape_stop(bus: np.ndarray, cue: Cue) -> None:
    """Slow the music to a halt across the span, like a stopping turntable, in place."""
    a, b = _span(cue, bus.shape[-1])
    if b - a < 256:
        return
    frac = np.arange(b - a) / (b - a)
    speed = np.clip(1.0 - frac, 0.0, 1.0) ** 1.6
    pos = a + np.cumsum(speed) - speed[0]
    src = np.arange(a, b)
    seg = np.stack([np.interp(pos, src, ch[a:b]) for ch in bus])
    seg *= (1.0 - frac) ** 0.5  # the level sinks with the speed, as on tape
    fade = min(441, b - a)
    seg[:, -fade:] *= np.linspace(1.0, 0.0, fade)
    bus[:, a:b] = seg


def cue_sound(cue: Cue, seed: int) -> np.ndarray | None:
    """The sound a cue adds (risers, impacts, downlifters); None for bus effects."""
    seconds = max(cue.end - cue.start, 0.1)
    amount = float(np.clip(cue.amount, 0.0, 1.5))
    if cue.kind == "riser":
        return synth.riser(seconds, amount, seed)
    if cue.kind == "downlifter":
        return synth.downlifter(seconds, amount, seed)
    if cue.kind == "impact":
        return synth.impact(seconds, amount, seed)
    return None


# ---- lo-fi colour ------------------------------------------------------------------------


def filter_in_place(plugin: Plugin, bus: np.ndarray) -> np.ndarray:
    """``bus`` through a pedalboard filter without latency, in place, block by block (the
    same samples as one call, without a second track-size array)."""
    for a in range(0, bus.shape[-1], _WOBBLE_BLOCK):
        bus[:, a : a + _WOBBLE_BLOCK] = plugin(bus[:, a : a + _WOBBLE_BLOCK], SR, reset=False)
    return bus


def tape_wobble(bus: np.ndarray, amount: float) -> np.ndarray:
    """Wow and flutter: a slowly varying delay read by interpolation, in place.

    Worked in blocks from the end backwards: a block reads only samples at or before its
    own, which are not yet overwritten, and float64 read positions for a whole track would
    be half a GB of temporaries.
    """
    n = bus.shape[-1]
    depth = amount * 0.0016 * SR
    for a in reversed(range(0, n, _WOBBLE_BLOCK)):
        b = min(n, a + _WOBBLE_BLOCK)
        index = np.arange(a, b, dtype=np.float64)
        # The wobble moves at a few hertz: work it out every 64 samples, draw lines between.
        coarse = np.arange(a, b + 64, 64, dtype=np.float64)
        t = coarse / SR
        delay = depth * (
            1.0 + 0.75 * np.sin(2 * np.pi * 0.55 * t) + 0.2 * np.sin(2 * np.pi * 5.7 * t)
        )
        pos = index - np.interp(index, coarse, delay)
        np.clip(pos, 0.0, n - 1, out=pos)
        lo = max(0, a - int(depth * 2.0) - 2)  # the longest delay is 1.95 x depth
        source = np.arange(lo, b, dtype=np.float64)
        block = np.stack([np.interp(pos, source, channel[lo:b]) for channel in bus])
        bus[:, a:b] = block
    return bus


def vinyl_noise(n: int, level: float, seed: int) -> np.ndarray:
    """Crackle (sparse clicks) and hiss, stereo, at ``level`` of full scale.

    The hiss is a band of noise ``_HISS_LOOP`` samples long played round: steady noise repeating
    that slowly is not heard to repeat, and a long track costs no more than a short one.
    The clicks fall anywhere.
    """
    rng = np.random.default_rng([seed, 77])
    loop = min(n, _HISS_LOOP)
    band = rng.standard_normal((2, loop + SR // 10), dtype=np.float32)
    band = Pedalboard([HighpassFilter(900.0), LowpassFilter(5500.0)])(band, SR)
    band = band[:, SR // 10 :] * np.float32(0.05)  # the filters settled
    if n <= loop:
        hiss = np.array(band[:, :n])
    else:
        # One period of the loop: its start fades in over the noise that followed its end
        # (equal power: the two are independent), so it comes round without a seam.
        fade = _HISS_SPLICE
        period = loop - fade
        x = np.linspace(0.0, np.pi / 2, fade, dtype=np.float32)
        band[:, :fade] = band[:, :fade] * np.sin(x) + band[:, period:loop] * np.cos(x)
        hiss = np.tile(band[:, :period], (1, -(-n // period)))[:, :n]
    del band
    click_shape = np.exp(-np.arange(90) / 14.0).astype(np.float32)
    for at in np.sort(rng.integers(0, max(n - 100, 1), size=int(n / SR * 5.0))):
        amp = float(rng.pareto(2.5) + 0.2) * (1 if rng.random() < 0.5 else -1) * 0.25
        hiss[int(rng.integers(0, 2)), at : at + 90] += click_shape * np.float32(amp)
    hiss *= np.float32(level)
    return hiss


def lofi_colour(bus: np.ndarray, prod: Production, seed: int) -> np.ndarray:
    """Tape wobble, band limit, bit reduction and vinyl, as much as the production asks.

    All in place on ``bus`` (float32), which is returned.
    """
    if prod.lofi > 0.02:
        tape_wobble(bus, prod.lofi)
        filter_in_place(LowpassFilter(16000.0 - 9500.0 * prod.lofi), bus)
        peak = peak_magnitude(bus) or 1.0
        steps = 2.0 ** (14.0 - 6.0 * prod.lofi)
        bus *= np.float32(steps / peak)
        np.round(bus, out=bus)
        bus *= np.float32(peak / steps)
    if prod.vinyl > 0.01:
        rms = float(np.sqrt(np.mean(np.square(bus[:, ::8], dtype=np.float64)))) or 0.05
        bus += vinyl_noise(bus.shape[-1], rms * prod.vinyl * 0.5, seed)
    return bus


# ---- the whole mix -----------------------------------------------------------------------


def mix_parts(parts: Iterable[PartRender], score: Score, seed: int = 0) -> np.ndarray:
    """Sum the parts with sends, ducking, cues and colour: float32 (2, samples), unmastered.

    ``parts`` are the score's parts with notes, in score order; each is placed as it comes
    and its sounds dropped, so they can still be rendering while the first are mixed.
    """
    n = round(score.duration * SR)
    prod = score.production
    playing = score.playing
    dry = np.zeros((2, n), dtype=np.float32)
    ducking = prod.sidechain > 0 and any(p.sidechain for p in playing)
    ducked = np.zeros((2, n), dtype=np.float32) if ducking else dry
    half = -(-n // 2)
    sends: dict[str, np.ndarray | None] = {
        "reverb": np.zeros(half, np.float32)
        if any(p.reverb > 0 for p in playing) or score.cues
        else None,
        "delay": np.zeros(half, np.float32) if any(p.delay > 0 for p in playing) else None,
    }
    voices: list[PartRender] = []
    kicks: list[int] = []
    for pr in parts:
        if pr.part.role == "vocal":
            voices.append(pr)  # seated once the band is mixed
            continue
        place_part(pr, ducked if pr.part.sidechain else dry, sends, prod.width)
        pr.sounds = {}  # placed: the mix owns the part now, and memory is tight
        kicks += pr.kicks
    if ducking:
        ducked *= duck_envelope(kick_onsets(kicks, score), n, prod.sidechain, score.bpm)
        dry += ducked
        del ducked
    if voices:
        from tunesmith.engines.composer.sound.vocal_stems import seat_voices

        seat_voices(dry, voices)
    for pr in voices:
        place_part(pr, dry, sends, prod.width)
        pr.sounds = {}
    for cue in score.cues:
        if cue.kind == "filter_sweep":
            filter_sweep(dry, cue)
        elif cue.kind == "tape_stop":
            tape_stop(dry, cue)
    _add_cue_sounds(dry, sends["reverb"], score, seed)
    returns = _send_returns(sends, prod, score.bpm)
    if returns is not None:
        add_upsampled(dry, returns)
    return lofi_colour(dry, prod, seed)


def _send_returns(sends: dict[str, np.ndarray | None], prod: Production,
                  bpm: float) -> np.ndarray | None:
    """Reverb and delay returns summed, at half rate (upsampled once by the caller).

    The reverb's two tails and the delay run at once: pedalboard releases the GIL.
    """
    reverb, delay = sends["reverb"], sends["delay"]
    with ThreadPoolExecutor(3, thread_name_prefix="sends") as pool:
        delayed = pool.submit(delay_return, delay, prod, bpm) if delay is not None else None
        returns = (reverb_return(reverb, prod, pool)
                   if reverb is not None and prod.reverb_mix > 0 else None)
        echoes = delayed.result() if delayed is not None else None
    if echoes is None:
        return returns
    return echoes if returns is None else returns + echoes


def _add_cue_sounds(dry: np.ndarray, reverb: np.ndarray | None, score: Score, seed: int) -> None:
    """Risers, impacts and downlifters at the level of the music around them."""
    sounds = [(c, cue_sound(c, seed + i)) for i, c in enumerate(score.cues)]
    if not any(s is not None for _, s in sounds):
        return
    level = float(np.sqrt(np.mean(np.square(dry[:, ::16], dtype=np.float64)))) or 0.05
    for cue, sound in sounds:
        if sound is None:
            continue
        sound = sound * np.float32(level * 2.2)
        start = round(cue.start * SR)
        _place(dry, sound, start)
        if reverb is not None:
            _place(reverb, _down(sound.mean(axis=0)) * np.float32(_CUE_SEND), start // 2)
