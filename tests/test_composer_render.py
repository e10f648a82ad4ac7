"""The sound half of the composer: Score → mastered stereo audio.

Scores are written by hand here so these tests do not depend on the arranger.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
from scipy.signal import resample_poly

from tunesmith.engines.composer.library.instruments import SynthPatch, catalogue
from tunesmith.engines.composer.score import (
    INSTRUMENTS,
    SAMPLE_RATE,
    Cue,
    Note,
    Part,
    Production,
    Score,
    Section,
)
from tunesmith.engines.composer.sound import colour, master, soundfont, stems
from tunesmith.engines.composer.sound import kits as drumkit
from tunesmith.engines.composer.sound.render import (
    playable_notes,
    quantise_length,
    render_score,
    render_stems,
    rendered_in_order,
    soundfont_path,
)
from tunesmith.engines.composer.sound.sidechain import duck_envelope

SR = SAMPLE_RATE
CHORDS = ((57, 60, 64), (53, 57, 60), (48, 52, 55), (55, 59, 62))


def _score(
    duration: float,
    parts: list[Part],
    production: Production | None = None,
    cues: list[Cue] | None = None,
    bpm: float = 120.0,
) -> Score:
    return Score(
        "test",
        "test",
        bpm,
        "A",
        "minor",
        (4, 4),
        duration,
        [Section("verse", 0.0, duration, max(1, int(duration / 2)), 0.6)],
        parts,
        production or Production(),
        cues or [],
    )


def _beat_drums(duration: float, beat: float = 0.5) -> list[Note]:
    notes = []
    for i in range(int(duration / beat)):
        t = i * beat
        notes += [Note(t, 0.1, 36, 118), Note(t + beat / 2, 0.05, 42, 80)]
        if i % 2:
            notes.append(Note(t, 0.1, 39, 105))
    return notes


def _band_song(duration: float, kit: str = "kit_909", sidechain: float = 0.5) -> Score:
    """Drums, bass, pad, lead, piano: a small electronic song."""
    bass, pad, lead, keys = [], [], [], []
    for bar in range(int(duration / 2.0)):
        t0, chord = bar * 2.0, CHORDS[bar % 4]
        bass += [Note(t0 + e * 0.25, 0.22, chord[0] - 24, 105) for e in range(8)]
        pad += [Note(t0, 2.0, p, 90) for p in chord]
        lead += [Note(t0 + i * 0.5, 0.4, chord[i % 3] + 12, 96) for i in range(4)]
        keys += [Note(t0 + i, 0.9, p + 12, 80) for i in range(2) for p in chord]
    parts = [
        Part("drums", kit, "drums", _beat_drums(duration), reverb=0.05),
        Part("bass", "synth_bass_saw", "bass", bass, sidechain=True, reverb=0.0),
        Part("pad", "synth_pad_warm", "pad", pad, sidechain=True, reverb=0.4),
        Part("lead", "supersaw", "melody", lead, reverb=0.3, delay=0.3, pan=0.1),
        Part("keys", "piano", "chords", keys, reverb=0.3, pan=-0.3),
    ]
    return _score(
        duration,
        parts,
        Production(sidechain=sidechain),
        [
            Cue("riser", duration / 2 - 2.0, duration / 2),
            Cue("impact", duration / 2, duration / 2 + 1.5),
        ],
    )


def _true_peak_db(audio: np.ndarray) -> float:
    return 20 * np.log10(float(np.abs(resample_poly(audio, 4, 1, axis=1)).max()))


def _lufs(audio: np.ndarray) -> float:
    return float(pyloudnorm.Meter(SR).integrated_loudness(audio.T.astype(np.float64)))


def _centroid(audio: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(audio.mean(axis=0))) ** 2
    freqs = np.fft.rfftfreq(audio.shape[-1], 1 / SR)
    return float((spectrum * freqs).sum() / spectrum.sum())


def _band_share(audio: np.ndarray, low: float, high: float) -> float:
    spectrum = np.abs(np.fft.rfft(audio.mean(axis=0))) ** 2
    freqs = np.fft.rfftfreq(audio.shape[-1], 1 / SR)
    return float(spectrum[(freqs >= low) & (freqs < high)].sum() / spectrum.sum())


@pytest.fixture(scope="module")
def song() -> np.ndarray:
    return render_score(_band_song(20.0), seed=7)


# ---- shape, loudness, peaks --------------------------------------------------------------


def test_mastered_song_is_stereo_float32_of_exact_length(song: np.ndarray) -> None:
    assert song.dtype == np.float32
    assert song.shape == (2, round(20.0 * SR))
    assert np.isfinite(song).all()


def test_mastered_song_hits_target_loudness_and_true_peak(song: np.ndarray) -> None:
    assert abs(_lufs(song) - (-14.0)) <= 1.0
    assert _true_peak_db(song) <= -1.0
    assert float(np.abs(song).max()) < 0.95  # nothing near clipping


def test_end_fades_to_silence_without_a_click(song: np.ndarray) -> None:
    assert float(np.abs(song[:, -8:]).max()) < 1e-3
    assert float(np.abs(np.diff(song[:, -2000:], axis=1)).max()) < 0.05


@pytest.mark.parametrize("duration", [5.0, 7.31, 61.07])
def test_length_is_exact_for_odd_durations(duration: float) -> None:
    audio = render_score(_band_song(duration), seed=1)
    assert audio.shape == (2, round(duration * SR))
    assert np.isfinite(audio).all()


def test_long_sparse_score_has_exact_length_and_loudness() -> None:
    notes = [Note(t, 3.0, 45 + (int(t) % 5), 90) for t in np.arange(0.0, 238.0, 4.0)]
    score = _score(240.0, [Part("keys", "electric_piano", "chords", notes)])
    audio = render_score(score, seed=3)
    assert audio.shape == (2, 240 * SR)
    assert abs(_lufs(audio) + 14.0) <= 1.0


def test_other_loudness_targets_are_honoured() -> None:
    score = _band_song(8.0)
    score.production = Production(target_lufs=-10.0, true_peak_db=-1.0)
    audio = render_score(score, seed=2)
    assert abs(_lufs(audio) + 10.0) <= 1.0
    assert _true_peak_db(audio) <= -1.0


def test_silent_score_renders_silence_of_the_right_length() -> None:
    audio = render_score(_score(3.0, [Part("empty", "piano", "chords", [])]))
    assert audio.shape == (2, 3 * SR)
    assert not np.any(audio)


# ---- determinism -------------------------------------------------------------------------


def test_same_score_and_seed_give_identical_audio() -> None:
    score = _band_song(6.0, kit="kit_lofi")
    score.production = Production(lofi=0.6, vinyl=0.5, sidechain=0.3)
    first = render_score(score, seed=11)
    second = render_score(score, seed=11)
    assert np.array_equal(first, second)
    assert not np.array_equal(first, render_score(score, seed=12))  # noise follows the seed


# ---- timbre ------------------------------------------------------------------------------


def _solo(instrument: str, pitches: tuple[int, ...], role: str = "chords") -> np.ndarray:
    notes = [Note(i * 0.5, 0.45, p, 100) for i in range(8) for p in pitches]
    return render_stems(_score(4.5, [Part("solo", instrument, role, notes, reverb=0.0)]))["solo"]


def test_instruments_have_clearly_different_spectra() -> None:
    chord = (60, 64, 67)
    piano, saw, sub = (
        _solo("piano", chord),
        _solo("supersaw", chord),
        _solo("bass_808", (36,), "bass"),
    )
    assert _centroid(sub) < 0.5 * _centroid(piano)
    assert _centroid(saw) > 1.3 * _centroid(piano)
    assert _band_share(sub, 20, 150) > 0.8
    assert _band_share(saw, 2000, 20000) > 1.4 * _band_share(piano, 2000, 20000)


@pytest.mark.parametrize("name", sorted(INSTRUMENTS))
def test_every_instrument_renders_audible_sound(name: str) -> None:
    kind = INSTRUMENTS[name]
    if kind == "kit":
        notes = [Note(i * 0.25, 0.1, (36, 42, 38, 46)[i % 4], 100) for i in range(8)]
    else:
        notes = [Note(i * 0.4, 0.35, p, 100) for i, p in enumerate((48, 55, 60, 67))]
    stem = render_stems(
        _score(2.5, [Part("p", name, "drums" if kind == "kit" else "melody", notes)])
    )["p"]
    rms_db = 10 * np.log10(float(np.mean(np.square(stem, dtype=np.float64))) + 1e-20)
    assert np.isfinite(stem).all()
    assert rms_db > -35.0, f"{name} is nearly silent ({rms_db:.1f} dBFS)"
    assert name in catalogue().instruments


def test_drum_kits_put_energy_where_the_drums_live() -> None:
    for kit in ("808", "909", "electronic", "lofi"):
        kick = drumkit.render_hit(kit, 36, 110)
        hat = drumkit.render_hit(kit, 42, 110)
        clap = drumkit.render_hit(kit, 39, 110)
        assert _band_share(kick, 20, 200) > 0.7, kit
        assert _band_share(hat, 5000, 22050) > 0.7, kit
        assert _band_share(clap, 500, 5000) > 0.6, kit
    long_808 = drumkit.render_hit("808", 36, 110).shape[1]
    assert long_808 > drumkit.render_hit("909", 36, 110).shape[1]  # the 808 booms longer


def test_synth_voices_are_band_limited() -> None:
    from tunesmith.engines.composer.sound import synth

    freq = 3520.0  # a high saw folds many harmonics without band-limiting
    tone = synth.wave("saw", np.arange(SR) * freq / SR, freq / SR)
    spectrum = np.abs(np.fft.rfft(tone * np.hanning(tone.size)))
    freqs = np.fft.rfftfreq(tone.size, 1 / SR)
    harmonic = np.abs(freqs / freq - np.round(freqs / freq)) < 0.004
    floor = spectrum[~harmonic & (freqs > 100) & (freqs < 15000)].max() / spectrum.max()
    assert 20 * np.log10(floor) < -30.0


# ---- mixing ------------------------------------------------------------------------------


def _pumping(sidechain: float) -> float:
    """Level of a sustained pad just after each kick versus just before the next, in dB."""
    kicks = [Note(float(t), 0.1, 36, 110) for t in np.arange(0.0, 8.0, 0.5)]
    pad = [Note(0.0, 8.0, p, 90) for p in (57, 60, 64)]
    score = _score(
        8.0,
        [
            Part("kick", "kit_909", "drums", kicks, gain_db=-40.0),
            Part("pad", "synth_pad_dark", "pad", pad, reverb=0.0, sidechain=True),
        ],
        Production(sidechain=sidechain, reverb_mix=0.0),
    )
    audio = render_score(score, seed=1).mean(axis=0)
    rms = lambda a, b: float(np.sqrt(np.mean(np.square(audio[a:b], dtype=np.float64))))  # noqa: E731
    after = [rms(int((t + 0.03) * SR), int((t + 0.08) * SR)) for t in np.arange(2.0, 7.0, 0.5)]
    before = [rms(int((t + 0.40) * SR), int((t + 0.48) * SR)) for t in np.arange(2.0, 7.0, 0.5)]
    return 20 * np.log10(np.mean(after) / np.mean(before))


def test_sidechain_ducks_after_every_kick() -> None:
    assert _pumping(0.8) < -6.0
    assert abs(_pumping(0.0)) < 1.5


def test_duck_envelope_dips_and_recovers() -> None:
    env = duck_envelope([0, SR], 2 * SR, depth=1.0, bpm=120.0)
    assert env[int(0.01 * SR)] < 0.2
    assert env[int(0.45 * SR)] > 0.95
    assert env.min() >= 0.0


def test_cues_and_lofi_render_cleanly() -> None:
    score = _band_song(12.0)
    score.cues += [
        Cue("filter_sweep", 0.0, 4.0),
        Cue("tape_stop", 9.0, 10.0),
        Cue("downlifter", 10.0, 12.0),
    ]
    score.production = Production(lofi=0.7, vinyl=0.6)
    audio = render_score(score, seed=5)
    assert audio.shape == (2, 12 * SR) and np.isfinite(audio).all()
    assert _true_peak_db(audio) <= -1.0


def test_riser_rises() -> None:
    from tunesmith.engines.composer.sound import synth

    rise = synth.riser(2.0, 1.0, seed=1)
    half = rise.shape[1] // 2
    assert np.mean(np.square(rise[:, half:])) > 4 * np.mean(np.square(rise[:, :half]))


def test_filter_sweeps_run_scipys_loop_exactly_as_its_public_call(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from tunesmith.engines.composer.sound import synth

    noise = np.random.default_rng(4).standard_normal((2, SR)).astype(np.float32)
    cutoff = 200.0 * 2.0 ** (6.0 * np.arange(SR) / SR)
    fast = synth.sweep_lowpass(noise, cutoff, 0.4)
    monkeypatch.setattr(synth, "_sosfilt_loop", None)
    assert np.array_equal(fast, synth.sweep_lowpass(noise, cutoff, 0.4))


@pytest.mark.parametrize("name", [n for n, e in catalogue().instruments.items()
                                  if isinstance(e.voice, SynthPatch)])
def test_a_short_note_is_the_start_of_a_long_ones_tone_under_its_own_envelope(name: str) -> None:
    from tunesmith.engines.composer.sound import synth

    patch = catalogue().instruments[name].voice
    long_n = synth.note_length(patch, 2.5)[1]
    tone = synth.note_tone(patch, 57, long_n, 88, bpm=126.0, glide_from=52, seed=9)
    for seconds in (0.07, 0.6, 2.5):
        own_n = synth.note_length(patch, seconds)[1]  # the note rendered on its own
        own = synth.note_tone(patch, 57, own_n, 88, bpm=126.0, glide_from=52, seed=9)
        alone = synth.shape_note(patch, own, seconds, 88)
        assert np.array_equal(synth.shape_note(patch, tone, seconds, 88), alone)


def test_limiting_in_two_halves_keeps_the_ceiling_and_the_sound_of_one_pass() -> None:
    from pedalboard import BrickwallLimiter, Gain, Pedalboard

    rng = np.random.default_rng(8)
    n = 16 * SR
    beats = np.repeat(rng.uniform(0.2, 1.0, n // 2205 + 1), 2205)[:n]
    audio = (rng.standard_normal((2, n)) * beats * 0.3).astype(np.float32)
    ceiling_db, gain = -1.6, 4.0
    halves = master._limit(audio, gain, ceiling_db)
    one = Pedalboard([Gain(20 * np.log10(gain)), BrickwallLimiter(
        ceiling_db=ceiling_db, release_ms=80.0, lookahead_ms=3.0)])(audio, SR)
    assert halves.shape == audio.shape and halves.dtype == np.float32
    assert np.abs(halves).max() <= 10 ** (ceiling_db / 20) + 1e-6
    middle = n // 2
    assert np.array_equal(halves[:, :middle], one[:, :middle])

    def blocks(x: np.ndarray) -> np.ndarray:  # 10 ms levels after the middle
        return np.sqrt(np.mean(x[:, middle:].reshape(2, -1, 441) ** 2, axis=(0, 2)))

    difference_db = 20 * np.log10(blocks(halves) / blocks(one))
    assert np.abs(difference_db).max() < 1.0


def test_vinyl_hiss_loops_without_a_seam_but_its_crackle_does_not_repeat() -> None:
    period = colour._HISS_LOOP - colour._HISS_SPLICE
    noise = colour.vinyl_noise(period + 10 * SR, 1.0, seed=2)

    def level(a: int, b: int) -> float:  # the hiss, not the clicks
        return float(np.median(np.abs(noise[:, a:b])))

    around_seam = level(period - SR // 10, period + SR // 10)
    assert around_seam == pytest.approx(level(SR, 3 * SR), rel=0.1)

    def clicks(x: np.ndarray) -> set[int]:  # where they fall, to 100 samples
        return set(np.flatnonzero(np.abs(x[0]) > 20 * level(SR, 3 * SR)) // 100)

    first, again = clicks(noise[:, : 10 * SR]), clicks(noise[:, period : period + 10 * SR])
    assert first and again and len(first & again) < len(first) / 2


def test_mono_voices_cut_overlapping_notes() -> None:
    part = Part("b", "bass_808", "bass", [Note(0.0, 2.0, 36), Note(0.5, 1.0, 38)])
    notes = playable_notes(part, 4.0, mono=True)
    assert notes[0].duration == pytest.approx(0.5)
    assert quantise_length(0.5) == pytest.approx(0.5, rel=0.02)


def test_master_measures_loudness_like_pyloudnorm() -> None:
    rng = np.random.default_rng(0)
    noise = (rng.standard_normal((2, 10 * SR)) * 0.05).astype(np.float32)
    assert master.integrated_loudness(noise) == pytest.approx(_lufs(noise), abs=0.05)


# ---- progress and the SoundFont ----------------------------------------------------------


def test_progress_reports_stages_and_can_cancel() -> None:
    seen: list[str] = []
    render_score(_band_song(4.0), progress=lambda fraction, stage: seen.append(stage))
    assert seen[0] == "render" and "mix" in seen and seen[-1] == "master"

    def cancel(fraction: float, stage: str) -> None:
        if stage == "mix":
            raise RuntimeError("cancelled")

    with pytest.raises(RuntimeError, match="cancelled"):
        render_score(_band_song(4.0), progress=cancel)


def test_parts_come_in_score_order_however_slowly_they_render(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The mix asks for a part before its thread has even started it: it must wait, not hang,
    and a part that fails hands its error to the mix."""
    import tunesmith.engines.composer.sound.render as render

    song = _band_song(4.0)
    real = render.start_part
    # One thread takes the groups in turn: drums, then the SoundFont keys (slow), then bass,
    # so the mix asks for the bass while the keys still hold the only thread.
    monkeypatch.setattr(render, "_RENDER_THREADS", 1)
    delays = {"drums": 0.05, "bass": 0.0, "pad": 0.1, "lead": 0.0, "keys": 0.4}

    def slow(part: Part, *args: object, **kwargs: object) -> stems.PartRender:
        time.sleep(delays[part.name])
        return real(part, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(render, "start_part", slow)
    names: list[str] = []
    worker = threading.Thread(
        target=lambda: names.extend(pr.part.name for pr in rendered_in_order(song, 3)),
        daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), f"rendering hung after {names}"
    assert names == [p.name for p in song.parts if p.notes]

    def broken(part: Part, *args: object, **kwargs: object) -> stems.PartRender:
        if part.name == "pad":
            raise RuntimeError("pad failed")
        return real(part, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(render, "start_part", broken)
    with pytest.raises(RuntimeError, match="pad failed"):
        list(rendered_in_order(song, 3))

    # The SoundFont keys are finished on their own thread: its failure reaches the mix too.
    monkeypatch.setattr(render, "start_part", real)
    finish = render.finish_part

    def broken_finish(pr: stems.PartRender, score: Score) -> stems.PartRender:
        if pr.part.name == "keys":
            raise RuntimeError("keys failed")
        return finish(pr, score)

    monkeypatch.setattr(render, "finish_part", broken_finish)
    with pytest.raises(RuntimeError, match="keys failed"):
        list(rendered_in_order(song, 3))


def test_soundfont_falls_back_to_the_bundled_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(soundfont, "SYSTEM_SOUNDFONTS", (Path("/nonexistent/FluidR3_GM.sf2"),))
    path = soundfont.soundfont_path()
    assert path == soundfont.bundled_soundfont() and path.is_file()
    assert soundfont.soundfont_path("/nonexistent.sf2") == path
    assert soundfont_path().is_file()
    note = soundfont.render_note(path, 0, 0, 60, 0.3, 100)
    assert note.shape[0] == 2 and float(np.abs(note).max()) > 0.01
    assert soundfont.soundfont_path(path) == path  # an explicit path wins
